//! `zkkafka_zookeeper_ensemble`: a ZooKeeper ensemble on Kubernetes.
//!
//! Where to start reading:
//! - [`model`]: the schema and the typed [`Ensemble`] every other part works on.
//! - [`validate`]: plan-time checks with attribute paths.
//! - [`render`]: pure and deterministic — the Kubernetes objects (JSON) and their digests;
//!   [`files`] holds the ConfigMap's zoo.cfg, seed membership and scripts.
//! - [`membership`]: pure plans for scaling (one voter per reconfiguration) and the roll order.
//!
//! - [`lifecycle`]: create, update (membership one member at a time, storage growth, rolls)
//!   and delete through the Kubernetes adapter; [`refresh`]: read and import.
//! - [`observe`]: pure drift detection on live objects (managed fields only, quantities
//!   compared by value); [`plan_notes`]: plan warnings per changed object, storage rules.
//! - [`kube_io`]: the store, diagnostics, import record and readiness waits they share.

pub mod files;
pub mod kube_io;
pub mod lifecycle;
pub mod membership;
pub mod model;
pub mod observe;
pub mod plan_notes;
pub mod refresh;
pub mod render;
pub mod validate;

use std::time::Duration;

use async_trait::async_trait;

use crate::framework::{Context, PlannedChange, Resource, Schema};
use crate::tfvalue::{Diagnostics, Value};

pub use model::{Ensemble, Member};

/// The resource type.
pub struct ZookeeperEnsembleResource;

/// Computed attributes known from the configuration alone (all but the digest of the Secret,
/// which needs the generated password).
pub fn computed_from_model(
    e: &Ensemble,
    super_password: Option<&str>,
) -> Vec<(&'static str, Value)> {
    let objects = match super_password {
        Some(pw) => render::render(e, pw),
        None => {
            let mut objects = render::render(e, "");
            objects.retain(|o| o.kind != "Secret");
            objects
        }
    };
    let mut digests: std::collections::BTreeMap<String, Value> = render::digests(&objects)
        .into_iter()
        .map(|(k, v)| (k, Value::from(v)))
        .collect();
    if super_password.is_none() {
        digests.insert(format!("Secret/{}", e.secret_name()), Value::Unknown);
    }
    vec![
        ("id", Value::from(e.id())),
        ("connect_string", Value::from(e.connect_string())),
        ("servers", e.servers_value()),
        ("kubernetes_objects", Value::Map(digests)),
    ]
}

#[async_trait]
impl Resource for ZookeeperEnsembleResource {
    fn type_name(&self) -> &'static str {
        "zkkafka_zookeeper_ensemble"
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate::ensemble(config, diags);
    }

    async fn modify_plan(
        &self,
        ctx: &Context,
        change: &mut PlannedChange,
        diags: &mut Diagnostics,
    ) {
        let Ok(e) = Ensemble::from_value(&change.planned) else {
            return;
        };
        let password = change
            .planned_attr("super_password")
            .as_str()
            .map(str::to_owned);
        for (name, value) in computed_from_model(&e, password.as_deref()) {
            change.set_planned(name, value);
        }
        if change.is_create() {
            return;
        }
        if let Ok(prior) = Ensemble::from_value(&change.prior) {
            plan_notes::check_storage(change, &prior, &e, diags);
            plan_notes::object_warnings(ctx, change, &prior, &e, diags);
        }
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
        Duration::from_secs(15 * 60)
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
    use crate::tfvalue::AttributePath;

    fn config(replicas: i64, extra: &[(&str, Value)]) -> Value {
        let schema = model::schema();
        let names: Vec<String> = match schema.block.value_type() {
            crate::tfvalue::Type::Object(attrs) => attrs.into_keys().collect(),
            _ => Vec::new(),
        };
        let mut v = Value::object(names.into_iter().map(|k| (k, Value::Null)));
        if let Value::Object(m) = &mut v {
            m.insert("name".into(), Value::from("zk"));
            m.insert("namespace".into(), Value::from("data"));
            m.insert("replicas".into(), Value::int(replicas));
            for (k, x) in extra {
                m.insert((*k).into(), x.clone());
            }
        }
        v
    }

    #[test]
    fn validation_walk_reports_paths() {
        let schema = model::schema();
        let cfg = config(
            4,
            &[(
                "config",
                Value::Map([("dataDir".to_string(), Value::from("/tmp"))].into()),
            )],
        );
        // The framework's walk, for top-level attributes: each validator with its path.
        let mut diags = Diagnostics::new();
        for attr in &schema.block.attributes {
            let v = cfg.attr(&attr.name);
            if !v.is_null() {
                for validator in &attr.validators {
                    validator.validate(&AttributePath::attr(&attr.name), v, &mut diags);
                }
            }
        }
        let paths: Vec<String> = diags
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(diags.0.len(), 2, "{paths:?}");
        assert!(diags
            .iter()
            .any(|d| d.attribute == Some(AttributePath::attr("replicas"))));
        assert!(diags
            .iter()
            .any(|d| d.attribute == Some(AttributePath::attr("config").then_key("dataDir"))));
    }

    #[tokio::test]
    async fn create_plan_knows_everything_but_the_secret() {
        let schema = model::schema();
        let cfg = config(3, &[]);
        let mut change = derive(&schema.block, &Value::Null, &cfg, &cfg);
        let ctx = Context::new(None, crate::framework::StopSignal::default());
        ZookeeperEnsembleResource
            .modify_plan(&ctx, &mut change, &mut Diagnostics::new())
            .await;
        assert_eq!(change.planned_attr("id"), &Value::from("data/zk"));
        assert_eq!(
            change.planned_attr("connect_string"),
            &Value::from("zk-client.data.svc.cluster.local:2181")
        );
        assert_eq!(change.planned_attr("super_password"), &Value::Unknown);
        let objects = change
            .planned_attr("kubernetes_objects")
            .as_entries()
            .unwrap();
        assert_eq!(objects.len(), 6);
        assert_eq!(objects["Secret/zk-super"], Value::Unknown);
        assert!(objects["StatefulSet/zk"]
            .as_str()
            .is_some_and(|d| d.len() == 64));
    }
}
