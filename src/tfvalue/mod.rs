//! Wire values and schema types of the plugin protocol, independent of the protobuf mirror.
//!
//! Start with [`Value`] (a typed-less tree of cty values where any node may be null or
//! unknown) and [`Type`] (the cty type that gives it shape). [`msgpack`] and [`json`] turn
//! bytes from Terraform into values and back; [`AttributePath`] and [`Diagnostic`] are how
//! problems are reported against a place in the configuration.

mod codec;
mod diagnostic;
mod implied;
pub mod json;
pub mod msgpack;
mod number;
mod path;
#[cfg(test)]
mod testgen;
mod types;
mod value;

pub use codec::MAX_DEPTH;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use number::{Number, ParseNumberError};
pub use path::{AttributePath, PathStep};
pub use types::{Type, TypeError};
pub use value::{DynamicValue, Value};
