//! Command line: `jwt-auth` serves; `jwt-auth user add NAME [--role user|admin]` adds an account
//! with a password read from standard input (never from argv, where `ps` and shell history
//! would see it).

use crate::auth::accounts::{self, Username};
use crate::auth::AuthError;
use crate::db;
use crate::model::Role;
use anyhow::{bail, Context};
use std::io::BufRead;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the web server (no arguments).
    Serve,
    /// Add a user.
    AddUser { username: Username, role: Role },
    /// Print usage.
    Help,
}

/// Usage text.
pub const USAGE: &str = "usage:
  jwt-auth                                   serve the app (configuration: .env / environment)
  jwt-auth user add NAME [--role user|admin] add a user; the password is read from stdin
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
            Ok(Command::AddUser { username, role })
        }
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

/// Adds a user to the database at `database_url`.
pub async fn add_user(
    database_url: &str,
    username: &Username,
    role: Role,
    password: String,
) -> anyhow::Result<()> {
    let db = db::connect(database_url)
        .await
        .context("cannot open the database (DATABASE_URL)")?;
    match accounts::create_user(&db, username, password, role).await {
        Ok(_) => Ok(()),
        Err(AuthError::UsernameTaken) => {
            bail!("a user named {:?} already exists", username.as_str())
        }
        Err(e) => Err(e).context("cannot add the user"),
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
            Command::AddUser {
                username: Username::parse("carol").unwrap(),
                role: Role::Admin
            }
        );
        assert_eq!(
            parse(&args(&["user", "add", "dave"])).unwrap(),
            Command::AddUser {
                username: Username::parse("dave").unwrap(),
                role: Role::User
            }
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
