//! The msgpack encoding of cty values used by `DynamicValue.msgpack`.
//!
//! Placeholder until the codec lands: see the codec work in progress.

use super::{Type, Value};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("msgpack value does not match type {expected:?} at {path}: {detail}")]
    Mismatch {
        expected: Type,
        path: String,
        detail: String,
    },
    #[error("msgpack input ended early or is malformed: {0}")]
    Malformed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("value does not match type {expected:?} at {path}")]
    Mismatch { expected: Type, path: String },
}

/// Decodes msgpack bytes into a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let _ = (bytes, ty);
    Err(DecodeError::Malformed("codec not implemented yet".into()))
}

/// Encodes a value of type `ty` as msgpack.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let _ = value;
    Err(EncodeError::Mismatch {
        expected: ty.clone(),
        path: String::new(),
    })
}
