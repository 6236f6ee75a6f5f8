//! The second factor: TOTP with recovery codes.
//!
//! Enrolment: `setup` draws a 160-bit secret and stores it sealed as *pending*; `enable`
//! confirms it with a current code, returns ten single-use recovery codes (stored as SHA-256
//! only) and ends the user's other sessions; `disable` needs the password and a code (or a
//! recovery code) and ends them too. An administrator can `reset` a user's factor.
//!
//! Login: a right password for a user with TOTP gets no session but a challenge: 256 random
//! bits (only the hash is stored), bound to the user, single-use, valid five minutes, good for
//! at most [`MAX_CODE_ATTEMPTS`] wrong codes. The second step takes a TOTP code (±1 step, each
//! code only once: the newest accepted step is remembered) or a recovery code (spent on use).
//! Every code is checked in a throttled attempt (`auth::throttle`): wrong codes count against the
//! same limits as wrong passwords. The session remembers how it was authenticated (`amr`), and
//! so do its access tokens.

use crate::auth::accounts::Username;
use crate::auth::admin::{Acting, Admin};
use crate::auth::outbox::Notice;
use crate::auth::secret_box::Sealed;
use crate::auth::self_service::Caller;
use crate::auth::sessions::SessionUser;
use crate::auth::throttle::{Counted, Secret};
use crate::auth::{totp, Auth, AuthError, SignedIn};
use crate::db::{Actor, Db, NewEvent, UsernameKey};
use crate::model::{Amr, ClientInfo, EventKind};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};

/// How long a login's second step may take.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Wrong codes one challenge accepts before it is used up.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// Recovery codes per enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show.
pub const ISSUER: &str = "jwt-auth";

/// What the enrolment page shows: the secret as text, as a URL, and as a QR code (SVG).
#[derive(Clone)]
pub struct TotpSetup {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

/// What a second step presents.
#[derive(Clone)]
pub enum SecondFactor {
    /// A 6-digit TOTP code.
    Code(String),
    /// One of the recovery codes.
    RecoveryCode(String),
}

crate::model::debug_showing!(TotpSetup {});

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Code(_) => "Code([redacted])",
            Self::RecoveryCode(_) => "RecoveryCode([redacted])",
        })
    }
}

