//! `zkkafka_kafka_cluster`: a Kafka cluster on Kubernetes, on a ZooKeeper ensemble (Kafka 3.x)
//! or on KRaft with dedicated controllers.
//!
//! Where to start reading:
//! - [`model`]: the schema and the typed [`KafkaCluster`] every other part works on.
//! - [`validate`]: plan-time checks with attribute paths; [`version`]: the known releases and
//!   the rules that depend on them; [`plan_rules`]: checks across prior and planned state
//!   (broker removal, storage shrink, downgrades) and the KRaft cluster id.
//! - [`render`]: pure and deterministic — the Kubernetes objects (JSON) and their digests;
//!   [`files`] holds each node's complete server.properties and the start script.
//! - [`roll`]: the order pods restart in, and whether a broker may restart now.
//! - [`lifecycle`]: create, update (storage growth, objects, rolls) and delete through the
//!   Kubernetes adapter; [`refresh`]: read and import; [`plan_notes`]: plan warnings per
//!   changed object and the roll order.

pub mod files;
pub mod lifecycle;
pub mod model;
pub mod plan_notes;
pub mod plan_rules;
pub mod refresh;
pub mod render;
pub mod roll;
pub mod validate;
pub mod version;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::framework::{Context, PlannedChange, Resource, Schema};
use crate::resources::k8s_common::objects::digests;
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Value};

pub use model::{KafkaCluster, Mode, Role};

/// Computed attributes known from the model alone. A KRaft cluster being created has no
/// cluster id yet (it is generated at apply, like any random value, so the plan and the apply
/// agree): the objects that carry it get unknown digests, and `cluster_id` is unknown.
pub fn computed_from_model(c: &KafkaCluster) -> Vec<(&'static str, Value)> {
    let id_pending = matches!(c.mode, Mode::Kraft { .. }) && c.cluster_id.is_none();
    let objects: BTreeMap<String, Value> = if id_pending {
        let with = |id: &str| {
            let probe = KafkaCluster {
                cluster_id: Some(id.to_owned()),
                ..c.clone()
            };
            digests(&render::render(&probe))
        };
        let (a, b) = (
            with("AAAAAAAAAAAAAAAAAAAAAA"),
            with("BBBBBBBBBBBBBBBBBBBBBB"),
        );
        a.into_iter()
            .map(|(k, v)| {
                let known = b.get(&k) == Some(&v);
                (
                    k,
                    if known {
                        Value::from(v)
                    } else {
                        Value::Unknown
                    },
                )
            })
            .collect()
    } else {
        digests(&render::render(c))
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect()
    };
    let cluster_id = match (&c.cluster_id, id_pending) {
        (_, true) => Value::Unknown,
        (Some(id), false) => Value::from(id.as_str()),
        (None, false) => Value::Null,
    };
    vec![
        ("id", Value::from(c.id())),
        ("bootstrap_servers", Value::from(c.bootstrap_servers())),
        ("cluster_id", cluster_id),
        ("kubernetes_objects", Value::Map(objects)),
    ]
}

/// A new KRaft cluster id (16 random bytes, as Kafka writes them).
pub fn new_cluster_id() -> Result<String, crate::tfvalue::Diagnostic> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        crate::tfvalue::Diagnostic::error(
            "No randomness",
            format!("Could not generate the KRaft cluster id: {e}"),
        )
    })?;
    Ok(plan_rules::cluster_id_from_bytes(bytes))
}

/// The resource type.
pub struct KafkaClusterResource;

