//! The typed model of `zkkafka_kafka_cluster` and its schema.
//!
//! [`schema`] is what Terraform sees (validators from [`super::validate`] attached per
//! attribute); [`KafkaCluster::from_value`] turns a known configuration, plan or state into
//! the typed [`KafkaCluster`] that [`super::render`] works on. Names of pods, Services and
//! hosts are derived here, in one place.

use std::collections::BTreeMap;

use crate::framework::timeouts::timeouts_block;
use crate::framework::{Attribute, Block, NestedBlock, PlanModifier, Schema};
use crate::resources::k8s_common::blocks::{resources_block, tolerations_block};
use crate::resources::k8s_common::scheduling::{AntiAffinity, Toleration};
use crate::resources::k8s_common::validate as k8s;
use crate::resources::k8s_common::values::{opt_string, string, string_map, ModelError};
use crate::tfvalue::{Type, Value};

use super::validate;
use super::version::{KafkaVersion, DEFAULT_KRAFT_VERSION, DEFAULT_ZOOKEEPER_MODE_VERSION};

/// The image repository `version` selects a tag of. The start script relies on its layout only
/// for `/opt/kafka/libs` (or `KAFKA_HOME`), a `java` on PATH and bash.
pub const DEFAULT_IMAGE_REPOSITORY: &str = "docker.io/apache/kafka";
pub const DEFAULT_STORAGE_SIZE: &str = "100Gi";
/// The listener when `listeners` is left out: in-cluster, plaintext.
pub const DEFAULT_LISTENER: (&str, u16, &str) = ("INTERNAL", 9092, "PLAINTEXT");
/// The KRaft controllers' listener, owned by the provider.
pub const CONTROLLER_LISTENER: &str = "CONTROLLER";
pub const CONTROLLER_PORT: u16 = 9093;
/// KRaft controllers take node ids from here up (`1000 + ordinal`), so they never collide with
/// broker ids (`ordinal`, as `broker.id` in ZooKeeper mode).
pub const CONTROLLER_ID_BASE: u32 = 1000;
/// At most this many brokers (so broker ids stay below [`CONTROLLER_ID_BASE`]).
pub const MAX_BROKERS: i64 = 999;
/// The cluster DNS domain the in-cluster names end with.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// The two kinds of pods a cluster runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Controller,
    Broker,
}

impl Role {
    /// `broker` or `controller`: the StatefulSet suffix, the component label, the file prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::Broker => "broker",
        }
    }
}

/// Where the cluster keeps its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Kafka 3.x brokers on a ZooKeeper ensemble, under `chroot`.
    Zookeeper {
        connect_string: String,
        chroot: String,
    },
    /// KRaft with `controllers` dedicated controller pods (a static voter set).
    Kraft { controllers: u8 },
}

/// One client listener of the brokers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub port: u16,
    pub protocol: String,
}

/// A Kafka cluster as the user declared it, defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaCluster {
    pub name: String,
    pub namespace: String,
    pub version: KafkaVersion,
    pub image: String,
    pub brokers: u16,
    pub mode: Mode,
    /// Client listeners; the first is the inter-broker listener.
    pub listeners: Vec<Listener>,
    pub storage_size: String,
    pub storage_class: Option<String>,
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    pub jvm_heap: Option<String>,
    /// server.properties keys from the user (owned keys already rejected by validation).
    pub config: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub anti_affinity: AntiAffinity,
    /// `broker.rack` from the pod's `topology.kubernetes.io/zone` label, and brokers spread
    /// across zones.
    pub rack_awareness: bool,
    /// KRaft: the cluster id every node's storage is formatted with (generated once, kept).
    pub cluster_id: Option<String>,
}

fn number(v: &Value, attr: &'static str) -> Result<i64, ModelError> {
    match v {
        Value::Unknown => Err(ModelError::Unknown(attr)),
        v => v.as_i64().ok_or(ModelError::Missing(attr)),
    }
}

fn flag(v: &Value, attr: &'static str, default: bool) -> Result<bool, ModelError> {
    match v {
        Value::Unknown => Err(ModelError::Unknown(attr)),
        Value::Null => Ok(default),
        v => v.as_bool().ok_or(ModelError::Missing(attr)),
    }
}

