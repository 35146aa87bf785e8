//! Property-based fuzzing of what parses untrusted bytes: the webhook
//! delivery parser and decision, the signature check, the NUL scan, and the
//! Lever wire decoders. Each must answer (Ok or Err), never panic, whatever
//! it is fed. Bounded by proptest's case count in CI; run longer with
//! `PROPTEST_CASES=200000 cargo test --test api hostile::fuzz`.

use arkiter_lever::domain::text::json_has_nul;
use arkiter_lever::ingest::delivery::{Delivery, decide};
use arkiter_lever::lever::signature;
use arkiter_lever::lever::wire::{
    Opportunity, Posting, Stage, decode_access_token_claims, parse_data, parse_list,
    parse_webhook_created,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Arbitrary JSON, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A delivery-shaped object with arbitrary values in its fields.
fn delivery_like() -> impl Strategy<Value = Value> {
    (any_json(), any_json(), any_json(), any_json(), any_json()).prop_map(
        |(event, token, at, sig, data)| {
            json!({"event": event, "token": token, "triggeredAt": at, "signature": sig, "data": data})
        },
    )
}

fn decode_all(bytes: &[u8]) {
    let _ = parse_data::<Opportunity>(bytes);
    let _ = parse_data::<Posting>(bytes);
    let _ = parse_list::<Opportunity>(bytes);
    let _ = parse_list::<Stage>(bytes);
    let _ = parse_webhook_created(bytes);
}

proptest! {
    #[test]
    fn the_delivery_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Delivery::parse(&bytes);
        let _ = json_has_nul(&bytes);
    }

    #[test]
    fn delivery_shaped_bodies_parse_or_refuse(body in delivery_like(), stage in proptest::option::of(".{0,8}"), on_exit in proptest::bool::ANY) {
        let bytes = serde_json::to_vec(&body).unwrap();
        if let Ok(d) = Delivery::parse(&bytes) {
            let stages: Vec<String> = stage.into_iter().collect();
            let _ = decide(&d.body, &stages, on_exit);
            prop_assert!(!json_has_nul(d.raw.as_bytes()));
        }
    }

    #[test]
    fn the_signature_check_never_panics(
        key in ".{0,40}", token in ".{0,60}", at in any::<i64>(),
        sig in proptest::option::of(".{0,80}"), now in any::<i64>(),
    ) {
        let _ = signature::verify(&key, &token, at, sig.as_deref(), now);
        let good = signature::sign(&key, &token, at);
        prop_assert!(signature::verify(&key, &token, at, Some(&good), at).is_ok());
    }

    #[test]
    fn wire_decoders_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
        let _ = decode_access_token_claims(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn wire_decoders_never_panic_on_json(v in any_json()) {
        decode_all(&serde_json::to_vec(&json!({"data": v.clone()})).unwrap());
        decode_all(&serde_json::to_vec(&json!({"data": [v.clone()], "hasNext": v.clone(), "next": v})).unwrap());
    }
}
