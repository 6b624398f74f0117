//! The typed model of `zkkafka_zookeeper_ensemble` and its schema.
//!
//! [`schema`] is what Terraform sees (validators from [`super::validate`] attached per
//! attribute); [`Ensemble::from_value`] turns a known configuration or state into the typed
//! [`Ensemble`] that [`super::render`] and [`super::membership`] work on.

use std::collections::BTreeMap;

use crate::framework::timeouts::timeouts_block;
use crate::framework::{Attribute, Block, NestedBlock, PlanModifier, Schema};
use crate::resources::k8s_common::blocks::{resources_block, tolerations_block};
use crate::tfvalue::{Type, Value};

use super::validate;

pub use crate::resources::k8s_common::scheduling::{AntiAffinity, Toleration};
pub use crate::resources::k8s_common::values::{opt_string, string, string_map, ModelError};

/// The ZooKeeper version used when neither `version` nor `image` is set.
pub const DEFAULT_VERSION: &str = "3.9.3";
/// The image repository `version` selects a tag of: the official image, whose layout the start
/// script relies on only for `/apache-zookeeper-*-bin/lib` and a `java` on PATH.
pub const DEFAULT_IMAGE_REPOSITORY: &str = "docker.io/library/zookeeper";
/// Where `storage.size` starts when the block is left out.
pub const DEFAULT_STORAGE_SIZE: &str = "10Gi";
/// ZooKeeper's client port, the same in every pod, Service and server line.
pub const CLIENT_PORT: u16 = 2181;
/// Followers connect to the leader here.
pub const QUORUM_PORT: u16 = 2888;
/// Leader election.
pub const ELECTION_PORT: u16 = 3888;
/// The cluster DNS domain the in-cluster names end with.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// One member of the ensemble: ZooKeeper server id `id` runs in pod `<name>-<id - 1>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: u8,
    pub pod: String,
    /// The pod's stable DNS name through the headless Service.
    pub host: String,
}

impl Member {
    /// `server.<id>=<host>:2888:3888:participant;0.0.0.0:2181`, the line in the dynamic
    /// configuration and in `reconfig`.
    pub fn server_line(&self) -> String {
        format!("server.{}={}", self.id, self.server_spec())
    }

    /// The part of [`Member::server_line`] after `=`.
    pub fn server_spec(&self) -> String {
        format!(
            "{}:{QUORUM_PORT}:{ELECTION_PORT}:participant;0.0.0.0:{CLIENT_PORT}",
            self.host
        )
    }
}

/// A ZooKeeper ensemble as the user declared it, defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ensemble {
    pub name: String,
    pub namespace: String,
    pub replicas: u8,
    /// The ZooKeeper version when known (from `version`, or the default); `None` with a custom
    /// `image`.
    pub version: Option<String>,
    pub image: String,
    pub storage_size: String,
    pub storage_class: Option<String>,
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    pub jvm_heap: Option<String>,
    /// zoo.cfg keys from the user (owned keys already rejected by validation).
    pub config: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub anti_affinity: AntiAffinity,
}

