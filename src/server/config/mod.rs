//! Configuration from the environment, read once at start-up, grouped by who uses it.
//!
//! Every variable is documented in `.env.example`. A bad value stops the server with a message
//! that names the variable; nothing falls back silently. Values are read through one reader
//! (`env`), the signing keys in `keys`.

mod env;
pub mod keys;
pub mod mail;

use crate::auth::email::MailPolicy;
use crate::auth::jwt::TokenSettings;
use crate::auth::password::HashingPolicy;
use crate::auth::password_rules::PasswordRules;
use crate::auth::rate_limit::RatePolicy;
use crate::auth::retention::RetentionPolicy;
use crate::auth::sessions::SessionPolicy;
use crate::auth::throttle::ThrottlePolicy;
use crate::server::net::{IpNet, PublicOrigin};
use anyhow::{bail, Context};
use env::Env;
use keys::Keys;
use mail::{AccountsConfig, MailConfig};
use std::{path::PathBuf, time::Duration};

pub use keys::generate_key;

/// Default database: a file under `data/`, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/jwt-auth.db?mode=rwc";
/// Where the server listens when `LEPTOS_SITE_ADDR` is unset (as in Cargo.toml's `site-addr`).
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";
/// The most clock skew a token's `exp` is ever allowed.
pub const MAX_LEEWAY_SECS: i64 = 60;
/// Upper bound for every duration setting (100 years), so adding one to a timestamp can never
/// overflow.
pub const MAX_SECS: i64 = 100 * 365 * 86_400;
/// The longest an access token may live: it is the time a stolen one is good for, and the time
/// revocations must be remembered.
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 3600;
/// The longest a rotated refresh token may come back for its child.
pub const MAX_REUSE_GRACE_SECS: i64 = 60;

/// Development or production, from `LEPTOS_ENV` (unset means development).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Demo users are created; a missing `JWT_SECRET` is generated and kept in the data folder.
    Development,
    /// No demo users; `JWT_SECRET` (≥ 32 bytes) is required.
    Production,
}

/// Where the data lives.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `sqlite:…` or `postgres://…`.
    pub url: String,
    /// Where development keeps its generated secret (`None`: nowhere, it is not kept).
    pub data_dir: Option<PathBuf>,
}

/// The URL may hold a password: shown as [`redact_database_url`] makes it.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_database_url(&self.url))
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// How clients reach us.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// The one origin browsers use: the only accepted `Origin` of unsafe API requests, and
    /// where `iss`/`aud` default from.
    pub public_origin: PublicOrigin,
    /// Proxies whose `X-Forwarded-For` is believed; everyone else's is ignored.
    pub trusted_proxies: Vec<IpNet>,
}

/// Timeouts and caps of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A client must send a request's headers within this (slow-header attacks).
    pub header_read_timeout_secs: u64,
    /// A request must be answered within this (408 otherwise).
    pub request_timeout_secs: u64,
    /// Open connections; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Open connections from one client address (a trusted proxy's are not counted); more are
    /// closed at once.
    pub max_connections_per_ip: usize,
    /// A connection that makes no progress writing its response for this long is closed.
    pub idle_timeout_secs: u64,
    /// Requests being handled at once; more are answered 503 at once.
    pub max_in_flight_requests: usize,
    /// How long a shutdown waits for open requests before closing them.
    pub shutdown_grace_secs: u64,
}

/// The whole server configuration, one group per consumer. Durations are whole seconds
/// (`*_secs`), the unit of every stored time and token claim.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub database: DatabaseConfig,
    /// The signing keys, the active one first.
    pub keys: Keys,
    /// Access tokens: lifetime, leeway, issuer, audience.
    pub tokens: TokenSettings,
    pub sessions: SessionPolicy,
    pub throttle: ThrottlePolicy,
    /// The per-address token bucket on `/api/login`.
    pub login_rate: RatePolicy,
    pub hashing: HashingPolicy,
    pub retention: RetentionPolicy,
    pub net: NetConfig,
    pub limits: ServerLimits,
    pub mail: MailConfig,
    /// Sign-up, mail links, password rules.
    pub accounts: AccountsConfig,
}

