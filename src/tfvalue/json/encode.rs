//! Writing a [`Value`] as JSON, guided by the schema type.

use std::collections::BTreeMap;

use super::EncodeError;
use crate::tfvalue::codec::{value_kind, Trail};
use crate::tfvalue::implied::implied_type;
use crate::tfvalue::{PathStep, Type, Value};

#[derive(Default)]
pub(super) struct Writer {
    out: Vec<u8>,
    trail: Trail,
}

impl Writer {
    pub(super) fn encode_all(mut self, value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
        self.value(value, ty)?;
        Ok(self.out)
    }

    fn value(&mut self, value: &Value, ty: &Type) -> Result<(), EncodeError> {
        match (ty, value) {
            (_, Value::Unknown) => {
                return Err(EncodeError::Unknown {
                    path: self.trail.path(),
                })
            }
            (_, Value::Null) => self.out.extend_from_slice(b"null"),
            (Type::Dynamic, value) => self.nested(|w| w.dynamic(value))?,
            (Type::Bool, Value::Bool(b)) => {
                self.out
                    .extend_from_slice(if *b { b"true" } else { b"false" });
            }
            (Type::Number, Value::Number(n)) => {
                if n.is_infinite() {
                    return Err(self.invalid("an infinite number has no JSON form"));
                }
                // Display writes the exact decimal, which is always a valid JSON number.
                self.out.extend_from_slice(n.to_string().as_bytes());
            }
            (Type::String, Value::String(s)) => self.string(s),
            (Type::List(elem), Value::List(elems)) | (Type::Set(elem), Value::Set(elems)) => {
                self.nested(|w| w.elements(elems, |_| elem))?;
            }
            // A list or map whose elements differ in type is written as the tuple or object it
            // implies when it sits in a dynamic slot.
            (Type::Tuple(types), Value::Tuple(elems) | Value::List(elems)) => {
                if types.len() != elems.len() {
                    return Err(self.invalid(format!(
                        "a tuple of {} elements is required, found {}",
                        types.len(),
                        elems.len()
                    )));
                }
                self.nested(|w| w.elements(elems, |i| types.get(i).unwrap_or(&Type::Dynamic)))?;
            }
            (Type::Map(elem), Value::Map(entries)) => {
                let members = entries.iter().map(|(k, v)| (k, v, &**elem));
                self.nested(|w| w.members(members, PathStep::ElementKeyString))?;
            }
            (Type::Object(attrs), Value::Object(entries) | Value::Map(entries)) => {
                if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
                    return Err(self.invalid(format!("unsupported attribute {extra:?}")));
                }
                let members = object_members(entries, attrs);
                self.nested(|w| w.members(members, PathStep::Attribute))?;
            }
            (ty, value) => {
                return Err(EncodeError::Mismatch {
                    path: self.trail.path(),
                    expected: ty.clone(),
                    found: value_kind(value),
                })
            }
        }
        Ok(())
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        if !self.trail.descend() {
            return Err(EncodeError::TooDeep {
                path: self.trail.path(),
            });
        }
        let result = f(self);
        self.trail.ascend();
        result
    }

    fn elements<'t>(
        &mut self,
        elems: &[Value],
        elem_type: impl Fn(usize) -> &'t Type,
    ) -> Result<(), EncodeError> {
        self.out.push(b'[');
        for (i, elem) in elems.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.trail.push_index(i);
            self.value(elem, elem_type(i))?;
            self.trail.pop();
        }
        self.out.push(b']');
        Ok(())
    }

    fn members<'v>(
        &mut self,
        members: impl Iterator<Item = (&'v String, &'v Value, &'v Type)>,
        step: fn(String) -> PathStep,
    ) -> Result<(), EncodeError> {
        self.out.push(b'{');
        for (i, (key, value, ty)) in members.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.string(key);
            self.out.push(b':');
            self.trail.push(step(key.clone()));
            self.value(value, ty)?;
            self.trail.pop();
        }
        self.out.push(b'}');
        Ok(())
    }

    /// `{"value":...,"type":...}` with the type the value implies (go-cty's key order).
    fn dynamic(&mut self, value: &Value) -> Result<(), EncodeError> {
        let Some(ty) = implied_type(value) else {
            return Err(self.invalid(
                "a set in this dynamic value has elements of different types, which no cty type describes",
            ));
        };
        self.out.extend_from_slice(b"{\"value\":");
        self.value(value, &ty)?;
        self.out.extend_from_slice(b",\"type\":");
        self.out.extend_from_slice(&ty.to_json());
        self.out.push(b'}');
        Ok(())
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    fn string(&mut self, s: &str) {
        self.out.push(b'"');
        for c in s.chars() {
            match c {
                '"' => self.out.extend_from_slice(b"\\\""),
                '\\' => self.out.extend_from_slice(b"\\\\"),
                '\n' => self.out.extend_from_slice(b"\\n"),
                '\r' => self.out.extend_from_slice(b"\\r"),
                '\t' => self.out.extend_from_slice(b"\\t"),
                c if u32::from(c) < 0x20 => {
                    self.out
                        .extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
                }
                c => {
                    let mut buf = [0; 4];
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        self.out.push(b'"');
    }

    fn invalid(&self, detail: impl Into<String>) -> EncodeError {
        EncodeError::Invalid {
            path: self.trail.path(),
            detail: detail.into(),
        }
    }
}

/// Every attribute of the type in name order, null where the value lacks it.
fn object_members<'v>(
    entries: &'v BTreeMap<String, Value>,
    attrs: &'v BTreeMap<String, Type>,
) -> impl Iterator<Item = (&'v String, &'v Value, &'v Type)> {
    static NULL: Value = Value::Null;
    attrs
        .iter()
        .map(|(name, ty)| (name, entries.get(name).unwrap_or(&NULL), ty))
}
