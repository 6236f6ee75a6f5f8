//! Command line: `jwt-auth` serves; `jwt-auth user …` manages accounts directly in the
//! database (see [`USAGE`]). Passwords are read from standard input, never from argv, where
//! `ps` and shell history would see them.

use crate::auth::accounts::{self, AccountSpec, Username};
use crate::auth::admin::{self, Acting};
use crate::auth::email::EmailAddress;
use crate::auth::password::{HashingPolicy, PasswordHasher};
use crate::auth::password_rules::PasswordRules;
use crate::auth::{mfa, unix_now, AuthError};
use crate::db::{self, Actor, Liveness};
use crate::model::Role;
use anyhow::{bail, Context};
use std::{io::BufRead, time::Duration};

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the web server (no arguments).
    Serve,
    /// Change accounts in the database.
    User(UserCommand),
    /// Print a fresh 256-bit signing key for `JWT_KEYS` / `JWT_SECRET`.
    KeyGenerate,
    Help,
}

/// The `user` commands.
#[derive(Debug, PartialEq, Eq)]
pub enum UserCommand {
    Add {
        username: Username,
        role: Role,
        email: Option<EmailAddress>,
    },
    Remove {
        username: Username,
    },
    List,
    Lock {
        username: Username,
    },
    Unlock {
        username: Username,
    },
    Role {
        username: Username,
        role: Role,
    },
    MfaReset {
        username: Username,
    },
}

/// Usage text.
pub const USAGE: &str = "usage:
  jwt-auth                                   serve the app (configuration: .env / environment)
  jwt-auth user add NAME [--role user|admin] [--email ADDRESS]
                                             add a user; the password is read from stdin
  jwt-auth user remove NAME                  delete a user; their sessions end at once
  jwt-auth user list                         list the users
  jwt-auth user lock NAME                    lock an account; its sessions end at once
  jwt-auth user unlock NAME                  unlock an account
  jwt-auth user role NAME user|admin         change a role; the user's sessions end at once
  jwt-auth user mfa-reset NAME               remove a user's second factor; their sessions end
  jwt-auth key generate                      print a new random 256-bit key for JWT_KEYS
";

fn username(name: &str) -> anyhow::Result<Username> {
    Username::parse(name).context("invalid NAME")
}

fn role(name: &str) -> anyhow::Result<Role> {
    Role::parse(name).with_context(|| format!("unknown role {name:?}: use user or admin"))
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> anyhow::Result<Command> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let user = |command| Ok(Command::User(command));
    match args.as_slice() {
        [] | ["serve"] => Ok(Command::Serve),
        ["-h" | "--help" | "help"] => Ok(Command::Help),
        ["user", "add", rest @ ..] => {
            let mut name = None;
            let mut chosen = Role::User;
            let mut email = None;
            let mut iter = rest.iter();
            while let Some(arg) = iter.next() {
                match *arg {
                    "--role" => {
                        let value = iter.next().context("--role needs a value: user or admin")?;
                        chosen = role(value)?;
                    }
                    "--email" => {
                        let value = iter.next().context("--email needs an address")?;
                        email = Some(EmailAddress::parse(value).context("invalid --email")?);
                    }
                    flag if flag.starts_with('-') => bail!("unknown option {flag:?}\n{USAGE}"),
                    given if name.is_none() => name = Some(given),
                    extra => bail!("unexpected argument {extra:?}\n{USAGE}"),
                }
            }
            let name = name.context("user add needs a NAME")?;
            user(UserCommand::Add {
                username: username(name)?,
                role: chosen,
                email,
            })
        }
        ["user", "remove", name] => user(UserCommand::Remove {
            username: username(name)?,
        }),
        ["user", "list"] => user(UserCommand::List),
        ["user", "lock", name] => user(UserCommand::Lock {
            username: username(name)?,
        }),
        ["user", "unlock", name] => user(UserCommand::Unlock {
            username: username(name)?,
        }),
        ["user", "role", name, chosen] => user(UserCommand::Role {
            username: username(name)?,
            role: role(chosen)?,
        }),
        ["user", "mfa-reset", name] => user(UserCommand::MfaReset {
            username: username(name)?,
        }),
        ["key", "generate"] => Ok(Command::KeyGenerate),
        _ => bail!("unknown command\n{USAGE}"),
    }
}

