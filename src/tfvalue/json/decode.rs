//! A JSON reader that builds a [`Value`] straight from the bytes, guided by the schema type.
//!
//! It is hand-written so that number literals reach [`Number`] as text (serde_json would round
//! them through f64 unless the crate-wide `arbitrary_precision` feature is on) and so that the
//! depth limit and error paths follow the value.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use super::DecodeError;
use crate::tfvalue::codec::Trail;
use crate::tfvalue::implied::{contains_dynamic, elements_agree};
use crate::tfvalue::{Number, PathStep, Type, Value};

pub(super) struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    trail: Trail,
}

impl<'a> Parser<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Parser {
            input,
            pos: 0,
            trail: Trail::default(),
        }
    }

    /// Decodes one value followed by nothing but whitespace.
    pub(super) fn decode_all(mut self, ty: &Type) -> Result<Value, DecodeError> {
        let value = self.value(ty)?;
        self.skip_whitespace();
        if self.pos != self.input.len() {
            return Err(self.syntax("unexpected data after the value"));
        }
        Ok(value)
    }

    /// One value of type `ty`. The arms live in their own functions to keep this frame,
    /// which every nesting level repeats on the stack, small.
    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        self.skip_whitespace();
        let start = self.peek()?;
        if start == b'n' {
            self.literal("null")?;
            return Ok(Value::Null);
        }
        match ty {
            Type::Dynamic => self.nested(Self::dynamic),
            Type::Bool => self.bool(ty, start),
            Type::Number => self.number(ty, start),
            Type::String => self.string_value(ty, start),
            Type::List(elem) => self.list(ty, elem).map(Value::List),
            Type::Set(elem) => self.list(ty, elem).map(Value::Set),
            Type::Tuple(types) => self.tuple(ty, types),
            Type::Map(elem) => self.map(ty, elem),
            Type::Object(attrs) => self.object(ty, attrs),
        }
    }

    fn bool(&mut self, ty: &Type, start: u8) -> Result<Value, DecodeError> {
        match start {
            b't' => self.literal("true").map(|()| Value::Bool(true)),
            b'f' => self.literal("false").map(|()| Value::Bool(false)),
            b'"' => match self.string()?.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                other => Err(self.invalid(format!("a bool is required, found {other:?}"))),
            },
            _ => Err(self.mismatch(ty, start)),
        }
    }

    fn number(&mut self, ty: &Type, start: u8) -> Result<Value, DecodeError> {
        let text = match start {
            b'"' => self.string()?,
            b'-' | b'0'..=b'9' => self.number_text()?.to_owned(),
            _ => return Err(self.mismatch(ty, start)),
        };
        match text.parse::<Number>() {
            Ok(n) => Ok(Value::Number(n)),
            Err(e) => Err(self.invalid(format!("invalid number: {e}"))),
        }
    }

    fn string_value(&mut self, ty: &Type, start: u8) -> Result<Value, DecodeError> {
        match start {
            b'"' => self.string().map(Value::String),
            b'-' | b'0'..=b'9' => Ok(Value::String(self.number_text()?.to_owned())),
            b't' => self.literal("true").map(|()| Value::from("true")),
            b'f' => self.literal("false").map(|()| Value::from("false")),
            _ => Err(self.mismatch(ty, start)),
        }
    }

    /// Elements of a list or set.
    fn list(&mut self, ty: &Type, elem: &Type) -> Result<Vec<Value>, DecodeError> {
        self.expect_start(ty, b'[')?;
        let elems = self.nested(|p| p.elements(|_| Some(elem)))?;
        if contains_dynamic(elem) && !elements_agree(&elems) {
            return Err(self.disagree());
        }
        Ok(elems)
    }

    fn tuple(&mut self, ty: &Type, types: &[Type]) -> Result<Value, DecodeError> {
        self.expect_start(ty, b'[')?;
        let elems = self.nested(|p| p.elements(|i| types.get(i)))?;
        if elems.len() != types.len() {
            return Err(self.tuple_length(types.len()));
        }
        Ok(Value::Tuple(elems))
    }

    fn map(&mut self, ty: &Type, elem: &Type) -> Result<Value, DecodeError> {
        self.expect_start(ty, b'{')?;
        let entries = self.nested(|p| p.members(|_| Some(elem), PathStep::ElementKeyString))?;
        if contains_dynamic(elem) && !elements_agree(entries.values()) {
            return Err(self.disagree());
        }
        Ok(Value::Map(entries))
    }

    fn object(&mut self, ty: &Type, attrs: &BTreeMap<String, Type>) -> Result<Value, DecodeError> {
        self.expect_start(ty, b'{')?;
        let mut entries =
            self.nested(|p| p.members(|name| attrs.get(name), PathStep::Attribute))?;
        for name in attrs.keys() {
            if !entries.contains_key(name) {
                entries.insert(name.clone(), Value::Null);
            }
        }
        Ok(Value::Object(entries))
    }

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

    /// Array elements after the opening `[`; `elem_type` gives the type of element `i`, or
    /// `None` when there may be no such element (a tuple's extra elements).
    fn elements<'t>(
        &mut self,
        elem_type: impl Fn(usize) -> Option<&'t Type>,
    ) -> Result<Vec<Value>, DecodeError> {
        let mut elems = Vec::new();
        self.skip_whitespace();
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(elems);
        }
        loop {
            let Some(ty) = elem_type(elems.len()) else {
                return Err(self.tuple_length(elems.len()));
            };
            self.trail.push_index(elems.len());
            elems.push(self.value(ty)?);
            self.trail.pop();
            if self.after_member(b']')? {
                return Ok(elems);
            }
        }
    }

    /// Object members after the opening `{`; `value_type` gives the type of a key's value, or
    /// `None` when the key is not allowed.
    fn members<'t>(
        &mut self,
        value_type: impl Fn(&str) -> Option<&'t Type>,
        step: fn(String) -> PathStep,
    ) -> Result<BTreeMap<String, Value>, DecodeError> {
        let mut entries = BTreeMap::new();
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(entries);
        }
        loop {
            let key = self.key()?;
            let Some(ty) = value_type(&key) else {
                return Err(self.unsupported(&key));
            };
            self.trail.push(step(key.clone()));
            let value = self.value(ty)?;
            self.trail.pop();
            match entries.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => return Err(self.duplicate(slot.key())),
            }
            if self.after_member(b'}')? {
                return Ok(entries);
            }
        }
    }

    /// `{"value": ..., "type": ...}` in either order, after the schema asked for `dynamic`.
    fn dynamic(&mut self) -> Result<Value, DecodeError> {
        self.expect_start(&Type::Dynamic, b'{')?;
        let mut ty = None;
        let mut value_span = None;
        self.skip_whitespace();
        if self.peek()? == b'}' {
            return Err(self.invalid("a dynamic value needs \"value\" and \"type\""));
        }
        loop {
            let key = self.key()?;
            self.skip_whitespace();
            let start = self.pos;
            match key.as_str() {
                "type" if ty.is_none() => {
                    self.skip_value()?;
                    let parsed =
                        Type::from_json(&self.input[start..self.pos]).map_err(|source| {
                            DecodeError::DynamicType {
                                path: self.trail.path(),
                                source,
                            }
                        })?;
                    ty = Some(parsed);
                }
                "value" if value_span.is_none() => {
                    self.skip_value()?;
                    value_span = Some((start, self.pos));
                }
                "type" | "value" => return Err(self.invalid(format!("key {key:?} appears twice"))),
                _ => return Err(self.invalid(format!("invalid key {key:?} in a dynamic value"))),
            }
            if self.after_member(b'}')? {
                break;
            }
        }
        let (Some(ty), Some((start, end))) = (ty, value_span) else {
            return Err(self.invalid("a dynamic value needs \"value\" and \"type\""));
        };
        // Go back and read the value now that its type is known.
        let resume = self.pos;
        self.pos = start;
        let value = self.value(&ty)?;
        if self.pos != end {
            return Err(self.syntax("dynamic value was read differently the second time"));
        }
        self.pos = resume;
        Ok(value)
    }

    /// Checks that one JSON value comes next and moves past it.
    fn skip_value(&mut self) -> Result<(), DecodeError> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.number_text().map(drop),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'[' => {
                self.pos += 1;
                self.nested(|p| {
                    p.skip_whitespace();
                    if p.peek()? == b']' {
                        p.pos += 1;
                        return Ok(());
                    }
                    loop {
                        p.skip_value()?;
                        if p.after_member(b']')? {
                            return Ok(());
                        }
                    }
                })
            }
            b'{' => {
                self.pos += 1;
                self.nested(|p| {
                    p.skip_whitespace();
                    if p.peek()? == b'}' {
                        p.pos += 1;
                        return Ok(());
                    }
                    loop {
                        p.key()?;
                        p.skip_value()?;
                        if p.after_member(b'}')? {
                            return Ok(());
                        }
                    }
                })
            }
            _ => Err(self.syntax("expected a JSON value")),
        }
    }

    /// An object key and its `:`.
    fn key(&mut self) -> Result<String, DecodeError> {
        self.skip_whitespace();
        if self.peek()? != b'"' {
            return Err(self.syntax("expected a string key"));
        }
        let key = self.string()?;
        self.skip_whitespace();
        if self.peek()? != b':' {
            return Err(self.syntax("expected ':' after a key"));
        }
        self.pos += 1;
        Ok(key)
    }

    /// After an array element or object member: true at the closing `close`, false after `,`.
    fn after_member(&mut self, close: u8) -> Result<bool, DecodeError> {
        self.skip_whitespace();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Ok(false)
            }
            b if b == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.syntax(if close == b']' {
                "expected ',' or ']'"
            } else {
                "expected ',' or '}'"
            })),
        }
    }

    fn expect_start(&mut self, ty: &Type, open: u8) -> Result<(), DecodeError> {
        let b = self.peek()?;
        if b != open {
            return Err(self.mismatch(ty, b));
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self, word: &'static str) -> Result<(), DecodeError> {
        if !self.input[self.pos..].starts_with(word.as_bytes()) {
            return Err(self.syntax("invalid literal"));
        }
        self.pos += word.len();
        Ok(())
    }

    /// A number literal in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number_text(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        self.eat(b'-');
        match self.peek_opt() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax("expected a digit")),
        }
        if self.eat(b'.') {
            self.required_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.required_digits()?;
        }
        // Only ASCII was consumed, so this is valid UTF-8.
        std::str::from_utf8(&self.input[start..self.pos]).map_err(|_| self.syntax("invalid number"))
    }

    fn required_digits(&mut self) -> Result<(), DecodeError> {
        if !matches!(self.peek_opt(), Some(b'0'..=b'9')) {
            return Err(self.syntax("expected a digit"));
        }
        self.digits();
        Ok(())
    }

    fn digits(&mut self) {
        while matches!(self.peek_opt(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    /// A string literal starting at the opening quote, with escapes resolved.
    fn string(&mut self) -> Result<String, DecodeError> {
        self.pos += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let run = self.input[self.pos..]
                .iter()
                .take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20)
                .count();
            out.extend_from_slice(&self.input[self.pos..self.pos + run]);
            self.pos += run;
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                _ => return Err(self.syntax("control character in a string")),
            }
        }
        String::from_utf8(out).map_err(|_| self.syntax("string is not valid UTF-8"))
    }

    /// One escape after its backslash, appended to `out` as UTF-8.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let b = self.peek()?;
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xd800..=0xdbff => {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(self.syntax("unpaired surrogate in a string"));
                        }
                        let low = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(self.syntax("unpaired surrogate in a string"));
                        }
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(self.syntax("unpaired surrogate in a string")),
                    _ => unit,
                };
                char::from_u32(code).ok_or_else(|| self.syntax("invalid unicode escape"))?
            }
            _ => return Err(self.syntax("invalid escape in a string")),
        };
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = match self.peek()? {
                b @ b'0'..=b'9' => b - b'0',
                b @ b'a'..=b'f' => b - b'a' + 10,
                b @ b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.syntax("invalid unicode escape")),
            };
            unit = unit * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(unit)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek_opt(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek_opt() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    fn peek_opt(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.peek_opt()
            .ok_or_else(|| self.syntax("input ended early"))
    }

    fn syntax(&self, detail: &'static str) -> DecodeError {
        DecodeError::Syntax {
            path: self.trail.path(),
            offset: self.pos,
            detail,
        }
    }

    /// The value at hand does not fit the type; `b` is its first byte.
    fn mismatch(&self, expected: &Type, b: u8) -> DecodeError {
        let found = match b {
            b'"' => "string",
            b'-' | b'0'..=b'9' => "number",
            b't' | b'f' => "bool",
            b'[' => "array",
            b'{' => "object",
            _ => return self.syntax("expected a JSON value"),
        };
        DecodeError::Mismatch {
            path: self.trail.path(),
            expected: expected.clone(),
            found,
        }
    }

    fn disagree(&self) -> DecodeError {
        self.invalid("elements of a list, set or map do not all have the same type")
    }

    fn tuple_length(&self, want: usize) -> DecodeError {
        self.invalid(format!("a tuple of {want} elements is required"))
    }

    fn unsupported(&self, name: &str) -> DecodeError {
        self.invalid(format!("unsupported attribute {name:?}"))
    }

    fn duplicate(&self, key: &str) -> DecodeError {
        self.invalid(format!("key {key:?} appears twice"))
    }

    fn invalid(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::Invalid {
            path: self.trail.path(),
            detail: detail.into(),
        }
    }
}
