//! Test harness: the real server on 127.0.0.1:0 with a fresh database per test, and typed
//! helpers for its endpoints.
//!
//! The database is a new SQLite file, or, when `TEST_POSTGRES_URL` names a PostgreSQL server
//! (`scripts/test` starts a throw-away one), a new PostgreSQL database created on it for the
//! test. Tests reach the database through an `AnyPool` and write their SQL with `$1`-style
//! parameters, which both backends understand, so every test runs unchanged on both.
//!
//! `TEST_LOG=1 cargo test --features ssr …` prints the server's log for the tests that run
//! (quiet by default, so a failing test's output stays readable).

use jwt_auth::server::{self, config::Config, state::AppState};
use leptos::config::LeptosOptions;
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::{AnyPool, AssertSqlSafe, Connection};
use std::{collections::HashMap, net::SocketAddr, path::PathBuf, sync::Once};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// The JWT secret of test servers (so tests can forge tokens with it or with others).
pub const TEST_SECRET: &str = "integration-test-secret-0123456789abcdef";

/// Two signing secrets for key-rotation tests (`JWT_KEYS="id:secret:state,…"`).
pub const OLD_KEY_SECRET: &str = "old-signing-key-old-signing-key-0123456789";
pub const NEW_KEY_SECRET: &str = "new-signing-key-new-signing-key-0123456789";

/// `JWT_KEYS` with key `old` and/or `new` in the given states (`None`: not listed).
pub fn jwt_keys(old: Option<&str>, new: Option<&str>) -> String {
    let mut keys = Vec::new();
    if let Some(state) = new {
        keys.push(format!("new:{NEW_KEY_SECRET}:{state}"));
    }
    if let Some(state) = old {
        keys.push(format!("old:{OLD_KEY_SECRET}:{state}"));
    }
    keys.join(",")
}

/// An account that exists on every test server (the development demo users).
#[derive(Debug, Clone, Copy)]
pub struct TestUser {
    pub name: &'static str,
    pub password: &'static str,
}

/// The demo account with role `user`.
pub const USER: TestUser = TestUser {
    name: "user",
    password: "user-secret-42",
};
/// The demo account with role `admin`.
pub const ADMIN: TestUser = TestUser {
    name: "admin",
    password: "admin-secret-42",
};

/// The PostgreSQL server tests run on (`TEST_POSTGRES_URL`, any database on it), if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Whether this run uses PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_server().is_some()
}

/// `url` with its database (the path) replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if !query.is_empty() {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A database made for a test; a PostgreSQL one is dropped with this value.
pub struct TestDatabase {
    /// Its `DATABASE_URL`.
    pub url: String,
    /// The PostgreSQL database's name.
    pg_name: Option<String>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_database(name);
        }
    }
}

/// A new, empty database for one server (or a group of instances): a SQLite file `name` in
/// `dir`, or a new PostgreSQL database.
pub async fn new_database(dir: &std::path::Path, name: &str) -> TestDatabase {
    let Some(server) = postgres_server() else {
        return TestDatabase {
            url: format!("sqlite://{}/{name}?mode=rwc", dir.display()),
            pg_name: None,
        };
    };
    let mut bytes = [0u8; 8];
    getrandom(&mut bytes);
    let db_name = format!(
        "jwt_auth_test_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    // The name is ours (hex digits), never input: formatting it into the statement is safe.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    TestDatabase {
        url: with_database(&server, &db_name),
        pg_name: Some(db_name),
    }
}

/// Drops a test's PostgreSQL database, without waiting (the cluster is thrown away at the end
/// of the run anyway; this only keeps it small).
fn drop_database(name: String) {
    let Some(server) = postgres_server() else {
        return;
    };
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::query(AssertSqlSafe(statement))
                    .execute(&mut admin)
                    .await;
            }
        });
    });
}

fn getrandom(bytes: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(bytes))
        .expect("/dev/urandom");
}

/// A pool on a test's database (either backend), for what a test inspects directly.
pub async fn connect_any(database_url: &str) -> AnyPool {
    init_test_log();
    AnyPool::connect(database_url).await.expect("open db")
}

/// Shows the server's log when `TEST_LOG` is set (once per test binary), and lets `AnyPool`
/// open both backends.
fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        sqlx::any::install_default_drivers();
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,jwt_auth=debug".into());
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

