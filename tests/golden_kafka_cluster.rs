//! Golden files for the rendered objects of `zkkafka_kafka_cluster`, compared byte for byte.
//! After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test --test
//! golden_kafka_cluster` and review the diff like code.
//!
//! Each case writes `<case>.json` (every object, in apply order, and the `kubernetes_objects`
//! digests) and, for review, each node's server.properties and the start script as text.

use std::path::PathBuf;

use serde_json::json;
use zkkafka::resources::k8s_common::objects::digests;
use zkkafka::resources::kafka_cluster::render::{config_map, render};
use zkkafka::resources::kafka_cluster::{KafkaCluster, Role};
use zkkafka::tfvalue::Value;

/// A fixed cluster id: the real one is generated once per cluster and kept in state.
const CLUSTER_ID: &str = "zkKafkaGoldenTestId0Aw";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/kafka_cluster")
}

fn map(pairs: &[(&str, &str)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect(),
    )
}

fn cluster(extra: Vec<(&str, Value)>) -> KafkaCluster {
    let mut attrs = vec![
        ("name", Value::from("events")),
        ("namespace", Value::from("data")),
        ("brokers", Value::int(3)),
        ("cluster_id", Value::from(CLUSTER_ID)),
    ];
    attrs.extend(extra);
    KafkaCluster::from_value(&Value::object(attrs)).expect("a valid model")
}

fn zookeeper(chroot: Option<&str>) -> (&'static str, Value) {
    let mut block = vec![(
        "connect_string",
        Value::from("zk-client.data.svc.cluster.local:2181"),
    )];
    if let Some(c) = chroot {
        block.push(("chroot", Value::from(c)));
    }
    ("zookeeper", Value::object(block))
}

fn kraft(controllers: i64) -> (&'static str, Value) {
    (
        "kraft",
        Value::object([("controllers", Value::int(controllers))]),
    )
}

fn cases() -> Vec<(&'static str, KafkaCluster)> {
    vec![
        ("zookeeper-3", cluster(vec![zookeeper(Some("/events"))])),
        ("kraft-3-3", cluster(vec![kraft(3)])),
        (
            "kraft-3.9-overrides",
            cluster(vec![
                kraft(1),
                ("version", Value::from("3.9.2")),
                ("brokers", Value::int(4)),
                (
                    "listeners",
                    Value::List(vec![
                        Value::object([
                            ("name", Value::from("INTERNAL")),
                            ("port", Value::int(9092)),
                        ]),
                        Value::object([
                            ("name", Value::from("CLIENTS_TLS")),
                            ("port", Value::int(9094)),
                            ("protocol", Value::from("SSL")),
                        ]),
                    ]),
                ),
                (
                    "config",
                    map(&[
                        ("log.retention.hours", "72"),
                        ("min.insync.replicas", "3"),
                        ("ssl.keystore.location", "/tls/keystore.p12"),
                    ]),
                ),
                ("jvm_heap", Value::from("2g")),
                ("rack_awareness", Value::Bool(true)),
                ("labels", map(&[("team", "data")])),
                (
                    "annotations",
                    map(&[("example.com/owner", "platform team")]),
                ),
                ("node_selector", map(&[("kubernetes.io/arch", "amd64")])),
                ("anti_affinity", Value::from("preferred")),
                (
                    "storage",
                    Value::object([
                        ("size", Value::from("500Gi")),
                        ("class", Value::from("fast-ssd")),
                    ]),
                ),
                (
                    "resources",
                    Value::object([
                        ("requests", map(&[("cpu", "2"), ("memory", "8Gi")])),
                        ("limits", map(&[("memory", "8Gi")])),
                    ]),
                ),
                (
                    "tolerations",
                    Value::List(vec![Value::object([
                        ("key", Value::from("dedicated")),
                        ("operator", Value::from("Equal")),
                        ("value", Value::from("kafka")),
                        ("effect", Value::from("NoSchedule")),
                    ])]),
                ),
            ]),
        ),
    ]
}

/// The files of one case: name and exact content.
fn rendered_files(name: &str, c: &KafkaCluster) -> Vec<(String, String)> {
    let objects = render(c);
    let doc = json!({
        "kubernetes_objects": digests(&objects),
        "objects": objects.iter().map(|o| o.object.clone()).collect::<Vec<_>>(),
    });
    let mut json_text = serde_json::to_string_pretty(&doc).expect("serialisable");
    json_text.push('\n');
    let mut out = vec![(format!("{name}.json"), json_text)];
    for role in c.roles() {
        let cm = config_map(c, role).object;
        for (key, value) in cm["data"].as_object().expect("data") {
            if key.starts_with("server-") || key == "start.sh" && role == Role::Broker {
                out.push((
                    format!("{name}.{}.{key}", role.as_str()),
                    value.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn rendered_objects_match_golden_files() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let dir = golden_dir();
    let mut mismatches = Vec::new();
    for (name, c) in cases() {
        assert_eq!(
            rendered_files(name, &c),
            rendered_files(name, &c),
            "{name} is not deterministic"
        );
        for (file, content) in rendered_files(name, &c) {
            let path = dir.join(&file);
            if update {
                std::fs::create_dir_all(&dir).expect("create golden dir");
                std::fs::write(&path, &content).expect("write golden file");
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(want) if want == content => {}
                Ok(_) => mismatches.push(format!("{file} differs")),
                Err(e) => mismatches.push(format!("{file}: {e}")),
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "rendered output differs from tests/golden/kafka_cluster ({}). If the change is \
         intended, run UPDATE_GOLDEN=1 cargo test --test golden_kafka_cluster and review the diff.",
        mismatches.join("; ")
    );
}
