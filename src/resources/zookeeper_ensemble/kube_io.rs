//! What the lifecycle shares for talking to Kubernetes: the store from the provider data,
//! diagnostics for [`KubeError`]s, the import record on the StatefulSet, the super user's
//! password, and waiting for members to be ready.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::adapters::kubernetes::{KubeError, ObjectRef, ObjectStore};
use crate::framework::{Context, Interrupted};
use crate::resources::ProviderData;
use crate::tfvalue::{self, AttributePath, Diagnostic, Value};

use super::model::{self, Ensemble};
use super::render::RenderedObject;

/// StatefulSet annotation holding the resource's arguments as written (JSON), so that import
/// by `namespace/name` reproduces them exactly. Not part of the digests: bookkeeping only.
pub const IMPORT_RECORD_ANNOTATION: &str = "zkkafka.io/resource";
/// How often readiness is polled.
const READY_POLL: Duration = Duration::from_secs(1);

/// The provider's shared Kubernetes store, or a diagnostic saying why there is none.
pub async fn store(ctx: &Context) -> Result<Arc<dyn ObjectStore>, Diagnostic> {
    let data = ctx.provider_data::<ProviderData>().ok_or_else(|| {
        Diagnostic::error(
            "Provider not configured",
            "The zkkafka provider was not configured before this resource was used.",
        )
    })?;
    data.kube.store().await.map_err(|e| kube_diagnostic(&e))
}

/// The observation cache of the configured provider, if any.
pub fn provider_data(ctx: &Context) -> Option<Arc<ProviderData>> {
    ctx.provider_data::<ProviderData>()
}

/// A practitioner's diagnostic for a failed Kubernetes operation.
pub fn kube_diagnostic(e: &KubeError) -> Diagnostic {
    match e {
        KubeError::Forbidden {
            verb,
            resource,
            namespace,
            message,
        } => {
            let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
            let scope = namespace
                .as_deref()
                .map(|n| format!(" in namespace {n}"))
                .unwrap_or_default();
            Diagnostic::error(
                "Kubernetes permission missing",
                format!(
                    "The Kubernetes user may not {verb} {resource}{scope}. Grant it through RBAC, \
                     e.g. a Role{scope} with the rule {{ apiGroups: [\"{group}\"], resources: \
                     [\"{plural}\"], verbs: [\"{verb}\"] }} bound to the user the provider \
                     connects as. The API server said: {message}"
                ),
            )
        }
        KubeError::NamespaceMissing { namespace } => Diagnostic::error(
            "Namespace does not exist",
            format!(
                "Namespace {namespace:?} does not exist. Create it first (for example with \
                 `kubectl create namespace {namespace}` or a namespace resource this ensemble \
                 depends on), or set namespace to an existing one."
            ),
        )
        .at(AttributePath::attr("namespace")),
        KubeError::Unreachable { server, detail } => Diagnostic::error(
            "Kubernetes API server unreachable",
            format!(
                "The Kubernetes API server at {server} did not answer: {detail}. Check that it \
                 runs and that the provider's kubernetes {{}} settings (or KUBECONFIG) point at it."
            ),
        ),
        KubeError::Invalid { what, message } => Diagnostic::error(
            "Kubernetes rejected an object",
            format!("The API server rejected {what}: {message}"),
        ),
        KubeError::Config { detail } => Diagnostic::error(
            "Kubernetes configuration problem",
            format!(
                "{detail}. Set the provider's kubernetes {{}} block (config_path, or host with \
                 credentials), or KUBECONFIG."
            ),
        ),
        KubeError::SettingsUnknown => Diagnostic::error(
            "Kubernetes settings not known yet",
            "The provider's kubernetes {} block depends on values that are not known yet; \
             apply what they depend on first (-target), then this resource.",
        ),
        KubeError::NotFound { what } => Diagnostic::error(
            "Kubernetes object not found",
            format!("{what} does not exist."),
        ),
        KubeError::Other { .. } => Diagnostic::error("Kubernetes request failed", e.to_string()),
    }
}

/// The diagnostic for an interrupted wait (timeout or StopProvider).
pub fn interrupted_diagnostic(i: Interrupted, what: &str) -> Diagnostic {
    match i {
        Interrupted::Stopped => Diagnostic::error(
            "Interrupted",
            format!("Stopped while {what}; the objects applied so far are kept in state."),
        ),
        Interrupted::TimedOut(limit) => Diagnostic::error(
            "Timed out",
            format!(
                "Gave up after {limit:?} while {what}. Raise the limit in the resource's \
                 timeouts block, or set wait_for_ready = false. The objects applied so far are \
                 kept in state."
            ),
        ),
    }
}

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
    let mut args = state.clone();
    if let Value::Object(m) = &mut args {
        for k in NOT_RECORDED {
            m.insert(k.to_owned(), Value::Null);
        }
    }
    let ty = model::schema().block.value_type();
    let bytes = tfvalue::json::encode(&args, &ty).ok()?;
    String::from_utf8(bytes).ok()
}

