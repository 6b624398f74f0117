//! Create, update and delete through the Kubernetes adapter: objects applied by server-side
//! apply in render order (configuration, Services, controllers, brokers, disruption budgets),
//! waits through [`Context::wait`] (so `timeouts` and StopProvider end them), and on any
//! failure the state of what was applied, so nothing created is forgotten.
//!
//! Update grows storage by resizing the claims (the StatefulSets are recreated around their
//! running pods), applies the new objects, and restarts the pods whose start-time inputs
//! changed (their config digest annotation or image differ from the new ones) one at a time
//! in [`roll_order`]: not-ready pods first, controllers before brokers (the active controller,
//! found in the controllers' logs, last of them), by ordinal, each ready again before the next. Everything starts from what is observed, so an interrupted apply
//! converges on the next one.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::adapters::kubernetes::{ObjectRef, ObjectStore, Propagation};
use crate::framework::Context;
use crate::resources::k8s_common::kube_io::{
    self as common, apply_recorded, interrupted_diagnostic, kube_diagnostic, pod_ready,
    recorded_objects, set_objects, with_import_record,
};
use crate::resources::k8s_common::objects::RenderedObject;
use crate::resources::k8s_common::quantity::quantity_value;
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

use super::model::{self, KafkaCluster, Role};
use super::render::{self, selector_labels, CONFIG_DIGEST_ANNOTATION};
use super::roll::{active_controller_in_log, roll_order, PodState};

/// Attributes never in the import record: computed from the rest (the cluster id is kept: it
/// is generated once and the nodes' storage is formatted with it).
const NOT_RECORDED: [&str; 3] = ["id", "bootstrap_servers", "kubernetes_objects"];

/// The import record of a state: its arguments as JSON.
pub fn import_record(state: &Value) -> Option<String> {
    common::import_record(state, &model::schema().block.value_type(), &NOT_RECORDED)
}

/// The StatefulSet that carries the import record: the brokers' (every cluster has one).
pub fn record_holder(c: &KafkaCluster) -> String {
    format!("StatefulSet/{}", c.stateful_set_name(Role::Broker))
}

/// The body to apply for a rendered object: the broker StatefulSet also carries the record.
pub fn apply_body(c: &KafkaCluster, object: &RenderedObject, state: &Value) -> Json {
    let record = (object.key() == record_holder(c))
        .then(|| import_record(state))
        .flatten();
    with_import_record(object, record.as_deref())
}

pub fn statefulset_ref(c: &KafkaCluster, role: Role) -> ObjectRef {
    ObjectRef::namespaced(
        "apps/v1",
        "StatefulSet",
        &c.namespace,
        &c.stateful_set_name(role),
    )
}

fn selector(c: &KafkaCluster, role: Option<Role>) -> String {
    common::selector_string(&selector_labels(c, role))
}

/// Sets the attributes computed from the model (id, bootstrap servers, cluster id).
pub fn set_computed(state: &mut Value, c: &KafkaCluster) {
    if let Value::Object(m) = state {
        m.insert("id".into(), Value::from(c.id()));
        m.insert(
            "bootstrap_servers".into(),
            Value::from(c.bootstrap_servers()),
        );
        m.insert(
            "cluster_id".into(),
            c.cluster_id.clone().map_or(Value::Null, Value::from),
        );
    }
}

fn wait_for_ready(v: &Value) -> bool {
    v.attr("wait_for_ready").as_bool().unwrap_or(true)
}

/// Waits until every role's pods are ready, controllers first.
async fn wait_all_ready(
    ctx: &Context,
    store: &dyn ObjectStore,
    c: &KafkaCluster,
) -> Result<(), Diagnostic> {
    for role in c.roles() {
        let want = c.replicas(role);
        match common::wait_statefulset_ready(ctx, store, &statefulset_ref(c, role), want).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(kube_diagnostic(&err)),
            Err(i) => {
                return Err(interrupted_diagnostic(
                    i,
                    &format!(
                        "waiting for {want} {}s of {} to be ready",
                        role.as_str(),
                        c.id()
                    ),
                ))
            }
        }
    }
    Ok(())
}

