#!/usr/bin/env bash
# A standalone ZooKeeper server for tests, from the Maven artifact that install-tools.sh caches.
#
#   scripts/zookeeper.sh start  <workdir> [--port N] [--timeout SECS] [--watch-pid PID]
#   scripts/zookeeper.sh stop   <workdir>
#   scripts/zookeeper.sh status <workdir>
#
# start writes <workdir>/zoo.cfg (dataDir <workdir>/data, client port on 127.0.0.1 only, admin
# server off, all four-letter words allowed), starts the server in the background (log in
# <workdir>/zookeeper.log), waits until `srvr` over the client port says it serves (or fails
# after --timeout seconds, default 60, printing the log), and then writes
#   <workdir>/connect_string   127.0.0.1:PORT
#   <workdir>/port             PORT
#   <workdir>/zookeeper.pid    the server's pid
# and prints the connect string on stdout. Without --port it picks a free port (and retries
# with another if the port was taken in the meantime).
# --watch-pid PID: also stop the server when process PID exits (so a test run that dies
# without cleaning up leaves no server behind).
#
# Super user: the server accepts `addauth digest super:<password>` as a superuser, with the
# password from ZKKAFKA_ZK_SUPER_PASSWORD, default "zkkafka-test" (tests only!). The digest
# is passed as -Dzookeeper.DigestAuthenticationProvider.superDigest=super:base64(sha1(...)).
#
# Environment: ZKKAFKA_ZK_HOME (default: from install-tools.sh zookeeper), JAVA (default java),
# ZKKAFKA_ZK_LOG_LEVEL (server log level, default INFO), ZKKAFKA_ZK_HEAP (default 256m).
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUPER_PASSWORD="${ZKKAFKA_ZK_SUPER_PASSWORD:-zkkafka-test}"
JAVA="${JAVA:-java}"

log() { printf '[zookeeper] %s\n' "$*" >&2; }
die() { printf '[zookeeper] ERROR: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: $0 start <workdir> [--port N] [--timeout SECS] [--watch-pid PID] | stop <workdir> | status <workdir>"; }

zk_home() {
  if [[ -n "${ZKKAFKA_ZK_HOME:-}" ]]; then
    echo "$ZKKAFKA_ZK_HOME"
  else
    "$SCRIPTS/install-tools.sh" zookeeper
  fi
}

# base64(sha1("user:password")), the form ZooKeeper's digest scheme stores.
digest_of() {
  if command -v openssl >/dev/null 2>&1; then
    printf '%s' "$1" | openssl dgst -sha1 -binary | base64
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha1(sys.argv[1].encode()).digest()).decode())' "$1"
  else
    # ZooKeeper's own tool prints "user:password->user:digest".
    "$JAVA" -cp "$(zk_home)/lib/*" org.apache.zookeeper.server.auth.DigestAuthenticationProvider "$1" |
      sed -n 's/.*->[^:]*://p'
  fi
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    local p
    for _ in $(seq 50); do
      p=$((20000 + RANDOM % 30000))
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port found"
  fi
}

# Send a four-letter word; print the answer. Never hangs: bounded by `timeout`.
four_letter() {
  local port="$1" word="$2"
  # shellcheck disable=SC2016
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1; printf "%s" "$1" >&3; cat <&3' \
    "$port" "$word" 2>/dev/null
}

pid_alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# The pid in <workdir>/zookeeper.pid if that process is still our server for <workdir>.
server_pid() {
  local dir="$1" pid
  [[ -f "$dir/zookeeper.pid" ]] || return 1
  pid="$(cat "$dir/zookeeper.pid")"
  pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/zoo.cfg" || return 1
  echo "$pid"
}

