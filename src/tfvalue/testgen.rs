//! Random types and values conforming to them, for the codecs' round-trip properties.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::implied::contains_dynamic;
use super::{Number, Type, Value};

/// Any type, `dynamic` included.
pub(crate) fn any_type() -> impl Strategy<Value = Type> {
    types(prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::Dynamic),
    ])
}

/// A type without `dynamic`: what a known value in a dynamic slot really has.
pub(crate) fn concrete_type() -> impl Strategy<Value = Type> {
    types(prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String)
    ])
}

fn types(leaf: impl Strategy<Value = Type> + 'static) -> impl Strategy<Value = Type> {
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_map(Type::Object),
            vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
}

/// What the codec under test can carry besides known values.
#[derive(Clone, Copy)]
pub(crate) struct Allow {
    /// Unknown values (msgpack only).
    pub(crate) unknown: bool,
    /// Infinite numbers (msgpack only).
    pub(crate) infinity: bool,
}

/// A value of type `ty`: any node may be null (or unknown when allowed).
pub(crate) fn value_of(ty: Type, allow: Allow) -> BoxedStrategy<Value> {
    let known = known_value_of(ty, allow);
    if allow.unknown {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn known_value_of(ty: Type, allow: Allow) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => number(allow.infinity).prop_map(Value::Number).boxed(),
        Type::String => ".{0,8}".prop_map(Value::String).boxed(),
        Type::List(elem) => elements(*elem, allow).prop_map(Value::List).boxed(),
        Type::Set(elem) => elements(*elem, allow).prop_map(Value::Set).boxed(),
        Type::Map(elem) => {
            // cty requires one element type, so `dynamic` inside is fixed once per map.
            instantiate(*elem)
                .prop_flat_map(move |elem| btree_map(".{0,5}", value_of(elem, allow), 0..4))
                .prop_map(Value::Map)
                .boxed()
        }
        Type::Object(attrs) => attrs
            .into_iter()
            .map(|(name, ty)| value_of(ty, allow).prop_map(move |v| (name.clone(), v)))
            .collect::<Vec<_>>()
            .prop_map(Value::object)
            .boxed(),
        Type::Tuple(types) => types
            .into_iter()
            .map(|ty| value_of(ty, allow))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Dynamic => concrete_type()
            .prop_flat_map(move |ty| known_value_of(ty, allow))
            .boxed(),
    }
}

/// Elements of a list or set, all of one type as cty requires.
fn elements(elem: Type, allow: Allow) -> impl Strategy<Value = Vec<Value>> {
    instantiate(elem).prop_flat_map(move |elem| vec(value_of(elem, allow), 0..4))
}

/// `ty` with every `dynamic` inside replaced by a concrete type.
fn instantiate(ty: Type) -> BoxedStrategy<Type> {
    if !contains_dynamic(&ty) {
        return Just(ty).boxed();
    }
    match ty {
        Type::List(t) => instantiate(*t).prop_map(Type::list).boxed(),
        Type::Set(t) => instantiate(*t).prop_map(Type::set).boxed(),
        Type::Map(t) => instantiate(*t).prop_map(Type::map).boxed(),
        Type::Object(attrs) => attrs
            .into_iter()
            .map(|(name, ty)| instantiate(ty).prop_map(move |t| (name.clone(), t)))
            .collect::<Vec<_>>()
            .prop_map(Type::object)
            .boxed(),
        Type::Tuple(types) => types
            .into_iter()
            .map(instantiate)
            .collect::<Vec<_>>()
            .prop_map(Type::Tuple)
            .boxed(),
        _ => concrete_type().boxed(),
    }
}

/// Integers of every width, floats, and decimals beyond both.
pub(crate) fn number(infinity: bool) -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>()
            .prop_filter("NaN, or infinity where not allowed", move |f| {
                !f.is_nan() && (infinity || f.is_finite())
            })
            .prop_filter_map("NaN", Number::from_f64),
        "-?[0-9]{1,30}(\\.[0-9]{1,30})?([eE][-+]?[0-9]{1,4})?"
            .prop_filter_map("not a number", |s| s.parse().ok()),
    ]
}
