//! Which names can be user names. A user name becomes a folder name directly
//! under the data folder (`<base>/<name>/`, the official server's layout), so
//! it must be one ordinary path component ([`validate_name`]) and must not be
//! a name kioku itself keeps at the top of the data folder ([`RESERVED`]).
//!
//! Every file or folder kioku keeps at the top of the data folder is listed
//! in [`RESERVED`], with the reason; a module that adds one adds it here, so
//! that no user folder can ever clash with it.

/// A name (or name prefix) kioku keeps at the top of the data folder.
#[derive(Debug, Clone, Copy)]
pub struct Reserved {
    /// The file or folder name, or a prefix when `prefix` is set.
    pub name: &'static str,
    pub prefix: bool,
    /// What kioku keeps there.
    pub why: &'static str,
}

/// Every name kioku keeps at the top of the data folder. Matched without
/// regard to ASCII case, so a data folder stays safe on a case-insensitive
/// file system too.
pub const RESERVED: &[Reserved] = &[
    Reserved {
        name: "tls",
        prefix: false,
        why: "the folder of kioku's own CA and server certificate (<base>/tls)",
    },
    Reserved {
        name: "users.toml",
        prefix: false,
        why: "the users file (<base>/users.toml)",
    },
    Reserved {
        name: "users.toml.lock",
        prefix: false,
        why: "the lock that serialises changes of the users file",
    },
    Reserved {
        name: "kioku.sock",
        prefix: false,
        why: "the control socket of the running server (<base>/kioku.sock)",
    },
    Reserved {
        name: ".kioku-",
        prefix: true,
        why: "kioku's temporary files (.kioku-*.tmp, removed at start)",
    },
    Reserved {
        name: ".kioku.lock",
        prefix: false,
        why: "the lock a running server holds on the data folder (<base>/.kioku.lock)",
    },
    Reserved {
        name: "apikeys.json",
        prefix: false,
        why: "the AnkiConnect API keys (<base>/apikeys.json)",
    },
    Reserved {
        name: "apikeys.lock",
        prefix: false,
        why: "the lock that serialises changes of the API keys",
    },
];

/// Why a name cannot be a user name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("user name {name:?} {reason}")]
pub struct BadName {
    name: String,
    reason: String,
}

/// User names become folder names under the data folder, so they must be a
/// single, ordinary path component: not empty, not `.`/`..`, no `/`, `\`, NUL
/// or other control characters, and at most 255 bytes.
pub fn validate_name(name: &str) -> Result<(), BadName> {
    let reason = if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("cannot be . or ..")
    } else if name.contains(['/', '\\']) {
        Some("must not contain / or \\ (it names a folder under the data folder)")
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else if name.len() > 255 {
        Some("is longer than 255 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(BadName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// The reserved entry `name` would clash with, if any.
pub fn reserved(name: &str) -> Option<&'static Reserved> {
    RESERVED.iter().find(|r| {
        if r.prefix {
            name.len() >= r.name.len()
                && name.is_char_boundary(r.name.len())
                && name[..r.name.len()].eq_ignore_ascii_case(r.name)
        } else {
            name.eq_ignore_ascii_case(r.name)
        }
    })
}

/// [`validate_name`], and not a [`RESERVED`] name: the rule for accounts
/// kioku stores itself (`kioku user add`, onboarding, the admin page).
pub fn validate_new_name(name: &str) -> Result<(), BadName> {
    validate_name(name)?;
    match reserved(name) {
        Some(r) => Err(BadName {
            name: name.to_owned(),
            reason: format!("is taken by kioku: the data folder keeps {} there", r.why),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_data_folder_are_refused() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b", "a\nb"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["user", "ユーザー", "a.b", "me@example.com"] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
        assert!(validate_name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn every_reserved_name_is_refused_for_new_accounts_in_any_ascii_case() {
        for r in RESERVED {
            assert!(validate_new_name(r.name).is_err(), "{}", r.name);
            assert!(
                validate_new_name(&r.name.to_ascii_uppercase()).is_err(),
                "{}",
                r.name
            );
        }
        assert!(validate_new_name(".kioku-upload-1.tmp").is_err());
        let err = validate_new_name("tls").unwrap_err().to_string();
        assert!(err.contains("certificate"), "{err}");
        for good in ["tlsx", "users", "kioku", ".kiok", "ユーザー"] {
            assert!(validate_new_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn every_file_kioku_keeps_at_the_top_of_the_data_folder_is_reserved() {
        let base = std::path::Path::new("/data");
        let tls = crate::tls::certs::dir(base);
        let kept = [
            tls.strip_prefix(base).unwrap().to_str().unwrap(),
            crate::users::file::FILE,
            crate::users::file::LOCK,
            crate::control::SOCKET,
            crate::store::LOCK_FILE,
            crate::users::apikeys::KEYS_FILE,
            crate::users::apikeys::LOCK_FILE,
            ".kioku-users-0a1b.tmp",
            ".kioku-apikeys-0a1b.tmp",
        ];
        for name in kept {
            assert!(reserved(name).is_some(), "{name} is not reserved");
        }
    }

    #[test]
    fn reserved_prefixes_do_not_panic_on_multibyte_names() {
        assert!(reserved(".kioく").is_none());
        assert!(reserved("é").is_none());
    }
}
