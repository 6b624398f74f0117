# shellcheck shell=bash
# Sourced by run.sh and hot_text.sh: the znode configuration both drive through tofu.

# znode_config CONNECT ROOT N: our provider on ZooKeeper at CONNECT, a znode ROOT and N children
# of it with data, each child depending on ROOT as a real module would.
znode_config() {
  local connect="$1" root="$2" n="$3" i
  printf 'terraform {\n  required_providers {\n    zkkafka = { source = "zkkafka/zkkafka" }\n  }\n}\n'
  printf 'provider "zkkafka" {\n  zookeeper {\n    connect_string = "%s"\n  }\n}\n' "$connect"
  printf 'resource "zkkafka_znode" "root" {\n  path = "%s"\n}\n' "$root"
  for i in $(seq 1 "$n"); do
    printf 'resource "zkkafka_znode" "n%d" {\n  path = "${zkkafka_znode.root.path}/n%d"\n  data = "value %d"\n}\n' "$i" "$i" "$i"
  done
}