pub async fn create(ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
    // A KRaft cluster's id is generated now, once; state keeps it from then on.
    let mut planned = planned.clone();
    if planned.attr("cluster_id").is_unknown() {
        match super::new_cluster_id() {
            Ok(id) => {
                if let Value::Object(m) = &mut planned {
                    m.insert("cluster_id".into(), Value::from(id));
                }
            }
            Err(d) => {
                diags.push(d);
                return None;
            }
        }
    }
    let planned = &planned;
    let c = match KafkaCluster::from_value(planned) {
        Ok(c) => c,
        Err(err) => {
            diags.error("Kafka cluster not fully known", err.to_string());
            return None;
        }
    };
    let store = match common::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let store = store.as_ref();
    let mut state = planned.clone();
    set_computed(&mut state, &c);
    let mut applied = BTreeMap::new();
    for object in render::render(&c) {
        let body = apply_body(&c, &object, &state);
        if let Err(d) = apply_recorded(ctx, store, &object, &body, &mut applied).await {
            diags.push(d);
            set_objects(&mut state, &applied);
            return (!applied.is_empty()).then_some(state);
        }
    }
    set_objects(&mut state, &applied);
    if wait_for_ready(planned) {
        if let Err(d) = wait_all_ready(ctx, store, &c).await {
            diags.push(d);
        }
    }
    Some(state)
}

/// True when `to` is a larger quantity than `from`.
fn grows(from: &str, to: &str) -> bool {
    matches!((quantity_value(from), quantity_value(to)), (Some(a), Some(b)) if b > a)
}

pub async fn update(
    ctx: &Context,
    prior: &Value,
    planned: &Value,
    diags: &mut Diagnostics,
) -> Value {
    let (Ok(c), Ok(prior_c)) = (
        KafkaCluster::from_value(planned),
        KafkaCluster::from_value(prior),
    ) else {
        diags.error(
            "Kafka cluster not fully known",
            "The planned cluster has unknown values at apply.",
        );
        return prior.clone();
    };
    let store = match common::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return prior.clone();
        }
    };
    let store = store.as_ref();
    let mut state = planned.clone();
    set_computed(&mut state, &c);
    // What was applied before stays recorded until it is replaced.
    let mut applied = recorded_objects(prior);
    macro_rules! fail {
        ($d:expr) => {{
            diags.push($d);
            set_objects(&mut state, &applied);
            return state;
        }};
    }

    // 1. Storage growth first: the claims are resized and the StatefulSets recreated with
    //    the new claim template below.
    if grows(&prior_c.storage_size, &c.storage_size) {
        let sets: Vec<ObjectRef> = c.roles().iter().map(|r| statefulset_ref(&c, *r)).collect();
        if let Err(d) = common::grow_claims(
            ctx,
            store,
            &c.namespace,
            &selector(&c, None),
            &c.storage_size,
            &sets,
            &c.id(),
        )
        .await
        {
            fail!(d);
        }
    }

    // 2. Every object, in render order (per-node files before more brokers use them).
    let objects = render::render(&c);
    for o in &objects {
        let body = apply_body(&c, o, &state);
        if let Err(d) = apply_recorded(ctx, store, o, &body, &mut applied).await {
            fail!(d);
        }
    }

    // 3. Restarts of pods whose start-time inputs changed, in roll order.
    if let Err(d) = roll(ctx, store, &c).await {
        fail!(d);
    }

    // 4. Readiness.
    if wait_for_ready(planned) {
        if let Err(d) = wait_all_ready(ctx, store, &c).await {
            fail!(d);
        }
    }
    // Objects no longer rendered (a PodDisruptionBudget of a role that went away cannot
    // happen: the mode never changes in place) are dropped from the record.
    let keys: Vec<String> = objects.iter().map(RenderedObject::key).collect();
    applied.retain(|k, _| keys.contains(k));
    set_objects(&mut state, &applied);
    state
}

