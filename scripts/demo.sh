#!/usr/bin/env bash
# The main job, end to end on this machine: build the provider, start a local ZooKeeper,
# apply the quickstart, show the plan of a configuration change and of a change made by hand,
# put it back, destroy; then the same for a ZooKeeper ensemble on a local Kubernetes control
# plane (a real kube-apiserver and etcd; no kubelet, so no pods run); then the full stack
# (examples/zookeeper-stack: an ensemble, the chroot znode with its ACL, a Kafka cluster on the
# ensemble) in one apply, a plan that rolls brokers, drift, restore, destroy. Everything it
# installs is cached (see scripts/install-tools.sh).
#
#   scripts/demo.sh            # with OpenTofu (built from its Go module)
#   DEMO_CLI=terraform scripts/demo.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

banner() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

banner "installing the test tools (cached)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
CLI="$ZKKAFKA_TOFU"
if [[ "${DEMO_CLI:-tofu}" == terraform ]]; then
  CLI="${ZKKAFKA_TERRAFORM:?terraform is not on PATH}"
fi

banner "building the provider (cargo build --release)"
cargo build --release --locked
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

WORK="$(mktemp -d)"
cleanup() {
  bash "$ROOT/scripts/zookeeper.sh" stop "$WORK/zk" >/dev/null 2>&1 || true
  bash "$ROOT/scripts/kube.sh" stop "$WORK/kube" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

banner "starting ZooKeeper on loopback"
bash "$ROOT/scripts/zookeeper.sh" start "$WORK/zk" >/dev/null
CONNECT="$(cat "$WORK/zk/connect_string")"
echo "ZooKeeper at $CONNECT"

cat >"$WORK/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "zkkafka/zkkafka" = "$TARGET_DIR/release"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE="$WORK/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
mkdir -p "$WORK/quickstart"
cp "$ROOT/examples/quickstart/main.tf" "$WORK/quickstart/main.tf"
echo "zookeeper_connect = \"$CONNECT\"" >"$WORK/quickstart/terraform.tfvars"
cd "$WORK/quickstart"

# plan that may show changes: exit 2 is not a failure here.
plan() { "$CLI" plan -input=false -detailed-exitcode "$@" || [[ $? == 2 ]]; }

banner "$(basename "$CLI") apply (examples/quickstart)"
"$CLI" apply -auto-approve -input=false

banner "plan right after apply: no changes"
"$CLI" plan -input=false -detailed-exitcode

banner "a configuration change: the greeting becomes \"hola\""
sed -i 's/greeting = "hello"/greeting = "hola"/' main.tf
plan

banner "a change made by hand with ZooKeeper's own CLI (as the app user)"
bash "$ROOT/scripts/zkcli.sh" "$CONNECT" --auth app:quickstart-secret -- set /quickstart/settings edited-by-hand
bash "$ROOT/scripts/zkcli.sh" "$CONNECT" -- get /quickstart/settings
sed -i 's/greeting = "hola"/greeting = "hello"/' main.tf
banner "plan: the drift shows, with the value found"
plan

banner "apply puts it back"
"$CLI" apply -auto-approve -input=false
bash "$ROOT/scripts/zkcli.sh" "$CONNECT" -- get /quickstart/settings

banner "destroy"
"$CLI" destroy -auto-approve -input=false
bash "$ROOT/scripts/zkcli.sh" "$CONNECT" -- ls /

banner "starting a local Kubernetes control plane (kube-apiserver + etcd on loopback)"
eval "$(bash "$ROOT/scripts/kube.sh" start "$WORK/kube")"
KUBECTL="$ZKKAFKA_KUBECTL"
"$KUBECTL" create namespace data
mkdir -p "$WORK/ensemble"
# No kubelet runs here, so no pod ever becomes ready: do not wait for readiness.
sed 's/^  replicas  = 3$/  replicas  = 3\n  wait_for_ready = false # no kubelet in the demo: pods never start/' \
  "$ROOT/examples/resources/zkkafka_zookeeper_ensemble/resource.tf" >"$WORK/ensemble/main.tf"
printf 'kubeconfig = "%s"\nnamespace  = "data"\n' "$KUBECONFIG" >"$WORK/ensemble/terraform.tfvars"
cd "$WORK/ensemble"

banner "$(basename "$CLI") apply (examples/resources/zkkafka_zookeeper_ensemble)"
"$CLI" apply -auto-approve -input=false
"$KUBECTL" -n data get statefulset,service,configmap,secret,poddisruptionbudget

banner "plan right after apply: no changes"
"$CLI" plan -input=false -detailed-exitcode

banner "a scale change: 3 -> 5 members (the plan names the objects that change)"
sed -i 's/^  replicas  = 3$/  replicas  = 5/' main.tf
plan
sed -i 's/^  replicas  = 5$/  replicas  = 3/' main.tf

banner "drift made by hand: kubectl scales the StatefulSet and deletes the client Service"
"$KUBECTL" -n data scale statefulset zk --replicas=1
"$KUBECTL" -n data delete service zk-client
plan

banner "apply puts it back"
"$CLI" apply -auto-approve -input=false
"$KUBECTL" -n data get statefulset/zk service/zk-client

banner "destroy"
"$CLI" destroy -auto-approve -input=false
"$KUBECTL" -n data get all,configmap,secret,poddisruptionbudget 2>&1 | grep -v '^$' || true

mkdir -p "$WORK/stack"
# No kubelet: no waiting for ready pods. The chroot znode is managed on the local ZooKeeper,
# standing in for a port-forward to the ensemble's client Service (its pods never run here).
sed -e 's/^  replicas  = 3$/  replicas  = 3\n  wait_for_ready = false # no kubelet in the demo/' \
  -e 's/^  brokers   = 3$/  brokers   = 3\n  wait_for_ready = false # no kubelet in the demo/' \
  "$ROOT/examples/zookeeper-stack/main.tf" >"$WORK/stack/main.tf"
printf 'kubeconfig = "%s"\nnamespace  = "data"\nzookeeper_address = "%s"\n' "$KUBECONFIG" "$CONNECT" \
  >"$WORK/stack/terraform.tfvars"
cd "$WORK/stack"

banner "$(basename "$CLI") apply (examples/zookeeper-stack: ensemble + chroot znode + Kafka 3.9 cluster, one run)"
"$CLI" apply -auto-approve -input=false
"$KUBECTL" -n data get statefulset,service,configmap,poddisruptionbudget
bash "$ROOT/scripts/zkcli.sh" "$CONNECT" --auth admin:change-me -- getAcl /events
"$KUBECTL" -n data get configmap events-broker-config -o jsonpath='{.data.server-0\.properties}' | grep -E '^(broker.id|zookeeper.connect|listeners)='

banner "plan right after apply: no changes"
"$CLI" plan -input=false -detailed-exitcode

banner "a broker setting changes: the plan says which pods roll, in which order"
sed -i 's/"min.insync.replicas"        = "2"/"min.insync.replicas"        = "2"\n    "log.retention.hours"        = "96"/' main.tf
plan
sed -i '/"log.retention.hours"        = "96"/d' main.tf

banner "drift made by hand: a broker's server.properties edited, the bootstrap Service deleted"
"$KUBECTL" -n data patch configmap events-broker-config --type=merge -p '{"data":{"server-1.properties":"edited=by-hand\n"}}'
"$KUBECTL" -n data delete service events-bootstrap
plan

banner "apply puts it back"
"$CLI" apply -auto-approve -input=false
"$KUBECTL" -n data get service/events-bootstrap

banner "destroy"
"$CLI" destroy -auto-approve -input=false
"$KUBECTL" -n data get all,configmap,poddisruptionbudget 2>&1 | grep -v '^$' || true
bash "$ROOT/scripts/zkcli.sh" "$CONNECT" -- ls /

banner "done"
