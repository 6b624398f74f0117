//! The cty type a value implies, for writing values whose schema type is `dynamic`.
//!
//! A [`Value`] does not carry its type, but a dynamic value on the wire must name one. The
//! type is read off the value's shape:
//! - null and unknown imply `dynamic` (they fit whatever the other elements need);
//! - bool, number and string imply themselves; objects and tuples imply an object or tuple of
//!   their members' implied types;
//! - a list, set or map implies a list, set or map of the one type all its elements agree on
//!   (`dynamic` parts of one element yield to concrete parts of another, so `[null, "a"]` is a
//!   list of strings). When the elements disagree (`["a", 1]`), a list falls back to a tuple
//!   and a map to an object, which Terraform accepts wherever a list or map is expected;
//!   a set has no such fallback, so it has no implied type.
//!
//! Writing a value with its implied type and reading it back gives the same [`Value`].

use std::collections::BTreeMap;

use super::{Type, Value};

/// The type `value` implies, or `None` when a set's elements have different types.
pub(crate) fn implied_type(value: &Value) -> Option<Type> {
    Some(match value {
        Value::Null | Value::Unknown => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::Object(attrs) => Type::Object(implied_members(attrs)?),
        Value::Tuple(elems) => Type::Tuple(elems.iter().map(implied_type).collect::<Option<_>>()?),
        Value::List(elems) => {
            let types: Vec<Type> = elems.iter().map(implied_type).collect::<Option<_>>()?;
            match unify_all(&types) {
                Some(elem) => Type::list(elem),
                None => Type::Tuple(types),
            }
        }
        Value::Set(elems) => {
            let types: Vec<Type> = elems.iter().map(implied_type).collect::<Option<_>>()?;
            Type::set(unify_all(&types)?)
        }
        Value::Map(entries) => {
            let types = implied_members(entries)?;
            match unify_all(types.values()) {
                Some(elem) => Type::map(elem),
                None => Type::Object(types),
            }
        }
    })
}

fn implied_members(members: &BTreeMap<String, Value>) -> Option<BTreeMap<String, Type>> {
    members
        .iter()
        .map(|(name, v)| Some((name.clone(), implied_type(v)?)))
        .collect()
}

/// The one type every element can take (`dynamic` for no elements).
fn unify_all<'a>(types: impl IntoIterator<Item = &'a Type>) -> Option<Type> {
    types
        .into_iter()
        .try_fold(Type::Dynamic, |acc, t| unify(&acc, t))
}

/// The most specific type both `a` and `b` fit, where `dynamic` stands for "not known yet".
pub(crate) fn unify(a: &Type, b: &Type) -> Option<Type> {
    Some(match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => t.clone(),
        (Type::List(x), Type::List(y)) => Type::list(unify(x, y)?),
        (Type::Set(x), Type::Set(y)) => Type::set(unify(x, y)?),
        (Type::Map(x), Type::Map(y)) => Type::map(unify(x, y)?),
        (Type::Object(x), Type::Object(y)) if x.keys().eq(y.keys()) => Type::Object(
            x.iter()
                .zip(y.values())
                .map(|((name, x), y)| Some((name.clone(), unify(x, y)?)))
                .collect::<Option<_>>()?,
        ),
        (Type::Tuple(x), Type::Tuple(y)) if x.len() == y.len() => Type::Tuple(
            x.iter()
                .zip(y)
                .map(|(x, y)| unify(x, y))
                .collect::<Option<_>>()?,
        ),
        (a, b) if a == b => a.clone(),
        _ => return None,
    })
}

/// True when `ty` has `dynamic` somewhere inside it.
pub(crate) fn contains_dynamic(ty: &Type) -> bool {
    match ty {
        Type::Dynamic => true,
        Type::Bool | Type::Number | Type::String => false,
        Type::List(t) | Type::Set(t) | Type::Map(t) => contains_dynamic(t),
        Type::Object(attrs) => attrs.values().any(contains_dynamic),
        Type::Tuple(elems) => elems.iter().any(contains_dynamic),
    }
}

/// True when the elements of a collection whose element type contains `dynamic` all have one
/// type, as cty requires of a list, set or map (a decoder checks this so that what it accepts
/// can be written back out).
pub(crate) fn elements_agree<'a>(elems: impl IntoIterator<Item = &'a Value>) -> bool {
    let mut acc = Type::Dynamic;
    for v in elems {
        match implied_type(v).and_then(|t| unify(&acc, &t)) {
            Some(t) => acc = t,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_types() {
        let cases = [
            ("null", Value::Null, Some(Type::Dynamic)),
            ("string", Value::from("a"), Some(Type::String)),
            (
                "list_with_null",
                Value::List(vec![Value::Null, Value::from("a")]),
                Some(Type::list(Type::String)),
            ),
            (
                "mixed_list_is_tuple",
                Value::List(vec![Value::from("a"), Value::from(true)]),
                Some(Type::Tuple(vec![Type::String, Type::Bool])),
            ),
            (
                "empty_list",
                Value::List(vec![]),
                Some(Type::list(Type::Dynamic)),
            ),
            (
                "mixed_map_is_object",
                Value::Map(BTreeMap::from([
                    ("a".into(), Value::from(1)),
                    ("b".into(), Value::from("x")),
                ])),
                Some(Type::object([("a", Type::Number), ("b", Type::String)])),
            ),
            (
                "mixed_set",
                Value::Set(vec![Value::from(1), Value::from("x")]),
                None,
            ),
            (
                "objects_with_nulls_unify",
                Value::List(vec![
                    Value::object([("a", Value::Null), ("b", Value::from(1))]),
                    Value::object([("a", Value::from("x")), ("b", Value::Unknown)]),
                ]),
                Some(Type::list(Type::object([
                    ("a", Type::String),
                    ("b", Type::Number),
                ]))),
            ),
            (
                "nested_empty_lists_unify",
                Value::Set(vec![
                    Value::List(vec![]),
                    Value::List(vec![Value::from(false)]),
                ]),
                Some(Type::set(Type::list(Type::Bool))),
            ),
        ];
        for (name, value, want) in cases {
            assert_eq!(implied_type(&value), want, "case {name}");
        }
    }
}
