//! Create, update and delete: objects applied in a safe order by server-side apply, waits
//! through [`Context::wait`] (so `timeouts` and StopProvider end them), and on any failure the
//! state of what was applied so nothing is forgotten.
//!
//! Update moves membership one member at a time (the StatefulSet's replicas and the seed
//! membership step together, see docs/guides/ensemble-scaling.md): the pods reconfigure themselves
//! (start.sh joins, the preStop hook leaves), and the provider waits for each new member to be
//! ready (a voter) or each removed pod to be gone. It grows storage by resizing the claims and
//! restarts pods whose template changed in roll order. All three start from what is observed,
//! so an interrupted apply converges on the next one; without pods (nothing runs them) the
//! restarts have nothing to act on and are skipped with a log line.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::adapters::kubernetes::{KubeError, ObjectRef, ObjectStore, Propagation};
use crate::framework::Context;
use crate::resources::k8s_common::kube_io::{self as common, set_objects};
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

use super::kube_io::{
    self, apply_body, interrupted_diagnostic, kube_diagnostic, pod_ready, statefulset_ref,
    wait_pod_gone, wait_pod_replaced, wait_ready,
};
use super::membership::{leader_in_log, roll_order, Role};
use super::model::Ensemble;
use super::observe::quantity_value;
use super::refresh::set_computed;
use super::render::{self, selector_labels, RenderedObject};

fn selector(e: &Ensemble) -> String {
    common::selector_string(&selector_labels(e))
}

fn wait_for_ready(v: &Value) -> bool {
    v.attr("wait_for_ready").as_bool().unwrap_or(true)
}

/// Applies one object (through `ctx.wait`), recording its digest when it lands.
async fn apply_one(
    ctx: &Context,
    store: &dyn ObjectStore,
    object: &RenderedObject,
    state: &Value,
    applied: &mut BTreeMap<String, String>,
) -> Result<(), Diagnostic> {
    common::apply_recorded(ctx, store, object, &apply_body(object, state), applied).await
}

pub async fn create(ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
    let e = match Ensemble::from_value(planned) {
        Ok(e) => e,
        Err(err) => {
            diags.error("Ensemble not fully known", err.to_string());
            return None;
        }
    };
    let store = match kube_io::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let password = match planned.attr("super_password").as_str() {
        Some(p) => p.to_owned(),
        None => match kube_io::generate_password() {
            Ok(p) => p,
            Err(d) => {
                diags.push(d);
                return None;
            }
        },
    };
    let mut state = planned.clone();
    set_computed(&mut state, &e);
    if let Value::Object(m) = &mut state {
        m.insert("super_password".into(), Value::from(password.as_str()));
    }
    let mut applied = BTreeMap::new();
    for object in render::render(&e, &password) {
        if let Err(d) = apply_one(ctx, store.as_ref(), &object, &state, &mut applied).await {
            diags.push(d);
            set_objects(&mut state, &applied);
            return (!applied.is_empty()).then_some(state);
        }
    }
    set_objects(&mut state, &applied);
    if wait_for_ready(planned) {
        match wait_ready(ctx, store.as_ref(), &e, e.replicas).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => diags.push(kube_diagnostic(&err)),
            Err(i) => diags.push(interrupted_diagnostic(
                i,
                &format!(
                    "waiting for {} members of {} to be ready",
                    e.replicas,
                    e.id()
                ),
            )),
        }
    }
    Some(state)
}