/// A new recovery code: 80 random bits as `XXXX-XXXX-XXXX-XXXX` (base32).
fn new_recovery_code() -> String {
    let mut bytes = [0u8; 10];
    rand::fill(&mut bytes);
    let text = BASE32_NOPAD.encode(&bytes);
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of a recovery code: case, dashes and spaces do not matter.
fn recovery_hash(code: &str) -> [u8; 32] {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::digest(normalised.as_bytes()).into()
}

fn challenge_hash(challenge: &str) -> [u8; 32] {
    Sha256::digest(challenge.as_bytes()).into()
}

/// The authenticated context of a sealed secret: it opens only for its own user.
fn context(user_id: i64) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

fn qr_svg(url: &str) -> Result<String, AuthError> {
    let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M)
        .map_err(|e| AuthError::Crypto(format!("drawing the QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

impl Auth {
    /// Whether `user_id` has an enabled TOTP factor.
    pub async fn totp_enabled(&self, user_id: i64) -> Result<bool, AuthError> {
        Ok(self
            .db
            .totp_factor(user_id)
            .await?
            .is_some_and(|f| f.enabled))
    }

    /// A user's factor secret, opened (and sealed again under the active key if an older key
    /// sealed it), with whether it is enabled and its last accepted step.
    async fn factor_secret(&self, user_id: i64) -> Result<Option<(Vec<u8>, bool)>, AuthError> {
        let Some(row) = self.db.totp_factor(user_id).await? else {
            return Ok(None);
        };
        let sealed = Sealed {
            key_id: row.key_id,
            blob: row.secret,
        };
        let secret = self
            .secret_box
            .open(&sealed, &context(user_id))
            .ok_or_else(|| {
                AuthError::Crypto(
                    "a TOTP secret does not open: its key is no longer configured".into(),
                )
            })?;
        if Some(sealed.key_id.as_str()) != self.secret_box.active_key_id() {
            if let Some(resealed) = self.secret_box.seal(&secret, &context(user_id)) {
                // Only if nobody set the factor up again meanwhile (a compare-and-swap).
                let old = (sealed.key_id.as_str(), sealed.blob.as_slice());
                let new = (resealed.key_id.as_str(), resealed.blob.as_slice());
                self.db.reseal_totp(user_id, old, new).await?;
            }
        }
        Ok(Some((secret, row.enabled)))
    }

    /// Seals every factor under the active key (run at start-up), so that a key dropped one
    /// rotation later takes no second factor with it. Returns how many were resealed and how
    /// many no configured key opens any more.
    pub async fn reseal_totp_factors(&self) -> Result<(usize, usize), AuthError> {
        let Some(active) = self.secret_box.active_key_id() else {
            return Ok((0, 0));
        };
        let (mut resealed, mut lost) = (0, 0);
        for user_id in self.db.users_with_totp_sealed_by_other_keys(active).await? {
            match self.factor_secret(user_id).await {
                Ok(_) => resealed += 1,
                Err(AuthError::Crypto(_)) => lost += 1,
                Err(other) => return Err(other),
            }
        }
        Ok((resealed, lost))
    }

    /// Starts enrolment: a new secret, pending until `enable_totp` confirms it.
    pub async fn setup_totp(&self, caller: &Caller) -> Result<TotpSetup, AuthError> {
        let secret = totp::new_secret();
        let sealed = self
            .secret_box
            .seal(&secret, &context(caller.user_id))
            .ok_or_else(|| AuthError::Crypto("sealing a TOTP secret".into()))?;
        let saved = self
            .db
            .save_pending_totp(caller.user_id, &sealed.key_id, &sealed.blob, self.now())
            .await?;
        if !saved {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let otpauth_url = totp::otpauth_url(ISSUER, &caller.username, &secret);
        Ok(TotpSetup {
            secret: totp::to_base32(&secret),
            qr_svg: qr_svg(&otpauth_url)?,
            otpauth_url,
        })
    }

    /// Confirms enrolment with a current code (in a throttled attempt): enables the factor,
    /// ends the caller's other sessions, and returns the recovery codes (shown once, stored as
    /// hashes).
    pub async fn enable_totp(
        &self,
        caller: &Caller,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        let Some((secret, enabled)) = self.factor_secret(caller.user_id).await? else {
            return Err(AuthError::InvalidInput("Start the set-up first.".into()));
        };
        if enabled {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let attempt = self
            .attempt(&caller.username, client, Secret::Enrolment, None)
            .await?;
        let now = attempt.now();
        let Some(step) = totp::matching_step(attempt.counted(), &secret, code, now) else {
            attempt.failed();
            return Err(AuthError::InvalidCode);
        };
        attempt.succeeded().await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| recovery_hash(c)).collect();
        let event = caller.event(EventKind::MfaEnabled, client, now);
        let ended = self
            .db
            .enable_totp(caller.user_id, step, &hashes, &caller.session_id, event)
            .await?
            .ok_or(AuthError::InvalidInput("Start the set-up first.".into()))?;
        self.forget_sessions(ended);
        tracing::info!(username = ?caller.username, "TOTP enabled");
        self.notify_user(caller.user_id, Notice::MfaEnabled, Some(client))
            .await;
        Ok(codes)
    }

    /// Turns the factor off: needs the password and a current code or a recovery code, both
    /// checked in one throttled attempt (counted like a login, and like a second step), with
    /// one answer for either being wrong; ends the caller's other sessions.
    pub async fn disable_totp(
        &self,
        caller: &Caller,
        password: String,
        code: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let user = self
            .db
            .find_user(&UsernameKey::of(&caller.username))
            .await?
            .filter(|u| u.id == caller.user_id)
            .ok_or(AuthError::NotFound)?;
        if !self.totp_enabled(user.id).await? {
            return Err(AuthError::MfaNotEnabled);
        }
        let mut attempt = self
            .attempt(&caller.username, client, Secret::PasswordAndCode, None)
            .await?;
        let now = attempt.now();
        let factor = parse_factor(code);
        let right = attempt
            .password(password, Some(user.password_hash.clone()))
            .await?
            && self
                .check_second_factor(attempt.counted(), user.id, &factor, now)
                .await?;
        if !right {
            attempt.failed();
            let event = caller.event(EventKind::MfaFailure, client, now);
            self.db.record_event(event).await?;
            return Err(AuthError::WrongPassword);
        }
        attempt.succeeded().await?;
        let event = caller.event(EventKind::MfaDisabled, client, now);
        let ended = self
            .db
            .remove_totp(user.id, Some(&caller.session_id), event)
            .await?
            .unwrap_or_default();
        self.forget_sessions(ended);
        tracing::info!(username = ?caller.username, "TOTP disabled");
        self.notify(&user, Notice::MfaDisabled, Some(client)).await;
        Ok(())
    }

    /// Whether `factor` is a valid, unused code of `user_id`'s enabled factor (spending it).
    pub(crate) async fn check_second_factor(
        &self,
        counted: &Counted,
        user_id: i64,
        factor: &SecondFactor,
        now: i64,
    ) -> Result<bool, AuthError> {
        match factor {
            SecondFactor::Code(code) => {
                let Some((secret, true)) = self.factor_secret(user_id).await? else {
                    return Ok(false);
                };
                match totp::matching_step(counted, &secret, code, now) {
                    // Each code once: a step at or before the last accepted one is a replay.
                    Some(step) => Ok(self.db.use_totp_step(user_id, step).await?),
                    None => Ok(false),
                }
            }
            SecondFactor::RecoveryCode(code) => Ok(self
                .db
                .use_recovery_code(user_id, &recovery_hash(code), now)
                .await?),
        }
    }

    /// A new second-step challenge for `user_id`.
    pub(crate) async fn start_second_step(
        &self,
        user_id: i64,
        epoch: i64,
        now: i64,
    ) -> Result<String, AuthError> {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let challenge = URL_SAFE_NO_PAD.encode(bytes);
        self.db
            .create_mfa_challenge(
                &challenge_hash(&challenge),
                user_id,
                epoch,
                now,
                now + CHALLENGE_TTL_SECS,
            )
            .await?;
        Ok(challenge)
    }

    /// The login's second step: a challenge and a code (or a recovery code) for a session.
    /// The challenge must still be unused, unexpired, and of an account at the epoch of its
    /// password step; each of its code attempts is taken atomically (at most
    /// [`MAX_CODE_ATTEMPTS`] are ever checked), and wrong codes count against the account
    /// wherever they come from. `device` is the request's device cookie.
    pub async fn login_second_step(
        &self,
        challenge: &str,
        factor: SecondFactor,
        client: &ClientInfo,
        device: Option<&str>,
    ) -> Result<SignedIn, AuthError> {
        let hash = challenge_hash(challenge);
        let row = self
            .db
            .find_mfa_challenge(&hash, self.now())
            .await?
            .filter(|row| row.attempts < MAX_CODE_ATTEMPTS)
            .ok_or(AuthError::InvalidChallenge)?;
        if row.locked {
            return Err(AuthError::AccountLocked);
        }
        let device = device.and_then(|cookie| self.device_keys.verify(cookie, row.user_id));
        let attempt = self
            .attempt(&row.username, client, Secret::SecondFactor, device.as_ref())
            .await?;
        let now = attempt.now();
        if !self
            .db
            .claim_mfa_attempt(&hash, MAX_CODE_ATTEMPTS, now)
            .await?
        {
            // Not a failure of the code: it was never checked.
            attempt.not_checked().await?;
            return Err(AuthError::InvalidChallenge);
        }
        let event = |kind| NewEvent::new(kind, &row.username, Actor::User, now).by(client);
        if !self
            .check_second_factor(attempt.counted(), row.user_id, &factor, now)
            .await?
        {
            attempt.failed();
            self.db.record_event(event(EventKind::MfaFailure)).await?;
            tracing::info!(username = ?row.username, "second factor refused");
            return Err(AuthError::InvalidCode);
        }
        // Single use: a challenge that was used meanwhile (a parallel request) is refused.
        if !self.db.consume_mfa_challenge(&hash, now).await? {
            return Err(AuthError::InvalidChallenge);
        }
        attempt.succeeded().await?;
        let recovery = matches!(factor, SecondFactor::RecoveryCode(_));
        if recovery {
            self.db
                .record_event(event(EventKind::RecoveryCodeUsed))
                .await?;
        }
        let user = SessionUser {
            user_id: row.user_id,
            username: row.username,
            role: row.role,
            amr: Amr::PasswordAndOtp,
            auth_time: now,
        };
        let Some(issued) = self.start_session(&user, row.epoch, client, now).await? else {
            // The account changed since the password step: that password no longer counts.
            return Err(AuthError::InvalidChallenge);
        };
        tracing::info!(username = ?user.username, "login succeeded with a second factor");
        let mut signed_in = self.sign_in(user, issued, now)?;
        signed_in.device_cookie = self
            .device_keys
            .issue(signed_in.user.user_id, device.as_ref());
        let user_id = signed_in.user.user_id;
        if recovery {
            self.notify_user(user_id, Notice::RecoveryCodeUsed, Some(client))
                .await;
        }
        if device.is_none() {
            self.notify_user(user_id, Notice::NewDevice, Some(client))
                .await;
        }
        Ok(signed_in)
    }
}

/// A code as typed into a field that takes either kind: six digits are a TOTP code, anything
/// else a recovery code.
pub fn parse_factor(code: &str) -> SecondFactor {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        SecondFactor::Code(code.to_owned())
    } else {
        SecondFactor::RecoveryCode(code.to_owned())
    }
}

/// Removes a user's second factor (an administrator, or the command line) and ends their
/// sessions. Returns the ended sessions, or `MfaNotEnabled` when the user has no factor.
pub async fn reset(
    db: &Db,
    acting: Acting<'_>,
    username: &Username,
) -> Result<Vec<String>, AuthError> {
    let user = db
        .find_user(&username.key())
        .await?
        .ok_or(AuthError::NotFound)?;
    let event = acting.event(EventKind::MfaReset, &user.username);
    db.remove_totp(user.id, None, event)
        .await?
        .ok_or(AuthError::MfaNotEnabled)
}

impl Auth {
    /// An administrator removes a user's second factor (their sessions end).
    pub async fn reset_mfa(
        &self,
        admin: &Admin,
        username: &Username,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let ended = reset(&self.db, self.acting(admin, client), username).await?;
        self.forget_sessions(ended);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_80_bits_and_typing_variants_match() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3);
        assert_eq!(
            recovery_hash(&code),
            recovery_hash(&code.to_lowercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(&code), recovery_hash(&new_recovery_code()));
    }

    #[test]
    fn six_digits_are_a_code_anything_else_a_recovery_code() {
        assert!(matches!(parse_factor(" 123456 "), SecondFactor::Code(_)));
        assert!(matches!(
            parse_factor("ABCD-EFGH-IJKL-MNOP"),
            SecondFactor::RecoveryCode(_)
        ));
        assert!(matches!(
            parse_factor("12345"),
            SecondFactor::RecoveryCode(_)
        ));
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg("otpauth://totp/jwt-auth:user?secret=ABC").unwrap();
        assert!(
            svg.starts_with("<?xml") || svg.starts_with("<svg"),
            "{}",
            &svg[..40]
        );
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn challenges_are_stored_as_hashes() {
        assert_eq!(
            challenge_hash("abc"),
            <[u8; 32]>::from(Sha256::digest(b"abc"))
        );
    }
}
