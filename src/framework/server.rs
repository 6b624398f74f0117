//! [`ProviderServer`]: answers every RPC in native types. The transport in `plugin/` holds one
//! and calls these methods; nothing here knows about protobuf or gRPC.
//!
//! Each method decodes the values it receives against the schema of the resource they belong
//! to, calls the [`Provider`], [`Resource`], [`DataSource`] or [`Function`], and encodes the
//! result. Values are never logged: they may hold credentials.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::tfvalue::{json, msgpack, Diagnostic, Diagnostics, DynamicValue, Type, Value};

use super::plan;
use super::resource::{Context, DataSource, Function, Provider, Resource};
use super::rpc::*;
use super::schema::Schema;
use super::stop::StopSignal;
use super::timeouts;
use super::validate::validate_block;

struct Registered<T: ?Sized> {
    item: Arc<T>,
    schema: Schema,
    ty: Type,
}

impl<T: ?Sized> Registered<T> {
    fn new(item: Arc<T>, schema: Schema) -> Self {
        let ty = schema.block.value_type();
        Self { item, schema, ty }
    }
}

struct Inner {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    provider_type: Type,
    resources: BTreeMap<String, Registered<dyn Resource>>,
    data_sources: BTreeMap<String, Registered<dyn DataSource>>,
    functions: BTreeMap<String, Arc<dyn Function>>,
    configured: RwLock<Option<Arc<dyn Any + Send + Sync>>>,
    stop: StopSignal,
}

/// The provider as the transport sees it. Cheap to clone (`Arc` inside).
#[derive(Clone)]
pub struct ProviderServer {
    inner: Arc<Inner>,
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: false,
        move_resource_state: false,
    }
}

fn decode(value: &DynamicValue, ty: &Type, what: &str, diags: &mut Diagnostics) -> Option<Value> {
    let result = if !value.msgpack.is_empty() {
        msgpack::decode(&value.msgpack, ty).map_err(|e| e.to_string())
    } else if !value.json.is_empty() {
        json::decode(&value.json, ty).map_err(|e| e.to_string())
    } else {
        Ok(Value::Null)
    };
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(
                "Invalid value from Terraform",
                format!("The {what} could not be decoded: {e}. This is a bug in the provider or the protocol client."),
            );
            None
        }
    }
}

fn encode(value: &Value, ty: &Type, what: &str, diags: &mut Diagnostics) -> DynamicValue {
    match msgpack::encode(value, ty) {
        Ok(msgpack) => DynamicValue {
            msgpack,
            json: Vec::new(),
        },
        Err(e) => {
            diags.error(
                "Provider produced an invalid value",
                format!("The {what} could not be encoded: {e}. This is a bug in the provider."),
            );
            DynamicValue::default()
        }
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind}"),
        format!("This provider has no {kind} named {name:?}. Check the spelling, or upgrade the provider."),
    )
    .into()
}

