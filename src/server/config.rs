//! Configuration from the environment, read once at start-up.
//!
//! Every variable is documented in `.env.example`. A bad value stops the server with a message
//! that names the variable; nothing falls back silently.

use anyhow::{bail, Context};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::{fmt, path::PathBuf};

/// Default database: a file under `data/`, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/jwt-auth.db?mode=rwc";
/// Where the server listens when `LEPTOS_SITE_ADDR` is unset (as in Cargo.toml's `site-addr`).
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";
/// HS256 keys shorter than this are refused (RFC 7518 §3.2 asks for at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;
/// The most clock skew a token's `exp` is ever allowed.
pub const MAX_LEEWAY_SECS: i64 = 60;
/// Upper bound for every duration setting (100 years), so adding one to a timestamp can never
/// overflow.
pub const MAX_SECS: i64 = 100 * 365 * 86_400;

/// Development or production, from `LEPTOS_ENV` (unset means development).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Demo users are created; a missing `JWT_SECRET` is generated and kept in the data folder.
    Development,
    /// No demo users; `JWT_SECRET` (≥ 32 bytes) is required.
    Production,
}

/// The HMAC key for access tokens. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps key bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The key bytes, for the JWT signer only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted; {} bytes])", self.0.len())
    }
}

/// What a signing key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs new tokens (exactly one key), and verifies.
    Active,
    /// Only verifies: a key being introduced, or one being retired.
    Verify,
}

/// A named HS256 key.
#[derive(Debug, Clone)]
pub struct SigningKey {
    /// The tokens' `kid`.
    pub id: String,
    pub secret: Secret,
    pub state: KeyState,
}

/// The key id that `JWT_SECRET` (and the generated development secret) gets.
pub const DEFAULT_KEY_ID: &str = "default";

/// Parses `JWT_KEYS`: comma-separated `id:secret:state` (state `active`, `verify` or
/// `retired`, the last meaning "not configured"), with exactly one active key, returned first.
/// The secret is what lies between the first and the last colon, so it may contain colons.
pub fn parse_jwt_keys(raw: &str) -> anyhow::Result<Vec<SigningKey>> {
    let mut keys = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, rest) = entry
            .split_once(':')
            .with_context(|| "JWT_KEYS entries must be id:secret:state")?;
        let (secret, state) = rest
            .rsplit_once(':')
            .with_context(|| format!("JWT_KEYS entry {id:?} must be id:secret:state"))?;
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid_id {
            bail!("JWT_KEYS: key id {id:?} must be 1-64 letters, digits, '-', '_' or '.'");
        }
        if secret.len() < MIN_SECRET_BYTES {
            bail!("JWT_KEYS: the secret of key {id:?} must be at least {MIN_SECRET_BYTES} bytes");
        }
        let state = match state.trim() {
            "active" => KeyState::Active,
            "verify" => KeyState::Verify,
            "retired" => continue,
            other => {
                bail!("JWT_KEYS: key {id:?} has state {other:?}; use active, verify or retired")
            }
        };
        if keys.iter().any(|k: &SigningKey| k.id == id) {
            bail!("JWT_KEYS: key id {id:?} appears twice");
        }
        keys.push(SigningKey {
            id: id.to_owned(),
            secret: Secret::new(secret.as_bytes().to_vec()),
            state,
        });
    }
    let active = keys.iter().filter(|k| k.state == KeyState::Active).count();
    if active != 1 {
        bail!("JWT_KEYS must have exactly one active key, not {active}");
    }
    keys.sort_by_key(|k| k.state != KeyState::Active);
    Ok(keys)
}

/// Where the JWT secret came from, for the start-up log line (never the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// `JWT_SECRET` or `JWT_KEYS`.
    Environment,
    /// Generated earlier and read from the data folder.
    DataFolder,
    /// Generated now and written to the data folder.
    Generated,
    /// Generated now and kept in memory only (in-memory database, tests).
    Ephemeral,
}

