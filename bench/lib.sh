# shellcheck shell=bash
# Shared by the Kubernetes-backed benchmarks (bench/ensembles.sh, bench/clusters.sh): the
# control plane, the providers behind RSS-recording wrappers, request counting, the
# kubernetes_manifest comparison and the summary. Source it, and set these before bench_main
# ($ROOT, the repository, is set by sourcing):
#
#   UNIT, UNITS         what one resource instance is called: "ensemble", "ensembles"
#   RESOURCE            our resource type, e.g. zkkafka_zookeeper_ensemble (for messages)
#   OBJECTS_PER_UNIT    Kubernetes objects one instance manages
#   OURS_PREFIX         namespaces of our instances are <OURS_PREFIX><N>-<i>
#   K8S_PREFIX          namespaces of the kubernetes_manifest copies are <K8S_PREFIX><N>-<i>
#   GOLDEN              a golden render (tests/golden/...json, {"objects": [...]}) of one instance
#                       in namespace "data": the kubernetes_manifest side applies these objects
#   GOLDEN_REWRITES     pairs "from" "to" (a bash array) replaced in every string of the golden
#                       objects, "{ns}" in "to" standing for the target namespace; metadata.namespace
#                       is always set
#   gen_ours            a function: gen_ours <n> prints main.tf for n of our instances in
#                       namespaces <OURS_PREFIX><n>-<i>, using $KUBECONFIG
#
# Then call bench_main. Knobs read from the environment: BENCH_SIZES (1 10 50), BENCH_PLANS
# (3), BENCH_K8S (1; 0 skips the comparison), BENCH_K8S_N (10 instances' worth; formerly
# BENCH_K8S_ENSEMBLES), BENCH_KEEP, KUBERNETES_PROVIDER, ZKKAFKA_K8S_PROVIDER_VERSION.
#
# Requests per plan are counted twice:
#   provider: an extra plan with TF_LOG_PROVIDER=debug; the provider logs one "refreshed" line
#             per instance with gets= (the GETs that refresh sent, one per object); summed
#   server:   kube-apiserver's apiserver_request_total counters (/metrics) before and after the
#             timed plans, minus its apiserver_selfrequest_total (the apiserver's own loopback
#             requests: lease renewals, polling its /openapi/v3), divided by the number of
#             plans; health and /metrics endpoints dropped
# scripts/kube.sh takes no extra kube-apiserver flags, so an audit log is not available. The
# apiserver does not count every non-resource path: GET /openapi/v2 (which the kubernetes
# provider reads) is missing from apiserver_request_total, so its count is a lower bound. Our
# provider sends only resource GETs, all counted.
#
# The kubernetes provider comes from KUBERNETES_PROVIDER, else from the Go module proxy with
# `go install` (cached under $ZKKAFKA_CACHE/k8sprov-<version>/). Its v2.x/v3.x release tags are
# not Go module versions (the module path has no /vN suffix; the proxy answers 403), so the
# default is a pseudo-version, a commit of 2026-08-21 (ZKKAFKA_K8S_PROVIDER_VERSION). If neither
# works, the comparison is skipped with a message.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${BENCH_SIZES:-1 10 50}"
PLANS="${BENCH_PLANS:-3}"
K8S_N="${BENCH_K8S_N:-${BENCH_K8S_ENSEMBLES:-10}}" # the old name still works
K8S_VERSION="${ZKKAFKA_K8S_PROVIDER_VERSION:-v1.13.4-0.20260821094251-3a33fb6cc605}"

