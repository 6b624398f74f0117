//! The files in a role's ConfigMap: the complete server.properties of every node of the role
//! (`server-<ordinal>.properties`), the start script, the log configuration and, in KRaft mode,
//! the cluster id. All pure text, deterministic for a given [`KafkaCluster`].
//!
//! Each node's file is complete: identity lines (`node.id` / `broker.id`,
//! `advertised.listeners`) first, then the lines every node of the role shares. The start
//! script picks the file by the pod's ordinal (from its hostname): no image environment
//! templating. Paths inside the pod: the ConfigMap at [`CONFIG_MOUNT`], the node's volume at
//! [`DATA_MOUNT`], with the log directory `logs/` below it (a fresh volume's root may hold
//! `lost+found`, which Kafka would take for a broken log) and the copy of server.properties
//! the node runs, `server.properties`.

use std::collections::BTreeMap;

use super::model::{KafkaCluster, Mode, Role, CONTROLLER_LISTENER, CONTROLLER_PORT};

pub const CONFIG_MOUNT: &str = "/config";
pub const DATA_MOUNT: &str = "/data";
pub const START_SCRIPT: &str = "start.sh";
/// The cluster id file (KRaft only): what every node's storage is formatted with.
pub const CLUSTER_ID_FILE: &str = "cluster.id";
/// Kafka 3.x logs through log4j 1 (reload4j), 4.x through log4j 2.
pub const LOG4J_FILE: &str = "log4j.properties";
pub const LOG4J2_FILE: &str = "log4j2.properties";

/// The ConfigMap key of a node's server.properties.
pub fn properties_file(ordinal: u32) -> String {
    format!("server-{ordinal}.properties")
}

/// The log configuration file for the cluster's Kafka version.
pub fn log_config_file(c: &KafkaCluster) -> &'static str {
    if c.version.uses_log4j2() {
        LOG4J2_FILE
    } else {
        LOG4J_FILE
    }
}

