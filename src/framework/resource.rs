//! The traits a provider implements: [`Provider`], [`Resource`] (with optional capabilities as
//! default methods), [`DataSource`] and [`Function`].

use std::any::Any;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;

use crate::tfvalue::{Diagnostics, Value};

use super::plan::PlannedChange;
use super::schema::{FunctionSignature, Schema};
use super::stop::StopSignal;

/// What every resource call gets: the configured provider's data, the stop signal, the
/// deadline from the resource's `timeouts` block for the operation under way, and the
/// instance's private state.
#[derive(Clone)]
pub struct Context {
    data: Option<Arc<dyn Any + Send + Sync>>,
    pub stop: StopSignal,
    /// When the current operation must give up; `None` outside create, update and delete.
    pub deadline: Option<(Instant, Duration)>,
    private: Arc<Mutex<Vec<u8>>>,
}

/// Why a [`Context::wait`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("Terraform asked the provider to stop")]
    Stopped,
    #[error("the operation did not finish within its timeout of {0:?}")]
    TimedOut(Duration),
}

impl Context {
    pub(crate) fn new(data: Option<Arc<dyn Any + Send + Sync>>, stop: StopSignal) -> Self {
        Self {
            data,
            stop,
            deadline: None,
            private: Arc::default(),
        }
    }

    /// The resource instance's private state: bytes the CLI stores beside the state, never
    /// shows and hands back on the next call. In `read` and `delete` they are what the last
    /// call left; in `create` and `update` what the plan left (`PlannedChange::private`);
    /// empty in `import`.
    pub fn private(&self) -> Vec<u8> {
        self.private
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the private state the CLI keeps after this call (`read`, `create`, `update`,
    /// `import`). Untouched, it stays what [`Context::private`] returned.
    pub fn set_private(&self, bytes: Vec<u8>) {
        *self.private.lock().unwrap_or_else(PoisonError::into_inner) = bytes;
    }

    #[must_use]
    pub(crate) fn with_private(mut self, bytes: Vec<u8>) -> Self {
        self.private = Arc::new(Mutex::new(bytes));
        self
    }

    #[must_use]
    pub(crate) fn with_timeout(mut self, limit: Duration) -> Self {
        let now = Instant::now();
        // Durations are parsed no longer than MAX_DURATION; a far deadline is as good as none.
        let far = || now + Duration::from_secs(100 * 365 * 86_400);
        self.deadline = Some((now.checked_add(limit).unwrap_or_else(far), limit));
        self
    }

    /// Runs `fut` until it completes, Terraform sends StopProvider, or the deadline passes.
    /// Long waits (rollouts, readiness) go through this so they honour `timeouts` and Ctrl-C;
    /// on `Err` the caller returns the state as far as it got, so nothing is forgotten.
    pub async fn wait<F: Future>(&self, fut: F) -> Result<F::Output, Interrupted> {
        let deadline = async {
            match self.deadline {
                Some((at, limit)) => {
                    tokio::time::sleep_until(at).await;
                    limit
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            out = fut => Ok(out),
            () = self.stop.stopped() => Err(Interrupted::Stopped),
            limit = deadline => Err(Interrupted::TimedOut(limit)),
        }
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

    /// Creates the object; returns the new state (private bytes go through
    /// [`Context::set_private`]). On failure, push an
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

    /// The time limit of create, update and delete when the `timeouts` block leaves it unset.
    fn default_timeout(&self) -> Duration {
        Duration::from_secs(20 * 60)
    }

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
        unsupported_state_version(self.type_name(), version, diags);
        None
    }
}

/// The diagnostic for a state whose schema version a resource cannot upgrade: the default
/// `upgrade_state` reports it for every version, a resource's own for versions it does not know.
pub fn unsupported_state_version(type_name: &str, version: i64, diags: &mut Diagnostics) {
    diags.error(
        "Unsupported state version",
        format!(
            "The state of {type_name} was written by schema version {version}, which this \
             provider cannot upgrade. Use the provider version that wrote it, or remove the \
             resource from state and import it again."
        ),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wait_ends_at_the_deadline_or_on_stop() {
        let ctx = Context::new(None, StopSignal::default()).with_timeout(Duration::from_secs(5));
        let slow = tokio::time::sleep(Duration::from_secs(60));
        assert_eq!(
            ctx.wait(slow).await,
            Err(Interrupted::TimedOut(Duration::from_secs(5)))
        );

        let ctx = Context::new(None, StopSignal::default());
        assert_eq!(ctx.wait(async { 7 }).await, Ok(7));
        ctx.stop.stop();
        let forever = std::future::pending::<()>();
        assert_eq!(ctx.wait(forever).await, Err(Interrupted::Stopped));
    }
}
