//! Read (refresh) and import: every managed object is fetched once, concurrently, and its
//! managed fields (see [`crate::resources::k8s_common::observe`]) become the digest in
//! `kubernetes_objects`. A digest that differs from the rendered one is drift; a missing key is
//! a deleted object; no object at all means the cluster is gone.

use crate::adapters::kubernetes::ObjectRef;
use crate::framework::Context;
use crate::resources::k8s_common::kube_io::{self as common, IMPORT_RECORD_ANNOTATION};
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

use super::lifecycle::set_computed;
use super::model::{self, KafkaCluster, Role};
use super::render;

pub async fn read(ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
    let Ok(c) = KafkaCluster::from_value(state) else {
        diags.push(Diagnostic::error(
            "Unreadable state",
            "The state of this Kafka cluster lacks name, namespace, brokers or its mode; \
             remove it from state and import it again by namespace/name.",
        ));
        return Some(state.clone());
    };
    let store = match common::refresh_store(ctx).await {
        Ok(Some(s)) => s,
        Ok(None) => return Some(state.clone()),
        Err(d) => {
            diags.push(d);
            return Some(state.clone());
        }
    };
    let digests = match common::observe_objects(
        ctx,
        store.as_ref(),
        &c.namespace,
        render::render(&c),
        state,
        &c.id(),
    )
    .await
    {
        Ok(d) => d,
        Err(d) => {
            diags.push(d);
            return Some(state.clone());
        }
    };
    if digests.is_empty() {
        tracing::info!(cluster = %c.id(), "no managed object exists: the cluster is gone");
        return None;
    }
    let mut out = state.clone();
    set_computed(&mut out, &c);
    if let Value::Object(m) = &mut out {
        m.insert("kubernetes_objects".into(), Value::Map(digests));
    }
    Some(out)
}

/// Import by `namespace/name`: the arguments (cluster id included) come from the broker
/// StatefulSet's import record; `read` then fills in the digests.
pub async fn import(ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
    let Some((namespace, name)) = common::split_import_id(id) else {
        diags.error(
            "Invalid import ID",
            format!("Import a Kafka cluster by namespace/name, e.g. data/events; got {id:?}."),
        );
        return None;
    };
    let store = match common::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let sts_name = format!("{name}-{}", Role::Broker.as_str());
    let sts_ref = ObjectRef::namespaced("apps/v1", "StatefulSet", namespace, &sts_name);
    let sts = match store.get(&sts_ref).await {
        Ok(s) => s,
        Err(err) if err.is_not_found() => {
            diags.error(
                "Kafka cluster not found",
                format!(
                    "There is no StatefulSet {sts_name} (the brokers of {name}) in namespace \
                     {namespace} to import."
                ),
            );
            return None;
        }
        Err(err) => {
            diags.push(common::kube_diagnostic(&err));
            return None;
        }
    };
    let Some(mut state) = common::recorded_arguments(&sts, &model::schema().block.value_type())
    else {
        diags.error(
            "Not a Kafka cluster made by this provider",
            format!(
                "StatefulSet {sts_name} in namespace {namespace} has no \
                 {IMPORT_RECORD_ANNOTATION} annotation: only clusters this provider created can \
                 be imported."
            ),
        );
        return None;
    };
    let Ok(c) = KafkaCluster::from_value(&state) else {
        diags.error(
            "Unreadable import record",
            format!(
                "The {IMPORT_RECORD_ANNOTATION} annotation of StatefulSet {sts_name} does not \
                 describe a Kafka cluster."
            ),
        );
        return None;
    };
    if c.namespace != namespace || c.name != name {
        diags.error(
            "Import record of another cluster",
            format!(
                "StatefulSet {sts_name} in namespace {namespace} records the cluster {}; \
                 import that id instead.",
                c.id()
            ),
        );
        return None;
    }
    set_computed(&mut state, &c);
    if let Value::Object(m) = &mut state {
        m.insert("kubernetes_objects".into(), Value::Null);
    }
    Some(state)
}
