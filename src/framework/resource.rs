//! The traits a provider implements: [`Provider`], [`Resource`] (with optional capabilities as
//! default methods), [`DataSource`] and [`Function`].

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;

use crate::tfvalue::{Diagnostics, Value};

use super::plan::PlannedChange;
use super::schema::{FunctionSignature, Schema};
use super::stop::StopSignal;

/// What every resource call gets: the configured provider's data and the stop signal.
#[derive(Clone)]
pub struct Context {
    data: Option<Arc<dyn Any + Send + Sync>>,
    pub stop: StopSignal,
}

impl Context {
    pub(crate) fn new(data: Option<Arc<dyn Any + Send + Sync>>, stop: StopSignal) -> Self {
        Self { data, stop }
    }

    /// The value returned by [`Provider::configure`], when the provider is configured and
    /// of type `T`.
    pub fn provider_data<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.data.clone().and_then(|d| d.downcast::<T>().ok())
    }
}

/// The provider itself: its configuration schema and how to turn configuration into the data
/// every resource call receives.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    fn schema(&self) -> Schema;

    /// Extra checks on the provider configuration (which may hold unknowns).
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Turns the provider configuration into shared data for resources. The configuration may
    /// hold unknown values (it can depend on resources not yet created): keep them as
    /// "not known yet" rather than failing.
    async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<Arc<dyn Any + Send + Sync>>;

    fn resources(&self) -> Vec<Arc<dyn Resource>>;

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        Vec::new()
    }
}

/// A managed resource. Required: its name, schema, and the CRUD operations. The rest are
/// capabilities with defaults (validate, modify_plan, import, upgrade_state).
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks beyond the per-attribute validators. `config` may hold unknowns.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Adjusts the plan the framework derived from the schema (defaults, unknown computed
    /// values, requires-replace). Called for creates and updates, not for destroys.
    async fn modify_plan(
        &self,
        _ctx: &Context,
        _change: &mut PlannedChange,
        _diags: &mut Diagnostics,
    ) {
    }

    /// Creates the object; returns the new state (and private bytes). On failure, push an
    /// error and return the state of whatever was created so it is not forgotten (or `None`
    /// when nothing was).
    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value>;

    /// Reads the object back. `Ok(None)` means it is gone (the plan will propose to create it).
    async fn read(&self, ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value>;

    /// Updates in place; returns the new state. On failure push an error and return the state
    /// as far as it got (or the prior state).
    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Value;

    /// Deletes the object. On failure push an error (the object stays in state).
    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics);

    /// Import by ID: returns a state from which `read` can fill in the rest. The default says
    /// import is not supported.
    async fn import(&self, _ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        diags.error(
            "Import not supported",
            format!("{} cannot be imported (id {id:?}).", self.type_name()),
        );
        None
    }

    /// Upgrades a state written by an older schema version (decoded as untyped JSON) into the
    /// current schema's shape. The default accepts only the current version.
    fn upgrade_state(
        &self,
        version: i64,
        _state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        diags.error(
            "Unsupported state version",
            format!(
                "The state of {} was written by schema version {version}, which this provider \
                 cannot upgrade. Use the provider version that wrote it, or remove the resource \
                 from state and import it again.",
                self.type_name()
            ),
        );
        None
    }
}

/// A data source: read-only.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn read(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

/// An error from a provider function, optionally about one argument.
#[derive(Debug, Clone)]
pub struct FunctionCallError {
    pub text: String,
    pub argument: Option<usize>,
}

/// A provider function such as `provider::zkkafka::digest_id`.
pub trait Function: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn signature(&self) -> FunctionSignature;
    fn call(&self, args: &[Value]) -> Result<Value, FunctionCallError>;
}
