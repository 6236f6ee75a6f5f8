//! Command line: `jwt-auth` serves; `jwt-auth user …` manages accounts directly in the
//! database (see [`USAGE`]). Passwords are read from standard input, never from argv, where
//! `ps` and shell history would see them.

use crate::auth::accounts::{self, Username};
use crate::auth::{password::PasswordHasher, AuthError};
use crate::db;
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
    Help,
}

/// The `user` commands.
#[derive(Debug, PartialEq, Eq)]
pub enum UserCommand {
    Add { username: Username, role: Role },
    Remove { username: Username },
}

/// Usage text.
pub const USAGE: &str = "usage:
  jwt-auth                                   serve the app (configuration: .env / environment)
  jwt-auth user add NAME [--role user|admin] add a user; the password is read from stdin
  jwt-auth user remove NAME                  delete a user; their sessions end at once
";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> anyhow::Result<Command> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => Ok(Command::Serve),
        ["-h" | "--help" | "help"] => Ok(Command::Help),
        ["user", "add", rest @ ..] => {
            let mut username = None;
            let mut role = Role::User;
            let mut iter = rest.iter();
            while let Some(arg) = iter.next() {
                match *arg {
                    "--role" => {
                        let value = iter.next().context("--role needs a value: user or admin")?;
                        role = Role::parse(value).with_context(|| {
                            format!("unknown role {value:?}: use user or admin")
                        })?;
                    }
                    flag if flag.starts_with('-') => bail!("unknown option {flag:?}\n{USAGE}"),
                    name if username.is_none() => username = Some(name.to_owned()),
                    extra => bail!("unexpected argument {extra:?}\n{USAGE}"),
                }
            }
            let username = username.context("user add needs a NAME")?;
            let username = Username::parse(&username).context("invalid NAME")?;
            Ok(Command::User(UserCommand::Add { username, role }))
        }
        ["user", "remove", name] => Ok(Command::User(UserCommand::Remove {
            username: Username::parse(name).context("invalid NAME")?,
        })),
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

/// Runs a `user` command against the database at `database_url` (the same `DATABASE_URL` as
/// the server; a running server notices revocations within a second). Returns what to print.
pub async fn run_user_command(
    command: UserCommand,
    database_url: &str,
    stdin: impl BufRead,
) -> anyhow::Result<String> {
    let db = db::connect(database_url)
        .await
        .context("cannot open the database (DATABASE_URL)")?;
    // One command, one hash: a slot of its own, no queue.
    let hasher = PasswordHasher::new(1, Duration::from_secs(60))
        .map_err(|e| anyhow::anyhow!("preparing password hashing: {e}"))?;
    match command {
        UserCommand::Add { username, role } => {
            let password = read_password(stdin)?;
            match accounts::create_user(&db, &hasher, &username, password, role).await {
                Ok(_) => Ok(format!("added {username} ({role})")),
                Err(AuthError::UsernameTaken) => {
                    bail!("a user named {:?} already exists", username.as_str())
                }
                Err(e) => Err(e).context("cannot add the user"),
            }
        }
        UserCommand::Remove { username } => {
            if accounts::remove_user(&db, &username).await? {
                Ok(format!("removed {username}; their sessions have ended"))
            } else {
                bail!("there is no user named {:?}", username.as_str())
            }
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
            parse(&args(&["user", "add", "carol", "--role", "admin"])).unwrap(),
            Command::User(UserCommand::Add {
                username: Username::parse("carol").unwrap(),
                role: Role::Admin
            })
        );
        assert_eq!(
            parse(&args(&["user", "add", "dave"])).unwrap(),
            Command::User(UserCommand::Add {
                username: Username::parse("dave").unwrap(),
                role: Role::User
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
    fn password_comes_from_one_stdin_line() {
        assert_eq!(read_password(&b"s3cret pass\n"[..]).unwrap(), "s3cret pass");
        assert!(format!("{:#}", read_password(&b"\n"[..]).unwrap_err()).contains("empty"));
        assert!(read_password(&b""[..]).is_err());
    }
}
