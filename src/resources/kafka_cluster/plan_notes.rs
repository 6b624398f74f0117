//! What a plan says beyond the attribute diff: one warning per changed Kubernetes object naming
//! the changed fields, and for each role whether its pods roll and in which order.

use serde_json::Value as Json;

use crate::framework::{Context, PlannedChange};
use crate::resources::k8s_common::kube_io;
use crate::resources::k8s_common::objects::RenderedObject;
use crate::resources::k8s_common::observe::changed_fields;
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

use super::model::{KafkaCluster, Role};
use super::refresh::observed_key;
use super::render;

/// At most this many fields are named per object.
const FIELDS_SHOWN: usize = 6;

fn template(o: &Json) -> Option<&Json> {
    o.pointer("/spec/template")
}

/// The roll order sentence for a role whose pods restart: `n` pods, by ordinal, not-ready
/// ones first.
pub fn roll_sentence(c: &KafkaCluster, role: Role, pods: u32) -> String {
    let names: Vec<String> = (0..pods).map(|i| c.pod_name(role, i)).collect();
    let order = match role {
        Role::Controller => format!(
            "Controllers roll first (before any broker), one at a time, each ready again \
             before the next: {} (pods that are not ready go first, the active controller \
             last).",
            names.join(", ")
        ),
        Role::Broker => format!(
            "Brokers roll one at a time (after any controller), each ready (listening) again \
             before the next: {} (pods that are not ready go first).",
            names.join(", ")
        ),
    };
    format!("Pods will roll. {order}")
}

/// One warning per object whose digest changes.
pub fn object_warnings(
    ctx: &Context,
    change: &PlannedChange,
    prior: &KafkaCluster,
    planned: &KafkaCluster,
    diags: &mut Diagnostics,
) {
    let (Some(before), Some(after)) = (
        change.prior.attr("kubernetes_objects").as_entries(),
        change.planned.attr("kubernetes_objects").as_entries(),
    ) else {
        return;
    };
    let rendered_prior: Vec<RenderedObject> = render::render(prior);
    let rendered_planned: Vec<RenderedObject> = render::render(planned);
    let cache = kube_io::provider_data(ctx)
        .and_then(|d| d.observed.lock().ok().map(|c| c.clone()))
        .unwrap_or_default();
    // What each object looks like now: the last refresh's observation, else the prior render.
    let current = |key: &str| -> Option<Json> {
        cache.get(&observed_key(prior, key)).cloned().or_else(|| {
            rendered_prior
                .iter()
                .find(|o| o.key() == key)
                .map(|o| o.object.clone())
        })
    };
    for object in &rendered_planned {
        let key = object.key();
        let planned_digest = after.get(&key);
        if planned_digest.is_some_and(Value::is_unknown) {
            continue;
        }
        let prior_digest = before.get(&key);
        if prior_digest.is_some() && prior_digest == planned_digest {
            continue;
        }
        let now = current(&key);
        let (summary, mut detail) = match prior_digest {
            None => (
                format!("{key} will be created"),
                format!(
                    "{key} does not exist in namespace {}; apply creates it.",
                    planned.namespace
                ),
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
        if object.kind == "StatefulSet" {
            let role = if object.name == planned.stateful_set_name(Role::Controller) {
                Role::Controller
            } else {
                Role::Broker
            };
            let replicas_now = now
                .as_ref()
                .and_then(|s| s.pointer("/spec/replicas"))
                .and_then(Json::as_i64);
            let want = planned.replicas(role);
            if let Some(n) = replicas_now.filter(|n| *n != i64::from(want)) {
                detail.push_str(&if n < i64::from(want) {
                    format!(
                        " {} go from {n} to {want}: the new pods start with their own \
                         server.properties; partitions are not moved onto them (use \
                         kafka-reassign-partitions).",
                        capitalised_plural(role)
                    )
                } else {
                    format!(
                        " {} go from {n} to {want}: the highest ordinals stop; their volume \
                         claims are kept.",
                        capitalised_plural(role)
                    )
                });
            }
            let rolls = match &now {
                Some(now) => template(now) != template(&object.object),
                None => false,
            };
            if rolls {
                let existing = replicas_now
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(want)
                    .min(want);
                detail.push(' ');
                detail.push_str(&roll_sentence(planned, role, existing));
            } else if prior_digest.is_some() {
                detail.push_str(" Pods will not roll.");
            }
        }
        diags.push(Diagnostic::warning(summary, detail));
    }
}

fn capitalised_plural(role: Role) -> &'static str {
    match role {
        Role::Controller => "Controllers",
        Role::Broker => "Brokers",
    }
}
