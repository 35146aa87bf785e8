//! Secrets at rest: Lever tokens and webhook signature tokens are sealed with
//! AES-256-GCM under `ARKITER_ENCRYPTION_KEY` before they reach the database.
//!
//! A sealed value is `nonce (12 bytes) || ciphertext+tag`, with a fresh random
//! nonce per call, so two seals of one value differ. In embedded mode the key is
//! generated once into the data dir (mode 0600) and reused.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;
/// How an erased candidate's stand-in id begins ([`SecretBox::erased_key`]).
pub const ERASED_PREFIX: &str = "erased:";
const KEY_FILE: &str = "encryption.key";

/// A 32-byte AES key. `Debug` never shows it.
#[derive(Clone)]
pub struct EncryptionKey([u8; 32]);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not valid base64")]
    NotBase64,
    #[error("must decode to exactly 32 bytes, got {0}")]
    WrongLength(usize),
    #[error("cannot read or write the key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl EncryptionKey {
    pub fn from_base64(v: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD.decode(v).map_err(|_| KeyError::NotBase64)?;
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongLength(bytes.len()))?;
        Ok(Self(arr))
    }

    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        Self(k)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The key kept in `data_dir/encryption.key`, created (0600) on first use.
    pub fn load_or_generate(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let key = Self::generate();
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(io)?;
                file.write_all(key.to_base64().as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// A sealed value could not be opened: wrong key, or tampered/truncated bytes.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted (wrong ARKITER_ENCRYPTION_KEY or damaged value)")]
pub struct UnsealError;

/// Seals and opens secrets with one key, and derives from it the keyed
/// hash that stands for an erased candidate.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// The HMAC key of [`SecretBox::erased_key`]: derived from the
    /// encryption key, never the key itself.
    hash_key: [u8; 32],
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox")
    }
}

impl SecretBox {
    pub fn new(key: &EncryptionKey) -> Self {
        let mut derive = Sha256::new();
        derive.update(b"arkiter-lever erased candidate key v1");
        derive.update(key.0);
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0)),
            hash_key: derive.finalize().into(),
        }
    }

    /// What stands for an erased candidate's opportunity id: `erased:` and
    /// the hex of an HMAC-SHA256 of the connection and the id. The same
    /// candidate always gets the same key (so later deliveries about it are
    /// known), and the id cannot be read back or guessed without the key.
    pub fn erased_key(&self, connection_id: uuid::Uuid, opportunity_id: &str) -> String {
        // A key of any length is valid for HMAC.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.hash_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(connection_id.as_bytes());
        mac.update(opportunity_id.as_bytes());
        format!(
            "{ERASED_PREFIX}{}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a 12-byte nonce only fails for absurd (>64 GiB) inputs.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, UnsealError> {
        if sealed.len() < NONCE_LEN {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| UnsealError)?;
        String::from_utf8(plain).map_err(|_| UnsealError)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let b = SecretBox::new(&EncryptionKey::generate());
        assert_eq!(b.open(&b.seal("tok-123")).unwrap(), "tok-123");
    }

    #[test]
    fn two_seals_differ() {
        let b = SecretBox::new(&EncryptionKey::generate());
        assert_ne!(b.seal("same"), b.seal("same"));
    }

    #[test]
    fn erased_keys_are_stable_per_candidate_and_hide_the_id() {
        let key = EncryptionKey::generate();
        let (a, b) = (SecretBox::new(&key), SecretBox::new(&key));
        let conn = uuid::Uuid::new_v4();
        let k = a.erased_key(conn, "opp-123");
        assert_eq!(k, b.erased_key(conn, "opp-123"));
        assert!(k.starts_with(ERASED_PREFIX) && !k.contains("opp-123"));
        assert_ne!(k, a.erased_key(conn, "opp-124"));
        assert_ne!(k, a.erased_key(uuid::Uuid::new_v4(), "opp-123"));
        let other = SecretBox::new(&EncryptionKey::generate());
        assert_ne!(k, other.erased_key(conn, "opp-123"));
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = SecretBox::new(&EncryptionKey::generate()).seal("x");
        assert!(
            SecretBox::new(&EncryptionKey::generate())
                .open(&sealed)
                .is_err()
        );
    }

    #[test]
    fn tampered_fails() {
        let b = SecretBox::new(&EncryptionKey::generate());
        let mut sealed = b.seal("secret value");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(b.open(&sealed).is_err());
        assert!(b.open(&sealed[..5]).is_err());
    }

    #[test]
    fn sealed_bytes_do_not_contain_plaintext() {
        let b = SecretBox::new(&EncryptionKey::generate());
        let sealed = b.seal("plain-token-value");
        assert!(!sealed.windows(5).any(|w| w == b"plain"));
    }

    #[test]
    fn key_file_is_generated_once_with_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ak-key-{}", uuid::Uuid::new_v4()));
        let k1 = EncryptionKey::load_or_generate(&dir).unwrap();
        let k2 = EncryptionKey::load_or_generate(&dir).unwrap();
        assert_eq!(k1.to_base64(), k2.to_base64());
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn base64_key_errors() {
        assert!(matches!(
            EncryptionKey::from_base64("!!"),
            Err(KeyError::NotBase64)
        ));
        assert!(matches!(
            EncryptionKey::from_base64(&STANDARD.encode([1u8; 16])),
            Err(KeyError::WrongLength(16))
        ));
    }
}
