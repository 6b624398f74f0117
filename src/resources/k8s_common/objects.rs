//! Rendered Kubernetes objects and their digests: the JSON the provider applies, the
//! `Kind/name` key `kubernetes_objects` uses, and the sha256 of the object's canonical JSON.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

/// The provider's field manager for server-side apply.
pub const FIELD_MANAGER: &str = "zkkafka";

/// One rendered object with the identity `kubernetes_objects` keys it by.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedObject {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
    pub object: Json,
}

impl RenderedObject {
    /// `Kind/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// sha256 (hex) of the object's canonical JSON (keys sorted, no whitespace).
    pub fn digest(&self) -> String {
        sha256_hex(canonical_json(&self.object).as_bytes())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// JSON with object keys sorted at every level, compact.
pub fn canonical_json(v: &Json) -> String {
    fn sorted(v: &Json) -> Json {
        match v {
            Json::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Json::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Json::Array(items) => Json::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// `kubernetes_objects`: `Kind/name` to digest.
pub fn digests(objects: &[RenderedObject]) -> BTreeMap<String, String> {
    objects.iter().map(|o| (o.key(), o.digest())).collect()
}

/// A string map as a JSON object (keys in the map's order: sorted).
pub fn string_map(m: &BTreeMap<String, String>) -> Json {
    Json::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// An object with `apiVersion`, `kind`, `metadata` and then `rest`, in that key order.
pub fn object(
    api_version: &'static str,
    kind: &'static str,
    name: String,
    meta: Json,
    rest: Vec<(&str, Json)>,
) -> RenderedObject {
    let mut m = Map::new();
    m.insert("apiVersion".into(), json!(api_version));
    m.insert("kind".into(), json!(kind));
    m.insert("metadata".into(), meta);
    for (k, v) in rest {
        m.insert(k.into(), v);
    }
    RenderedObject {
        api_version,
        kind,
        name,
        object: Json::Object(m),
    }
}

/// `metadata` with name, namespace, labels and (when there are any) annotations.
pub fn metadata(
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Json {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("namespace".into(), json!(namespace));
    m.insert("labels".into(), string_map(labels));
    if !annotations.is_empty() {
        m.insert("annotations".into(), string_map(annotations));
    }
    Json::Object(m)
}
