#!/usr/bin/env bash
# A real, local Kubernetes control plane for the tests: etcd + kube-apiserver on loopback,
# with client certificates for two users. No kubelet, no controller-manager, no scheduler:
# objects are stored and served, but nothing acts on them (see docs/dev/control-plane.md).
#
#   scripts/kube.sh start  <workdir>   start (or reuse a running one); prints `env` on stdout
#   scripts/kube.sh stop   <workdir>   stop both processes; idempotent
#   scripts/kube.sh env    <workdir>   print shell `export` lines for a started control plane
#   scripts/kube.sh status <workdir>   exit 0 if the apiserver answers /readyz, 1 otherwise
#
# Progress goes to stderr; stdout carries only the `export` lines, so
#   eval "$(scripts/kube.sh start /tmp/k)"
# leaves KUBECONFIG (admin), ZKKAFKA_KUBECONFIG_LIMITED, ZKKAFKA_KUBECTL etc. set.
#
# <workdir> afterwards holds:
#   pki/                     CA, apiserver serving cert, service-account keys, client certs
#   etcd-data/               etcd's data (kept across stop/start; delete the workdir to reset)
#   admin.kubeconfig         user "admin", group system:masters (all rights)
#   limited.kubeconfig       user "limited": all rights in namespace zkkafka-limited, none elsewhere
#   ports.env                ETCD_CLIENT_PORT, ETCD_PEER_PORT, APISERVER_PORT
#   etcd.log, kube-apiserver.log, etcd.pid, kube-apiserver.pid
#
# Environment:
#   ZKKAFKA_CACHE               cache root for the binaries (see scripts/install-kube.sh)
#   ZKKAFKA_KUBE_VERSION        Kubernetes version to build/use (see scripts/install-kube.sh)
#   ZKKAFKA_KUBE_START_TIMEOUT  seconds to wait for etcd and then /readyz (default 120)
#
# Needs: openssl, curl, and what scripts/install-kube.sh needs on its first run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TIMEOUT="${ZKKAFKA_KUBE_START_TIMEOUT:-120}"
LIMITED_NS=zkkafka-limited
SERVICE_CIDR=10.96.0.0/24