/// The whole server configuration. Durations are whole seconds (`*_secs`), the unit of every
/// stored time and token claim, checked once here to lie in `0..=MAX_SECS`.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite:…` or `postgres://…`.
    pub database_url: String,
    /// Where development keeps its generated secret (`None`: nowhere, it is not kept).
    pub data_dir: Option<PathBuf>,
    /// The signing keys, the active one first (`JWT_KEYS`, or `JWT_SECRET` as key `default`).
    pub jwt_keys: Vec<SigningKey>,
    /// For the start-up log line.
    pub jwt_secret_source: SecretSource,
    pub access_token_ttl_secs: i64,
    /// Absolute lifetime of a session (refresh-token family); rotation never extends it.
    pub refresh_token_ttl_secs: i64,
    /// A session unused for this long expires.
    pub refresh_idle_ttl_secs: i64,
    /// Reuse of a rotated refresh token within this window counts as a concurrent refresh.
    pub refresh_reuse_grace_secs: i64,
    /// Failed logins per username before throttling.
    pub login_max_failures: u32,
    /// Window in which failures are counted, and how long throttling lasts.
    pub login_throttle_window_secs: i64,
    /// Clock skew allowed when checking `exp` (0 by default: this server both issues and checks).
    pub jwt_leeway_secs: i64,
    /// The one origin browsers use to reach us: the only accepted `Origin` of unsafe API
    /// requests, and where `iss`/`aud` default from.
    pub public_origin: PublicOrigin,
    /// The access token's `iss`.
    pub jwt_issuer: String,
    /// The access token's `aud`.
    pub jwt_audience: String,
    /// Failed logins per client address (any usernames) within the throttle window.
    pub login_ip_max_failures: u32,
    /// Failed logins per username (any addresses) within an hour.
    pub login_user_max_failures_per_hour: u32,
    /// Login attempts one address may make at once, and regains per minute.
    pub login_rate_burst: u32,
    pub login_rate_per_min: u32,
    /// Argon2 hashes at once; each holds 19 MiB.
    pub password_hash_concurrency: usize,
    /// How long a login waits for a hashing slot before it is answered 503.
    pub password_hash_wait_ms: u64,
    /// Proxies whose `X-Forwarded-For` is believed; everyone else's is ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// Ended sessions (and their tokens) are deleted this long after they ended.
    pub session_retention_days: i64,
    /// Audit events are deleted after this long.
    pub audit_retention_days: i64,
    pub limits: ServerLimits,
    pub mode: Mode,
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
    /// Requests being handled at once; more are answered 503 at once.
    pub max_in_flight_requests: usize,
    /// How long a shutdown waits for open requests before closing them.
    pub shutdown_grace_secs: u64,
}

