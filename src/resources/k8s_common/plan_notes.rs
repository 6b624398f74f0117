//! What a plan of a Kubernetes-backed resource says beyond the attribute diff: which of its
//! objects change, and which fields. Each resource adds what it knows (members stepping,
//! pods rolling and in which order) to the warning of its own objects.

use serde_json::Value as Json;

use crate::framework::{Context, PlannedChange};
use crate::tfvalue::Value;

use super::kube_io::{observed_key, provider_data};
use super::objects::RenderedObject;
use super::observe::changed_fields;

/// At most this many fields are named per object.
const FIELDS_SHOWN: usize = 6;

/// One object whose digest the plan changes.
pub struct ObjectChange<'a> {
    pub object: &'a RenderedObject,
    /// What it looks like now: the last refresh's observation, else the prior render.
    pub now: Option<Json>,
    /// It does not exist yet (no digest in state).
    pub created: bool,
    pub summary: String,
    pub detail: String,
}

/// The objects of `planned` whose digest changes from the prior state's, each with a
/// summary and a detail naming the changed fields. Objects whose planned digest is unknown
/// are left out.
pub fn changed_objects<'a>(
    ctx: &Context,
    change: &PlannedChange,
    namespace: &str,
    prior: &[RenderedObject],
    planned: &'a [RenderedObject],
) -> Vec<ObjectChange<'a>> {
    let (Some(before), Some(after)) = (
        change.prior.attr("kubernetes_objects").as_entries(),
        change.planned.attr("kubernetes_objects").as_entries(),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for object in planned {
        let key = object.key();
        let planned_digest = after.get(&key);
        if planned_digest.is_some_and(Value::is_unknown) {
            continue;
        }
        let prior_digest = before.get(&key);
        if prior_digest.is_some() && prior_digest == planned_digest {
            continue;
        }
        let now = current_object(ctx, namespace, &key, prior);
        let (summary, detail) = match prior_digest {
            None => (
                format!("{key} will be created"),
                format!("{key} does not exist in namespace {namespace}; apply creates it."),
            ),
            Some(_) => {
                let fields = now
                    .as_ref()
                    .map(|now| changed_fields(now, &object.object, FIELDS_SHOWN))
                    .unwrap_or_default();
                let list = if fields.is_empty() {
                    "(fields not observed)".to_owned()
                } else {
                    fields.join(", ")
                };
                (
                    format!("{key} will change"),
                    format!("Changed fields: {list}."),
                )
            }
        };
        out.push(ObjectChange {
            object,
            now,
            created: prior_digest.is_none(),
            summary,
            detail,
        });
    }
    out
}

/// What the object `key` looks like now: the last refresh's observation, else its prior
/// render.
pub fn current_object(
    ctx: &Context,
    namespace: &str,
    key: &str,
    prior: &[RenderedObject],
) -> Option<Json> {
    provider_data(ctx)
        .and_then(|d| {
            d.observed
                .lock()
                .ok()
                .and_then(|c| c.get(&observed_key(namespace, key)).cloned())
        })
        .or_else(|| {
            prior
                .iter()
                .find(|o| o.key() == key)
                .map(|o| o.object.clone())
        })
}

/// The pod template of a StatefulSet.
pub fn template(o: &Json) -> Option<&Json> {
    o.pointer("/spec/template")
}
