//! Golden bytes (as go-cty writes them), round-trip properties and hostile input.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{decode, encode, DecodeError};
use crate::tfvalue::testgen::{any_type, value_of, Allow};
use crate::tfvalue::{Number, Type, Value, MAX_DEPTH};

/// Bytes from hex, ignoring spaces.
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("ascii");
            u8::from_str_radix(pair, 16).unwrap_or_else(|_| panic!("bad hex {pair:?}"))
        })
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex of a msgpack str header and the text's bytes.
fn str_hex(text: &str) -> String {
    let header = match text.len() {
        n @ 0..32 => format!("{:02x}", 0xa0 | n),
        n @ 32..256 => format!("d9{n:02x}"),
        n => format!("da{n:04x}"),
    };
    header + &to_hex(text.as_bytes())
}

fn num(text: &str) -> Value {
    Value::Number(text.parse().expect("test number"))
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// Encoding `value` as `ty` gives exactly these bytes, and decoding them gives `value` back.
#[test]
fn golden_round_trips() {
    let obj_type = Type::object([("a", Type::String), ("b", Type::Number)]);
    let nested_type = Type::object([
        ("name", Type::String),
        ("tags", Type::map(Type::String)),
        (
            "inner",
            Type::object([("x", Type::Number), ("y", Type::Bool)]),
        ),
        ("items", Type::list(Type::String)),
    ]);
    let big_decimal = "123456789012345678901234567890.123";
    let huge = format!("1{}", "0".repeat(400));
    let cases: Vec<(&str, Type, Value, String)> = vec![
        ("null", Type::String, Value::Null, "c0".into()),
        ("unknown", Type::String, Value::Unknown, "d40000".into()),
        (
            "unknown_object",
            obj_type.clone(),
            Value::Unknown,
            "d40000".into(),
        ),
        ("true", Type::Bool, Value::Bool(true), "c3".into()),
        ("false", Type::Bool, Value::Bool(false), "c2".into()),
        ("zero", Type::Number, Value::int(0), "00".into()),
        ("fixint_max", Type::Number, Value::int(127), "7f".into()),
        ("uint8", Type::Number, Value::int(128), "cc80".into()),
        ("uint16", Type::Number, Value::int(256), "cd0100".into()),
        (
            "uint32",
            Type::Number,
            Value::int(65_536),
            "ce00010000".into(),
        ),
        (
            "uint64",
            Type::Number,
            Value::int(1 << 32),
            "cf0000000100000000".into(),
        ),
        (
            "i64_max",
            Type::Number,
            Value::int(i64::MAX),
            "cf7fffffffffffffff".into(),
        ),
        ("minus_one", Type::Number, Value::int(-1), "ff".into()),
        ("fixneg_min", Type::Number, Value::int(-32), "e0".into()),
        ("int8", Type::Number, Value::int(-33), "d0df".into()),
        ("int16", Type::Number, Value::int(-129), "d1ff7f".into()),
        (
            "int32",
            Type::Number,
            Value::int(-32_769),
            "d2ffff7fff".into(),
        ),
        (
            "i64_min",
            Type::Number,
            Value::int(i64::MIN),
            "d38000000000000000".into(),
        ),
        (
            "float64",
            Type::Number,
            num("0.5"),
            "cb3fe0000000000000".into(),
        ),
        (
            "negative_float64",
            Type::Number,
            num("-1.25"),
            "cbbff4000000000000".into(),
        ),
        (
            "two_to_63_as_float64",
            Type::Number,
            num("9223372036854775808"),
            "cb43e0000000000000".into(),
        ),
        (
            "u64_max_as_decimal",
            Type::Number,
            num("18446744073709551615"),
            str_hex("18446744073709551615"),
        ),
        (
            "one_tenth_as_decimal",
            Type::Number,
            num("0.1"),
            str_hex("0.1"),
        ),
        (
            "long_decimal",
            Type::Number,
            num(big_decimal),
            str_hex(big_decimal),
        ),
        ("beyond_float64", Type::Number, num("1e400"), str_hex(&huge)),
        (
            "infinity",
            Type::Number,
            Value::Number(Number::from_f64(f64::INFINITY).expect("inf")),
            "cb7ff0000000000000".into(),
        ),
        ("empty_string", Type::String, Value::from(""), "a0".into()),
        (
            "string",
            Type::String,
            Value::from("hello"),
            "a568656c6c6f".into(),
        ),
        (
            "str8",
            Type::String,
            Value::from("x".repeat(32)),
            str_hex(&"x".repeat(32)),
        ),
        (
            "str16",
            Type::String,
            Value::from("é".repeat(200)),
            str_hex(&"é".repeat(200)),
        ),
        (
            "list",
            Type::list(Type::String),
            Value::List(vec!["a".into(), "b".into()]),
            "92a161a162".into(),
        ),
        (
            "empty_list",
            Type::list(Type::String),
            Value::List(vec![]),
            "90".into(),
        ),
        (
            "set",
            Type::set(Type::Number),
            Value::Set(vec![Value::int(1), Value::int(2)]),
            "920102".into(),
        ),
        (
            "array16",
            Type::list(Type::Bool),
            Value::List(vec![Value::Bool(true); 16]),
            format!("dc0010{}", "c3".repeat(16)),
        ),
        (
            "map",
            Type::map(Type::Number),
            map(&[("a", Value::int(1)), ("b", Value::Null)]),
            "82a16101a162c0".into(),
        ),
        (
            "object",
            obj_type.clone(),
            Value::object([("a", Value::from("x")), ("b", Value::Null)]),
            "82a161a178a162c0".into(),
        ),
        (
            "tuple",
            Type::Tuple(vec![Type::String, Type::Number, Type::Bool]),
            Value::Tuple(vec!["x".into(), Value::int(1), Value::Bool(true)]),
            "93a17801c3".into(),
        ),
        (
            "nested_with_nulls_and_unknowns",
            nested_type,
            Value::object([
                ("name", Value::Unknown),
                ("tags", Value::Null),
                (
                    "inner",
                    Value::object([("x", Value::Unknown), ("y", Value::Null)]),
                ),
                ("items", Value::List(vec!["a".into(), Value::Unknown])),
            ]),
            format!(
                "84 {} 82 a178 d40000 a179 c0 {} 92 a161 d40000 {} d40000 {} c0",
                str_hex("inner"),
                str_hex("items"),
                str_hex("name"),
                str_hex("tags")
            ),
        ),
        ("dynamic_null", Type::Dynamic, Value::Null, "c0".into()),
        (
            "dynamic_unknown",
            Type::Dynamic,
            Value::Unknown,
            "d40000".into(),
        ),
        (
            "dynamic_string",
            Type::Dynamic,
            Value::from("hi"),
            format!("92 c408 {} a26869", to_hex(br#""string""#)),
        ),
        (
            "dynamic_list",
            Type::Dynamic,
            Value::List(vec!["a".into(), Value::Null]),
            format!("92 c411 {} 92a161c0", to_hex(br#"["list","string"]"#)),
        ),
        (
            "dynamic_object",
            Type::Dynamic,
            Value::object([("n", Value::int(1)), ("z", Value::Null)]),
            format!(
                "92 c427 {} 82a16e01a17ac0",
                to_hex(br#"["object",{"n":"number","z":"dynamic"}]"#)
            ),
        ),
        (
            "dynamic_attribute",
            Type::object([("v", Type::Dynamic)]),
            Value::object([("v", Value::Bool(true))]),
            format!("81 a176 92 c406 {} c3", to_hex(br#""bool""#)),
        ),
        (
            "list_of_dynamic",
            Type::list(Type::Dynamic),
            Value::List(vec![Value::int(7), Value::Unknown]),
            format!("92 92c408{}07 d40000", to_hex(br#""number""#)),
        ),
    ];
    for (name, ty, value, want) in cases {
        let want = hex(&want);
        let got = encode(&value, &ty).unwrap_or_else(|e| panic!("case {name}: encode: {e}"));
        assert_eq!(to_hex(&got), to_hex(&want), "case {name}: encoded bytes");
        let back = decode(&want, &ty).unwrap_or_else(|e| panic!("case {name}: decode: {e}"));
        assert_eq!(back, value, "case {name}: decoded value");
    }
}

/// Forms Terraform (or another writer) may send that we never write ourselves.
#[test]
fn golden_decodes() {
    let cases: Vec<(&str, Type, &str, Value)> = vec![
        (
            "refined_unknown_ext12",
            Type::String,
            "c7030c8101c3",
            Value::Unknown,
        ),
        (
            "refined_unknown_fixext",
            Type::Number,
            "d40c00",
            Value::Unknown,
        ),
        (
            "any_extension_is_unknown",
            Type::Bool,
            "d5010000",
            Value::Unknown,
        ),
        (
            "unknown_dynamic_refined",
            Type::Dynamic,
            "c7020c8000",
            Value::Unknown,
        ),
        ("non_minimal_uint8", Type::Number, "cc05", Value::int(5)),
        (
            "non_minimal_int64",
            Type::Number,
            "d3ffffffffffffffff",
            Value::int(-1),
        ),
        (
            "uint64_beyond_i64",
            Type::Number,
            "cf8000000000000000",
            num("9223372036854775808"),
        ),
        (
            "uint64_max",
            Type::Number,
            "cfffffffffffffffff",
            num("18446744073709551615"),
        ),
        ("float32", Type::Number, "ca3f000000", num("0.5")),
        (
            "float64_integer",
            Type::Number,
            "cb4059000000000000",
            Value::int(100),
        ),
        (
            "float64_one_tenth_is_exact_binary",
            Type::Number,
            "cb3fb999999999999a",
            num("0.1000000000000000055511151231257827021181583404541015625"),
        ),
        (
            "decimal_string_integer",
            Type::Number,
            "a23432",
            Value::int(42),
        ),
        (
            "decimal_string_exponent",
            Type::Number,
            "a4312e6533",
            Value::int(1000),
        ),
        (
            "bin_as_string",
            Type::String,
            "c40568656c6c6f",
            Value::from("hello"),
        ),
        (
            "missing_attribute_is_null",
            Type::object([("a", Type::String), ("b", Type::Bool)]),
            "81a161a178",
            Value::object([("a", Value::from("x")), ("b", Value::Null)]),
        ),
    ];
    for (name, ty, bytes, want) in cases {
        let got = decode(&hex(bytes), &ty).unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert_eq!(got, want, "case {name}");
    }
    let type_as_str = format!("92 a8{} a26869", to_hex(br#""string""#));
    assert_eq!(
        decode(&hex(&type_as_str), &Type::Dynamic).ok(),
        Some(Value::from("hi"))
    );
}

/// Malformed, truncated and hostile input is an error, never a panic or a huge allocation.
#[test]
fn bad_input_is_an_error() {
    let obj = Type::object([("a", Type::String)]);
    let deep_list = (0..MAX_DEPTH + 10).fold(Type::String, |t, _| Type::list(t));
    let deep_bytes = format!("{}c0", "91".repeat(MAX_DEPTH + 10));
    let dynamic_in_dynamic =
        format!("92c409{}", to_hex(br#""dynamic""#)).repeat(MAX_DEPTH * 4) + "c0";
    let cases: Vec<(&str, Type, String)> = vec![
        ("empty", Type::String, String::new()),
        ("truncated_str", Type::String, "a568".into()),
        ("truncated_array", Type::list(Type::String), "92a161".into()),
        ("truncated_uint64", Type::Number, "cf0000".into()),
        ("truncated_ext", Type::String, "c7050c".into()),
        (
            "array32_claims_4g_elements",
            Type::list(Type::Bool),
            "ddffffffff".into(),
        ),
        (
            "map32_claims_4g_entries",
            Type::map(Type::Bool),
            "dfffffffff".into(),
        ),
        ("str32_claims_4g_bytes", Type::String, "dbffffffff41".into()),
        ("ext32_claims_4g_bytes", Type::String, "c9ffffffff00".into()),
        ("trailing_bytes", Type::String, "c0c0".into()),
        ("reserved_byte", Type::String, "c1".into()),
        ("bool_for_string", Type::String, "c3".into()),
        ("string_for_bool", Type::Bool, "a161".into()),
        ("array_for_object", obj.clone(), "90".into()),
        ("unsupported_attribute", obj.clone(), "81a16201".into()),
        ("non_string_key", obj.clone(), "810101".into()),
        (
            "duplicate_key",
            Type::map(Type::Number),
            "82a16101a16102".into(),
        ),
        ("invalid_utf8", Type::String, "a2fffe".into()),
        ("nan", Type::Number, "cb7ff8000000000000".into()),
        ("not_a_number_string", Type::Number, "a3616263".into()),
        (
            "tuple_too_short",
            Type::Tuple(vec![Type::Bool, Type::Bool]),
            "91c3".into(),
        ),
        (
            "tuple_too_long",
            Type::Tuple(vec![Type::Bool]),
            "92c3c3".into(),
        ),
        ("dynamic_not_array", Type::Dynamic, "a161".into()),
        ("dynamic_three_elements", Type::Dynamic, "93a0a0a0".into()),
        (
            "dynamic_bad_type_json",
            Type::Dynamic,
            format!("92c403{}c0", to_hex(b"foo")),
        ),
        (
            "dynamic_unsupported_type",
            Type::Dynamic,
            format!("92c405{}c0", to_hex(br#""int""#)),
        ),
        (
            "dynamic_elements_disagree",
            Type::list(Type::Dynamic),
            format!(
                "92 92c408{}a161 92c408{}01",
                to_hex(br#""string""#),
                to_hex(br#""number""#)
            ),
        ),
        ("too_deep_by_type", deep_list, deep_bytes),
        (
            "too_deep_by_dynamic_wrappers",
            Type::Dynamic,
            dynamic_in_dynamic,
        ),
    ];
    for (name, ty, bytes) in cases {
        let result = decode(&hex(&bytes), &ty);
        assert!(result.is_err(), "case {name}: decoded to {result:?}");
    }
}

/// A problem at the root names no place: the message starts with what is wrong.
#[test]
fn root_errors_have_no_empty_place() {
    let ty = Type::object([("path", Type::String)]);
    let value = Value::object([("path", Value::from("/a")), ("timeouts", Value::Null)]);
    let err = encode(&value, &ty).expect_err("extra attribute");
    assert_eq!(err.to_string(), "unsupported attribute \"timeouts\"");
}

#[test]
fn errors_say_where() {
    let ty = Type::object([("items", Type::list(Type::Number))]);
    let bytes = hex(&format!("81 {} 92 01 a3616263", str_hex("items")));
    let err = decode(&bytes, &ty).expect_err("bad number");
    assert_eq!(err.path().to_string(), "items[1]");
    assert!(matches!(err, DecodeError::Invalid { .. }), "{err}");

    let value = Value::object([("items", Value::List(vec![Value::from("x")]))]);
    let err = encode(&value, &ty).expect_err("string in a number list");
    assert_eq!(
        err.to_string(),
        "at items[0]: expected \"number\", found a string value"
    );
}

#[test]
fn encode_rejects_values_that_do_not_fit() {
    let cases: Vec<(&str, Type, Value)> = vec![
        ("string_for_number", Type::Number, Value::from("1")),
        ("list_for_set", Type::set(Type::String), Value::List(vec![])),
        (
            "unsupported_attribute",
            Type::object([("a", Type::String)]),
            Value::object([("b", Value::Null)]),
        ),
        (
            "tuple_length",
            Type::Tuple(vec![Type::String]),
            Value::Tuple(vec![]),
        ),
        (
            "dynamic_set_of_mixed_types",
            Type::Dynamic,
            Value::Set(vec![Value::from("a"), Value::int(1)]),
        ),
    ];
    for (name, ty, value) in cases {
        assert!(encode(&value, &ty).is_err(), "case {name}");
    }
}

/// A dynamic value's decoded form has no type; encoding infers one that reads back the same.
#[test]
fn dynamic_values_keep_their_shape() {
    let mixed_list = Value::List(vec![Value::from("a"), Value::int(1)]);
    let bytes = encode(&mixed_list, &Type::Dynamic).expect("encode");
    // Elements of different types cannot be a cty list: they go out as a tuple.
    assert_eq!(
        decode(&bytes, &Type::Dynamic).expect("decode"),
        Value::Tuple(vec![Value::from("a"), Value::int(1)])
    );
    let mixed_map = Value::Map(BTreeMap::from([
        ("a".into(), Value::from("a")),
        ("b".into(), Value::Bool(true)),
    ]));
    let bytes = encode(&mixed_map, &Type::Dynamic).expect("encode");
    assert_eq!(
        decode(&bytes, &Type::Dynamic).expect("decode"),
        Value::object([("a", Value::from("a")), ("b", Value::Bool(true))])
    );
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
            let values = value_of(ty.clone(), Allow { unknown: true, infinity: true });
            (Just(ty), values)
        })
    ) {
        let bytes = encode(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = decode(&bytes, &ty).map_err(|e| TestCaseError::fail(format!("{e}: {}", to_hex(&bytes))))?;
        prop_assert_eq!(back, value);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), ty in any_type()) {
        if let Ok(value) = decode(&bytes, &ty) {
            let again = encode(&value, &ty).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decode(&again, &ty).ok(), Some(value));
        }
    }
}
