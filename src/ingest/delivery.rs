//! One delivery's body: parsing with the 400 rules, verification against a
//! connection's signature tokens, and the decision of what it becomes. Pure
//! functions, no I/O.

use secrecy::{ExposeSecret, SecretString};

use crate::db::models::lever_event::EventStatus;
use crate::lever::signature::{self, SignatureError};
use crate::lever::wire::{WebhookBody, events};

/// A parsed delivery: the typed envelope and the body as received (stored
/// as JSONB; Postgres parses the text itself, so it is never re-serialized).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: WebhookBody,
    pub raw: String,
}

impl Delivery {
    /// Parses a raw body in one pass. Everything but JSON with `token`,
    /// `triggeredAt` (integer epoch ms), `signature` and `event`, and without
    /// a NUL anywhere, is refused with a message naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| format!("the body is not JSON (not UTF-8): {e}"))?;
        let body: WebhookBody = serde_json::from_str(text).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                format!("the body is not JSON: {e}")
            } else {
                format!("the body is not a Lever webhook delivery: {e}")
            }
        })?;
        if crate::domain::text::json_has_nul(bytes) {
            // Postgres cannot store it (jsonb refuses `\u0000`), and no
            // delivery of Lever's carries one: refused like any bad body.
            return Err(format!("the body {}", crate::domain::text::NUL_REASON));
        }
        if body.signature.is_none() {
            return Err(
                "missing field `signature`: give the webhook a signature token in Lever".into(),
            );
        }
        Ok(Self {
            body,
            raw: text.to_owned(),
        })
    }
}

/// Checks the signature against each token until one matches. A token whose
/// MAC matches but whose `triggeredAt` is out of range decides the answer
/// (Stale/Future); otherwise the most specific failure is returned.
pub fn verify_any(
    tokens: &[SecretString],
    body: &WebhookBody,
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

/// Reasons recorded on ignored deliveries.
pub mod reasons {
    pub const TEST_PING: &str = "test_ping";
    pub const OTHER_EVENT: &str = "other_event";
    pub const OTHER_STAGE: &str = "other_stage";
    /// A stage change without `data.opportunityId`: nothing to work on.
    pub const NO_OPPORTUNITY: &str = "no_opportunity";
}

/// Decides the fate of a verified delivery for a connection whose Arkiter
/// Live stage is `stage_id` (`None` while setup has not found it).
pub fn decide(body: &WebhookBody, stage_id: Option<&str>) -> Decision {
    if body.is_test_ping() {
        return Decision::ignored(reasons::TEST_PING);
    }
    if body.event != events::CANDIDATE_STAGE_CHANGE {
        return Decision::ignored(reasons::OTHER_EVENT);
    }
    let Some(change) = body.stage_change() else {
        return Decision::ignored(reasons::NO_OPPORTUNITY);
    };
    match stage_id {
        // Stage unknown yet (needs_setup): keep it; the worker checks the
        // opportunity's stage once setup has found it.
        None => Decision::PENDING,
        Some(stage) if change.to_stage_id.as_deref() == Some(stage) => Decision::PENDING,
        Some(_) => Decision::ignored(reasons::OTHER_STAGE),
    }
}

/// `data.<field>` as a string, for the indexed columns.
pub fn data_str<'a>(body: &'a WebhookBody, field: &str) -> Option<&'a str> {
    body.data.get(field).and_then(|v| v.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn body(event: &str, data: serde_json::Value) -> WebhookBody {
        let token = "t".repeat(48);
        let raw = serde_json::json!({
            "event": event, "token": token, "triggeredAt": NOW,
            "signature": signature::sign("key-2", &token, NOW), "data": data,
        });
        Delivery::parse(&serde_json::to_vec(&raw).unwrap())
            .unwrap()
            .body
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
        assert_eq!(decide(&ping, Some("s")).reason, Some(reasons::TEST_PING));
        let hired = body("candidateHired", serde_json::json!({"opportunityId": "o"}));
        assert_eq!(decide(&hired, Some("s")).reason, Some(reasons::OTHER_EVENT));
        assert_eq!(decide(&stage("s"), Some("s")), Decision::PENDING);
        assert_eq!(decide(&stage("x"), None), Decision::PENDING);
        assert_eq!(
            decide(&stage("x"), Some("s")).reason,
            Some(reasons::OTHER_STAGE)
        );
        let bare = body("candidateStageChange", serde_json::json!({}));
        assert_eq!(
            decide(&bare, Some("s")).reason,
            Some(reasons::NO_OPPORTUNITY)
        );
    }
}
