//! What the Kubernetes-backed resources share at apply and refresh time: the store from the
//! provider data, diagnostics for [`KubeError`]s and interrupted waits, the import record a
//! StatefulSet carries, applying one rendered object, readiness waits, volume claims.
//!
//! Every wait goes through [`Context::wait`], so `timeouts` and StopProvider end it; every
//! apply records the digest of what landed, so a failure midway leaves state that lists
//! exactly the objects that exist.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::adapters::kubernetes::{KubeError, ObjectRef, ObjectStore, Propagation};
use crate::framework::{Context, Interrupted};
use crate::resources::provider_config::Configured;
use crate::resources::ProviderData;
use crate::tfvalue::{self, AttributePath, Diagnostic, Type, Value};

use super::objects::RenderedObject;

/// StatefulSet annotation holding the resource's arguments as written (JSON), so that import
/// by `namespace/name` reproduces them exactly. Not part of the digests: bookkeeping only.
pub const IMPORT_RECORD_ANNOTATION: &str = "zkkafka.io/resource";
/// How often readiness is polled.
pub const READY_POLL: Duration = Duration::from_secs(1);

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

/// The store for a refresh, or `None` when the provider's kubernetes {} block is not known yet
/// (it takes values from a resource this run creates or replaces): nothing can be read then, so
/// refresh keeps the prior state and the apply, configured with the real values, acts on it.
pub async fn refresh_store(ctx: &Context) -> Result<Option<Arc<dyn ObjectStore>>, Diagnostic> {
    let unknown = ctx
        .provider_data::<ProviderData>()
        .is_some_and(|data| matches!(data.kubernetes, Configured::Unknown));
    if unknown {
        tracing::debug!("kubernetes settings not known yet; refresh keeps the prior state");
        return Ok(None);
    }
    store(ctx).await.map(Some)
}

/// The configured provider's data (its observation cache), if any.
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
                 `kubectl create namespace {namespace}` or a namespace resource this resource \
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

/// The import record of a state: its arguments as JSON, the attributes in `not_recorded`
/// (computed or generated ones) left out.
pub fn import_record(state: &Value, ty: &Type, not_recorded: &[&str]) -> Option<String> {
    let mut args = state.clone();
    if let Value::Object(m) = &mut args {
        for k in not_recorded {
            m.insert((*k).to_owned(), Value::Null);
        }
    }
    let bytes = tfvalue::json::encode(&args, ty).ok()?;
    String::from_utf8(bytes).ok()
}

/// The arguments recorded on a StatefulSet, as a state value of type `ty`.
pub fn decode_import_record(text: &str, ty: &Type) -> Option<Value> {
    tfvalue::json::decode(text.as_bytes(), ty).ok()
}

/// The import record found on a live object, if any.
pub fn recorded_arguments(object: &Json, ty: &Type) -> Option<Value> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(IMPORT_RECORD_ANNOTATION))
        .and_then(Json::as_str)
        .and_then(|t| decode_import_record(t, ty))
}

/// The body to apply for a rendered object, with `record` as its import record annotation.
pub fn with_import_record(object: &RenderedObject, record: Option<&str>) -> Json {
    let mut body = object.object.clone();
    if let Some(record) = record {
        if let Some(meta) = body.get_mut("metadata").and_then(Json::as_object_mut) {
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(IMPORT_RECORD_ANNOTATION.into(), json!(record));
            }
        }
    }
    body
}

/// `namespace/name` split, both non-empty.
pub fn split_import_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
        .filter(|(n, m)| !n.is_empty() && !m.is_empty() && !m.contains('/'))
}

/// Sets `kubernetes_objects` in a state to `digests`.
pub fn set_objects(state: &mut Value, digests: &BTreeMap<String, String>) {
    if let Value::Object(m) = state {
        m.insert(
            "kubernetes_objects".into(),
            Value::Map(
                digests
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect(),
            ),
        );
    }
}

