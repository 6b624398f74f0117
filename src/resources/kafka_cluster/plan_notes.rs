//! What a plan says beyond the attribute diff: one warning per changed Kubernetes object naming
//! the changed fields, and for each role whether its pods roll and in which order.

use serde_json::Value as Json;

use crate::framework::{Context, PlannedChange};
use crate::resources::k8s_common::plan_notes::{changed_objects, template, ObjectChange};
use crate::tfvalue::{Diagnostic, Diagnostics};

use super::model::{KafkaCluster, Role};
use super::render;

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

/// One warning per object whose digest changes; for the StatefulSets, members added or
/// removed and whether (and in which order) pods roll.
pub fn object_warnings(
    ctx: &Context,
    change: &PlannedChange,
    prior: &KafkaCluster,
    planned: &KafkaCluster,
    diags: &mut Diagnostics,
) {
    let rendered_prior = render::render(prior);
    let rendered_planned = render::render(planned);
    let changes = changed_objects(
        ctx,
        change,
        &planned.namespace,
        &rendered_prior,
        &rendered_planned,
    );
    for ObjectChange {
        object,
        now,
        created,
        summary,
        mut detail,
    } in changes
    {
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
            let rolls = now
                .as_ref()
                .is_some_and(|now| template(now) != template(&object.object));
            if rolls {
                let existing = replicas_now
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(want)
                    .min(want);
                detail.push(' ');
                detail.push_str(&roll_sentence(planned, role, existing));
            } else if !created {
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
