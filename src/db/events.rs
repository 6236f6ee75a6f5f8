//! The `auth_events` audit log. Callers pass names and client facts, never secrets.

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Correct password; a session started.
    LoginSuccess,
    /// Wrong password or unknown user.
    LoginFailure,
    /// A login refused because of too many failures.
    LoginThrottled,
    /// A refresh token was exchanged for a new one.
    Refresh,
    /// A rotated refresh token was presented after the grace window; its family was revoked.
    ReuseDetected,
    /// A session was ended by its user.
    Logout,
}

impl EventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSuccess => "login_success",
            Self::LoginFailure => "login_failure",
            Self::LoginThrottled => "login_throttled",
            Self::Refresh => "refresh",
            Self::ReuseDetected => "reuse_detected",
            Self::Logout => "logout",
        }
    }
}

/// Who sent the request, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Peer IP address.
    pub ip: Option<String>,
    /// `User-Agent` header, truncated.
    pub user_agent: Option<String>,
}

/// One audit record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The account concerned, if known.
    pub username: Option<&'a str>,
    /// The session family concerned, if any.
    pub family_id: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event about `username` (and a session family, when there is one).
    pub fn new(kind: EventKind, username: &'a str, family_id: Option<&'a str>) -> Self {
        Self {
            kind,
            username: Some(username),
            family_id,
        }
    }
}

/// Appends an event to the audit log.
pub async fn record<'e, E>(
    executor: E,
    event: Event<'_>,
    client: &ClientInfo,
    now: i64,
) -> sqlx::Result<()>
where
    E: sqlx::SqliteExecutor<'e>,
{
    sqlx::query(
        "INSERT INTO auth_events (at, kind, username, family_id, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(now)
    .bind(event.kind.as_str())
    .bind(event.username)
    .bind(event.family_id)
    .bind(client.ip.as_deref())
    .bind(client.user_agent.as_deref())
    .execute(executor)
    .await?;
    Ok(())
}
