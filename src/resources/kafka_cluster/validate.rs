//! Plan-time checks for `zkkafka_kafka_cluster`, each against the attribute path it is
//! attached to (map entries as `config["key"]`), and [`cluster`], the checks across
//! attributes: one metadata mode, the version rules, listeners. Shared Kubernetes checks
//! (namespace, quantities, labels) are in `k8s_common::validate`.

use std::collections::BTreeMap;

use crate::resources::k8s_common::validate::rfc1123_label_problem;
use crate::tfvalue::{AttributePath, Diagnostics, Value};

use super::model::{CONTROLLER_LISTENER, CONTROLLER_PORT, MAX_BROKERS};
use super::version::{known_versions_text, KafkaVersion};

/// The longest StatefulSet name is `<name>-controller`; its pods carry
/// `controller-revision-hash: <statefulset>-<10 chars>`, a label value of at most 63.
pub const MAX_NAME_LEN: usize = 40;

/// server.properties keys the provider sets itself, and why.
pub const OWNED_CONFIG_KEYS: [(&str, &str); 19] = [
    ("broker.id", "each broker's id is its pod ordinal"),
    ("node.id", "each node's id is derived from its pod ordinal"),
    ("listeners", "listeners come from the listeners blocks"),
    (
        "advertised.listeners",
        "each broker advertises its pod's stable DNS name",
    ),
    (
        "listener.security.protocol.map",
        "protocols come from the listeners blocks",
    ),
    (
        "inter.broker.listener.name",
        "brokers talk to each other on the first listener",
    ),
    (
        "security.inter.broker.protocol",
        "brokers talk to each other on the first listener",
    ),
    ("log.dirs", "the log directory is on the node's volume"),
    ("log.dir", "the log directory is on the node's volume"),
    (
        "metadata.log.dir",
        "KRaft metadata is kept in the log directory on the node's volume",
    ),
    (
        "zookeeper.connect",
        "it comes from the zookeeper block (connect string and chroot)",
    ),
    (
        "process.roles",
        "roles come from the kraft block (dedicated controllers)",
    ),
    (
        "controller.quorum.voters",
        "the voters are the controller pods",
    ),
    (
        "controller.quorum.bootstrap.servers",
        "the voters are the controller pods (a static set)",
    ),
    (
        "controller.listener.names",
        "the controllers' listener is CONTROLLER on 9093",
    ),
    ("broker.rack", "it comes from rack_awareness"),
    (
        "cluster.id",
        "the cluster id is generated once and kept in cluster_id",
    ),
    (
        "zookeeper.metadata.migration.enable",
        "migrating to KRaft is not managed by this resource",
    ),
    ("broker.id.generation.enable", "broker ids are pod ordinals"),
];

/// The protocols a listener may use.
pub const PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

pub fn name(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    let problem = rfc1123_label_problem(s, MAX_NAME_LEN).or_else(|| {
        (!s.starts_with(|c: char| c.is_ascii_lowercase()))
            .then(|| "it must start with a letter (Service names are DNS-1035 labels)".to_string())
    });
    if let Some(problem) = problem {
        diags.error_at(
            path.clone(),
            "Invalid cluster name",
            format!(
                "{s:?} cannot prefix the cluster's StatefulSets and Services: {problem}. Use a \
                 name such as \"events\" (lower-case letters, digits and '-', starting with a \
                 letter, at most {MAX_NAME_LEN} characters, so `<name>-controller-<n>` pods fit)."
            ),
        );
    }
}

pub fn version(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    match KafkaVersion::parse(s) {
        Some(version) if version.is_known() => {}
        Some(_) => diags.error_at(
            path.clone(),
            "Unknown Kafka version",
            format!(
                "Kafka {s} is not a release this provider knows ({}). Configuration differs \
                 between releases, so the provider renders only releases it knows. Use one of \
                 those, or a newer provider.",
                known_versions_text()
            ),
        ),
        None => diags.error_at(
            path.clone(),
            "Invalid Kafka version",
            format!("{s:?} is not a Kafka release written as X.Y.Z (e.g. \"3.9.2\" or \"4.1.2\")."),
        ),
    }
}

pub fn brokers(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(n) = v.as_i64() else {
        diags.error_at(
            path.clone(),
            "Invalid brokers",
            "brokers must be a whole number.",
        );
        return;
    };
    if !(1..=MAX_BROKERS).contains(&n) {
        diags.error_at(
            path.clone(),
            "Brokers out of range",
            format!("brokers is {n}; a cluster has 1 to {MAX_BROKERS} brokers."),
        );
    } else if n < 3 {
        diags.warning_at(
            path.clone(),
            "Replication limited",
            format!(
                "With {n} broker(s), topics cannot have 3 replicas, and a broker restart makes \
                 partitions unavailable to producers using acks=all. Use 3 or more brokers for \
                 production."
            ),
        );
    }
}

