//! The security core (server only): access tokens, passwords, accounts, refresh-token sessions,
//! throttling and the bearer check. No HTTP here: inputs are plain values (a cookie's value, a
//! header's bytes, the client's address), outputs are values or an [`AuthError`], which the
//! server maps to the API's error contract in one place.
//!
//! [`Auth`] bundles what every step needs (storage, keys, policies, the clock); its fields are
//! private, and its methods are the steps. They are spread over the files of their concern:
//!
//! | file            | part of `Auth`                                                     |
//! |-----------------|--------------------------------------------------------------------|
//! | `mod.rs`        | construction ([`Auth::new`]), the bearer check ([`Auth::authorize`]) |
//! | `login.rs`      | [`Auth::login`]: the password step                                  |
//! | `mfa.rs`        | the second step, TOTP enrolment, turning it off, an admin's reset   |
//! | `sessions.rs`   | starting, refreshing ([`Auth::refresh`]), ending ([`Auth::logout`]) and peeking at sessions |
//! | `self_service.rs` | a user's own sessions and password                               |
//! | `profile.rs`    | a user's profile, new address, data export, deleting the account   |
//! | `signup.rs`     | opening accounts: open sign-up, invitations, verifying addresses   |
//! | `recovery.rs`   | "forgot password": the reset link and the new password             |
//! | `invitations.rs` | invitations and undelivered mail, for administrators             |
//! | `outbox.rs`     | what is mailed (letters, security notices) and the delivery queue  |
//! | `email.rs`      | e-mail addresses and the mail flows' policy                        |
//! | `password_rules.rs` | the rules every new password follows (length, zxcvbn, breached list) |
//! | `reauth.rs`     | [`Auth::reauthenticate`] and the recent-authentication check of sensitive changes |
//! | `device.rs`     | device cookies (their keys live in `Auth`)                         |
//! | `admin.rs`      | the admin area: accounts, locks, roles, the audit log              |
//! | `accounts.rs`   | the demo accounts (seeding, the production check)                  |
//! | `throttle.rs`   | the one throttled attempt every password and code check goes through |
//! | `revocation.rs` | the set of revoked sessions and keeping it in step with other processes |
//! | `retention.rs`  | [`Auth::retention_pass`]                                            |
//!
//! The command line (`jwt-auth user …`) has no signing keys, so it cannot build an `Auth`; the
//! account changes it makes are plain functions over [`Db`] that `Auth`'s methods call too:
//! `accounts::create_user`, `accounts::remove_user`, `admin::lock`, `admin::change_role` and
//! `mfa::reset`. Each records its [`Actor`](crate::db::Actor) and takes the time explicitly.

pub mod accounts;
pub mod admin;
pub mod bearer;
pub mod clock;
pub mod device;
pub mod email;
mod error;
pub mod invitations;
pub mod jwt;
pub mod login;
pub mod mfa;
pub mod outbox;
pub mod password;
pub mod password_rules;
pub mod profile;
pub mod rate_limit;
pub mod reauth;
pub mod recovery;
pub mod refresh_token;
pub mod retention;
pub mod revocation;
pub mod secret_box;
pub mod self_service;
pub mod sessions;
pub mod signup;
pub mod throttle;
pub mod totp;

pub use error::{AuthError, RefreshRefusal};

use crate::db::Db;
use clock::Clock;
use device::DeviceKeys;
use email::MailPolicy;
use jwt::{Claims, JwtKeys, NamedKey, Subject, TokenSettings};
use password::{HashingPolicy, PasswordHasher};
use password_rules::PasswordRules;
use rate_limit::{LoginRateLimiter, RatePolicy};
use refresh_token::{ChildKey, ChildKeys};
use retention::RetentionPolicy;
use revocation::RevokedSessions;
use secret_box::SecretBox;
use sessions::{IssuedToken, SessionPolicy, SessionUser};
use throttle::ThrottlePolicy;

pub use clock::unix_now;

/// The policies an [`Auth`] enforces, as the configuration groups them.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tokens: TokenSettings,
    pub sessions: SessionPolicy,
    pub throttle: ThrottlePolicy,
    pub login_rate: RatePolicy,
    pub hashing: HashingPolicy,
    pub retention: RetentionPolicy,
    pub password_rules: PasswordRules,
    pub mail: MailPolicy,
}