start_once() {
  local dir="$1" port="$2" timeout_s="$3" home="$4"
  rm -f "$dir/connect_string" "$dir/port" "$dir/zookeeper.pid"
  mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<EOF
# Written by scripts/zookeeper.sh for a test server.
# A short tick so tests may ask for sessions from 1 s (minSessionTimeout = 2 ticks).
tickTime=500
minSessionTimeout=1000
maxSessionTimeout=60000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
standaloneEnabled=true
autopurge.purgeInterval=0
EOF
  local digest
  digest="$(digest_of "super:$SUPER_PASSWORD")"
  [[ -n "$digest" ]] || die "could not compute the super user's digest"
  # Small heap, serial GC and C1 only: test servers start faster and use less of 2 cores.
  # shellcheck disable=SC2086
  nohup "$JAVA" \
    -Xmx"${ZKKAFKA_ZK_HEAP:-256m}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Djava.net.preferIPv4Stack=true \
    -Dlogback.configurationFile="$home/conf/logback.xml" \
    -Dzkkafka.log.level="${ZKKAFKA_ZK_LOG_LEVEL:-INFO}" \
    -Dzookeeper.DigestAuthenticationProvider.superDigest="super:$digest" \
    -Dzookeeper.jmx.log4j.disable=true \
    -cp "$home/lib/*" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
    >"$dir/zookeeper.log" 2>&1 </dev/null &
  local pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid" >"$dir/zookeeper.pid"
  local deadline=$((SECONDS + timeout_s)) answer
  while ((SECONDS < deadline)); do
    if ! pid_alive "$pid"; then
      return 2
    fi
    # A server whose main thread died keeps running but never serves: fail fast.
    if grep -qE 'Exception in thread "main"|Thread\[main.*\] died|NoClassDefFoundError' "$dir/zookeeper.log"; then
      kill -9 "$pid" 2>/dev/null || true
      return 4
    fi
    answer="$(four_letter "$port" srvr || true)"
    if [[ "$answer" == *"Mode: standalone"* ]]; then
      echo "127.0.0.1:$port" >"$dir/connect_string.tmp"
      echo "$port" >"$dir/port"
      mv "$dir/connect_string.tmp" "$dir/connect_string"
      return 0
    fi
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  return 3
}

cmd_start() {
  local dir="" port="" timeout_s=60 watch_pid=""
  [[ $# -ge 1 ]] || usage
  dir="$1"
  shift
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --timeout) timeout_s="${2:?--timeout needs a value}"; shift 2 ;;
      --watch-pid) watch_pid="${2:?--watch-pid needs a value}"; shift 2 ;;
      *) usage ;;
    esac
  done
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if server_pid "$dir" >/dev/null; then
    die "a server already runs for $dir (pid $(cat "$dir/zookeeper.pid")); stop it first"
  fi
  command -v "$JAVA" >/dev/null 2>&1 || die "java is required (set JAVA or put java on PATH)"
  local home
  home="$(zk_home)"
  [[ -d "$home/lib" ]] || die "no ZooKeeper at $home"

  local tries=1 p rc
  [[ -n "$port" ]] || tries=5
  for ((i = 1; i <= tries; i++)); do
    p="${port:-$(free_port)}"
    log "starting ZooKeeper $(cat "$home/VERSION" 2>/dev/null) on 127.0.0.1:$p in $dir"
    rc=0
    start_once "$dir" "$p" "$timeout_s" "$home" || rc=$?
    if ((rc == 0)); then
      if [[ -n "$watch_pid" ]]; then
        # Detached watchdog: stops the server once the watched process is gone.
        # shellcheck disable=SC2016
        nohup bash -c 'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done
                       kill "$1" 2>/dev/null' "$watch_pid" "$(cat "$dir/zookeeper.pid")" \
          >/dev/null 2>&1 </dev/null &
      fi
      log "ready: $(cat "$dir/connect_string") (pid $(cat "$dir/zookeeper.pid"))"
      cat "$dir/connect_string"
      return 0
    fi
    if ((rc == 2)) && [[ -z "$port" ]] && grep -q "Address already in use" "$dir/zookeeper.log"; then
      log "port $p was taken meanwhile; trying another"
      continue
    fi
    break
  done
  rm -f "$dir/zookeeper.pid"
  local why="process exited"
  ((rc != 3)) || why="no answer within ${timeout_s}s"
  ((rc != 4)) || why="fatal error in its log"
  log "ZooKeeper did not come up ($why); last log lines:"
  tail -n 40 "$dir/zookeeper.log" | sed 's/^/    /' >&2
  exit 1
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  local dir pid
  dir="$(cd "$1" 2>/dev/null && pwd)" || { log "no workdir $1: nothing to stop"; return 0; }
  if ! pid="$(server_pid "$dir")"; then
    rm -f "$dir/zookeeper.pid"
    log "no server running for $dir"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    log "server $pid ignored SIGTERM for 10s; killing it"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/zookeeper.pid"
  log "stopped server $pid ($dir)"
}

cmd_status() {
  [[ $# -eq 1 ]] || usage
  local dir pid
  dir="$(cd "$1" && pwd)"
  pid="$(server_pid "$dir")" || { echo "stopped"; return 1; }
  echo "running pid=$pid connect_string=$(cat "$dir/connect_string" 2>/dev/null)"
}

[[ $# -ge 1 ]] || usage
cmd="$1"
shift
case "$cmd" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  *) usage ;;
esac
