//! A small framework for typed resources, data sources and provider functions.
//!
//! Start at [`ProviderServer`], which answers each RPC in native types ([`rpc`]); schemas are
//! in [`schema`].

pub mod rpc;
pub mod schema;
mod server;

pub use schema::{Attribute, Block, NestedBlock, Nesting, PlanModifier, Schema, Validator};
pub use server::ProviderServer;
