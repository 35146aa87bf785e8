//! Golden fixtures (docs/contract/lever-facts.md and the documented field lists) parsed by
//! the wire types and round-tripped; signature vectors computed with
//! `openssl dgst -sha256 -hmac KEY`; property tests of the verifier.

use arkiter_lever::lever::signature::{self, SignatureError};
use arkiter_lever::lever::wire::{
    self, ErrorBody, LinksBody, ListEnvelope, Note, NoteCreate, NoteCreated, Opportunity, Posting,
    Stage, TagsBody, TokenResponse, User, WebhookBody, WebhookCreate, WebhookSubscription,
};
use arkiter_lever::lever::{AuthorizeCallback, OAuthConfig, SCOPES};
use proptest::prelude::*;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/lever/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// Parses a fixture as `T`, serialises it back, and requires the same JSON.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let original = fixture_json(name);
    let parsed: T = serde_json::from_value(original.clone()).unwrap();
    let again = serde_json::to_value(&parsed).unwrap();
    assert_eq!(again, original, "{name} does not round-trip");
    parsed
}

#[test]
fn webhook_bodies_parse_and_round_trip() {
    let ping: WebhookBody = round_trip("webhook_test_ping.json");
    assert!(ping.is_test_ping());
    assert_eq!(ping.id, None);
    assert_eq!(ping.triggered_at, 1431458021951);
    assert_eq!(ping.token.len(), 48);

    let change: WebhookBody = round_trip("webhook_stage_change.json");
    assert!(!change.is_test_ping());
    let data = change.stage_change().unwrap();
    assert_eq!(data.opportunity_id, "3410c8b9-5c31-4bab-b7e9-9f710206d647");
    assert_eq!(
        data.to_stage_id.as_deref(),
        Some("7c2690d8-6308-4ed9-ae2a-cbfe7db26593")
    );
    assert_eq!(
        data.from_stage_id.as_deref(),
        Some("992f01a9-ee19-41d2-ae79-1040701b195c")
    );
    assert_eq!(change.opportunity_id(), Some(data.opportunity_id.as_str()));
}

#[test]
fn webhook_body_accepts_an_id_and_unknown_fields() {
    let body: WebhookBody = serde_json::from_str(
        r#"{"id":"e1","event":"candidateStageChange","triggeredAt":1,"token":"t",
            "signature":"s","data":{"opportunityId":"o","novel":1},"brandNew":true}"#,
    )
    .unwrap();
    assert_eq!(body.id.as_deref(), Some("e1"));
    assert_eq!(body.stage_change().unwrap().opportunity_id, "o");
}

#[test]
fn webhook_management_fixtures() {
    let create: WebhookCreate = round_trip("webhook_create_request.json");
    assert_eq!(create.event, "candidateStageChange");
    let double = wire::parse_webhook_created(&fixture("webhook_create_response.json")).unwrap();
    let single =
        wire::parse_webhook_created(&fixture("webhook_create_response_single.json")).unwrap();
    assert_eq!(double, single);
    assert_eq!(double.id, "e2befaae-b830-4c21-a002-2d5019486d1a");
    assert_eq!(
        double.signature_token(),
        Some("73311ged32110cc40e00c672c2e03e1a42fa28a4fabde089")
    );
    let single_value: Value = fixture_json("webhook_create_response_single.json");
    assert_eq!(serde_json::to_value(&single).unwrap(), single_value["data"]);
    let list: ListEnvelope<WebhookSubscription> = round_trip("webhook_list.json");
    assert_eq!(list.data.len(), 1);
    assert_eq!(list.data[0].signature_token(), None);
}