/// The replicas the StatefulSet runs now, if it exists.
async fn live_statefulset(
    store: &dyn ObjectStore,
    e: &Ensemble,
) -> Result<Option<Json>, KubeError> {
    match store.get(&statefulset_ref(e)).await {
        Ok(s) => Ok(Some(s)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

/// Sizes from `from` to `to`, one member at a time, excluding `from`.
pub fn replica_path(from: u8, to: u8) -> Vec<u8> {
    if from < to {
        (from + 1..=to).collect()
    } else {
        (to..from).rev().collect()
    }
}

pub async fn update(
    ctx: &Context,
    prior: &Value,
    planned: &Value,
    diags: &mut Diagnostics,
) -> Value {
    let (Ok(e), Ok(prior_e)) = (Ensemble::from_value(planned), Ensemble::from_value(prior)) else {
        diags.error(
            "Ensemble not fully known",
            "The planned ensemble has unknown values at apply.",
        );
        return prior.clone();
    };
    let store = match kube_io::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return prior.clone();
        }
    };
    let store = store.as_ref();
    let password = planned
        .attr("super_password")
        .as_str()
        .or_else(|| prior.attr("super_password").as_str())
        .unwrap_or_default()
        .to_owned();
    let mut state = planned.clone();
    set_computed(&mut state, &e);
    if let Value::Object(m) = &mut state {
        m.insert("super_password".into(), Value::from(password.as_str()));
    }
    // What was applied before stays recorded until it is replaced.
    let mut applied = common::recorded_objects(prior);
    macro_rules! fail {
        ($d:expr) => {{
            diags.push($d);
            set_objects(&mut state, &applied);
            return state;
        }};
    }

    let live = match live_statefulset(store, &e).await {
        Ok(l) => l,
        Err(err) => fail!(kube_diagnostic(&err)),
    };
    let live_replicas = live
        .as_ref()
        .and_then(|s| s.pointer("/spec/replicas"))
        .and_then(Json::as_u64)
        .and_then(|n| u8::try_from(n).ok());
    let final_objects = render::render(&e, &password);

    // 1. Everything but the membership-bearing objects (ConfigMap, StatefulSet).
    for o in final_objects
        .iter()
        .filter(|o| !matches!(o.kind, "ConfigMap" | "StatefulSet"))
    {
        if let Err(d) = apply_one(ctx, store, o, &state, &mut applied).await {
            fail!(d);
        }
    }

    // 2. Storage growth: resize the claims, then recreate the StatefulSet around the running
    //    pods (its claim templates cannot change in place).
    if live.is_some() && grows(&prior_e.storage_size, &e.storage_size) {
        if let Err(d) = grow_storage(ctx, store, &e).await {
            fail!(d);
        }
    }

    // 3. Membership, one member at a time, from the observed replicas.
    let steps = match live_replicas {
        Some(from) if from != e.replicas && from > 0 => replica_path(from, e.replicas),
        _ => vec![e.replicas],
    };
    let pods = match store.list("v1", "Pod", &e.namespace, &selector(&e)).await {
        Ok(p) => p,
        Err(err) => fail!(kube_diagnostic(&err)),
    };
    if steps.len() > 1 && pods.is_empty() {
        tracing::info!(
            ensemble = %e.id(),
            from = ?live_replicas,
            to = e.replicas,
            "no pods observed: stepping the StatefulSet one member at a time; the members \
             reconfigure themselves when their pods run"
        );
    }
    // Between membership steps the provider waits whenever pods run, whatever wait_for_ready
    // says: the next step must not start before the previous member is in (or out). Without
    // pods (nothing runs them) there is nothing to wait for unless asked.
    let step_waits = wait_for_ready(planned) || !pods.is_empty();
    let mut previous = live_replicas.unwrap_or(e.replicas);
    for (i, n) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let shrinking = *n < previous;
        previous = *n;
        let step_e = Ensemble {
            replicas: *n,
            ..e.clone()
        };
        let step_objects = render::render(&step_e, &password);
        for o in step_objects
            .iter()
            .filter(|o| matches!(o.kind, "ConfigMap" | "StatefulSet"))
        {
            let mut scratch = BTreeMap::new();
            let target = if last { &mut applied } else { &mut scratch };
            if let Err(d) = apply_one(ctx, store, o, &state, target).await {
                fail!(d);
            }
        }
        // Shrinking: the highest pod's preStop hook takes it out of the voters before it
        // stops (member.sh leave); the next step waits until it is gone. Growing: the new
        // member makes itself a voter (member.sh join) and only then is ready.
        if step_waits && shrinking {
            let pod = format!("{}-{}", e.name, n);
            match wait_pod_gone(ctx, store, &e, &pod).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => fail!(kube_diagnostic(&err)),
                Err(i) => fail!(interrupted_diagnostic(
                    i,
                    &format!("waiting for {pod} to leave the voters and stop")
                )),
            }
        }
        if step_waits && (!last || steps.len() > 1) {
            match wait_ready(ctx, store, &e, *n).await {
                Ok(Ok(())) => {
                    tracing::info!(ensemble = %e.id(), members = n, "membership step done")
                }
                Ok(Err(err)) => fail!(kube_diagnostic(&err)),
                Err(i) => fail!(interrupted_diagnostic(
                    i,
                    &format!("waiting for {n} members of {} to be ready", e.id())
                )),
            }
        }
    }

    // 4. Restarts, when the pod template changed.
    let template_changed = live
        .as_ref()
        .and_then(|l| l.pointer("/spec/template/metadata/annotations"))
        .and_then(|a| a.get(render::CONFIG_DIGEST_ANNOTATION))
        .and_then(Json::as_str)
        .is_some_and(|d| d != render::restart_digest(&e))
        || live
            .as_ref()
            .and_then(|l| l.pointer("/spec/template/spec/containers/0/image"))
            .and_then(Json::as_str)
            .is_some_and(|i| i != e.image);
    if template_changed {
        if let Err(d) = roll(ctx, store, &e).await {
            fail!(d);
        }
    }

    // 5. Final readiness.
    if wait_for_ready(planned) && steps.len() == 1 {
        match wait_ready(ctx, store, &e, e.replicas).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => fail!(kube_diagnostic(&err)),
            Err(i) => fail!(interrupted_diagnostic(
                i,
                &format!(
                    "waiting for {} members of {} to be ready",
                    e.replicas,
                    e.id()
                )
            )),
        }
    }
    // Objects no longer rendered (none today) would be dropped here.
    let keys: Vec<String> = final_objects.iter().map(RenderedObject::key).collect();
    applied.retain(|k, _| keys.contains(k));
    set_objects(&mut state, &applied);
    state
}

