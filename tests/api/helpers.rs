//! Test harness: the real server on 127.0.0.1:0 with a fresh SQLite file per test, and typed
//! helpers for its endpoints.
//!
//! `TEST_LOG=1 cargo test --features ssr …` prints the server's log for the tests that run
//! (quiet by default, so a failing test's output stays readable).

use jwt_auth::server::{self, config::Config, state::AppState};
use leptos::config::LeptosOptions;
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::SqlitePool;
use std::{collections::HashMap, net::SocketAddr, path::PathBuf, sync::Once};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// The JWT secret of test servers (so tests can forge tokens with it or with others).
pub const TEST_SECRET: &str = "integration-test-secret-0123456789abcdef";

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

/// Shows the server's log when `TEST_LOG` is set (once per test binary).
fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
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
    pool: SqlitePool,
    dir: TempDir,
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
    let dir = tempfile::tempdir().expect("temp dir");
    let mut vars = HashMap::from([
        (
            "DATABASE_URL".to_owned(),
            format!("sqlite://{}/test.db?mode=rwc", dir.path().display()),
        ),
        ("JWT_SECRET".to_owned(), TEST_SECRET.to_owned()),
        ("LEPTOS_ENV".to_owned(), "DEV".to_owned()),
    ]);
    for (k, v) in overrides {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    start(dir, vars).await
}

/// Binds 127.0.0.1 on `port` (0: any free port).
async fn bind(port: u16) -> TcpListener {
    TcpListener::bind(("127.0.0.1", port)).await.expect("bind")
}

async fn start(dir: TempDir, vars: HashMap<String, String>) -> TestApp {
    start_on(bind(0).await, dir, vars).await
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
    let pool = SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("test.db").display()
    ))
    .await
    .expect("open db");
    TestApp {
        addr,
        client,
        vars,
        state,
        pool,
        dir,
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

    /// Path of the SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("test.db")
    }

    /// The test's own pool on the server's database (see the field).
    pub fn db(&self) -> &SqlitePool {
        &self.pool
    }

    /// Stops the server (waiting for it to finish) and starts a new one on the same database
    /// and configuration.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let vars = std::mem::take(&mut self.vars);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        start_on(bind(self.addr.port()).await, dir, vars).await
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

/// The refresh cookie's name.
pub const COOKIE: &str = jwt_auth::server::cookies::REFRESH_COOKIE;

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
