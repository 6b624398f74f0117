//! Pure comparison of live objects with rendered ones: drift without false alarms.
//!
//! Start at [`project`]: it reads from a live object exactly the fields the rendered object
//! sets (the fields our field manager owns), so whatever the API server adds (status,
//! defaults, `managedFields`, timestamps) is never compared. Values the server normalises are
//! compared semantically: a resource quantity `1000m` equals `1`, `1Gi` equals `1073741824`.
//! When a live value means the same as the rendered one, the projection takes the rendered
//! value, so the digest of an untouched object is exactly the digest in state.
//! [`changed_fields`] names what differs, for plan warnings.

use serde_json::{Map, Value as Json};

pub use crate::resources::k8s_common::quantity::quantity_value;

/// The live object's values at the rendered object's field paths. A field missing from the
/// live object is `null` (so it differs); a list of another length is taken whole.
pub fn project(rendered: &Json, live: &Json) -> Json {
    project_at(rendered, live, false)
}

fn project_at(rendered: &Json, live: &Json, quantities: bool) -> Json {
    match (rendered, live) {
        (Json::Object(r), Json::Object(l)) => {
            let mut out = Map::new();
            for (k, rv) in r {
                let lv = l.get(k).unwrap_or(&Json::Null);
                let q = quantities || is_quantity_map(k);
                out.insert(k.clone(), project_at(rv, lv, q));
            }
            Json::Object(out)
        }
        (Json::Array(r), Json::Array(l)) if r.len() == l.len() => Json::Array(
            r.iter()
                .zip(l)
                .map(|(rv, lv)| project_at(rv, lv, quantities))
                .collect(),
        ),
        (Json::String(r), Json::String(l)) if quantities && same_quantity(r, l) => rendered.clone(),
        (Json::Number(r), Json::Number(l)) if r.as_f64() == l.as_f64() => rendered.clone(),
        // Quantities may come back as numbers in some clients' output; compare them too.
        (Json::String(r), Json::Number(l)) if quantities && same_quantity(r, &l.to_string()) => {
            rendered.clone()
        }
        _ => live.clone(),
    }
}

/// Keys under which values are Kubernetes quantities (container resources, claim sizes).
fn is_quantity_map(key: &str) -> bool {
    matches!(key, "requests" | "limits")
}

/// Two quantity strings with the same value (`500m` and `0.5`, `1Gi` and `1024Mi`).
pub fn same_quantity(a: &str, b: &str) -> bool {
    a == b
        || matches!((quantity_value(a), quantity_value(b)),
            (Some(x), Some(y)) if (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()) * 4.0)
}

/// Dotted paths (`spec.replicas`, `spec.template.spec.containers[0].image`, `data.zoo.cfg`)
/// where `before` and `after` differ, deepest first found, at most `limit` of them.
pub fn changed_fields(before: &Json, after: &Json, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    diff_at("", before, after, &mut out, limit);
    out
}

fn diff_at(path: &str, before: &Json, after: &Json, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || before == after {
        return;
    }
    match (before, after) {
        (Json::Object(b), Json::Object(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_at(
                    &child,
                    b.get(k).unwrap_or(&Json::Null),
                    a.get(k).unwrap_or(&Json::Null),
                    out,
                    limit,
                );
            }
        }
        (Json::Array(b), Json::Array(a)) if b.len() == a.len() => {
            for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                diff_at(&format!("{path}[{i}]"), bv, av, out, limit);
            }
        }
        _ => out.push(if path.is_empty() {
            "(whole object)".into()
        } else {
            path.into()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_ignores_server_fields_and_normalisation() {
        let rendered = json!({
            "kind": "StatefulSet",
            "metadata": { "name": "zk", "labels": { "a": "b" } },
            "spec": { "replicas": 3, "template": { "spec": { "containers": [
                { "image": "zk:1", "resources": { "limits": { "cpu": "1", "memory": "1Gi" } } }
            ] } } }
        });
        let live = json!({
            "kind": "StatefulSet",
            "metadata": { "name": "zk", "labels": { "a": "b" }, "uid": "x", "managedFields": [] },
            "spec": { "replicas": 3, "revisionHistoryLimit": 10, "template": { "spec": { "containers": [
                { "image": "zk:1", "terminationMessagePath": "/dev/termination-log",
                  "resources": { "limits": { "cpu": "1000m", "memory": "1024Mi" } } }
            ] } } },
            "status": { "replicas": 0 }
        });
        assert_eq!(project(&rendered, &live), rendered);
    }

    #[test]
    fn projection_shows_drift() {
        let rendered =
            json!({ "spec": { "replicas": 3, "ports": [{ "port": 1 }] }, "data": { "k": "v" } });
        let cases = [
            (
                "replicas",
                json!({ "spec": { "replicas": 5, "ports": [{ "port": 1 }] }, "data": { "k": "v" } }),
                "spec.replicas",
            ),
            (
                "data",
                json!({ "spec": { "replicas": 3, "ports": [{ "port": 1 }] }, "data": { "k": "w" } }),
                "data.k",
            ),
            (
                "missing key",
                json!({ "spec": { "replicas": 3, "ports": [{ "port": 1 }] }, "data": {} }),
                "data.k",
            ),
            (
                "extra list item",
                json!({ "spec": { "replicas": 3, "ports": [{ "port": 1 }, { "port": 2 }] }, "data": { "k": "v" } }),
                "spec.ports",
            ),
        ];
        for (name, live, field) in cases {
            let p = project(&rendered, &live);
            assert_ne!(p, rendered, "{name}");
            assert_eq!(changed_fields(&rendered, &p, 5), [field], "{name}");
        }
    }

    #[test]
    fn quantities() {
        for (a, b, same) in [
            ("1", "1000m", true),
            ("500m", "0.5", true),
            ("1Gi", "1024Mi", true),
            ("1Gi", "1073741824", true),
            ("10Gi", "10G", false),
            ("2", "1", false),
            ("1e3", "1k", true),
        ] {
            assert_eq!(same_quantity(a, b), same, "{a} vs {b}");
        }
        assert_eq!(quantity_value("abc"), None);
    }
}
