//! `zkkafka_kafka_cluster`: a Kafka cluster on Kubernetes, on a ZooKeeper ensemble (Kafka 3.x)
//! or on KRaft with dedicated controllers. The pure half so far; the lifecycle over the
//! Kubernetes adapter and the registration with the provider come next.
//!
//! Where to start reading:
//! - [`model`]: the schema and the typed [`KafkaCluster`] every other part works on.
//! - [`validate`]: plan-time checks with attribute paths; [`version`]: the known releases and
//!   the rules that depend on them; [`plan_rules`]: checks across prior and planned state
//!   (broker removal, storage shrink, downgrades) and the KRaft cluster id.
//! - [`render`]: pure and deterministic — the Kubernetes objects (JSON) and their digests;
//!   [`files`] holds each node's complete server.properties and the start script.
//! - [`roll`]: the order pods restart in, and whether a broker may restart now.

pub mod files;
pub mod model;
pub mod plan_rules;
pub mod render;
pub mod roll;
pub mod validate;
pub mod version;

use std::collections::BTreeMap;

use crate::resources::k8s_common::objects::digests;
use crate::tfvalue::Value;

pub use model::{KafkaCluster, Mode, Role};

/// Computed attributes known from the model alone (`cluster_id` already planned into it).
pub fn computed_from_model(c: &KafkaCluster) -> Vec<(&'static str, Value)> {
    let objects: BTreeMap<String, Value> = digests(&render::render(c))
        .into_iter()
        .map(|(k, v)| (k, Value::from(v)))
        .collect();
    vec![
        ("id", Value::from(c.id())),
        ("bootstrap_servers", Value::from(c.bootstrap_servers())),
        (
            "cluster_id",
            c.cluster_id.clone().map_or(Value::Null, Value::from),
        ),
        ("kubernetes_objects", Value::Map(objects)),
    ]
}