/// Broker settings the provider chooses but `config` may override: replication that survives
/// one broker down while acks=all producers keep writing.
pub fn broker_tunables(c: &KafkaCluster) -> BTreeMap<String, String> {
    let rf = c.brokers.min(3);
    let min_isr = if c.brokers >= 3 { 2 } else { 1 };
    let mut t: BTreeMap<String, String> = [
        ("default.replication.factor", rf.to_string()),
        ("min.insync.replicas", min_isr.to_string()),
        ("offsets.topic.replication.factor", rf.to_string()),
        ("transaction.state.log.replication.factor", rf.to_string()),
        ("transaction.state.log.min.isr", min_isr.to_string()),
        ("unclean.leader.election.enable", "false".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in &c.config {
        t.insert(k.clone(), v.clone());
    }
    t
}

fn listener_list(c: &KafkaCluster, host: &str) -> String {
    c.listeners
        .iter()
        .map(|l| format!("{}://{host}:{}", l.name, l.port))
        .collect::<Vec<_>>()
        .join(",")
}

/// The identity lines of one node: what differs between the nodes of a role.
fn identity(c: &KafkaCluster, role: Role, ordinal: u32) -> Vec<(String, String)> {
    let id_key = match (&c.mode, role) {
        (Mode::Zookeeper { .. }, _) => "broker.id",
        (Mode::Kraft { .. }, _) => "node.id",
    };
    let mut lines = vec![(id_key.to_string(), c.node_id(role, ordinal).to_string())];
    if role == Role::Broker {
        lines.push((
            "advertised.listeners".into(),
            listener_list(c, &c.host(role, ordinal)),
        ));
    }
    lines
}

/// The lines every node of `role` shares, in a fixed order: owned keys, then (brokers) the
/// tunables sorted by key.
pub fn shared_properties(c: &KafkaCluster, role: Role) -> String {
    let mut owned: Vec<(&str, String)> = Vec::new();
    let protocols = |with_controller: bool| {
        let mut m: Vec<String> = c
            .listeners
            .iter()
            .map(|l| format!("{}:{}", l.name, l.protocol))
            .collect();
        if with_controller {
            m.insert(0, format!("{CONTROLLER_LISTENER}:PLAINTEXT"));
        }
        m.join(",")
    };
    match (&c.mode, role) {
        (Mode::Kraft { .. }, Role::Controller) => {
            owned.push(("process.roles", "controller".into()));
            owned.push(("controller.quorum.voters", c.quorum_voters()));
            owned.push(("controller.listener.names", CONTROLLER_LISTENER.into()));
            owned.push((
                "listeners",
                format!("{CONTROLLER_LISTENER}://0.0.0.0:{CONTROLLER_PORT}"),
            ));
            owned.push((
                "listener.security.protocol.map",
                format!("{CONTROLLER_LISTENER}:PLAINTEXT"),
            ));
        }
        (Mode::Kraft { .. }, Role::Broker) => {
            owned.push(("process.roles", "broker".into()));
            owned.push(("controller.quorum.voters", c.quorum_voters()));
            owned.push(("controller.listener.names", CONTROLLER_LISTENER.into()));
            owned.push(("listeners", listener_list(c, "0.0.0.0")));
            owned.push(("listener.security.protocol.map", protocols(true)));
        }
        (Mode::Zookeeper { .. }, _) => {
            owned.push(("listeners", listener_list(c, "0.0.0.0")));
            owned.push(("listener.security.protocol.map", protocols(false)));
            owned.push((
                "zookeeper.connect",
                c.zookeeper_connect().unwrap_or_default(),
            ));
        }
    }
    if role == Role::Broker {
        if let Some(first) = c.listeners.first() {
            owned.push(("inter.broker.listener.name", first.name.clone()));
        }
    }
    owned.push(("log.dirs", format!("{DATA_MOUNT}/logs")));
    let mut out = String::from("# Shared by every node of this role.\n");
    for (k, v) in owned {
        out.push_str(&format!("{k}={v}\n"));
    }
    if role == Role::Broker {
        out.push_str("# Tunables: provider defaults, overridden by the resource's config.\n");
        for (k, v) in broker_tunables(c) {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    out
}

/// The complete server.properties of one node.
pub fn server_properties(c: &KafkaCluster, role: Role, ordinal: u32) -> String {
    let mut out = format!(
        "# server.properties of {} {} of Kafka cluster {} (Kafka {}), rendered by zkkafka.\n\
         # Edit the resource, not this file.\n",
        role.as_str(),
        ordinal,
        c.id(),
        c.version
    );
    for (k, v) in identity(c, role, ordinal) {
        out.push_str(&format!("{k}={v}\n"));
    }
    out.push_str(&shared_properties(c, role));
    out
}

/// The container's entry point, the same text for every role and node. It picks the node's
/// server.properties by pod ordinal, adds `broker.rack` when the pod has a zone
/// (`KAFKA_RACK`, from the pod's label), formats KRaft storage only when the log directory is
/// empty, and execs the broker class (what the distribution's kafka-server-start.sh and
/// kafka-storage.sh run, without needing those scripts).
///
/// In ZooKeeper mode the script leaves ZooKeeper alone: a chroot that does not exist yet
/// (`chroot`, e.g. `/kafka/events`, at the end of `zookeeper.connect`) is created by Kafka 3.x
/// itself, every missing prefix of the path, before the broker registers under it. That is
/// what "the chroot is created when missing" rests on; tests/kafka_cluster_real.rs starts
/// Kafka 3.9 on a fresh ensemble where the chroot and its parent are absent and finds the
/// brokers registered under it and nothing of Kafka's at the root.
pub fn start_script(c: &KafkaCluster) -> String {
    let log_option = if c.version.uses_log4j2() {
        format!("-Dlog4j2.configurationFile={CONFIG_MOUNT}/{LOG4J2_FILE}")
    } else {
        format!("-Dlog4j.configuration=file:{CONFIG_MOUNT}/{LOG4J_FILE}")
    };
    format!(
        r#"#!/bin/bash
# Starts one Kafka node. Rendered by zkkafka.
# Identity: the pod ordinal, from the hostname <statefulset>-<ordinal>, selects
# {CONFIG_MOUNT}/server-<ordinal>.properties, the complete configuration of this node.
set -euo pipefail

host="${{HOSTNAME:-$(hostname)}}"
ordinal="${{host##*-}}"
case "$ordinal" in
  ''|*[!0-9]*) echo "start.sh: cannot read a pod ordinal from hostname '$host'" >&2; exit 1 ;;
esac
rendered="{CONFIG_MOUNT}/server-$ordinal.properties"
if [ ! -f "$rendered" ]; then
  echo "start.sh: no rendered configuration $rendered for pod $host (the ConfigMap is older than the StatefulSet?)" >&2
  exit 1
fi

data={DATA_MOUNT}
mkdir -p "$data/logs"
# The configuration this node runs: the rendered file, plus broker.rack when the pod is in a zone.
cp "$rendered" "$data/server.properties.next"
if [ -n "${{KAFKA_RACK+set}}" ]; then
  if [ -z "$KAFKA_RACK" ]; then
    echo "start.sh: rack_awareness is on but pod $host has no topology.kubernetes.io/zone label" >&2
    exit 1
  fi
  echo "broker.rack=$KAFKA_RACK" >> "$data/server.properties.next"
fi
mv "$data/server.properties.next" "$data/server.properties"

kafka_home="${{KAFKA_HOME:-/opt/kafka}}"
if [ ! -d "$kafka_home/libs" ]; then
  echo "start.sh: no Kafka installation ($kafka_home/libs) in this image" >&2
  exit 1
fi
if [ -n "${{KAFKA_HEAP:-}}" ]; then
  heap=(-Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP")
else
  heap=(-XX:MaxRAMPercentage=50)
fi
jvm=("${{heap[@]}}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  {log_option} -cp "$kafka_home/libs/*")

# KRaft: format the log directory with the cluster id, only while it is empty (a node that
# already holds data keeps it; formatting again would be refused or, worse, forget it).
if [ -f {CONFIG_MOUNT}/{CLUSTER_ID_FILE} ] && [ -z "$(ls -A "$data/logs")" ]; then
  java "${{jvm[@]}}" kafka.tools.StorageTool format \
    --cluster-id "$(cat {CONFIG_MOUNT}/{CLUSTER_ID_FILE})" --config "$data/server.properties"
fi

exec java "${{jvm[@]}}" kafka.Kafka "$data/server.properties"
"#
    )
}

/// Console logging at INFO (the kubelet keeps the logs).
pub fn log_config(c: &KafkaCluster) -> String {
    if c.version.uses_log4j2() {
        "status = warn\n\
         appender.console.type = Console\n\
         appender.console.name = STDOUT\n\
         appender.console.layout.type = PatternLayout\n\
         appender.console.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = INFO\n\
         rootLogger.appenderRef.stdout.ref = STDOUT\n\
         logger.zookeeper.name = org.apache.zookeeper\n\
         logger.zookeeper.level = WARN\n"
            .to_string()
    } else {
        "log4j.rootLogger=INFO, stdout\n\
         log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n\
         log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n\
         log4j.logger.org.apache.zookeeper=WARN\n"
            .to_string()
    }
}

/// Every ConfigMap entry of a role, sorted by key.
pub fn config_map_data(c: &KafkaCluster, role: Role) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    data.insert(log_config_file(c).to_string(), log_config(c));
    data.insert(START_SCRIPT.to_string(), start_script(c));
    if let Some(id) = &c.cluster_id {
        data.insert(CLUSTER_ID_FILE.to_string(), id.clone());
    }
    for ordinal in 0..c.replicas(role) {
        data.insert(
            properties_file(ordinal),
            server_properties(c, role, ordinal),
        );
    }
    data
}

/// What a running node read at start and shares with the role's other nodes: a change here
/// restarts the role's pods. Per-node files are left out, so adding a broker rolls nobody.
pub fn restart_inputs(c: &KafkaCluster, role: Role) -> String {
    let mut text = String::new();
    for (name, content) in [
        (log_config_file(c), log_config(c)),
        (START_SCRIPT, start_script(c)),
        ("shared", shared_properties(c, role)),
        (CLUSTER_ID_FILE, c.cluster_id.clone().unwrap_or_default()),
    ] {
        text.push_str(name);
        text.push('\0');
        text.push_str(&content);
        text.push('\0');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::Value;

    fn cluster(mode: (&str, Value), config: &[(&str, &str)]) -> KafkaCluster {
        KafkaCluster::from_value(&Value::object([
            ("name", Value::from("events")),
            ("namespace", Value::from("data")),
            ("brokers", Value::int(3)),
            mode,
            ("cluster_id", Value::from("BwcHBwcHBwcHBwcHBwcHBw")),
            (
                "config",
                Value::Map(
                    config
                        .iter()
                        .map(|(k, v)| (k.to_string(), Value::from(*v)))
                        .collect(),
                ),
            ),
        ]))
        .unwrap()
    }

    fn keys(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect()
    }

    #[test]
    fn every_node_file_is_complete_and_unique_per_node() {
        let zk = (
            "zookeeper",
            Value::object([("connect_string", Value::from("zk:2181"))]),
        );
        let kraft = ("kraft", Value::object([("controllers", Value::int(3))]));
        for (mode, roles, id_key) in [
            (zk, vec![Role::Broker], "broker.id"),
            (kraft, vec![Role::Controller, Role::Broker], "node.id"),
        ] {
            let c = cluster(mode, &[("min.insync.replicas", "1")]);
            for role in roles {
                let files: Vec<String> = (0..3).map(|i| server_properties(&c, role, i)).collect();
                for (i, f) in files.iter().enumerate() {
                    let k = keys(f);
                    let mut unique = k.clone();
                    unique.sort_unstable();
                    unique.dedup();
                    assert_eq!(unique.len(), k.len(), "duplicate keys in {f}");
                    assert!(k.contains(&id_key), "{f}");
                    assert!(f.contains(&format!("{id_key}={}\n", c.node_id(role, i as u32))));
                }
                assert_ne!(files[0], files[1]);
            }
            assert!(
                server_properties(&c, Role::Broker, 0).contains("min.insync.replicas=1\n"),
                "the user's value wins"
            );
        }
    }

    #[test]
    fn adding_a_broker_rolls_nobody_but_a_tunable_does() {
        let zk = || {
            (
                "zookeeper",
                Value::object([("connect_string", Value::from("zk:2181"))]),
            )
        };
        let c3 = cluster(zk(), &[]);
        let mut c5 = c3.clone();
        c5.brokers = 5;
        assert_eq!(
            restart_inputs(&c3, Role::Broker),
            restart_inputs(&c5, Role::Broker)
        );
        let tuned = cluster(zk(), &[("num.io.threads", "16")]);
        assert_ne!(
            restart_inputs(&c3, Role::Broker),
            restart_inputs(&tuned, Role::Broker)
        );
    }
}
