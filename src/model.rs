//! The shared vocabulary: values that travel from the database through tokens to the browser.
//!
//! Each is one Rust type with one wire/storage name per variant (serde and, in server builds,
//! sqlx use the same `snake_case` names), so nothing downstream re-parses strings.

use serde::{Deserialize, Serialize};
use std::{fmt, net::IpAddr};

/// `Debug` for a type that carries a secret: only the named fields are shown (the rest, tokens,
/// codes, passwords, never reach a log line or a panic message).
macro_rules! debug_showing {
    ($ty:ty { $($field:ident),* }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_showing;

/// A user's role, carried in the access token's `role` claim and stored in `users.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An ordinary account.
    User,
    /// An administrator.
    Admin,
}

impl Role {
    /// The name stored in the database and the token.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses `user` or `admin` (the CLI's `--role`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a session's user authenticated (RFC 8176 `amr` values), carried by its access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text"))]
pub enum Amr {
    /// A password.
    #[serde(rename = "pwd")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "pwd"))]
    Password,
    /// A password and a one-time password (TOTP or a recovery code).
    #[serde(rename = "pwd otp")]
    #[cfg_attr(feature = "ssr", sqlx(rename = "pwd otp"))]
    PasswordAndOtp,
}

impl Amr {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Password => "pwd",
            Amr::PasswordAndOtp => "pwd otp",
        }
    }

    /// The token's `amr` claim.
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            Amr::Password => &["pwd"],
            Amr::PasswordAndOtp => &["pwd", "otp"],
        }
    }
}

/// Why a session (refresh-token family) was ended before its expiry.
/// Who may open an account (`SIGNUP_MODE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupMode {
    /// Only operators add accounts (`jwt-auth user add`).
    #[default]
    Closed,
    /// Administrators invite addresses; an invitation opens one account.
    Invite,
    /// Anyone may sign up and verify an address.
    Open,
}

impl SignupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Invite => "invite",
            Self::Open => "open",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Closed, Self::Invite, Self::Open]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// What a mail in the outbox is (its template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// "Confirm your address": a verification link after an open sign-up or a resend.
    VerifyEmail,
    /// "Confirm your new address": the link that makes a new address the account's.
    ChangeEmail,
    /// "You already have an account": a sign-up (or a new address) with an address in use.
    AlreadyRegistered,
    /// "Reset your password": the reset link.
    ResetPassword,
    /// "You are invited": the link that opens an account.
    Invitation,
    /// A security notice: something changed on the account (the mail says what).
    Notice,
}

impl MailKind {
    pub const ALL: [MailKind; 6] = [
        Self::VerifyEmail,
        Self::ChangeEmail,
        Self::AlreadyRegistered,
        Self::ResetPassword,
        Self::Invitation,
        Self::Notice,
    ];

    /// The stored name, which is also the template's file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::AlreadyRegistered => "already_registered",
            Self::ResetPassword => "reset_password",
            Self::Invitation => "invitation",
            Self::Notice => "notice",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// What this server offers that pages show links for. The server renders it into the page as
/// plain text (`open reset`, `closed -`: see `Display`), so the first visit needs no JSON
/// decoder to read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteFeatures {
    pub signup: SignupMode,
    /// Whether mail is configured, so "Forgot your password?" can work.
    pub password_reset: bool,
}

impl fmt::Display for SiteFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reset = if self.password_reset { "reset" } else { "-" };
        write!(f, "{} {reset}", self.signup.as_str())
    }
}