/// True when `to` is a larger quantity than `from`.
pub fn grows(from: &str, to: &str) -> bool {
    matches!((quantity_value(from), quantity_value(to)), (Some(a), Some(b)) if b > a)
}

async fn grow_storage(
    ctx: &Context,
    store: &dyn ObjectStore,
    e: &Ensemble,
) -> Result<(), Diagnostic> {
    common::grow_claims(
        ctx,
        store,
        &e.namespace,
        &selector(e),
        &e.storage_size,
        &[statefulset_ref(e)],
        &e.id(),
    )
    .await
}

/// Restarts members whose pod is not of the StatefulSet's current revision, one at a time in
/// roll order, each ready again before the next. Without pods there is nothing to restart.
async fn roll(ctx: &Context, store: &dyn ObjectStore, e: &Ensemble) -> Result<(), Diagnostic> {
    let pods = store
        .list("v1", "Pod", &e.namespace, &selector(e))
        .await
        .map_err(|err| kube_diagnostic(&err))?;
    if pods.is_empty() {
        tracing::info!(ensemble = %e.id(), "pod template changed but no pods observed: nothing to roll");
        return Ok(());
    }
    let sts = store
        .get(&statefulset_ref(e))
        .await
        .map_err(|err| kube_diagnostic(&err))?;
    let revision = sts.pointer("/status/updateRevision").and_then(Json::as_str);
    let mut members = Vec::new();
    let mut uids: BTreeMap<u8, Option<String>> = BTreeMap::new();
    for pod in &pods {
        let Some(name) = pod.pointer("/metadata/name").and_then(Json::as_str) else {
            continue;
        };
        let Some(id) = name
            .strip_prefix(&format!("{}-", e.name))
            .and_then(|o| o.parse::<u8>().ok())
            .map(|o| o + 1)
        else {
            continue;
        };
        let pod_revision = pod
            .pointer("/metadata/labels/controller-revision-hash")
            .and_then(Json::as_str);
        if revision.is_some() && pod_revision == revision {
            continue;
        }
        let ready = pod_ready(pod);
        members.push((
            id,
            if ready {
                Role::Follower
            } else {
                Role::NotServing
            },
        ));
        let uid = pod.pointer("/metadata/uid").and_then(Json::as_str);
        uids.insert(id, uid.map(str::to_owned));
    }
    mark_leader(store, e, &mut members).await;
    let order =
        roll_order(&members).map_err(|err| Diagnostic::error("Roll refused", err.to_string()))?;
    for id in order {
        let pod = format!("{}-{}", e.name, id - 1);
        tracing::info!(ensemble = %e.id(), %pod, "restarting member");
        store
            .delete(
                &ObjectRef::namespaced("v1", "Pod", &e.namespace, &pod),
                Propagation::Background,
            )
            .await
            .map_err(|err| kube_diagnostic(&err))?;
        // Always, whatever wait_for_ready says: one member down at a time is what keeps the
        // quorum. The StatefulSet's readyReplicas still counts the old pod for a moment: wait
        // for the new one (another uid) to be ready, i.e. a voter again.
        let old_uid = uids.get(&id).cloned().flatten();
        match wait_pod_replaced(ctx, store, e, &pod, old_uid.as_deref()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(kube_diagnostic(&err)),
            Err(i) => return Err(interrupted_diagnostic(i, &format!("restarting {pod}"))),
        }
    }
    Ok(())
}

