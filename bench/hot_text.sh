#!/usr/bin/env bash
# Regenerate link/hot-text.ld: the linker script that gathers the functions a znode workload
# runs into one output section, .text.hot, at the front of the executable code.
#
#   bench/hot_text.sh            # profile, then write link/hot-text.ld
#   HOT_TEXT_KEEP=1 bench/hot_text.sh   # keep the work directory (profiles, logs)
#
# Why: the provider's code is about 7 MiB, and a znode plan runs about 1.4 MiB of it, spread
# over the whole range. Linux maps file pages around every page a process touches (64 KiB
# "fault-around"), so scattered hot code keeps most of the code resident. Gathered at the front,
# the same work keeps about a quarter of it resident (numbers: bench/README.md).
#
# How: the release binary is linked with an lld map, which names the input section each
# function came from (a function section, `.text.unlikely.*` for cold ones, or an assembly
# object's one `.text`) and resolves aliases. It then runs the workloads below through the real
# tofu, with the provider under valgrind's callgrind (every function that runs at least once,
# however rarely) and, separately, natively under `perf record` (paths callgrind misses because
# valgrind's virtual CPU lacks features such as SHA-NI or ADX). bench/hot_text.py turns the
# functions found into one input-section description each, ordered by how many tofu commands
# ran them (code every process runs first). Names are v0-mangled (.cargo/config.toml), so one
# name is one function instance; crate disambiguators, v0 back-references, ThinLTO's `.llvm.N`
# suffixes and aws-lc's version prefix are wildcarded, so the script survives a new compiler or
# dependency build. A stale script costs memory, never correctness: functions it does not name
# are laid out as before. tests/binary_layout.rs fails when too few of its names still land in
# .text.hot, which is the signal to run this again.
#
# Workloads: `tofu providers schema`, then for each configuration (the 200-znode benchmark's
# shape with fewer znodes, and examples/quickstart with digest auth, ACLs and digest_id):
# validate, apply, plan (refresh), import one znode into a fresh state, destroy.
#
# Needs: valgrind, perf (linux-perf), python3, and the test tools (scripts/env.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${HOT_TEXT_ZNODES:-40}"
OUT_SCRIPT="$ROOT/link/hot-text.ld"

command -v valgrind >/dev/null || { echo "hot_text: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
command -v perf >/dev/null || { echo "hot_text: needs perf (apt-get install linux-perf)" >&2; exit 1; }

ZKKAFKA_TOOLS="tofu zookeeper" source "$ROOT/scripts/env.sh"
# shellcheck source=bench/znodes.sh
source "$ROOT/bench/znodes.sh"
WORK="$(mktemp -d)"
cleanup() {
  bash "$ROOT/scripts/zookeeper.sh" stop "$WORK/zk" >/dev/null 2>&1 || true
  if [[ -n "${HOT_TEXT_KEEP:-}" ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# The layout does not change which functions run, so the binary may be linked with the current
# script in force (ZKKAFKA_HOT_TEXT=0 links it without).
cargo rustc --release --locked -q --bin terraform-provider-zkkafka -- \
  -C link-arg=-Wl,-Map="$WORK/link.map" -C link-arg=-Wl,--no-demangle
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/terraform-provider-zkkafka"

mkdir -p "$WORK/profiles" "$WORK/wrap"

# One wrapper, named like the provider; PROFILER picks how the real binary runs.
cat >"$WORK/wrap/terraform-provider-zkkafka" <<WRAP
#!/bin/sh
case "\$PROFILER" in
  callgrind)
    exec valgrind -q --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
      --dump-instr=no --callgrind-out-file="$WORK/profiles/callgrind.\$WORKLOAD.%p" "$BIN" "\$@" ;;
  perf)
    exec perf record -q -e cpu-clock -F 50000 -o "$WORK/profiles/perf.\$WORKLOAD.\$\$" -- "$BIN" "\$@" ;;
esac
exec "$BIN" "\$@"
WRAP
chmod +x "$WORK/wrap/terraform-provider-zkkafka"
cat >"$WORK/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "zkkafka/zkkafka" = "$WORK/wrap"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE="$WORK/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

bash "$ROOT/scripts/zookeeper.sh" start "$WORK/zk" >/dev/null
CONNECT="$(cat "$WORK/zk/connect_string")"

mkdir -p "$WORK/schema" "$WORK/znodes" "$WORK/quickstart"
printf 'terraform {\n  required_providers {\n    zkkafka = { source = "zkkafka/zkkafka" }\n  }\n}\n' >"$WORK/schema/main.tf"
znode_config "$CONNECT" /hot-text "$N" >"$WORK/znodes/main.tf"
cp "$ROOT/examples/quickstart/main.tf" "$WORK/quickstart/main.tf"

# tofu_in DIR COMMAND ARGS...: one tofu command, its provider processes profiled under the
# workload name <config>-<command> (the ordering counts how many commands ran a function).
tofu_in() {
  local dir="$1" command="$2"
  shift
  WORKLOAD="$(basename "$dir")-$command"
  export WORKLOAD
  (cd "$dir" && "$ZKKAFKA_TOFU" "$@" -no-color >>"$dir/tofu.log" 2>&1) || {
    echo "hot_text: tofu $* failed in $dir:" >&2
    tail -n 30 "$dir/tofu.log" >&2
    exit 1
  }
}

# workload DIR IMPORT_ADDRESS IMPORT_ID [VARS...]: the full loop on one configuration.
workload() {
  local dir="$1" import_addr="$2" import_id="$3"
  shift 3
  rm -rf "$dir/terraform.tfstate"*
  tofu_in "$dir" validate
  tofu_in "$dir" apply -auto-approve -input=false "$@"
  tofu_in "$dir" plan -input=false "$@"
  mv "$dir/terraform.tfstate" "$dir/applied.tfstate"
  tofu_in "$dir" import -input=false "$@" "$import_addr" "$import_id"
  rm -f "$dir/terraform.tfstate"*
  mv "$dir/applied.tfstate" "$dir/terraform.tfstate"
  tofu_in "$dir" destroy -auto-approve -input=false "$@"
}

for profiler in callgrind perf; do
  export PROFILER="$profiler"
  echo "== $profiler" >&2
  tofu_in "$WORK/schema" providers schema -json
  workload "$WORK/znodes" zkkafka_znode.n1 /hot-text/n1
  workload "$WORK/quickstart" zkkafka_znode.app /quickstart -var "zookeeper_connect=$CONNECT"
done

count="$(find "$WORK/profiles" -name 'callgrind.*' | wc -l)"
echo "callgrind profiles: $count; perf profiles: $(find "$WORK/profiles" -name 'perf.*' | wc -l)" >&2
[[ "$count" -gt 0 ]] || { echo "hot_text: no callgrind profile was written" >&2; exit 1; }

for f in "$WORK"/profiles/perf.*; do
  perf script -i "$f" -F ip,sym --no-demangle >"$f.syms" 2>/dev/null || true
done

mkdir -p "$ROOT/link"
python3 "$ROOT/bench/hot_text.py" "$BIN" "$WORK/link.map" "$WORK/profiles" >"$OUT_SCRIPT.tmp"
mv "$OUT_SCRIPT.tmp" "$OUT_SCRIPT"
echo "wrote $OUT_SCRIPT; build again to link with it (cargo build --release)" >&2