/// Reads one line (the password) from `input`, without its line ending.
pub fn read_password(mut input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("the password is empty: pipe it on stdin, e.g. `printf '%s\\n' \"$PASSWORD\" | jwt-auth user add NAME`");
    }
    Ok(password)
}

/// `2026-11-29 21:12 UTC` for Unix seconds.
fn utc(secs: i64) -> String {
    // Days to a civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Runs a `user` command against the database at `database_url` (the same `DATABASE_URL` as
/// the server; a running server notices ended sessions within a second). Returns what to print.
pub async fn run_user_command(
    command: UserCommand,
    database_url: &str,
    rules: &PasswordRules,
    stdin: impl BufRead,
) -> anyhow::Result<String> {
    let db = db::connect(database_url)
        .await
        .context("cannot open the database (DATABASE_URL)")?;
    let acting = Acting {
        actor: Actor::Cli,
        client: None,
        now: unix_now(),
    };
    let not_found = |name: &Username| anyhow::anyhow!("there is no user named {:?}", name.as_str());
    let last_admin = |name: &Username| {
        anyhow::anyhow!(
            "{:?} is the last admin: that would leave no active administrator; make another \
             account admin first",
            name.as_str()
        )
    };
    let explain = |e: AuthError, name: &Username| match e {
        AuthError::NotFound => not_found(name),
        AuthError::LastAdmin => last_admin(name),
        e => anyhow::Error::new(e),
    };
    match command {
        UserCommand::Add {
            username,
            role,
            email,
        } => {
            let password = read_password(stdin)?;
            // One command, one hash: a slot of its own, no queue.
            let hasher = PasswordHasher::new(HashingPolicy {
                concurrency: 1,
                wait: Duration::from_secs(60),
            })
            .map_err(|e| anyhow::anyhow!("preparing password hashing: {e}"))?;
            let spec = AccountSpec {
                username: &username,
                email: email.as_ref(),
                role,
            };
            let created =
                accounts::create_user(&db, &hasher, rules, Actor::Cli, spec, password, acting.now);
            match created.await {
                Ok(_) => Ok(format!("added {username} ({role})")),
                Err(AuthError::UsernameTaken) => {
                    bail!("a user named {:?} already exists", username.as_str())
                }
                Err(AuthError::WeakPassword(rule)) => bail!("{rule}"),
                Err(AuthError::InvalidEmail(why)) => bail!("{why}"),
                Err(e) => Err(e).context("cannot add the user"),
            }
        }
        UserCommand::Remove { username } => {
            accounts::remove_user(&db, Actor::Cli, &username, acting.now)
                .await
                .map_err(|e| explain(e, &username))?;
            Ok(format!("removed {username}; their sessions have ended"))
        }
        UserCommand::List => {
            let live = Liveness {
                now: acting.now,
                // The command line does not know the server's idle limit; show sessions that
                // have not expired or been revoked.
                idle_since: i64::MIN,
            };
            let users = db.list_users(live).await?;
            let mut out = format!(
                "{:<24} {:<6} {:<7} {:>8}  {:<22} e-mail",
                "username", "role", "status", "sessions", "last login"
            );
            for user in users {
                let status = if user.locked { "locked" } else { "active" };
                let last_login = user.last_login_at.map_or_else(|| "never".to_owned(), utc);
                let email = match (&user.email, user.email_verified) {
                    (None, _) => "-".to_owned(),
                    (Some(email), true) => email.clone(),
                    (Some(email), false) => format!("{email} (unverified)"),
                };
                out.push_str(&format!(
                    "\n{:<24} {:<6} {:<7} {:>8}  {:<22} {}",
                    user.username, user.role, status, user.sessions, last_login, email
                ));
            }
            Ok(out)
        }
        UserCommand::Lock { username } => {
            let ended = admin::lock(&db, acting, &username, true)
                .await
                .map_err(|e| explain(e, &username))?;
            Ok(format!(
                "locked {username}; {} session(s) ended",
                ended.len()
            ))
        }
        UserCommand::Unlock { username } => {
            admin::lock(&db, acting, &username, false)
                .await
                .map_err(|e| explain(e, &username))?;
            Ok(format!("unlocked {username}"))
        }
        UserCommand::MfaReset { username } => {
            let ended = mfa::reset(&db, acting, &username)
                .await
                .map_err(|e| match e {
                    AuthError::MfaNotEnabled => {
                        anyhow::anyhow!("{username} has no second factor")
                    }
                    e => explain(e, &username),
                })?;
            Ok(format!(
                "removed the second factor of {username}; {} session(s) ended",
                ended.len()
            ))
        }
        UserCommand::Role { username, role } => {
            let ended = admin::change_role(&db, acting, &username, role)
                .await
                .map_err(|e| explain(e, &username))?;
            Ok(format!(
                "{username} is now {role}; {} session(s) ended",
                ended.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_serve_and_user_add() {
        assert_eq!(parse(&args(&[])).unwrap(), Command::Serve);
        assert_eq!(
            parse(&args(&["key", "generate"])).unwrap(),
            Command::KeyGenerate
        );
        assert!(parse(&args(&["key", "generate", "now"])).is_err());
        assert_eq!(
            parse(&args(&["user", "add", "carol", "--role", "admin"])).unwrap(),
            Command::User(UserCommand::Add {
                username: Username::parse("carol").unwrap(),
                role: Role::Admin,
                email: None,
            })
        );
        assert_eq!(
            parse(&args(&[
                "user",
                "add",
                "erin",
                "--email",
                "Erin@Example.com"
            ]))
            .unwrap(),
            Command::User(UserCommand::Add {
                username: Username::parse("erin").unwrap(),
                role: Role::User,
                email: Some(EmailAddress::parse("Erin@Example.com").unwrap()),
            })
        );
        assert!(parse(&args(&["user", "add", "erin", "--email", "not-an-address"])).is_err());
        assert_eq!(
            parse(&args(&["user", "add", "dave"])).unwrap(),
            Command::User(UserCommand::Add {
                username: Username::parse("dave").unwrap(),
                role: Role::User,
                email: None,
            })
        );
    }

    #[test]
    fn rejects_bad_arguments_clearly() {
        assert!(format!("{:#}", parse(&args(&["user", "add"])).unwrap_err()).contains("NAME"));
        assert!(format!(
            "{:#}",
            parse(&args(&["user", "add", "x", "--role", "root"])).unwrap_err()
        )
        .contains("root"));
        assert!(parse(&args(&["user", "add", "x", "--password", "p"])).is_err());
        assert!(parse(&args(&["user", "add", "two words"])).is_err());
    }

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_987_920), "2026-11-29 21:32 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn parses_every_user_command() {
        let name = |n: &str| Username::parse(n).unwrap();
        for (line, expected) in [
            ("user list", UserCommand::List),
            (
                "user lock bob",
                UserCommand::Lock {
                    username: name("bob"),
                },
            ),
            (
                "user unlock bob",
                UserCommand::Unlock {
                    username: name("bob"),
                },
            ),
            (
                "user remove bob",
                UserCommand::Remove {
                    username: name("bob"),
                },
            ),
            (
                "user mfa-reset bob",
                UserCommand::MfaReset {
                    username: name("bob"),
                },
            ),
            (
                "user role bob admin",
                UserCommand::Role {
                    username: name("bob"),
                    role: Role::Admin,
                },
            ),
        ] {
            let words: Vec<String> = line.split(' ').map(str::to_owned).collect();
            assert_eq!(parse(&words).unwrap(), Command::User(expected), "{line}");
        }
        assert!(parse(&args(&["user", "role", "bob", "root"])).is_err());
        assert!(parse(&args(&["user", "lock"])).is_err());
    }

    #[test]
    fn password_comes_from_one_stdin_line() {
        assert_eq!(read_password(&b"s3cret pass\n"[..]).unwrap(), "s3cret pass");
        assert!(format!("{:#}", read_password(&b"\n"[..]).unwrap_err()).contains("empty"));
        assert!(read_password(&b""[..]).is_err());
    }
}
