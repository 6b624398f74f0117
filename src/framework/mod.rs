//! A small framework for typed resources, data sources and provider functions.
//!
//! Start at [`ProviderServer`], which answers each RPC in native types ([`rpc`]) by calling
//! the traits in [`resource`]: a [`Provider`] lists its [`Resource`]s, [`DataSource`]s and
//! [`Function`]s. [`schema`] describes attributes with validators, plan modifiers and
//! defaults; [`plan`] derives planned states from them; [`timeouts`] gives the shared
//! `timeouts` block; [`StopSignal`] carries StopProvider to every wait.

pub mod plan;
pub mod resource;
pub mod rpc;
pub mod schema;
mod server;
mod stop;
pub mod timeouts;
mod validate;

pub use plan::PlannedChange;
pub use resource::{
    Context, DataSource, Function, FunctionCallError, Interrupted, Provider, Resource,
};
pub use schema::{
    Attribute, Block, FunctionParameter, FunctionSignature, NestedBlock, Nesting, PlanModifier,
    Schema, Validator,
};
pub use server::ProviderServer;
pub use stop::StopSignal;

#[cfg(test)]
mod tests;
