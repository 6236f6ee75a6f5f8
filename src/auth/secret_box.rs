//! Encryption at rest for the few secrets the server must be able to read back (TOTP seeds).
//!
//! XChaCha20-Poly1305 (random 192-bit nonce per value, authenticated): a stolen database
//! yields nothing without the server key, and a tampered value fails to open. The key is
//! derived from a signing key under a label of its own, and each value records which key
//! sealed it (`key_id`), so the encryption key rotates with the signing keys: values sealed
//! under an older key still open while that key is configured, and are sealed again under the
//! active key when read.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

const NONCE_BYTES: usize = 24;

/// A sealed value: the key that sealed it and `nonce || ciphertext || tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub blob: Vec<u8>,
}

/// The encryption keys, the active one first.
#[derive(Clone)]
pub struct SecretBox {
    keys: Vec<(String, [u8; 32])>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("SecretBox").field("key_ids", &ids).finish()
    }
}

impl SecretBox {
    /// Keys derived from signing keys `(key_id, secret)`, the active one first.
    pub fn derive<'a>(signing_keys: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let keys = signing_keys
            .into_iter()
            .map(|(id, secret)| {
                let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
                mac.update(b"jwt-auth/secret-box/v1");
                (id.to_owned(), mac.finalize().into_bytes().into())
            })
            .collect();
        Self { keys }
    }

    /// The id of the key new values are sealed with.
    pub fn active_key_id(&self) -> Option<&str> {
        self.keys.first().map(|(id, _)| id.as_str())
    }

    /// Seals `plaintext` under the active key; `context` (e.g. the user id) is authenticated
    /// too, so a value cannot be moved to another row.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Option<Sealed> {
        let (key_id, key) = self.keys.first()?;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce);
        let cipher = XChaCha20Poly1305::new(key.into());
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let ciphertext = cipher.encrypt(XNonce::from_slice(&nonce), payload).ok()?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Some(Sealed {
            key_id: key_id.clone(),
            blob,
        })
    }

    /// Opens a sealed value; `None` for an unknown key, a different context or a tampered blob.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Option<Vec<u8>> {
        let (_, key) = self.keys.iter().find(|(id, _)| *id == sealed.key_id)?;
        if sealed.blob.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = sealed.blob.split_at(NONCE_BYTES);
        let cipher = XChaCha20Poly1305::new(key.into());
        let payload = Payload {
            msg: ciphertext,
            aad: context,
        };
        cipher.decrypt(XNonce::from_slice(nonce), payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes() -> (SecretBox, SecretBox) {
        let old = SecretBox::derive([("old", &b"old-signing-secret-old-signing-secret"[..])]);
        let rotated = SecretBox::derive([
            ("new", &b"new-signing-secret-new-signing-secret"[..]),
            ("old", &b"old-signing-secret-old-signing-secret"[..]),
        ]);
        (old, rotated)
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let (old, rotated) = boxes();
        let sealed = old.seal(b"seed", b"user:1").unwrap();
        assert_eq!(sealed.key_id, "old");
        assert_ne!(&sealed.blob[24..], b"seed");
        assert_eq!(old.open(&sealed, b"user:1").unwrap(), b"seed");
        // After a rotation the old key still opens it; new values use the new key.
        assert_eq!(rotated.open(&sealed, b"user:1").unwrap(), b"seed");
        assert_eq!(rotated.seal(b"seed", b"user:1").unwrap().key_id, "new");
        assert_eq!(old.open(&sealed, b"user:2"), None, "bound to its row");
        let mut tampered = sealed.clone();
        tampered.blob[30] ^= 1;
        assert_eq!(old.open(&tampered, b"user:1"), None);
        let dropped = SecretBox::derive([("new", &b"new-signing-secret-new-signing-secret"[..])]);
        assert_eq!(dropped.open(&sealed, b"user:1"), None);
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let (old, _) = boxes();
        assert_ne!(
            old.seal(b"seed", b"c").unwrap(),
            old.seal(b"seed", b"c").unwrap()
        );
    }
}
