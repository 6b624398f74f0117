//! The files in the ensemble's ConfigMap: the complete `zoo.cfg`, the seed dynamic
//! configuration (`server.<id>=...` lines), the start script that derives `myid` from the pod's
//! ordinal and runs ZooKeeper on exactly that `zoo.cfg`, the probe script and the log
//! configuration. All pure text, deterministic for a given [`Ensemble`].
//!
//! Paths inside the pod: the ConfigMap is mounted read-only at [`CONFIG_MOUNT`]; the member's
//! volume at [`DATA_MOUNT`] holds `data/` (snapshots, `myid`), `datalog/` (transaction log) and
//! `conf/`, the writable copy of `zoo.cfg` that ZooKeeper edits when a reconfiguration commits
//! (it writes `zoo.cfg.dynamic.<version>` beside it and points `dynamicConfigFile` there).

use std::collections::BTreeMap;

use super::model::{Ensemble, Member};

pub const CONFIG_MOUNT: &str = "/config";
pub const DATA_MOUNT: &str = "/data";
/// Where the Secret's super user password is mounted (one file, never in the environment).
pub const SECRET_MOUNT: &str = "/secret";
pub const PASSWORD_FILE: &str = "super-password";

pub const ZOO_CFG: &str = "zoo.cfg";
pub const DYNAMIC_CFG: &str = "zoo.cfg.dynamic";
pub const START_SCRIPT: &str = "start.sh";
pub const PROBE_SCRIPT: &str = "probe.sh";
pub const MEMBER_SCRIPT: &str = "member.sh";
pub const LOGBACK_XML: &str = "logback.xml";

/// The four-letter words the probes and the member script use; nothing else is enabled.
/// `conf` shows the member's view of the committed membership (no secrets).
pub const FOUR_LETTER_WORDS: &str = "conf,mntr,ruok,srvr";

/// zoo.cfg settings the provider chooses but the user may override through `config`.
pub const DEFAULT_TUNABLES: [(&str, &str); 7] = [
    ("tickTime", "2000"),
    ("initLimit", "10"),
    ("syncLimit", "5"),
    ("maxClientCnxns", "60"),
    ("autopurge.snapRetainCount", "3"),
    ("autopurge.purgeInterval", "1"),
    ("admin.enableServer", "false"),
];

/// The complete `zoo.cfg`: the keys the provider owns first, then the tunables (defaults
/// merged with the user's `config`), sorted by key.
pub fn zoo_cfg(e: &Ensemble) -> String {
    let mut out = format!(
        "# zoo.cfg of ZooKeeper ensemble {}, rendered by zkkafka. Edit the resource, not this file.\n\
         # Membership is in dynamicConfigFile, which ZooKeeper itself rewrites on reconfiguration.\n",
        e.id()
    );
    let owned = [
        ("dataDir", format!("{DATA_MOUNT}/data")),
        ("dataLogDir", format!("{DATA_MOUNT}/datalog")),
        (
            "dynamicConfigFile",
            format!("{DATA_MOUNT}/conf/{DYNAMIC_CFG}"),
        ),
        ("reconfigEnabled", "true".to_string()),
        ("standaloneEnabled", "false".to_string()),
        ("quorumListenOnAllIPs", "true".to_string()),
        ("4lw.commands.whitelist", FOUR_LETTER_WORDS.to_string()),
        ("admin.serverPort", "8080".to_string()),
    ];
    for (k, v) in owned {
        out.push_str(&format!("{k}={v}\n"));
    }
    let mut tunables: BTreeMap<&str, &str> = DEFAULT_TUNABLES.into_iter().collect();
    for (k, v) in &e.config {
        tunables.insert(k, v);
    }
    out.push_str("# Tunables: provider defaults, overridden by the resource's config.\n");
    for (k, v) in tunables {
        out.push_str(&format!("{k}={v}\n"));
    }
    out
}

/// The seed membership for an ensemble of `replicas` servers: what a pod starting with an
/// empty volume uses. Once ZooKeeper commits a configuration, its own copy wins (see the start
/// script), so scaling never depends on every pod seeing the newest ConfigMap.
pub fn dynamic_cfg(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| format!("{}\n", m.server_line()))
        .collect()
}

