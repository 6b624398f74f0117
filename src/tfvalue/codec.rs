//! Pieces the msgpack and JSON codecs share: the nesting limit, the trail of where in a value
//! the codec is (for error paths), and names of types and values for messages.

use super::{AttributePath, PathStep, Type, Value};

/// How deeply values may nest (collections, and the wrapper of each dynamic value). Real
/// Terraform values nest a few levels; the limit keeps hostile input from exhausting the
/// stack. A level costs at most about 4.5 KiB of stack in a debug build (far less in
/// release), so 256 levels fit in a 2 MiB thread stack, tokio's default.
pub const MAX_DEPTH: usize = 256;

/// Where in the value a codec is: the path steps taken and the nesting depth.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    steps: Vec<PathStep>,
    depth: usize,
}

impl Trail {
    pub(crate) fn path(&self) -> AttributePath {
        AttributePath {
            steps: self.steps.clone(),
        }
    }

    /// Goes one level deeper; false when that would pass [`MAX_DEPTH`].
    pub(crate) fn descend(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            return false;
        }
        self.depth += 1;
        true
    }

    pub(crate) fn ascend(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(crate) fn push(&mut self, step: PathStep) {
        self.steps.push(step);
    }

    pub(crate) fn pop(&mut self) {
        self.steps.pop();
    }

    pub(crate) fn push_index(&mut self, index: usize) {
        self.push(PathStep::ElementKeyInt(
            i64::try_from(index).unwrap_or(i64::MAX),
        ));
    }
}

/// The type's cty JSON spelling, for messages.
pub(crate) fn type_name(ty: &Type) -> String {
    String::from_utf8_lossy(&ty.to_json()).into_owned()
}

/// What kind of value this is, for messages.
pub(crate) fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unknown => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
    }
}
