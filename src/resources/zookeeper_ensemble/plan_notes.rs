//! What a plan says beyond the attribute diff: one warning per changed Kubernetes object
//! naming the changed fields and whether pods roll; storage shrinking refused; a storage class
//! change forcing replacement, with the reason.

use serde_json::Value as Json;

use crate::framework::{Context, PlannedChange};
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Value};

use super::kube_io;
use super::model::Ensemble;
use super::observe::{changed_fields, quantity_value};
use super::refresh::observed_key;
use super::render::{self, RenderedObject};

/// At most this many fields are named per object.
const FIELDS_SHOWN: usize = 6;

/// Storage rules at plan time: shrink refused, class change replaces.
pub fn check_storage(
    change: &mut PlannedChange,
    prior: &Ensemble,
    planned: &Ensemble,
    diags: &mut Diagnostics,
) {
    if let (Some(before), Some(after)) = (
        quantity_value(&prior.storage_size),
        quantity_value(&planned.storage_size),
    ) {
        if after < before {
            diags.push(
                Diagnostic::error(
                    "Storage cannot shrink",
                    format!(
                        "storage.size would go from {} to {}: Kubernetes volumes only grow. Keep \
                         {} or more, or replace the ensemble (and its data) explicitly.",
                        prior.storage_size, planned.storage_size, prior.storage_size
                    ),
                )
                .at(AttributePath::attr("storage").then_attr("size")),
            );
        }
    }
    if prior.storage_class != planned.storage_class {
        change.require_replace("storage");
        diags.push(
            Diagnostic::warning(
                "Storage class change replaces the ensemble",
                format!(
                    "storage.class changes from {} to {}: a volume cannot move to another \
                     StorageClass, so the ensemble is destroyed and created again with empty \
                     volumes (existing claims are kept unless delete_volumes = true).",
                    prior
                        .storage_class
                        .as_deref()
                        .unwrap_or("(cluster default)"),
                    planned
                        .storage_class
                        .as_deref()
                        .unwrap_or("(cluster default)")
                ),
            )
            .at(AttributePath::attr("storage").then_attr("class")),
        );
    }
}

fn template(o: &Json) -> Option<&Json> {
    o.pointer("/spec/template")
}

/// One warning per object whose digest changes.
pub fn object_warnings(
    ctx: &Context,
    change: &PlannedChange,
    prior: &Ensemble,
    planned: &Ensemble,
    diags: &mut Diagnostics,
) {
    let (Some(before), Some(after)) = (
        change.prior.attr("kubernetes_objects").as_entries(),
        change.planned.attr("kubernetes_objects").as_entries(),
    ) else {
        return;
    };
    let password = change
        .prior
        .attr("super_password")
        .as_str()
        .unwrap_or_default();
    let rendered_prior: Vec<RenderedObject> = render::render(prior, password);
    let rendered_planned: Vec<RenderedObject> = render::render(planned, password);
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
    let sts_key = format!("StatefulSet/{}", planned.name);
    let sts_now = current(&sts_key);
    let sts_next = rendered_planned.iter().find(|o| o.key() == sts_key);
    let rolls = match (&sts_now, sts_next) {
        (Some(now), Some(next)) => template(now) != template(&next.object),
        _ => false,
    };
    let replicas_now = sts_now
        .as_ref()
        .and_then(|s| s.pointer("/spec/replicas"))
        .and_then(Json::as_i64);
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
        let (summary, mut detail) = match prior_digest {
            None => (
                format!("{key} will be created"),
                format!(
                    "{key} does not exist in namespace {}; apply creates it.",
                    planned.namespace
                ),
            ),
            Some(_) => {
                let fields = current(&key)
                    .map(|now| changed_fields(&now, &object.object, FIELDS_SHOWN))
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
            if let Some(now) = replicas_now.filter(|n| *n != i64::from(planned.replicas)) {
                detail.push_str(&format!(
                    " Members go from {now} to {} one at a time, each reconfigured in or out of \
                     the quorum before the next.",
                    planned.replicas
                ));
            }
        }
        if matches!(object.kind, "StatefulSet" | "ConfigMap") {
            detail.push_str(if rolls {
                " Pods will roll: members restart one at a time, followers first, the leader last."
            } else {
                " Pods will not roll."
            });
        }
        diags.push(Diagnostic::warning(summary, detail));
    }
}
