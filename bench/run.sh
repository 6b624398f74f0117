#!/usr/bin/env bash
# Benchmarks for the provider foundation. Prints numbers; asserts nothing.
#
#   bench/run.sh                       # our provider only
#   TFZK_PROVIDER=/path/to/terraform-provider-zookeeper bench/run.sh
#                                      # plus the same 200-znode plan with tfzk's Go provider
#
# Measures:
#   1. process start to the handshake line (median of 25 runs)
#   2. peak resident memory of the provider serving GetProviderSchema (`tofu providers schema`)
#   3. for 200 znodes: `tofu apply` and `tofu plan` wall time (median of 5 plans; with tfzk,
#      the two providers' plans alternate), the provider's peak resident memory during the
#      plans, and ZooKeeper requests per znode per plan (the server's own packet counter,
#      reset with `srst` before each plan)
# Tools come from scripts/env.sh (OpenTofu built from its Go module, ZooKeeper from Maven
# Central). The tfzk provider is not on the Go module proxy (it answers 403 for it), so it is
# only compared when TFZK_PROVIDER points at a binary you built yourself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${BENCH_ZNODES:-200}"
PLANS="${BENCH_PLANS:-5}"

# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
# shellcheck source=bench/znodes.sh
source "$ROOT/bench/znodes.sh"
cargo build --release --locked -q
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/terraform-provider-zkkafka"

WORK="$(mktemp -d)"
cleanup() {
  bash "$ROOT/scripts/zookeeper.sh" stop "$WORK/zk" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# A directory holding a wrapper named like the provider, recording each start's peak RSS (KiB).
wrap() {
  local dir="$1" name="$2" real="$3" log="$4"
  mkdir -p "$dir"
  cat >"$dir/$name" <<WRAP
#!/bin/sh
exec /usr/bin/time -a -o "$log" -f '%M %U %S' "$real" "\$@"
WRAP
  chmod +x "$dir/$name"
}

# Each wrapper line: peak RSS (KiB), user and system CPU seconds of one provider process.
peak_kib() { awk '$1 > m {m = $1} END {print m + 0}' "$1" 2>/dev/null; }
cpu_s() { awk '{s += $2 + $3} END {printf "%.2f", s}' "$1" 2>/dev/null; }

echo "== 1. start to handshake"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp521r1 -nodes -subj /CN=localhost \
  -days 1 -addext basicConstraints=critical,CA:TRUE -keyout "$WORK/client.key" \
  -out "$WORK/client.pem" 2>/dev/null
python3 "$ROOT/bench/handshake_time.py" "$BIN" "$WORK/client.pem" 25

RSS_OURS="$WORK/rss-ours.log"
RSS_TFZK="$WORK/rss-tfzk.log"
wrap "$WORK/ours" terraform-provider-zkkafka "$BIN" "$RSS_OURS"
cat >"$WORK/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "zkkafka/zkkafka" = "$WORK/ours"
    "tfzk/zookeeper"  = "$WORK/tfzk"
  }
  direct {}
}
CFG
if [[ -n "${TFZK_PROVIDER:-}" ]]; then
  wrap "$WORK/tfzk" terraform-provider-zookeeper "$TFZK_PROVIDER" "$RSS_TFZK"
fi
export TF_CLI_CONFIG_FILE="$WORK/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

echo "== 2. memory after GetProviderSchema"
mkdir -p "$WORK/schema"
cat >"$WORK/schema/main.tf" <<'TF'
terraform {
  required_providers {
    zkkafka = { source = "zkkafka/zkkafka" }
  }
}
TF
: >"$RSS_OURS"
(cd "$WORK/schema" && "$ZKKAFKA_TOFU" providers schema -json >/dev/null 2>&1)
echo "peak RSS serving GetProviderSchema: $(( $(peak_kib "$RSS_OURS") / 1024 )) MiB ($(peak_kib "$RSS_OURS") KiB)"

