//! Plan-time checks for `zkkafka_zookeeper_ensemble`, each reporting against the attribute
//! path it is attached to (map entries as `config["key"]`). Pure string checks: Kubernetes
//! names (RFC 1123, with the lengths StatefulSets need), quantities, zoo.cfg keys.

use crate::tfvalue::{AttributePath, Diagnostics, Value};

pub use crate::resources::k8s_common::validate::*;

/// StatefulSet pods carry `controller-revision-hash: <name>-<10 chars>`, a label value of at
/// most 63 characters: so the name is at most 52. (`<name>-headless`, a Service name, fits too.)
pub const MAX_NAME_LEN: usize = 52;
/// zoo.cfg keys the provider sets itself, and why. Also every key starting with one of
/// [`OWNED_CONFIG_PREFIXES`].
pub const OWNED_CONFIG_KEYS: [(&str, &str); 14] = [
    ("dataDir", "the data directory is on the member's volume"),
    (
        "dataLogDir",
        "the transaction log is on the member's volume",
    ),
    (
        "dynamicConfigFile",
        "membership lives in the dynamic configuration the provider seeds and ZooKeeper maintains",
    ),
    ("clientPort", "the client port is 2181, in the server lines"),
    (
        "clientPortAddress",
        "the client address is in the server lines",
    ),
    (
        "secureClientPort",
        "TLS for clients is not managed by this resource yet",
    ),
    (
        "secureClientPortAddress",
        "TLS for clients is not managed by this resource yet",
    ),
    (
        "reconfigEnabled",
        "scaling one member at a time needs dynamic reconfiguration",
    ),
    (
        "standaloneEnabled",
        "a one-member ensemble must stay able to grow through reconfiguration",
    ),
    (
        "skipACL",
        "skipping ACL checks would make every znode ACL meaningless",
    ),
    (
        "quorumListenOnAllIPs",
        "members must accept quorum connections before their DNS record exists",
    ),
    (
        "4lw.commands.whitelist",
        "the probes and the provider need ruok, srvr and mntr",
    ),
    ("admin.serverPort", "the admin server port is fixed at 8080"),
    (
        "admin.serverAddress",
        "the admin server listens on all addresses of the pod",
    ),
];

/// Prefixes of zoo.cfg keys that describe membership, which the provider owns.
pub const OWNED_CONFIG_PREFIXES: [&str; 3] = ["server.", "group.", "weight."];

pub fn name(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    let problem = rfc1123_label_problem(s, MAX_NAME_LEN).or_else(|| {
        (!s.starts_with(|c: char| c.is_ascii_lowercase()))
            .then(|| "it must start with a letter (Service names are DNS-1035 labels)".to_string())
    });
    if let Some(problem) = problem {
        diags.error_at(
            path.clone(),
            "Invalid ensemble name",
            format!(
                "{s:?} cannot name a StatefulSet and its Services: {problem}. Use a name such as \
                 \"zk\" or \"events-zk\" (lower-case letters, digits and '-', starting with a \
                 letter, at most {MAX_NAME_LEN} characters, so pod names and Service names fit)."
            ),
        );
    }
}

pub fn replicas(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(n) = v.as_i64() else {
        if !v.is_null() {
            diags.error_at(
                path.clone(),
                "Invalid replicas",
                "replicas must be a whole number.",
            );
        }
        return;
    };
    if !(1..=9).contains(&n) {
        diags.error_at(
            path.clone(),
            "Replicas out of range",
            format!("replicas is {n}; an ensemble has 1, 3, 5, 7 or 9 members."),
        );
    } else if n % 2 == 0 {
        diags.error_at(
            path.clone(),
            "Even number of replicas",
            format!(
                "replicas is {n}. An even ensemble tolerates no more failures than the odd one \
                 below it ({} tolerates {}), yet needs a larger quorum. Use {} or {}.",
                n,
                (n - 1) / 2,
                n - 1,
                n + 1
            ),
        );
    } else if n == 1 {
        diags.warning_at(
            path.clone(),
            "No fault tolerance",
            "A one-member ensemble stops serving whenever its only server restarts. Use 3 or \
             more members for production; it can grow later, one member at a time.",
        );
    }
}

pub fn version(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    let parts: Vec<Option<u32>> = s.split('.').map(|p| p.parse().ok()).collect();
    let ok = match parts.as_slice() {
        [Some(major), Some(minor), Some(_)] => (*major, *minor) >= (3, 5),
        _ => false,
    };
    if !ok {
        diags.error_at(
            path.clone(),
            "Unsupported ZooKeeper version",
            format!(
                "{s:?} is not a ZooKeeper release of 3.5 or later written as X.Y.Z (e.g. \
                 \"3.9.3\"). Dynamic reconfiguration, which scaling relies on, needs 3.5+."
            ),
        );
    }
}

