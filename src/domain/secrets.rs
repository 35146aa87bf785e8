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
use rand::RngCore;

const NONCE_LEN: usize = 12;
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

/// Seals and opens secrets with one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox")
    }
}

impl SecretBox {
    pub fn new(key: &EncryptionKey) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0)),
        }
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