/// Lines of a member's log read to find its latest peer state.
const MEMBER_LOG_LINES: i64 = 20_000;

/// Marks the leader among the serving `members`, so it restarts last and leadership moves
/// once. The provider has no network path to the members to ask `srvr`; it reads each serving
/// member's log through the API server (`pods/log`) for its latest peer state change
/// ([`leader_in_log`]). When no single member's log says it leads (rotated, an election under
/// way, or `pods/log` not permitted), members roll by descending id, and the log says why; a
/// stopping leader's preStop hook takes it out of the voters first, so ZooKeeper hands
/// leadership over before it stops.
async fn mark_leader(store: &dyn ObjectStore, e: &Ensemble, members: &mut [(u8, Role)]) {
    let serving: Vec<usize> = (0..members.len())
        .filter(|i| members[*i].1 == Role::Follower)
        .collect();
    let logs = futures::future::join_all(serving.iter().map(|i| {
        let pod = format!("{}-{}", e.name, members[*i].0 - 1);
        async move {
            store
                .pod_log_tail(&e.namespace, &pod, render::CONTAINER, MEMBER_LOG_LINES)
                .await
        }
    }))
    .await;
    let mut leaders = Vec::new();
    for (i, log) in serving.iter().zip(logs) {
        match log {
            Ok(text) if leader_in_log(&text) == Some(true) => leaders.push(*i),
            Ok(_) => {}
            Err(err) => tracing::info!(
                ensemble = %e.id(),
                error = %err,
                "could not read a member's log to find the leader"
            ),
        }
    }
    match leaders.as_slice() {
        [one] => members[*one].1 = Role::Leader,
        _ => tracing::info!(
            ensemble = %e.id(),
            claimed = leaders.len(),
            "the leader is not known from the members' logs: members roll by descending id"
        ),
    }
}

pub async fn delete(ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
    let Ok(e) = Ensemble::from_value(prior) else {
        diags.error(
            "Unreadable state",
            "The state of this ensemble lacks name or namespace.",
        );
        return;
    };
    let store = match kube_io::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    let store = store.as_ref();
    if let Err(d) = common::delete_objects(ctx, store, &e.namespace, &render::render(&e, "")).await
    {
        diags.push(d);
        return;
    }
    if prior.attr("delete_volumes").as_bool() == Some(true) {
        if let Err(d) = common::delete_claims(store, &e.namespace, &selector(&e)).await {
            diags.push(d);
        }
    }
}