#[test]
fn token_response_and_error_and_envelopes() {
    let token: TokenResponse = round_trip("token_response.json");
    assert_eq!(token.expires_in, Some(3600));
    assert_eq!(token.refresh_token.as_deref(), Some("v1.MsNY830Ors..."));
    assert!(!format!("{token:?}").contains("MsNY"), "Debug must redact");

    let err: ErrorBody = round_trip("error_not_found.json");
    assert_eq!(err.code.as_deref(), Some("ResourceNotFound"));

    let list: ListEnvelope<Stage> = round_trip("list_envelope.json");
    assert!(list.data.is_empty());
    assert_eq!(
        list.next_offset(),
        Some("0.1414895548650.a6070140-33db-407c-91f5-2760e15c8e94")
    );
    let last: ListEnvelope<Stage> =
        serde_json::from_str(r#"{"data":[],"next":"x","hasNext":false}"#).unwrap();
    assert_eq!(last.next_offset(), None);
    let bare: ListEnvelope<Stage> = serde_json::from_str(r#"{"data":[]}"#).unwrap();
    assert_eq!(bare.next_offset(), None);

    let tags: TagsBody = round_trip("add_tags_request.json");
    assert_eq!(tags.tags, vec!["Infrastructure Engineer"]);
    let links: LinksBody = round_trip("add_links_request.json");
    assert_eq!(links.links.len(), 1);
}

#[test]
fn resources_parse_and_round_trip() {
    let stage: wire::DataEnvelope<Stage> = round_trip("stage_response.json");
    assert_eq!(stage.data.text, "New lead");
    let stages: ListEnvelope<Stage> = round_trip("stages_list.json");
    assert_eq!(stages.data.len(), 3);
    let posting: wire::DataEnvelope<Posting> = round_trip("posting_response.json");
    assert_eq!(
        posting.data.text.as_deref(),
        Some("Infrastructure Engineer")
    );
    let opp: wire::DataEnvelope<Opportunity> = round_trip("opportunity_response.json");
    let opp: Opportunity = opp.data;
    assert_eq!(opp.stage_id(), Some("7c2690d8-6308-4ed9-ae2a-cbfe7db26593"));
    assert_eq!(
        opp.posting_id(),
        Some("f2f01e16-27f8-4711-a728-7d49499795a0")
    );
    assert_eq!(
        opp.contact.as_deref(),
        Some("05c248f9-ccb1-435f-bab5-0ec608aec263")
    );
    assert!(
        !format!("{opp:?}").contains("Shane"),
        "Debug must hide names"
    );
    let users: ListEnvelope<User> = round_trip("users_list.json");
    assert_eq!(users.data[0].email.as_deref(), Some("rachel@example.com"));
    let note: NoteCreate = round_trip("note_create_request.json");
    assert_eq!(note.score, Some(82));
    let created: wire::DataEnvelope<NoteCreated> = round_trip("note_created_response.json");
    assert_eq!(created.data.note_id, "a8fc1d40-6c4b-4d0b-8bd8-5d52dbb7e1b4");
    let notes: ListEnvelope<Note> = round_trip("notes_list.json");
    assert_eq!(notes.data[0].body(), Some("Arkiter Live: score 82/100"));
}

#[test]
fn opportunity_without_expand_has_application_ids() {
    let opp: Opportunity = serde_json::from_str(
        r#"{"id":"o","stage":{"id":"s","text":"Screen"},"applications":["a1"]}"#,
    )
    .unwrap();
    assert_eq!(opp.stage_id(), Some("s"));
    assert_eq!(opp.applications[0].id(), "a1");
    assert_eq!(opp.posting_id(), None);
}

// Vectors computed independently at the shell:
//   printf '%s' "$TOKEN$TRIGGERED_AT" | openssl dgst -sha256 -hmac "$KEY"
const VECTORS: [(&str, &str, i64, &str); 3] = [
    (
        "73311ged32110cc40e00c672c2e03e1a42fa28a4fabde089",
        "be58f711f349c7780e4579cd7c63341ac6f881e4dccc3154",
        1431454330072,
        "d8138ffefd31f34fd9ef6ab358881a2ac5d138287c38186688985ea7755ec241",
    ),
    (
        "sig-token-2",
        "657fd5a0759c87d35660b096dbc388d1d31058869f08ce3f",
        1431458021951,
        "95c85e5a8ccb65205def10539ea842e7382c7ef73d6763bec9ff80b263faf0fe",
    ),
    (
        "k",
        "abc",
        0,
        "6caf8af84c5dbb3b1fc3edaef24d14d0df54e0a196a64dafbb32b52fa3c1a50f",
    ),
];

#[test]
fn independent_signature_vectors_verify() {
    for (key, token, at, expected) in VECTORS {
        assert_eq!(signature::sign(key, token, at), expected);
        assert_eq!(
            signature::verify(key, token, at, Some(expected), at),
            Ok(())
        );
        // docs/contract/webhooks.md: lowercase hex; the same bytes in uppercase are refused.
        let upper = expected.to_uppercase();
        assert_eq!(
            signature::verify(key, token, at, Some(&upper), at),
            Err(SignatureError::NotHex)
        );
    }
}

#[test]
fn lever_doc_example_signatures_are_not_hex_or_do_not_match() {
    // The doc's ping signature contains 'm' (not hex): it must be refused
    // as NotHex, never accepted.
    let ping: WebhookBody = serde_json::from_slice(&fixture("webhook_test_ping.json")).unwrap();
    assert_eq!(
        signature::verify(
            "any",
            &ping.token,
            ping.triggered_at,
            ping.signature.as_deref(),
            ping.triggered_at
        ),
        Err(SignatureError::NotHex)
    );
}

fn mutate_hex(sig: &str, index: usize) -> String {
    let mut chars: Vec<char> = sig.chars().collect();
    let i = index % chars.len();
    chars[i] = if chars[i] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

proptest! {
    #[test]
    fn any_change_fails_verification(
        key in "[ -~]{1,64}",
        token in "[0-9a-f]{48}",
        at in 0i64..4_000_000_000_000,
        other_key in "[ -~]{1,64}",
        other_token in "[0-9a-f]{48}",
        delta in 1i64..1_000_000,
        index in 0usize..64,
    ) {
        let sig = signature::sign(&key, &token, at);
        prop_assert_eq!(signature::verify(&key, &token, at, Some(&sig), at), Ok(()));
        if other_key != key {
            prop_assert_eq!(signature::verify(&other_key, &token, at, Some(&sig), at), Err(SignatureError::Mismatch));
        }
        if other_token != token {
            prop_assert_eq!(signature::verify(&key, &other_token, at, Some(&sig), at), Err(SignatureError::Mismatch));
        }
        prop_assert_eq!(signature::verify(&key, &token, at + delta, Some(&sig), at), Err(SignatureError::Mismatch));
        prop_assert_eq!(signature::verify(&key, &token, at - delta, Some(&sig), at), Err(SignatureError::Mismatch));
        let changed = mutate_hex(&sig, index);
        prop_assert_eq!(signature::verify(&key, &token, at, Some(&changed), at), Err(SignatureError::Mismatch));
        prop_assert_eq!(signature::verify(&key, &token, at, Some(&sig[..63]), at), Err(SignatureError::NotHex));
    }
}

#[test]
fn authorize_url_carries_every_parameter() {
    let cfg = OAuthConfig {
        client_id: "cid".into(),
        client_secret: SecretString::from("secret"),
        auth_url: "https://auth.lever.co".into(),
        api_url: "https://api.lever.co/v1".into(),
        redirect_uri: "https://svc.example/oauth/lever/callback".into(),
        scopes: arkiter_lever::lever::SCOPES.to_owned(),
    };
    let url = url::Url::parse(&cfg.authorize_url("xyz").unwrap()).unwrap();
    assert_eq!(url.path(), "/authorize");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "cid");
    assert_eq!(
        q["redirect_uri"],
        "https://svc.example/oauth/lever/callback"
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["state"], "xyz");
    assert_eq!(q["audience"], "https://api.lever.co/v1/");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["scope"], SCOPES);
    assert_eq!(
        SCOPES,
        "offline_access opportunities:write:admin notes:write:admin stages:read:admin \
         postings:read:admin webhooks:read:admin webhooks:write:admin \
         confidential:access:admin archive_reasons:read:admin feedback:write:admin \
         feedback_templates:write:admin files:write:admin",
        "SPEC's list, in its order"
    );
    assert!(!url.as_str().contains("secret"));
}

#[test]
fn callback_errors_read_in_plain_words() {
    let denied = AuthorizeCallback {
        error: Some("access_denied".into()),
        error_description: Some("User did not authorize the request".into()),
        state: Some("s".into()),
        code: None,
    }
    .into_code()
    .unwrap_err();
    assert!(!denied.is_not_super_admin());
    assert!(denied.plain_message().contains("declined"));
    let not_admin = AuthorizeCallback {
        error: Some("access_denied".into()),
        error_description: Some("Only Super Admins can authorize this application".into()),
        ..AuthorizeCallback::default()
    }
    .into_code()
    .unwrap_err();
    assert!(not_admin.is_not_super_admin());
    assert!(not_admin.to_string().contains("Super Admin"));
    let ok = AuthorizeCallback {
        code: Some("c".into()),
        ..AuthorizeCallback::default()
    };
    assert_eq!(ok.into_code().unwrap(), "c");
}
