//! The signing keys: `JWT_KEYS` / `JWT_SECRET`, or in development a secret generated once and
//! kept in the data folder; and `jwt-auth key generate`.

use anyhow::{bail, Context};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::fmt;
use std::path::Path;

/// HS256 keys shorter than this are refused (RFC 7518 §3.2 asks for at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;
/// The key id that `JWT_SECRET` (and the generated development secret) gets.
pub const DEFAULT_KEY_ID: &str = "default";

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

/// Where the keys came from, for the start-up log line (never the value).
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

/// The configured keys, the active one first.
#[derive(Debug, Clone)]
pub struct Keys {
    pub keys: Vec<SigningKey>,
    pub source: SecretSource,
}

impl Keys {
    /// The key that signs new tokens (`parse_jwt_keys` and `one` guarantee exactly one, first).
    pub fn active(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// One active key with the default id.
    pub fn one(secret: Secret, source: SecretSource) -> Self {
        Self {
            keys: vec![SigningKey {
                id: DEFAULT_KEY_ID.to_owned(),
                secret,
                state: KeyState::Active,
            }],
            source,
        }
    }

    /// The keys as the security core takes them.
    pub fn named(&self) -> Vec<crate::auth::jwt::NamedKey<'_>> {
        self.keys
            .iter()
            .map(|k| crate::auth::jwt::NamedKey {
                kid: &k.id,
                secret: k.secret.expose(),
            })
            .collect()
    }
}

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

/// The keys from `JWT_KEYS` or `JWT_SECRET`; without either, production refuses and
/// development generates a secret once and keeps it in `data_dir`.
pub fn from_env(
    jwt_keys: Option<String>,
    jwt_secret: Option<String>,
    production: bool,
    data_dir: Option<&Path>,
) -> anyhow::Result<Keys> {
    match (jwt_keys, jwt_secret) {
        (Some(_), Some(_)) => {
            bail!("set JWT_KEYS or JWT_SECRET, not both (JWT_SECRET is the one-key shorthand)")
        }
        (Some(raw), None) => Ok(Keys {
            keys: parse_jwt_keys(&raw)?,
            source: SecretSource::Environment,
        }),
        (None, Some(value)) => {
            if value.len() < MIN_SECRET_BYTES {
                bail!(
                    "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (it has {}); \
                     generate one with `jwt-auth key generate`",
                    value.len()
                );
            }
            Ok(Keys::one(
                Secret::new(value.into_bytes()),
                SecretSource::Environment,
            ))
        }
        (None, None) if production => bail!(
            "JWT_SECRET (or JWT_KEYS) is required when LEPTOS_ENV=PROD (at least \
             {MIN_SECRET_BYTES} bytes; generate one with `jwt-auth key generate`)"
        ),
        (None, None) => {
            let (secret, source) = dev_secret(data_dir)?;
            Ok(Keys::one(secret, source))
        }
    }
}

/// In development a missing `JWT_SECRET` is generated once and kept in the data folder, so a
/// restart does not invalidate everyone's access tokens.
fn dev_secret(data_dir: Option<&Path>) -> anyhow::Result<(Secret, SecretSource)> {
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
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
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

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

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
        assert_eq!(generate_key().len(), 43);
    }

    #[test]
    fn development_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = from_env(None, None, false, Some(dir.path())).unwrap();
        assert_eq!(first.source, SecretSource::Generated);
        let second = from_env(None, None, false, Some(dir.path())).unwrap();
        assert_eq!(second.source, SecretSource::DataFolder);
        assert_eq!(
            first.active().secret.expose(),
            second.active().secret.expose()
        );
        assert!(first.active().secret.expose().len() >= MIN_SECRET_BYTES);
    }

    #[test]
    fn secret_debug_output_is_redacted() {
        let keys = Keys::one(Secret::new(SECRET.into()), SecretSource::Environment);
        assert!(!format!("{keys:?}").contains(SECRET));
    }
}
