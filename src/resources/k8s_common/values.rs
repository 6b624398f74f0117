//! Reading typed models out of configuration values that passed validation: what is not known
//! yet is reported (never guessed), what is missing is an error.

use std::collections::BTreeMap;

use crate::tfvalue::Value;

/// Why a value could not become a typed model: validation reports bad values with their
/// paths, so this is only about values not known yet (or a state that lost required parts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{0} is not known yet")]
    Unknown(&'static str),
    #[error("{0} is missing or has the wrong type")]
    Missing(&'static str),
}

pub fn string_map(v: &Value, attr: &'static str) -> Result<BTreeMap<String, String>, ModelError> {
    if v.is_unknown() {
        return Err(ModelError::Unknown(attr));
    }
    let Some(entries) = v.as_entries() else {
        return Ok(BTreeMap::new());
    };
    entries
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Unknown => Err(ModelError::Unknown(attr)),
            _ => Err(ModelError::Missing(attr)),
        })
        .collect()
}

pub fn opt_string(v: &Value, attr: &'static str) -> Result<Option<String>, ModelError> {
    match v {
        Value::Null => Ok(None),
        Value::Unknown => Err(ModelError::Unknown(attr)),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ModelError::Missing(attr)),
    }
}

pub fn string(v: &Value, attr: &'static str) -> Result<String, ModelError> {
    opt_string(v, attr)?.ok_or(ModelError::Missing(attr))
}
