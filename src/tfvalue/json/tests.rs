//! Golden text (as go-cty writes it), round-trip properties and hostile input.

use proptest::prelude::*;

use super::{decode, encode, EncodeError};
use crate::tfvalue::testgen::{any_type, value_of, Allow};
use crate::tfvalue::{Number, Type, Value, MAX_DEPTH};

fn num(text: &str) -> Value {
    Value::Number(text.parse().expect("test number"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Encoding `value` as `ty` gives exactly this text, and decoding it gives `value` back.
#[test]
fn golden_round_trips() {
    let obj_type = Type::object([("a", Type::String), ("b", Type::Number)]);
    let huge = format!("1{}", "0".repeat(400));
    let cases: Vec<(&str, Type, Value, String)> = vec![
        ("null", Type::String, Value::Null, "null".into()),
        ("true", Type::Bool, Value::Bool(true), "true".into()),
        ("false", Type::Bool, Value::Bool(false), "false".into()),
        ("int", Type::Number, Value::int(-42), "-42".into()),
        (
            "i64_min",
            Type::Number,
            Value::int(i64::MIN),
            "-9223372036854775808".into(),
        ),
        (
            "beyond_i64",
            Type::Number,
            num("18446744073709551616"),
            "18446744073709551616".into(),
        ),
        ("binary_fraction", Type::Number, num("0.5"), "0.5".into()),
        ("one_tenth", Type::Number, num("0.1"), "0.1".into()),
        (
            "long_decimal",
            Type::Number,
            num("123456789012345678901234567890.123"),
            "123456789012345678901234567890.123".into(),
        ),
        ("beyond_f64", Type::Number, num("1e400"), huge),
        (
            "far_beyond_f64",
            Type::Number,
            num("-1.25e999999"),
            "-1.25e999999".into(),
        ),
        ("tiny", Type::Number, num("1e-5000"), "1e-5000".into()),
        ("string", Type::String, Value::from("hi"), r#""hi""#.into()),
        (
            "string_escapes",
            Type::String,
            Value::from("a\"b\\c\n\t\u{1}é😀"),
            "\"a\\\"b\\\\c\\n\\t\\u0001é😀\"".into(),
        ),
        (
            "list",
            Type::list(Type::String),
            Value::List(vec!["a".into(), Value::Null]),
            r#"["a",null]"#.into(),
        ),
        (
            "set",
            Type::set(Type::Number),
            Value::Set(vec![Value::int(2), Value::int(1)]),
            "[2,1]".into(),
        ),
        (
            "empty_list",
            Type::list(Type::Bool),
            Value::List(vec![]),
            "[]".into(),
        ),
        (
            "map",
            Type::map(Type::Bool),
            Value::Map(
                [
                    ("x".to_string(), Value::Bool(true)),
                    ("a b".to_string(), Value::Null),
                ]
                .into(),
            ),
            r#"{"a b":null,"x":true}"#.into(),
        ),
        (
            "object_all_attributes_in_order",
            obj_type.clone(),
            Value::object([("b", Value::int(1)), ("a", Value::Null)]),
            r#"{"a":null,"b":1}"#.into(),
        ),
        (
            "tuple",
            Type::Tuple(vec![Type::String, Type::Number]),
            Value::Tuple(vec!["x".into(), Value::int(1)]),
            r#"["x",1]"#.into(),
        ),
        (
            "nested",
            Type::object([
                ("inner", obj_type.clone()),
                ("list", Type::list(obj_type.clone())),
            ]),
            Value::object([
                ("inner", Value::Null),
                (
                    "list",
                    Value::List(vec![Value::object([
                        ("a", Value::from("x")),
                        ("b", Value::Null),
                    ])]),
                ),
            ]),
            r#"{"inner":null,"list":[{"a":"x","b":null}]}"#.into(),
        ),
        ("dynamic_null", Type::Dynamic, Value::Null, "null".into()),
        (
            "dynamic_string",
            Type::Dynamic,
            Value::from("hi"),
            r#"{"value":"hi","type":"string"}"#.into(),
        ),
        (
            "dynamic_object",
            Type::Dynamic,
            Value::object([
                ("n", Value::int(1)),
                ("l", Value::List(vec![Value::Bool(true)])),
            ]),
            r#"{"value":{"l":[true],"n":1},"type":["object",{"l":["list","bool"],"n":"number"}]}"#
                .into(),
        ),
        (
            "dynamic_attribute",
            Type::object([("v", Type::Dynamic)]),
            Value::object([("v", Value::int(3))]),
            r#"{"v":{"value":3,"type":"number"}}"#.into(),
        ),
    ];
    for (name, ty, value, want) in cases {
        let got = encode(&value, &ty).unwrap_or_else(|e| panic!("case {name}: encode: {e}"));
        assert_eq!(text(&got), want, "case {name}: encoded text");
        let back =
            decode(want.as_bytes(), &ty).unwrap_or_else(|e| panic!("case {name}: decode: {e}"));
        let want_back = match name {
            "object_all_attributes_in_order" => {
                Value::object([("a", Value::Null), ("b", Value::int(1))])
            }
            _ => value,
        };
        assert_eq!(back, want_back, "case {name}: decoded value");
    }
}

/// Forms we accept but do not write.
#[test]
fn golden_decodes() {
    let obj = Type::object([("a", Type::String), ("b", Type::Bool)]);
    let cases: Vec<(&str, Type, &str, Value)> = vec![
        (
            "whitespace",
            Type::list(Type::Number),
            " [ 1 ,\n\t2 ] \r\n",
            Value::List(vec![Value::int(1), Value::int(2)]),
        ),
        ("exponent", Type::Number, "1E2", Value::int(100)),
        ("negative_zero", Type::Number, "-0.0", Value::int(0)),
        ("number_from_string", Type::Number, r#""12.5""#, num("12.5")),
        (
            "string_from_number",
            Type::String,
            "12.50",
            Value::from("12.50"),
        ),
        (
            "string_from_bool",
            Type::String,
            "true",
            Value::from("true"),
        ),
        (
            "bool_from_string",
            Type::Bool,
            r#""false""#,
            Value::Bool(false),
        ),
        (
            "missing_attribute_is_null",
            obj.clone(),
            r#"{"a":"x"}"#,
            Value::object([("a", Value::from("x")), ("b", Value::Null)]),
        ),
        (
            "unicode_escapes",
            Type::String,
            r#""\u00e9\ud83d\ude00\/""#,
            Value::from("é😀/"),
        ),
        (
            "dynamic_type_first",
            Type::Dynamic,
            r#"{"type":["list","string"],"value":["a"]}"#,
            Value::List(vec!["a".into()]),
        ),
        (
            "dynamic_null_value",
            Type::Dynamic,
            r#"{"value":null,"type":"string"}"#,
            Value::Null,
        ),
        (
            "dynamic_in_dynamic",
            Type::Dynamic,
            r#"{"value":{"value":1,"type":"number"},"type":"dynamic"}"#,
            Value::int(1),
        ),
    ];
    for (name, ty, input, want) in cases {
        let got = decode(input.as_bytes(), &ty).unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert_eq!(got, want, "case {name}");
    }
}

/// Malformed, truncated and hostile input is an error, never a panic.
#[test]
fn bad_input_is_an_error() {
    let obj = Type::object([("a", Type::String)]);
    let deep_type = (0..MAX_DEPTH + 10).fold(Type::String, |t, _| Type::list(t));
    let deep_text = "[".repeat(MAX_DEPTH + 10);
    let deep_dynamic = r#"{"type":"dynamic","value":"#.repeat(MAX_DEPTH * 4);
    let cases: Vec<(&str, Type, Vec<u8>)> = vec![
        ("empty", Type::String, b"".to_vec()),
        ("only_whitespace", Type::String, b"  ".to_vec()),
        ("bad_literal", Type::Bool, b"tru".to_vec()),
        ("null_prefix", Type::String, b"nul".to_vec()),
        ("trailing_garbage", Type::String, br#""a" x"#.to_vec()),
        ("two_values", Type::Number, b"1 2".to_vec()),
        ("unterminated_string", Type::String, br#""abc"#.to_vec()),
        (
            "control_char_in_string",
            Type::String,
            b"\"a\x01\"".to_vec(),
        ),
        ("invalid_utf8", Type::String, b"\"\xff\"".to_vec()),
        ("bad_escape", Type::String, br#""\x""#.to_vec()),
        ("short_unicode_escape", Type::String, br#""\u12""#.to_vec()),
        ("lone_high_surrogate", Type::String, br#""\ud83d""#.to_vec()),
        ("lone_low_surrogate", Type::String, br#""\ude00""#.to_vec()),
        ("leading_zero", Type::Number, b"01".to_vec()),
        ("trailing_point", Type::Number, b"1.".to_vec()),
        ("leading_point", Type::Number, b".5".to_vec()),
        ("plus_sign", Type::Number, b"+1".to_vec()),
        ("bare_minus", Type::Number, b"-".to_vec()),
        ("nan", Type::Number, b"NaN".to_vec()),
        (
            "number_string_not_a_number",
            Type::Number,
            br#""abc""#.to_vec(),
        ),
        ("bool_string_not_a_bool", Type::Bool, br#""yes""#.to_vec()),
        ("huge_exponent", Type::Number, b"1e99999999999".to_vec()),
        ("array_for_string", Type::String, b"[]".to_vec()),
        (
            "unterminated_array",
            Type::list(Type::Number),
            b"[1,".to_vec(),
        ),
        ("trailing_comma", Type::list(Type::Number), b"[1,]".to_vec()),
        ("missing_comma", Type::list(Type::Number), b"[1 2]".to_vec()),
        (
            "unsupported_attribute",
            obj.clone(),
            br#"{"b":"x"}"#.to_vec(),
        ),
        (
            "duplicate_key",
            obj.clone(),
            br#"{"a":"x","a":"y"}"#.to_vec(),
        ),
        ("non_string_key", obj.clone(), br#"{1:"x"}"#.to_vec()),
        ("missing_colon", obj.clone(), br#"{"a" "x"}"#.to_vec()),
        (
            "tuple_too_short",
            Type::Tuple(vec![Type::Bool, Type::Bool]),
            b"[true]".to_vec(),
        ),
        (
            "tuple_too_long",
            Type::Tuple(vec![Type::Bool]),
            b"[true,true]".to_vec(),
        ),
        ("dynamic_not_object", Type::Dynamic, b"[1]".to_vec()),
        (
            "dynamic_missing_type",
            Type::Dynamic,
            br#"{"value":1}"#.to_vec(),
        ),
        (
            "dynamic_missing_value",
            Type::Dynamic,
            br#"{"type":"number"}"#.to_vec(),
        ),
        (
            "dynamic_extra_key",
            Type::Dynamic,
            br#"{"value":1,"type":"number","x":1}"#.to_vec(),
        ),
        (
            "dynamic_bad_type",
            Type::Dynamic,
            br#"{"value":1,"type":"int"}"#.to_vec(),
        ),
        (
            "dynamic_value_wrong_type",
            Type::Dynamic,
            br#"{"value":"x","type":"number"}"#.to_vec(),
        ),
        (
            "dynamic_bad_value_syntax",
            Type::Dynamic,
            br#"{"value":[1,,"type":"number"}"#.to_vec(),
        ),
        (
            "dynamic_elements_disagree",
            Type::list(Type::Dynamic),
            br#"[{"value":1,"type":"number"},{"value":"a","type":"string"}]"#.to_vec(),
        ),
        ("too_deep_by_type", deep_type, deep_text.into_bytes()),
        (
            "too_deep_by_dynamic_wrappers",
            Type::Dynamic,
            deep_dynamic.into_bytes(),
        ),
    ];
    for (name, ty, input) in cases {
        let result = decode(&input, &ty);
        assert!(result.is_err(), "case {name}: decoded to {result:?}");
    }
}

/// A problem at the root names no place: the message starts with what is wrong.
#[test]
fn root_errors_have_no_empty_place() {
    let ty = Type::object([("path", Type::String)]);
    let err = decode(br#"{"path":"/a","timeouts":null}"#, &ty).expect_err("extra attribute");
    assert_eq!(err.to_string(), "unsupported attribute \"timeouts\"");
    let err = decode(b"{", &ty).expect_err("truncated");
    assert!(err.to_string().starts_with("invalid JSON (byte"), "{err}");
}

#[test]
fn errors_say_where() {
    let ty = Type::object([("m", Type::map(Type::Number))]);
    let err = decode(br#"{"m":{"k":true}}"#, &ty).expect_err("bool for number");
    assert_eq!(err.path().to_string(), "m[\"k\"]");

    let value = Value::object([("m", Value::Map([("k".to_string(), Value::Unknown)].into()))]);
    let err = encode(&value, &ty).expect_err("unknown");
    assert!(
        matches!(&err, EncodeError::Unknown { path } if path.to_string() == "m[\"k\"]"),
        "{err}"
    );

    let infinity = Value::Number(Number::from_f64(f64::INFINITY).expect("inf"));
    assert!(encode(&infinity, &Type::Number).is_err());
}

/// The deepest values allowed fit in a 2 MiB thread stack (tokio's and the test harness's
/// default) even in a debug build, for lists and for objects.
#[test]
fn nesting_up_to_the_limit_fits_a_small_stack() {
    let run = || {
        let list_type = (0..MAX_DEPTH).fold(Type::String, |t, _| Type::list(t));
        let list = (0..MAX_DEPTH).fold(Value::from("x"), |v, _| Value::List(vec![v]));
        let object_type = (0..MAX_DEPTH).fold(Type::String, |t, _| Type::object([("a", t)]));
        let object = (0..MAX_DEPTH).fold(Value::from("x"), |v, _| Value::object([("a", v)]));
        for (ty, value) in [(list_type, list), (object_type, object)] {
            let bytes = encode(&value, &ty).expect("encode at the limit");
            assert_eq!(decode(&bytes, &ty).expect("decode at the limit"), value);
        }
    };
    let thread = std::thread::Builder::new().stack_size(2 << 20).spawn(run);
    assert!(thread.expect("spawn").join().is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip(
        (ty, value) in any_type().prop_flat_map(|ty| {
            let values = value_of(ty.clone(), Allow { unknown: false, infinity: false });
            (Just(ty), values)
        })
    ) {
        let bytes = encode(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = decode(&bytes, &ty).map_err(|e| TestCaseError::fail(format!("{e}: {}", text(&bytes))))?;
        prop_assert_eq!(back, value);
    }

    #[test]
    fn arbitrary_text_never_panics(input in r#"[\[\]{}",:0-9.eE+\-a-z\\ ]{0,48}"#, ty in any_type()) {
        if let Ok(value) = decode(input.as_bytes(), &ty) {
            let again = encode(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decode(&again, &ty).ok(), Some(value));
        }
    }
}