/// The role and ordinal of a pod of this cluster, from its name.
fn pod_identity(c: &KafkaCluster, name: &str) -> Option<(Role, u32)> {
    [Role::Controller, Role::Broker]
        .into_iter()
        .find_map(|role| {
            name.strip_prefix(&format!("{}-", c.stateful_set_name(role)))
                .and_then(|o| o.parse::<u32>().ok())
                .map(|o| (role, o))
        })
}

/// True when a live pod runs other start-time inputs than the rendered ones.
pub fn pod_outdated(c: &KafkaCluster, role: Role, pod: &Json) -> bool {
    let digest = pod
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(CONFIG_DIGEST_ANNOTATION))
        .and_then(Json::as_str);
    let image = pod
        .pointer("/spec/containers/0/image")
        .and_then(Json::as_str);
    digest != Some(render::restart_digest(c, role).as_str()) || image != Some(c.image.as_str())
}

/// Restarts outdated pods one at a time in roll order, each ready again before the next,
/// whatever `wait_for_ready` says: deleting the next pod before the last one is back is what
/// takes partitions offline and the controller quorum down (with `wait_for_ready = false`
/// every broker used to be deleted at once). Without pods (nothing runs them) there is
/// nothing to restart.
async fn roll(ctx: &Context, store: &dyn ObjectStore, c: &KafkaCluster) -> Result<(), Diagnostic> {
    let pods = store
        .list("v1", "Pod", &c.namespace, &selector(c, None))
        .await
        .map_err(|err| kube_diagnostic(&err))?;
    let mut outdated = Vec::new();
    let mut uids: BTreeMap<(Role, u32), Option<String>> = BTreeMap::new();
    for pod in &pods {
        let Some((role, ordinal)) = pod
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .and_then(|n| pod_identity(c, n))
        else {
            continue;
        };
        if ordinal >= c.replicas(role) || !pod_outdated(c, role, pod) {
            continue;
        }
        outdated.push(PodState {
            role,
            ordinal,
            ready: pod_ready(pod),
            active_controller: false,
        });
        uids.insert(
            (role, ordinal),
            pod.pointer("/metadata/uid")
                .and_then(Json::as_str)
                .map(str::to_owned),
        );
    }
    mark_active_controller(store, c, &mut outdated).await;
    if outdated.is_empty() {
        if pods.is_empty() {
            tracing::info!(cluster = %c.id(), "no pods observed: nothing to restart");
        }
        return Ok(());
    }
    for p in roll_order(&outdated) {
        let pod = c.pod_name(p.role, p.ordinal);
        let r = ObjectRef::namespaced("v1", "Pod", &c.namespace, &pod);
        tracing::info!(cluster = %c.id(), %pod, "restarting pod with changed configuration");
        store
            .delete(&r, Propagation::Background)
            .await
            .map_err(|err| kube_diagnostic(&err))?;
        let old = uids.get(&(p.role, p.ordinal)).cloned().flatten();
        match common::wait_pod_replaced(ctx, store, &r, old.as_deref()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(kube_diagnostic(&err)),
            Err(i) => return Err(interrupted_diagnostic(i, &format!("restarting {pod}"))),
        }
    }
    Ok(())
}

/// Lines of a controller's log read to find its latest Raft state transition.
const CONTROLLER_LOG_LINES: i64 = 20_000;

