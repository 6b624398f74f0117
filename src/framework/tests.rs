//! ProviderServer over a small fake provider: state upgrades across schema versions, import
//! defaults, private state, a data source, timeouts and StopProvider, diagnostics for unknown
//! types. No IO.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;

use super::rpc::*;
use super::timeouts::timeouts_block;
use super::*;
use crate::tfvalue::{msgpack, AttributePath, Diagnostics, DynamicValue, Type, Value};

struct FakeProvider;
struct Note;

#[async_trait]
impl Provider for FakeProvider {
    fn schema(&self) -> Schema {
        Schema::default()
    }
    async fn configure(
        &self,
        _: &Value,
        _: &str,
        _: &mut Diagnostics,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        None
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Note)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(Greeting)]
    }
}

/// A data source: `greeting = "hello, <name>"`, names must not be empty.
struct Greeting;

#[async_trait]
impl DataSource for Greeting {
    fn type_name(&self) -> &'static str {
        "fake_greeting"
    }
    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new("a greeting")
                .attr(Attribute::required("name", Type::String).validate(
                    |p: &AttributePath, v: &Value, d: &mut Diagnostics| {
                        if v.as_str() == Some("") {
                            d.error_at(p.clone(), "Empty name", "Give a name.");
                        }
                    },
                ))
                .attr(Attribute::computed("greeting", Type::String)),
        }
    }
    async fn read(&self, _: &Context, config: &Value, _: &mut Diagnostics) -> Option<Value> {
        let name = config.attr("name").as_str()?;
        Some(Value::object([
            ("name", Value::from(name)),
            ("greeting", Value::from(format!("hello, {name}"))),
        ]))
    }
}

/// Version 1 renamed `title` (version 0) to `name`.
#[async_trait]
impl Resource for Note {
    fn type_name(&self) -> &'static str {
        "fake_note"
    }
    fn schema(&self) -> Schema {
        Schema {
            version: 1,
            block: Block::new("a note")
                .attr(
                    Attribute::computed("id", Type::String)
                        .modifier(PlanModifier::UseStateForUnknown),
                )
                .attr(Attribute::required("name", Type::String))
                .attr(Attribute::optional("pinned", Type::Bool).default_value(Value::Bool(false)))
                .block(timeouts_block(&["create"])),
        }
    }
    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if planned.attr("name").as_str() == Some("slow") {
            if let Err(e) = ctx.wait(std::future::pending::<()>()).await {
                diags.error("Create interrupted", e.to_string());
                return None;
            }
        }
        let mut state = planned.clone();
        if let Value::Object(m) = &mut state {
            m.insert("id".into(), Value::from("n1"));
        }
        ctx.set_private(b"created".to_vec());
        Some(state)
    }
    /// Each call that may write private state appends to it, so a test sees what each got.
    async fn read(&self, ctx: &Context, state: &Value, _: &mut Diagnostics) -> Option<Value> {
        ctx.set_private([ctx.private(), b"+read".to_vec()].concat());
        Some(state.clone())
    }
    async fn update(
        &self,
        ctx: &Context,
        _: &Value,
        planned: &Value,
        _: &mut Diagnostics,
    ) -> Value {
        ctx.set_private([ctx.private(), b"+updated".to_vec()].concat());
        planned.clone()
    }
    async fn delete(&self, ctx: &Context, _: &Value, diags: &mut Diagnostics) {
        if ctx.private() != b"created+read+updated" {
            diags.error(
                "Wrong private state at delete",
                format!("{:?}", ctx.private()),
            );
        }
    }
    async fn import(&self, ctx: &Context, id: &str, _: &mut Diagnostics) -> Option<Value> {
        ctx.set_private(b"imported".to_vec());
        Some(Value::object([
            ("id", Value::from(id)),
            ("name", Value::from("imported")),
        ]))
    }
    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        if version != 0 {
            super::resource::unsupported_state_version(self.type_name(), version, diags);
            return None;
        }
        let obj = state.as_object_mut()?;
        let title = obj.remove("title").unwrap_or_default();
        obj.insert("name".into(), title);
        Some(state)
    }
}

fn server() -> ProviderServer {
    ProviderServer::new(Arc::new(FakeProvider))
}