log() { printf '[kube] %s\n' "$*" >&2; }
die() { printf '[kube] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
CMD="$1"
mkdir -p "$2"
WD="$(cd "$2" && pwd)"
PKI="$WD/pki"

# ---------------------------------------------------------------------------------------------
# Processes. A pid file counts only while its process is alive and its command line mentions
# this workdir: a stale pid reused by some other process is never signalled.

pid_of() {
  local f="$WD/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$WD/" || return 1
  echo "$pid"
}

stop_one() {
  local name="$1" pid i
  if ! pid="$(pid_of "$name")"; then
    rm -f "$WD/$name.pid"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within 10s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$WD/$name.pid"
}

# Start a detached process (own session, so it outlives this script and the caller's terminal).
spawn() {
  local name="$1"
  shift
  : >"$WD/$name.log"
  rm -f "$WD/$name.pid"
  # The child writes its own pid before exec'ing, so the pid file is right whether or not
  # setsid had to fork.
  # shellcheck disable=SC2016 # expanded by the child shell
  # The workdir lock's descriptor is closed for the child: a daemon holding it would block
  # every later start and stop.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$WD/$name.pid" "$@" >>"$WD/$name.log" 2>&1 </dev/null 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$WD/$name.pid" ]] && return 0
    sleep 0.1
  done
  die "$name did not start"
}

show_log() {
  log "last lines of $WD/$1.log:"
  tail -n "${2:-40}" "$WD/$1.log" | sed 's/^/    /' >&2 || true
}

# ---------------------------------------------------------------------------------------------
# Ports: loopback ports below the kernel's ephemeral range (so outgoing connections do not take
# them meanwhile) that nothing listens on. A race with another process is still possible; start
# retries with fresh ports when a bind fails.

port_free() { ! (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    if port_free "$p" && [[ " ${PICKED:-} " != *" $p "* ]]; then
      PICKED="${PICKED:-} $p"
      echo "$p"
      return 0
    fi
  done
  die "found no free loopback port"
}

choose_ports() {
  PICKED=""
  # Reuse the previous ports when they are free: etcd remembers its peer URL in its data.
  if [[ "${1:-}" != fresh && -f "$WD/ports.env" ]]; then
    # shellcheck disable=SC1091
    source "$WD/ports.env"
    if port_free "$ETCD_CLIENT_PORT" && port_free "$ETCD_PEER_PORT" && port_free "$APISERVER_PORT"; then
      return 0
    fi
  fi
  ETCD_CLIENT_PORT="$(pick_port)"
  PICKED="$ETCD_CLIENT_PORT"
  ETCD_PEER_PORT="$(pick_port)"
  PICKED="$PICKED $ETCD_PEER_PORT"
  APISERVER_PORT="$(pick_port)"
  printf 'ETCD_CLIENT_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\n' \
    "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" >"$WD/ports.env"
}

# ---------------------------------------------------------------------------------------------
# Certificates, made once per workdir with openssl. ECDSA P-256 for TLS and client certs
# (quick to make); RSA 2048 for the service-account signing key (RS256, what every client of
# service-account tokens accepts).

openssl_q() { openssl "$@" 2>/dev/null || { openssl "$@" >&2 || true; die "openssl $1 failed"; }; }

client_cert() { # <name> <subject>
  openssl_q ecparam -name prime256v1 -genkey -noout -out "$PKI/$1.key"
  openssl_q req -new -key "$PKI/$1.key" -subj "$2" -out "$PKI/$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$PKI/$1.ext"
  openssl_q x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$1.ext" -out "$PKI/$1.crt"
  rm -f "$PKI/$1.csr" "$PKI/$1.ext"
}

make_pki() {
  [[ -f "$PKI/.complete" ]] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl is required"
  log "generating certificates in $PKI"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  openssl_q ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key"
  openssl_q req -x509 -new -key "$PKI/ca.key" -sha256 -days 3650 -subj "/CN=zkkafka-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$PKI/ca.crt"
  # Serving certificate: what clients dial (127.0.0.1, localhost) and the in-cluster names.
  openssl_q ecparam -name prime256v1 -genkey -noout -out "$PKI/apiserver.key"
  openssl_q req -new -key "$PKI/apiserver.key" -subj "/CN=kube-apiserver" -out "$PKI/apiserver.csr"
  cat >"$PKI/apiserver.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl_q x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt"
  rm -f "$PKI/apiserver.csr" "$PKI/apiserver.ext"
  openssl_q genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key"
  openssl_q pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
  client_cert admin "/O=system:masters/CN=admin"
  client_cert limited "/CN=limited"
  touch "$PKI/.complete"
}

# ---------------------------------------------------------------------------------------------
# kubeconfigs: self-contained (certificates embedded), so a test may copy them anywhere.

b64() { base64 -w0 <"$1"; }

write_kubeconfig() { # <user> <namespace>
  local out="$WD/$1.kubeconfig"
  cat >"$out.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: zkkafka-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(b64 "$PKI/$1.crt")
    client-key-data: $(b64 "$PKI/$1.key")
contexts:
- name: zkkafka-$1
  context:
    cluster: zkkafka-test
    user: $1
    namespace: $2
current-context: zkkafka-$1
EOF
  chmod 600 "$out.tmp"
  mv "$out.tmp" "$out"
}

# ---------------------------------------------------------------------------------------------

find_binaries() {
  local paths
  paths="$("$HERE/install-kube.sh")" || die "scripts/install-kube.sh failed"
  KUBE_APISERVER="$(sed -n 1p <<<"$paths")"
  ETCD="$(sed -n 2p <<<"$paths")"
  KUBECTL="$(sed -n 3p <<<"$paths")"
  BIN_DIR="$(dirname "$KUBECTL")"
}

print_env() {
  [[ -f "$WD/ports.env" && -f "$WD/admin.kubeconfig" ]] || die "no control plane was started in $WD"
  # shellcheck disable=SC1091
  source "$WD/ports.env"
  [[ -n "${KUBECTL:-}" ]] || find_binaries
  cat <<EOF
export KUBECONFIG='$WD/admin.kubeconfig'
export ZKKAFKA_KUBECONFIG_ADMIN='$WD/admin.kubeconfig'
export ZKKAFKA_KUBECONFIG_LIMITED='$WD/limited.kubeconfig'
export ZKKAFKA_KUBE_LIMITED_NAMESPACE='$LIMITED_NS'
export ZKKAFKA_KUBE_SERVER='https://127.0.0.1:$APISERVER_PORT'
export ZKKAFKA_KUBE_CA='$PKI/ca.crt'
export ZKKAFKA_KUBECTL='$KUBECTL'
export PATH='$BIN_DIR':"\$PATH"
EOF
}

readyz() {
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1
}

wait_for() { # <what> <process-name> <check-function>
  local deadline=$((SECONDS + TIMEOUT))
  while ! "$3"; do
    # A process seen gone is looked at again a moment later before it counts as dead: while
    # it execs, its /proc cmdline can read empty for an instant (the pid file names the
    # shell that execs it), which once failed a start whose process was running fine.
    if ! pid_of "$2" >/dev/null && ! { sleep 0.5 && pid_of "$2" >/dev/null; }; then
      show_log "$2"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$1 not ready after ${TIMEOUT}s"
      show_log "$2"
      return 2
    fi
    sleep 0.25
  done
}

etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }

bind_failed() { grep -qiE 'address already in use|bind: ' "$WD/$1.log"; }

start_etcd() {
  spawn etcd "$ETCD" \
    --name zkkafka \
    --data-dir "$WD/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "zkkafka=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --unsafe-no-fsync \
    --log-level warn
}

start_apiserver() {
  spawn kube-apiserver "$KUBE_APISERVER" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 \
    --advertise-address 127.0.0.1 \
    --secure-port "$APISERVER_PORT" \
    --cert-dir "$WD/pki" \
    --tls-cert-file "$PKI/apiserver.crt" \
    --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --authorization-mode RBAC \
    --service-account-issuer "https://127.0.0.1:$APISERVER_PORT" \
    --service-account-key-file "$PKI/sa.pub" \
    --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --endpoint-reconciler-type none \
    --allow-privileged=true \
    --profiling=false \
    --enable-priority-and-fairness=false
}

# Objects a test cluster needs before any test runs. `kubectl apply` is idempotent.
bootstrap() {
  "$KUBECTL" --kubeconfig "$WD/admin.kubeconfig" apply --server-side --field-manager zkkafka-kube-sh \
    -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $LIMITED_NS
---
# The serviceaccount controller (not running here) would make these; without them the
# ServiceAccount admission plugin refuses every Pod in the namespace.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: default
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: $LIMITED_NS
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: limited-all
  namespace: $LIMITED_NS
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: limited-all
  namespace: $LIMITED_NS
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: limited-all
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: limited
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: zkkafka.invalid/no-provisioner
allowVolumeExpansion: true
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
EOF
}

cmd_start() {
  local started=$SECONDS attempt rc
  find_binaries
  if pid_of kube-apiserver >/dev/null && pid_of etcd >/dev/null && [[ -f "$WD/ports.env" ]]; then
    # shellcheck disable=SC1091
    source "$WD/ports.env"
    if readyz; then
      log "already running in $WD (apiserver https://127.0.0.1:$APISERVER_PORT)"
      print_env
      return 0
    fi
  fi
  cmd_stop
  command -v curl >/dev/null 2>&1 || die "curl is required"
  make_pki

  for attempt in 1 2 3; do
    if [[ $attempt -eq 1 ]]; then choose_ports; else choose_ports fresh; fi
    log "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT (peer $ETCD_PEER_PORT)"
    start_etcd
    rc=0
    wait_for etcd etcd etcd_healthy || rc=$?
    if [[ $rc -ne 0 ]]; then
      stop_one etcd
      if [[ $rc -eq 1 ]] && bind_failed etcd; then continue; fi
      die "etcd did not start (log: $WD/etcd.log)"
    fi

    log "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
    start_apiserver
    rc=0
    wait_for "kube-apiserver /readyz" kube-apiserver readyz || rc=$?
    if [[ $rc -ne 0 ]]; then
      stop_one kube-apiserver
      stop_one etcd
      if [[ $rc -eq 1 ]] && bind_failed kube-apiserver; then continue; fi
      die "kube-apiserver did not become ready (log: $WD/kube-apiserver.log)"
    fi
    break
  done
  readyz || die "could not start the control plane after 3 attempts (port clashes?)"

  write_kubeconfig admin default
  write_kubeconfig limited "$LIMITED_NS"
  log "applying namespace $LIMITED_NS, RBAC for user 'limited', default ServiceAccounts, StorageClass 'standard'"
  bootstrap || {
    show_log kube-apiserver 20
    die "bootstrap objects could not be applied"
  }
  log "ready in $((SECONDS - started))s: https://127.0.0.1:$APISERVER_PORT (workdir $WD)"
  print_env
}

cmd_stop() {
  stop_one kube-apiserver
  stop_one etcd
}

cmd_status() {
  [[ -f "$WD/ports.env" && -f "$PKI/admin.crt" ]] || return 1
  # shellcheck disable=SC1091
  source "$WD/ports.env"
  pid_of kube-apiserver >/dev/null && readyz
}

# One start or stop at a time per workdir (a second `start` then finds the first one's
# control plane running and reuses it).
if [[ "$CMD" == start || "$CMD" == stop ]]; then
  command -v flock >/dev/null 2>&1 || die "'flock' (util-linux) is required"
  exec 9>"$WD/.kube.sh.lock"
  flock 9
fi

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) print_env ;;
  status) cmd_status ;;
  *) usage ;;
esac