/// The arguments recorded on a StatefulSet, as a state value (computed attributes null).
pub fn decode_import_record(text: &str) -> Option<Value> {
    let ty = model::schema().block.value_type();
    tfvalue::json::decode(text.as_bytes(), &ty).ok()
}

/// The body to apply for a rendered object: the StatefulSet also carries the import record.
pub fn apply_body(object: &RenderedObject, state: &Value) -> Json {
    let mut body = object.object.clone();
    if object.kind == "StatefulSet" {
        if let Some(record) = import_record(state) {
            if let Some(meta) = body.get_mut("metadata").and_then(Json::as_object_mut) {
                let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
                if let Some(a) = annotations.as_object_mut() {
                    a.insert(IMPORT_RECORD_ANNOTATION.into(), json!(record));
                }
            }
        }
    }
    body
}

pub fn object_ref(e: &Ensemble, o: &RenderedObject) -> ObjectRef {
    ObjectRef::namespaced(o.api_version, o.kind, &e.namespace, &o.name)
}

pub fn statefulset_ref(e: &Ensemble) -> ObjectRef {
    ObjectRef::namespaced("apps/v1", "StatefulSet", &e.namespace, &e.name)
}

/// True when the StatefulSet reports `replicas` ready members for its current generation.
pub fn statefulset_ready(sts: &Json, replicas: u8) -> bool {
    let n = |p: &str| sts.pointer(p).and_then(Json::as_i64);
    let want = i64::from(replicas);
    let generation_seen = match (n("/status/observedGeneration"), n("/metadata/generation")) {
        (Some(seen), Some(generation)) => seen >= generation,
        _ => true,
    };
    n("/spec/replicas") == Some(want)
        && n("/status/readyReplicas").unwrap_or(0) >= want
        && generation_seen
}

/// Polls the StatefulSet until `replicas` members are ready; `Ok(Err)` on a request error.
pub async fn wait_ready(
    ctx: &Context,
    store: &dyn ObjectStore,
    e: &Ensemble,
    replicas: u8,
) -> Result<Result<(), KubeError>, Interrupted> {
    let r = statefulset_ref(e);
    ctx.wait(async {
        let mut last = None;
        loop {
            match store.get(&r).await {
                Ok(sts) => {
                    if statefulset_ready(&sts, replicas) {
                        return Ok(());
                    }
                    let ready = sts.pointer("/status/readyReplicas").and_then(Json::as_i64);
                    if last != Some(ready) {
                        tracing::info!(
                            ensemble = %e.id(),
                            ready = ready.unwrap_or(0),
                            want = replicas,
                            "waiting for members to be ready"
                        );
                        last = Some(ready);
                    }
                }
                Err(err) => return Err(err),
            }
            tokio::time::sleep(READY_POLL).await;
        }
    })
    .await
}

pub fn pod_ref(e: &Ensemble, pod: &str) -> ObjectRef {
    ObjectRef::namespaced("v1", "Pod", &e.namespace, pod)
}

/// True when a pod's `Ready` condition is `True`. A member is ready only while the committed
/// configuration lists it as a voter (probe.sh ready).
pub fn pod_ready(pod: &Json) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Json::as_array)
        .is_some_and(|c| {
            c.iter().any(|c| {
                c.get("type").and_then(Json::as_str) == Some("Ready")
                    && c.get("status").and_then(Json::as_str) == Some("True")
            })
        })
}

/// Polls until the pod no longer exists: after a scale-down its preStop hook has run
/// (`member.sh leave`, the member is out of the voters) and the next step may begin.
pub async fn wait_pod_gone(
    ctx: &Context,
    store: &dyn ObjectStore,
    e: &Ensemble,
    pod: &str,
) -> Result<Result<(), KubeError>, Interrupted> {
    let r = pod_ref(e, pod);
    ctx.wait(async {
        let mut logged = false;
        loop {
            match store.get(&r).await {
                Err(err) if err.is_not_found() => return Ok(()),
                Err(err) => return Err(err),
                Ok(_) => {
                    if !logged {
                        tracing::info!(ensemble = %e.id(), %pod, "waiting for the member to leave and its pod to stop");
                        logged = true;
                    }
                }
            }
            tokio::time::sleep(READY_POLL).await;
        }
    })
    .await
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
    let r = pod_ref(e, pod);
    ctx.wait(async {
        loop {
            match store.get(&r).await {
                Ok(p) => {
                    let uid = p.pointer("/metadata/uid").and_then(Json::as_str);
                    if (old_uid.is_none() || uid != old_uid) && pod_ready(&p) {
                        return Ok(());
                    }
                }
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err),
            }
            tokio::time::sleep(READY_POLL).await;
        }
    })
    .await
}