pub fn controllers(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    match v.as_i64() {
        Some(1) => diags.warning_at(
            path.clone(),
            "No controller fault tolerance",
            "With one controller, the cluster cannot change metadata (create topics, elect \
             leaders) while it restarts. Use 3 controllers for production.",
        ),
        Some(3 | 5) => {}
        other => diags.error_at(
            path.clone(),
            "Invalid controller count",
            format!(
                "kraft.controllers is {}; use 1, 3 or 5 (a majority must stay up, so an even \
                 count adds no tolerance).",
                other.map_or_else(|| "not a whole number".to_string(), |n| n.to_string())
            ),
        ),
    }
}

/// Why `text` is not a ZooKeeper connect string (`host:port[,host:port]`), or `None`.
fn connect_string_problem(text: &str) -> Option<String> {
    if text.contains('/') {
        return Some("it contains '/': set the chroot in chroot, not in the connect string".into());
    }
    for server in text.split(',') {
        let Some((host, port)) = server.rsplit_once(':') else {
            return Some(format!("{server:?} has no port"));
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace()) {
            return Some(format!("{server:?} has no host name"));
        }
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Some(format!("{server:?} has no valid port"));
        }
    }
    None
}

pub fn connect_string(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    if let Some(problem) = connect_string_problem(s) {
        diags.error_at(
            path.clone(),
            "Invalid ZooKeeper connect string",
            format!("{s:?} is not host:port[,host:port...]: {problem}."),
        );
    }
}

pub fn chroot(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    let ok = s.len() > 1
        && s.starts_with('/')
        && !s.ends_with('/')
        && s[1..].split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if !ok {
        diags.error_at(
            path.clone(),
            "Invalid chroot",
            format!(
                "{s:?} is not a znode path below the root such as \"/events\" or \
                 \"/kafka/events\" (letters, digits, '-', '_', '.'; no trailing '/')."
            ),
        );
    }
}

pub fn listener_name(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    let ok = !s.is_empty()
        && s.len() <= 15
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        diags.error_at(
            path.clone(),
            "Invalid listener name",
            format!(
                "{s:?}: a listener name is 1 to 15 upper-case letters, digits and '_', \
                 starting with a letter (it also names the container port), e.g. \"INTERNAL\"."
            ),
        );
    } else if s == CONTROLLER_LISTENER {
        diags.error_at(
            path.clone(),
            "Reserved listener name",
            "CONTROLLER is the KRaft controllers' listener, which the provider owns. Name the \
             listener differently.",
        );
    }
}

pub fn listener_port(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    match v.as_i64() {
        Some(p) if p == i64::from(CONTROLLER_PORT) => diags.error_at(
            path.clone(),
            "Reserved port",
            "Port 9093 is the KRaft controllers' listener. Use another port.",
        ),
        Some(1024..=65535) => {}
        _ => diags.error_at(
            path.clone(),
            "Invalid listener port",
            "A listener port is a whole number from 1024 to 65535 (the pods do not run as root).",
        ),
    }
}

pub fn listener_protocol(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    if !PROTOCOLS.contains(&s) {
        diags.error_at(
            path.clone(),
            "Invalid listener protocol",
            format!("{s:?}: use one of {}.", PROTOCOLS.join(", ")),
        );
    }
}

/// Why `key` cannot be a server.properties key the user sets, or `None`.
pub fn config_key_problem(key: &str) -> Option<String> {
    if let Some((_, why)) = OWNED_CONFIG_KEYS.iter().find(|(k, _)| *k == key) {
        return Some(format!("the provider sets {key} itself: {why}"));
    }
    if key.starts_with("listener.name.controller.") {
        return Some("the controllers' listener is the provider's".into());
    }
    if key.is_empty()
        || key
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '=' | ':' | '#' | '!'))
    {
        return Some("it is not a server.properties key (no spaces, '=', ':', '#' or '!')".into());
    }
    None
}

pub fn config(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    for (key, value) in v.as_entries().into_iter().flatten() {
        let p = path.then_key(key);
        if let Some(problem) = config_key_problem(key) {
            diags.error_at(
                p.clone(),
                "server.properties key not allowed",
                format!("config[{key:?}] cannot be set: {problem}. Remove it from config."),
            );
        }
        if value.as_str().is_some_and(|s| s.contains(['\n', '\r'])) {
            diags.error_at(
                p,
                "Invalid server.properties value",
                format!("config[{key:?}] contains a line break; values are one line."),
            );
        }
    }
}

