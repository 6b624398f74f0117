//! What a plan says beyond the attribute diff: one warning per changed Kubernetes object
//! naming the changed fields and whether pods roll; storage shrinking refused; a storage class
//! change forcing replacement, with the reason.

use serde_json::Value as Json;

use crate::framework::{Context, PlannedChange};
use crate::resources::k8s_common::plan_notes::{
    changed_objects, current_object, template, ObjectChange,
};
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics};

use super::model::Ensemble;
use super::observe::quantity_value;
use super::render;

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

/// One warning per object whose digest changes; for the StatefulSet and the ConfigMap,
/// members stepping and whether pods roll.
pub fn object_warnings(
    ctx: &Context,
    change: &PlannedChange,
    prior: &Ensemble,
    planned: &Ensemble,
    diags: &mut Diagnostics,
) {
    let password = change
        .prior
        .attr("super_password")
        .as_str()
        .unwrap_or_default();
    let rendered_prior = render::render(prior, password);
    let rendered_planned = render::render(planned, password);
    let changes = changed_objects(
        ctx,
        change,
        &planned.namespace,
        &rendered_prior,
        &rendered_planned,
    );
    let sts_key = format!("StatefulSet/{}", planned.name);
    // The StatefulSet as it is now (observed, else as rendered before), changed or not.
    let sts_now = current_object(ctx, &prior.namespace, &sts_key, &rendered_prior);
    let sts_next = rendered_planned.iter().find(|o| o.key() == sts_key);
    let rolls = match (&sts_now, sts_next) {
        (Some(now), Some(next)) => template(now) != template(&next.object),
        _ => false,
    };
    let replicas_now = sts_now
        .as_ref()
        .and_then(|s| s.pointer("/spec/replicas"))
        .and_then(Json::as_i64);
    for ObjectChange {
        object,
        summary,
        mut detail,
        ..
    } in changes
    {
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