/// Storage, keys, policies, the revocation set and the clock: everything a step needs.
pub struct Auth {
    db: Db,
    jwt: JwtKeys,
    /// Derive each rotation's child token from its parent.
    child_keys: ChildKeys,
    sessions: SessionPolicy,
    throttle: ThrottlePolicy,
    retention: RetentionPolicy,
    /// Bounded argon2id: at most N hashes at once, in reused memory.
    hasher: PasswordHasher,
    /// Login attempts per client address (anti-spraying).
    login_rate: LoginRateLimiter,
    /// Seals TOTP secrets at rest.
    secret_box: SecretBox,
    /// Signs device cookies.
    device_keys: DeviceKeys,
    /// Sessions revoked recently enough that their access tokens could still be unexpired.
    revoked: RevokedSessions,
    clock: Clock,
    /// What every new password must be.
    rules: PasswordRules,
    /// Sign-up and the mail flows.
    mail: MailPolicy,
    /// Signalled when mail is queued, so the delivery worker need not wait for its timer.
    mail_wakeup: std::sync::Arc<tokio::sync::Notify>,
}

/// A successful login or refresh: who, a new access token, and the refresh token for the cookie.
pub struct SignedIn {
    pub user: SessionUser,
    /// The HS256 access token.
    pub access_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    pub refresh: IssuedToken,
    /// A login's device cookie (see `device`); none for a refresh.
    pub device_cookie: Option<String>,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user)
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("refresh", &self.refresh)
            .field(
                "device_cookie",
                &self.device_cookie.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl Auth {
    /// The core over `db`, signing with `keys[0]` (the active key) and verifying with all of
    /// them. Fails for an empty key list, or when the hashing buffers cannot be prepared.
    pub fn new(db: Db, keys: &[NamedKey<'_>], settings: Settings) -> Result<Self, AuthError> {
        let (active, verify_only) = keys
            .split_first()
            .ok_or_else(|| AuthError::Crypto("no signing key is configured".into()))?;
        let jwt = JwtKeys::new(*active, verify_only, settings.tokens)
            .map_err(|e| AuthError::Crypto(format!("a key cannot be used for HMAC: {e}")))?;
        let child_keys = ChildKeys::new(
            ChildKey::from_secret(active.secret),
            verify_only
                .iter()
                .map(|k| ChildKey::from_secret(k.secret))
                .collect(),
        );
        Ok(Self {
            db,
            jwt,
            child_keys,
            sessions: settings.sessions,
            throttle: settings.throttle,
            retention: settings.retention,
            hasher: PasswordHasher::new(settings.hashing)?,
            login_rate: LoginRateLimiter::new(settings.login_rate),
            secret_box: SecretBox::derive(keys.iter().map(|k| (k.kid, k.secret))),
            device_keys: DeviceKeys::derive(keys.iter().map(|k| k.secret)),
            revoked: RevokedSessions::default(),
            clock: Clock::default(),
            rules: settings.password_rules,
            mail: settings.mail,
            mail_wakeup: Default::default(),
        })
    }

    /// The clock every step reads (tests move it forward).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Now, in Unix seconds, by this core's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The bearer check of a protected call: the `Authorization` header's bytes in, the claims
    /// of a valid access token of a live session out. No database round trip.
    pub fn authorize(&self, authorization: Option<&[u8]>) -> Result<Claims, AuthError> {
        let claims = bearer::authorize(authorization, &self.jwt, self.now())?;
        if self.revoked.contains(&claims.sid) {
            return Err(AuthError::Token(jwt::TokenError::Invalid));
        }
        Ok(claims)
    }

    /// Frees the argon2 buffers no hash has used for `idle` (run every second by the server).
    pub fn release_idle_hash_memory(&self, idle: std::time::Duration) -> usize {
        self.hasher.release_idle(idle)
    }

    /// Adds ended sessions to the revocation set, as of now.
    fn forget_sessions(&self, ended: impl IntoIterator<Item = String>) {
        let now = self.now();
        self.revoked.extend(ended.into_iter().map(|id| (id, now)));
    }

    fn sign_in(
        &self,
        user: SessionUser,
        refresh: IssuedToken,
        now: i64,
    ) -> Result<SignedIn, AuthError> {
        let subject = Subject {
            user_id: user.user_id,
            username: &user.username,
            role: user.role,
            session_id: &refresh.session_id,
            amr: user.amr,
            auth_time: user.auth_time,
        };
        let access_token = self
            .jwt
            .issue(subject, now)
            .map_err(|e| AuthError::Crypto(format!("signing an access token: {e}")))?;
        Ok(SignedIn {
            user,
            access_token,
            expires_in: self.jwt.ttl_secs().unsigned_abs(),
            refresh,
            device_cookie: None,
        })
    }
}