/// Checks across attributes (the per-attribute validators have run separately).
pub fn cluster(config: &Value, diags: &mut Diagnostics) {
    let (zk, kraft) = (config.attr("zookeeper"), config.attr("kraft"));
    if zk.is_null() && kraft.is_null() {
        diags.error_at(
            AttributePath::root(),
            "Metadata mode missing",
            "Add exactly one of zookeeper { connect_string = ... } (Kafka 3.x) or \
             kraft { controllers = 3 }.",
        );
    }
    if !zk.is_null() && !kraft.is_null() {
        diags.error_at(
            AttributePath::attr("kraft"),
            "Conflicting metadata modes",
            "A cluster keeps its metadata either in ZooKeeper or in KRaft controllers: remove \
             the zookeeper block or the kraft block.",
        );
    }
    let version = config.attr("version");
    if !config.attr("image").is_null() && version.is_null() {
        diags.error_at(
            AttributePath::attr("version"),
            "Version needed with a custom image",
            "Set version to the Kafka release inside the image: the rendered configuration and \
             the plan-time rules (ZooKeeper mode, metadata versions) depend on it.",
        );
    }
    let parsed = version.as_str().and_then(KafkaVersion::parse);
    if let Some(v) = parsed.filter(|v| !zk.is_null() && !v.supports_zookeeper_mode()) {
        diags.error_at(
            AttributePath::attr("zookeeper"),
            "ZooKeeper mode is not available in Kafka 4",
            format!(
                "Kafka {v} runs only in KRaft mode: Kafka 4.0 removed ZooKeeper mode \
                 (KIP-833). Replace the zookeeper block with kraft {{ controllers = 3 }} for a \
                 new cluster, or keep version = \"3.9.2\" (the last line with ZooKeeper mode) \
                 and migrate to KRaft on 3.9 before upgrading."
            ),
        );
    }
    check_listeners(config.attr("listeners"), diags);
}

