//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 6 digits, 30 s
//! steps, a 160-bit secret. What authenticator apps implement.

use crate::auth::throttle::proof::Counted;
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps before the current one still accepted, for typing time and a clock a little behind
/// (ASVS 6.5.5). A code for a step that has not begun is refused.
pub const WINDOW: i64 = 1;
/// Secret length: 160 bits, RFC 4226's recommendation.
pub const SECRET_BYTES: usize = 20;

/// A new random secret.
pub fn new_secret() -> [u8; SECRET_BYTES] {
    let mut secret = [0u8; SECRET_BYTES];
    rand::fill(&mut secret);
    secret
}

/// The secret as authenticator apps take it typed in: base32, no padding.
pub fn to_base32(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The time step of Unix time `at`.
pub fn step_at(at: i64) -> i64 {
    at.div_euclid(STEP_SECS)
}

/// HOTP (RFC 4226 §5.3) of `counter`, with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The 6-digit code for `step`, zero-padded.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step.max(0).unsigned_abs(), DIGITS),
        width = DIGITS as usize
    )
}

/// The step whose code `code` is: the current one or up to [`WINDOW`] before it; `None` when
/// none matches. Comparisons are constant-time. A check of a code, so only a counted
/// attempt may make it (`Counted`, see `auth::throttle`).
pub fn matching_step(_counted: &Counted, secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in current - WINDOW..=current {
        let expected = code_at_step(secret, step);
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URL authenticator apps scan (Key Uri Format).
pub fn otpauth_url(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer_enc = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{}?secret={}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent_encode(account),
        to_base32(secret),
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_test_vectors_sha1() {
        for (time, expected) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let step = step_at(time).unsigned_abs();
            assert_eq!(hotp(RFC_SECRET, step, 8), expected, "T = {time}");
        }
    }

    #[test]
    fn rfc_4226_hotp_test_vectors() {
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(
                hotp(RFC_SECRET, counter as u64, 6),
                *code,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn codes_match_for_the_current_and_the_previous_step_only() {
        let secret = new_secret();
        let now = 1_800_000_015;
        let step = step_at(now);
        for offset in [-1, 0] {
            let code = code_at_step(&secret, step + offset);
            assert_eq!(
                matching_step(&Counted::for_tests(), &secret, &code, now),
                Some(step + offset)
            );
        }
        for offset in [-2, 1, 2] {
            let code = code_at_step(&secret, step + offset);
            assert_eq!(
                matching_step(&Counted::for_tests(), &secret, &code, now),
                None,
                "{offset}"
            );
        }
        for bad in ["", "12345", "1234567", "12a456"] {
            assert_eq!(
                matching_step(&Counted::for_tests(), &secret, bad, now),
                None
            );
        }
    }

    #[test]
    fn the_otpauth_url_names_issuer_account_and_parameters() {
        let url = otpauth_url("jwt-auth", "ana maria", b"12345678901234567890");
        assert_eq!(
            url,
            "otpauth://totp/jwt-auth:ana%20maria?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=jwt-auth&algorithm=SHA1&digits=6&period=30"
        );
    }
}