fn ty() -> Type {
    Note.schema().block.value_type()
}

fn enc(v: &Value) -> DynamicValue {
    DynamicValue {
        msgpack: msgpack::encode(v, &ty()).expect("encodes"),
        json: Vec::new(),
    }
}

fn dec(v: &DynamicValue) -> Value {
    msgpack::decode(&v.msgpack, &ty()).expect("decodes")
}

fn config(name: &str, timeouts: Value) -> Value {
    Value::object([
        ("id", Value::Null),
        ("name", Value::from(name)),
        ("pinned", Value::Null),
        ("timeouts", timeouts),
    ])
}

#[tokio::test]
async fn state_written_by_version_0_is_upgraded() {
    let resp = server()
        .upgrade_resource_state(UpgradeResourceStateRequest {
            type_name: "fake_note".into(),
            version: 0,
            raw_state_json: Some(
                br#"{"id":"n1","title":"groceries","pinned":true,"timeouts":null}"#.to_vec(),
            ),
        })
        .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = dec(&resp.upgraded_state);
    assert_eq!(state.attr("name"), &Value::from("groceries"));
    assert_eq!(state.attr("pinned"), &Value::Bool(true));

    let resp = server()
        .upgrade_resource_state(UpgradeResourceStateRequest {
            type_name: "fake_note".into(),
            version: 7,
            raw_state_json: Some(b"{}".to_vec()),
        })
        .await;
    assert!(
        resp.diagnostics.has_errors(),
        "an unknown version is refused"
    );
}

#[tokio::test]
async fn import_fills_defaults_so_the_first_plan_is_empty() {
    let resp = server()
        .import_resource_state(ImportResourceStateRequest {
            type_name: "fake_note".into(),
            id: "n9".into(),
        })
        .await;
    let state = dec(&resp.imported[0].state);
    assert_eq!(state.attr("pinned"), &Value::Bool(false));
    assert_eq!(state.attr("id"), &Value::from("n9"));
}

#[tokio::test]
async fn create_plans_unknown_computed_and_apply_resolves_them() {
    let s = server();
    let cfg = config("a", Value::Null);
    let plan = s
        .plan_resource_change(PlanResourceChangeRequest {
            type_name: "fake_note".into(),
            prior_state: enc(&Value::Null),
            proposed_new_state: enc(&cfg),
            config: enc(&cfg),
            ..Default::default()
        })
        .await;
    let planned = dec(&plan.planned_state);
    assert_eq!(planned.attr("id"), &Value::Unknown);
    assert_eq!(planned.attr("pinned"), &Value::Bool(false));
    let applied = s
        .apply_resource_change(ApplyResourceChangeRequest {
            type_name: "fake_note".into(),
            prior_state: enc(&Value::Null),
            planned_state: plan.planned_state,
            config: enc(&cfg),
            ..Default::default()
        })
        .await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(dec(&applied.new_state).attr("id"), &Value::from("n1"));
}

#[tokio::test(start_paused = true)]
async fn apply_honours_the_timeouts_block_and_stop() {
    let s = server();
    let timeouts = Value::object([("create", Value::from("2s"))]);
    let mut planned = config("slow", timeouts);
    if let Value::Object(m) = &mut planned {
        m.insert("id".into(), Value::Unknown);
        m.insert("pinned".into(), Value::Bool(false));
    }
    let req = ApplyResourceChangeRequest {
        type_name: "fake_note".into(),
        prior_state: enc(&Value::Null),
        planned_state: enc(&planned),
        ..Default::default()
    };
    let resp = s.apply_resource_change(req.clone()).await;
    let detail = &resp.diagnostics.0[0].detail;
    assert!(detail.contains("timeout of 2s"), "{detail}");
    assert!(dec(&resp.new_state).is_null(), "nothing was created");

    s.stop().await;
    let resp = s.apply_resource_change(req).await;
    assert!(
        resp.diagnostics.0[0].detail.contains("stop"),
        "{:?}",
        resp.diagnostics
    );
}

#[tokio::test]
async fn unknown_resource_type_is_a_diagnostic() {
    let d = server()
        .validate_resource_config(ValidateConfigRequest {
            type_name: "fake_nope".into(),
            config: DynamicValue::default(),
        })
        .await;
    assert!(d.has_errors());
    assert!(d.0[0].summary.contains("Unknown resource type"));
}

