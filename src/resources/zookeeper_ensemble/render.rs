//! Pure rendering: an [`Ensemble`] (and the super user's password) to the Kubernetes objects
//! that run it, as JSON in a fixed key order, plus the `kubernetes_objects` digests.
//!
//! Start at [`render`]. Choices, explained in docs/guides/ensemble-scaling.md:
//! - StatefulSet `podManagementPolicy: Parallel`: members of a new ensemble must all start
//!   to elect a leader (with OrderedReady, pod 0 would wait for a readiness that needs pod 1).
//!   Scaling still moves one member at a time because the provider changes `replicas` by one.
//! - `updateStrategy: OnDelete`: the provider restarts pods itself, followers first and the
//!   leader last, one at a time; RollingUpdate would go by ordinal, leader or not.
//! - The pod template carries a digest of the files that need a restart to take effect, but
//!   not of the seed membership, so scaling never rolls the ensemble.
//! - Volume claims are deleted when a member is scaled away (`whenScaled: Delete`): a member
//!   that joins later must start empty, not with a stale log and membership.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{json, Map, Value as Json};

use crate::adapters::zookeeper::digest_id;

use super::files::{
    self, CONFIG_MOUNT, DATA_MOUNT, MEMBER_SCRIPT, PASSWORD_FILE, PROBE_SCRIPT, SECRET_MOUNT,
    START_SCRIPT,
};
use super::model::{Ensemble, CLIENT_PORT, ELECTION_PORT, QUORUM_PORT};

pub use crate::resources::k8s_common::objects::{
    canonical_json, digests, RenderedObject, FIELD_MANAGER,
};
use crate::resources::k8s_common::objects::{object, sha256_hex, string_map};
use crate::resources::k8s_common::scheduling::tolerations_json;

/// The super user's name in the digest scheme.
pub const SUPER_USER: &str = "super";
/// Pod template annotation: digest of the files a running member reads only at start.
pub const CONFIG_DIGEST_ANNOTATION: &str = "zkkafka.io/config-digest";
/// Secret keys.
pub const SECRET_DIGEST_KEY: &str = "super-digest";
pub const SECRET_PASSWORD_KEY: &str = "super-password";
/// The container and volume names.
pub const CONTAINER: &str = "zookeeper";
pub const DATA_VOLUME: &str = "data";
pub const CONFIG_VOLUME: &str = "config";
pub const SECRET_VOLUME: &str = "super";
/// Seconds a stopping pod gets: the preStop hook's `reconfig -remove` (member.sh gives up
/// after 60 s) plus ZooKeeper's own shutdown.
pub const TERMINATION_GRACE_SECONDS: i64 = 90;
/// The official image's `zookeeper` user; the start script needs no root.
pub const RUN_AS_USER: i64 = 1000;

/// Labels that select the ensemble's pods.
pub fn selector_labels(e: &Ensemble) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("app.kubernetes.io/instance".into(), json!(e.name));
    m.insert("app.kubernetes.io/name".into(), json!("zookeeper"));
    m
}

