#!/usr/bin/env bash
# Benchmark of zkkafka_zookeeper_ensemble against a real kube-apiserver. Prints numbers;
# asserts nothing (a non-empty plan is reported, not fatal).
#
#   bench/ensembles.sh                  # 1, 10, 50 ensembles, plus the kubernetes_manifest comparison
#   BENCH_SIZES="1 10" bench/ensembles.sh
#   BENCH_K8S=0 bench/ensembles.sh      # skip the comparison
#   KUBERNETES_PROVIDER=/path/to/terraform-provider-kubernetes bench/ensembles.sh
#                                       # compare with that binary instead of installing one
#   BENCH_KEEP=1 bench/ensembles.sh     # keep the workdir (configs, plan and debug logs, /metrics)
#
# For each size N (default 1, 10, 50): N ensembles `zk` of 3 replicas with wait_for_ready = false
# (there is no kubelet), each in its own namespace `zk<N>-<i>`, which the script creates with
# kubectl. Measures:
#   - `tofu apply` wall time (creating every object), the provider's peak RSS during it
#   - `tofu plan -detailed-exitcode` wall time after the apply, median of BENCH_PLANS (3); exit 0
#     (empty plan) is checked and reported
#   - the provider's peak resident memory during those plans (/usr/bin/time -f %M around the binary)
#   - API requests per plan, from the provider's debug log and from the apiserver's counters
#     (see bench/lib.sh)
# Then, for 10 ensembles, the same six objects per ensemble (the provider's golden render
# tests/golden/zookeeper_ensemble/replicas-3.json, moved to namespaces `km10-<i>`) as
# `kubernetes_manifest` resources of hashicorp/terraform-provider-kubernetes, measured the same
# way (server count only), and the ratios ours / kubernetes_manifest. The shared machinery
# (control plane, wrappers, counting, the kubernetes provider's install) is bench/lib.sh.
set -euo pipefail

UNIT=ensemble
UNITS=ensembles
RESOURCE=zkkafka_zookeeper_ensemble
OBJECTS_PER_UNIT=6 # StatefulSet, 2 Services, ConfigMap, Secret, PodDisruptionBudget
OURS_PREFIX=zk
K8S_PREFIX=km
# The members' DNS names in zoo.cfg.dynamic name the namespace.
GOLDEN_REWRITES=(".data.svc." ".{ns}.svc.")

gen_ours() { # <n>
  printf 'terraform {\n  required_providers {\n    zkkafka = { source = "zkkafka/zkkafka" }\n  }\n}\n'
  printf 'provider "zkkafka" {\n  kubernetes {\n    config_path = "%s"\n  }\n}\n' "$KUBECONFIG"
  local i
  for i in $(seq -f '%02g' 1 "$1"); do
    printf 'resource "zkkafka_zookeeper_ensemble" "e%s" {\n  name           = "zk"\n  namespace      = "%s%s-%s"\n  replicas       = 3\n  wait_for_ready = false\n}\n' \
      "$i" "$OURS_PREFIX" "$1" "$i"
  done
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
GOLDEN="$ROOT/tests/golden/zookeeper_ensemble/replicas-3.json"
bench_main