/// A running server.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Plain HTTP client: no cookie store, no redirects followed; cookies are passed by hand so
    /// tests see exactly what the server sends.
    pub client: reqwest::Client,
    /// The environment the server was configured with.
    pub vars: HashMap<String, String>,
    /// The running server's state (for what tests drive directly, like a retention pass).
    pub state: AppState,
    /// A second connection pool to the server's database, for arranging time ("the rotation
    /// was a minute ago") and inspecting what was stored.
    pool: AnyPool,
    dir: TempDir,
    /// The database this server was made with (`None` for a second instance, which only
    /// borrows the first one's).
    owned_database: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Starts a server with the default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with these environment variables on top of the test defaults
/// (development mode with demo users, [`TEST_SECRET`], a database in a new temp folder).
/// A variable set to `""` is removed.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_listening(bind(0).await, overrides).await
}

/// Like [`spawn_app_with`], listening on `[::]` (every address, IPv4 mapped into IPv6, as a
/// dual-stack deployment does); requests still go to 127.0.0.1.
pub async fn spawn_app_on_every_address(overrides: &[(&str, &str)]) -> TestApp {
    let listener = TcpListener::bind("[::]:0").await.expect("bind [::]");
    let mut app = spawn_app_listening(listener, overrides).await;
    app.addr = SocketAddr::from(([127, 0, 0, 1], app.addr.port()));
    app
}

async fn spawn_app_listening(listener: TcpListener, overrides: &[(&str, &str)]) -> TestApp {
    init_test_log();
    let dir = tempfile::tempdir().expect("temp dir");
    let database = new_database(dir.path(), "test.db").await;
    let mut vars = HashMap::from([
        ("DATABASE_URL".to_owned(), database.url.clone()),
        ("DATA_DIR".to_owned(), dir.path().display().to_string()),
        ("JWT_SECRET".to_owned(), TEST_SECRET.to_owned()),
        ("LEPTOS_ENV".to_owned(), "DEV".to_owned()),
    ]);
    apply(&mut vars, overrides);
    let mut app = start_on(listener, dir, vars).await;
    app.owned_database = Some(database);
    app
}

/// Sets each variable, removing those set to `""`.
fn apply(vars: &mut HashMap<String, String>, overrides: &[(&str, &str)]) {
    for (k, v) in overrides {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
    }
}

/// Binds 127.0.0.1 on `port` (0: any free port).
async fn bind(port: u16) -> TcpListener {
    TcpListener::bind(("127.0.0.1", port)).await.expect("bind")
}