/// Marks the active KRaft controller among `pods`, so it restarts last (each restart of the
/// active controller forces an election). The provider has no network path to the pods; it
/// reads each controller's log through the API server (`pods/log`) for its latest Raft state
/// transition ([`active_controller_in_log`]). When no log says so (rotated, or `pods/log` not
/// permitted) the controllers roll by ordinal, and the log says why.
async fn mark_active_controller(store: &dyn ObjectStore, c: &KafkaCluster, pods: &mut [PodState]) {
    let controllers: Vec<usize> = (0..pods.len())
        .filter(|i| pods[*i].role == Role::Controller && pods[*i].ready)
        .collect();
    if controllers.is_empty() {
        return;
    }
    let logs = futures::future::join_all(controllers.iter().map(|i| {
        let pod = c.pod_name(Role::Controller, pods[*i].ordinal);
        async move {
            store
                .pod_log_tail(&c.namespace, &pod, render::CONTAINER, CONTROLLER_LOG_LINES)
                .await
        }
    }))
    .await;
    let mut found = false;
    for (i, log) in controllers.iter().zip(logs) {
        match log {
            Ok(text) => {
                if active_controller_in_log(&text) == Some(true) {
                    pods[*i].active_controller = true;
                    found = true;
                }
            }
            Err(err) => tracing::info!(
                cluster = %c.id(),
                error = %err,
                "could not read a controller's log to find the active controller"
            ),
        }
    }
    if !found {
        tracing::info!(
            cluster = %c.id(),
            "the active controller is not known: controllers roll by ordinal"
        );
    }
}

pub async fn delete(ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
    let Ok(c) = KafkaCluster::from_value(prior) else {
        diags.error(
            "Unreadable state",
            "The state of this Kafka cluster lacks name, namespace, brokers or its mode.",
        );
        return;
    };
    let store = match common::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    let store = store.as_ref();
    if let Err(d) = common::delete_objects(ctx, store, &c.namespace, &render::render(&c)).await {
        diags.push(d);
        return;
    }
    if prior.attr("delete_volumes").as_bool() == Some(true) {
        if let Err(d) = common::delete_claims(store, &c.namespace, &selector(&c, None)).await {
            diags.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cluster() -> KafkaCluster {
        KafkaCluster::from_value(&Value::object([
            ("name", Value::from("events")),
            ("namespace", Value::from("data")),
            ("brokers", Value::int(3)),
            ("cluster_id", Value::from("BwcHBwcHBwcHBwcHBwcHBw")),
            ("kraft", Value::object([("controllers", Value::int(3))])),
        ]))
        .unwrap()
    }

    #[test]
    fn pods_are_known_by_name() {
        let c = cluster();
        assert_eq!(pod_identity(&c, "events-broker-2"), Some((Role::Broker, 2)));
        assert_eq!(
            pod_identity(&c, "events-controller-0"),
            Some((Role::Controller, 0))
        );
        assert_eq!(pod_identity(&c, "events-broker-x"), None);
        assert_eq!(pod_identity(&c, "other-broker-0"), None);
    }

    #[test]
    fn outdated_pods_by_digest_or_image() {
        let c = cluster();
        let pod = |digest: &str, image: &str| {
            json!({
                "metadata": { "annotations": { CONFIG_DIGEST_ANNOTATION: digest } },
                "spec": { "containers": [{ "image": image }] },
            })
        };
        let current = render::restart_digest(&c, Role::Broker);
        assert!(!pod_outdated(&c, Role::Broker, &pod(&current, &c.image)));
        assert!(pod_outdated(&c, Role::Broker, &pod("old", &c.image)));
        assert!(pod_outdated(&c, Role::Broker, &pod(&current, "kafka:old")));
    }

    #[test]
    fn the_broker_statefulset_carries_the_record() {
        let c = cluster();
        let state = Value::object([("name", Value::from("events"))]);
        for o in render::render(&c) {
            let body = apply_body(&c, &o, &state);
            let has = body
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(common::IMPORT_RECORD_ANNOTATION))
                .is_some();
            assert_eq!(has, o.key() == "StatefulSet/events-broker", "{}", o.key());
        }
    }
}
