//! One delivery's body: parsing with the 400 rules, verification against a
//! connection's signature tokens, and the decision of what it becomes. Pure
//! functions, no I/O.
//!
//! The body is read into Lever's borrowed envelope
//! ([`Envelope`](crate::lever::wire::delivery::Envelope)), whose strings
//! ingest stores point into the request's bytes.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::status::{EventStatus, reasons};
use crate::lever::signature::{self, SignatureError};
pub use crate::lever::wire::delivery::{Envelope, Field};
use crate::lever::wire::events;

/// A parsed delivery: the typed envelope and the body as received (stored
/// as text, so it is never re-serialized).
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub body: Envelope<'a>,
    pub raw: &'a str,
}

impl<'a> Delivery<'a> {
    /// Parses a raw body in one pass. Everything but JSON with `token`,
    /// `triggeredAt` (integer epoch ms), `signature` and `event`, and without
    /// a NUL anywhere, is refused with a message naming what is wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| format!("the body is not JSON (not UTF-8): {e}"))?;
        let body = Envelope::parse(text)?;
        if crate::domain::text::json_has_nul(bytes) {
            // Postgres cannot store it in a text column, and no delivery of
            // Lever's carries one: refused like any bad body.
            return Err(format!("the body {}", crate::domain::text::NUL_REASON));
        }
        if body.signature.is_none() {
            return Err(
                "missing field `signature`: give the webhook a signature token in Lever".into(),
            );
        }
        Ok(Self { body, raw: text })
    }
}

/// Checks the signature against each token until one matches. A token whose
/// MAC matches but whose `triggeredAt` is out of range decides the answer
/// (Stale/Future); otherwise the most specific failure is returned.
pub fn verify_any(
    tokens: &[SecretString],
    body: &Envelope<'_>,
    now_ms: i64,
) -> Result<(), SignatureError> {
    let mut failure = SignatureError::Mismatch;
    for token in tokens {
        match signature::verify(
            token.expose_secret(),
            &body.token,
            body.triggered_at,
            body.signature.as_deref(),
            now_ms,
        ) {
            Ok(()) => return Ok(()),
            Err(e @ (SignatureError::Stale | SignatureError::Future)) => return Err(e),
            Err(e) => failure = e,
        }
    }
    Err(failure)
}

/// What a verified delivery is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub status: EventStatus,
    pub reason: Option<&'static str>,
}

impl Decision {
    const PENDING: Self = Self {
        status: EventStatus::Pending,
        reason: None,
    };

    fn ignored(reason: &'static str) -> Self {
        Self {
            status: EventStatus::Ignored,
            reason: Some(reason),
        }
    }
}

