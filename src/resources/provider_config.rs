//! `provider "zkkafka" { kubernetes {} zookeeper {} }`: schema, validation, and the
//! [`ProviderData`] every resource call receives.
//!
//! Either block may hold values that are unknown at plan time (for example a connect string
//! taken from an ensemble created in the same apply). That is not an error: the provider
//! remembers the block as "not known yet"; refreshes that would need it keep the prior state
//! (see `zk_common::refresh_session`), and the apply is configured with the real values.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::adapters::kubernetes::KubeConnector;
use crate::adapters::zookeeper::{ZkConnection, ZkPool};
use crate::framework::{Attribute, Block, NestedBlock, Schema};
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Type, Value};

use super::zk_common::{connection_block_body, parse_connection};

pub fn schema() -> Schema {
    let kubernetes = Block::new(
        "How to reach the Kubernetes API server. Without it: KUBECONFIG, ~/.kube/config, or the \
         in-cluster service account.",
    )
    .attr(Attribute::optional("config_path", Type::String).describe("Path to a kubeconfig file."))
    .attr(
        Attribute::optional("config_context", Type::String)
            .describe("Context to use from the kubeconfig."),
    )
    .attr(
        Attribute::optional("host", Type::String)
            .describe("API server URL, e.g. https://10.0.0.1:6443."),
    )
    .attr(
        Attribute::optional("token", Type::String)
            .sensitive()
            .describe("Bearer token."),
    )
    .attr(
        Attribute::optional("cluster_ca_certificate", Type::String)
            .describe("PEM CA certificate of the API server."),
    )
    .attr(
        Attribute::optional("client_certificate", Type::String).describe("PEM client certificate."),
    )
    .attr(
        Attribute::optional("client_key", Type::String)
            .sensitive()
            .describe("PEM client key."),
    );
    let zookeeper = connection_block_body(
        "Default ZooKeeper connection for zkkafka_znode and zkkafka_znode_acl (a resource's own \
         zookeeper {} block overrides it).",
    );
    Schema {
        version: 0,
        block: Block::new("Manages ZooKeeper ensembles and Kafka clusters on Kubernetes, and znodes and their ACLs.")
            .block(NestedBlock::single("kubernetes", kubernetes))
            .block(NestedBlock::single("zookeeper", zookeeper)),
    }
}

pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let k = config.attr("kubernetes");
    if k.is_null() {
        return;
    }
    let path = AttributePath::attr("kubernetes");
    let set = |name: &str| !k.attr(name).is_null();
    if set("config_path") && set("host") {
        diags.error_at(
            path.then_attr("host"),
            "Conflicting Kubernetes settings",
            "Set either config_path (and config_context) or host with credentials, not both.",
        );
    }
    if set("client_certificate") != set("client_key") {
        diags.error_at(
            path.then_attr(if set("client_key") {
                "client_certificate"
            } else {
                "client_key"
            }),
            "Incomplete client certificate",
            "client_certificate and client_key go together: set both or neither.",
        );
    }
    if set("config_context") && !set("config_path") && set("host") {
        diags.error_at(
            path.then_attr("config_context"),
            "config_context without a kubeconfig",
            "config_context selects a context from a kubeconfig; it has no meaning with host.",
        );
    }
    for pem in ["cluster_ca_certificate", "client_certificate", "client_key"] {
        if let Some(s) = k.attr(pem).as_str() {
            if !s.contains("-----BEGIN ") {
                diags.error_at(
                    path.then_attr(pem),
                    "Not a PEM block",
                    format!("{pem} must be PEM text (-----BEGIN ...-----); use file(\"...\") to read it."),
                );
            }
        }
    }
}

/// Kubernetes settings as configured; used by the ensemble and cluster resources.
#[derive(Clone, Default)]
pub struct KubernetesSettings {
    pub config_path: Option<String>,
    pub config_context: Option<String>,
    pub host: Option<String>,
    pub token: Option<String>,
    pub cluster_ca_certificate: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
}

impl std::fmt::Debug for KubernetesSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesSettings")
            .field("config_path", &self.config_path)
            .field("config_context", &self.config_context)
            .field("host", &self.host)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "client_key",
                &self.client_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// A provider block's state after configuration.
#[derive(Clone, Debug, Default)]
pub enum Configured<T> {
    /// The block is absent.
    #[default]
    Absent,
    /// The block depends on values not known until apply.
    Unknown,
    Known(T),
}

/// What `ConfigureProvider` produced; shared by every resource call.
pub struct ProviderData {
    pub zookeeper: Configured<ZkConnection>,
    pub kubernetes: Configured<KubernetesSettings>,
    pub zk_pool: ZkPool,
    /// The shared Kubernetes client, built on first use from `kubernetes`.
    pub kube: KubeConnector,
    /// What the last refresh saw of each managed object (its managed fields only), keyed by
    /// `namespace/Kind/name`: plan warnings name the fields that drifted without asking the
    /// API server again.
    pub observed: Mutex<HashMap<String, serde_json::Value>>,
    /// The znodes (their paths under the chroot) a `zkkafka_znode_acl` create took over in
    /// this process. A later destroy of another instance that finds the ACL changed since its
    /// refresh (its replacement was created first: `create_before_destroy`) leaves the
    /// replacement's ACL in place.
    pub acls_taken_over: Mutex<HashSet<String>>,
}

impl ProviderData {
    /// The provider-level ZooKeeper connection, or a diagnostic saying why there is none.
    pub fn zookeeper_default(&self) -> Result<ZkConnection, Diagnostic> {
        match &self.zookeeper {
            Configured::Known(c) => Ok(c.clone()),
            Configured::Unknown => Err(Diagnostic::error(
                "ZooKeeper connection not known yet",
                "The provider's zookeeper {} block depends on values that are not known yet. \
                 Give the resource its own zookeeper {} block taking those values, so it can \
                 be planned in the same run.",
            )),
            Configured::Absent => Err(Diagnostic::error(
                "No ZooKeeper connection",
                "Set zookeeper { connect_string = \"...\" } in the provider block, or a zookeeper {} \
                 block on the resource.",
            )),
        }
    }
}

pub fn configure(config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
    let zk = config.attr("zookeeper");
    let zookeeper = if zk.is_null() {
        Configured::Absent
    } else {
        parse_connection(zk).map_or(Configured::Unknown, Configured::Known)
    };
    let k = config.attr("kubernetes");
    let kubernetes = if k.is_null() {
        Configured::Absent
    } else if k.contains_unknown() {
        Configured::Unknown
    } else {
        let s = |name: &str| k.attr(name).as_str().map(str::to_owned);
        Configured::Known(KubernetesSettings {
            config_path: s("config_path"),
            config_context: s("config_context"),
            host: s("host"),
            token: s("token"),
            cluster_ca_certificate: s("cluster_ca_certificate"),
            client_certificate: s("client_certificate"),
            client_key: s("client_key"),
        })
    };
    let _ = diags;
    Some(ProviderData {
        zookeeper,
        kube: KubeConnector::new(kubernetes.clone()),
        kubernetes,
        zk_pool: ZkPool::new(),
        observed: Mutex::new(HashMap::new()),
        acls_taken_over: Mutex::default(),
    })
}
