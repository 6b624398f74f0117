//! The msgpack encoding of cty values, as Terraform puts them in `DynamicValue.msgpack`.
//!
//! Start with [`decode`] and [`encode`]; both are driven by the schema [`Type`]. The wire
//! form, as go-cty writes it:
//! - null is msgpack nil (`c0`); unknown is an extension, `d4 00 00` (fixext1, type 0). A
//!   refined unknown is extension type 12 with a msgpack payload; any extension decodes as
//!   [`Value::Unknown`] and refinements are dropped.
//! - bool and string are themselves. A number is an integer when it fits i64, a float64 when
//!   one holds it exactly, and otherwise a string with the decimal (see [`super::Number`]).
//! - list, set and tuple are arrays; map is a map with string keys; an object is a map from
//!   attribute name (sorted) to value. Decoding fills attributes missing from the input with
//!   null and rejects names the type does not have.
//! - a value whose schema type is `dynamic` is the array `[type JSON as bin, value]`, except
//!   that a null or unknown dynamic value is plain nil or unknown. Decoding yields only the
//!   inner value: its type is dropped. Encoding writes the type the value implies (see the
//!   `implied` module: lists whose elements disagree become tuples, such maps become objects,
//!   such sets are an error).
//!
//! Like Go's msgpack library, the decoder reads str and bin alike wherever it wants text. It
//! is stricter than go-cty where go-cty would build an invalid value: duplicate map keys, and
//! elements of one list, set or map whose dynamic parts have different types, are errors.
//!
//! Decoding never trusts the input: nesting deeper than [`super::MAX_DEPTH`] is an error,
//! lengths are checked against the bytes left before anything is allocated, and trailing bytes
//! after the value are an error.

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
    #[error("{}msgpack input is truncated or malformed (byte {offset}): {detail}", path.prefix())]
    Malformed {
        path: AttributePath,
        offset: usize,
        detail: &'static str,
    },
    #[error("{}expected {}, found msgpack {found}", path.prefix(), type_name(expected))]
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
    #[error("{count} bytes left over after the value")]
    TrailingBytes { count: usize },
}

/// Why a value could not be encoded as the given type.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
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

impl DecodeError {
    /// Where in the value the problem is (the root for trailing bytes).
    pub fn path(&self) -> AttributePath {
        match self {
            DecodeError::Malformed { path, .. }
            | DecodeError::Mismatch { path, .. }
            | DecodeError::Invalid { path, .. }
            | DecodeError::DynamicType { path, .. }
            | DecodeError::TooDeep { path } => path.clone(),
            DecodeError::TrailingBytes { .. } => AttributePath::root(),
        }
    }
}

/// Decodes msgpack bytes into a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    decode::Decoder::new(bytes).decode_all(ty)
}

/// Encodes a value of type `ty` as msgpack.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    encode::Encoder::default().encode_all(value, ty)
}
