#!/usr/bin/env bash
# Build a real Kubernetes control plane for the tests: kube-apiserver, kubectl and etcd, from
# their Go modules, into a cache keyed by version.
#
#   scripts/install-kube.sh
#
# Prints three lines on stdout, the absolute paths of the installed binaries, in this order:
#   <cache>/kube-<version>/bin/kube-apiserver
#   <cache>/kube-<version>/bin/etcd
#   <cache>/kube-<version>/bin/kubectl
# Progress and build output go to stderr. Nothing prompts.
#
# How: `go install k8s.io/kubernetes/cmd/kube-apiserver@vX` is refused because k8s.io/kubernetes
# points its staging modules (k8s.io/api, k8s.io/apiserver, k8s.io/client-go, ...) at
# ./staging/src/... with replace directives. So we write a throwaway wrapper module that requires
# k8s.io/kubernetes vX.Y.Z and replaces each of those staging modules with its published
# v0.Y.Z, then `go build` the three main packages from inside it. etcd's server module
# (go.etcd.io/etcd/server/v3, whose root package is etcd's main) is already in k8s.io/kubernetes's
# module graph, so it is built in the same module at the version Kubernetes itself pins, and
# shares the compiled dependencies with the apiserver.
#
# Idempotent: a finished install is marked by <dir>/.complete and reused as is. Safe to run
# concurrently: the build runs under an flock on <cache>/locks/kube-<version>.lock, goes into a
# temporary directory and is renamed into place only when complete.
#
# Environment:
#   ZKKAFKA_CACHE         cache root (default $HOME/.cache/zkkafka)
#   ZKKAFKA_KUBE_VERSION  k8s.io/kubernetes version (default below; without the leading v)
#   ZKKAFKA_GO_PARALLEL   go build -p (default 2); the build always runs under nice -n 19
#
# Needs: go (>= the go line of Kubernetes's go.mod, or GOTOOLCHAIN=auto), flock.
set -euo pipefail

KUBE_VERSION="${ZKKAFKA_KUBE_VERSION:-1.36.3}"
KUBE_VERSION="${KUBE_VERSION#v}"
CACHE="${ZKKAFKA_CACHE:-$HOME/.cache/zkkafka}"
FINAL="$CACHE/kube-$KUBE_VERSION"
PARALLEL="${ZKKAFKA_GO_PARALLEL:-2}"

log() { printf '[install-kube] %s\n' "$*" >&2; }
die() { printf '[install-kube] ERROR: %s\n' "$*" >&2; exit 1; }

print_paths() {
  local b
  for b in kube-apiserver etcd kubectl; do
    [[ -x "$FINAL/bin/$b" ]] || die "$FINAL is marked complete but bin/$b is missing; remove $FINAL and rerun"
    echo "$FINAL/bin/$b"
  done
}

if [[ -f "$FINAL/.complete" ]]; then
  log "kube $KUBE_VERSION: cached at $FINAL"
  print_paths
  exit 0
fi

command -v go >/dev/null 2>&1 || die "'go' is required to build kube-apiserver but is not on PATH"
command -v flock >/dev/null 2>&1 || die "'flock' (util-linux) is required but is not on PATH"

mkdir -p "$CACHE/locks"
exec {LOCK_FD}>"$CACHE/locks/kube-$KUBE_VERSION.lock"
if ! flock -n "$LOCK_FD"; then
  log "another install of kube $KUBE_VERSION is running; waiting for its lock"
  flock "$LOCK_FD"
fi
if [[ -f "$FINAL/.complete" ]]; then
  log "kube $KUBE_VERSION: installed meanwhile by another run, at $FINAL"
  print_paths
  exit 0
fi

# Go settings: module sources carry no VCS data; keep the module cache removable; static
# binaries as Kubernetes's own release build makes them for the apiserver; never prompt.
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -modcacherw"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export CGO_ENABLED=0
export GIT_TERMINAL_PROMPT=0

TMP_OUT="$FINAL.tmp.$$"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/zkkafka-kube.XXXXXX")"
cleanup() {
  local rc=$?
  rm -rf "$WORK" "$TMP_OUT"
  [[ $rc -eq 0 ]] || log "kube $KUBE_VERSION: install FAILED (see the output above)"
}
trap cleanup EXIT
rm -rf "$FINAL" "$TMP_OUT"
mkdir -p "$TMP_OUT/bin"
START=$SECONDS

# 'go: downloading' lines, one per module, are hundreds here: count them instead.
quiet_downloads() {
  awk '/^go: downloading /{n++; next} {print} END{if (n) printf "    (%d modules downloaded)\n", n}'
}

log "kube $KUBE_VERSION: reading k8s.io/kubernetes@v$KUBE_VERSION from the Go module proxy"
INFO_JSON="$(cd "$WORK" && go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION")" ||
  die "could not download k8s.io/kubernetes@v$KUBE_VERSION (is that version on the proxy? try: go list -m -versions k8s.io/kubernetes)"
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\}\$/\\1/p" <<<"$INFO_JSON" | head -n1; }
KGOMOD="$(json_field GoMod)"
KINFO="$(json_field Info)"
[[ -f "$KGOMOD" ]] || die "no go.mod for k8s.io/kubernetes@v$KUBE_VERSION in the module cache"

