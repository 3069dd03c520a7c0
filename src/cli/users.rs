//! `kioku user add|list|remove|passwd|admin`: the stored accounts
//! (`<base>/users.toml`). A change is written to the users file (locked,
//! atomic) and a running server is told at once over the control socket; a
//! server that cannot be told picks the change up within 2 s.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use serde_json::json;

use crate::config::{Config, ServeArgs};
use crate::control::client;
use crate::users::{accounts, file, Users};

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add an account; asks for the password twice (without echo) on a terminal.
    Add {
        /// The user name (also the name of their folder in the data folder).
        name: String,
        /// The account may use the admin pages.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// List the users: stored ones and those the configuration adds.
    List {
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Remove a stored account; its devices can no longer sync.
    Remove {
        name: String,
        /// Also delete the user's folder (collection and media). Cannot be undone.
        #[arg(long)]
        delete_data: bool,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Set a new password; every device of the user must log in again.
    Passwd {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Let a stored account use the admin pages (or, with --revoke, no longer).
    Admin {
        name: String,
        #[arg(long)]
        revoke: bool,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Move the users of a settings file (its `users` key) into the users
    /// file: new names are added, existing accounts get the file's password,
    /// and the first becomes an admin if there is none; then the key is
    /// removed from FILE.
    Import {
        /// The settings file (e.g. a kioku.toml); rewritten without `users`.
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        #[command(flatten)]
        args: ServeArgs,
    },
}

/// The new password: from stdin with `--password-stdin`, else asked twice
/// on the terminal.
fn read_password(name: &str, from_stdin: bool) -> Result<String, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err("no terminal to ask for the password on; pass it with --password-stdin".into());
    }
    let first = rpassword::prompt_password(format!("New password for {name}: "))
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let second = rpassword::prompt_password("Repeat it: ")
        .map_err(|e| format!("cannot read the password: {e}"))?;
    if first != second {
        return Err("the two passwords differ; nothing was changed".into());
    }
    Ok(first)
}

/// Tells a running server to reload the users file.
pub(super) fn notify(config: &Config) {
    match client::request(&config.base, "POST", "/users/reload", None) {
        Ok(Some((200, answer))) => {
            for w in answer["warnings"].as_array().into_iter().flatten() {
                eprintln!("kioku: warning (running server): {}", w.as_str().unwrap_or(""));
            }
            eprintln!(
                "the running server now has {} user(s)",
                answer["users"].as_u64().unwrap_or(0)
            );
        }
        Ok(Some((status, answer))) => eprintln!(
            "kioku: warning: the running server could not reload the users ({status}: {})",
            answer["error"].as_str().unwrap_or("")
        ),
        Ok(None) => {}
        Err(e) => eprintln!(
            "kioku: warning: cannot reach the running server ({e}); it picks the change up within 2 s"
        ),
    }
}

/// Runs one `kioku user` command.
pub fn run(action: UserAction) -> Result<(), String> {
    let e = |err: crate::users::UsersError| err.to_string();
    match action {
        UserAction::Add {
            name,
            admin,
            password_stdin,
            args,
        } => with_password(&args, &name, password_stdin, |config, password| {
            accounts::add(&config.base, &config.users, &name, password, admin)?;
            println!("added {name}{}", if admin { " (admin)" } else { "" });
            Ok(())
        })?,
        UserAction::Passwd {
            name,
            password_stdin,
            args,
        } => with_password(&args, &name, password_stdin, |config, password| {
            accounts::set_password(&config.base, &config.users, &name, password)?;
            println!("changed the password of {name}; its devices must log in again");
            Ok(())
        })?,
        UserAction::Remove {
            name,
            delete_data,
            args,
        } => {
            let config = super::owner::load(&args)?;
            let removed = accounts::remove(&config.base, &config.users, &name, false);
            if !matches!(removed, Err(crate::users::UsersError::File(_))) {
                notify(&config);
            }
            match removed.map_err(e)? {
                0 => println!("removed {name}"),
                1 => println!("removed {name} and revoked their API key"),
                n => println!("removed {name} and revoked their {n} API keys"),
            }
            if delete_data {
                delete(&config, &name)?;
            } else {
                println!(
                    "(their folder {} was kept; --delete-data removes it)",
                    config.base.join(&name).display()
                );
            }
        }
        UserAction::Admin { name, revoke, args } => {
            let config = super::owner::load(&args)?;
            accounts::set_admin(&config.base, &config.users, &name, !revoke, false).map_err(e)?;
            println!(
                "{name} {} an admin",
                if revoke { "is no longer" } else { "is now" }
            );
            notify(&config);
        }
        UserAction::List { args } => {
            let config = super::owner::load(&args)?;
            list(&config)?;
        }
        UserAction::Import { file, args } => super::import::run(&file, &args)?,
    }
    Ok(())
}

/// Loads the configuration, reads the new password, runs `change` and
/// tells a running server.
fn with_password(
    args: &ServeArgs,
    name: &str,
    from_stdin: bool,
    change: impl FnOnce(&Config, &str) -> Result<(), crate::users::UsersError>,
) -> Result<(), String> {
    let config = super::owner::load(args)?;
    let password = read_password(name, from_stdin)?;
    change(&config, &password).map_err(|e| e.to_string())?;
    notify(&config);
    Ok(())
}

fn delete(config: &Config, name: &str) -> Result<(), String> {
    let body = json!({ "name": name });
    let deleted = match client::request(&config.base, "POST", "/users/delete-data", Some(&body))? {
        Some((200, answer)) => answer["deleted"].as_bool().unwrap_or(false),
        Some((status, answer)) => {
            return Err(format!(
                "the running server did not delete the data ({status}: {})",
                answer["error"].as_str().unwrap_or("")
            ))
        }
        None => crate::store::usage::delete_user_folder(&config.base, name)
            .map_err(|err| format!("cannot delete {}: {err}", config.base.join(name).display()))?,
    };
    if deleted {
        println!("deleted {}", config.base.join(name).display());
    } else {
        println!("{name} had no data folder");
    }
    Ok(())
}

/// `kioku user list`: the running server's users if one runs (its
/// configuration may differ from this command's), else this command's.
fn list(config: &Config) -> Result<(), String> {
    let rows: Vec<(String, bool, String)> =
        match client::request(&config.base, "GET", "/status", None)? {
            Some((200, status)) => status["users"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|u| {
                    (
                        u["name"].as_str().unwrap_or("").to_owned(),
                        u["admin"].as_bool().unwrap_or(false),
                        u["origin"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect(),
            _ => {
                let users = offline_users(config)?;
                users
                    .sorted()
                    .into_iter()
                    .map(|u| (u.name.clone(), u.admin, u.origin.to_string()))
                    .collect()
            }
        };
    if rows.is_empty() {
        println!("no users (add one with `kioku user add NAME`, or open the setup page)");
    }
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    for (name, admin, origin) in rows {
        let pad = width - name.chars().count();
        println!(
            "{name}{}  {:5}  {origin}",
            " ".repeat(pad),
            if admin { "admin" } else { "" }
        );
    }
    Ok(())
}

/// The users of `config` plus the users file, as a server would see them.
pub fn offline_users(config: &Config) -> Result<Users, String> {
    let stored = file::load(&config.base).map_err(|e| e.to_string())?;
    let (users, warnings) = Users::merged(&config.users, config.passwords_hashed, &stored)
        .map_err(|e| e.to_string())?;
    for w in warnings {
        eprintln!("kioku: warning: {w}");
    }
    Ok(users)
}