echo "== 3. $N znodes"
bash "$ROOT/scripts/zookeeper.sh" start "$WORK/zk" >/dev/null
CONNECT="$(cat "$WORK/zk/connect_string")"
PORT="${CONNECT##*:}"
four() { timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"; printf "%s" "$1" >&3; cat <&3' "$PORT" "$1"; }
received() { four srvr | awk '/^Received:/ {print $2}'; }

gen_ours() { znode_config "$CONNECT" /bench-ours "$N"; }
gen_tfzk() {
  printf 'terraform {\n  required_providers {\n    zookeeper = { source = "tfzk/zookeeper" }\n  }\n}\n'
  printf 'provider "zookeeper" {\n  servers = "%s"\n}\n' "$CONNECT"
  printf 'resource "zookeeper_znode" "root" {\n  path = "/bench-tfzk"\n}\n'
  for i in $(seq 1 "$N"); do
    printf 'resource "zookeeper_znode" "n%d" {\n  path = "${zookeeper_znode.root.path}/n%d"\n  data = "value %d"\n}\n' "$i" "$i" "$i"
  done
}

# apply_case NAME GENERATOR: writes the configuration and applies it (records the apply time).
apply_case() {
  local name="$1" gen="$2" dir="$WORK/case-$1" t0 t1
  mkdir -p "$dir"
  "$gen" >"$dir/main.tf"
  t0=$(now_ms)
  (cd "$dir" && "$ZKKAFKA_TOFU" apply -auto-approve -input=false -no-color >"$dir/apply.log" 2>&1) \
    || { tail -n 30 "$dir/apply.log"; exit 1; }
  t1=$(now_ms)
  echo $((t1 - t0)) >"$dir/apply_ms"
  : >"$dir/plan_ms"
  : >"$dir/requests"
}

# plan_once NAME: one plan, which must be empty; appends its wall time (ms) and the ZooKeeper
# requests it made (the server's packet counter, reset before) to the case's records.
plan_once() {
  local name="$1" dir="$WORK/case-$1" t0 t1 rc=0 before after
  four srst >/dev/null
  before="$(received)"
  t0=$(now_ms)
  (cd "$dir" && /usr/bin/time -a -o "$dir/tofu-cpu.log" -f '%M %U %S' \
    "$ZKKAFKA_TOFU" plan -detailed-exitcode -input=false -no-color >"$dir/plan.log" 2>&1) || rc=$?
  t1=$(now_ms)
  after="$(received)"
  [[ $rc == 0 ]] || { echo "$name: plan after apply was not empty (exit $rc)"; tail -n 30 "$dir/plan.log"; exit 1; }
  echo $((t1 - t0)) >>"$dir/plan_ms"
  echo $((after - before)) >>"$dir/requests"
}

# report_case NAME RSS_LOG: prints and records "name apply_ms plan_ms rss_kib requests cpu".
report_case() {
  local name="$1" rss="$2" dir="$WORK/case-$1"
  local plans median requests per peak provider_cpu total_cpu
  plans="$(tr '\n' ' ' <"$dir/plan_ms")"
  median=$(sort -n "$dir/plan_ms" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  requests=$(awk '{s += $1} END {print s}' "$dir/requests")
  per=$(python3 -c "print(round($requests / ($PLANS * ($N + 1)), 2))")
  peak="$(peak_kib "$rss")"
  # CPU per plan: the provider's processes, and tofu's own (its rusage includes the providers
  # it waited for, so theirs is subtracted).
  provider_cpu="$(python3 -c "print(f'{$(cpu_s "$rss")/$PLANS:.2f}')")"
  total_cpu="$(python3 -c "print(f'{$(cpu_s "$dir/tofu-cpu.log")/$PLANS:.2f}')")"
  printf '%-6s apply %6d ms | plan median %6d ms (%s) | provider peak RSS %6d KiB | ZooKeeper requests per znode per plan %s\n' \
    "$name" "$(cat "$dir/apply_ms")" "$median" "${plans% }" "$peak" "$per"
  printf '%-6s CPU per plan: provider %s s, tofu itself %s s\n' "$name" "$provider_cpu" \
    "$(python3 -c "print(f'{$total_cpu - $provider_cpu:.2f}')")"
  echo "$name $(cat "$dir/apply_ms") $median $peak $per $provider_cpu" >>"$WORK/results"
}

destroy_case() {
  local dir="$WORK/case-$1"
  (cd "$dir" && "$ZKKAFKA_TOFU" destroy -auto-approve -input=false -no-color >"$dir/destroy.log" 2>&1) || true
}

# Both configurations are applied first, then their plans alternate (ours, tfzk, ours, ...), so
# that whatever else the machine is doing meanwhile weighs on both alike.
CASES=(ours)
apply_case ours gen_ours
if [[ -n "${TFZK_PROVIDER:-}" ]]; then
  CASES+=(tfzk)
  apply_case tfzk gen_tfzk
fi
: >"$RSS_OURS"
: >"$RSS_TFZK"
for p in $(seq 1 "$PLANS"); do
  for c in "${CASES[@]}"; do
    plan_once "$c"
  done
done
report_case ours "$RSS_OURS"
destroy_case ours
if [[ -n "${TFZK_PROVIDER:-}" ]]; then
  report_case tfzk "$RSS_TFZK"
  destroy_case tfzk
  python3 - "$WORK/results" <<'PY'
import sys
rows = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1])}
o, t = rows["ours"], rows["tfzk"]
print(f"ratio ours/tfzk: plan time {int(o[1]) / int(t[1]):.2f}, provider peak memory {int(o[2]) / int(t[2]):.2f}, apply time {int(o[0]) / int(t[0]):.2f}, provider CPU per plan {float(o[4]) / max(float(t[4]), 0.01):.2f}")
PY
else
  echo "tfzk: skipped (set TFZK_PROVIDER to a terraform-provider-zookeeper binary to compare)"
fi
