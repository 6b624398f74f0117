# shellcheck shell=bash
# Source me: installs (or finds, cached) the test tools and exports where they are.
#
#   source scripts/env.sh                # tofu, zookeeper and kube
#   ZKKAFKA_TOOLS="tofu" source scripts/env.sh
#
# Exports:
#   ZKKAFKA_CACHE          the cache root
#   ZKKAFKA_TOFU           the tofu binary
#   ZKKAFKA_ZK_HOME        the ZooKeeper home (lib/*.jar, conf/logback.xml, VERSION)
#   ZKKAFKA_ZK_CLASSPATH   "$ZKKAFKA_ZK_HOME/lib/*" (a java -cp value; quote it)
#   ZKKAFKA_KUBE_BIN       directory with kube-apiserver, etcd, kubectl (scripts/kube.sh runs them)
#   ZKKAFKA_TFZK           the tfzk provider binary (only if asked for in ZKKAFKA_TOOLS)
#   ZKKAFKA_TERRAFORM      terraform, if one is on PATH (not installed by us)
# Returns non-zero (without exiting your shell) if an install fails.

_zkkafka_env() {
  local scripts tool path
  scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  export ZKKAFKA_CACHE="${ZKKAFKA_CACHE:-$HOME/.cache/zkkafka}"
  for tool in ${ZKKAFKA_TOOLS:-tofu zookeeper kube}; do
    path="$("$scripts/install-tools.sh" "$tool")" || return 1
    case "$tool" in
      tofu) export ZKKAFKA_TOFU="$path" ;;
      zookeeper)
        export ZKKAFKA_ZK_HOME="$path"
        export ZKKAFKA_ZK_CLASSPATH="$path/lib/*"
        ;;
      kube) export ZKKAFKA_KUBE_BIN="$path" ;;
      tfzk) export ZKKAFKA_TFZK="$path" ;;
      *) export "ZKKAFKA_$(printf '%s' "$tool" | tr '[:lower:]-' '[:upper:]_')=$path" ;;
    esac
  done
  if [[ -z "${ZKKAFKA_TERRAFORM:-}" ]] && command -v terraform >/dev/null 2>&1; then
    ZKKAFKA_TERRAFORM="$(command -v terraform)"
    export ZKKAFKA_TERRAFORM
  fi
}
_zkkafka_env