/// The container's entry point. It does not use the image's entrypoint or its environment
/// templating: it writes `myid`, prepares the writable `zoo.cfg` and execs the JVM.
pub fn start_script() -> String {
    format!(
        r#"#!/bin/bash
# Starts one member of a ZooKeeper ensemble. Rendered by zkkafka.
# myid = pod ordinal + 1, from the hostname <statefulset>-<ordinal>.
set -euo pipefail

host="${{HOSTNAME:-$(hostname)}}"
ordinal="${{host##*-}}"
case "$ordinal" in
  ''|*[!0-9]*) echo "start.sh: cannot read a pod ordinal from hostname '$host'" >&2; exit 1 ;;
esac
myid=$((ordinal + 1))

data={DATA_MOUNT}
mkdir -p "$data/data" "$data/datalog" "$data/conf"
echo "$myid" > "$data/data/myid"
# Markers of the previous run of this member (see member.sh).
rm -f "$data/leaving" "$data/join.pid"

# Membership: ZooKeeper records each committed reconfiguration as conf/zoo.cfg.dynamic.<version>
# and points dynamicConfigFile in conf/zoo.cfg at it. Keep that pointer when it exists; a member
# with an empty volume starts from the rendered seed instead.
dynamic=""
if [ -f "$data/conf/{ZOO_CFG}" ]; then
  dynamic="$(sed -n 's/^dynamicConfigFile=//p' "$data/conf/{ZOO_CFG}" | tail -n 1)"
fi
if [ -z "$dynamic" ] || [ ! -f "$dynamic" ]; then
  cp {CONFIG_MOUNT}/{DYNAMIC_CFG} "$data/conf/{DYNAMIC_CFG}"
  dynamic="$data/conf/{DYNAMIC_CFG}"
fi
# A member whose preStop hook took it out of the voters has a committed membership without
# itself, with which ZooKeeper refuses to start ("My id not in the peer list"). It rejoins with
# that membership plus itself as an observer (an observer never votes, so it cannot make a
# quorum out of an outdated view) and no version (the leader's configuration replaces it when
# it syncs); member.sh join then reconfigures it in as a participant.
if ! grep -Eq "^server\.$myid=" "$dynamic"; then
  own="$(grep -E "^server\.$myid=" {CONFIG_MOUNT}/{DYNAMIC_CFG} | tail -n 1 | sed 's/:participant;/:observer;/')"
  if [ -z "$own" ]; then
    echo "start.sh: server.$myid is neither in the committed membership nor in the seed" >&2
    exit 1
  fi
  {{ grep -E '^server\.[0-9]+=' "$dynamic"; echo "$own"; }} > "$data/conf/{DYNAMIC_CFG}.next"
  mv "$data/conf/{DYNAMIC_CFG}.next" "$data/conf/{DYNAMIC_CFG}"
  dynamic="$data/conf/{DYNAMIC_CFG}"
fi
# The rendered zoo.cfg, byte for byte, except the dynamicConfigFile line chosen above.
{{ grep -v '^dynamicConfigFile=' {CONFIG_MOUNT}/{ZOO_CFG}; echo "dynamicConfigFile=$dynamic"; }} > "$data/conf/{ZOO_CFG}.next"
mv "$data/conf/{ZOO_CFG}.next" "$data/conf/{ZOO_CFG}"

zk_home="${{ZK_HOME:-}}"
if [ -z "$zk_home" ]; then
  for d in /apache-zookeeper-*-bin; do zk_home="$d"; done
fi
if [ -z "$zk_home" ] || [ ! -d "$zk_home/lib" ]; then
  echo "start.sh: no ZooKeeper installation (/apache-zookeeper-*-bin/lib) in this image" >&2
  exit 1
fi

if [ -n "${{ZK_HEAP:-}}" ]; then
  heap=(-Xms"$ZK_HEAP" -Xmx"$ZK_HEAP")
else
  heap=(-XX:MaxRAMPercentage=50)
fi

# ZooKeeper runs as a child so that this script can make the member a voter once it serves
# (member.sh join); TERM and INT are passed on, and the script exits with ZooKeeper's status.
zk=""
joiner=""
stop() {{
  [ -n "$joiner" ] && kill -TERM "$joiner" 2>/dev/null
  [ -n "$zk" ] && kill -TERM "$zk" 2>/dev/null
}}
trap stop TERM INT
# Waits for a child to end, through signals (wait returns early when a trap runs).
wait_for() {{
  local rc
  while :; do
    wait "$1"
    rc=$?
    kill -0 "$1" 2>/dev/null || return "$rc"
  done
}}

java "${{heap[@]}}" \
  -Dzookeeper.DigestAuthenticationProvider.superDigest="$ZK_SUPER_DIGEST" \
  -Dlogback.configurationFile={CONFIG_MOUNT}/{LOGBACK_XML} \
  -cp "$zk_home/lib/*" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$data/conf/{ZOO_CFG}" &
zk=$!

ZK_PID="$zk" /bin/bash {CONFIG_MOUNT}/{MEMBER_SCRIPT} join &
joiner=$!
# The preStop hook (member.sh leave) waits for a join in progress to end before it leaves.
echo "$joiner" > "$data/join.pid"
set +e
wait_for "$joiner"
joined=$?
joiner=""
rm -f "$data/join.pid"
if [ "$joined" -ne 0 ] && kill -0 "$zk" 2>/dev/null; then
  echo "start.sh: member $myid did not become a voter; stopping so that the pod restarts" >&2
  kill -TERM "$zk"
fi
wait_for "$zk"
exit $?
"#
    )
}

