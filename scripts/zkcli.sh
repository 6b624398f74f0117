#!/usr/bin/env bash
# ZooKeeper's own CLI (org.apache.zookeeper.ZooKeeperMain, from the artifact install-tools.sh
# caches), run non-interactively with parseable output.
#
#   scripts/zkcli.sh <connect_string> [--auth user:password]... [--] <command> [arg...]
#   scripts/zkcli.sh <connect_string> [--auth user:password]... < commands.txt
#
# With a command, each arg is one argument (quoted for the CLI as needed, so data may hold
# spaces). Without one, command lines are read from stdin verbatim, as typed into zkCli.
# --auth runs `addauth digest user:password` first (the test super user is
# super:zkkafka-test; see scripts/zookeeper.sh).
#
# How ZooKeeperMain is driven: given a command on its command line it runs that one command
# and exits with its status, but then it cannot run addauth first. So the commands always go
# to its stdin (without jline on the classpath it reads plain lines from stdin), after
# `addauth` lines if any. Its exit status is then the status of the LAST command (0 or 1, 127
# for an unknown command), so put the command whose status matters last.
#
# Output: stdout carries only what the commands print (get's data, ls's list, getAcl's ACL,
# stat's fields...); the CLI's banner and its connection-watcher chatter are removed. stderr
# carries the CLI's messages ("Created /a", "Node does not exist: /x", "Insufficient
# permission : /x", connection errors). Logging is off unless ZKKAFKA_ZK_CLI_LOG_LEVEL is set.
# The connection must come up within ZKKAFKA_ZKCLI_CONNECT_MS (default 10000), and the whole
# run must finish within ZKKAFKA_ZKCLI_TIMEOUT (seconds, default 60), else it fails (124).
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAVA="${JAVA:-java}"

die() { printf '[zkcli] ERROR: %s\n' "$*" >&2; exit 2; }
usage() { die "usage: $0 <connect_string> [--auth user:password]... [--] [<command> [arg...]]"; }

[[ $# -ge 1 ]] || usage
connect="$1"
shift
auths=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --auth) auths+=("${2:?--auth needs user:password}"); shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done

if [[ -n "${ZKKAFKA_ZK_HOME:-}" ]]; then
  home="$ZKKAFKA_ZK_HOME"
else
  home="$("$SCRIPTS/install-tools.sh" zookeeper)"
fi
[[ -d "$home/lib" ]] || die "no ZooKeeper at $home"

# One argument as ZooKeeperMain's line parser reads it: bare if it has no whitespace or quote,
# else in double quotes, else in single quotes.
quote_arg() {
  local a="$1"
  [[ "$a" != *$'\n'* ]] || die "an argument may not contain a newline"
  if [[ -n "$a" && "$a" != *[[:space:]\"\']* ]]; then
    printf '%s' "$a"
  elif [[ "$a" != *\"* ]]; then
    printf '"%s"' "$a"
  elif [[ "$a" != *\'* ]]; then
    printf "'%s'" "$a"
  else
    die "an argument may not contain both kinds of quote: $a"
  fi
}

commands() {
  local a first=1
  for a in "${auths[@]}"; do
    printf 'addauth digest %s\n' "$a"
  done
  if [[ $# -gt 0 ]]; then
    for a in "$@"; do
      ((first)) || printf ' '
      quote_arg "$a"
      first=0
    done
    printf '\n'
  else
    cat
  fi
}

# Drops the CLI's banner and watcher output:
#   Connecting to HOST:PORT / Welcome to ZooKeeper! / JLine support is disabled
#   <blank> / WATCHER:: / <blank> / WatchedEvent state:SyncConnected type:None path:null zxid: -1
filter_stdout() {
  awk '
    function flush() { while (blanks > 0) { print ""; blanks-- } }
    !seen_first && /^Connecting to / { seen_first = 1; next }
    { seen_first = 1 }
    /^Welcome to ZooKeeper!$/ || /^JLine support is disabled$/ { next }
    /^$/ {
      if (after_watcher) { after_watcher = 0; next }
      blanks++; next
    }
    /^WATCHER::$/ { if (blanks > 0) blanks--; flush(); after_watcher = 1; next }
    /^WatchedEvent state:[A-Za-z]+ type:None path:null( zxid: -?[0-9]+)?$/ { after_watcher = 0; next }
    { after_watcher = 0; flush(); print }
    END { flush() }
  '
}

status=0
commands "$@" |
  timeout --kill-after=5 "${ZKKAFKA_ZKCLI_TIMEOUT:-60}" \
    "$JAVA" -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx128m \
    -Djava.net.preferIPv4Stack=true \
    -Dlogback.configurationFile="$home/conf/logback.xml" \
    -Dzkkafka.log.level="${ZKKAFKA_ZK_CLI_LOG_LEVEL:-OFF}" \
    -cp "$home/lib/*" \
    org.apache.zookeeper.ZooKeeperMain \
    -waitforconnection -timeout "${ZKKAFKA_ZKCLI_CONNECT_MS:-10000}" -server "$connect" |
  filter_stdout || status=$?
# pipefail: the status is the CLI's (or timeout's 124), the filter never fails.
exit "$status"