/// Decides the fate of a verified delivery for a connection whose trigger
/// stages are `stage_ids` (empty while setup has found none). With
/// `close_on_exit` (`on_stage_exit` is `close`), a move out of every
/// trigger stage is kept too: its unit closes the candidate's open
/// interview.
pub fn decide(body: &Envelope<'_>, stage_ids: &[String], close_on_exit: bool) -> Decision {
    if body.is_test_ping() {
        return Decision::ignored(reasons::TEST_PING);
    }
    if body.is_lifecycle() {
        // Worked whatever the policy says now: the unit reads the policy
        // when it runs, and leaves Lever alone unless it says close. A
        // deletion is confirmed with Lever before anything is erased.
        return match body.lifecycle_opportunity() {
            Some(_) => Decision::PENDING,
            None => Decision::ignored(reasons::NO_OPPORTUNITY),
        };
    }
    if body.event != events::CANDIDATE_STAGE_CHANGE {
        return Decision::ignored(reasons::OTHER_EVENT);
    }
    let Some(to_stage_id) = body.stage_change() else {
        return Decision::ignored(reasons::NO_OPPORTUNITY);
    };
    let is_trigger = |s: Option<&str>| s.is_some_and(|s| stage_ids.iter().any(|t| t == s));
    if stage_ids.is_empty() || is_trigger(to_stage_id) {
        // Stages unknown yet (needs_setup): keep it; the worker checks the
        // opportunity's stage once setup has found them.
        return Decision::PENDING;
    }
    if close_on_exit && is_trigger(body.data.from_stage_id.as_str()) {
        return Decision::PENDING;
    }
    Decision::ignored(reasons::OTHER_STAGE)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn ids(stage: Option<&str>) -> Vec<String> {
        stage.map(str::to_owned).into_iter().collect()
    }

    fn body(event: &str, data: serde_json::Value) -> Envelope<'static> {
        let token = "t".repeat(48);
        let raw = serde_json::json!({
            "event": event, "token": token, "triggeredAt": NOW,
            "signature": signature::sign("key-2", &token, NOW), "data": data,
        });
        let bytes = serde_json::to_vec(&raw).unwrap().leak();
        Delivery::parse(bytes).unwrap().body
    }

    #[test]
    fn parse_requires_the_four_fields() {
        for missing in ["event", "token", "triggeredAt", "signature"] {
            let mut raw = serde_json::json!({
                "event": "x", "token": "t", "triggeredAt": NOW, "signature": "s",
            });
            raw.as_object_mut().unwrap().remove(missing);
            let err = Delivery::parse(&serde_json::to_vec(&raw).unwrap()).unwrap_err();
            assert!(err.contains(missing), "{err}");
        }
        assert!(Delivery::parse(b"not json").is_err());
        let nul = br#"{"event":"x","token":"t\u0000","triggeredAt":1,"signature":"s"}"#;
        assert!(Delivery::parse(nul).unwrap_err().contains("NUL"));
        assert!(Delivery::parse(b"[1]").is_err());
    }

    /// The envelope accepts, refuses and decides exactly as the full wire
    /// type would, whatever shape `data` has.
    #[test]
    fn envelope_decides_as_the_wire_type() {
        use crate::lever::wire::WebhookBody;
        let datas = [
            r#"{}"#,
            r#"null"#,
            r#"[]"#,
            r#""text""#,
            r#"7"#,
            r#"{"opportunityId":"o1","toStageId":"s"}"#,
            r#"{"opportunityId":"o1","toStageId":"x","fromStageId":null,"extra":{"a":[1,2]}}"#,
            r#"{"opportunityId":"o\u00e9","toStageId":"s\"q"}"#,
            r#"{"opportunityId":5,"toStageId":"s"}"#,
            r#"{"opportunityId":"o1","toStageId":5}"#,
            r#"{"opportunityId":"o1","contactId":{"x":1}}"#,
            r#"{"opportunityId":"o1","candidateId":true,"toStageId":"s"}"#,
            r#"{"toStageId":"s"}"#,
            r#"{"opportunityId":"a","opportunityId":"b","toStageId":"s"}"#,
        ];
        for event in [
            "candidateStageChange",
            "candidateHired",
            "applicationCreated",
        ] {
            for data in datas {
                let raw = format!(
                    r#"{{"event":"{event}","token":"t","triggeredAt":1,"signature":"s","data":{data}}}"#
                );
                let wire: WebhookBody = serde_json::from_str(&raw).unwrap();
                let env = Delivery::parse(raw.as_bytes()).unwrap().body;
                for stage in [Some("s"), Some("x"), None] {
                    let want = {
                        // The rules of `decide`, on the full wire type.
                        if wire.is_test_ping() {
                            Some(reasons::TEST_PING)
                        } else if wire.event == events::CANDIDATE_HIRED {
                            let d = serde_json::from_str::<serde_json::Value>(data).unwrap();
                            let id = d.get("opportunityId").or(d.get("candidateId"));
                            match id.and_then(|v| v.as_str()) {
                                Some(_) => None,
                                None => Some(reasons::NO_OPPORTUNITY),
                            }
                        } else if wire.event != events::CANDIDATE_STAGE_CHANGE {
                            Some(reasons::OTHER_EVENT)
                        } else {
                            match wire.stage_change() {
                                None => Some(reasons::NO_OPPORTUNITY),
                                Some(c) => match stage {
                                    None => None,
                                    Some(s) if c.to_stage_id.as_deref() == Some(s) => None,
                                    Some(_) => Some(reasons::OTHER_STAGE),
                                },
                            }
                        }
                    };
                    assert_eq!(
                        decide(&env, &ids(stage), false).reason,
                        want,
                        "{raw} {stage:?}"
                    );
                }
                assert_eq!(
                    env.data.opportunity_id.as_str(),
                    wire.opportunity_id(),
                    "{raw}"
                );
            }
        }
        for bad in [
            r#"{"id":5,"event":"e","token":"t","triggeredAt":1,"signature":"s"}"#,
            r#"{"event":"e","token":"t","triggeredAt":1.5,"signature":"s"}"#,
            r#"{"event":"e","token":7,"triggeredAt":1,"signature":"s"}"#,
            r#"{"event":"e","token":"t","triggeredAt":1,"signature":null}"#,
        ] {
            assert!(serde_json::from_str::<WebhookBody>(bad).is_err() || bad.contains("null"));
            assert!(Delivery::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_token_verifies() {
        let b = body("candidateStageChange", serde_json::json!({}));
        let keys = ["key-1", "key-2"].map(|k| SecretString::from(k.to_owned()));
        assert_eq!(verify_any(&keys, &b, NOW), Ok(()));
        assert_eq!(
            verify_any(&keys[..1], &b, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_any(&[], &b, NOW), Err(SignatureError::Mismatch));
        assert_eq!(
            verify_any(&keys, &b, NOW + signature::MAX_AGE_MS + 1),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn decisions() {
        let stage = |to: &str| {
            body(
                "candidateStageChange",
                serde_json::json!({"opportunityId": "o1", "toStageId": to}),
            )
        };
        let ping = body("candidateHired", serde_json::json!({}));
        assert_eq!(
            decide(&ping, &ids(Some("s")), false).reason,
            Some(reasons::TEST_PING)
        );
        let hired = body("candidateHired", serde_json::json!({"opportunityId": "o"}));
        assert_eq!(decide(&hired, &ids(Some("s")), false), Decision::PENDING);
        let archived = body(
            "candidateArchiveChange",
            serde_json::json!({"candidateId": "o", "toArchived": {"reason": "r"}}),
        );
        assert_eq!(decide(&archived, &ids(Some("s")), false), Decision::PENDING);
        assert_eq!(archived.lifecycle_opportunity(), Some("o"));
        let nameless = body(
            "candidateArchiveChange",
            serde_json::json!({"toArchived": null}),
        );
        assert_eq!(
            decide(&nameless, &ids(Some("s")), false).reason,
            Some(reasons::NO_OPPORTUNITY)
        );
        let other = body(
            "applicationCreated",
            serde_json::json!({"opportunityId": "o"}),
        );
        assert_eq!(
            decide(&other, &ids(Some("s")), false).reason,
            Some(reasons::OTHER_EVENT)
        );
        assert_eq!(
            decide(&stage("s"), &ids(Some("s")), false),
            Decision::PENDING
        );
        assert_eq!(decide(&stage("x"), &ids(None), false), Decision::PENDING);
        assert_eq!(
            decide(&stage("x"), &ids(Some("s")), false).reason,
            Some(reasons::OTHER_STAGE)
        );
        // A move out of the stage: kept only when exits close interviews.
        let exit = body(
            "candidateStageChange",
            serde_json::json!({"opportunityId": "o1", "toStageId": "x", "fromStageId": "s"}),
        );
        assert_eq!(decide(&exit, &ids(Some("s")), true), Decision::PENDING);
        assert_eq!(
            decide(&exit, &ids(Some("s")), false).reason,
            Some(reasons::OTHER_STAGE)
        );
        assert_eq!(
            decide(&stage("x"), &ids(Some("s")), true).reason,
            Some(reasons::OTHER_STAGE)
        );
        let bare = body("candidateStageChange", serde_json::json!({}));
        assert_eq!(
            decide(&bare, &ids(Some("s")), false).reason,
            Some(reasons::NO_OPPORTUNITY)
        );
    }
}