/// Probes through four-letter words on the client port, with bash's /dev/tcp (no nc needed):
/// `alive` asks `ruok` (the process answers, even without a quorum: never restart a member
/// for its peers' absence); `ready` asks `srvr`, which has a `Mode:` line only while the
/// member serves in a quorum, and `conf`, whose membership must list this member as a voter:
/// a member that has not (yet) been reconfigured in is not ready, so waiting for readiness
/// means waiting for the committed configuration to list it.
pub fn probe_script() -> String {
    format!(
        r#"#!/bin/bash
# Kubernetes probes for a ZooKeeper member. Rendered by zkkafka.
# probe.sh alive: the server answers ruok.
# probe.sh ready: it serves clients in a quorum and the committed configuration lists it as a
#                 voter (participant).
set -u
ask() {{
  exec 3<>/dev/tcp/127.0.0.1/{port} || return 1
  printf '%s' "$1" >&3
  timeout 5 cat <&3
  exec 3<&-
}}
case "${{1:-}}" in
  alive)
    [ "$(ask ruok)" = imok ]
    ;;
  ready)
    case "$(ask srvr)" in *"Mode: "*) ;; *) exit 1 ;; esac
    host="${{HOSTNAME:-$(hostname)}}"
    myid=$(( ${{host##*-}} + 1 ))
    ask conf | grep -Eq "^server\.$myid=[^;]*:participant;"
    ;;
  *)
    echo "usage: probe.sh alive|ready" >&2
    exit 2
    ;;
esac
"#,
        port = super::model::CLIENT_PORT
    )
}

/// Membership changes carried out by the member itself, so the provider needs no network path
/// to the members: `join` (run by start.sh once ZooKeeper runs) makes the member a voter with
/// `reconfig -add` unless it is one, then removes voters left behind by pods that were
/// force-deleted; `leave` (the preStop hook) removes it with `reconfig -remove` before the pod
/// stops. Both authenticate as the super user with the password file from the Secret, sent to
/// the ZooKeeper CLI on its standard input, and print nothing of it.
pub fn member_script() -> String {
    format!(
        r#"#!/bin/bash
# Membership of one ZooKeeper member, run inside its pod. Rendered by zkkafka.
#   member.sh join   (start.sh, in the background once ZooKeeper runs) waits until this member
#                    serves, then makes it a voter with reconfig -add unless the committed
#                    configuration lists it already; then removes stale voters (see repair).
#   member.sh leave  (preStop hook) removes this member from the voters with reconfig -remove
#                    before the pod stops, unless it is the only voter.
# Membership is read with the four-letter word conf (the server's view of the committed
# configuration); only reconfig starts the ZooKeeper CLI. The super user's password is read from
# {SECRET_MOUNT}/{PASSWORD_FILE} and goes to the CLI on its standard input, never to argv, the
# environment or a log.
set -uo pipefail

host="${{HOSTNAME:-$(hostname)}}"
ordinal="${{host##*-}}"
case "$ordinal" in
  ''|*[!0-9]*) echo "member.sh: cannot read a pod ordinal from hostname '$host'" >&2; exit 1 ;;
esac
myid=$((ordinal + 1))
data={DATA_MOUNT}
local_addr=127.0.0.1
client_port={port}
seed={CONFIG_MOUNT}/{DYNAMIC_CFG}
password_file={SECRET_MOUNT}/{PASSWORD_FILE}

log() {{ echo "$(date -u +%FT%TZ) member.sh[$myid]: $*" >&2; }}

# A four-letter word's answer from <address> (5 s at most).
ask() {{
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1; printf "%s" "$3" >&3; cat <&3'     ask "$1" "$client_port" "$2" 2>/dev/null
}}

# The server lines of the committed configuration as <address> sees it.
membership() {{
  ask "$1" conf | sed -n '/^membership:/,$p' | grep -E '^server\.[0-9]+='
}}

# Voter ids among server lines on stdin (participants; observers do not vote).
voters() {{
  grep -E '^server\.[0-9]+=[^;]*:participant;' | sed -E 's/^server\.([0-9]+)=.*/\1/'
}}

# Client addresses (<address>:<port>) of the server lines on stdin, except id $1. A server
# listening on all interfaces is reached through its quorum host name.
clients() {{
  local line id spec client addr
  while IFS= read -r line; do
    id="${{line%%=*}}"; id="${{id#server.}}"
    [ "$id" = "$1" ] && continue
    spec="${{line#*=}}"
    client="${{spec#*;}}"
    addr="${{client%:*}}"
    case "$addr" in ''|0.0.0.0|"$client") addr="${{spec%%:*}}" ;; esac
    printf '%s:%s
' "$addr" "${{client##*:}}"
  done
}}

zk_home="${{ZK_HOME:-}}"
if [ -z "$zk_home" ]; then
  for d in /apache-zookeeper-*-bin; do zk_home="$d"; done
fi

# Runs reconfig arguments "$2..." in the ZooKeeper CLI against connect string $1, as the super
# user; prints the CLI's answer with the password masked. The CLI is started without jline so
# that it reads commands from standard input and echoes nothing.
reconfig() {{
  local server="$1" classpath="" jar password="" out
  shift
  for jar in "$zk_home"/lib/*.jar; do
    case "${{jar##*/}}" in jline-*) ;; *) classpath="${{classpath:+$classpath:}}$jar" ;; esac
  done
  IFS= read -r password < "$password_file" || [ -n "$password" ] || {{
    log "cannot read the super user's password from $password_file"
    return 1
  }}
  out="$(printf 'addauth digest super:%s\nreconfig %s\n' "$password" "$*" |
    timeout 60 java -Xmx64m -Dzkkafka.log.level=WARN       -Dlogback.configurationFile={CONFIG_MOUNT}/{LOGBACK_XML}       -cp "$classpath" org.apache.zookeeper.ZooKeeperMain       -server "$server" -timeout 10000 -waitforconnection 2>&1)"
  printf '%s\n' "${{out//"$password"/<password>}}" | grep -Ev '^(Welcome to ZooKeeper|JLine support|Picked up JAVA_TOOL_OPTIONS|$)'
}}

