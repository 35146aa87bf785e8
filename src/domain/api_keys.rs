//! Org API keys: `ak_<key_id>_<secret>`, where key_id is the key's UUID in
//! 32-hex form and secret is 32 random bytes in hex. Only the SHA-256 digest of
//! the secret is stored; checks compare digests in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const PREFIX: &str = "ak_";

/// A freshly made key: the full text (shown once) and what is stored.
pub struct IssuedKey {
    pub id: Uuid,
    pub text: String,
    pub secret_sha256: Vec<u8>,
}

pub fn issue() -> IssuedKey {
    let id = Uuid::new_v4();
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let secret = hex::encode(secret);
    IssuedKey {
        id,
        text: format!("{PREFIX}{}_{secret}", id.simple()),
        secret_sha256: digest(&secret),
    }
}

/// Splits a presented key into its id and secret; `None` if it is not key-shaped.
pub fn parse(text: &str) -> Option<(Uuid, &str)> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.is_empty() {
        return None;
    }
    Some((Uuid::try_parse(id).ok()?, secret))
}

pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time comparison of a presented secret with a stored digest.
pub fn secret_matches(secret: &str, stored_sha256: &[u8]) -> bool {
    digest(secret).ct_eq(stored_sha256).into()
}

/// Constant-time comparison of two secrets of any length (via their digests).
pub fn tokens_equal(a: &str, b: &str) -> bool {
    digest(a).ct_eq(&digest(b)).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn issued_key_parses_and_matches() {
        let k = issue();
        let (id, secret) = parse(&k.text).unwrap();
        assert_eq!(id, k.id);
        assert!(secret_matches(secret, &k.secret_sha256));
        assert!(!secret_matches("nope", &k.secret_sha256));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "ak_",
            "ak_123_abc",
            "xx_0123456789abcdef0123456789abcdef_s",
            "ak_0123456789abcdef0123456789abcdef_",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
