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

pub const ZOO_CFG: &str = "zoo.cfg";
pub const DYNAMIC_CFG: &str = "zoo.cfg.dynamic";
pub const START_SCRIPT: &str = "start.sh";
pub const PROBE_SCRIPT: &str = "probe.sh";
pub const LOGBACK_XML: &str = "logback.xml";

/// The four-letter words the probes and the provider use; nothing else is enabled.
pub const FOUR_LETTER_WORDS: &str = "mntr,ruok,srvr";

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

exec java "${{heap[@]}}" \
  -Dzookeeper.DigestAuthenticationProvider.superDigest="$ZK_SUPER_DIGEST" \
  -Dlogback.configurationFile={CONFIG_MOUNT}/{LOGBACK_XML} \
  -cp "$zk_home/lib/*" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$data/conf/{ZOO_CFG}"
"#
    )
}

/// Probes through four-letter words on the client port, with bash's /dev/tcp (no nc needed):
/// `alive` asks `ruok` (the process answers, even without a quorum: never restart a member
/// for its peers' absence); `ready` asks `srvr` and needs a `Mode:` line, which ZooKeeper only
/// prints while the member is part of a quorum and serving clients.
pub fn probe_script() -> String {
    format!(
        r#"#!/bin/bash
# Kubernetes probes for a ZooKeeper member. Rendered by zkkafka.
# probe.sh alive: the server answers ruok. probe.sh ready: it serves clients in a quorum.
set -u
exec 3<>/dev/tcp/127.0.0.1/{port} || exit 1
case "${{1:-}}" in
  alive)
    printf ruok >&3
    answer="$(timeout 5 cat <&3)"
    [ "$answer" = imok ]
    ;;
  ready)
    printf srvr >&3
    answer="$(timeout 5 cat <&3)"
    case "$answer" in *"Mode: "*) exit 0 ;; *) exit 1 ;; esac
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

/// Logs to the console at INFO (the kubelet keeps them); without a configuration logback
/// would log at DEBUG.
pub fn logback_xml() -> String {
    r#"<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] %-5level [%thread] %logger{36} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
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
