//! `kioku user import FILE`: the users of a settings file (its `users` key,
//! e.g. a kioku.toml put on the SD card's boot partition) become stored
//! accounts (see `crate::users::accounts::import` for the rules), and the key
//! is taken out of the file, so the passwords do not stay there in clear
//! and the names are not configured twice. The rest of the file is kept
//! byte for byte; the file is replaced atomically.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{Config, ServeArgs};
use crate::users::accounts;

pub fn run(file: &Path, args: &ServeArgs) -> Result<(), String> {
    let config = super::owner::load(args)?;
    // The file is read as `serve` would read it, with nothing else.
    let only_file = ServeArgs {
        config: Some(file.to_owned()),
        ..Default::default()
    };
    let from = Config::load_with(&only_file, &|_| None).map_err(|e| e.to_string())?;
    if from.users.is_empty() {
        println!("{}: no users to import", file.display());
        return Ok(());
    }
    // The new text first: nothing is imported from a file that cannot be rewritten.
    let (path, new_text) = without_users_key_in(file)?;
    let done = accounts::import(&config.base, &from.users, from.passwords_hashed)
        .map_err(|e| e.to_string())?;
    for (names, what) in [
        (&done.added, "added"),
        (
            &done.changed,
            "new password (its devices must log in again)",
        ),
        (&done.unchanged, "unchanged (same password)"),
    ] {
        for name in names {
            println!("{name}: {what}");
        }
    }
    if let Some(admin) = &done.admin {
        println!("{admin}: now an admin (there was none)");
    }
    super::users::notify(&config);
    replace(&path, &new_text)?;
    println!(
        "{}: the users key was removed (the accounts are in {})",
        file.display(),
        crate::users::file::path(&config.base).display()
    );
    Ok(())
}

#[derive(Deserialize)]
struct UsersKey {
    users: Option<toml::Spanned<toml::Value>>,
}

/// The file's real path (through links) and its text without the `users` key.
fn without_users_key_in(file: &Path) -> Result<(PathBuf, String), String> {
    let path = fs::canonicalize(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let new = without_users_key(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .unwrap_or(text);
    Ok((path, new))
}

/// Replaces `path` with `text` atomically (`store::replace_file`), keeping
/// its mode.
fn replace(path: &Path, text: &str) -> Result<(), String> {
    fs::metadata(path)
        .and_then(|meta| {
            let mode = meta.permissions().mode() & 0o777;
            crate::store::replace_file(path, "settings", text.as_bytes(), mode)
        })
        .map_err(|e| format!("cannot rewrite {}: {e}", path.display()))
}

/// `text` without the lines of its top-level `users` key and value (a value
/// may span lines), with a comment in their place; `None` if it has none.
fn without_users_key(text: &str) -> Result<Option<String>, String> {
    let parsed: UsersKey = toml::from_str(text).map_err(|e| e.to_string())?;
    let Some(users) = parsed.users else {
        return Ok(None);
    };
    let span = users.span();
    // TOML puts a key and the start of its value on one line, and nothing
    // but a comment after the value's end on its line.
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[span.end..]
        .find('\n')
        .map_or(text.len(), |i| span.end + i + 1);
    let note = format!(
        "# users: moved into the users file by `kioku user import` ({})\n",
        crate::web::html::utc_minute(crate::clock::now_secs())
    );
    let new = format!("{}{note}{}", &text[..start], &text[end..]);
    let check: UsersKey = toml::from_str(&new).map_err(|e| e.to_string())?;
    if check.users.is_some() {
        return Err("the users key could not be taken out of the file".into());
    }
    Ok(Some(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_key_goes_with_all_its_lines_and_the_rest_stays() {
        let text = "# my box\nport = 80\nusers = [\n  \"alice:a long password\", # me\n  \"bob:x\",\n] # two\nlog = \"info\"\n";
        let new = without_users_key(text).unwrap().unwrap();
        assert!(
            new.starts_with("# my box\nport = 80\n# users: moved into the users file"),
            "{new}"
        );
        assert!(new.ends_with("\nlog = \"info\"\n"), "{new}");
        assert!(!new.contains("alice") && !new.contains("bob"), "{new}");
        let one_line = "users = [\"a:b\"]";
        let new = without_users_key(one_line).unwrap().unwrap();
        assert!(!new.contains("a:b") && new.starts_with("# users:"), "{new}");
        assert_eq!(without_users_key("port = 1\n").unwrap(), None);
    }
}