/// The `kubernetes_objects` digests a state records.
pub fn recorded_objects(state: &Value) -> BTreeMap<String, String> {
    state
        .attr("kubernetes_objects")
        .as_entries()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Applies `body` (the rendered `object`, perhaps with an import record) through `ctx.wait`,
/// recording the rendered digest in `applied` when it lands.
pub async fn apply_recorded(
    ctx: &Context,
    store: &dyn ObjectStore,
    object: &RenderedObject,
    body: &Json,
    applied: &mut BTreeMap<String, String>,
) -> Result<(), Diagnostic> {
    match ctx.wait(store.apply(body, false)).await {
        Ok(Ok(_)) => {
            applied.insert(object.key(), object.digest());
            Ok(())
        }
        Ok(Err(e)) => Err(kube_diagnostic(&e)),
        Err(i) => Err(interrupted_diagnostic(
            i,
            &format!("applying {}", object.key()),
        )),
    }
}

/// The digest of a projection of a live object (see [`super::observe::project`]).
pub fn digest_of(projection: &Json) -> String {
    RenderedObject {
        api_version: "",
        kind: "",
        name: String::new(),
        object: projection.clone(),
    }
    .digest()
}

/// True when the StatefulSet reports `replicas` ready pods for its current generation.
pub fn statefulset_ready(sts: &Json, replicas: u32) -> bool {
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

/// Polls the StatefulSet `r` until `replicas` pods are ready; `Ok(Err)` on a request error.
pub async fn wait_statefulset_ready(
    ctx: &Context,
    store: &dyn ObjectStore,
    r: &ObjectRef,
    replicas: u32,
) -> Result<Result<(), KubeError>, Interrupted> {
    ctx.wait(async {
        let mut last = None;
        loop {
            match store.get(r).await {
                Ok(sts) => {
                    if statefulset_ready(&sts, replicas) {
                        return Ok(());
                    }
                    let ready = sts.pointer("/status/readyReplicas").and_then(Json::as_i64);
                    if last != Some(ready) {
                        tracing::info!(
                            statefulset = %format!("{}/{}", r.namespace.as_deref().unwrap_or_default(), r.name),
                            ready = ready.unwrap_or(0),
                            want = replicas,
                            "waiting for pods to be ready"
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

/// True when a pod's `Ready` condition is `True`.
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

/// Polls until the object `r` no longer exists.
pub async fn wait_gone(
    ctx: &Context,
    store: &dyn ObjectStore,
    r: &ObjectRef,
) -> Result<Result<(), KubeError>, Interrupted> {
    ctx.wait(async {
        let mut logged = false;
        loop {
            match store.get(r).await {
                Err(err) if err.is_not_found() => return Ok(()),
                Err(err) => return Err(err),
                Ok(_) => {
                    if !logged {
                        tracing::info!(kind = %r.kind, name = %r.name, "waiting for the object to be gone");
                        logged = true;
                    }
                }
            }
            tokio::time::sleep(READY_POLL).await;
        }
    })
    .await
}

/// Polls until the pod `r` exists again with another uid than `old_uid` and is ready.
pub async fn wait_pod_replaced(
    ctx: &Context,
    store: &dyn ObjectStore,
    r: &ObjectRef,
    old_uid: Option<&str>,
) -> Result<Result<(), KubeError>, Interrupted> {
    ctx.wait(async {
        loop {
            match store.get(r).await {
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

/// A label selector string (`k=v,k=v`) from selector labels.
pub fn selector_string(labels: &serde_json::Map<String, Json>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

/// A listed object's reference in `namespace` (list items carry no apiVersion or kind).
pub fn listed_ref(
    api_version: &str,
    kind: &str,
    namespace: &str,
    item: &Json,
) -> Option<ObjectRef> {
    let name = item.pointer("/metadata/name").and_then(Json::as_str)?;
    Some(ObjectRef::namespaced(api_version, kind, namespace, name))
}

/// Resizes every volume claim matching `selector` to `size`, refusing when their StorageClass
/// does not allow expansion, then deletes the StatefulSets `sets` (orphaning their running
/// pods) and waits until they are gone, so they can be applied again with the new claim
/// template (claim templates cannot change in place). `what` names the owner in messages.
pub async fn grow_claims(
    ctx: &Context,
    store: &dyn ObjectStore,
    namespace: &str,
    selector: &str,
    size: &str,
    sets: &[ObjectRef],
    what: &str,
) -> Result<(), Diagnostic> {
    let claims = store
        .list("v1", "PersistentVolumeClaim", namespace, selector)
        .await
        .map_err(|err| kube_diagnostic(&err))?;
    let mut classes_checked: BTreeMap<String, bool> = BTreeMap::new();
    for claim in &claims {
        let Some(r) = listed_ref("v1", "PersistentVolumeClaim", namespace, claim) else {
            continue;
        };
        if let Some(class) = claim
            .pointer("/spec/storageClassName")
            .and_then(Json::as_str)
        {
            let allowed = match classes_checked.get(class) {
                Some(a) => *a,
                None => {
                    let sc = store
                        .get(&ObjectRef {
                            api_version: "storage.k8s.io/v1".into(),
                            kind: "StorageClass".into(),
                            namespace: None,
                            name: class.to_owned(),
                        })
                        .await
                        .map_err(|err| kube_diagnostic(&err))?;
                    let a = sc.get("allowVolumeExpansion").and_then(Json::as_bool) == Some(true);
                    classes_checked.insert(class.to_owned(), a);
                    a
                }
            };
            if !allowed {
                return Err(Diagnostic::error(
                    "Storage cannot grow",
                    format!(
                        "StorageClass {class} does not allow volume expansion \
                         (allowVolumeExpansion), so the claims of {what} cannot be resized."
                    ),
                )
                .at(AttributePath::attr("storage").then_attr("size")));
            }
        }
        let body = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": { "name": r.name, "namespace": namespace },
            "spec": { "resources": { "requests": { "storage": size } } },
        });
        match ctx.wait(store.apply(&body, false)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(kube_diagnostic(&err)),
            Err(i) => {
                return Err(interrupted_diagnostic(
                    i,
                    &format!("resizing claim {}", r.name),
                ))
            }
        }
        tracing::info!(claim = %r.name, %size, "volume claim resized");
    }
    // Recreate the StatefulSets with the new claim template; their pods keep running
    // (orphaned, then adopted again). Without pods there is nothing to orphan.
    let pods = store
        .list("v1", "Pod", namespace, selector)
        .await
        .map_err(|err| kube_diagnostic(&err))?;
    let propagation = if pods.is_empty() {
        Propagation::Background
    } else {
        Propagation::Orphan
    };
    for r in sets {
        match store.delete(r, propagation).await {
            Ok(_) => {}
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(kube_diagnostic(&err)),
        }
        match wait_gone(ctx, store, r).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(kube_diagnostic(&err)),
            Err(i) => {
                return Err(interrupted_diagnostic(
                    i,
                    &format!("recreating StatefulSet {} for larger volumes", r.name),
                ))
            }
        }
    }
    Ok(())
}

/// The cache key of an observed object (shared by refresh and the plan's warnings).
pub fn observed_key(namespace: &str, object_key: &str) -> String {
    format!("{namespace}/{object_key}")
}

/// Refresh: fetches each of `objects` that state records (every one when it records none, as
/// after an import) once, all at once, and returns the digest of each live object's managed
/// fields by `Kind/name`; a missing object has no entry. The projections go to the provider's
/// observation cache for the plan's warnings. `owner` names the resource in logs.
pub async fn observe_objects(
    ctx: &Context,
    store: &dyn ObjectStore,
    namespace: &str,
    mut objects: Vec<RenderedObject>,
    state: &Value,
    owner: &str,
) -> Result<BTreeMap<String, Value>, Diagnostic> {
    if let Some(known) = state.attr("kubernetes_objects").as_entries() {
        objects.retain(|o| known.contains_key(&o.key()));
    }
    let refs: Vec<ObjectRef> = objects
        .iter()
        .map(|o| ObjectRef::namespaced(o.api_version, o.kind, namespace, &o.name))
        .collect();
    let lives = futures::future::join_all(refs.iter().map(|r| store.get(r))).await;
    // `gets` is this refresh's own count; `requests_total` is the process-wide counter, shared
    // by refreshes running concurrently (so its deltas are not per resource).
    tracing::debug!(
        resource = %owner,
        gets = objects.len(),
        requests_total = store.requests_sent(),
        "refreshed"
    );
    let mut digests = BTreeMap::new();
    let mut observed = Vec::new();
    for (o, live) in objects.iter().zip(lives) {
        match live {
            Ok(live) => {
                let p = super::observe::project(&o.object, &live);
                digests.insert(o.key(), Value::from(digest_of(&p)));
                observed.push((observed_key(namespace, &o.key()), p));
            }
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(kube_diagnostic(&err)),
        }
    }
    if let Some(data) = provider_data(ctx) {
        if let Ok(mut cache) = data.observed.lock() {
            cache.extend(observed);
        }
    }
    Ok(digests)
}

/// Destroy: deletes `objects` in reverse (apply) order; one already gone is fine.
pub async fn delete_objects(
    ctx: &Context,
    store: &dyn ObjectStore,
    namespace: &str,
    objects: &[RenderedObject],
) -> Result<(), Diagnostic> {
    for o in objects.iter().rev() {
        let r = ObjectRef::namespaced(o.api_version, o.kind, namespace, &o.name);
        match ctx.wait(store.delete(&r, Propagation::Background)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) if err.is_not_found() => {}
            Ok(Err(err)) => return Err(kube_diagnostic(&err)),
            Err(i) => return Err(interrupted_diagnostic(i, &format!("deleting {}", o.key()))),
        }
    }
    Ok(())
}

/// Deletes every volume claim matching `selector` (destroy with `delete_volumes = true`).
pub async fn delete_claims(
    store: &dyn ObjectStore,
    namespace: &str,
    selector: &str,
) -> Result<(), Diagnostic> {
    let claims = store
        .list("v1", "PersistentVolumeClaim", namespace, selector)
        .await
        .map_err(|err| kube_diagnostic(&err))?;
    for claim in &claims {
        if let Some(r) = listed_ref("v1", "PersistentVolumeClaim", namespace, claim) {
            match store.delete(&r, Propagation::Background).await {
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(kube_diagnostic(&err)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_needs_the_current_generation() {
        let sts = |replicas: i64, ready: i64, generation: i64, seen: i64| {
            json!({
                "metadata": { "generation": generation },
                "spec": { "replicas": replicas },
                "status": { "readyReplicas": ready, "observedGeneration": seen },
            })
        };
        assert!(statefulset_ready(&sts(3, 3, 2, 2), 3));
        assert!(!statefulset_ready(&sts(3, 3, 3, 2), 3), "stale status");
        assert!(!statefulset_ready(&sts(3, 2, 2, 2), 3));
        assert!(!statefulset_ready(&sts(5, 5, 2, 2), 3), "other size");
    }

    #[test]
    fn import_ids() {
        assert_eq!(split_import_id("data/zk"), Some(("data", "zk")));
        for bad in ["zk", "/zk", "data/", "a/b/c", ""] {
            assert_eq!(split_import_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn import_record_round_trips_and_leaves_out_computed() {
        let ty = Type::Object(
            [
                ("name".to_string(), Type::String),
                ("id".to_string(), Type::String),
            ]
            .into(),
        );
        let state = Value::object([("name", Value::from("zk")), ("id", Value::from("d/zk"))]);
        let text = import_record(&state, &ty, &["id"]).unwrap();
        let back = decode_import_record(&text, &ty).unwrap();
        assert_eq!(back.attr("name"), &Value::from("zk"));
        assert!(back.attr("id").is_null());
    }
}