join() {{
  local deadline=$((SECONDS + ${{ZK_JOIN_TIMEOUT:-600}})) line current
  line="$(grep -E "^server\.$myid=" "$seed" | tail -n 1)"
  if [ -z "$line" ]; then
    log "the seed membership has no line for server.$myid"
    return 1
  fi
  # 1. This member serves (as a voter, or as a learner that is not in the configuration yet).
  until ask "$local_addr" srvr | grep -q '^Mode: '; do
    if [ -n "${{ZK_PID:-}}" ] && ! kill -0 "$ZK_PID" 2>/dev/null; then
      log "ZooKeeper exited before serving"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "not serving within ${{ZK_JOIN_TIMEOUT:-600}} s"
      return 1
    fi
    sleep 1
  done
  # 2. Reconfigured in, one attempt at a time (ZooKeeper commits one reconfiguration at once).
  #    A preStop hook that has begun (the marker "leaving") ends the attempts: the member is
  #    stopping, and joining after it left would leave a voter behind.
  while :; do
    if [ -e "$data/leaving" ]; then
      log "the pod is stopping; not joining"
      return 0
    fi
    current="$(membership "$local_addr")"
    if printf '%s\n' "$current" | voters | grep -qx "$myid"; then
      log "a voter of the committed configuration"
      repair "$current"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "not a voter within ${{ZK_JOIN_TIMEOUT:-600}} s"
      return 1
    fi
    log "joining the voters: reconfig -add ${{line#*=}}"
    reconfig "$local_addr:$client_port" -add "$line" >&2
    log "reconfig done"
    sleep 2
  done
}}

# Voters above the seed's size whose member does not answer were left behind by a pod that
# stopped without its preStop hook (forced deletion, lost node): remove them, one at a time.
# A voter that answers is kept (its pod may be leaving right now, or the mounted seed may be
# older than the StatefulSet).
repair() {{
  local size id
  size="$(grep -cE '^server\.[0-9]+=' "$seed")"
  for id in $(printf '%s\n' "$1" | voters | sort -rn); do
    [ "$id" -le "$size" ] && continue
    addr="$(printf '%s\n' "$1" | grep -E "^server\.$id=" | clients 0 | head -n 1)"
    if [ "$(ask "${{addr%:*}}" ruok)" = imok ]; then
      log "voter $id is beyond the seed's $size members but answers; left alone"
      continue
    fi
    log "removing voter $id: beyond the seed's $size members and not answering"
    reconfig "$local_addr:$client_port" -remove "$id" >&2
  done
}}

