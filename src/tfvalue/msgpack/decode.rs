//! Reading msgpack bytes into a [`Value`], guided by the schema type.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use rmp::Marker;

use super::DecodeError;
use crate::tfvalue::codec::Trail;
use crate::tfvalue::implied::{contains_dynamic, elements_agree};
use crate::tfvalue::{Number, PathStep, Type, Value};

pub(super) struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    trail: Trail,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Decoder {
            input,
            pos: 0,
            trail: Trail::default(),
        }
    }

    /// Decodes one value that must take up all of the input.
    pub(super) fn decode_all(mut self, ty: &Type) -> Result<Value, DecodeError> {
        let value = self.value(ty)?;
        match self.remaining() {
            0 => Ok(value),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }

    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        let marker = self.peek_marker()?;
        if is_extension(marker) {
            self.skip_extension()?;
            return Ok(Value::Unknown);
        }
        if *ty == Type::Dynamic {
            return self.nested(Self::dynamic);
        }
        if marker == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::Bool => match marker {
                Marker::True | Marker::False => {
                    self.pos += 1;
                    Ok(Value::Bool(marker == Marker::True))
                }
                _ => Err(self.mismatch(ty, marker)),
            },
            Type::Number => self.number(marker).map(Value::Number),
            Type::String => self.string(ty).map(Value::String),
            Type::List(elem) => self.nested(|d| d.collection(ty, elem).map(Value::List)),
            Type::Set(elem) => self.nested(|d| d.collection(ty, elem).map(Value::Set)),
            Type::Map(elem) => self.nested(|d| d.map(ty, elem).map(Value::Map)),
            Type::Object(attrs) => self.nested(|d| d.object(ty, attrs).map(Value::Object)),
            Type::Tuple(elems) => self.nested(|d| d.tuple(ty, elems).map(Value::Tuple)),
            Type::Dynamic => self.nested(Self::dynamic),
        }
    }

    /// Runs `f` one nesting level deeper, refusing to pass the depth limit.
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        if !self.trail.descend() {
            return Err(DecodeError::TooDeep {
                path: self.trail.path(),
            });
        }
        let result = f(self);
        self.trail.ascend();
        result
    }

    fn number(&mut self, marker: Marker) -> Result<Number, DecodeError> {
        let number = match marker {
            Marker::FixPos(n) => {
                self.pos += 1;
                Number::from(i64::from(n))
            }
            Marker::FixNeg(n) => {
                self.pos += 1;
                Number::from(i64::from(n))
            }
            Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => {
                self.pos += 1;
                let width = match marker {
                    Marker::U8 => 1,
                    Marker::U16 => 2,
                    Marker::U32 => 4,
                    _ => 8,
                };
                Number::from(self.uint(width)?)
            }
            Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => {
                self.pos += 1;
                let value = match marker {
                    Marker::I8 => i64::from(i8::from_be_bytes(self.array()?)),
                    Marker::I16 => i64::from(i16::from_be_bytes(self.array()?)),
                    Marker::I32 => i64::from(i32::from_be_bytes(self.array()?)),
                    _ => i64::from_be_bytes(self.array()?),
                };
                Number::from(value)
            }
            Marker::F32 | Marker::F64 => {
                self.pos += 1;
                let value = match marker {
                    Marker::F32 => f64::from(f32::from_be_bytes(self.array()?)),
                    _ => f64::from_be_bytes(self.array()?),
                };
                Number::from_f64(value).ok_or_else(|| self.invalid("NaN is not a number"))?
            }
            _ => {
                // go-cty writes numbers that neither i64 nor f64 hold exactly as a string.
                let text = self.string(&Type::Number)?;
                text.parse()
                    .map_err(|e| self.invalid(format!("invalid number: {e}")))?
            }
        };
        Ok(number)
    }

    /// A str (or bin, which go's msgpack library also reads as a string) holding UTF-8.
    fn string(&mut self, ty: &Type) -> Result<String, DecodeError> {
        let bytes = self.raw_string(ty)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(self.invalid("string is not valid UTF-8")),
        }
    }

    fn raw_string(&mut self, ty: &Type) -> Result<&'a [u8], DecodeError> {
        let marker = self.peek_marker()?;
        let len = match marker {
            Marker::FixStr(n) => {
                self.pos += 1;
                usize::from(n)
            }
            Marker::Str8 | Marker::Bin8 => {
                self.pos += 1;
                self.length(1)?
            }
            Marker::Str16 | Marker::Bin16 => {
                self.pos += 1;
                self.length(2)?
            }
            Marker::Str32 | Marker::Bin32 => {
                self.pos += 1;
                self.length(4)?
            }
            _ => return Err(self.mismatch(ty, marker)),
        };
        self.take(len)
    }

    /// Elements of a list or set.
    fn collection(&mut self, ty: &Type, elem: &Type) -> Result<Vec<Value>, DecodeError> {
        let len = self.array_len(ty)?;
        let elems = self.elements(len, |_| elem)?;
        if contains_dynamic(elem) && !elements_agree(&elems) {
            return Err(self.invalid("elements of a list or set do not all have the same type"));
        }
        Ok(elems)
    }

    fn tuple(&mut self, ty: &Type, elem_types: &[Type]) -> Result<Vec<Value>, DecodeError> {
        let len = self.array_len(ty)?;
        if len != elem_types.len() {
            return Err(self.invalid(format!(
                "a tuple of {} elements is required, found {len}",
                elem_types.len()
            )));
        }
        self.elements(len, |i| &elem_types[i])
    }

    fn elements<'t>(
        &mut self,
        len: usize,
        elem_type: impl Fn(usize) -> &'t Type,
    ) -> Result<Vec<Value>, DecodeError> {
        // Every element takes at least one byte, so the input bounds the allocation.
        let mut elems = Vec::with_capacity(len.min(self.remaining()));
        for i in 0..len {
            self.trail.push_index(i);
            elems.push(self.value(elem_type(i))?);
            self.trail.pop();
        }
        Ok(elems)
    }

    fn map(&mut self, ty: &Type, elem: &Type) -> Result<BTreeMap<String, Value>, DecodeError> {
        let entries = self.entries(ty, |_| Some(elem), PathStep::ElementKeyString)?;
        if contains_dynamic(elem) && !elements_agree(entries.values()) {
            return Err(self.invalid("elements of a map do not all have the same type"));
        }
        Ok(entries)
    }

    fn object(
        &mut self,
        ty: &Type,
        attrs: &BTreeMap<String, Type>,
    ) -> Result<BTreeMap<String, Value>, DecodeError> {
        let mut entries = self.entries(ty, |name| attrs.get(name), PathStep::Attribute)?;
        for name in attrs.keys() {
            if !entries.contains_key(name) {
                entries.insert(name.clone(), Value::Null);
            }
        }
        Ok(entries)
    }

    /// Entries of a msgpack map; `value_type` gives the type of a key's value, or `None` when
    /// the key is not allowed.
    fn entries<'t>(
        &mut self,
        ty: &Type,
        value_type: impl Fn(&str) -> Option<&'t Type>,
        step: fn(String) -> PathStep,
    ) -> Result<BTreeMap<String, Value>, DecodeError> {
        let len = self.map_len(ty)?;
        let mut entries = BTreeMap::new();
        for _ in 0..len {
            let key = self.string(&Type::String)?;
            let Some(elem) = value_type(&key) else {
                return Err(self.invalid(format!("unsupported attribute {key:?}")));
            };
            self.trail.push(step(key.clone()));
            let value = self.value(elem)?;
            self.trail.pop();
            match entries.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => {
                    return Err(self.invalid(format!("key {:?} appears twice", slot.key())));
                }
            }
        }
        Ok(entries)
    }

    /// `[type JSON, value]`, or nil for a null of unknown type.
    fn dynamic(&mut self) -> Result<Value, DecodeError> {
        let marker = self.peek_marker()?;
        if marker == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        if self.array_len(&Type::Dynamic)? != 2 {
            return Err(self.invalid("a dynamic value must be a [type, value] array"));
        }
        let type_json = self.raw_string(&Type::String)?;
        let ty = Type::from_json(type_json).map_err(|source| DecodeError::DynamicType {
            path: self.trail.path(),
            source,
        })?;
        self.value(&ty)
    }

    fn array_len(&mut self, ty: &Type) -> Result<usize, DecodeError> {
        let marker = self.peek_marker()?;
        match marker {
            Marker::FixArray(n) => {
                self.pos += 1;
                Ok(usize::from(n))
            }
            Marker::Array16 => {
                self.pos += 1;
                self.length(2)
            }
            Marker::Array32 => {
                self.pos += 1;
                self.length(4)
            }
            _ => Err(self.mismatch(ty, marker)),
        }
    }

    fn map_len(&mut self, ty: &Type) -> Result<usize, DecodeError> {
        let marker = self.peek_marker()?;
        match marker {
            Marker::FixMap(n) => {
                self.pos += 1;
                Ok(usize::from(n))
            }
            Marker::Map16 => {
                self.pos += 1;
                self.length(2)
            }
            Marker::Map32 => {
                self.pos += 1;
                self.length(4)
            }
            _ => Err(self.mismatch(ty, marker)),
        }
    }

    /// Skips an extension (marker, length, type byte and payload).
    fn skip_extension(&mut self) -> Result<(), DecodeError> {
        let marker = self.peek_marker()?;
        self.pos += 1;
        let len = match marker {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.length(1)?,
            Marker::Ext16 => self.length(2)?,
            _ => self.length(4)?,
        };
        self.take(1)?; // the extension type: every one of them means "unknown"
        self.take(len)?;
        Ok(())
    }

    fn peek_marker(&self) -> Result<Marker, DecodeError> {
        match self.input.get(self.pos) {
            Some(&b) => Ok(Marker::from_u8(b)),
            None => Err(self.malformed("input ended where a value should start")),
        }
    }

    fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.remaining() {
            return Err(self.malformed("input ended inside a value"));
        }
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// A big-endian unsigned integer `width` bytes wide (1, 2, 4 or 8).
    fn uint(&mut self, width: usize) -> Result<u64, DecodeError> {
        let bytes = self.take(width)?;
        Ok(bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A length prefix `width` bytes wide.
    fn length(&mut self, width: usize) -> Result<usize, DecodeError> {
        let len = self.uint(width)?;
        usize::try_from(len).map_err(|_| self.malformed("length does not fit in memory"))
    }

    fn malformed(&self, detail: &'static str) -> DecodeError {
        DecodeError::Malformed {
            path: self.trail.path(),
            offset: self.pos,
            detail,
        }
    }

    fn mismatch(&self, expected: &Type, marker: Marker) -> DecodeError {
        DecodeError::Mismatch {
            path: self.trail.path(),
            expected: expected.clone(),
            found: marker_kind(marker),
        }
    }

    fn invalid(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::Invalid {
            path: self.trail.path(),
            detail: detail.into(),
        }
    }
}

fn is_extension(marker: Marker) -> bool {
    matches!(
        marker,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    )
}

fn marker_kind(marker: Marker) -> &'static str {
    match marker {
        Marker::Null => "nil",
        Marker::True | Marker::False => "bool",
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "integer",
        Marker::F32 | Marker::F64 => "float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map",
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => "extension",
        Marker::Reserved => "reserved byte 0xc1",
    }
}
