//! Lever's webhook signature (docs/contract/lever-facts.md, docs/contract/webhooks.md).
//!
//! signature = lowercase hex HMAC-SHA256, keyed by the webhook's signature
//! token, of `token + triggeredAt` (the decimal epoch-ms string). The body is
//! not covered, so callers re-read the opportunity instead of trusting `data`.
//! Verification uses hmac's own constant-time `verify_slice`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Deliveries older than this are refused; Lever's "Rerun" button resends
/// deliveries up to two weeks old, so 15 days leaves a day of slack.
pub const MAX_AGE_MS: i64 = 15 * 24 * 60 * 60 * 1000;
/// Deliveries stamped further ahead than this are refused (clock skew).
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the delivery carries no signature")]
    Missing,
    #[error("the signature is not 64 lowercase hex characters")]
    NotHex,
    #[error("the signature does not match")]
    Mismatch,
    #[error("triggeredAt is more than 15 days old")]
    Stale,
    #[error("triggeredAt is more than 5 minutes in the future")]
    Future,
}

fn mac(signature_token: &[u8], token: &str, triggered_at_ms: i64) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; the match keeps
    // the code free of unwrap.
    let mut mac = match HmacSha256::new_from_slice(signature_token) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac(),
    };
    mac.update(token.as_bytes());
    mac.update(triggered_at_ms.to_string().as_bytes());
    mac
}

#[allow(clippy::panic)]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA256 accepts keys of any length")
}

/// Signs as Lever does; used by the simulator and by tests.
pub fn sign(signature_token: &str, token: &str, triggered_at_ms: i64) -> String {
    hex::encode(
        mac(signature_token.as_bytes(), token, triggered_at_ms)
            .finalize()
            .into_bytes(),
    )
}

/// Verifies a delivery's signature and freshness against `now_ms`.
/// The MAC is checked first so an attacker learns nothing from timing of
/// the freshness check on forged bodies.
pub fn verify(
    signature_token: &str,
    token: &str,
    triggered_at_ms: i64,
    signature: Option<&str>,
    now_ms: i64,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    // Lowercase hex exactly, as docs/contract/webhooks.md says (hex::decode alone would also
    // take uppercase).
    let lowercase_hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if signature.len() != 64 || !signature.bytes().all(lowercase_hex) {
        return Err(SignatureError::NotHex);
    }
    let bytes = hex::decode(signature).map_err(|_| SignatureError::NotHex)?;
    mac(signature_token.as_bytes(), token, triggered_at_ms)
        .verify_slice(&bytes)
        .map_err(|_| SignatureError::Mismatch)?;
    if triggered_at_ms < now_ms.saturating_sub(MAX_AGE_MS) {
        return Err(SignatureError::Stale);
    }
    if triggered_at_ms > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err(SignatureError::Future);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_431_454_330_072;

    #[test]
    fn sign_then_verify() {
        let sig = sign("key", "tok", NOW);
        assert_eq!(sig.len(), 64);
        assert_eq!(verify("key", "tok", NOW, Some(&sig), NOW), Ok(()));
    }

    #[test]
    fn typed_errors() {
        let sig = sign("key", "tok", NOW);
        assert_eq!(
            verify("key", "tok", NOW, None, NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify("key", "tok", NOW, Some(&"zz".repeat(32)), NOW),
            Err(SignatureError::NotHex)
        );
        assert_eq!(
            verify("key", "tok", NOW, Some("abcd"), NOW),
            Err(SignatureError::NotHex)
        );
        assert_eq!(
            verify("other", "tok", NOW, Some(&sig), NOW),
            Err(SignatureError::Mismatch)
        );
        let old = NOW - MAX_AGE_MS - 1;
        let sig_old = sign("key", "tok", old);
        assert_eq!(
            verify("key", "tok", old, Some(&sig_old), NOW),
            Err(SignatureError::Stale)
        );
        let future = NOW + MAX_FUTURE_MS + 1;
        let sig_future = sign("key", "tok", future);
        assert_eq!(
            verify("key", "tok", future, Some(&sig_future), NOW),
            Err(SignatureError::Future)
        );
    }
}