leave() {{
  local deadline=$((SECONDS + ${{ZK_LEAVE_TIMEOUT:-60}})) current others addr
  log "leaving (preStop)"
  # A join in progress (start.sh runs it) ends first, so that no reconfig -add of this member
  # can commit after its removal.
  touch "$data/leaving"
  local joiner=""
  [ -f "$data/join.pid" ] && joiner="$(cat "$data/join.pid")"
  while [ -n "$joiner" ] && kill -0 "$joiner" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "a join is still in progress after ${{ZK_LEAVE_TIMEOUT:-60}} s; stopping anyway"
      return 1
    fi
    sleep 1
  done
  while :; do
    # Ask the other members: this one may be the leader and stop answering once removed.
    current=""
    others="$(membership "$local_addr" | clients "$myid")"
    [ -z "$others" ] && others="$(clients "$myid" < "$seed")"
    for addr in $others; do
      current="$(membership "${{addr%:*}}")" && [ -n "$current" ] && break
    done
    if [ -n "$current" ]; then
      if ! printf '%s\n' "$current" | voters | grep -qx "$myid"; then
        log "not a voter (any more)"
        return 0
      fi
      if [ "$(printf '%s\n' "$current" | voters | wc -l)" -le 1 ]; then
        log "the only voter; staying in the configuration"
        return 0
      fi
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "still a voter after ${{ZK_LEAVE_TIMEOUT:-60}} s; stopping anyway"
      return 1
    fi
    if [ -n "$current" ]; then
      log "leaving the voters: reconfig -remove $myid"
      reconfig "$(printf '%s\n' $others | paste -sd, -)" -remove "$myid" >&2
      log "reconfig done"
    else
      log "no other member answers"
    fi
    sleep 2
  done
}}

case "${{1:-}}" in
  join) join ;;
  leave) leave ;;
  *) echo "usage: member.sh join|leave" >&2; exit 2 ;;
esac
"#,
        port = super::model::CLIENT_PORT
    )
}

/// Logs to the console at INFO (the kubelet keeps them); without a configuration logback
/// would log at DEBUG. The member script's CLI runs set `zkkafka.log.level=WARN`.
pub fn logback_xml() -> String {
    r#"<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] %-5level [%thread] %logger{36} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="${zkkafka.log.level:-INFO}">
    <appender-ref ref="CONSOLE"/>
  </root>
</configuration>
"#
    .to_string()
}

/// Every ConfigMap entry for an ensemble whose StatefulSet has `replicas` pods.
pub fn config_map_data(e: &Ensemble) -> Vec<(&'static str, String)> {
    vec![
        (LOGBACK_XML, logback_xml()),
        (MEMBER_SCRIPT, member_script()),
        (PROBE_SCRIPT, probe_script()),
        (START_SCRIPT, start_script()),
        (ZOO_CFG, zoo_cfg(e)),
        (DYNAMIC_CFG, dynamic_cfg(&e.members())),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::zookeeper_ensemble::model::AntiAffinity;

    fn ensemble() -> Ensemble {
        Ensemble {
            name: "zk".into(),
            namespace: "data".into(),
            replicas: 3,
            version: Some("3.9.3".into()),
            image: "zookeeper:3.9.3".into(),
            storage_size: "10Gi".into(),
            storage_class: None,
            requests: BTreeMap::new(),
            limits: BTreeMap::new(),
            jvm_heap: None,
            config: [("tickTime".to_string(), "3000".to_string())].into(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            anti_affinity: AntiAffinity::Required,
        }
    }

    #[test]
    fn zoo_cfg_owns_membership_and_never_skips_acls() {
        let cfg = zoo_cfg(&ensemble());
        let keys: Vec<&str> = cfg
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "duplicate keys in {cfg}");
        assert!(cfg.contains("reconfigEnabled=true\n"));
        assert!(cfg.contains("tickTime=3000\n"), "the user's value wins");
        assert!(!cfg.contains("skipACL"));
        assert!(
            !cfg.contains("server."),
            "membership is only in the dynamic file"
        );
    }

    #[test]
    fn dynamic_cfg_lists_each_member() {
        let e = ensemble();
        assert_eq!(
            dynamic_cfg(&e.members_of(2)),
            "server.1=zk-0.zk-headless.data.svc.cluster.local:2888:3888:participant;0.0.0.0:2181\n\
             server.2=zk-1.zk-headless.data.svc.cluster.local:2888:3888:participant;0.0.0.0:2181\n"
        );
    }
}