#[async_trait]
impl Resource for KafkaClusterResource {
    fn type_name(&self) -> &'static str {
        "zkkafka_kafka_cluster"
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate::cluster(config, diags);
    }

    async fn modify_plan(
        &self,
        ctx: &Context,
        change: &mut PlannedChange,
        diags: &mut Diagnostics,
    ) {
        if change.planned.is_null() {
            return;
        }
        let prior = if change.is_create() {
            None
        } else {
            KafkaCluster::from_value(&change.prior).ok()
        };
        // The cluster id is kept from state; a new cluster (or a replacement) gets one at apply.
        let prior_id = change.prior.attr("cluster_id").as_str().map(str::to_owned);
        change.set_planned("cluster_id", Value::Null);
        let Ok(mut c) = KafkaCluster::from_value(&change.planned) else {
            // Parts of the configuration are not known yet (the mode among them, perhaps):
            // the id is the one in state, else known only at apply.
            change.set_planned("cluster_id", prior_id.map_or(Value::Unknown, Value::from));
            return;
        };
        let replacing = prior
            .as_ref()
            .and_then(|p| plan_rules::replacing_change(p, &c));
        if replacing.is_none() && matches!(c.mode, Mode::Kraft { .. }) {
            c.cluster_id = prior_id;
        }
        for (name, value) in computed_from_model(&c) {
            change.set_planned(name, value);
        }
        let Some(prior) = prior else {
            return;
        };
        if let Some(attr) = replacing {
            change.require_replace(attr);
            diags.push(
                Diagnostic::warning(
                    "The cluster will be replaced",
                    "The metadata mode or the ZooKeeper chroot changes: the cluster's metadata \
                     (topics, configurations, offsets) lives there and cannot move in place, so \
                     the cluster is destroyed and created again (volume claims are kept unless \
                     delete_volumes = true).",
                )
                .at(AttributePath::attr(attr)),
            );
            return;
        }
        let allow = change
            .planned_attr("allow_broker_removal")
            .as_bool()
            .unwrap_or(false);
        plan_rules::check_update(&prior, &c, allow, diags);
        if prior.storage_class != c.storage_class {
            change.require_replace("storage");
            diags.push(
                Diagnostic::warning(
                    "Storage class change replaces the cluster",
                    format!(
                        "storage.class changes from {} to {}: a volume cannot move to another \
                         StorageClass, so the cluster is destroyed and created again with empty \
                         volumes (existing claims are kept unless delete_volumes = true).",
                        prior
                            .storage_class
                            .as_deref()
                            .unwrap_or("(cluster default)"),
                        c.storage_class.as_deref().unwrap_or("(cluster default)")
                    ),
                )
                .at(AttributePath::attr("storage").then_attr("class")),
            );
            return;
        }
        plan_notes::object_warnings(ctx, change, &prior, &c, diags);
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        lifecycle::create(ctx, planned, diags).await
    }

    async fn read(&self, ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        refresh::read(ctx, state, diags).await
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        lifecycle::update(ctx, prior, planned, diags).await
    }

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(20 * 60)
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        lifecycle::delete(ctx, prior, diags).await;
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        refresh::import(ctx, id, diags).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::plan::derive;
    use crate::framework::StopSignal;

    fn config(mode: (&str, Value)) -> Value {
        let schema = model::schema();
        let names: Vec<String> = match schema.block.value_type() {
            crate::tfvalue::Type::Object(attrs) => attrs.into_keys().collect(),
            _ => Vec::new(),
        };
        let mut v = Value::object(names.into_iter().map(|k| (k, Value::Null)));
        if let Value::Object(m) = &mut v {
            m.insert("name".into(), Value::from("events"));
            m.insert("namespace".into(), Value::from("data"));
            m.insert("brokers".into(), Value::int(3));
            m.insert(mode.0.into(), mode.1);
        }
        v
    }

    fn kraft() -> (&'static str, Value) {
        ("kraft", Value::object([("controllers", Value::int(3))]))
    }

    async fn plan(prior: &Value, cfg: &Value) -> PlannedChange {
        let schema = model::schema();
        let mut change = derive(&schema.block, prior, cfg, cfg);
        let ctx = Context::new(None, StopSignal::default());
        KafkaClusterResource
            .modify_plan(&ctx, &mut change, &mut Diagnostics::new())
            .await;
        change
    }

    #[tokio::test]
    async fn a_new_kraft_cluster_gets_its_id_at_apply_and_keeps_it() {
        let cfg = config(kraft());
        let change = plan(&Value::Null, &cfg).await;
        assert_eq!(change.planned_attr("cluster_id"), &Value::Unknown);
        let objects = change
            .planned_attr("kubernetes_objects")
            .as_entries()
            .unwrap();
        // The id is in the ConfigMaps (and so in the pod templates' config digest).
        assert_eq!(objects["ConfigMap/events-broker-config"], Value::Unknown);
        assert!(objects["Service/events-bootstrap"].as_str().is_some());

        // Once created, the id is kept and every digest is known.
        let mut state = change.planned.clone();
        if let Value::Object(m) = &mut state {
            m.insert("cluster_id".into(), Value::from("BwcHBwcHBwcHBwcHBwcHBw"));
        }
        let again = plan(&state, &cfg).await;
        assert_eq!(
            again.planned_attr("cluster_id"),
            &Value::from("BwcHBwcHBwcHBwcHBwcHBw")
        );
        assert!(again
            .planned_attr("kubernetes_objects")
            .as_entries()
            .unwrap()
            .values()
            .all(|v| v.as_str().is_some()));
    }

    #[tokio::test]
    async fn zookeeper_mode_has_no_id_and_unknown_config_defers_it() {
        let zk = (
            "zookeeper",
            Value::object([("connect_string", Value::from("zk-client:2181"))]),
        );
        let change = plan(&Value::Null, &config(zk)).await;
        assert_eq!(change.planned_attr("cluster_id"), &Value::Null);
        assert_eq!(
            change.planned_attr("bootstrap_servers"),
            &Value::from("events-bootstrap.data.svc.cluster.local:9092")
        );
        let unknown = (
            "zookeeper",
            Value::object([("connect_string", Value::Unknown)]),
        );
        let change = plan(&Value::Null, &config(unknown)).await;
        assert_eq!(change.planned_attr("cluster_id"), &Value::Unknown);
    }
}
