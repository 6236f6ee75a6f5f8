use super::keys::SecretSource;
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
    assert_eq!(c.tokens.ttl_secs, 900);
    assert_eq!(c.sessions.absolute_ttl_secs, 604_800);
    assert_eq!(c.sessions.idle_ttl_secs, 86_400);
    assert_eq!(c.sessions.reuse_grace_secs, 10);
    assert_eq!(c.throttle.max_failures, 5);
    assert_eq!(c.throttle.window_secs, 900);
    assert_eq!(c.mode, Mode::Development);
    assert_eq!(
        config(&[("JWT_SECRET", SECRET)]).unwrap().database.url,
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
        ("ACCESS_TOKEN_TTL_SECS", "3601"),
        ("REFRESH_REUSE_GRACE_SECS", "61"),
        ("REAUTH_MAX_AGE_SECS", "29"),
        ("REAUTH_MAX_AGE_SECS", "3601"),
        ("MFA_MAX_FAILURES", "0"),
        ("MAX_CONNECTIONS_PER_IP", "0"),
        ("IDLE_TIMEOUT_SECS", "0"),
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
    assert_eq!(ok.keys.source, SecretSource::Environment);
}

#[test]
fn the_development_secret_is_kept_in_the_database_folder() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
    let first = config(&[("DATABASE_URL", &url)]).unwrap();
    assert_eq!(first.keys.source, SecretSource::Generated);
    let second = config(&[("DATABASE_URL", &url)]).unwrap();
    assert_eq!(second.keys.source, SecretSource::DataFolder);
    assert_eq!(
        first.keys.active().secret.expose(),
        second.keys.active().secret.expose()
    );
}

#[test]
fn the_public_origin_defaults_to_the_site_address_and_sets_iss_and_aud() {
    let dev = config(&[
        ("JWT_SECRET", SECRET),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:4000"),
    ])
    .unwrap();
    assert_eq!(dev.net.public_origin.as_str(), "http://127.0.0.1:4000");
    assert_eq!(dev.tokens.issuer, "http://127.0.0.1:4000");
    assert_eq!(dev.tokens.audience, "http://127.0.0.1:4000/api");
    let set = config(&[
        ("JWT_SECRET", SECRET),
        ("PUBLIC_ORIGIN", "HTTPS://Auth.Example.com:443/"),
        ("JWT_AUDIENCE", "jwt-auth-api"),
    ])
    .unwrap();
    assert_eq!(set.net.public_origin.as_str(), "https://auth.example.com");
    assert_eq!(set.tokens.issuer, "https://auth.example.com");
    assert_eq!(set.tokens.audience, "jwt-auth-api");
}

#[test]
fn env_example_documents_the_defaults() {
    // Every uncommented line of .env.example, read as configuration, changes nothing.
    let example: HashMap<String, String> = include_str!("../../../.env.example")
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
        c.net
            .trusted_proxies
            .iter()
            .any(|n| n.contains(ip.parse().unwrap()))
    };
    assert!(trusted("10.1.2.3"));
    assert!(trusted("192.0.2.7"));
    assert!(!trusted("192.0.2.8"));
    assert!(trusted("2001:db8:ffff::1"));
    assert!(!trusted("2001:db9::1"));
    assert!(!trusted("11.0.0.1"));
    assert!(config(&[("JWT_SECRET", SECRET)])
        .unwrap()
        .net
        .trusted_proxies
        .is_empty());
}

#[test]
fn secret_debug_output_is_redacted() {
    let c = config(&[("JWT_SECRET", SECRET), ("DATABASE_URL", "sqlite::memory:")]).unwrap();
    assert!(!format!("{c:?}").contains(SECRET));
    let pg = config(&[
        ("JWT_SECRET", SECRET),
        ("DATABASE_URL", "postgres://app:hunter2@db/auth"),
    ])
    .unwrap();
    let shown = format!("{pg:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("app:***@db"),
        "{shown}"
    );
}

#[test]
fn jwt_keys_and_jwt_secret_exclude_each_other() {
    let both = config(&[
        ("JWT_SECRET", SECRET),
        ("JWT_KEYS", &format!("a:{SECRET}:active")),
    ]);
    assert!(format!("{:#}", both.unwrap_err()).contains("not both"));
    let single = config(&[("JWT_SECRET", SECRET)]).unwrap();
    assert_eq!(single.keys.active().id, keys::DEFAULT_KEY_ID);
}

#[test]
fn postgres_urls_are_accepted_and_data_dir_follows_the_database() {
    let pg = config(&[
        ("JWT_SECRET", SECRET),
        ("DATABASE_URL", "postgres://u@localhost/db"),
    ])
    .unwrap();
    assert_eq!(pg.database.data_dir, Some(PathBuf::from("data")));
    let set = config(&[("JWT_SECRET", SECRET), ("DATA_DIR", "/var/lib/jwt-auth")]).unwrap();
    assert_eq!(
        set.database.data_dir,
        Some(PathBuf::from("/var/lib/jwt-auth"))
    );
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