impl Ensemble {
    /// The typed model of a configuration, plan or state that has passed validation.
    pub fn from_value(v: &Value) -> Result<Ensemble, ModelError> {
        let replicas = match v.attr("replicas") {
            Value::Unknown => return Err(ModelError::Unknown("replicas")),
            r => r
                .as_i64()
                .and_then(|r| u8::try_from(r).ok())
                .ok_or(ModelError::Missing("replicas"))?,
        };
        let image = opt_string(v.attr("image"), "image")?;
        let version = match (opt_string(v.attr("version"), "version")?, &image) {
            (Some(version), _) => Some(version),
            (None, None) => Some(DEFAULT_VERSION.to_string()),
            (None, Some(_)) => None,
        };
        let image = match (image, &version) {
            (Some(image), _) => image,
            (None, Some(version)) => format!("{DEFAULT_IMAGE_REPOSITORY}:{version}"),
            (None, None) => return Err(ModelError::Missing("image")),
        };
        let storage = v.attr("storage");
        let resources = v.attr("resources");
        let tolerations = v
            .attr("tolerations")
            .as_elements()
            .unwrap_or(&[])
            .iter()
            .map(|t| {
                Ok(Toleration {
                    key: opt_string(t.attr("key"), "tolerations")?,
                    operator: opt_string(t.attr("operator"), "tolerations")?,
                    value: opt_string(t.attr("value"), "tolerations")?,
                    effect: opt_string(t.attr("effect"), "tolerations")?,
                    toleration_seconds: match t.attr("toleration_seconds") {
                        Value::Unknown => return Err(ModelError::Unknown("tolerations")),
                        s => s.as_i64(),
                    },
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        let anti_affinity = match opt_string(v.attr("anti_affinity"), "anti_affinity")? {
            None => AntiAffinity::Required,
            Some(s) => AntiAffinity::parse(&s).ok_or(ModelError::Missing("anti_affinity"))?,
        };
        Ok(Ensemble {
            name: string(v.attr("name"), "name")?,
            namespace: string(v.attr("namespace"), "namespace")?,
            replicas,
            version,
            image,
            storage_size: opt_string(storage.attr("size"), "storage.size")?
                .unwrap_or_else(|| DEFAULT_STORAGE_SIZE.to_string()),
            storage_class: opt_string(storage.attr("class"), "storage.class")?,
            requests: string_map(resources.attr("requests"), "resources.requests")?,
            limits: string_map(resources.attr("limits"), "resources.limits")?,
            jvm_heap: opt_string(v.attr("jvm_heap"), "jvm_heap")?,
            config: string_map(v.attr("config"), "config")?,
            labels: string_map(v.attr("labels"), "labels")?,
            annotations: string_map(v.attr("annotations"), "annotations")?,
            node_selector: string_map(v.attr("node_selector"), "node_selector")?,
            tolerations,
            anti_affinity,
        })
    }

    /// `namespace/name`, the resource id and import id.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn headless_service_name(&self) -> String {
        format!("{}-headless", self.name)
    }

    pub fn client_service_name(&self) -> String {
        format!("{}-client", self.name)
    }

    pub fn config_map_name(&self) -> String {
        format!("{}-config", self.name)
    }

    pub fn secret_name(&self) -> String {
        format!("{}-super", self.name)
    }

    /// The members of an ensemble of `replicas` servers (ids 1..=replicas).
    pub fn members_of(&self, replicas: u8) -> Vec<Member> {
        (1..=replicas)
            .map(|id| {
                let pod = format!("{}-{}", self.name, id - 1);
                let host = format!(
                    "{pod}.{}.{}.svc.{CLUSTER_DOMAIN}",
                    self.headless_service_name(),
                    self.namespace
                );
                Member { id, pod, host }
            })
            .collect()
    }

    pub fn members(&self) -> Vec<Member> {
        self.members_of(self.replicas)
    }

    /// The in-cluster connect string: the client Service, stable across scaling, so clients
    /// configured with it (a Kafka cluster's `zookeeper.connect`) need no restart when members
    /// come and go. Member addresses are in `servers`.
    pub fn connect_string(&self) -> String {
        format!(
            "{}.{}.svc.{CLUSTER_DOMAIN}:{CLIENT_PORT}",
            self.client_service_name(),
            self.namespace
        )
    }

    /// The computed `servers` attribute.
    pub fn servers_value(&self) -> Value {
        Value::List(
            self.members()
                .into_iter()
                .map(|m| {
                    Value::object([
                        ("id", Value::int(i64::from(m.id))),
                        ("pod", Value::from(m.pod.as_str())),
                        ("host", Value::from(m.host.as_str())),
                        ("address", Value::from(format!("{}:{CLIENT_PORT}", m.host))),
                    ])
                })
                .collect(),
        )
    }
}

fn string_map_type() -> Type {
    Type::map(Type::String)
}

/// The type of one element of `servers`.
pub fn server_type() -> Type {
    Type::object([
        ("id", Type::Number),
        ("pod", Type::String),
        ("host", Type::String),
        ("address", Type::String),
    ])
}

/// The resource schema.
pub fn schema() -> Schema {
    let block = Block::new(
        "A ZooKeeper ensemble on Kubernetes: a StatefulSet, its Services, ConfigMap, Secret and \
         PodDisruptionBudget, scaled one member at a time through dynamic reconfiguration.",
    )
    .attr(
        Attribute::computed("id", Type::String)
            .describe("`namespace/name`.")
            .modifier(PlanModifier::UseStateForUnknown),
    )
    .attr(
        Attribute::required("name", Type::String)
            .describe("Name of the ensemble and its StatefulSet: an RFC 1123 label starting with a letter, at most 52 characters. Changing it replaces the ensemble.")
            .modifier(PlanModifier::RequiresReplace)
            .validate(validate::name),
    )
    .attr(
        Attribute::required("namespace", Type::String)
            .describe("Kubernetes namespace (must exist). Changing it replaces the ensemble.")
            .modifier(PlanModifier::RequiresReplace)
            .validate(validate::namespace),
    )
    .attr(
        Attribute::required("replicas", Type::Number)
            .describe("Number of servers: odd, 1 to 9. Changes are made one member at a time, keeping quorum.")
            .validate(validate::replicas),
    )
    .attr(
        Attribute::optional("version", Type::String)
            .describe("ZooKeeper version of the official image (default \"3.9.3\"); 3.5 or later. Conflicts with image.")
            .validate(validate::version),
    )
    .attr(
        Attribute::optional("image", Type::String)
            .describe("Container image instead of version; must have /apache-zookeeper-*-bin/lib, java and bash.")
            .validate(validate::image),
    )
    .attr(
        Attribute::optional("jvm_heap", Type::String)
            .describe("Java heap (-Xms and -Xmx), e.g. \"512m\" or \"2g\". Default: half the container's memory limit.")
            .validate(validate::jvm_heap),
    )
    .attr(
        Attribute::optional("config", string_map_type())
            .describe("zoo.cfg settings, e.g. { maxClientCnxns = \"120\" }. Keys the provider owns (server.*, dataDir, clientPort, reconfigEnabled, skipACL, ...) are rejected; see the documentation.")
            .validate(validate::config),
    )
    .attr(
        Attribute::optional("labels", string_map_type())
            .describe("Labels added to every object and pod (app.kubernetes.io/* are the provider's).")
            .validate(validate::labels),
    )
    .attr(
        Attribute::optional("annotations", string_map_type())
            .describe("Annotations added to every object and pod.")
            .validate(validate::annotations),
    )
    .attr(
        Attribute::optional("node_selector", string_map_type())
            .describe("Node labels the pods must run on.")
            .validate(validate::labels),
    )
    .attr(
        Attribute::optional("anti_affinity", Type::String)
            .describe("Spread members across nodes: \"required\" (default: never two on one node), \"preferred\" or \"none\".")
            .default_value(Value::from("required"))
            .validate(validate::anti_affinity),
    )
    .attr(
        Attribute::optional("wait_for_ready", Type::Bool)
            .describe("Wait until every member serves clients in one quorum before apply completes (default true). Restarts and membership steps wait for each member whenever pods run, whatever this says.")
            .default_value(Value::Bool(true)),
    )
    .attr(
        Attribute::optional("delete_volumes", Type::Bool)
            .describe("On destroy, delete the members' volume claims too (default false: kept, with their data).")
            .default_value(Value::Bool(false)),
    )
    .attr(
        Attribute::computed("connect_string", Type::String)
            .describe("In-cluster connect string through the client Service, stable across scaling.")
            .modifier(PlanModifier::UseStateForUnknown),
    )
    .attr(
        Attribute::computed("servers", Type::list(server_type()))
            .describe("The members: server id, pod, stable DNS name and client address."),
    )
    .attr(
        Attribute::computed("kubernetes_objects", string_map_type())
            .describe("`Kind/name` of every object the provider manages, to a digest of its rendered form: plan shows which objects change."),
    )
    .attr(
        Attribute::computed("super_password", Type::String)
            .sensitive()
            .describe("Password of ZooKeeper's super user (digest scheme, user \"super\"), generated once; needed for membership changes.")
            .modifier(PlanModifier::UseStateForUnknown),
    )
    .block(NestedBlock::single(
        "storage",
        Block::new("Each member's volume.")
            .attr(
                Attribute::optional("size", Type::String)
                    .describe("Volume size as a Kubernetes quantity (default \"10Gi\"). Grows in place; cannot shrink.")
                    .validate(validate::storage_size),
            )
            .attr(
                Attribute::optional("class", Type::String)
                    .describe("StorageClass name (default: the cluster's default class). Changing it replaces the ensemble.")
                    .validate(validate::storage_class),
            ),
    ))
    .block(resources_block("Container resources."))
    .block(tolerations_block())
    .block(timeouts_block(&["create", "update", "delete"]));
    Schema { version: 0, block }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    #[test]
    fn defaults_and_derived_names() {
        let v = config(&[
            ("name", Value::from("zk")),
            ("namespace", Value::from("data")),
            ("replicas", Value::int(3)),
        ]);
        let e = Ensemble::from_value(&v).unwrap();
        assert_eq!(e.image, "docker.io/library/zookeeper:3.9.3");
        assert_eq!(e.version.as_deref(), Some("3.9.3"));
        assert_eq!(e.storage_size, "10Gi");
        assert_eq!(e.anti_affinity, AntiAffinity::Required);
        assert_eq!(e.id(), "data/zk");
        assert_eq!(e.connect_string(), "zk-client.data.svc.cluster.local:2181");
        let members = e.members();
        assert_eq!(members.len(), 3);
        assert_eq!(
            members[2].server_line(),
            "server.3=zk-2.zk-headless.data.svc.cluster.local:2888:3888:participant;0.0.0.0:2181"
        );
    }

    #[test]
    fn custom_image_has_no_version() {
        let v = config(&[
            ("name", Value::from("zk")),
            ("namespace", Value::from("data")),
            ("replicas", Value::int(1)),
            ("image", Value::from("registry.example/zk:custom")),
        ]);
        let e = Ensemble::from_value(&v).unwrap();
        assert_eq!(e.image, "registry.example/zk:custom");
        assert_eq!(e.version, None);
    }

    #[test]
    fn unknown_values_are_reported_not_guessed() {
        let cases = [
            ("replicas", "replicas"),
            ("name", "name"),
            ("config", "config"),
        ];
        for (attr, want) in cases {
            let mut pairs = vec![
                ("name", Value::from("zk")),
                ("namespace", Value::from("data")),
                ("replicas", Value::int(3)),
            ];
            pairs.retain(|(k, _)| *k != attr);
            pairs.push((attr, Value::Unknown));
            assert_eq!(
                Ensemble::from_value(&config(&pairs)),
                Err(ModelError::Unknown(want)),
                "case {attr}"
            );
        }
    }
}
