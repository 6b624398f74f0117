//! Feeds arbitrary bytes to the msgpack and JSON decoders against a few fixed schema types.
//!
//! The first byte picks the type; the rest is the input. Decoding may fail but must not
//! panic; whatever decodes must encode again and decode to the same value (the codecs are
//! stable), and a value that JSON can carry must survive a JSON round trip too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zkkafka::tfvalue::{json, msgpack, Type, Value};

/// A resource-like object with every kind of attribute, plus the dynamic shapes.
fn schema(selector: u8) -> Type {
    let block = Type::object([
        ("scheme", Type::String),
        ("permissions", Type::Number),
        ("enabled", Type::Bool),
    ]);
    match selector % 6 {
        0 => Type::object([
            ("name", Type::String),
            ("replicas", Type::Number),
            ("config", Type::map(Type::String)),
            ("acl", Type::list(block.clone())),
            ("tags", Type::set(Type::String)),
            ("storage", block),
            ("pair", Type::Tuple(vec![Type::String, Type::Number])),
            ("extra", Type::Dynamic),
        ]),
        1 => Type::Dynamic,
        2 => Type::list(Type::Dynamic),
        3 => Type::map(Type::Number),
        4 => Type::set(Type::object([
            ("a", Type::Dynamic),
            ("b", Type::list(Type::Bool)),
        ])),
        _ => Type::Tuple(vec![Type::Dynamic, Type::String, Type::map(Type::Dynamic)]),
    }
}

fn json_round_trip(value: &Value, ty: &Type) {
    // Unknowns and infinities have no JSON form; anything else must come back unchanged.
    if let Ok(text) = json::encode(value, ty) {
        let back = json::decode(&text, ty).expect("our own JSON decodes");
        assert_eq!(&back, value, "JSON round trip changed the value");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let ty = schema(selector);

    if let Ok(value) = msgpack::decode(input, &ty) {
        let bytes = msgpack::encode(&value, &ty).expect("a decoded value encodes");
        let again = msgpack::decode(&bytes, &ty).expect("our own msgpack decodes");
        assert_eq!(again, value, "msgpack round trip changed the value");
        json_round_trip(&value, &ty);
    }

    if let Ok(value) = json::decode(input, &ty) {
        let text = json::encode(&value, &ty).expect("a decoded JSON value encodes");
        let again = json::decode(&text, &ty).expect("our own JSON decodes");
        assert_eq!(again, value, "JSON round trip changed the value");
        let bytes = msgpack::encode(&value, &ty).expect("a decoded value encodes as msgpack");
        assert_eq!(
            msgpack::decode(&bytes, &ty).ok(),
            Some(value),
            "msgpack round trip changed a JSON value"
        );
    }
});
