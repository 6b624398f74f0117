//! What the lifecycle shares for talking to Kubernetes: the store from the provider data,
//! diagnostics for [`KubeError`]s, the import record on the StatefulSet, the super user's
//! password, and waiting for members to be ready.

use serde_json::Value as Json;

use crate::adapters::kubernetes::{KubeError, ObjectRef, ObjectStore};
use crate::framework::{Context, Interrupted};
use crate::resources::k8s_common::kube_io as common;
use crate::tfvalue::{Diagnostic, Value};

use super::model::{self, Ensemble};
use super::render::RenderedObject;

pub use crate::resources::k8s_common::kube_io::{
    interrupted_diagnostic, kube_diagnostic, pod_ready, provider_data, statefulset_ready, store,
    IMPORT_RECORD_ANNOTATION,
};

/// A fresh password for ZooKeeper's super user: 24 random bytes, URL-safe base64.
pub fn generate_password() -> Result<String, Diagnostic> {
    use base64::Engine as _;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| {
        Diagnostic::error(
            "No randomness",
            format!("Could not generate the super user's password: {e}"),
        )
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Attributes that are computed (or sensitive and generated): never in the import record.
/// Everything the user writes is, `timeouts` included, so an import plans empty.
const NOT_RECORDED: [&str; 5] = [
    "id",
    "connect_string",
    "servers",
    "kubernetes_objects",
    "super_password",
];

/// The import record of a state: its arguments as JSON.
pub fn import_record(state: &Value) -> Option<String> {
    common::import_record(state, &model::schema().block.value_type(), &NOT_RECORDED)
}

/// The arguments recorded on a StatefulSet, as a state value (computed attributes null).
pub fn decode_import_record(text: &str) -> Option<Value> {
    common::decode_import_record(text, &model::schema().block.value_type())
}

/// The body to apply for a rendered object: the StatefulSet also carries the import record.
pub fn apply_body(object: &RenderedObject, state: &Value) -> Json {
    let record = (object.kind == "StatefulSet")
        .then(|| import_record(state))
        .flatten();
    common::with_import_record(object, record.as_deref())
}

pub fn statefulset_ref(e: &Ensemble) -> ObjectRef {
    ObjectRef::namespaced("apps/v1", "StatefulSet", &e.namespace, &e.name)
}

/// Polls the StatefulSet until `replicas` members are ready; `Ok(Err)` on a request error.
pub async fn wait_ready(
    ctx: &Context,
    store: &dyn ObjectStore,
    e: &Ensemble,
    replicas: u8,
) -> Result<Result<(), KubeError>, Interrupted> {
    common::wait_statefulset_ready(ctx, store, &statefulset_ref(e), u32::from(replicas)).await
}

pub fn pod_ref(e: &Ensemble, pod: &str) -> ObjectRef {
    ObjectRef::namespaced("v1", "Pod", &e.namespace, pod)
}

/// Polls until the pod no longer exists: after a scale-down its preStop hook has run
/// (`member.sh leave`, the member is out of the voters) and the next step may begin.
pub async fn wait_pod_gone(
    ctx: &Context,
    store: &dyn ObjectStore,
    e: &Ensemble,
    pod: &str,
) -> Result<Result<(), KubeError>, Interrupted> {
    tracing::info!(ensemble = %e.id(), %pod, "waiting for the member to leave and its pod to stop");
    common::wait_gone(ctx, store, &pod_ref(e, pod)).await
}

/// Polls until the pod exists again with another uid than `old_uid` and is ready: a restarted
/// member serves as a voter again.
pub async fn wait_pod_replaced(
    ctx: &Context,
    store: &dyn ObjectStore,
    e: &Ensemble,
    pod: &str,
    old_uid: Option<&str>,
) -> Result<Result<(), KubeError>, Interrupted> {
    common::wait_pod_replaced(ctx, store, &pod_ref(e, pod), old_uid).await
}
