//! Secrets at rest: the webhooks' signing keys are stored sealed (AES-256-GCM) under a key the
//! database server reads from a file, so the rows (a dump, a replica's copy, a role that can
//! read the table) do not give them away.
//!
//! A sealed secret is `1 ‖ key id (4 bytes) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`:
//! the version, the first four bytes of the SHA-256 of the sealing key (so that opening with
//! another key says which key is needed instead of failing obscurely), the random nonce, and
//! the AEAD output, authenticated together with the version and key id.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use sha2::{Digest, Sha256};

/// Bytes of a sealing key.
pub const KEY_LEN: usize = 32;
/// Bytes of the random nonce each sealing takes.
pub const NONCE_LEN: usize = 12;
const VERSION: u8 = 1;
const ID_LEN: usize = 4;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretBoxError {
    #[error("a sealing key is 64 hexadecimal digits (32 bytes), got {0}")]
    BadKey(String),
    #[error("not a sealed secret ({len} bytes, not starting with version 1)")]
    NotSealed { len: usize },
    #[error("the secret was sealed with key {sealed_with}, the key configured is {configured}")]
    WrongKey {
        sealed_with: String,
        configured: String,
    },
    #[error("the sealed secret was altered (it fails authentication)")]
    Tampered,
}

/// A sealing key, with its id.
pub struct Key {
    cipher: Aes256Gcm,
    id: [u8; ID_LEN],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        write!(f, "Key({})", self.id_hex())
    }
}

impl Key {
    pub fn new(bytes: &[u8; KEY_LEN]) -> Key {
        let digest = Sha256::digest(bytes);
        let mut id = [0; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        Key {
            cipher: Aes256Gcm::new(bytes.into()),
            id,
        }
    }

    /// A key from its file's text: 64 hexadecimal digits, surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Key, SecretBoxError> {
        let text = text.trim();
        let describe = || {
            if text.len() == 2 * KEY_LEN {
                "a character that is not a hexadecimal digit".to_owned()
            } else {
                format!("{} characters", text.chars().count())
            }
        };
        if text.len() != 2 * KEY_LEN || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SecretBoxError::BadKey(describe()));
        }
        let mut bytes = [0u8; KEY_LEN];
        for (k, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * k..2 * k + 2], 16)
                .map_err(|_| SecretBoxError::BadKey(describe()))?;
        }
        Ok(Key::new(&bytes))
    }

    /// The key's id as 8 hexadecimal digits (the first four bytes of its SHA-256).
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    /// Seals `plain` with `nonce`, which must never be used twice with this key (take it from
    /// a strong random source).
    pub fn seal(&self, plain: &[u8], nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: plain,
                    aad: &out[..1 + ID_LEN],
                },
            )
            .expect("AES-GCM seals any secret shorter than 64 GiB");
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`Key::seal`] sealed with this key.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretBoxError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(SecretBoxError::NotSealed { len: sealed.len() });
        }
        let id = &sealed[1..1 + ID_LEN];
        if id != self.id {
            return Err(SecretBoxError::WrongKey {
                sealed_with: hex(id),
                configured: self.id_hex(),
            });
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(&sealed[1 + ID_LEN..HEADER_LEN]),
                Payload {
                    msg: &sealed[HEADER_LEN..],
                    aad: &sealed[..1 + ID_LEN],
                },
            )
            .map_err(|_| SecretBoxError::Tampered)
    }
}

/// Bytes as lowercase hexadecimal digits, two a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealing_round_trips_and_hides_the_secret() {
        let key = Key::from_hex(KEY).unwrap();
        let secret = b"a webhook signing key of 32 byte";
        let sealed = key.seal(secret, &[7; NONCE_LEN]);
        assert_eq!(sealed.len(), 1 + 4 + 12 + 32 + 16);
        assert_eq!(sealed[0], 1);
        assert!(!sealed.windows(8).any(|w| secret.windows(8).any(|s| s == w)));
        assert_eq!(key.open(&sealed).unwrap(), secret);
        // Another nonce, another sealing of the same secret.
        assert_ne!(key.seal(secret, &[8; NONCE_LEN]), sealed);
    }

    #[test]
    fn any_altered_byte_is_refused() {
        let key = Key::from_hex(KEY).unwrap();
        let sealed = key.seal(b"secret", &[1; NONCE_LEN]);
        for k in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[k] ^= 0x40;
            assert!(key.open(&bad).is_err(), "byte {k} altered and still opened");
        }
        assert_eq!(
            key.open(&sealed[..sealed.len() - 1]),
            Err(SecretBoxError::Tampered)
        );
    }

    #[test]
    fn another_key_says_which_key_sealed_it() {
        let key = Key::from_hex(KEY).unwrap();
        let other = Key::new(&[9; KEY_LEN]);
        let sealed = key.seal(b"secret", &[1; NONCE_LEN]);
        assert_eq!(
            other.open(&sealed),
            Err(SecretBoxError::WrongKey {
                sealed_with: key.id_hex(),
                configured: other.id_hex()
            })
        );
        assert_eq!(key.id_hex().len(), 8);
        assert_eq!(format!("{key:?}"), format!("Key({})", key.id_hex()));
    }

    #[test]
    fn raw_bytes_are_not_sealed_secrets() {
        let key = Key::from_hex(KEY).unwrap();
        assert_eq!(
            key.open(&[0xab; 32]),
            Err(SecretBoxError::NotSealed { len: 32 })
        );
        assert_eq!(key.open(&[]), Err(SecretBoxError::NotSealed { len: 0 }));
    }

    #[test]
    fn key_files_hold_64_hex_digits() {
        assert!(Key::from_hex(&format!("  {KEY}\n")).is_ok());
        assert_eq!(
            Key::from_hex("abc").unwrap_err(),
            SecretBoxError::BadKey("3 characters".into())
        );
        let not_hex = format!("{}zz", &KEY[..62]);
        assert_eq!(
            Key::from_hex(&not_hex).unwrap_err(),
            SecretBoxError::BadKey("a character that is not a hexadecimal digit".into())
        );
        assert!(Key::from_hex(&"é".repeat(32)).is_err());
    }

    proptest! {
        #[test]
        fn every_secret_round_trips(secret in proptest::collection::vec(any::<u8>(), 0..200),
                                    nonce in any::<[u8; NONCE_LEN]>(),
                                    key in any::<[u8; KEY_LEN]>()) {
            let key = Key::new(&key);
            prop_assert_eq!(key.open(&key.seal(&secret, &nonce)).unwrap(), secret);
        }
    }
}
