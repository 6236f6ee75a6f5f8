//! The second factor: a user's TOTP factor (its secret sealed), recovery codes (hashes only)
//! and the challenges of logins waiting for their second step (hashes only).

use super::audit::{record, NewEvent};
use super::engine::{stmt, Backend, Engine};
use super::sessions::end_sessions;
use super::DbError;
use crate::model::{RevokeReason, Role};
use std::fmt;

/// A user's TOTP factor: the sealed secret and what it may still accept.
#[derive(Clone, sqlx::FromRow)]
pub struct TotpFactorRow {
    /// Which server key sealed `secret`.
    pub key_id: String,
    pub secret: Vec<u8>,
    /// Confirmed with a code; until then it is only being set up.
    pub enabled: bool,
    /// The newest time step whose code was accepted.
    pub last_step: Option<i64>,
}

impl fmt::Debug for TotpFactorRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpFactorRow")
            .field("key_id", &self.key_id)
            .field("secret", &"[sealed]")
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// A login waiting for its second step.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChallengeRow {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub locked: bool,
    /// Codes tried so far.
    pub attempts: i64,
    /// The account's security epoch at the password step (the session must start at it).
    pub epoch: i64,
}

/// Second factors and second-step challenges.
#[async_trait::async_trait]
pub trait MfaStore: Send + Sync {
    /// A user's TOTP factor, enabled or being set up.
    async fn totp_factor(&self, user_id: i64) -> Result<Option<TotpFactorRow>, DbError>;

    /// Stores a factor being set up (replacing an earlier unconfirmed one). Returns `false`,
    /// storing nothing, when an enabled factor exists.
    async fn save_pending_totp(
        &self,
        user_id: i64,
        key_id: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<bool, DbError>;

    /// Seals a factor's secret again (under the active key, after a rotation), if it is still
    /// the value `old` (a compare-and-swap: a factor set up again meanwhile is left alone).
    async fn reseal_totp(
        &self,
        user_id: i64,
        old: (&str, &[u8]),
        new: (&str, &[u8]),
    ) -> Result<bool, DbError>;

    /// The users whose factor was sealed under another key than `key_id`, to reseal them all
    /// before that key is dropped.
    async fn users_with_totp_sealed_by_other_keys(&self, key_id: &str)
        -> Result<Vec<i64>, DbError>;

    /// Enables the pending factor, with the step of the confirming code and the hashes of new
    /// recovery codes, ends the user's sessions but `keep`, and records `event`. `None` when no
    /// factor was pending.
    async fn enable_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_hashes: &[[u8; 32]],
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError>;

    /// Removes a user's factor and recovery codes, ends their sessions but `keep`, and records
    /// `event`. Returns the ended sessions, or `None` when there was no factor.
    async fn remove_totp(
        &self,
        user_id: i64,
        keep: Option<&str>,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError>;

    /// Accepts the code of `step` if no code of that step or a later one was accepted before
    /// (each code works once). Returns whether it did.
    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, DbError>;

    /// Spends an unused recovery code. Returns whether it was one.
    async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError>;

    /// Stores a login's second-step challenge (only its hash), for the account at `epoch`.
    async fn create_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        user_id: i64,
        epoch: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError>;

    /// A challenge that is unused and unexpired at `now`, whose account is still at the
    /// challenge's epoch, with its user.
    async fn find_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<ChallengeRow>, DbError>;

    /// Takes one of a challenge's code attempts, atomically: `false` when it has had
    /// `max_attempts` already (or was used or expired meanwhile).
    async fn claim_mfa_attempt(
        &self,
        challenge_hash: &[u8; 32],
        max_attempts: i64,
        now: i64,
    ) -> Result<bool, DbError>;

    /// Uses a challenge up. Returns whether it was still unused and unexpired.
    async fn consume_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError>;
}

const FACTOR: &str = "SELECT key_id, secret, enabled_at IS NOT NULL AS enabled, last_step
     FROM totp_factors WHERE user_id = $1";

const SAVE_PENDING: &str =
    "INSERT INTO totp_factors (user_id, key_id, secret, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id) DO UPDATE SET key_id = $2, secret = $3, created_at = $4,
                                         last_step = NULL
     WHERE totp_factors.enabled_at IS NULL";

const RESEAL: &str = "UPDATE totp_factors SET key_id = $1, secret = $2
     WHERE user_id = $3 AND key_id = $4 AND secret = $5";

const SEALED_BY_OTHERS: &str =
    "SELECT user_id FROM totp_factors WHERE key_id <> $1 ORDER BY user_id";

const ENABLE: &str = "UPDATE totp_factors SET enabled_at = $1, last_step = $2
     WHERE user_id = $3 AND enabled_at IS NULL";

const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";

const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)";

const DELETE_FACTOR: &str = "DELETE FROM totp_factors WHERE user_id = $1";

const USE_STEP: &str = "UPDATE totp_factors SET last_step = $1
     WHERE user_id = $2 AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)";

