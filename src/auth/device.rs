//! Device cookies (OWASP's answer to lockout attacks): every successful login leaves the
//! browser a long-lived cookie naming the account and a random device id, signed by the
//! server. While a username's failure ceiling is exhausted (someone guessing from many
//! addresses), a login that brings a valid device cookie of that account is still checked, and
//! its failures count against that device instead; so the real user's own browser keeps
//! working, and a stolen cookie buys five guesses a window.
//!
//! The value is `<user id>.<device id>.<tag>`, the tag an HMAC-SHA256 under a key derived from
//! a signing key (its own label), verified under every configured key so the cookie survives a
//! key rotation. Nothing is stored.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

/// A device's id (128 random bits): what its failures are counted against.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceId(String);

impl DeviceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceId([redacted])")
    }
}

/// The keys device cookies are signed with, the active one first.
#[derive(Clone)]
pub struct DeviceKeys {
    keys: Vec<[u8; 32]>,
}

impl fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKeys([redacted; {}])", self.keys.len())
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
}

fn tagged(key: &[u8; 32], user_id: i64, device: &str) -> HmacSha256 {
    let mut mac = mac(key);
    mac.update(format!("jwt-auth/device/v1|{user_id}|{device}").as_bytes());
    mac
}

impl DeviceKeys {
    /// Keys derived from the signing secrets, the active one first.
    pub fn derive<'a>(secrets: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let keys = secrets
            .into_iter()
            .map(|secret| {
                let mut key = mac(secret);
                key.update(b"jwt-auth/device-cookie/v1");
                key.finalize().into_bytes().into()
            })
            .collect();
        Self { keys }
    }

    /// The device a cookie names, if the cookie is genuine and belongs to `user_id`.
    pub fn verify(&self, cookie: &str, user_id: i64) -> Option<DeviceId> {
        let mut parts = cookie.split('.');
        let (Some(user), Some(device), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if user.parse::<i64>().ok()? != user_id || device.len() != 22 {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        self.keys
            .iter()
            .any(|key| tagged(key, user_id, device).verify_slice(&tag).is_ok())
            .then(|| DeviceId(device.to_owned()))
    }

    /// A cookie for `user_id` on this device: the same device id again when the request had a
    /// valid one (its counters stay), else a new one.
    pub fn issue(&self, user_id: i64, known: Option<&DeviceId>) -> Option<String> {
        let device = known.map_or_else(
            || {
                let mut bytes = [0u8; 16];
                rand::fill(&mut bytes);
                URL_SAFE_NO_PAD.encode(bytes)
            },
            |d| d.0.clone(),
        );
        let tag = tagged(self.keys.first()?, user_id, &device)
            .finalize()
            .into_bytes();
        Some(format!(
            "{user_id}.{device}.{}",
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_names_its_account_and_device_and_cannot_be_forged() {
        let keys = DeviceKeys::derive([&b"active-key"[..], &b"older-key"[..]]);
        let cookie = keys.issue(7, None).unwrap();
        let device = keys.verify(&cookie, 7).unwrap();
        assert_eq!(
            keys.issue(7, Some(&device)).unwrap(),
            cookie,
            "same device, same cookie"
        );
        assert!(keys.verify(&cookie, 8).is_none(), "another account's");
        let forged = cookie.replacen("7.", "8.", 1);
        assert!(keys.verify(&forged, 8).is_none());
        let mut tampered = cookie.clone();
        tampered.pop();
        tampered.push(if cookie.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.verify(&tampered, 7).is_none());
        for garbage in ["", "7", "7.x.y", "7..", "a.b.c.d"] {
            assert!(keys.verify(garbage, 7).is_none(), "{garbage}");
        }
        // Signed under a key that is now only verifying: still valid.
        let before = DeviceKeys::derive([&b"older-key"[..]]);
        let old = before.issue(7, None).unwrap();
        assert!(keys.verify(&old, 7).is_some());
    }
}
