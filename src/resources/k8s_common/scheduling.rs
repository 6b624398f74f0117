//! Pod scheduling settings shared by the resources: anti-affinity between pods of one set, and
//! tolerations, in the typed form the models hold and the JSON the renderers emit.

use serde_json::{json, Map, Value as Json};

/// How strictly members are kept on different nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AntiAffinity {
    /// Never two members on one node (pods stay Pending when nodes run out).
    Required,
    /// Spread when possible.
    Preferred,
    /// No rule.
    None,
}

impl AntiAffinity {
    pub const NAMES: [&'static str; 3] = ["required", "preferred", "none"];

    pub fn parse(s: &str) -> Option<AntiAffinity> {
        match s {
            "required" => Some(AntiAffinity::Required),
            "preferred" => Some(AntiAffinity::Preferred),
            "none" => Some(AntiAffinity::None),
            _ => None,
        }
    }
}

/// A Kubernetes toleration, as written in the `tolerations` blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toleration {
    pub key: Option<String>,
    pub operator: Option<String>,
    pub value: Option<String>,
    pub effect: Option<String>,
    pub toleration_seconds: Option<i64>,
}

impl AntiAffinity {
    /// The pod `affinity` keeping pods matching `selector` on different nodes, or `None`.
    pub fn to_affinity(self, selector: &Map<String, Json>) -> Option<Json> {
        let term = json!({
            "labelSelector": { "matchLabels": selector },
            "topologyKey": "kubernetes.io/hostname",
        });
        match self {
            AntiAffinity::Required => Some(json!({ "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [term],
            }})),
            AntiAffinity::Preferred => Some(json!({ "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [{ "weight": 100, "podAffinityTerm": term }],
            }})),
            AntiAffinity::None => None,
        }
    }
}

/// The pod spec's `tolerations`, fields in Kubernetes' names, unset ones left out.
pub fn tolerations_json(tolerations: &[Toleration]) -> Json {
    Json::Array(
        tolerations
            .iter()
            .map(|t| {
                let mut m = Map::new();
                let fields = [
                    ("key", &t.key),
                    ("operator", &t.operator),
                    ("value", &t.value),
                    ("effect", &t.effect),
                ];
                for (k, v) in fields {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(v));
                    }
                }
                if let Some(s) = t.toleration_seconds {
                    m.insert("tolerationSeconds".into(), json!(s));
                }
                Json::Object(m)
            })
            .collect(),
    )
}
