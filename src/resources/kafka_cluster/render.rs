//! Pure rendering: a [`KafkaCluster`] to the Kubernetes objects that run it, as JSON in a fixed
//! key order, plus the `kubernetes_objects` digests.
//!
//! Start at [`render`]. Choices:
//! - One StatefulSet per role (`<name>-controller`, `<name>-broker`), `podManagementPolicy:
//!   Parallel` (a new KRaft quorum needs its controllers up together) and `updateStrategy:
//!   OnDelete`: the provider restarts pods itself in [`super::roll`]'s order.
//! - One headless Service for every pod's DNS name, with `publishNotReadyAddresses: true` so
//!   nodes find each other before they are ready; a bootstrap Service over the brokers.
//! - One ConfigMap per role holding each node's complete server.properties; the pod template
//!   carries a digest of what the role's nodes share, so adding a broker rolls nobody.
//! - Readiness and liveness are TCP checks on the node's listener: Kafka opens its listeners
//!   only once it has started (a broker, once it has caught up with the metadata).
//! - Volume claims are kept when a broker is scaled away (`whenScaled: Retain`): its replicas
//!   may still be wanted; brokers are only removed when asked (`allow_broker_removal`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::resources::k8s_common::objects::{
    metadata, object, sha256_hex, string_map, RenderedObject, FIELD_MANAGER,
};
use crate::resources::k8s_common::scheduling::tolerations_json;

use super::files::{self, CONFIG_MOUNT, DATA_MOUNT, START_SCRIPT};
use super::model::{KafkaCluster, Role, CONTROLLER_LISTENER, CONTROLLER_PORT};

/// Pod template annotation: digest of what a role's nodes read at start.
pub const CONFIG_DIGEST_ANNOTATION: &str = "zkkafka.io/config-digest";
pub const CONTAINER: &str = "kafka";
pub const DATA_VOLUME: &str = "data";
pub const CONFIG_VOLUME: &str = "config";
/// The apache/kafka image's `appuser`; the start script needs no root.
pub const RUN_AS_USER: i64 = 1000;
/// The label broker.rack is read from (copied from the node onto the pod by the API server).
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Labels that select a role's pods.
pub fn selector_labels(c: &KafkaCluster, role: Option<Role>) -> Map<String, Json> {
    let mut m = Map::new();
    if let Some(role) = role {
        m.insert("app.kubernetes.io/component".into(), json!(role.as_str()));
    }
    m.insert("app.kubernetes.io/instance".into(), json!(c.name));
    m.insert("app.kubernetes.io/name".into(), json!("kafka"));
    m
}