fn check_listeners(listeners: &Value, diags: &mut Diagnostics) {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ports: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, l) in listeners.as_elements().unwrap_or(&[]).iter().enumerate() {
        let path = AttributePath::attr("listeners").then_index(i);
        if let Some(name) = l.attr("name").as_str() {
            if let Some(first) = names.insert(name, i) {
                diags.error_at(
                    path.then_attr("name"),
                    "Duplicate listener name",
                    format!("listeners[{first}] is also called {name}; names must be unique."),
                );
            }
        }
        if let Some(port) = l.attr("port").as_i64() {
            if let Some(first) = ports.insert(port, i) {
                diags.error_at(
                    path.then_attr("port"),
                    "Duplicate listener port",
                    format!("listeners[{first}] also uses port {port}; ports must be unique."),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::Severity;

    fn run(f: fn(&AttributePath, &Value, &mut Diagnostics), v: Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        f(&AttributePath::attr("x"), &v, &mut d);
        d
    }

    #[test]
    fn versions() {
        let cases = [
            ("known 3.9", "3.9.2", None),
            ("known 4.0", "4.0.0", None),
            ("unknown patch", "3.9.9", Some("Unknown Kafka version")),
            ("unknown line", "2.8.2", Some("Unknown Kafka version")),
            ("not a version", "latest", Some("Invalid Kafka version")),
        ];
        for (case, s, want) in cases {
            let d = run(version, Value::from(s));
            assert_eq!(d.0.first().map(|d| d.summary.as_str()), want, "case {case}");
        }
    }

    #[test]
    fn owned_config_keys_are_rejected_with_their_path() {
        let cfg = Value::Map(
            [
                ("log.retention.hours", "72"),
                ("broker.id", "7"),
                ("advertised.listeners", "X://y:1"),
                ("inter.broker.listener.name", "X"),
                ("listener.name.controller.ssl.keystore.location", "/k"),
                ("num.io.threads", "8\nbroker.id=1"),
                ("bad key", "1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect(),
        );
        let d = run(config, cfg);
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(d.0.len(), 6, "{paths:?}");
        for key in [
            "broker.id",
            "advertised.listeners",
            "inter.broker.listener.name",
            "num.io.threads",
        ] {
            let want = AttributePath::attr("x").then_key(key);
            assert!(
                d.iter().any(|x| x.attribute.as_ref() == Some(&want)),
                "{key}"
            );
        }
    }

    #[test]
    fn counts() {
        let count = |d: &Diagnostics, s: Severity| d.iter().filter(|x| x.severity == s).count();
        for (n, errors, warnings) in [(1, 0, 1), (3, 0, 0), (0, 1, 0), (1000, 1, 0)] {
            let d = run(brokers, Value::int(n));
            assert_eq!(
                (count(&d, Severity::Error), count(&d, Severity::Warning)),
                (errors, warnings),
                "brokers {n}"
            );
        }
        for (n, errors, warnings) in [(1, 0, 1), (3, 0, 0), (5, 0, 0), (2, 1, 0), (7, 1, 0)] {
            let d = run(controllers, Value::int(n));
            assert_eq!(
                (count(&d, Severity::Error), count(&d, Severity::Warning)),
                (errors, warnings),
                "controllers {n}"
            );
        }
    }

    #[test]
    fn connection_and_listeners() {
        for (s, ok) in [
            ("zk-client.data.svc.cluster.local:2181", true),
            ("a:2181,b:2181", true),
            ("a:2181/kafka", false),
            ("a", false),
            (":2181", false),
            ("a:0", false),
        ] {
            assert_eq!(!run(connect_string, Value::from(s)).has_errors(), ok, "{s}");
        }
        for (s, ok) in [
            ("/events", true),
            ("/kafka/events", true),
            ("/", false),
            ("events", false),
            ("/a/", false),
            ("/a/../b", false),
        ] {
            assert_eq!(!run(chroot, Value::from(s)).has_errors(), ok, "{s}");
        }
        for (s, ok) in [
            ("INTERNAL", true),
            ("EXT_1", true),
            ("internal", false),
            ("CONTROLLER", false),
            ("1X", false),
        ] {
            assert_eq!(!run(listener_name, Value::from(s)).has_errors(), ok, "{s}");
        }
        for (p, ok) in [(9092, true), (9093, false), (80, false), (70000, false)] {
            assert_eq!(!run(listener_port, Value::int(p)).has_errors(), ok, "{p}");
        }
    }

    fn cfg(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    #[test]
    fn cross_attribute_rules() {
        let zk = Value::object([("connect_string", Value::from("zk:2181"))]);
        let kraft = Value::object([("controllers", Value::int(3))]);
        type Case<'a> = (&'a str, Value, Option<(&'a str, AttributePath)>);
        let cases: Vec<Case<'_>> = vec![
            (
                "zookeeper on 3.9",
                cfg(vec![
                    ("zookeeper", zk.clone()),
                    ("version", Value::from("3.9.2")),
                ]),
                None,
            ),
            (
                "zookeeper on 4.0",
                cfg(vec![
                    ("zookeeper", zk.clone()),
                    ("version", Value::from("4.0.0")),
                ]),
                Some((
                    "ZooKeeper mode is not available in Kafka 4",
                    AttributePath::attr("zookeeper"),
                )),
            ),
            (
                "kraft on 4.1",
                cfg(vec![
                    ("kraft", kraft.clone()),
                    ("version", Value::from("4.1.2")),
                ]),
                None,
            ),
            (
                "both modes",
                cfg(vec![("kraft", kraft.clone()), ("zookeeper", zk.clone())]),
                Some(("Conflicting metadata modes", AttributePath::attr("kraft"))),
            ),
            (
                "no mode",
                cfg(vec![]),
                Some(("Metadata mode missing", AttributePath::root())),
            ),
            (
                "image without version",
                cfg(vec![
                    ("kraft", kraft.clone()),
                    ("image", Value::from("r/k:1")),
                ]),
                Some((
                    "Version needed with a custom image",
                    AttributePath::attr("version"),
                )),
            ),
            (
                "duplicate port",
                cfg(vec![
                    ("kraft", kraft.clone()),
                    (
                        "listeners",
                        Value::List(vec![
                            Value::object([("name", Value::from("A")), ("port", Value::int(9092))]),
                            Value::object([("name", Value::from("B")), ("port", Value::int(9092))]),
                        ]),
                    ),
                ]),
                Some((
                    "Duplicate listener port",
                    AttributePath::attr("listeners")
                        .then_index(1)
                        .then_attr("port"),
                )),
            ),
        ];
        for (case, config, want) in cases {
            let mut d = Diagnostics::new();
            cluster(&config, &mut d);
            let got = d.0.first().map(|x| {
                (
                    x.summary.as_str(),
                    x.attribute.clone().unwrap_or_else(AttributePath::root),
                )
            });
            assert_eq!(got, want, "case {case}: {d:?}");
        }
        let mut d = Diagnostics::new();
        cluster(
            &cfg(vec![("zookeeper", zk), ("version", Value::from("4.0.0"))]),
            &mut d,
        );
        let detail = &d.0[0].detail;
        assert!(
            detail.contains("removed ZooKeeper mode")
                && detail.contains("kraft")
                && detail.contains("3.9"),
            "{detail}"
        );
    }
}