/// An address range (`10.0.0.0/8`, `2001:db8::/32`) or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: std::net::IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(raw: &str) -> Option<Self> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (raw.trim(), None),
        };
        let network: std::net::IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let mask = |bits: u32, width: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (!0u128 << (width - bits))
                    & (if width == 128 {
                        !0
                    } else {
                        (1u128 << width) - 1
                    })
            }
        };
        match (self.network, ip) {
            (std::net::IpAddr::V4(net), std::net::IpAddr::V4(ip)) => {
                let m = mask(self.prefix.into(), 32);
                u128::from(u32::from(net)) & m == u128::from(u32::from(ip)) & m
            }
            (std::net::IpAddr::V6(net), std::net::IpAddr::V6(ip)) => {
                let m = mask(self.prefix.into(), 128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

/// A web origin, `scheme://host[:port]`, normalised the way browsers send it in `Origin`
/// (lower case, no default port, no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin(String);

impl PublicOrigin {
    /// Parses `http(s)://host[:port]` (a trailing `/` is allowed).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().trim_end_matches('/');
        let (scheme, authority) = raw.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https")
            || authority.is_empty()
            || authority.contains(['/', '?', '#', '@', ' '])
        {
            return None;
        }
        let authority = authority.to_ascii_lowercase();
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
        Some(Self(format!("{scheme}://{authority}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a request's `Origin` header is this origin.
    pub fn matches(&self, origin: &str) -> bool {
        Self::parse(origin).is_some_and(|o| o == *self)
    }

    /// Whether browsers reach us over HTTPS (so HSTS applies).
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for PublicOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Reads the configuration from the process environment (after `.env` was loaded).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can pass variables without touching
    /// the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mode = match var("LEPTOS_ENV").as_deref().map(str::trim) {
            None => Mode::Development,
            Some(v) if v.eq_ignore_ascii_case("DEV") || v.eq_ignore_ascii_case("development") => {
                Mode::Development
            }
            Some(v) if v.eq_ignore_ascii_case("PROD") || v.eq_ignore_ascii_case("production") => {
                Mode::Production
            }
            Some(other) => bail!("LEPTOS_ENV must be DEV or PROD, not {other:?}"),
        };
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !database_url.starts_with("sqlite:") && !crate::db::is_postgres(&database_url) {
            bail!(
                "DATABASE_URL must be sqlite://path?mode=rwc or postgres://…, not {database_url:?}"
            );
        }
        let data_dir = var("DATA_DIR")
            .map(PathBuf::from)
            .or_else(|| default_data_dir(&database_url));
        let secs = |name: &str, default: i64, min: i64, max: i64| -> anyhow::Result<i64> {
            let value = match var(name) {
                None => default,
                Some(raw) => raw
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .with_context(|| {
                        format!("{name} must be a whole number of seconds, not {raw:?}")
                    })?,
            };
            if value < min {
                bail!("{name} must be at least {min}, not {value}");
            }
            if value > max {
                bail!("{name} must be at most {max}, not {value}");
            }
            Ok(value)
        };
        let access_token_ttl_secs = secs("ACCESS_TOKEN_TTL_SECS", 900, 1, MAX_SECS)?;
        let refresh_token_ttl_secs = secs("REFRESH_TOKEN_TTL_SECS", 604_800, 1, MAX_SECS)?;
        let refresh_idle_ttl_secs = secs("REFRESH_IDLE_TTL_SECS", 86_400, 1, MAX_SECS)?;
        let refresh_reuse_grace_secs = secs("REFRESH_REUSE_GRACE_SECS", 10, 0, MAX_SECS)?;
        let login_throttle_window_secs = secs("LOGIN_THROTTLE_WINDOW_SECS", 900, 1, MAX_SECS)?;
        let jwt_leeway_secs = secs("JWT_LEEWAY_SECS", 0, 0, MAX_LEEWAY_SECS)?;
        let login_max_failures = match var("LOGIN_MAX_FAILURES") {
            None => 5,
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .with_context(|| {
                    format!("LOGIN_MAX_FAILURES must be a whole number ≥ 1, not {raw:?}")
                })?,
        };

        let count = |name: &str, default: u64, min: u64, max: u64| -> anyhow::Result<u64> {
            let value = match var(name) {
                None => default,
                Some(raw) => raw
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .with_context(|| format!("{name} must be a whole number, not {raw:?}"))?,
            };
            if !(min..=max).contains(&value) {
                bail!("{name} must be between {min} and {max}, not {value}");
            }
            Ok(value)
        };
        let as_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let as_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let login_ip_max_failures = as_u32(count("LOGIN_IP_MAX_FAILURES", 50, 1, 1_000_000)?);
        let login_user_max_failures_per_hour = as_u32(count(
            "LOGIN_USER_MAX_FAILURES_PER_HOUR",
            100,
            1,
            1_000_000,
        )?);
        let login_rate_burst = as_u32(count("LOGIN_RATE_BURST", 30, 1, 1_000_000)?);
        let login_rate_per_min = as_u32(count("LOGIN_RATE_PER_MIN", 30, 1, 1_000_000)?);
        let password_hash_concurrency =
            as_usize(count("PASSWORD_HASH_CONCURRENCY", cores, 1, 1024)?);
        let password_hash_wait_ms = count("PASSWORD_HASH_WAIT_MS", 1000, 0, 60_000)?;
        let session_retention_days = count("SESSION_RETENTION_DAYS", 7, 0, 36_500)?.cast_signed();
        let audit_retention_days = count("AUDIT_RETENTION_DAYS", 90, 1, 36_500)?.cast_signed();
        let limits = ServerLimits {
            header_read_timeout_secs: count("HEADER_READ_TIMEOUT_SECS", 10, 1, 3600)?,
            request_timeout_secs: count("REQUEST_TIMEOUT_SECS", 30, 1, 3600)?,
            max_connections: as_usize(count("MAX_CONNECTIONS", 1024, 1, 1_000_000)?),
            max_in_flight_requests: as_usize(count("MAX_IN_FLIGHT_REQUESTS", 512, 1, 1_000_000)?),
            shutdown_grace_secs: count("SHUTDOWN_GRACE_SECS", 10, 0, 3600)?,
        };
        let trusted_proxies = match var("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    IpNet::parse(s).with_context(|| {
                        format!("TRUSTED_PROXIES must list addresses or CIDR ranges, not {s:?}")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };

        let public_origin = match var("PUBLIC_ORIGIN") {
            Some(raw) => PublicOrigin::parse(&raw).with_context(|| {
                format!("PUBLIC_ORIGIN must be scheme://host[:port] (http or https), not {raw:?}")
            })?,
            None if mode == Mode::Production => bail!(
                "PUBLIC_ORIGIN is required when LEPTOS_ENV=PROD: the origin browsers use, \
                 e.g. https://auth.example.com"
            ),
            None => {
                let addr = var("LEPTOS_SITE_ADDR").unwrap_or_else(|| DEFAULT_SITE_ADDR.to_owned());
                PublicOrigin::parse(&format!("http://{}", addr.trim()))
                    .with_context(|| format!("LEPTOS_SITE_ADDR must be host:port, not {addr:?}"))?
            }
        };
        let jwt_issuer = var("JWT_ISSUER").unwrap_or_else(|| public_origin.to_string());
        let jwt_audience = var("JWT_AUDIENCE").unwrap_or_else(|| format!("{public_origin}/api"));

        let (jwt_keys, jwt_secret_source) = match (var("JWT_KEYS"), var("JWT_SECRET")) {
            (Some(_), Some(_)) => {
                bail!("set JWT_KEYS or JWT_SECRET, not both (JWT_SECRET is the one-key shorthand)")
            }
            (Some(raw), None) => (parse_jwt_keys(&raw)?, SecretSource::Environment),
            (None, Some(value)) => {
                if value.len() < MIN_SECRET_BYTES {
                    bail!(
                        "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (it has {}); \
                         generate one with `jwt-auth key generate`",
                        value.len()
                    );
                }
                let key = SigningKey {
                    id: DEFAULT_KEY_ID.to_owned(),
                    secret: Secret::new(value.into_bytes()),
                    state: KeyState::Active,
                };
                (vec![key], SecretSource::Environment)
            }
            (None, None) if mode == Mode::Production => bail!(
                "JWT_SECRET (or JWT_KEYS) is required when LEPTOS_ENV=PROD (at least \
                 {MIN_SECRET_BYTES} bytes; generate one with `jwt-auth key generate`)"
            ),
            (None, None) => {
                let (secret, source) = dev_secret(data_dir.as_deref())?;
                let key = SigningKey {
                    id: DEFAULT_KEY_ID.to_owned(),
                    secret,
                    state: KeyState::Active,
                };
                (vec![key], source)
            }
        };

        Ok(Self {
            database_url,
            data_dir,
            jwt_keys,
            jwt_secret_source,
            access_token_ttl_secs,
            refresh_token_ttl_secs,
            refresh_idle_ttl_secs,
            refresh_reuse_grace_secs,
            login_max_failures,
            login_throttle_window_secs,
            jwt_leeway_secs,
            public_origin,
            jwt_issuer,
            jwt_audience,
            login_ip_max_failures,
            login_user_max_failures_per_hour,
            login_rate_burst,
            login_rate_per_min,
            password_hash_concurrency,
            password_hash_wait_ms,
            trusted_proxies,
            session_retention_days,
            audit_retention_days,
            limits,
            mode,
        })
    }
}

impl Config {
    /// The key that signs new tokens.
    pub fn active_key(&self) -> &SigningKey {
        // `from_lookup` guarantees exactly one active key, first.
        &self.jwt_keys[0]
    }
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

/// In development a missing `JWT_SECRET` is generated once and kept in the data folder, so a
/// restart does not invalidate everyone's access tokens.
fn dev_secret(data_dir: Option<&std::path::Path>) -> anyhow::Result<(Secret, SecretSource)> {
    let Some(dir) = data_dir else {
        return Ok((
            Secret::new(random_secret().into_bytes()),
            SecretSource::Ephemeral,
        ));
    };
    let path = dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= MIN_SECRET_BYTES => Ok((
            Secret::new(text.trim().as_bytes().to_vec()),
            SecretSource::DataFolder,
        )),
        Ok(_) => bail!(
            "{} is shorter than {MIN_SECRET_BYTES} bytes; delete it to make a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
            let secret = random_secret();
            write_private(&path, &secret).with_context(|| {
                format!("cannot write the generated secret to {}", path.display())
            })?;
            Ok((Secret::new(secret.into_bytes()), SecretSource::Generated))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
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

/// A new 256-bit key for `JWT_KEYS`/`JWT_SECRET` (`jwt-auth key generate`), base64url.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 48 random bytes, base64url: the same strength as `openssl rand -base64 48`.
fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_match_the_documentation() {
        let c = config(&[("JWT_SECRET", SECRET), ("DATABASE_URL", "sqlite::memory:")]).unwrap();
        assert_eq!(c.access_token_ttl_secs, 900);
        assert_eq!(c.refresh_token_ttl_secs, 604_800);
        assert_eq!(c.refresh_idle_ttl_secs, 86_400);
        assert_eq!(c.refresh_reuse_grace_secs, 10);
        assert_eq!(c.login_max_failures, 5);
        assert_eq!(c.login_throttle_window_secs, 900);
        assert_eq!(c.mode, Mode::Development);
        assert_eq!(
            config(&[("JWT_SECRET", SECRET)]).unwrap().database_url,
            DEFAULT_DATABASE_URL
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("ACCESS_TOKEN_TTL_SECS", "soon"),
            ("ACCESS_TOKEN_TTL_SECS", "0"),
            ("REFRESH_TOKEN_TTL_SECS", "-5"),
            ("REFRESH_IDLE_TTL_SECS", "1.5"),
            ("REFRESH_REUSE_GRACE_SECS", "ten"),
            ("LOGIN_MAX_FAILURES", "0"),
            ("LOGIN_THROTTLE_WINDOW_SECS", "x"),
            ("JWT_LEEWAY_SECS", "61"),
            ("ACCESS_TOKEN_TTL_SECS", "99999999999999"),
            ("LEPTOS_ENV", "staging"),
            ("DATABASE_URL", "mysql://localhost/db"),
            ("PUBLIC_ORIGIN", "auth.example.com"),
            ("PASSWORD_HASH_CONCURRENCY", "0"),
            ("LOGIN_RATE_BURST", "many"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("AUDIT_RETENTION_DAYS", "0"),
            ("HEADER_READ_TIMEOUT_SECS", "-1"),
        ] {
            let err = config(&[("JWT_SECRET", SECRET), (name, value)]).unwrap_err();
            assert!(format!("{err:#}").contains(name), "{name}={value}: {err:#}");
        }
    }

    #[test]
    fn production_requires_a_long_secret_and_the_public_origin() {
        const ORIGIN: (&str, &str) = ("PUBLIC_ORIGIN", "https://auth.example.com");
        let missing = config(&[("LEPTOS_ENV", "PROD"), ORIGIN]).unwrap_err();
        assert!(format!("{missing:#}").contains("JWT_SECRET"));
        let short = config(&[("LEPTOS_ENV", "PROD"), ("JWT_SECRET", "short"), ORIGIN]).unwrap_err();
        assert!(format!("{short:#}").contains("at least 32 bytes"));
        let no_origin = config(&[("LEPTOS_ENV", "PROD"), ("JWT_SECRET", SECRET)]).unwrap_err();
        assert!(format!("{no_origin:#}").contains("PUBLIC_ORIGIN"));
        let ok = config(&[("LEPTOS_ENV", "PROD"), ("JWT_SECRET", SECRET), ORIGIN]).unwrap();
        assert_eq!(ok.mode, Mode::Production);
        assert_eq!(ok.jwt_secret_source, SecretSource::Environment);
    }

    #[test]
    fn development_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
        let first = config(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(first.jwt_secret_source, SecretSource::Generated);
        let second = config(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(second.jwt_secret_source, SecretSource::DataFolder);
        assert_eq!(
            first.active_key().secret.expose(),
            second.active_key().secret.expose()
        );
        assert!(first.active_key().secret.expose().len() >= MIN_SECRET_BYTES);
    }

    #[test]
    fn the_public_origin_defaults_to_the_site_address_and_sets_iss_and_aud() {
        let dev = config(&[
            ("JWT_SECRET", SECRET),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:4000"),
        ])
        .unwrap();
        assert_eq!(dev.public_origin.as_str(), "http://127.0.0.1:4000");
        assert_eq!(dev.jwt_issuer, "http://127.0.0.1:4000");
        assert_eq!(dev.jwt_audience, "http://127.0.0.1:4000/api");
        let set = config(&[
            ("JWT_SECRET", SECRET),
            ("PUBLIC_ORIGIN", "HTTPS://Auth.Example.com:443/"),
            ("JWT_AUDIENCE", "jwt-auth-api"),
        ])
        .unwrap();
        assert_eq!(set.public_origin.as_str(), "https://auth.example.com");
        assert_eq!(set.jwt_issuer, "https://auth.example.com");
        assert_eq!(set.jwt_audience, "jwt-auth-api");
    }

    #[test]
    fn origins_compare_as_browsers_send_them() {
        let origin = PublicOrigin::parse("http://127.0.0.1:3000").unwrap();
        assert!(origin.matches("http://127.0.0.1:3000"));
        for other in [
            "https://127.0.0.1:3000",
            "http://127.0.0.1:3001",
            "http://localhost:3000",
            "http://evil.example:3000",
            "null",
            "",
        ] {
            assert!(!origin.matches(other), "{other}");
        }
        for bad in [
            "127.0.0.1:3000",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://u@h",
        ] {
            assert!(PublicOrigin::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn env_example_documents_the_defaults() {
        // Every uncommented line of .env.example, read as configuration, changes nothing.
        let example: HashMap<String, String> = include_str!("../../.env.example")
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        assert!(example.len() >= 15, "{example:?}");
        let mut documented = example.clone();
        documented.insert("JWT_SECRET".into(), SECRET.into());
        let from_example = Config::from_lookup(|name| documented.get(name).cloned()).unwrap();
        let defaults = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::/32"),
        ])
        .unwrap();
        let trusted = |ip: &str| {
            c.trusted_proxies
                .iter()
                .any(|n| n.contains(ip.parse().unwrap()))
        };
        assert!(trusted("10.1.2.3"));
        assert!(trusted("192.0.2.7"));
        assert!(!trusted("192.0.2.8"));
        assert!(trusted("2001:db8:ffff::1"));
        assert!(!trusted("2001:db9::1"));
        assert!(!trusted("11.0.0.1"));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(config(&[("JWT_SECRET", SECRET)])
            .unwrap()
            .trusted_proxies
            .is_empty());
    }

    #[test]
    fn secret_debug_output_is_redacted() {
        let c = config(&[("JWT_SECRET", SECRET), ("DATABASE_URL", "sqlite::memory:")]).unwrap();
        assert!(!format!("{c:?}").contains(SECRET));
    }

    #[test]
    fn jwt_keys_name_one_active_key_and_others_to_verify() {
        let keys = parse_jwt_keys(&format!("old:{SECRET}:verify, new:{SECRET}:x:active")).unwrap();
        assert_eq!(keys[0].id, "new", "the active key first");
        assert_eq!(
            keys[0].secret.expose(),
            format!("{SECRET}:x").as_bytes(),
            "colons kept"
        );
        assert_eq!(keys[1].state, KeyState::Verify);
        assert_eq!(
            parse_jwt_keys(&format!("a:{SECRET}:active,b:{SECRET}:retired"))
                .unwrap()
                .len(),
            1
        );
        for bad in [
            format!("a:{SECRET}:verify"),
            format!("a:{SECRET}:active,b:{SECRET}:active"),
            format!("a:{SECRET}:active,a:{SECRET}:verify"),
            "a:short:active".to_owned(),
            format!("a/b:{SECRET}:active"),
            format!("a:{SECRET}:sometimes"),
            "nonsense".to_owned(),
        ] {
            assert!(parse_jwt_keys(&bad).is_err(), "{bad}");
        }
        let both = config(&[
            ("JWT_SECRET", SECRET),
            ("JWT_KEYS", &format!("a:{SECRET}:active")),
        ]);
        assert!(format!("{:#}", both.unwrap_err()).contains("not both"));
        let single = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(single.active_key().id, DEFAULT_KEY_ID);
        assert_eq!(generate_key().len(), 43);
    }

    #[test]
    fn postgres_urls_are_accepted_and_data_dir_follows_the_database() {
        let pg = config(&[
            ("JWT_SECRET", SECRET),
            ("DATABASE_URL", "postgres://u@localhost/db"),
        ])
        .unwrap();
        assert_eq!(pg.data_dir, Some(PathBuf::from("data")));
        let set = config(&[("JWT_SECRET", SECRET), ("DATA_DIR", "/var/lib/jwt-auth")]).unwrap();
        assert_eq!(set.data_dir, Some(PathBuf::from("/var/lib/jwt-auth")));
    }

    #[test]
    fn database_urls_are_logged_without_passwords() {
        assert_eq!(
            redact_database_url("postgres://app:hunter2@db:5432/auth?sslmode=require"),
            "postgres://app:***@db:5432/auth"
        );
        assert_eq!(
            redact_database_url("postgres:///auth?host=/tmp&password=x"),
            "postgres:///auth"
        );
        assert_eq!(
            redact_database_url(DEFAULT_DATABASE_URL),
            "sqlite://data/jwt-auth.db"
        );
    }

    #[test]
    fn data_dir_follows_the_database_path() {
        assert_eq!(
            default_data_dir(DEFAULT_DATABASE_URL),
            Some(PathBuf::from("data"))
        );
        assert_eq!(default_data_dir("sqlite:app.db"), Some(PathBuf::from(".")));
        assert_eq!(default_data_dir("sqlite::memory:"), None);
        assert_eq!(default_data_dir("sqlite://x.db?mode=memory"), None);
    }
}
