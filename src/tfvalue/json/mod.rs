//! The JSON encoding of cty values (`DynamicValue.json`, and `RawState.json` in
//! UpgradeResourceState).
//!
//! Start with [`decode`] and [`encode`]; both are driven by the schema [`Type`]. The form, as
//! go-cty writes it:
//! - null is `null`; bool, string and number are themselves, numbers with every digit kept
//!   (the decoder reads number literals itself rather than through f64);
//! - list, set and tuple are arrays; map and object are objects (all attributes of an object
//!   type, in name order; on decoding, missing attributes are null and unknown ones an error);
//! - a value whose schema type is `dynamic` is `{"value": ..., "type": <type JSON>}` (keys in
//!   any order when decoding) or plain `null`. Decoding yields only the inner value: its type is
//!   dropped. Encoding writes the type the value implies, as the msgpack codec does.
//! - JSON has no unknown values: encoding one is an error.
//!
//! Like go-cty, the decoder converts primitives where the type asks for it: a string type
//! accepts a number or bool (as its text), a number type accepts a string holding a number,
//! and a bool type accepts `"true"` and `"false"`.
//!
//! The decoder never trusts the input: nesting deeper than [`super::MAX_DEPTH`] is an error,
//! and so are duplicate keys and anything but whitespace after the value.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

use super::codec::type_name;
use super::{AttributePath, Type, Value};

/// Why bytes could not be decoded as a value of the expected type. `path` is where in the
/// value the problem is.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{}invalid JSON (byte {offset}): {detail}", path.prefix())]
    Syntax {
        path: AttributePath,
        offset: usize,
        detail: &'static str,
    },
    #[error("{}expected {}, found JSON {found}", path.prefix(), type_name(expected))]
    Mismatch {
        path: AttributePath,
        expected: Type,
        found: &'static str,
    },
    #[error("{}{detail}", path.prefix())]
    Invalid { path: AttributePath, detail: String },
    #[error("{}the type of a dynamic value is not a valid cty type", path.prefix())]
    DynamicType {
        path: AttributePath,
        #[source]
        source: super::TypeError,
    },
    #[error(
        "{}value is nested more than {} levels deep",
        path.prefix(),
        super::MAX_DEPTH
    )]
    TooDeep { path: AttributePath },
}

impl DecodeError {
    /// Where in the value the problem is.
    pub fn path(&self) -> AttributePath {
        match self {
            DecodeError::Syntax { path, .. }
            | DecodeError::Mismatch { path, .. }
            | DecodeError::Invalid { path, .. }
            | DecodeError::DynamicType { path, .. }
            | DecodeError::TooDeep { path } => path.clone(),
        }
    }
}

/// Why a value could not be encoded as JSON of the given type.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("{}an unknown value has no JSON form", path.prefix())]
    Unknown { path: AttributePath },
    #[error("{}expected {}, found a {found} value", path.prefix(), type_name(expected))]
    Mismatch {
        path: AttributePath,
        expected: Type,
        found: &'static str,
    },
    #[error("{}{detail}", path.prefix())]
    Invalid { path: AttributePath, detail: String },
    #[error(
        "{}value is nested more than {} levels deep",
        path.prefix(),
        super::MAX_DEPTH
    )]
    TooDeep { path: AttributePath },
}

/// Decodes JSON bytes into a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    decode::Parser::new(bytes).decode_all(ty)
}

/// Encodes a value of type `ty` as JSON. Fails on unknown values (and infinities), which JSON
/// cannot carry, and on values that do not match the type.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    encode::Writer::default().encode_all(value, ty)
}
