//! Writing a [`Value`] as msgpack, guided by the schema type.

use std::collections::BTreeMap;

use rmp::Marker;

use super::EncodeError;
use crate::tfvalue::codec::{value_kind, Trail};
use crate::tfvalue::implied::implied_type;
use crate::tfvalue::{Number, PathStep, Type, Value};

/// Unknown as Terraform writes it: fixext1 (`d4`), extension type 0, one zero byte of payload.
const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

#[derive(Default)]
pub(super) struct Encoder {
    out: Vec<u8>,
    trail: Trail,
}

impl Encoder {
    pub(super) fn encode_all(mut self, value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
        self.value(value, ty)?;
        Ok(self.out)
    }

    fn value(&mut self, value: &Value, ty: &Type) -> Result<(), EncodeError> {
        match (ty, value) {
            (_, Value::Unknown) => self.out.extend_from_slice(&UNKNOWN),
            (_, Value::Null) => self.marker(Marker::Null),
            (Type::Dynamic, value) => self.nested(|e| e.dynamic(value))?,
            (Type::Bool, Value::Bool(b)) => {
                self.marker(if *b { Marker::True } else { Marker::False });
            }
            (Type::Number, Value::Number(n)) => self.number(n),
            (Type::String, Value::String(s)) => self.str(s),
            (Type::List(elem), Value::List(elems)) | (Type::Set(elem), Value::Set(elems)) => {
                self.nested(|e| e.elements(elems, |_| Some(elem)))?;
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
                self.nested(|e| e.elements(elems, |i| types.get(i)))?;
            }
            (Type::Map(elem), Value::Map(entries)) => {
                self.nested(|e| e.map(entries, elem))?;
            }
            (Type::Object(attrs), Value::Object(entries) | Value::Map(entries)) => {
                self.nested(|e| e.object(entries, attrs))?;
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

    /// The first form that holds the number exactly: integer, float64, decimal string.
    fn number(&mut self, n: &Number) {
        if let Some(i) = n.as_i64() {
            self.int(i);
        } else if let Some(f) = n.as_exact_f64() {
            self.marker(Marker::F64);
            self.out.extend_from_slice(&f.to_be_bytes());
        } else {
            self.str(&n.to_string());
        }
    }

    /// An integer in the smallest msgpack form that holds it.
    fn int(&mut self, i: i64) {
        if let Ok(u) = u64::try_from(i) {
            match u {
                0..=0x7f => self.marker(Marker::FixPos(u as u8)),
                0x80..=0xff => {
                    self.marker(Marker::U8);
                    self.out.push(u as u8);
                }
                0x100..=0xffff => {
                    self.marker(Marker::U16);
                    self.out.extend_from_slice(&(u as u16).to_be_bytes());
                }
                0x1_0000..=0xffff_ffff => {
                    self.marker(Marker::U32);
                    self.out.extend_from_slice(&(u as u32).to_be_bytes());
                }
                _ => {
                    self.marker(Marker::U64);
                    self.out.extend_from_slice(&u.to_be_bytes());
                }
            }
        } else if let Ok(n) = i8::try_from(i) {
            if n >= -32 {
                self.marker(Marker::FixNeg(n));
            } else {
                self.marker(Marker::I8);
                self.out.extend_from_slice(&n.to_be_bytes());
            }
        } else if let Ok(n) = i16::try_from(i) {
            self.marker(Marker::I16);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else if let Ok(n) = i32::try_from(i) {
            self.marker(Marker::I32);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else {
            self.marker(Marker::I64);
            self.out.extend_from_slice(&i.to_be_bytes());
        }
    }

    fn str(&mut self, s: &str) {
        match s.len() {
            len @ 0..32 => self.marker(Marker::FixStr(len as u8)),
            len => self.length(len, Some(Marker::Str8), Marker::Str16, Marker::Str32),
        }
        self.out.extend_from_slice(s.as_bytes());
    }

    fn bin(&mut self, bytes: &[u8]) {
        self.length(
            bytes.len(),
            Some(Marker::Bin8),
            Marker::Bin16,
            Marker::Bin32,
        );
        self.out.extend_from_slice(bytes);
    }

    fn array_len(&mut self, len: usize) {
        match len {
            0..16 => self.marker(Marker::FixArray(len as u8)),
            _ => self.length(len, None, Marker::Array16, Marker::Array32),
        }
    }

    fn map_len(&mut self, len: usize) {
        match len {
            0..16 => self.marker(Marker::FixMap(len as u8)),
            _ => self.length(len, None, Marker::Map16, Marker::Map32),
        }
    }

    /// A marker and a big-endian length in the narrowest of the given widths that holds it.
    fn length(&mut self, len: usize, m8: Option<Marker>, m16: Marker, m32: Marker) {
        if let (Some(m8), Ok(len)) = (m8, u8::try_from(len)) {
            self.marker(m8);
            self.out.push(len);
        } else if let Ok(len) = u16::try_from(len) {
            self.marker(m16);
            self.out.extend_from_slice(&len.to_be_bytes());
        } else {
            // Terraform's 256 MiB message limit keeps real lengths far below 4 GiB.
            self.marker(m32);
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            self.out.extend_from_slice(&len.to_be_bytes());
        }
    }

    fn marker(&mut self, marker: Marker) {
        self.out.push(marker.to_u8());
    }

    fn elements<'t>(
        &mut self,
        elems: &[Value],
        elem_type: impl Fn(usize) -> Option<&'t Type>,
    ) -> Result<(), EncodeError> {
        self.array_len(elems.len());
        for (i, elem) in elems.iter().enumerate() {
            self.trail.push_index(i);
            let ty = elem_type(i).unwrap_or(&Type::Dynamic);
            self.value(elem, ty)?;
            self.trail.pop();
        }
        Ok(())
    }

    fn map(&mut self, entries: &BTreeMap<String, Value>, elem: &Type) -> Result<(), EncodeError> {
        self.map_len(entries.len());
        for (key, value) in entries {
            self.str(key);
            self.trail.push(PathStep::ElementKeyString(key.clone()));
            self.value(value, elem)?;
            self.trail.pop();
        }
        Ok(())
    }

    /// Every attribute of the type, in name order; attributes the value lacks are null.
    fn object(
        &mut self,
        entries: &BTreeMap<String, Value>,
        attrs: &BTreeMap<String, Type>,
    ) -> Result<(), EncodeError> {
        if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
            return Err(self.invalid(format!("unsupported attribute {extra:?}")));
        }
        self.map_len(attrs.len());
        for (name, ty) in attrs {
            self.str(name);
            self.trail.push(PathStep::Attribute(name.clone()));
            self.value(entries.get(name).unwrap_or(&Value::Null), ty)?;
            self.trail.pop();
        }
        Ok(())
    }

    /// `[type JSON as bin, value]` with the type the value implies.
    fn dynamic(&mut self, value: &Value) -> Result<(), EncodeError> {
        let Some(ty) = implied_type(value) else {
            return Err(self.invalid(
                "a set in this dynamic value has elements of different types, which no cty type describes",
            ));
        };
        self.array_len(2);
        self.bin(&ty.to_json());
        self.value(value, &ty)
    }

    fn invalid(&self, detail: impl Into<String>) -> EncodeError {
        EncodeError::Invalid {
            path: self.trail.path(),
            detail: detail.into(),
        }
    }
}
