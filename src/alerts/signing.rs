//! Standard Webhooks signing (docs/contract/alerts.md): a destination's
//! secret is `whsec_` + base64 of 32 random bytes; each send carries
//! `webhook-id` (the notification's id, the same on every retry),
//! `webhook-timestamp` (Unix seconds of the send) and `webhook-signature`
//! = `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed by
//! the secret's decoded bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// How a secret begins.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret, shown once.
pub fn new_secret() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(raw))
}

/// The `webhook-signature` header's value for one send.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_specification_example_signs_as_published() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_new_secret_is_32_bytes_and_signs() {
        let s = new_secret();
        let raw = STANDARD
            .decode(s.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(raw.len(), 32);
        assert!(signature(&s, "id", 1, b"{}").unwrap().starts_with("v1,"));
        assert_ne!(new_secret(), s);
    }
}