/// Why `key` cannot be a zoo.cfg key the user sets, or `None`.
pub fn config_key_problem(key: &str) -> Option<String> {
    if let Some((_, why)) = OWNED_CONFIG_KEYS.iter().find(|(k, _)| *k == key) {
        return Some(format!("the provider sets {key} itself: {why}"));
    }
    if let Some(prefix) = OWNED_CONFIG_PREFIXES.iter().find(|p| key.starts_with(*p)) {
        return Some(format!(
            "{prefix}* keys describe membership, which the provider manages from replicas"
        ));
    }
    if key.is_empty()
        || key
            .chars()
            .any(|c| c.is_whitespace() || c == '=' || c == '#' || c == ':')
    {
        return Some("it is not a zoo.cfg key (no spaces, '=', ':' or '#')".to_string());
    }
    None
}

pub fn config(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    for (key, value) in v.as_entries().into_iter().flatten() {
        let p = path.then_key(key);
        if let Some(problem) = config_key_problem(key) {
            diags.error_at(
                p.clone(),
                "zoo.cfg key not allowed",
                format!("config[{key:?}] cannot be set: {problem}. Remove it from config."),
            );
        }
        if value.as_str().is_some_and(|s| s.contains(['\n', '\r'])) {
            diags.error_at(
                p,
                "Invalid zoo.cfg value",
                format!("config[{key:?}] contains a line break; zoo.cfg values are one line."),
            );
        }
    }
}

/// Checks across attributes (the per-attribute validators have run separately).
pub fn ensemble(config: &Value, diags: &mut Diagnostics) {
    if !config.attr("version").is_null() && !config.attr("image").is_null() {
        diags.error_at(
            AttributePath::attr("image"),
            "Conflicting attributes",
            "Set version (the official image at that version) or image, not both.",
        );
    }
    for (i, t) in config
        .attr("tolerations")
        .as_elements()
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        if t.attr("operator").as_str() == Some("Exists")
            && t.attr("value").as_str().is_some_and(|v| !v.is_empty())
        {
            diags.error_at(
                AttributePath::attr("tolerations")
                    .then_index(i)
                    .then_attr("value"),
                "Invalid toleration",
                "A toleration with operator \"Exists\" matches any value; remove value.",
            );
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

    fn map(pairs: &[(&str, &str)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect(),
        )
    }

    #[test]
    fn names() {
        let long = "a".repeat(MAX_NAME_LEN);
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        let cases: &[(&str, &str, bool)] = &[
            ("simple", "zk", true),
            ("digits and dashes", "events-zk-2", true),
            ("at the limit", &long, true),
            ("too long for pod hashes", &too_long, false),
            ("upper case", "Zk", false),
            ("underscore", "zk_a", false),
            ("leading digit", "1zk", false),
            ("trailing dash", "zk-", false),
            ("empty", "", false),
            ("dot", "zk.a", false),
        ];
        for (case, s, ok) in cases {
            let d = run(name, Value::from(*s));
            assert_eq!(!d.has_errors(), *ok, "case {case}: {d:?}");
        }
    }

    #[test]
    fn replica_counts() {
        for (n, errors, warnings) in [
            (1, 0, 1),
            (3, 0, 0),
            (9, 0, 0),
            (2, 1, 0),
            (4, 1, 0),
            (0, 1, 0),
            (11, 1, 0),
        ] {
            let d = run(replicas, Value::int(n));
            let count = |s: Severity| d.iter().filter(|x| x.severity == s).count();
            assert_eq!(
                (count(Severity::Error), count(Severity::Warning)),
                (errors, warnings),
                "replicas {n}"
            );
        }
        let d = run(replicas, Value::int(4));
        assert_eq!(d.0[0].summary, "Even number of replicas");
        assert_eq!(d.0[0].attribute, Some(AttributePath::attr("x")));
    }

    #[test]
    fn config_keys() {
        let d = run(
            config,
            map(&[
                ("maxClientCnxns", "120"),
                ("server.1", "x"),
                ("dataDir", "/tmp"),
                ("skipACL", "yes"),
                ("tickTime", "2000"),
                ("bad key", "1"),
                ("syncLimit", "5\nskipACL=yes"),
            ]),
        );
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(d.0.len(), 5, "{paths:?}");
        for key in ["server.1", "dataDir", "skipACL", "bad key", "syncLimit"] {
            let want = AttributePath::attr("x").then_key(key);
            assert!(
                d.iter().any(|x| x.attribute.as_ref() == Some(&want)),
                "{key} in {paths:?}"
            );
        }
    }

    #[test]
    fn versions() {
        for (v, ok) in [
            ("3.9.3", true),
            ("3.5.0", true),
            ("3.4.14", false),
            ("3.9", false),
            ("latest", false),
        ] {
            assert_eq!(!run(version, Value::from(v)).has_errors(), ok, "{v}");
        }
    }
}