/// Every object's labels: the user's, then the standard ones, sorted by key.
fn labels(e: &Ensemble) -> Json {
    let mut all: BTreeMap<String, String> = e.labels.clone();
    all.insert("app.kubernetes.io/component".into(), "ensemble".into());
    all.insert("app.kubernetes.io/instance".into(), e.name.clone());
    all.insert("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into());
    all.insert("app.kubernetes.io/name".into(), "zookeeper".into());
    if let Some(v) = &e.version {
        all.insert("app.kubernetes.io/version".into(), v.clone());
    }
    string_map(&all)
}

fn metadata(e: &Ensemble, name: &str) -> Json {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("namespace".into(), json!(e.namespace));
    m.insert("labels".into(), labels(e));
    if !e.annotations.is_empty() {
        m.insert("annotations".into(), string_map(&e.annotations));
    }
    Json::Object(m)
}

/// All objects of the ensemble, in the order they are applied: configuration first, then the
/// Services (so pod DNS exists when pods start), the StatefulSet, the disruption budget.
pub fn render(e: &Ensemble, super_password: &str) -> Vec<RenderedObject> {
    let config_map = config_map(e);
    vec![
        config_map,
        secret(e, super_password),
        headless_service(e),
        client_service(e),
        stateful_set(e),
        pod_disruption_budget(e),
    ]
}

pub fn config_map(e: &Ensemble) -> RenderedObject {
    let data: Map<String, Json> = files::config_map_data(e)
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    object(
        "v1",
        "ConfigMap",
        e.config_map_name(),
        metadata(e, &e.config_map_name()),
        vec![("data", Json::Object(data))],
    )
}

pub fn secret(e: &Ensemble, super_password: &str) -> RenderedObject {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let digest = digest_id(SUPER_USER, super_password);
    object(
        "v1",
        "Secret",
        e.secret_name(),
        metadata(e, &e.secret_name()),
        vec![
            ("type", json!("Opaque")),
            (
                "data",
                json!({ SECRET_DIGEST_KEY: b64(&digest), SECRET_PASSWORD_KEY: b64(super_password) }),
            ),
        ],
    )
}

fn service_port(name: &str, port: u16) -> Json {
    json!({ "name": name, "port": port, "targetPort": name, "protocol": "TCP" })
}

pub fn headless_service(e: &Ensemble) -> RenderedObject {
    let name = e.headless_service_name();
    object(
        "v1",
        "Service",
        name.clone(),
        metadata(e, &name),
        vec![(
            "spec",
            json!({
                "clusterIP": "None",
                "publishNotReadyAddresses": true,
                "selector": selector_labels(e),
                "ports": [
                    service_port("client", CLIENT_PORT),
                    service_port("quorum", QUORUM_PORT),
                    service_port("election", ELECTION_PORT),
                ],
            }),
        )],
    )
}

pub fn client_service(e: &Ensemble) -> RenderedObject {
    let name = e.client_service_name();
    object(
        "v1",
        "Service",
        name.clone(),
        metadata(e, &name),
        vec![(
            "spec",
            json!({
                "type": "ClusterIP",
                "selector": selector_labels(e),
                "ports": [service_port("client", CLIENT_PORT)],
            }),
        )],
    )
}

pub fn pod_disruption_budget(e: &Ensemble) -> RenderedObject {
    object(
        "policy/v1",
        "PodDisruptionBudget",
        e.name.clone(),
        metadata(e, &e.name),
        vec![(
            "spec",
            json!({ "maxUnavailable": 1, "selector": { "matchLabels": selector_labels(e) } }),
        )],
    )
}

/// Digest of what a member reads only when it starts: zoo.cfg, the scripts, logging. The seed
/// membership is left out on purpose (see the module docs).
pub fn restart_digest(e: &Ensemble) -> String {
    let mut text = String::new();
    for (name, content) in files::config_map_data(e) {
        if name != files::DYNAMIC_CFG {
            text.push_str(name);
            text.push('\0');
            text.push_str(&content);
            text.push('\0');
        }
    }
    sha256_hex(text.as_bytes())
}

fn probe(mode: &str, initial_delay: u32, failures: u32) -> Json {
    json!({
        "exec": { "command": ["/bin/bash", format!("{CONFIG_MOUNT}/{PROBE_SCRIPT}"), mode] },
        "initialDelaySeconds": initial_delay,
        "periodSeconds": 10,
        "timeoutSeconds": 10,
        "failureThreshold": failures,
    })
}

fn container(e: &Ensemble) -> Json {
    let mut env = vec![json!({
        "name": "ZK_SUPER_DIGEST",
        "valueFrom": { "secretKeyRef": { "name": e.secret_name(), "key": SECRET_DIGEST_KEY } },
    })];
    if let Some(heap) = &e.jvm_heap {
        env.push(json!({ "name": "ZK_HEAP", "value": heap }));
    }
    let mut c = Map::new();
    c.insert("name".into(), json!(CONTAINER));
    c.insert("image".into(), json!(e.image));
    c.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    c.insert(
        "command".into(),
        json!(["/bin/bash", format!("{CONFIG_MOUNT}/{START_SCRIPT}")]),
    );
    c.insert("env".into(), Json::Array(env));
    c.insert(
        "ports".into(),
        json!([
            { "name": "client", "containerPort": CLIENT_PORT, "protocol": "TCP" },
            { "name": "quorum", "containerPort": QUORUM_PORT, "protocol": "TCP" },
            { "name": "election", "containerPort": ELECTION_PORT, "protocol": "TCP" },
        ]),
    );
    // Readiness needs a quorum; liveness only needs the process to answer, and waits longer
    // so a member replaying a large log is not killed.
    // Before the pod stops, the member leaves the voters (reconfig -remove, see member.sh);
    // a leader removed this way hands leadership to a remaining voter.
    c.insert(
        "lifecycle".into(),
        json!({ "preStop": { "exec": { "command": ["/bin/bash", format!("{CONFIG_MOUNT}/{MEMBER_SCRIPT}"), "leave"] } } }),
    );
    c.insert("readinessProbe".into(), probe("ready", 5, 3));
    c.insert("livenessProbe".into(), probe("alive", 30, 6));
    if !e.requests.is_empty() || !e.limits.is_empty() {
        let mut r = Map::new();
        if !e.limits.is_empty() {
            r.insert("limits".into(), string_map(&e.limits));
        }
        if !e.requests.is_empty() {
            r.insert("requests".into(), string_map(&e.requests));
        }
        c.insert("resources".into(), Json::Object(r));
    }
    c.insert(
        "volumeMounts".into(),
        json!([
            { "name": DATA_VOLUME, "mountPath": DATA_MOUNT },
            { "name": CONFIG_VOLUME, "mountPath": CONFIG_MOUNT, "readOnly": true },
            { "name": SECRET_VOLUME, "mountPath": SECRET_MOUNT, "readOnly": true },
        ]),
    );
    Json::Object(c)
}

pub fn stateful_set(e: &Ensemble) -> RenderedObject {
    let mut template_annotations: BTreeMap<String, String> = e.annotations.clone();
    template_annotations.insert(CONFIG_DIGEST_ANNOTATION.into(), restart_digest(e));

    let mut pod_spec = Map::new();
    if let Some(a) = e.anti_affinity.to_affinity(&selector_labels(e)) {
        pod_spec.insert("affinity".into(), a);
    }
    pod_spec.insert("containers".into(), json!([container(e)]));
    if !e.node_selector.is_empty() {
        pod_spec.insert("nodeSelector".into(), string_map(&e.node_selector));
    }
    pod_spec.insert(
        "securityContext".into(),
        json!({ "fsGroup": RUN_AS_USER, "runAsGroup": RUN_AS_USER, "runAsNonRoot": true, "runAsUser": RUN_AS_USER }),
    );
    pod_spec.insert(
        "terminationGracePeriodSeconds".into(),
        json!(TERMINATION_GRACE_SECONDS),
    );
    if !e.tolerations.is_empty() {
        pod_spec.insert("tolerations".into(), tolerations_json(&e.tolerations));
    }
    pod_spec.insert(
        "volumes".into(),
        json!([
            { "name": CONFIG_VOLUME, "configMap": { "name": e.config_map_name(), "defaultMode": 0o444 } },
            // Only the password, readable by the pod's group (fsGroup): member.sh authenticates
            // with it; the server itself gets only the digest.
            { "name": SECRET_VOLUME, "secret": {
                "secretName": e.secret_name(),
                "defaultMode": 0o440,
                "items": [{ "key": SECRET_PASSWORD_KEY, "path": PASSWORD_FILE }],
            } },
        ]),
    );

    let mut claim_spec = Map::new();
    claim_spec.insert("accessModes".into(), json!(["ReadWriteOnce"]));
    claim_spec.insert(
        "resources".into(),
        json!({ "requests": { "storage": e.storage_size } }),
    );
    if let Some(class) = &e.storage_class {
        claim_spec.insert("storageClassName".into(), json!(class));
    }

    object(
        "apps/v1",
        "StatefulSet",
        e.name.clone(),
        metadata(e, &e.name),
        vec![(
            "spec",
            json!({
                "serviceName": e.headless_service_name(),
                "replicas": e.replicas,
                "podManagementPolicy": "Parallel",
                "updateStrategy": { "type": "OnDelete" },
                "persistentVolumeClaimRetentionPolicy": { "whenDeleted": "Retain", "whenScaled": "Delete" },
                "selector": { "matchLabels": selector_labels(e) },
                "template": {
                    "metadata": { "labels": labels(e), "annotations": string_map(&template_annotations) },
                    "spec": Json::Object(pod_spec),
                },
                "volumeClaimTemplates": [{
                    "metadata": { "name": DATA_VOLUME, "labels": selector_labels(e) },
                    "spec": Json::Object(claim_spec),
                }],
            }),
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::zookeeper_ensemble::model::Ensemble;
    use crate::tfvalue::Value;

    fn ensemble(replicas: i64, config: &[(&str, &str)]) -> Ensemble {
        Ensemble::from_value(&Value::object([
            ("name", Value::from("zk")),
            ("namespace", Value::from("data")),
            ("replicas", Value::int(replicas)),
            (
                "config",
                Value::Map(
                    config
                        .iter()
                        .map(|(k, v)| (k.to_string(), Value::from(*v)))
                        .collect(),
                ),
            ),
        ]))
        .unwrap()
    }

    #[test]
    fn deterministic_and_keyed() {
        let e = ensemble(3, &[]);
        let a = render(&e, "pw");
        assert_eq!(a, render(&e, "pw"));
        let keys: Vec<String> = a.iter().map(RenderedObject::key).collect();
        assert_eq!(
            keys,
            [
                "ConfigMap/zk-config",
                "Secret/zk-super",
                "Service/zk-headless",
                "Service/zk-client",
                "StatefulSet/zk",
                "PodDisruptionBudget/zk",
            ]
        );
    }

    #[test]
    fn scaling_changes_membership_but_does_not_roll_pods() {
        let (three, five) = (ensemble(3, &[]), ensemble(5, &[]));
        assert_eq!(restart_digest(&three), restart_digest(&five));
        let (d3, d5) = (
            digests(&render(&three, "pw")),
            digests(&render(&five, "pw")),
        );
        let changed: Vec<&String> = d3.keys().filter(|k| d3[*k] != d5[*k]).collect();
        assert_eq!(changed, ["ConfigMap/zk-config", "StatefulSet/zk"]);
        let tunable = ensemble(3, &[("maxClientCnxns", "120")]);
        assert_ne!(restart_digest(&three), restart_digest(&tunable));
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v = json!({ "b": 1, "a": { "d": [ { "z": 1, "y": 2 } ], "c": null } });
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }
}