/// Every object's labels: the user's, then the standard ones.
fn labels(c: &KafkaCluster, role: Option<Role>) -> BTreeMap<String, String> {
    let mut all = c.labels.clone();
    all.insert(
        "app.kubernetes.io/component".into(),
        role.map_or("cluster", Role::as_str).into(),
    );
    all.insert("app.kubernetes.io/instance".into(), c.name.clone());
    all.insert("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into());
    all.insert("app.kubernetes.io/name".into(), "kafka".into());
    all.insert("app.kubernetes.io/version".into(), c.version.to_string());
    all
}

fn meta(c: &KafkaCluster, name: &str, role: Option<Role>) -> Json {
    metadata(name, &c.namespace, &labels(c, role), &c.annotations)
}

/// All objects of the cluster, in the order they are applied: configuration, Services (so
/// pod DNS exists when pods start), controllers, brokers, disruption budgets.
pub fn render(c: &KafkaCluster) -> Vec<RenderedObject> {
    let mut out: Vec<RenderedObject> = c.roles().into_iter().map(|r| config_map(c, r)).collect();
    out.push(headless_service(c));
    out.push(bootstrap_service(c));
    out.extend(c.roles().into_iter().map(|r| stateful_set(c, r)));
    out.extend(c.roles().into_iter().map(|r| pod_disruption_budget(c, r)));
    out
}

pub fn config_map(c: &KafkaCluster, role: Role) -> RenderedObject {
    let name = c.config_map_name(role);
    let data: Map<String, Json> = files::config_map_data(c, role)
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    object(
        "v1",
        "ConfigMap",
        name.clone(),
        meta(c, &name, Some(role)),
        vec![("data", Json::Object(data))],
    )
}

fn service_port(name: &str, port: u16) -> Json {
    json!({ "name": name, "port": port, "targetPort": name, "protocol": "TCP" })
}

/// Container port names are at most 15 lower-case characters: listener names lower-cased,
/// '_' as '-'.
pub fn port_name(listener: &str) -> String {
    listener.to_ascii_lowercase().replace('_', "-")
}

fn listener_ports(c: &KafkaCluster) -> Vec<Json> {
    c.listeners
        .iter()
        .map(|l| service_port(&port_name(&l.name), l.port))
        .collect()
}

pub fn headless_service(c: &KafkaCluster) -> RenderedObject {
    let name = c.headless_service_name();
    let mut ports = listener_ports(c);
    if c.roles().contains(&Role::Controller) {
        ports.push(service_port(
            &port_name(CONTROLLER_LISTENER),
            CONTROLLER_PORT,
        ));
    }
    object(
        "v1",
        "Service",
        name.clone(),
        meta(c, &name, None),
        vec![(
            "spec",
            json!({
                "clusterIP": "None",
                "publishNotReadyAddresses": true,
                "selector": selector_labels(c, None),
                "ports": ports,
            }),
        )],
    )
}

pub fn bootstrap_service(c: &KafkaCluster) -> RenderedObject {
    let name = c.bootstrap_service_name();
    object(
        "v1",
        "Service",
        name.clone(),
        meta(c, &name, Some(Role::Broker)),
        vec![(
            "spec",
            json!({
                "type": "ClusterIP",
                "selector": selector_labels(c, Some(Role::Broker)),
                "ports": listener_ports(c),
            }),
        )],
    )
}

pub fn pod_disruption_budget(c: &KafkaCluster, role: Role) -> RenderedObject {
    let name = c.stateful_set_name(role);
    object(
        "policy/v1",
        "PodDisruptionBudget",
        name.clone(),
        meta(c, &name, Some(role)),
        vec![(
            "spec",
            json!({ "maxUnavailable": 1, "selector": { "matchLabels": selector_labels(c, Some(role)) } }),
        )],
    )
}

/// Digest of what a role's nodes read only at start (see [`files::restart_inputs`]).
pub fn restart_digest(c: &KafkaCluster, role: Role) -> String {
    sha256_hex(files::restart_inputs(c, role).as_bytes())
}

fn tcp_probe(port: &str, initial_delay: u32, failures: u32) -> Json {
    json!({
        "tcpSocket": { "port": port },
        "initialDelaySeconds": initial_delay,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    })
}

fn container(c: &KafkaCluster, role: Role) -> Json {
    let mut env = Vec::new();
    if let Some(heap) = &c.jvm_heap {
        env.push(json!({ "name": "KAFKA_HEAP", "value": heap }));
    }
    if c.rack_awareness && role == Role::Broker {
        env.push(json!({
            "name": "KAFKA_RACK",
            "valueFrom": { "fieldRef": { "fieldPath": format!("metadata.labels['{ZONE_LABEL}']") } },
        }));
    }
    let ports: Vec<Json> = match role {
        Role::Controller => vec![(port_name(CONTROLLER_LISTENER), CONTROLLER_PORT)],
        Role::Broker => c
            .listeners
            .iter()
            .map(|l| (port_name(&l.name), l.port))
            .collect(),
    }
    .into_iter()
    .map(|(name, port)| json!({ "name": name, "containerPort": port, "protocol": "TCP" }))
    .collect();
    let probe_port = ports
        .first()
        .and_then(|p| p["name"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut m = Map::new();
    m.insert("name".into(), json!(CONTAINER));
    m.insert("image".into(), json!(c.image));
    m.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    m.insert(
        "command".into(),
        json!(["/bin/bash", format!("{CONFIG_MOUNT}/{START_SCRIPT}")]),
    );
    if !env.is_empty() {
        m.insert("env".into(), Json::Array(env));
    }
    m.insert("ports".into(), Json::Array(ports));
    // Readiness: the listener accepts connections. Liveness waits longer, so a broker
    // recovering a large log after an unclean stop is not killed.
    m.insert("readinessProbe".into(), tcp_probe(&probe_port, 10, 3));
    m.insert("livenessProbe".into(), tcp_probe(&probe_port, 60, 6));
    if !c.requests.is_empty() || !c.limits.is_empty() {
        let mut r = Map::new();
        if !c.limits.is_empty() {
            r.insert("limits".into(), string_map(&c.limits));
        }
        if !c.requests.is_empty() {
            r.insert("requests".into(), string_map(&c.requests));
        }
        m.insert("resources".into(), Json::Object(r));
    }
    m.insert(
        "volumeMounts".into(),
        json!([
            { "name": DATA_VOLUME, "mountPath": DATA_MOUNT },
            { "name": CONFIG_VOLUME, "mountPath": CONFIG_MOUNT, "readOnly": true },
        ]),
    );
    Json::Object(m)
}

pub fn stateful_set(c: &KafkaCluster, role: Role) -> RenderedObject {
    let name = c.stateful_set_name(role);
    let selector = selector_labels(c, Some(role));
    let mut template_annotations = c.annotations.clone();
    template_annotations.insert(CONFIG_DIGEST_ANNOTATION.into(), restart_digest(c, role));

    let mut pod_spec = Map::new();
    if let Some(a) = c.anti_affinity.to_affinity(&selector) {
        pod_spec.insert("affinity".into(), a);
    }
    pod_spec.insert("containers".into(), json!([container(c, role)]));
    if !c.node_selector.is_empty() {
        pod_spec.insert("nodeSelector".into(), string_map(&c.node_selector));
    }
    pod_spec.insert(
        "securityContext".into(),
        json!({ "fsGroup": RUN_AS_USER, "runAsGroup": RUN_AS_USER, "runAsNonRoot": true, "runAsUser": RUN_AS_USER }),
    );
    // A broker's controlled shutdown moves partition leadership away first: give it time.
    pod_spec.insert("terminationGracePeriodSeconds".into(), json!(120));
    if !c.tolerations.is_empty() {
        pod_spec.insert("tolerations".into(), tolerations_json(&c.tolerations));
    }
    if c.rack_awareness && role == Role::Broker {
        pod_spec.insert(
            "topologySpreadConstraints".into(),
            json!([{
                "maxSkew": 1,
                "topologyKey": ZONE_LABEL,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": { "matchLabels": selector },
            }]),
        );
    }
    pod_spec.insert(
        "volumes".into(),
        json!([{ "name": CONFIG_VOLUME, "configMap": { "name": c.config_map_name(role), "defaultMode": 0o444 } }]),
    );

    let mut claim_spec = Map::new();
    claim_spec.insert("accessModes".into(), json!(["ReadWriteOnce"]));
    claim_spec.insert(
        "resources".into(),
        json!({ "requests": { "storage": c.storage_size } }),
    );
    if let Some(class) = &c.storage_class {
        claim_spec.insert("storageClassName".into(), json!(class));
    }

    object(
        "apps/v1",
        "StatefulSet",
        name.clone(),
        meta(c, &name, Some(role)),
        vec![(
            "spec",
            json!({
                "serviceName": c.headless_service_name(),
                "replicas": c.replicas(role),
                "podManagementPolicy": "Parallel",
                "updateStrategy": { "type": "OnDelete" },
                "persistentVolumeClaimRetentionPolicy": { "whenDeleted": "Retain", "whenScaled": "Retain" },
                "selector": { "matchLabels": selector },
                "template": {
                    "metadata": {
                        "labels": string_map(&labels(c, Some(role))),
                        "annotations": string_map(&template_annotations),
                    },
                    "spec": Json::Object(pod_spec),
                },
                "volumeClaimTemplates": [{
                    "metadata": { "name": DATA_VOLUME, "labels": selector },
                    "spec": Json::Object(claim_spec),
                }],
            }),
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::k8s_common::objects::digests;
    use crate::tfvalue::Value;

    fn cluster(brokers: i64, kraft: bool) -> KafkaCluster {
        let mode = if kraft {
            ("kraft", Value::object([("controllers", Value::int(3))]))
        } else {
            (
                "zookeeper",
                Value::object([("connect_string", Value::from("zk:2181"))]),
            )
        };
        KafkaCluster::from_value(&Value::object([
            ("name", Value::from("events")),
            ("namespace", Value::from("data")),
            ("brokers", Value::int(brokers)),
            ("cluster_id", Value::from("BwcHBwcHBwcHBwcHBwcHBw")),
            mode,
        ]))
        .unwrap()
    }

    #[test]
    fn objects_in_apply_order() {
        let keys = |c: &KafkaCluster| {
            render(c)
                .iter()
                .map(RenderedObject::key)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&cluster(3, true)),
            [
                "ConfigMap/events-controller-config",
                "ConfigMap/events-broker-config",
                "Service/events-headless",
                "Service/events-bootstrap",
                "StatefulSet/events-controller",
                "StatefulSet/events-broker",
                "PodDisruptionBudget/events-controller",
                "PodDisruptionBudget/events-broker",
            ]
        );
        assert_eq!(keys(&cluster(3, false)).len(), 5);
        assert_eq!(render(&cluster(3, true)), render(&cluster(3, true)));
    }

    #[test]
    fn adding_brokers_changes_only_broker_objects_and_rolls_nobody() {
        let (three, five) = (cluster(3, true), cluster(5, true));
        let (d3, d5) = (digests(&render(&three)), digests(&render(&five)));
        let changed: Vec<&String> = d3.keys().filter(|k| d3[*k] != d5[*k]).collect();
        assert_eq!(
            changed,
            [
                "ConfigMap/events-broker-config",
                "StatefulSet/events-broker"
            ]
        );
        assert_eq!(
            restart_digest(&three, Role::Broker),
            restart_digest(&five, Role::Broker)
        );
    }

    #[test]
    fn headless_service_publishes_unready_pods() {
        let s = headless_service(&cluster(3, true)).object;
        assert_eq!(s["spec"]["publishNotReadyAddresses"], json!(true));
        assert_eq!(s["spec"]["clusterIP"], json!("None"));
    }
}
