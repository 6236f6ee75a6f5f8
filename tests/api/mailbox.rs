//! A real SMTP server on loopback for the mail tests: aiosmtpd (Debian's `python3-aiosmtpd`,
//! which `scripts/setup` installs; `JWT_AUTH_SMTPD_PYTHON` names the interpreter that has it)
//! writing every mail it accepts into a maildir, read back with `mailparse`. Stopped when
//! dropped; [`MailServer::stop`] and [`MailServer::restart`] take it down and up on the same
//! port, as a mail server outage does.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a test waits for a mail to arrive.
pub const MAIL_WAIT: Duration = Duration::from_secs(15);

/// One received mail, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The first link in the text part that starts with `prefix` (e.g. the origin and a path).
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        let link: String = self.text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        Some(link)
    }

    /// The `token` (or another parameter) of the first link to `path`.
    pub fn token(&self, origin: &str, path: &str, param: &str) -> String {
        let link = self
            .link(&format!("{origin}{path}?{param}="))
            .unwrap_or_else(|| panic!("no {path} link in: {}", self.text));
        link.split_once('=').map(|(_, t)| t.to_owned()).unwrap()
    }
}

/// A running aiosmtpd and its maildir.
pub struct MailServer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

fn python() -> String {
    std::env::var("JWT_AUTH_SMTPD_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

impl MailServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> Self {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("free port");
            probe.local_addr().expect("addr").port()
        };
        let dir = tempfile::tempdir().expect("maildir");
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.restart();
        server
    }

    /// `SMTP_URL` for the app.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Takes the server down (connections are refused from now on).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and maildir, and waits until it accepts.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start aiosmtpd with {} (install python3-aiosmtpd, or set JWT_AUTH_SMTPD_PYTHON): {e}",
                    python()
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("aiosmtpd exited at start ({status}): is python3-aiosmtpd installed?");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every mail received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        read_maildir(&self.maildir().join("new"))
    }

    /// Waits for the next mail to `to` whose subject contains `subject` (beyond the ones
    /// received already, `seen`).
    pub async fn wait_for(&self, to: &str, subject: &str) -> Mail {
        wait_for_mail(|| self.mails(), to, subject).await
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `read` until a mail to `to` with `subject` in its subject shows up (at most
/// [`MAIL_WAIT`]). Delivery is asynchronous by design, so this waits for an event, not a time.
pub async fn wait_for_mail(read: impl Fn() -> Vec<Mail>, to: &str, subject: &str) -> Mail {
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        if let Some(mail) = read()
            .into_iter()
            .find(|m| m.to.contains(to) && m.subject.contains(subject))
        {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {to} about {subject:?} arrived; got: {:?}",
            read()
                .iter()
                .map(|m| (&m.to, &m.subject))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The mails in a folder of message files (a maildir's `new/`, or the development outbox).
pub fn read_maildir(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, path)| parse(&std::fs::read(path).ok()?))
        .collect()
}

fn parse(raw: &[u8]) -> Option<Mail> {
    use mailparse::MailHeaderMap;
    let parsed = mailparse::parse_mail(raw).ok()?;
    let header = |name| parsed.headers.get_first_value(name).unwrap_or_default();
    let (mut text, mut html) = (String::new(), String::new());
    for part in parsed.parts() {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = part.get_body().unwrap_or_default(),
            "text/html" => html = part.get_body().unwrap_or_default(),
            _ => {}
        }
    }
    Some(Mail {
        to: header("To"),
        from: header("From"),
        subject: header("Subject"),
        text,
        html,
    })
}