impl Config {
    /// Reads the configuration from the process environment (after `.env` was loaded).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can pass variables without touching
    /// the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let env = Env::new(lookup);
        let mode = match env.text("LEPTOS_ENV") {
            None => Mode::Development,
            Some(v) if v.eq_ignore_ascii_case("DEV") || v.eq_ignore_ascii_case("development") => {
                Mode::Development
            }
            Some(v) if v.eq_ignore_ascii_case("PROD") || v.eq_ignore_ascii_case("production") => {
                Mode::Production
            }
            Some(other) => bail!("LEPTOS_ENV must be DEV or PROD, not {other:?}"),
        };
        let database = database(&env)?;
        let net = net(&env, mode)?;
        let keys = keys::from_env(
            env.text("JWT_KEYS"),
            env.text("JWT_SECRET"),
            mode == Mode::Production,
            database.data_dir.as_deref(),
        )?;
        let tokens = TokenSettings {
            ttl_secs: env.secs("ACCESS_TOKEN_TTL_SECS", 900, 1..=MAX_ACCESS_TOKEN_TTL_SECS)?,
            leeway_secs: env.secs("JWT_LEEWAY_SECS", 0, 0..=MAX_LEEWAY_SECS)?,
            issuer: env
                .text("JWT_ISSUER")
                .unwrap_or_else(|| net.public_origin.to_string()),
            audience: env
                .text("JWT_AUDIENCE")
                .unwrap_or_else(|| format!("{}/api", net.public_origin)),
        };
        let sessions = SessionPolicy {
            absolute_ttl_secs: env.secs("REFRESH_TOKEN_TTL_SECS", 604_800, 1..=MAX_SECS)?,
            idle_ttl_secs: env.secs("REFRESH_IDLE_TTL_SECS", 86_400, 1..=MAX_SECS)?,
            reuse_grace_secs: env.secs("REFRESH_REUSE_GRACE_SECS", 10, 0..=MAX_REUSE_GRACE_SECS)?,
            reauth_max_age_secs: env.secs("REAUTH_MAX_AGE_SECS", 300, 30..=3600)?,
        };
        let per = |name, default| env.count(name, default, 1..=1_000_000).map(as_u32);
        let throttle = ThrottlePolicy {
            max_failures: per("LOGIN_MAX_FAILURES", 5)?,
            max_ip_failures: per("LOGIN_IP_MAX_FAILURES", 50)?,
            max_user_failures_per_hour: per("LOGIN_USER_MAX_FAILURES_PER_HOUR", 100)?,
            max_mfa_failures: per("MFA_MAX_FAILURES", 5)?,
            window_secs: env.secs("LOGIN_THROTTLE_WINDOW_SECS", 900, 1..=MAX_SECS)?,
            max_mail_per_address: per("MAIL_MAX_PER_ADDRESS", 20)?,
            max_mail_per_recipient: per("MAIL_MAX_PER_RECIPIENT", 5)?,
        };
        let login_rate = RatePolicy {
            burst: per("LOGIN_RATE_BURST", 30)?,
            per_minute: per("LOGIN_RATE_PER_MIN", 30)?,
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let hashing = HashingPolicy {
            concurrency: as_usize(env.count("PASSWORD_HASH_CONCURRENCY", cores, 1..=1024)?),
            wait: Duration::from_millis(env.count("PASSWORD_HASH_WAIT_MS", 1000, 0..=60_000)?),
        };
        let retention = RetentionPolicy {
            session_days: env
                .count("SESSION_RETENTION_DAYS", 7, 0..=36_500)?
                .cast_signed(),
            audit_days: env
                .count("AUDIT_RETENTION_DAYS", 90, 1..=36_500)?
                .cast_signed(),
        };
        let limits = ServerLimits {
            header_read_timeout_secs: env.count("HEADER_READ_TIMEOUT_SECS", 10, 1..=3600)?,
            request_timeout_secs: env.count("REQUEST_TIMEOUT_SECS", 30, 1..=3600)?,
            max_connections: as_usize(env.count("MAX_CONNECTIONS", 1024, 1..=1_000_000)?),
            max_connections_per_ip: as_usize(env.count(
                "MAX_CONNECTIONS_PER_IP",
                64,
                1..=1_000_000,
            )?),
            idle_timeout_secs: env.count("IDLE_TIMEOUT_SECS", 30, 1..=3600)?,
            max_in_flight_requests: as_usize(env.count(
                "MAX_IN_FLIGHT_REQUESTS",
                512,
                1..=1_000_000,
            )?),
            shutdown_grace_secs: env.count("SHUTDOWN_GRACE_SECS", 10, 0..=3600)?,
        };
        let mail = mail::mail(&env, mode, &net.public_origin, database.data_dir.as_deref())?;
        let accounts = mail::accounts(&env, mode, &mail)?;
        Ok(Self {
            mail,
            accounts,
            mode,
            database,
            keys,
            tokens,
            sessions,
            throttle,
            login_rate,
            hashing,
            retention,
            net,
            limits,
        })
    }