now_ms() { date +%s%3N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peak_kib() { sort -n "$1" 2>/dev/null | tail -n1; }

# A directory holding a wrapper named like the provider, recording each start's peak RSS (KiB).
wrap() {
  local dir="$1" name="$2" real="$3" log="$4"
  mkdir -p "$dir"
  cat >"$dir/$name" <<WRAP
#!/bin/sh
exec /usr/bin/time -a -o "$log" -f %M "$real" "\$@"
WRAP
  chmod +x "$dir/$name"
}

# The kubernetes provider's path (given, cached, or installed from the Go module proxy), or
# nothing.
k8s_provider() {
  [[ "${BENCH_K8S:-1}" != 0 ]] || return 0
  if [[ -n "${KUBERNETES_PROVIDER:-}" ]]; then
    echo "$KUBERNETES_PROVIDER"
    return 0
  fi
  local dest="$ZKKAFKA_CACHE/k8sprov-$K8S_VERSION"
  if [[ ! -x "$dest/terraform-provider-kubernetes" ]]; then
    echo "installing github.com/hashicorp/terraform-provider-kubernetes@$K8S_VERSION from the Go module proxy (several minutes cold)" >&2
    mkdir -p "$dest.tmp"
    if GOBIN="$dest.tmp" GOFLAGS=-mod=mod nice -n 19 \
      go install "github.com/hashicorp/terraform-provider-kubernetes@$K8S_VERSION" >&2; then
      rm -rf "$dest" && mv "$dest.tmp" "$dest"
    else
      rm -rf "$dest.tmp"
      echo "kubernetes provider: go install failed; set KUBERNETES_PROVIDER to a binary to compare" >&2
    fi
  fi
  if [[ -x "$dest/terraform-provider-kubernetes" ]]; then echo "$dest/terraform-provider-kubernetes"; fi
}

metrics() { "$KUBECTL" get --raw /metrics | grep -E '^apiserver_(self)?request_total\{' >"$1"; }

# Requests per plan between two /metrics snapshots, by verb and resource (or non-resource
# path), without the apiserver's own requests and without health and /metrics endpoints.
# Prints "total breakdown".
count_requests() { # <before> <after> <plans>
  python3 - "$@" <<'PY'
import re, sys
def load(path):
    out = {}
    for line in open(path):
        labels, value = line.rsplit(" ", 1)
        l = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if l.get("subresource") in ("/readyz", "/livez", "/healthz", "/metrics"):
            continue
        res, sub = l.get("resource", ""), l.get("subresource", "")
        what = l["verb"] + " " + (res + ("/" + sub if sub else "") if res else sub)
        sign = -1 if labels.startswith("apiserver_selfrequest_total") else 1
        out[what] = out.get(what, 0) + sign * float(value)
    return out
b, a, plans = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
per = {k: (a[k] - b.get(k, 0)) / plans for k in a}
per = {k: v for k, v in per.items() if abs(v) >= 0.05}
print(f"{sum(per.values()):.1f}", "; ".join(f"{k} {v:.1f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1])) or "-")
PY
}

namespaces() { # <prefix> <n>
  local i
  for i in $(seq -f '%02g' 1 "$2"); do
    printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s-%s\n---\n' "$1" "$i"
  done | "$KUBECTL" apply -f - >/dev/null
}

# The golden render of one instance, one JSON file per object and namespace
# <K8S_PREFIX><n>-<i>, and a kubernetes_manifest resource for each. Strings are rewritten by
# GOLDEN_REWRITES (the namespace inside DNS names and comments); anything else derived from
# the namespace (a config digest annotation, a cluster id) stays the golden one.
gen_k8s() { # <n> <dir>
  python3 - "$GOLDEN" "$1" "$2" "$KUBECONFIG" "$K8S_PREFIX" "${GOLDEN_REWRITES[@]}" <<'PY'
import json, os, sys
golden, n, out, kubeconfig, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
pairs = list(zip(sys.argv[6::2], sys.argv[7::2]))
objects = json.load(open(golden))["objects"]
os.makedirs(f"{out}/objects", exist_ok=True)
def move(v, ns):
    if isinstance(v, dict):
        return {k: move(x, ns) for k, x in v.items()}
    if isinstance(v, list):
        return [move(x, ns) for x in v]
    if isinstance(v, str):
        for old, new in pairs:
            v = v.replace(old, new.replace("{ns}", ns))
        return v
    return v
tf = ['terraform {\n  required_providers {\n    kubernetes = { source = "hashicorp/kubernetes" }\n  }\n}\n',
      f'provider "kubernetes" {{\n  config_path = "{kubeconfig}"\n}}\n']
for i in range(1, n + 1):
    ns = f"{prefix}{n}-{i:02d}"
    for o in objects:
        o = move(o, ns)
        o["metadata"]["namespace"] = ns
        f = f"{ns}-{o['kind']}-{o['metadata']['name']}.json"
        json.dump(o, open(f"{out}/objects/{f}", "w"), indent=1)
        r = f.removesuffix(".json").replace("-", "_").lower()
        tf.append(f'resource "kubernetes_manifest" "{r}" {{\n  manifest = jsondecode(file("${{path.module}}/objects/{f}"))\n}}\n')
open(f"{out}/main.tf", "w").write("".join(tf))
PY
}

# run_case NAME N RSS_LOG COUNT_FROM_LOG: prints a line and appends to $WORK/results:
# name n apply_ms plan_median_ms plan_rss_kib apply_rss_kib server_requests log_requests empty
run_case() {
  local name="$1" n="$2" rss="$3" from_log="$4" dir="$WORK/case-$1-$2"
  mkdir -p "$dir"
  if [[ "$name" == ours ]]; then
    namespaces "$OURS_PREFIX$n" "$n"
    gen_ours "$n" >"$dir/main.tf"
  else
    namespaces "$K8S_PREFIX$n" "$n"
    gen_k8s "$n" "$dir"
  fi
  local t0 t1 apply_ms plans=() p rc empty=yes apply_rss
  : >"$rss"
  t0=$(now_ms)
  (cd "$dir" && "$ZKKAFKA_TOFU" apply -auto-approve -input=false -no-color >"$dir/apply.log" 2>&1) \
    || { echo "$name/$n: apply failed"; tail -n 30 "$dir/apply.log"; return 1; }
  t1=$(now_ms)
  apply_ms=$((t1 - t0))
  apply_rss="$(peak_kib "$rss")"
  : >"$rss"
  metrics "$dir/m0"
  for p in $(seq 1 "$PLANS"); do
    rc=0
    t0=$(now_ms)
    (cd "$dir" && "$ZKKAFKA_TOFU" plan -detailed-exitcode -input=false -no-color >"$dir/plan$p.log" 2>&1) || rc=$?
    t1=$(now_ms)
    plans+=($((t1 - t0)))
    if [[ $rc != 0 ]]; then
      empty=no
      echo "$name/$n: plan $p after apply exited $rc (2 = changes, 1 = error):"
      grep -E '^  # |Plan:|Error' "$dir/plan$p.log" | head -n 8 | sed 's/^/    /'
    fi
  done
  metrics "$dir/m1"
  local plan_rss server log_requests=-
  plan_rss="$(peak_kib "$rss")"
  server="$(count_requests "$dir/m0" "$dir/m1" "$PLANS")"
  if [[ "$from_log" == yes ]]; then
    (cd "$dir" && TF_LOG_PROVIDER=debug TF_LOG_PATH="$dir/debug.log" "$ZKKAFKA_TOFU" plan \
      -input=false -no-color >/dev/null 2>&1) || true
    # One "refreshed" line per instance; gets= is the GETs that refresh sent (one per object).
    log_requests="$(grep 'refreshed' "$dir/debug.log" | grep -oE ' gets=[0-9]+' | cut -d= -f2 | awk '{s+=$1} END {printf "%d", s}')"
    local lines
    lines="$(grep -c 'refreshed' "$dir/debug.log" || true)"
    echo "$name/$n: debug log: $lines refresh lines, gets= sum $log_requests"
  fi
  local median
  median="$(median "${plans[@]}")"
  printf '%-18s N=%-3d apply %7d ms (peak RSS %7d KiB) | plan median %7d ms (%s) empty=%s | peak RSS %7d KiB | requests/plan server %s, provider log %s\n' \
    "$name" "$n" "$apply_ms" "$apply_rss" "$median" "${plans[*]}" "$empty" "$plan_rss" "${server%% *}" "$log_requests"
  echo "    server requests per plan by verb/resource: ${server#* }"
  echo "$name $n $apply_ms $median $plan_rss $apply_rss ${server%% *} $log_requests $empty" >>"$WORK/results"
}

summary() {
  python3 - "$WORK/results" "$OBJECTS_PER_UNIT" "$K8S_N" "$UNIT" "$UNITS" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
per_unit, k8s_n, unit, units = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"{'case':<20}{'N':>4}{'objects':>8}{'apply ms':>10}{'plan ms':>9}{'ms/' + unit:>13}{'plan RSS MiB':>13}"
      f"{'req/plan':>9}{'req/' + unit:>13}{'req/obj':>8}{'log req':>8}{'empty':>6}")
for name, n, apply_ms, plan_ms, rss, _arss, server, log, empty in rows:
    n = int(n); objs = n * per_unit; req = float(server)
    print(f"{name:<20}{n:>4}{objs:>8}{int(apply_ms):>10}{int(plan_ms):>9}{int(plan_ms) / n:>13.0f}"
          f"{int(rss) / 1024:>13.1f}{req:>9.1f}{req / n:>13.2f}{req / objs:>8.2f}{log:>8}{empty:>6}")
ours = {int(r[1]): r for r in rows if r[0] == "ours"}
if len(ours) > 1:
    ns = sorted(ours)
    lo, hi = ours[ns[0]], ours[ns[-1]]
    print(f"growth {ns[0]} -> {ns[-1]} {units} (x{ns[-1] / ns[0]:g}): plan time x{int(hi[3]) / int(lo[3]):.2f}, "
          f"requests x{float(hi[6]) / max(float(lo[6]), 1e-9):.2f}, plan RSS x{int(hi[4]) / int(lo[4]):.2f}")
k = [r for r in rows if r[0] == "kubernetes_manifest"]
if k and k8s_n in ours:
    o, k = ours[k8s_n], k[0]
    print(f"ratio ours/kubernetes_manifest at {k8s_n} {units}: plan time {int(o[3]) / int(k[3]):.2f} (target <= 0.5), "
          f"plan peak RSS {int(o[4]) / int(k[4]):.2f} (target <= 0.25), apply time {int(o[2]) / int(k[2]):.2f}, "
          f"apply peak RSS {int(o[5]) / int(k[5]):.2f}, requests per plan {float(o[6]) / max(float(k[6]), 1e-9):.2f}")
PY
}

# Builds the provider, starts a control plane in a temporary directory (stopped on exit), runs
# every size, then the comparison, then prints the summary.
bench_main() {
  cd "$ROOT" || return
  # shellcheck source=scripts/env.sh
  ZKKAFKA_TOOLS="tofu kube" source "$ROOT/scripts/env.sh"
  cargo build --release --locked -q
  local target_dir
  target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  BIN="$target_dir/release/terraform-provider-zkkafka"

  WORK="$(mktemp -d)"
  trap bench_cleanup EXIT
  K8S_BIN="$(k8s_provider)"

  echo "== control plane"
  eval "$(bash "$ROOT/scripts/kube.sh" start "$WORK/kube")"
  KUBECTL="$ZKKAFKA_KUBECTL"

  RSS_OURS="$WORK/rss-ours.log"
  RSS_K8S="$WORK/rss-k8s.log"
  wrap "$WORK/ours" terraform-provider-zkkafka "$BIN" "$RSS_OURS"
  if [[ -n "$K8S_BIN" ]]; then wrap "$WORK/k8s" terraform-provider-kubernetes "$K8S_BIN" "$RSS_K8S"; fi
  cat >"$WORK/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "zkkafka/zkkafka"      = "$WORK/ours"
    "hashicorp/kubernetes" = "$WORK/k8s"
  }
  direct {}
}
CFG
  export TF_CLI_CONFIG_FILE="$WORK/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
  unset TF_LOG TF_LOG_PROVIDER TF_LOG_PATH

  local n
  for n in $SIZES; do
    echo "== $RESOURCE x $n"
    run_case ours "$n" "$RSS_OURS" yes
  done
  if [[ -n "$K8S_BIN" ]]; then
    echo "== kubernetes_manifest x $((K8S_N * OBJECTS_PER_UNIT)) objects ($K8S_N $UNITS' worth), $K8S_BIN"
    run_case kubernetes_manifest "$K8S_N" "$RSS_K8S" no
  else
    echo "== kubernetes_manifest: skipped (no provider binary; set KUBERNETES_PROVIDER=/path/to/terraform-provider-kubernetes, or BENCH_K8S=1 with go and the Go module proxy)"
  fi

  echo "== summary"
  summary
}

bench_cleanup() {
  bash "$ROOT/scripts/kube.sh" stop "$WORK/kube" >/dev/null 2>&1 || true
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