const USE_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = $1
     WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL";

const CREATE_CHALLENGE: &str =
    "INSERT INTO mfa_challenges (challenge_hash, user_id, epoch, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)";

const FIND_CHALLENGE: &str =
    "SELECT c.user_id, u.username, u.role, u.locked_at IS NOT NULL AS locked, c.attempts,
            c.epoch
     FROM mfa_challenges c JOIN users u ON u.id = c.user_id
     WHERE c.challenge_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2
       AND u.security_epoch = c.epoch";

const CLAIM_ATTEMPT: &str = "UPDATE mfa_challenges SET attempts = attempts + 1
     WHERE challenge_hash = $1 AND attempts < $2 AND used_at IS NULL AND expires_at > $3";

const CONSUME_CHALLENGE: &str = "UPDATE mfa_challenges SET used_at = $1
     WHERE challenge_hash = $2 AND used_at IS NULL AND expires_at > $1";

#[async_trait::async_trait]
impl<E: Engine> MfaStore for Backend<E> {
    async fn totp_factor(&self, user_id: i64) -> Result<Option<TotpFactorRow>, DbError> {
        self.fetch_optional(stmt!(FACTOR, user_id)).await
    }

    async fn save_pending_totp(
        &self,
        user_id: i64,
        key_id: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<bool, DbError> {
        let saved = self
            .execute(stmt!(SAVE_PENDING, user_id, key_id, secret, now))
            .await?;
        Ok(saved > 0)
    }

    async fn reseal_totp(
        &self,
        user_id: i64,
        (old_key, old_secret): (&str, &[u8]),
        (key_id, secret): (&str, &[u8]),
    ) -> Result<bool, DbError> {
        let st = stmt!(RESEAL, key_id, secret, user_id, old_key, old_secret);
        Ok(self.execute(st).await? > 0)
    }

    async fn users_with_totp_sealed_by_other_keys(
        &self,
        key_id: &str,
    ) -> Result<Vec<i64>, DbError> {
        let ids: Vec<(i64,)> = self.fetch_all(stmt!(SEALED_BY_OTHERS, key_id)).await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn enable_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_hashes: &[[u8; 32]],
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError> {
        let mut tx = self.begin().await?;
        if tx.execute(stmt!(ENABLE, event.at, step, user_id)).await? == 0 {
            return Ok(None);
        }
        tx.execute(stmt!(DELETE_RECOVERY_CODES, user_id)).await?;
        for hash in recovery_hashes {
            tx.execute(stmt!(INSERT_RECOVERY_CODE, user_id, hash))
                .await?;
        }
        let reason = RevokeReason::MfaChanged;
        let ended = end_sessions(&mut tx, user_id, Some(keep), reason, event.at).await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    async fn remove_totp(
        &self,
        user_id: i64,
        keep: Option<&str>,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError> {
        let mut tx = self.begin().await?;
        if tx.execute(stmt!(DELETE_FACTOR, user_id)).await? == 0 {
            return Ok(None);
        }
        tx.execute(stmt!(DELETE_RECOVERY_CODES, user_id)).await?;
        let reason = RevokeReason::MfaChanged;
        let ended = end_sessions(&mut tx, user_id, keep, reason, event.at).await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, DbError> {
        Ok(self.execute(stmt!(USE_STEP, step, user_id)).await? > 0)
    }

    async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError> {
        let used = self
            .execute(stmt!(USE_RECOVERY_CODE, now, user_id, code_hash))
            .await?;
        Ok(used > 0)
    }

    async fn create_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        user_id: i64,
        epoch: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let st = stmt!(
            CREATE_CHALLENGE,
            challenge_hash,
            user_id,
            epoch,
            now,
            expires_at
        );
        self.execute(st).await?;
        Ok(())
    }

    async fn find_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<ChallengeRow>, DbError> {
        self.fetch_optional(stmt!(FIND_CHALLENGE, challenge_hash, now))
            .await
    }

    async fn claim_mfa_attempt(
        &self,
        challenge_hash: &[u8; 32],
        max_attempts: i64,
        now: i64,
    ) -> Result<bool, DbError> {
        let st = stmt!(CLAIM_ATTEMPT, challenge_hash, max_attempts, now);
        Ok(self.execute(st).await? > 0)
    }

    async fn consume_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError> {
        let used = self
            .execute(stmt!(CONSUME_CHALLENGE, now, challenge_hash))
            .await?;
        Ok(used > 0)
    }
}
