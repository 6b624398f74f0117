#!/usr/bin/env bash
# Run all the tests: formatting, lints, the real tools (installed into the cache on first use),
# a release build, and every unit, integration and end-to-end test.
#
#   scripts/test.sh [extra cargo test args...]     e.g. scripts/test.sh --test e2e_znode
#
# Stops at the first failing step and says which. Needs cargo (with rustfmt and clippy), go,
# java 17 and mvn; everything else it installs (see scripts/install-tools.sh). The first run
# on a machine builds OpenTofu from source (about 5-6 minutes on 2 cores); later runs reuse
# ${ZKKAFKA_CACHE:-$HOME/.cache/zkkafka}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_TERM_PROGRESS_WHEN="${CARGO_TERM_PROGRESS_WHEN:-never}"

STEP_START=0
TOTAL_START=$SECONDS
CURRENT=""

step() {
  finish_step
  CURRENT="$1"
  STEP_START=$SECONDS
  printf '\n==> %s\n' "$CURRENT"
}

finish_step() {
  if [[ -n "$CURRENT" ]]; then
    printf '<== %s: ok (%ss)\n' "$CURRENT" "$((SECONDS - STEP_START))"
  fi
  CURRENT=""
}

on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ -n "$CURRENT" ]]; then
    printf '\n*** FAILED: %s (exit %s, after %ss) ***\n' "$CURRENT" "$rc" "$((SECONDS - STEP_START))" >&2
  fi
}
trap on_exit EXIT

require() {
  local tool="$1" why="$2"
  command -v "$tool" >/dev/null 2>&1 || { echo "missing '$tool' on PATH ($why)" >&2; exit 1; }
}

step "prerequisites"
require cargo "builds and tests the provider"
require go "builds OpenTofu"
require java "runs ZooKeeper"
require mvn "resolves ZooKeeper from Maven Central"
require flock "locks the tool cache"
require openssl "makes the local control plane's certificates (scripts/kube.sh)"
require curl "checks the local control plane is ready (scripts/kube.sh)"
cargo fmt --version >/dev/null 2>&1 || { echo "cargo fmt (rustfmt) is not installed" >&2; exit 1; }
cargo clippy --version >/dev/null 2>&1 || { echo "cargo clippy is not installed" >&2; exit 1; }
echo "$(cargo --version); $(go version); $(java -version 2>&1 | head -n1)"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo check the fuzz target (fuzz/, its own workspace and lock file)"
cargo check --locked --manifest-path fuzz/Cargo.toml --bins

step "install test tools (cached in ${ZKKAFKA_CACHE:-$HOME/.cache/zkkafka})"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
echo "tofu:      $ZKKAFKA_TOFU"
echo "zookeeper: $ZKKAFKA_ZK_HOME"
echo "kube:      $ZKKAFKA_KUBE_BIN (control plane started by the tests through scripts/kube.sh)"
echo "terraform: ${ZKKAFKA_TERRAFORM:-(not on PATH: end-to-end tests run with tofu only)}"

step "cargo build --release"
cargo build --release --locked

step "cargo test --release"
cargo test --release --locked "$@"

finish_step
printf '\nall tests passed (%ss)\n' "$((SECONDS - TOTAL_START))"
