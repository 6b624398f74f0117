//! Golden files for the rendered objects of `zkkafka_zookeeper_ensemble`, compared byte for
//! byte. After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test --test
//! golden_ensemble` and review the diff like code.
//!
//! Each case writes `<case>.json` (every object, in apply order, and the `kubernetes_objects`
//! digests) and, for easy review, the ConfigMap's `zoo.cfg` and seed membership as text.

use std::path::PathBuf;

use serde_json::json;
use zkkafka::resources::zookeeper_ensemble::render::{digests, render};
use zkkafka::resources::zookeeper_ensemble::Ensemble;
use zkkafka::tfvalue::Value;

/// A fixed password: the real one is generated once per ensemble and kept in state.
const PASSWORD: &str = "golden-test-password";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/zookeeper_ensemble")
}

fn map(pairs: &[(&str, &str)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect(),
    )
}

fn ensemble(replicas: i64, extra: Vec<(&str, Value)>) -> Ensemble {
    let mut attrs = vec![
        ("name", Value::from("zk")),
        ("namespace", Value::from("data")),
        ("replicas", Value::int(replicas)),
    ];
    attrs.extend(extra);
    Ensemble::from_value(&Value::object(attrs)).expect("a valid model")
}

fn cases() -> Vec<(&'static str, Ensemble)> {
    vec![
        ("replicas-1", ensemble(1, vec![])),
        ("replicas-3", ensemble(3, vec![])),
        (
            "replicas-5",
            ensemble(5, vec![("version", Value::from("3.8.4"))]),
        ),
        (
            "config-overrides",
            ensemble(
                3,
                vec![
                    (
                        "config",
                        map(&[
                            ("maxClientCnxns", "120"),
                            ("tickTime", "3000"),
                            ("admin.enableServer", "true"),
                            ("snapCount", "50000"),
                        ]),
                    ),
                    ("jvm_heap", Value::from("1g")),
                    (
                        "labels",
                        map(&[("team", "data"), ("example.com/tier", "gold")]),
                    ),
                    (
                        "annotations",
                        map(&[("example.com/owner", "platform team")]),
                    ),
                    ("node_selector", map(&[("kubernetes.io/arch", "amd64")])),
                    ("anti_affinity", Value::from("preferred")),
                    (
                        "storage",
                        Value::object([
                            ("size", Value::from("50Gi")),
                            ("class", Value::from("fast-ssd")),
                        ]),
                    ),
                    (
                        "resources",
                        Value::object([
                            ("requests", map(&[("cpu", "500m"), ("memory", "2Gi")])),
                            ("limits", map(&[("memory", "2Gi")])),
                        ]),
                    ),
                    (
                        "tolerations",
                        Value::List(vec![Value::object([
                            ("key", Value::from("dedicated")),
                            ("operator", Value::from("Equal")),
                            ("value", Value::from("zookeeper")),
                            ("effect", Value::from("NoSchedule")),
                        ])]),
                    ),
                ],
            ),
        ),
        (
            "custom-image",
            ensemble(
                3,
                vec![
                    (
                        "image",
                        Value::from("registry.example/zookeeper:3.9.3-patched"),
                    ),
                    ("anti_affinity", Value::from("none")),
                ],
            ),
        ),
    ]
}

/// The files of one case: name and exact content.
fn rendered_files(name: &str, e: &Ensemble) -> Vec<(String, String)> {
    let objects = render(e, PASSWORD);
    let doc = json!({
        "kubernetes_objects": digests(&objects),
        "objects": objects.iter().map(|o| o.object.clone()).collect::<Vec<_>>(),
    });
    let mut json_text = serde_json::to_string_pretty(&doc).expect("serialisable");
    json_text.push('\n');
    let config_map = &objects[0].object["data"];
    let text = |key: &str| config_map[key].as_str().unwrap_or_default().to_string();
    vec![
        (format!("{name}.json"), json_text),
        (format!("{name}.zoo.cfg"), text("zoo.cfg")),
        (format!("{name}.zoo.cfg.dynamic"), text("zoo.cfg.dynamic")),
    ]
}

#[test]
fn rendered_objects_match_golden_files() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let dir = golden_dir();
    let mut mismatches = Vec::new();
    for (name, e) in cases() {
        // Rendering twice gives the same bytes.
        assert_eq!(
            rendered_files(name, &e),
            rendered_files(name, &e),
            "{name} is not deterministic"
        );
        for (file, content) in rendered_files(name, &e) {
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
        "rendered output differs from tests/golden/zookeeper_ensemble ({}). If the change is \
         intended, run UPDATE_GOLDEN=1 cargo test --test golden_ensemble and review the diff.",
        mismatches.join("; ")
    );
}

#[test]
fn the_start_script_is_the_same_for_every_case() {
    // Pods roll when the script changes; it must not depend on membership or tunables.
    let scripts: Vec<String> = cases()
        .iter()
        .map(|(_, e)| render(e, PASSWORD)[0].object["data"]["start.sh"].to_string())
        .collect();
    assert!(scripts.windows(2).all(|w| w[0] == w[1]));
}