/// The default chroot: one per cluster, so clusters can share an ensemble.
pub fn default_chroot(name: &str) -> String {
    format!("/{name}")
}

impl KafkaCluster {
    /// The typed model of a configuration, plan or state that has passed validation.
    pub fn from_value(v: &Value) -> Result<KafkaCluster, ModelError> {
        let name = string(v.attr("name"), "name")?;
        let zk = v.attr("zookeeper");
        let kraft = v.attr("kraft");
        if zk.is_unknown() || kraft.is_unknown() {
            return Err(ModelError::Unknown("zookeeper/kraft"));
        }
        let mode = match (zk.is_null(), kraft.is_null()) {
            (false, true) => Mode::Zookeeper {
                connect_string: string(zk.attr("connect_string"), "zookeeper.connect_string")?,
                chroot: opt_string(zk.attr("chroot"), "zookeeper.chroot")?
                    .unwrap_or_else(|| default_chroot(&name)),
            },
            (true, false) => Mode::Kraft {
                controllers: u8::try_from(number(kraft.attr("controllers"), "kraft.controllers")?)
                    .map_err(|_| ModelError::Missing("kraft.controllers"))?,
            },
            _ => return Err(ModelError::Missing("zookeeper or kraft")),
        };
        let default_version = match mode {
            Mode::Zookeeper { .. } => DEFAULT_ZOOKEEPER_MODE_VERSION,
            Mode::Kraft { .. } => DEFAULT_KRAFT_VERSION,
        };
        let version_text = opt_string(v.attr("version"), "version")?;
        let image = opt_string(v.attr("image"), "image")?;
        if image.is_some() && version_text.is_none() {
            return Err(ModelError::Missing("version"));
        }
        let version_text = version_text.unwrap_or_else(|| default_version.to_string());
        let version = KafkaVersion::parse(&version_text).ok_or(ModelError::Missing("version"))?;
        let image = image.unwrap_or_else(|| format!("{DEFAULT_IMAGE_REPOSITORY}:{version}"));
        let brokers = u16::try_from(number(v.attr("brokers"), "brokers")?)
            .map_err(|_| ModelError::Missing("brokers"))?;
        let listeners = match v.attr("listeners") {
            Value::Unknown => return Err(ModelError::Unknown("listeners")),
            l => l
                .as_elements()
                .unwrap_or(&[])
                .iter()
                .map(|l| {
                    Ok(Listener {
                        name: string(l.attr("name"), "listeners.name")?,
                        port: u16::try_from(number(l.attr("port"), "listeners.port")?)
                            .map_err(|_| ModelError::Missing("listeners.port"))?,
                        protocol: opt_string(l.attr("protocol"), "listeners.protocol")?
                            .unwrap_or_else(|| DEFAULT_LISTENER.2.to_string()),
                    })
                })
                .collect::<Result<Vec<_>, ModelError>>()?,
        };
        let listeners = if listeners.is_empty() {
            let (name, port, protocol) = DEFAULT_LISTENER;
            vec![Listener {
                name: name.into(),
                port,
                protocol: protocol.into(),
            }]
        } else {
            listeners
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
        let cluster_id = match mode {
            Mode::Kraft { .. } => opt_string(v.attr("cluster_id"), "cluster_id")?,
            Mode::Zookeeper { .. } => None,
        };
        Ok(KafkaCluster {
            namespace: string(v.attr("namespace"), "namespace")?,
            name,
            version,
            image,
            brokers,
            mode,
            listeners,
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
            rack_awareness: flag(v.attr("rack_awareness"), "rack_awareness", false)?,
            cluster_id,
        })
    }

    /// `namespace/name`, the resource id and import id.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The roles this cluster runs, controllers first (the order objects are applied and
    /// pods rolled in).
    pub fn roles(&self) -> Vec<Role> {
        match self.mode {
            Mode::Kraft { .. } => vec![Role::Controller, Role::Broker],
            Mode::Zookeeper { .. } => vec![Role::Broker],
        }
    }

    pub fn replicas(&self, role: Role) -> u32 {
        match (role, &self.mode) {
            (Role::Broker, _) => u32::from(self.brokers),
            (Role::Controller, Mode::Kraft { controllers }) => u32::from(*controllers),
            (Role::Controller, Mode::Zookeeper { .. }) => 0,
        }
    }

    pub fn stateful_set_name(&self, role: Role) -> String {
        format!("{}-{}", self.name, role.as_str())
    }

    pub fn config_map_name(&self, role: Role) -> String {
        format!("{}-{}-config", self.name, role.as_str())
    }

    /// The headless Service all pods' DNS names hang off.
    pub fn headless_service_name(&self) -> String {
        format!("{}-headless", self.name)
    }

    pub fn bootstrap_service_name(&self) -> String {
        format!("{}-bootstrap", self.name)
    }

    pub fn pod_name(&self, role: Role, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.stateful_set_name(role))
    }