impl ProviderServer {
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let provider_schema = provider.schema();
        let provider_type = provider_schema.block.value_type();
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| {
                (
                    r.type_name().to_owned(),
                    Registered::new(r.clone(), r.schema()),
                )
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                (
                    d.type_name().to_owned(),
                    Registered::new(d.clone(), d.schema()),
                )
            })
            .collect();
        let functions = provider
            .functions()
            .into_iter()
            .map(|f| (f.name().to_owned(), f))
            .collect();
        Self {
            inner: Arc::new(Inner {
                provider,
                provider_schema,
                provider_type,
                resources,
                data_sources,
                functions,
                configured: RwLock::new(None),
                stop: StopSignal::default(),
            }),
        }
    }

    fn context(&self) -> Context {
        let data = self
            .inner
            .configured
            .read()
            .map(|g| g.clone())
            .unwrap_or_default();
        Context::new(data, self.inner.stop.clone())
    }

    fn resource(&self, name: &str) -> Result<&Registered<dyn Resource>, Diagnostics> {
        self.inner
            .resources
            .get(name)
            .ok_or_else(|| unknown_type("resource type", name))
    }

    pub fn get_provider_schema(&self) -> GetProviderSchemaResponse {
        let i = &self.inner;
        GetProviderSchemaResponse {
            provider: i.provider_schema.clone(),
            provider_meta: None,
            resources: i
                .resources
                .iter()
                .map(|(k, r)| (k.clone(), r.schema.clone()))
                .collect(),
            data_sources: i
                .data_sources
                .iter()
                .map(|(k, d)| (k.clone(), d.schema.clone()))
                .collect(),
            functions: i
                .functions
                .iter()
                .map(|(k, f)| (k.clone(), f.signature()))
                .collect(),
            capabilities: capabilities(),
            diagnostics: Diagnostics::new(),
        }
    }

    pub fn get_metadata(&self) -> GetMetadataResponse {
        let i = &self.inner;
        GetMetadataResponse {
            resources: i.resources.keys().cloned().collect(),
            data_sources: i.data_sources.keys().cloned().collect(),
            functions: i.functions.keys().cloned().collect(),
            capabilities: capabilities(),
            diagnostics: Diagnostics::new(),
        }
    }

    pub async fn validate_provider_config(&self, req: ValidateConfigRequest) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let i = &self.inner;
        if let Some(config) = decode(
            &req.config,
            &i.provider_type,
            "provider configuration",
            &mut diags,
        ) {
            validate_block(
                &i.provider_schema.block,
                &config,
                &Default::default(),
                &mut diags,
            );
            i.provider.validate(&config, &mut diags);
        }
        diags
    }

    pub async fn validate_resource_config(&self, req: ValidateConfigRequest) -> Diagnostics {
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => return d,
        };
        let mut diags = Diagnostics::new();
        if let Some(config) = decode(&req.config, &r.ty, "resource configuration", &mut diags) {
            validate_block(&r.schema.block, &config, &Default::default(), &mut diags);
            r.item.validate(&config, &mut diags);
        }
        diags
    }

    pub async fn validate_data_resource_config(&self, req: ValidateConfigRequest) -> Diagnostics {
        let Some(d) = self.inner.data_sources.get(&req.type_name) else {
            return unknown_type("data source", &req.type_name);
        };
        let mut diags = Diagnostics::new();
        if let Some(config) = decode(&req.config, &d.ty, "data source configuration", &mut diags) {
            validate_block(&d.schema.block, &config, &Default::default(), &mut diags);
            d.item.validate(&config, &mut diags);
        }
        diags
    }

    pub async fn configure_provider(&self, req: ConfigureProviderRequest) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let i = &self.inner;
        let Some(config) = decode(
            &req.config,
            &i.provider_type,
            "provider configuration",
            &mut diags,
        ) else {
            return diags;
        };
        let data = i
            .provider
            .configure(&config, &req.terraform_version, &mut diags)
            .await;
        if let Ok(mut slot) = i.configured.write() {
            *slot = data;
        }
        diags
    }

    pub async fn upgrade_resource_state(
        &self,
        req: UpgradeResourceStateRequest,
    ) -> UpgradeResourceStateResponse {
        let mut diags = Diagnostics::new();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return UpgradeResourceStateResponse {
                    diagnostics: d,
                    ..Default::default()
                }
            }
        };
        let Some(raw) = req.raw_state_json else {
            diags.error(
                "Unsupported state format",
                "The state has no JSON form (flatmap state from a very old Terraform). Re-import the resource.",
            );
            return UpgradeResourceStateResponse {
                diagnostics: diags,
                ..Default::default()
            };
        };
        let mut bytes = raw;
        if req.version != r.schema.version {
            let parsed: serde_json::Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    diags.error(
                        "Invalid state",
                        format!("The stored state is not valid JSON: {e}."),
                    );
                    return UpgradeResourceStateResponse {
                        diagnostics: diags,
                        ..Default::default()
                    };
                }
            };
            match r.item.upgrade_state(req.version, parsed, &mut diags) {
                Some(v) => bytes = serde_json::to_vec(&v).unwrap_or_default(),
                None => {
                    return UpgradeResourceStateResponse {
                        diagnostics: diags,
                        ..Default::default()
                    }
                }
            }
        }
        let state = match json::decode(&bytes, &r.ty) {
            Ok(v) => v,
            Err(e) => {
                diags.error(
                    "Invalid state",
                    format!(
                        "The stored state of {} does not match its schema: {e}.",
                        req.type_name
                    ),
                );
                return UpgradeResourceStateResponse {
                    diagnostics: diags,
                    ..Default::default()
                };
            }
        };
        let upgraded_state = encode(&state, &r.ty, "upgraded state", &mut diags);
        UpgradeResourceStateResponse {
            upgraded_state,
            diagnostics: diags,
        }
    }

    pub async fn read_resource(&self, req: ReadResourceRequest) -> ReadResourceResponse {
        let mut diags = Diagnostics::new();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return ReadResourceResponse {
                    diagnostics: d,
                    ..Default::default()
                }
            }
        };
        let Some(state) = decode(&req.current_state, &r.ty, "current state", &mut diags) else {
            return ReadResourceResponse {
                diagnostics: diags,
                ..Default::default()
            };
        };
        if state.is_null() {
            return ReadResourceResponse {
                new_state: req.current_state,
                private: req.private,
                diagnostics: diags,
            };
        }
        tracing::debug!(type_name = %req.type_name, "ReadResource");
        let ctx = self.context().with_private(req.private);
        let new_state = r.item.read(&ctx, &state, &mut diags).await;
        let new_state = match new_state {
            Some(v) => v,
            // On error keep what we had, so nothing is forgotten.
            None if diags.has_errors() => state,
            None => Value::Null,
        };
        ReadResourceResponse {
            new_state: encode(&new_state, &r.ty, "refreshed state", &mut diags),
            private: ctx.private(),
            diagnostics: diags,
        }
    }

    pub async fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> PlanResourceChangeResponse {
        let mut diags = Diagnostics::new();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return PlanResourceChangeResponse {
                    diagnostics: d,
                    ..Default::default()
                }
            }
        };
        let values = (
            decode(&req.prior_state, &r.ty, "prior state", &mut diags),
            decode(
                &req.proposed_new_state,
                &r.ty,
                "proposed new state",
                &mut diags,
            ),
            decode(&req.config, &r.ty, "configuration", &mut diags),
        );
        let (Some(prior), Some(proposed), Some(config)) = values else {
            return PlanResourceChangeResponse {
                diagnostics: diags,
                ..Default::default()
            };
        };
        if proposed.is_null() {
            // Destroy: nothing to refine.
            return PlanResourceChangeResponse {
                planned_state: req.proposed_new_state,
                planned_private: req.prior_private,
                diagnostics: diags,
                ..Default::default()
            };
        }
        let mut change = plan::derive(&r.schema.block, &prior, &proposed, &config);
        change.private = req.prior_private;
        r.item
            .modify_plan(&self.context(), &mut change, &mut diags)
            .await;
        PlanResourceChangeResponse {
            planned_state: encode(&change.planned, &r.ty, "planned state", &mut diags),
            requires_replace: change.requires_replace,
            planned_private: change.private,
            diagnostics: diags,
        }
    }

    pub async fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> ApplyResourceChangeResponse {
        let mut diags = Diagnostics::new();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return ApplyResourceChangeResponse {
                    diagnostics: d,
                    ..Default::default()
                }
            }
        };
        let values = (
            decode(&req.prior_state, &r.ty, "prior state", &mut diags),
            decode(&req.planned_state, &r.ty, "planned state", &mut diags),
        );
        let (Some(prior), Some(planned)) = values else {
            return ApplyResourceChangeResponse {
                diagnostics: diags,
                ..Default::default()
            };
        };
        let (op, source) = match (prior.is_null(), planned.is_null()) {
            (_, true) => ("delete", &prior),
            (true, false) => ("create", &planned),
            (false, false) => ("update", &planned),
        };
        let limit = timeouts::timeout_for(source, op, r.item.default_timeout());
        // Delete sees what the last refresh or apply left; create and update what the plan did.
        let ctx = self
            .context()
            .with_timeout(limit)
            .with_private(req.planned_private);
        let new_state = if planned.is_null() {
            tracing::info!(type_name = %req.type_name, "delete");
            r.item.delete(&ctx, &prior, &mut diags).await;
            if diags.has_errors() {
                prior
            } else {
                Value::Null
            }
        } else if prior.is_null() {
            tracing::info!(type_name = %req.type_name, "create");
            r.item
                .create(&ctx, &planned, &mut diags)
                .await
                .unwrap_or(Value::Null)
        } else {
            tracing::info!(type_name = %req.type_name, "update");
            r.item.update(&ctx, &prior, &planned, &mut diags).await
        };
        if !diags.has_errors() && !new_state.is_null() && new_state.contains_unknown() {
            diags.error(
                "Provider left a value unknown after apply",
                format!(
                    "{} returned a state with unknown values. This is a bug in the provider.",
                    req.type_name
                ),
            );
        }
        ApplyResourceChangeResponse {
            new_state: encode(&new_state, &r.ty, "new state", &mut diags),
            private: ctx.private(),
            diagnostics: diags,
        }
    }

    pub async fn import_resource_state(
        &self,
        req: ImportResourceStateRequest,
    ) -> ImportResourceStateResponse {
        let mut diags = Diagnostics::new();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return ImportResourceStateResponse {
                    diagnostics: d,
                    ..Default::default()
                }
            }
        };
        let ctx = self.context();
        let Some(mut state) = r.item.import(&ctx, &req.id, &mut diags).await else {
            return ImportResourceStateResponse {
                diagnostics: diags,
                ..Default::default()
            };
        };
        plan::fill_state_defaults(&r.schema.block, &mut state);
        let encoded = encode(&state, &r.ty, "imported state", &mut diags);
        ImportResourceStateResponse {
            imported: vec![ImportedResource {
                type_name: req.type_name,
                state: encoded,
                private: ctx.private(),
            }],
            diagnostics: diags,
        }
    }

    pub async fn read_data_source(&self, req: ReadDataSourceRequest) -> ReadDataSourceResponse {
        let mut diags = Diagnostics::new();
        let Some(d) = self.inner.data_sources.get(&req.type_name) else {
            return ReadDataSourceResponse {
                diagnostics: unknown_type("data source", &req.type_name),
                ..Default::default()
            };
        };
        let Some(config) = decode(&req.config, &d.ty, "data source configuration", &mut diags)
        else {
            return ReadDataSourceResponse {
                diagnostics: diags,
                ..Default::default()
            };
        };
        let state = d
            .item
            .read(&self.context(), &config, &mut diags)
            .await
            .unwrap_or(Value::Null);
        ReadDataSourceResponse {
            state: encode(&state, &d.ty, "data source state", &mut diags),
            diagnostics: diags,
        }
    }

    pub async fn call_function(&self, req: CallFunctionRequest) -> CallFunctionResponse {
        let fail = |text: String, argument: Option<i64>| CallFunctionResponse {
            result: None,
            error: Some(FunctionError {
                text,
                function_argument: argument,
            }),
        };
        let Some(f) = self.inner.functions.get(&req.name) else {
            return fail(
                format!("this provider has no function named {:?}", req.name),
                None,
            );
        };
        let signature = f.signature();
        if req.arguments.len() != signature.parameters.len() {
            return fail(
                format!(
                    "{} takes {} arguments, got {}",
                    req.name,
                    signature.parameters.len(),
                    req.arguments.len()
                ),
                None,
            );
        }
        let mut args = Vec::with_capacity(req.arguments.len());
        for (i, (arg, param)) in req.arguments.iter().zip(&signature.parameters).enumerate() {
            let mut diags = Diagnostics::new();
            match decode(arg, &param.ty, "function argument", &mut diags) {
                Some(v) => args.push(v),
                None => {
                    return fail(
                        format!("argument {:?} could not be decoded", param.name),
                        Some(i as i64),
                    )
                }
            }
        }
        match f.call(&args) {
            Ok(v) => match msgpack::encode(&v, &signature.return_type) {
                Ok(bytes) => CallFunctionResponse {
                    result: Some(DynamicValue {
                        msgpack: bytes,
                        json: Vec::new(),
                    }),
                    error: None,
                },
                Err(e) => fail(format!("result could not be encoded: {e}"), None),
            },
            Err(e) => fail(e.text, e.argument.map(|a| a as i64)),
        }
    }

    /// StopProvider: wakes every wait in progress. Returns an error text when stopping failed.
    pub async fn stop(&self) -> Option<String> {
        self.inner.stop.stop();
        None
    }

    /// The client is done with this process (go-plugin's Shutdown): drops what
    /// ConfigureProvider built. Its connections end with it, so a ZooKeeper session is closed
    /// now (the client library sends closeSession when its last handle goes) instead of being
    /// left on the server until its session timeout expires it.
    pub fn release(&self) {
        if let Ok(mut slot) = self.inner.configured.write() {
            slot.take();
        }
    }
}

impl Default for ProviderServer {
    /// A server for the zkkafka provider itself.
    fn default() -> Self {
        Self::new(Arc::new(crate::resources::ZkKafkaProvider))
    }
}