async fn start_on(
    listener: TcpListener,
    dir: TempDir,
    mut vars: HashMap<String, String>,
) -> TestApp {
    init_test_log();
    let addr = listener.local_addr().expect("addr");
    // The origin browsers would use; kept across a restart (with the port) so tokens keep
    // their issuer and audience.
    vars.entry("PUBLIC_ORIGIN".to_owned())
        .or_insert_with(|| format!("http://{addr}"));
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("test config");
    let site_root = vars
        .get("LEPTOS_SITE_ROOT")
        .cloned()
        .unwrap_or_else(|| "target/site".to_owned());
    let options = LeptosOptions::builder()
        .output_name("jwt-auth")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .build();
    let state = server::prepare(config, options)
        .await
        .expect("prepare server");
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server::serve(state.clone(), listener, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let pool = AnyPool::connect(&vars["DATABASE_URL"])
        .await
        .expect("open db");
    TestApp {
        addr,
        client,
        vars,
        state,
        pool,
        dir,
        owned_database: None,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    /// The origin the server accepts in `Origin` (its `PUBLIC_ORIGIN`).
    pub fn origin(&self) -> &str {
        &self.vars["PUBLIC_ORIGIN"]
    }

    /// The `iss` of the server's access tokens.
    pub fn issuer(&self) -> String {
        self.vars
            .get("JWT_ISSUER")
            .cloned()
            .unwrap_or_else(|| self.origin().to_owned())
    }

    /// The `aud` of the server's access tokens.
    pub fn audience(&self) -> String {
        self.vars
            .get("JWT_AUDIENCE")
            .cloned()
            .unwrap_or_else(|| format!("{}/api", self.origin()))
    }

    /// Absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The data folder (`DATA_DIR`): where a generated development secret is kept.
    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(&self.vars["DATA_DIR"])
    }

    /// The bytes the database takes: the SQLite file with its WAL, or the PostgreSQL
    /// database's size.
    pub async fn database_bytes(&self) -> u64 {
        if on_postgres() {
            let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&self.pool)
                .await
                .expect("pg_database_size");
            return bytes.unsigned_abs();
        }
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| {
                let path = format!("{}{suffix}", self.dir.path().join("test.db").display());
                std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
            })
            .sum()
    }

    /// The test's own pool on the server's database (see the field).
    pub fn db(&self) -> &AnyPool {
        &self.pool
    }

    /// Moves this server's clock `secs` seconds ahead ("a minute later"), instead of sleeping.
    /// A restart starts from the real time again.
    pub fn advance(&self, secs: i64) {
        self.state.auth.clock().advance(secs);
    }

    /// Now, by this server's clock.
    pub fn now(&self) -> i64 {
        self.state.auth.now()
    }

    /// Stops the server (waiting for it to finish) and starts a new one on the same database
    /// and configuration.
    pub async fn restart(self) -> TestApp {
        self.restart_with(&[]).await
    }

    /// Like [`TestApp::restart`], with these variables changed (`""` removes one): a rolling
    /// configuration change, such as a new signing key.
    pub async fn restart_with(mut self, overrides: &[(&str, &str)]) -> TestApp {
        self.stop().await;
        let mut vars = std::mem::take(&mut self.vars);
        apply(&mut vars, overrides);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let owned = self.owned_database.take();
        let mut app = start_on(bind(self.addr.port()).await, dir, vars).await;
        app.owned_database = owned;
        app
    }

    /// Another instance of the same deployment: its own port and process state, the same
    /// database, data folder, public origin and keys, with `overrides` on top. Dropping it
    /// leaves the database to this one.
    pub async fn second_instance(&self, overrides: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        apply(&mut vars, overrides);
        start_on(bind(0).await, tempfile::tempdir().expect("temp dir"), vars).await
    }

    /// Shuts the server down and says how long it took to finish.
    pub async fn stop_timed(mut self) -> std::time::Duration {
        let started = std::time::Instant::now();
        self.stop().await;
        started.elapsed()
    }

    async fn stop(&mut self) {
        self.pool.close().await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task").expect("server result");
        }
    }

    /// `POST` a raw body with a content type, plus optional cookie.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// `POST` JSON, optionally with the refresh cookie.
    pub async fn post_json(&self, path: &str, body: &Value, cookie: Option<&str>) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = cookie {
            request = request.header(header::COOKIE, format!("{}={token}", COOKIE));
        }
        request.send().await.expect("request")
    }

    /// `POST /api/login`.
    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/login",
            &json!({"username": username, "password": password}),
            None,
        )
        .await
    }

    /// `POST /api/login` as `user`.
    pub async fn login_as(&self, user: TestUser) -> Response {
        self.login(user.name, user.password).await
    }

    /// Logs the demo user in and returns (access token, refresh token).
    pub async fn login_user(&self) -> (String, String) {
        let response = self.login_as(USER).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = refresh_cookie(&response).expect("refresh cookie");
        let body: Value = response.json().await.expect("json");
        (body["jwt"].as_str().expect("jwt").to_owned(), cookie)
    }

    /// `POST /api/refresh` with a refresh token.
    pub async fn refresh(&self, token: &str) -> Response {
        self.post_json("/api/refresh", &json!({}), Some(token))
            .await
    }

    /// `POST /api/logout` with a refresh token.
    pub async fn logout(&self, token: &str) -> Response {
        self.post_json("/api/logout", &json!({}), Some(token)).await
    }

    /// `GET /api/secret-number`, with `Authorization: Bearer <jwt>` when given.
    pub async fn get_secret(&self, jwt: Option<&str>) -> Response {
        let mut request = self.client.get(self.url("/api/secret-number"));
        if let Some(jwt) = jwt {
            request = request.bearer_auth(jwt);
        }
        request.send().await.expect("request")
    }

    /// `GET` an API path with a bearer token.
    pub async fn get_with(&self, path: &str, jwt: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(jwt)
            .send()
            .await
            .expect("request")
    }

    /// `POST` JSON to an API path with a bearer token.
    pub async fn post_with(&self, path: &str, body: &Value, jwt: &str) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(jwt)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Logs `user` in with a `User-Agent` and returns (access token, refresh token).
    pub async fn login_with_agent(&self, user: TestUser, agent: &str) -> (String, String) {
        let response = self
            .client
            .post(self.url("/api/login"))
            .header(header::USER_AGENT, agent)
            .json(&json!({"username": user.name, "password": user.password}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = refresh_cookie(&response).expect("refresh cookie");
        let body: Value = response.json().await.expect("json");
        (body["jwt"].as_str().expect("jwt").to_owned(), cookie)
    }

    /// Logs `user` in and returns (access token, refresh token).
    pub async fn tokens(&self, user: TestUser) -> (String, String) {
        self.login_with_agent(user, "jwt-auth-tests").await
    }

    /// `GET` a page as a browser would (`Accept: text/html`), with an optional refresh cookie.
    pub async fn get_page(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut request = self
            .client
            .get(self.url(path))
            .header(header::ACCEPT, "text/html,*/*");
        if let Some(token) = cookie {
            request = request.header(header::COOKIE, format!("{}={token}", COOKIE));
        }
        request.send().await.expect("request")
    }
}

/// A client whose requests come from `ip` (any 127.x.y.z is loopback).
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST /api/login` from address `ip`.
pub async fn login_from(app_url: &str, ip: &str, username: &str, password: &str) -> Response {
    client_from(ip)
        .post(format!("{app_url}/api/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Adds an account with the command line (`role` user or admin).
pub fn add_user(app: &TestApp, name: &str, password: &str, role: &str) {
    let output = run_cli(
        app,
        &["user", "add", name, "--role", role],
        &format!("{password}\n"),
    );
    assert!(
        output.status.success(),
        "user add {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Adds an account with a (verified: the operator's word) e-mail address.
pub fn add_user_with_email(app: &TestApp, name: &str, password: &str, email: &str) {
    let output = run_cli(
        app,
        &["user", "add", name, "--email", email],
        &format!("{password}\n"),
    );
    assert!(
        output.status.success(),
        "user add {name} --email {email}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The claims of an access token (not verified: the tests' own tokens).
pub fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The refresh cookie's name.
pub const COOKIE: &str = jwt_auth::server::cookies::REFRESH_COOKIE;
/// The device cookie's name.
pub const DEVICE_COOKIE: &str = jwt_auth::server::cookies::DEVICE_COOKIE;

/// The session a refresh token (`<session id>.<secret>`) names.
pub fn session_of(token: &str) -> String {
    token.split_once('.').expect("a session id").0.to_owned()
}

/// What the database stores of a refresh token: the SHA-256 of its secret.
pub fn token_hash(token: &str) -> Vec<u8> {
    use sha2::Digest;
    let secret = token.split_once('.').map_or(token, |(_, secret)| secret);
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}

/// The value a response sets for cookie `name`, if it sets one.
pub fn cookie_value(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The whole `Set-Cookie` header for the refresh cookie, if the response sets it.
pub fn set_cookie_header(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{COOKIE}=")))
        .map(str::to_owned)
}

/// The refresh token a response sets (None when absent or cleared).
pub fn refresh_cookie(response: &Response) -> Option<String> {
    let header = set_cookie_header(response)?;
    let value = header.split(';').next()?.split_once('=')?.1.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Whether a response clears the refresh cookie.
pub fn clears_cookie(response: &Response) -> bool {
    set_cookie_header(response)
        .is_some_and(|h| h.contains("Max-Age=0") && h.starts_with(&format!("{COOKIE}=;")))
}

/// Reads a JSON error body and returns its `error` code, checking the documented shape.
pub async fn error_code(response: Response) -> String {
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "error bodies are JSON"
    );
    let body: Value = response.json().await.expect("json error body");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error has a message: {body}"
    );
    body["error"].as_str().expect("error code").to_owned()
}

/// Runs the real `jwt-auth` binary with `args` against the app's database, `stdin` piped in.
pub fn run_cli(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-auth"))
        .args(args)
        .env("DATABASE_URL", &app.vars["DATABASE_URL"])
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jwt-auth");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("jwt-auth output")
}

/// The real `jwt-auth` binary serving in a process of its own, for what only a separate process
/// shows: a `kill -9`, its memory high-water mark.
pub struct ServerProcess {
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts the binary with `vars` (plus a free port, a quiet log) and waits until it listens.
    pub fn start(vars: &HashMap<String, String>) -> Self {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-auth"))
            .envs(vars)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("LEPTOS_OUTPUT_NAME", "jwt-auth")
            .env("RUST_LOG", "warn,jwt_auth=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start jwt-auth");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("jwt-auth exited before listening")
                .expect("read log");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim().parse().expect("listening address");
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { addr, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `kill -9`: no shutdown, no flush, nothing the process could still do.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// The process's peak resident memory (`VmHWM`), in KiB.
    #[allow(dead_code)] // used by the abuse tests
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
