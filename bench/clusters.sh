#!/usr/bin/env bash
# Benchmark of zkkafka_kafka_cluster against a real kube-apiserver. Prints numbers; asserts
# nothing (a non-empty plan is reported, not fatal).
#
#   bench/clusters.sh                   # 1, 10, 50 clusters, plus the kubernetes_manifest comparison
#   BENCH_SIZES="1 10" bench/clusters.sh
#   BENCH_K8S=0 bench/clusters.sh       # skip the comparison
#   KUBERNETES_PROVIDER=/path/to/terraform-provider-kubernetes bench/clusters.sh
#   BENCH_KEEP=1 bench/clusters.sh      # keep the workdir (configs, plan and debug logs, /metrics)
#
# For each size N (default 1, 10, 50): N KRaft clusters `events` (Kafka 4.1.2, the default;
# 3 controllers, 3 brokers) with wait_for_ready = false (there is no kubelet), each in its own
# namespace `kafka<N>-<i>`, which the script creates with kubectl. Measures what
# bench/ensembles.sh measures: apply time and peak RSS, plan median of BENCH_PLANS (3) and
# whether each plan is empty, plan peak RSS, API requests per plan from the provider's debug
# log and from the apiserver's counters (see bench/lib.sh).
# Then, for 10 clusters, the same eight objects per cluster (the provider's golden render
# tests/golden/kafka_cluster/kraft-3-3.json, moved to namespaces `km10-<i>`) as
# `kubernetes_manifest` resources of hashicorp/terraform-provider-kubernetes, and the ratios
# ours / kubernetes_manifest.
set -euo pipefail

UNIT=cluster
UNITS=clusters
RESOURCE=zkkafka_kafka_cluster
# Per role (controller, broker): StatefulSet, ConfigMap, PodDisruptionBudget; shared: headless
# and bootstrap Services.
OBJECTS_PER_UNIT=8
OURS_PREFIX=kafka
K8S_PREFIX=km
# The namespace is in every node's DNS name (advertised.listeners, controller.quorum.voters)
# and in each server.properties' header comment.
GOLDEN_REWRITES=(".data.svc." ".{ns}.svc." "Kafka cluster data/events " "Kafka cluster {ns}/events ")

gen_ours() { # <n>
  printf 'terraform {\n  required_providers {\n    zkkafka = { source = "zkkafka/zkkafka" }\n  }\n}\n'
  printf 'provider "zkkafka" {\n  kubernetes {\n    config_path = "%s"\n  }\n}\n' "$KUBECONFIG"
  local i
  for i in $(seq -f '%02g' 1 "$1"); do
    cat <<TF
resource "zkkafka_kafka_cluster" "c$i" {
  name           = "events"
  namespace      = "$OURS_PREFIX$1-$i"
  brokers        = 3
  wait_for_ready = false
  kraft {
    controllers = 3
  }
}
TF
  done
}

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
GOLDEN="$ROOT/tests/golden/kafka_cluster/kraft-3-3.json"
bench_main