/// Private state: what create, read, update and import set reaches the CLI; what the CLI holds
/// reaches the next read, the plan and the apply (delete included).
#[tokio::test]
async fn private_state_goes_through_every_call() {
    let s = server();
    let cfg = config("a", Value::Null);
    let plan = s
        .plan_resource_change(PlanResourceChangeRequest {
            type_name: "fake_note".into(),
            prior_state: enc(&Value::Null),
            proposed_new_state: enc(&cfg),
            config: enc(&cfg),
            ..Default::default()
        })
        .await;
    let created = s
        .apply_resource_change(ApplyResourceChangeRequest {
            type_name: "fake_note".into(),
            prior_state: enc(&Value::Null),
            planned_state: plan.planned_state,
            config: enc(&cfg),
            planned_private: plan.planned_private,
            ..Default::default()
        })
        .await;
    assert_eq!(created.private, b"created");

    let read = s
        .read_resource(ReadResourceRequest {
            type_name: "fake_note".into(),
            current_state: created.new_state.clone(),
            private: created.private,
            ..Default::default()
        })
        .await;
    assert_eq!(read.private, b"created+read");

    let renamed = config("b", Value::Null);
    let plan = s
        .plan_resource_change(PlanResourceChangeRequest {
            type_name: "fake_note".into(),
            prior_state: read.new_state.clone(),
            proposed_new_state: enc(&renamed),
            config: enc(&renamed),
            prior_private: read.private,
            ..Default::default()
        })
        .await;
    assert_eq!(plan.planned_private, b"created+read", "the plan keeps it");
    let updated = s
        .apply_resource_change(ApplyResourceChangeRequest {
            type_name: "fake_note".into(),
            prior_state: read.new_state,
            planned_state: plan.planned_state,
            config: enc(&renamed),
            planned_private: plan.planned_private,
            ..Default::default()
        })
        .await;
    assert_eq!(updated.private, b"created+read+updated");

    let deleted = s
        .apply_resource_change(ApplyResourceChangeRequest {
            type_name: "fake_note".into(),
            prior_state: updated.new_state,
            planned_state: enc(&Value::Null),
            config: enc(&Value::Null),
            planned_private: updated.private,
            ..Default::default()
        })
        .await;
    assert!(deleted.diagnostics.is_empty(), "{:?}", deleted.diagnostics);

    let imported = s
        .import_resource_state(ImportResourceStateRequest {
            type_name: "fake_note".into(),
            id: "n9".into(),
        })
        .await;
    assert_eq!(imported.imported[0].private, b"imported");
}

/// Data sources: listed in the schema, validated with the attribute path, read into state.
#[tokio::test]
async fn data_source_schema_validation_and_read() {
    let s = server();
    assert!(s
        .get_provider_schema()
        .data_sources
        .contains_key("fake_greeting"));
    let ty = Greeting.schema().block.value_type();
    let enc = |v: &Value| DynamicValue {
        msgpack: msgpack::encode(v, &ty).expect("encodes"),
        json: Vec::new(),
    };
    let config =
        |name: &str| Value::object([("name", Value::from(name)), ("greeting", Value::Null)]);

    let diags = s
        .validate_data_resource_config(ValidateConfigRequest {
            type_name: "fake_greeting".into(),
            config: enc(&config("")),
        })
        .await;
    let error = diags.iter().next().expect("an empty name is refused");
    assert_eq!(error.summary, "Empty name");
    assert_eq!(error.attribute, Some(AttributePath::attr("name")));

    let read = s
        .read_data_source(ReadDataSourceRequest {
            type_name: "fake_greeting".into(),
            config: enc(&config("zk")),
            provider_meta: None,
        })
        .await;
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let state = msgpack::decode(&read.state.msgpack, &ty).expect("decodes");
    assert_eq!(state.attr("greeting"), &Value::from("hello, zk"));

    let unknown = s
        .read_data_source(ReadDataSourceRequest {
            type_name: "fake_nothing".into(),
            config: enc(&config("zk")),
            provider_meta: None,
        })
        .await;
    assert!(unknown.diagnostics.has_errors());
}
