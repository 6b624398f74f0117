//! Kubernetes behind the small [`ObjectStore`] trait: server-side apply with our field
//! manager, get, delete, list by label, and status patches (tests play the controller).
//!
//! Start at [`KubeConnector`], which builds one client lazily from the provider's
//! `kubernetes {}` settings ([`config`]) and shares it, like `ZkPool` does for ZooKeeper
//! sessions. Objects travel as plain JSON (`serde_json::Value`): the resources render JSON and
//! compare JSON, so no typed Kubernetes structs leak into `resources/`. Errors are
//! [`KubeError`]s that say what failed in the practitioner's terms (a missing RBAC permission,
//! a missing namespace, an API server that does not answer within [`REQUEST_TIMEOUT`]).

mod client;
pub mod config;
mod error;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

pub use client::KubeClient;
pub use error::KubeError;

use crate::resources::provider_config::{Configured, KubernetesSettings};

/// How long one API request may take in all (connect, send, answer). An API server that is
/// down or black-holed gives an error within this, never a hang.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long opening a connection may take: a refused or unroutable server fails fast.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which object: `apiVersion`, `kind`, namespace (None for cluster-scoped kinds) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn namespaced(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// The reference an object (JSON with apiVersion, kind and metadata) names.
    pub fn of(object: &Json) -> Option<ObjectRef> {
        let s = |p: &str| object.pointer(p).and_then(Json::as_str).map(str::to_owned);
        Some(ObjectRef {
            api_version: s("/apiVersion")?,
            kind: s("/kind")?,
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name")?,
        })
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{} in namespace {ns}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// What happens to an object's dependents (a StatefulSet's pods) when it is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Deleted at once; the garbage collector removes dependents afterwards.
    Background,
    /// Dependents first (needs the garbage collector of kube-controller-manager).
    Foreground,
    /// Dependents are left running.
    Orphan,
}

/// The Kubernetes operations the resources need. Implemented by [`KubeClient`].
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Server-side apply of `object` with the field manager `zkkafka`, forcing ownership of the
    /// fields it sets (the provider wins conflicts on its own fields). Returns the live object.
    /// With `dry_run` the API server validates, defaults and returns it without storing.
    async fn apply(&self, object: &Json, dry_run: bool) -> Result<Json, KubeError>;

    /// The live object; [`KubeError::NotFound`] when it does not exist.
    async fn get(&self, object: &ObjectRef) -> Result<Json, KubeError>;

    /// Deletes the object; a missing object is not an error (`Ok(false)`).
    async fn delete(&self, object: &ObjectRef, propagation: Propagation)
        -> Result<bool, KubeError>;

    /// Objects of a kind in a namespace matching a label selector (`a=b,c=d`).
    async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<Json>, KubeError>;

    /// Merge-patches the `status` subresource. The provider never writes status; tests do, as
    /// the controller would (there is no kube-controller-manager on the test control plane).
    async fn patch_status(&self, object: &ObjectRef, status: &Json) -> Result<Json, KubeError>;

    /// The last `lines` lines of a pod container's log (the `pods/log` subresource).
    async fn pod_log_tail(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        lines: i64,
    ) -> Result<String, KubeError> {
        let _ = (container, lines);
        Err(KubeError::NotFound {
            what: format!("the log of pod {namespace}/{pod}"),
        })
    }

    /// Requests sent so far by this store (for the request-count benchmark and logs).
    fn requests_sent(&self) -> u64;
}

/// Builds the shared Kubernetes client on first use from the provider's settings.
pub struct KubeConnector {
    settings: Configured<KubernetesSettings>,
    store: tokio::sync::OnceCell<Arc<KubeClient>>,
}

impl KubeConnector {
    pub fn new(settings: Configured<KubernetesSettings>) -> KubeConnector {
        KubeConnector {
            settings,
            store: tokio::sync::OnceCell::new(),
        }
    }

    /// The shared store. A failure (bad kubeconfig) is not cached: the next call tries again.
    pub async fn store(&self) -> Result<Arc<dyn ObjectStore>, KubeError> {
        let client = self
            .store
            .get_or_try_init(|| async {
                let cfg = config::client_config(&self.settings).await?;
                KubeClient::new(cfg).map(Arc::new)
            })
            .await?;
        Ok(client.clone() as Arc<dyn ObjectStore>)
    }
}
