//! cty types and their JSON spelling (`"string"`, `["list","string"]`, `["object",{...}]`).

use std::collections::BTreeMap;

use serde_json::Value as Json;

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Type {
    Bool,
    Number,
    String,
    /// `DynamicPseudoType`: the value carries its own type on the wire.
    #[default]
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    #[error("type JSON is not valid JSON")]
    Syntax(#[source] serde_json::Error),
    #[error("unsupported type JSON: {0}")]
    Unsupported(String),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// The JSON value of this type, as the protocol's `Schema.Attribute.type` carries it.
    pub fn to_json_value(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(t) => Json::Array(vec!["list".into(), t.to_json_value()]),
            Type::Set(t) => Json::Array(vec!["set".into(), t.to_json_value()]),
            Type::Map(t) => Json::Array(vec!["map".into(), t.to_json_value()]),
            Type::Object(attrs) => Json::Array(vec![
                "object".into(),
                Json::Object(
                    attrs
                        .iter()
                        .map(|(k, t)| (k.clone(), t.to_json_value()))
                        .collect(),
                ),
            ]),
            Type::Tuple(ts) => Json::Array(vec![
                "tuple".into(),
                Json::Array(ts.iter().map(Type::to_json_value).collect()),
            ]),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a serde_json::Value to a Vec cannot fail.
        serde_json::to_vec(&self.to_json_value()).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Type, TypeError> {
        let json: Json = serde_json::from_slice(bytes).map_err(TypeError::Syntax)?;
        Type::from_json_value(&json)
    }

    pub fn from_json_value(json: &Json) -> Result<Type, TypeError> {
        let unsupported = || TypeError::Unsupported(json.to_string());
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(unsupported()),
            },
            Json::Array(parts) if parts.len() == 2 || parts.len() == 3 => {
                let kind = parts[0].as_str().ok_or_else(unsupported)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json_value(&parts[1])?)),
                    "set" => Ok(Type::set(Type::from_json_value(&parts[1])?)),
                    "map" => Ok(Type::map(Type::from_json_value(&parts[1])?)),
                    "object" => {
                        let attrs = parts[1].as_object().ok_or_else(unsupported)?;
                        let mut out = BTreeMap::new();
                        for (k, v) in attrs {
                            out.insert(k.clone(), Type::from_json_value(v)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = parts[1].as_array().ok_or_else(unsupported)?;
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Type::from_json_value)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(unsupported()),
                }
            }
            _ => Err(unsupported()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let cases = [
            ("string", Type::String),
            ("list_of_numbers", Type::list(Type::Number)),
            (
                "object",
                Type::object([("a", Type::String), ("b", Type::set(Type::Bool))]),
            ),
            ("tuple", Type::Tuple(vec![Type::String, Type::Dynamic])),
            ("map", Type::map(Type::String)),
        ];
        for (name, ty) in cases {
            let json = ty.to_json();
            assert_eq!(
                Type::from_json(&json).expect("valid type JSON"),
                ty,
                "case {name}"
            );
        }
        assert_eq!(
            String::from_utf8(Type::list(Type::String).to_json()).expect("UTF-8"),
            r#"["list","string"]"#
        );
    }
}