    /// A pod's stable DNS name through the headless Service.
    pub fn host(&self, role: Role, ordinal: u32) -> String {
        format!(
            "{}.{}.{}.svc.{CLUSTER_DOMAIN}",
            self.pod_name(role, ordinal),
            self.headless_service_name(),
            self.namespace
        )
    }

    /// `node.id` (KRaft) or `broker.id` (ZooKeeper mode) of the pod with this ordinal.
    pub fn node_id(&self, role: Role, ordinal: u32) -> u32 {
        match role {
            Role::Broker => ordinal,
            Role::Controller => CONTROLLER_ID_BASE + ordinal,
        }
    }

    /// KRaft's static voter set: `1000@<controller-0 host>:9093,...`.
    pub fn quorum_voters(&self) -> String {
        (0..self.replicas(Role::Controller))
            .map(|i| {
                format!(
                    "{}@{}:{CONTROLLER_PORT}",
                    self.node_id(Role::Controller, i),
                    self.host(Role::Controller, i)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `zookeeper.connect`: the ensemble's connect string with the chroot appended.
    pub fn zookeeper_connect(&self) -> Option<String> {
        match &self.mode {
            Mode::Zookeeper {
                connect_string,
                chroot,
            } => Some(format!("{connect_string}{}", chroot.trim_end_matches('/'))),
            Mode::Kraft { .. } => None,
        }
    }

    /// The in-cluster bootstrap address: the bootstrap Service on the first listener's port.
    pub fn bootstrap_servers(&self) -> String {
        let port = self
            .listeners
            .first()
            .map_or(DEFAULT_LISTENER.1, |l| l.port);
        format!(
            "{}.{}.svc.{CLUSTER_DOMAIN}:{port}",
            self.bootstrap_service_name(),
            self.namespace
        )
    }
}

fn string_map_type() -> Type {
    Type::map(Type::String)
}

/// The resource schema.
pub fn schema() -> Schema {
    let block = Block::new(
        "A Kafka cluster on Kubernetes, on a ZooKeeper ensemble (Kafka 3.x) or on KRaft with \
         dedicated controllers: StatefulSets, a headless and a bootstrap Service, ConfigMaps \
         with each node's complete server.properties, PodDisruptionBudgets.",
    )
    .attr(
        Attribute::computed("id", Type::String)
            .describe("`namespace/name`.")
            .modifier(PlanModifier::UseStateForUnknown),
    )
    .attr(
        Attribute::required("name", Type::String)
            .describe("Name of the cluster, prefix of its objects: an RFC 1123 label starting with a letter, at most 40 characters. Changing it replaces the cluster.")
            .modifier(PlanModifier::RequiresReplace)
            .validate(validate::name),
    )
    .attr(
        Attribute::required("namespace", Type::String)
            .describe("Kubernetes namespace (must exist). Changing it replaces the cluster.")
            .modifier(PlanModifier::RequiresReplace)
            .validate(k8s::namespace),
    )
    .attr(
        Attribute::optional("version", Type::String)
            .describe("Kafka version, X.Y.Z, one the provider knows (3.7.0 to 4.1.2). Default: 3.9.2 with zookeeper {}, 4.1.2 with kraft {}. Selects the apache/kafka image unless image is set.")
            .validate(validate::version),
    )
    .attr(
        Attribute::optional("image", Type::String)
            .describe("Container image instead of apache/kafka:<version>; set version to the Kafka release inside it. Needs /opt/kafka/libs (or KAFKA_HOME), java and bash.")
            .validate(k8s::image),
    )
    .attr(
        Attribute::required("brokers", Type::Number)
            .describe("Number of brokers, 1 to 999. Removing brokers is refused unless allow_broker_removal = true.")
            .validate(validate::brokers),
    )
    .attr(
        Attribute::optional("jvm_heap", Type::String)
            .describe("Java heap of every node (-Xms and -Xmx), e.g. \"2g\". Default: half the container's memory limit.")
            .validate(k8s::jvm_heap),
    )
    .attr(
        Attribute::optional("config", string_map_type())
            .describe("server.properties settings for every broker, e.g. { \"log.retention.hours\" = \"72\" }. Keys the provider owns (broker.id, node.id, listeners, advertised.listeners, log.dirs, zookeeper.connect, process.roles, controller.*, ...) are rejected.")
            .validate(validate::config),
    )
    .attr(
        Attribute::optional("labels", string_map_type())
            .describe("Labels added to every object and pod (app.kubernetes.io/* are the provider's).")
            .validate(k8s::labels),
    )
    .attr(
        Attribute::optional("annotations", string_map_type())
            .describe("Annotations added to every object and pod.")
            .validate(k8s::annotations),
    )
    .attr(
        Attribute::optional("node_selector", string_map_type())
            .describe("Node labels the pods must run on.")
            .validate(k8s::labels),
    )
    .attr(
        Attribute::optional("anti_affinity", Type::String)
            .describe("Spread pods of one role across nodes: \"required\" (default), \"preferred\" or \"none\".")
            .default_value(Value::from("required"))
            .validate(k8s::anti_affinity),
    )
    .attr(
        Attribute::optional("rack_awareness", Type::Bool)
            .describe("Set each broker's broker.rack to its pod's topology.kubernetes.io/zone label (copied from the node by the API server's PodTopologyLabels admission) and spread brokers across zones (default false).")
            .default_value(Value::Bool(false)),
    )
    .attr(
        Attribute::optional("wait_for_ready", Type::Bool)
            .describe("Wait until every pod is ready before apply completes (default true). A roll waits for each restarted pod to be ready before the next either way.")
            .default_value(Value::Bool(true)),
    )
    .attr(
        Attribute::optional("allow_broker_removal", Type::Bool)
            .describe("Allow lowering brokers (default false). Move partition replicas off the removed brokers first: the highest ordinals go.")
            .default_value(Value::Bool(false)),
    )
    .attr(
        Attribute::optional("delete_volumes", Type::Bool)
            .describe("On destroy, delete the volume claims too (default false: kept, with their data).")
            .default_value(Value::Bool(false)),
    )
    .attr(
        Attribute::computed("bootstrap_servers", Type::String)
            .describe("In-cluster bootstrap address (the bootstrap Service, first listener).")
            .modifier(PlanModifier::UseStateForUnknown),
    )
    .attr(
        Attribute::computed("cluster_id", Type::String)
            .describe("KRaft: the cluster id every node's storage is formatted with, generated once (16 random bytes, base64url as Kafka writes it) and kept. Null in ZooKeeper mode.")
            .modifier(PlanModifier::UseStateForUnknown),
    )
    .attr(
        Attribute::computed("kubernetes_objects", string_map_type())
            .describe("`Kind/name` of every object the provider manages, to a digest of its rendered form: plan shows which objects change."),
    )
    .block(NestedBlock::single(
        "zookeeper",
        Block::new("ZooKeeper mode (Kafka 3.x only). Conflicts with kraft.")
            .attr(
                Attribute::required("connect_string", Type::String)
                    .describe("host:port[,host:port...] of the ensemble, e.g. a zkkafka_zookeeper_ensemble's connect_string.")
                    .validate(validate::connect_string),
            )
            .attr(
                Attribute::optional("chroot", Type::String)
                    .describe("The znode the cluster's metadata lives under (default \"/<name>\"); created when missing.")
                    .validate(validate::chroot),
            ),
    ))
    .block(NestedBlock::single(
        "kraft",
        Block::new("KRaft mode with dedicated controllers. Conflicts with zookeeper; the only mode of Kafka 4.")
            .attr(
                Attribute::required("controllers", Type::Number)
                    .describe("Number of controllers: 1, 3 or 5 (a static voter set; changing it is refused).")
                    .validate(validate::controllers),
            ),
    ))
    .block(NestedBlock::list(
        "listeners",
        Block::new("Client listeners of the brokers (default: INTERNAL on 9092, PLAINTEXT). The first is also the inter-broker listener.")
            .attr(
                Attribute::required("name", Type::String)
                    .describe("Listener name: upper-case letters, digits and '_' (CONTROLLER is reserved).")
                    .validate(validate::listener_name),
            )
            .attr(
                Attribute::required("port", Type::Number)
                    .describe("Container port, 1024 to 65535 (9093 is the controllers').")
                    .validate(validate::listener_port),
            )
            .attr(
                Attribute::optional("protocol", Type::String)
                    .describe("PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL; TLS and SASL settings go in config.")
                    .validate(validate::listener_protocol),
            ),
    ))
    .block(NestedBlock::single(
        "storage",
        Block::new("Each node's volume.")
            .attr(
                Attribute::optional("size", Type::String)
                    .describe("Volume size as a Kubernetes quantity (default \"100Gi\"). Grows in place; cannot shrink.")
                    .validate(k8s::storage_size),
            )
            .attr(
                Attribute::optional("class", Type::String)
                    .describe("StorageClass name (default: the cluster's default class).")
                    .validate(k8s::storage_class),
            ),
    ))
    .block(resources_block("Container resources of every node."))
    .block(tolerations_block())
    .block(timeouts_block(&["create", "update", "delete"]));
    Schema { version: 0, block }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(mode: (&str, Value)) -> Vec<(&'static str, Value)> {
        let (k, v) = mode;
        let k: &'static str = if k == "kraft" { "kraft" } else { "zookeeper" };
        vec![
            ("name", Value::from("events")),
            ("namespace", Value::from("data")),
            ("brokers", Value::int(3)),
            (k, v),
        ]
    }

    fn zk() -> (&'static str, Value) {
        (
            "zookeeper",
            Value::object([(
                "connect_string",
                Value::from("zk-client.data.svc.cluster.local:2181"),
            )]),
        )
    }

    fn kraft() -> (&'static str, Value) {
        ("kraft", Value::object([("controllers", Value::int(3))]))
    }

    #[test]
    fn zookeeper_mode_defaults() {
        let c = KafkaCluster::from_value(&Value::object(base(zk()))).unwrap();
        assert_eq!(c.version.to_string(), "3.9.2");
        assert_eq!(c.image, "docker.io/apache/kafka:3.9.2");
        assert_eq!(c.roles(), [Role::Broker]);
        assert_eq!(
            c.zookeeper_connect().as_deref(),
            Some("zk-client.data.svc.cluster.local:2181/events")
        );
        assert_eq!(
            c.bootstrap_servers(),
            "events-bootstrap.data.svc.cluster.local:9092"
        );
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(
            c.host(Role::Broker, 2),
            "events-broker-2.events-headless.data.svc.cluster.local"
        );
        assert_eq!(c.cluster_id, None);
    }

    #[test]
    fn kraft_defaults_and_voters() {
        let c = KafkaCluster::from_value(&Value::object(base(kraft()))).unwrap();
        assert_eq!(c.version.to_string(), "4.1.2");
        assert_eq!(c.roles(), [Role::Controller, Role::Broker]);
        assert_eq!(c.node_id(Role::Controller, 1), 1001);
        assert_eq!(c.node_id(Role::Broker, 1), 1);
        assert!(c.quorum_voters().starts_with(
            "1000@events-controller-0.events-headless.data.svc.cluster.local:9093,1001@"
        ));
        assert_eq!(c.zookeeper_connect(), None);
    }

    #[test]
    fn unknown_and_missing_values_are_reported() {
        let mut with_unknown = base(kraft());
        with_unknown.push(("listeners", Value::Unknown));
        assert_eq!(
            KafkaCluster::from_value(&Value::object(with_unknown)),
            Err(ModelError::Unknown("listeners"))
        );
        let mut both = base(kraft());
        both.push(zk());
        assert!(KafkaCluster::from_value(&Value::object(both)).is_err());
        let mut image_only = base(kraft());
        image_only.push(("image", Value::from("registry.example/kafka:custom")));
        assert_eq!(
            KafkaCluster::from_value(&Value::object(image_only)),
            Err(ModelError::Missing("version"))
        );
    }
}