impl std::str::FromStr for SiteFeatures {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (signup, reset) = text.split_once(' ').ok_or("no space")?;
        Ok(Self {
            signup: SignupMode::parse(signup).ok_or("unknown sign-up mode")?,
            password_reset: reset == "reset",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// The user logged out.
    Logout,
    /// A rotated refresh token came back after the grace window: presumed stolen.
    ReuseDetected,
    /// An administrator ended it.
    Admin,
    /// Its user ended it from another device (the account page).
    EndedByUser,
    /// Its user changed the password from another session.
    PasswordChanged,
    /// An administrator locked the account.
    AccountLocked,
    /// An administrator changed the account's role (tokens carry the role).
    RoleChanged,
    /// The account was deleted.
    UserRemoved,
    /// The second factor was enabled, disabled or reset.
    MfaChanged,
    /// A new password was set through a reset link.
    PasswordReset,
}

impl RevokeReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::ReuseDetected => "reuse_detected",
            Self::Admin => "admin",
            Self::EndedByUser => "ended_by_user",
            Self::PasswordChanged => "password_changed",
            Self::AccountLocked => "account_locked",
            Self::RoleChanged => "role_changed",
            Self::UserRemoved => "user_removed",
            Self::MfaChanged => "mfa_changed",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Who sent a request, for the audit log and the throttle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address: the socket's peer, or what a trusted proxy says it forwarded.
    pub ip: Option<IpAddr>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The address as stored in the audit log.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Correct password; a session started.
    LoginSuccess,
    /// Wrong password or unknown user.
    LoginFailure,
    /// A login refused because of too many failures.
    LoginThrottled,
    /// A refresh token was exchanged for a new one (routine rotations are no longer recorded
    /// one by one; the session counts them).
    Refresh,
    /// The live token's parent came back from the client that rotated it, within the grace
    /// window, and got the same child again.
    RefreshReplayed,
    /// A user proved their password (and second factor) again for a sensitive change.
    Reauthenticated,
    /// A wrong password or code when re-authenticating.
    ReauthFailure,
    /// A rotated refresh token was presented after the grace window; its family was revoked.
    ReuseDetected,
    /// A session was ended by its user.
    Logout,
    /// A correct password for a locked account.
    LoginLocked,
    /// A user ended one or more of their own sessions from the account page.
    SessionRevoked,
    /// A user changed their password (their other sessions ended).
    PasswordChanged,
    /// A wrong current password when changing it.
    PasswordChangeFailure,
    /// An administrator locked an account (its sessions ended).
    AccountLocked,
    /// An administrator unlocked an account.
    AccountUnlocked,
    /// An administrator changed an account's role (its sessions ended).
    RoleChanged,
    /// An administrator ended all sessions of an account.
    SessionsRevoked,
    /// An account was created (command line).
    UserCreated,
    /// An account was deleted (command line).
    UserRemoved,
    /// A login's second step failed (a wrong code, or too many tries).
    MfaFailure,
    /// A user turned TOTP on (their other sessions ended).
    MfaEnabled,
    /// A user turned TOTP off (their other sessions ended).
    MfaDisabled,
    /// An administrator removed a user's second factor (their sessions ended).
    MfaReset,
    /// A recovery code was spent at login.
    RecoveryCodeUsed,
    /// An account was opened by its user (open sign-up or an invitation).
    SignedUp,
    /// A link to verify an address was sent (sign-up, a resend, a new address).
    VerificationSent,
    /// A user proved an address is theirs (it is now the account's).
    EmailVerified,
    /// A user asked to change their address (it changes once verified).
    EmailChangeRequested,
    /// A password-reset link was sent to the account's address.
    PasswordResetRequested,
    /// A password was set through a reset link (every session ended).
    PasswordReset,
    /// A user deleted their own account (its sessions ended).
    AccountDeleted,
    /// A user downloaded their data.
    DataExported,
    /// An administrator invited an address (the event names the address).
    InvitationCreated,
    /// An administrator withdrew an invitation (the event names its id).
    InvitationRevoked,
    /// A security notice was mailed to the account's address (`detail` says which).
    NoticeSent,
}

impl EventKind {
    /// Every kind, for filters.
    pub const ALL: [EventKind; 35] = [
        Self::LoginSuccess,
        Self::LoginFailure,
        Self::LoginThrottled,
        Self::LoginLocked,
        Self::Refresh,
        Self::RefreshReplayed,
        Self::ReuseDetected,
        Self::Logout,
        Self::SessionRevoked,
        Self::Reauthenticated,
        Self::ReauthFailure,
        Self::PasswordChanged,
        Self::PasswordChangeFailure,
        Self::AccountLocked,
        Self::AccountUnlocked,
        Self::RoleChanged,
        Self::SessionsRevoked,
        Self::UserCreated,
        Self::UserRemoved,
        Self::MfaFailure,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::MfaReset,
        Self::RecoveryCodeUsed,
        Self::SignedUp,
        Self::VerificationSent,
        Self::EmailVerified,
        Self::EmailChangeRequested,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::AccountDeleted,
        Self::DataExported,
        Self::InvitationCreated,
        Self::InvitationRevoked,
        Self::NoticeSent,
    ];

    /// The stored and wire name, e.g. `login_success`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSuccess => "login_success",
            Self::LoginFailure => "login_failure",
            Self::LoginThrottled => "login_throttled",
            Self::LoginLocked => "login_locked",
            Self::Refresh => "refresh",
            Self::RefreshReplayed => "refresh_replayed",
            Self::Reauthenticated => "reauthenticated",
            Self::ReauthFailure => "reauth_failure",
            Self::ReuseDetected => "reuse_detected",
            Self::Logout => "logout",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordChangeFailure => "password_change_failure",
            Self::AccountLocked => "account_locked",
            Self::AccountUnlocked => "account_unlocked",
            Self::RoleChanged => "role_changed",
            Self::SessionsRevoked => "sessions_revoked",
            Self::UserCreated => "user_created",
            Self::UserRemoved => "user_removed",
            Self::MfaFailure => "mfa_failure",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::MfaReset => "mfa_reset",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::SignedUp => "signed_up",
            Self::VerificationSent => "verification_sent",
            Self::EmailVerified => "email_verified",
            Self::EmailChangeRequested => "email_change_requested",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::AccountDeleted => "account_deleted",
            Self::DataExported => "data_exported",
            Self::InvitationCreated => "invitation_created",
            Self::InvitationRevoked => "invitation_revoked",
            Self::NoticeSent => "notice_sent",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_stored_names() {
        for role in [Role::User, Role::Admin] {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for reason in [
            RevokeReason::Logout,
            RevokeReason::ReuseDetected,
            RevokeReason::Admin,
            RevokeReason::EndedByUser,
            RevokeReason::PasswordChanged,
            RevokeReason::AccountLocked,
            RevokeReason::RoleChanged,
            RevokeReason::UserRemoved,
            RevokeReason::MfaChanged,
            RevokeReason::PasswordReset,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
        for amr in [Amr::Password, Amr::PasswordAndOtp] {
            assert_eq!(serde_json::to_value(amr).unwrap(), amr.as_str());
        }
        for kind in EventKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn site_features_read_back_from_their_text() {
        for signup in [SignupMode::Closed, SignupMode::Invite, SignupMode::Open] {
            for password_reset in [false, true] {
                let features = SiteFeatures {
                    signup,
                    password_reset,
                };
                assert_eq!(features.to_string().parse(), Ok(features));
            }
        }
        assert!("sometimes reset".parse::<SiteFeatures>().is_err());
    }
}
