//! [`KubeClient`]: the [`ObjectStore`] over kube's dynamic API, one request per call, each
//! bounded by [`REQUEST_TIMEOUT`].

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams,
    PropagationPolicy,
};
use serde_json::Value as Json;

use super::error::{chain, Operation};
use super::{KubeError, ObjectRef, ObjectStore, Propagation, REQUEST_TIMEOUT};
use crate::resources::zookeeper_ensemble::render::FIELD_MANAGER;

/// The kinds the provider manages or reads, with their plural resource names.
const KINDS: [(&str, &str, &str); 9] = [
    ("v1", "ConfigMap", "configmaps"),
    ("v1", "Secret", "secrets"),
    ("v1", "Service", "services"),
    ("v1", "Pod", "pods"),
    ("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ("v1", "Namespace", "namespaces"),
    ("apps/v1", "StatefulSet", "statefulsets"),
    ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    ("storage.k8s.io/v1", "StorageClass", "storageclasses"),
];

fn api_resource(api_version: &str, kind: &str) -> Result<ApiResource, KubeError> {
    let plural = KINDS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, p)| *p)
        .ok_or_else(|| KubeError::Other {
            what: format!("{api_version} {kind}"),
            detail: "not a kind this provider knows".into(),
        })?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Ok(ApiResource {
        group: group.to_owned(),
        version: version.to_owned(),
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    })
}

/// `statefulsets.apps`, `configmaps`: how RBAC names a resource.
fn rbac_resource(ar: &ApiResource) -> String {
    if ar.group.is_empty() {
        ar.plural.clone()
    } else {
        format!("{}.{}", ar.plural, ar.group)
    }
}

/// A Kubernetes client shared by every resource call.
pub struct KubeClient {
    client: kube::Client,
    server: String,
    requests: AtomicU64,
}

impl KubeClient {
    pub fn new(config: kube::Config) -> Result<KubeClient, KubeError> {
        let server = config.cluster_url.to_string();
        let client =
            kube::Client::try_from(config).map_err(|e| KubeError::Config { detail: chain(&e) })?;
        Ok(KubeClient {
            client,
            server,
            requests: AtomicU64::new(0),
        })
    }

    fn api(&self, ar: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, ar),
            None => Api::all_with(self.client.clone(), ar),
        }
    }

    /// Runs one request with the overall timeout, counting it and mapping its error.
    async fn call<T>(
        &self,
        op: Operation<'_>,
        fut: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, KubeError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(KubeError::from_kube(&op, e)),
            Err(_) => Err(KubeError::Unreachable {
                server: self.server.clone(),
                detail: format!("no answer within {REQUEST_TIMEOUT:?}"),
            }),
        }
    }

    fn op<'a>(&'a self, verb: &'a str, ar: &ApiResource, r: &'a ObjectRef) -> Operation<'a> {
        Operation {
            verb,
            resource: rbac_resource(ar),
            namespace: r.namespace.as_deref(),
            what: r.to_string(),
            server: &self.server,
        }
    }
}

fn to_json(obj: DynamicObject) -> Result<Json, KubeError> {
    serde_json::to_value(obj).map_err(|e| KubeError::Other {
        what: "decoding an object".into(),
        detail: e.to_string(),
    })
}

#[async_trait]
impl ObjectStore for KubeClient {
    async fn apply(&self, object: &Json, dry_run: bool) -> Result<Json, KubeError> {
        let r = ObjectRef::of(object).ok_or_else(|| KubeError::Other {
            what: "apply".into(),
            detail: "object without apiVersion, kind or metadata.name".into(),
        })?;
        let ar = api_resource(&r.api_version, &r.kind)?;
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        if dry_run {
            params = params.dry_run();
        }
        let api = self.api(&ar, r.namespace.as_deref());
        let obj = self
            .call(
                self.op("patch", &ar, &r),
                api.patch(&r.name, &params, &Patch::Apply(object)),
            )
            .await?;
        to_json(obj)
    }

    async fn get(&self, r: &ObjectRef) -> Result<Json, KubeError> {
        let ar = api_resource(&r.api_version, &r.kind)?;
        let api = self.api(&ar, r.namespace.as_deref());
        let obj = self.call(self.op("get", &ar, r), api.get(&r.name)).await?;
        to_json(obj)
    }

    async fn delete(&self, r: &ObjectRef, propagation: Propagation) -> Result<bool, KubeError> {
        let ar = api_resource(&r.api_version, &r.kind)?;
        let api = self.api(&ar, r.namespace.as_deref());
        let params = DeleteParams {
            propagation_policy: Some(match propagation {
                Propagation::Background => PropagationPolicy::Background,
                Propagation::Foreground => PropagationPolicy::Foreground,
                Propagation::Orphan => PropagationPolicy::Orphan,
            }),
            ..DeleteParams::default()
        };
        match self
            .call(self.op("delete", &ar, r), api.delete(&r.name, &params))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<Json>, KubeError> {
        let ar = api_resource(api_version, kind)?;
        let api = self.api(&ar, Some(namespace));
        let op = Operation {
            verb: "list",
            resource: rbac_resource(&ar),
            namespace: Some(namespace),
            what: format!("{kind} objects matching {label_selector} in namespace {namespace}"),
            server: &self.server,
        };
        let list = self
            .call(op, api.list(&ListParams::default().labels(label_selector)))
            .await?;
        list.items.into_iter().map(to_json).collect()
    }

    async fn patch_status(&self, r: &ObjectRef, status: &Json) -> Result<Json, KubeError> {
        let ar = api_resource(&r.api_version, &r.kind)?;
        let api = self.api(&ar, r.namespace.as_deref());
        let patch = serde_json::json!({ "status": status });
        let obj = self
            .call(
                self.op("patch", &ar, r),
                api.patch_status(&r.name, &PatchParams::default(), &Patch::Merge(&patch)),
            )
            .await?;
        to_json(obj)
    }

    async fn pod_log_tail(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        lines: i64,
    ) -> Result<String, KubeError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client.clone(), namespace);
        let params = LogParams {
            container: Some(container.to_owned()),
            tail_lines: Some(lines),
            ..LogParams::default()
        };
        let op = Operation {
            verb: "get",
            resource: "pods/log".into(),
            namespace: Some(namespace),
            what: format!("the log of pod {namespace}/{pod}"),
            server: &self.server,
        };
        self.call(op, api.logs(pod, &params)).await
    }

    fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