    /// What the security core enforces. Opens `BREACHED_PASSWORDS_FILE`.
    pub fn auth_settings(&self) -> anyhow::Result<crate::auth::Settings> {
        Ok(crate::auth::Settings {
            tokens: self.tokens.clone(),
            sessions: self.sessions,
            throttle: self.throttle,
            login_rate: self.login_rate,
            hashing: self.hashing,
            retention: self.retention,
            password_rules: self.password_rules()?,
            mail: self.mail_policy(),
        })
    }

    /// The rules for new passwords (also what the command line applies).
    pub fn password_rules(&self) -> anyhow::Result<PasswordRules> {
        PasswordRules::new(
            self.accounts.password_min_score,
            self.accounts.breached_passwords.as_deref(),
        )
        .context("BREACHED_PASSWORDS_FILE")
    }

    fn mail_policy(&self) -> MailPolicy {
        MailPolicy {
            enabled: self.mail.enabled(),
            signup: self.accounts.signup,
            verify_ttl_secs: self.accounts.verify_ttl_secs,
            reset_ttl_secs: self.accounts.reset_ttl_secs,
            invite_ttl_secs: self.accounts.invite_ttl_secs,
            origin: self.net.public_origin.to_string(),
        }
    }
}

/// The rules for new passwords alone (`PASSWORD_MIN_SCORE`, `BREACHED_PASSWORDS_FILE`), for
/// the command line, which needs no signing keys.
pub fn password_rules_from_env() -> anyhow::Result<PasswordRules> {
    let env = Env::new(|name: &str| std::env::var(name).ok());
    let (min_score, breached) = mail::password_rules(&env)?;
    PasswordRules::new(min_score, breached.as_deref()).context("BREACHED_PASSWORDS_FILE")
}

fn as_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn as_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn database<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> anyhow::Result<DatabaseConfig> {
    let url = env
        .text("DATABASE_URL")
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    if !url.starts_with("sqlite:") && !crate::db::is_postgres(&url) {
        bail!("DATABASE_URL must be sqlite://path?mode=rwc or postgres://…, not {url:?}");
    }
    let data_dir = env
        .text("DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| default_data_dir(&url));
    Ok(DatabaseConfig { url, data_dir })
}

fn net<F: Fn(&str) -> Option<String>>(env: &Env<F>, mode: Mode) -> anyhow::Result<NetConfig> {
    let trusted_proxies = env.list("TRUSTED_PROXIES", "addresses or CIDR ranges", IpNet::parse)?;
    let expected = "scheme://host[:port] (http or https)";
    let public_origin = match env.parsed("PUBLIC_ORIGIN", expected, PublicOrigin::parse)? {
        Some(origin) => origin,
        None if mode == Mode::Production => bail!(
            "PUBLIC_ORIGIN is required when LEPTOS_ENV=PROD: the origin browsers use, \
             e.g. https://auth.example.com"
        ),
        None => {
            let addr = env
                .text("LEPTOS_SITE_ADDR")
                .unwrap_or_else(|| DEFAULT_SITE_ADDR.to_owned());
            PublicOrigin::parse(&format!("http://{addr}"))
                .with_context(|| format!("LEPTOS_SITE_ADDR must be host:port, not {addr:?}"))?
        }
    };
    Ok(NetConfig {
        public_origin,
        trusted_proxies,
    })
}

/// The data folder when `DATA_DIR` is unset: the SQLite file's folder, `data` for PostgreSQL,
/// `None` for an in-memory database.
pub fn default_data_dir(database_url: &str) -> Option<PathBuf> {
    if crate::db::is_postgres(database_url) {
        return Some(PathBuf::from("data"));
    }
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || rest.contains("mode=memory") {
        return None;
    }
    let parent = PathBuf::from(path)
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    Some(if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent
    })
}

/// `DATABASE_URL` fit for a log line: a password in it is replaced, the query dropped.
pub fn redact_database_url(url: &str) -> String {
    let url = url.split('?').next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests;