GO_LINE="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$KGOMOD" | head -n1)"
ETCD_VERSION="$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2; exit}' "$KGOMOD")"
[[ -n "$ETCD_VERSION" ]] || die "k8s.io/kubernetes@v$KUBE_VERSION does not require go.etcd.io/etcd/server/v3"
# The release date stands in for the build date, so the same version always builds the same.
BUILD_DATE="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$KINFO" | head -n1)"
BUILD_DATE="${BUILD_DATE:-1970-01-01T00:00:00Z}"
MINOR="$(cut -d. -f2 <<<"$KUBE_VERSION")"
STAGING_VERSION="v0.${KUBE_VERSION#*.}"

# Staging modules: those that k8s.io/kubernetes replaces with ./staging/src/... AND requires
# (some replaced ones, e.g. k8s.io/sample-cli-plugin, are not required and not published).
mapfile -t STAGING < <(
  awk '
    /^require \(/ {inreq=1; next}
    inreq && /^\)/ {inreq=0; next}
    inreq {req[$1]=1}
    /^require [^(]/ {req[$2]=1}
    /=> \.\/staging\/src\// {
      for (i=1;i<=NF;i++) if ($i=="=>") {m=$(i-1); rep[m]=1}
    }
    END {for (m in rep) if (m in req) print m}
  ' "$KGOMOD" | sort
)
[[ ${#STAGING[@]} -gt 10 ]] || die "found only ${#STAGING[@]} staging modules in Kubernetes's go.mod; its layout changed?"

{
  echo "// Throwaway wrapper module written by scripts/install-kube.sh: builds Kubernetes binaries."
  echo "module zkkafka.invalid/kube-build"
  echo
  echo "go ${GO_LINE:-1.24}"
  echo
  # godebug settings only take effect from the main module: carry Kubernetes's over.
  awk '/^godebug \(/{p=1} p{print} p&&/^\)/{p=0} /^godebug [^(]/{print}' "$KGOMOD"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes v$KUBE_VERSION"
  echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  echo ")"
  echo
  echo "replace ("
  for m in "${STAGING[@]}"; do
    echo "	$m => $m $STAGING_VERSION"
  done
  echo ")"
} >"$WORK/go.mod"
log "kube $KUBE_VERSION: wrapper module pins ${#STAGING[@]} staging modules to $STAGING_VERSION; etcd $ETCD_VERSION"

PKGS=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl go.etcd.io/etcd/server/v3)
log "kube $KUBE_VERSION: resolving dependencies (go get)"
(cd "$WORK" && go get "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBE_VERSION" \
  "k8s.io/kubernetes/cmd/kubectl@v$KUBE_VERSION" "go.etcd.io/etcd/server/v3@$ETCD_VERSION" 2>&1 |
  quiet_downloads) >&2
# go get must not have moved either root version (minimal version selection could, if some
# dependency asked for more): then the binaries would not be the versions we say they are.
got="$(cd "$WORK" && go list -m -f '{{.Path}} {{.Version}}{{with .Replace}} => {{.Version}}{{end}}' \
  k8s.io/kubernetes go.etcd.io/etcd/server/v3 k8s.io/apiserver | sed 's/ v[^ ]* => / => /')"
want="k8s.io/kubernetes v$KUBE_VERSION
go.etcd.io/etcd/server/v3 $ETCD_VERSION
k8s.io/apiserver => $STAGING_VERSION"
[[ "$got" == "$want" ]] || die "module versions are not the ones asked for after go get:
$got"

# The version stamps Kubernetes's own build (hack/lib/version.sh) sets; without them the
# binaries report v0.0.0-master and kubectl warns about version skew.
X=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  X+=" -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
  X+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

log "kube $KUBE_VERSION: building kube-apiserver, kubectl and etcd (nice -n 19, -p $PARALLEL; cold: tens of minutes on 2 cores)"
(cd "$WORK" && nice -n 19 go build -p "$PARALLEL" -trimpath -ldflags="-s -w$X" \
  -o "$TMP_OUT/bin/" "${PKGS[@]}") >&2
# go build names the etcd binary after its import path less the major-version suffix: "server".
mv "$TMP_OUT/bin/server" "$TMP_OUT/bin/etcd"

"$TMP_OUT/bin/kube-apiserver" --version >&2
# Not `| head -n1`: under pipefail, etcd dying of SIGPIPE when head has gone fails the install.
etcd_version="$("$TMP_OUT/bin/etcd" --version)"
echo "${etcd_version%%$'\n'*}" >&2
"$TMP_OUT/bin/kubectl" version --client=true >&2

cp "$WORK/go.mod" "$TMP_OUT/wrapper.go.mod"
{
  echo "KUBE_VERSION=v$KUBE_VERSION"
  echo "ETCD_VERSION=$ETCD_VERSION"
  echo "STAGING_VERSION=$STAGING_VERSION"
  echo "GO_VERSION=$(go env GOVERSION)"
  echo "BUILD_SECONDS=$((SECONDS - START))"
} >"$TMP_OUT/versions.env"
date -u +%Y-%m-%dT%H:%M:%SZ >"$TMP_OUT/.complete"
mv "$TMP_OUT" "$FINAL"
log "kube $KUBE_VERSION: installed in $((SECONDS - START))s at $FINAL ($(du -sh "$FINAL" | cut -f1))"
print_paths
