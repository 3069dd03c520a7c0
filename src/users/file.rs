//! The users file, `<base>/users.toml`: the accounts kioku keeps itself
//! (made by `kioku user add`, the first-run form and the admin page), with
//! passwords as PHC strings in the official server's format
//! (`$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>`).
//!
//! Every change takes an exclusive lock (`<base>/users.toml.lock`), reads
//! the file, and writes the whole new file to a temporary file (mode 0600)
//! that is fsynced and renamed over the old one, so readers see the old or
//! the new file, never a half-written one, and two writers (the CLI and a
//! running server) never lose each other's change. This module only reads
//! and writes the file; it must not know HTTP or who is logged in.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use pbkdf2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use serde::{Deserialize, Serialize};

use super::names::validate_new_name;
use super::private;

/// The users file's name in the data folder.
pub const FILE: &str = "users.toml";
/// The lock file's name in the data folder.
pub const LOCK: &str = "users.toml.lock";
/// PBKDF2 rounds of new hashes: the official server's (and the pbkdf2
/// crate's) default, so its PHC strings look the same.
pub const ROUNDS: u32 = 600_000;
/// Shortest password kioku accepts for a stored account.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password kioku accepts (PBKDF2 hashes any length; this keeps a
/// login request small).
pub const MAX_PASSWORD_BYTES: usize = 1024;
const HEADER: &str = "# kioku users: written by `kioku user …`, the first-run form and the\n\
# admin page. Passwords are PBKDF2 PHC strings, as the official server's\n\
# PASSWORDS_HASHED. A running kioku reloads this file when it changes.\n\n";

/// One stored account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredUser {
    pub name: String,
    /// The PHC string of the password.
    pub password: String,
    /// May use the admin pages.
    #[serde(default)]
    pub admin: bool,
    /// When the account was made (Unix seconds).
    #[serde(default)]
    pub created: i64,
    /// When the password was last set (Unix seconds).
    #[serde(default)]
    pub password_set: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Format {
    version: u32,
    #[serde(default, rename = "user")]
    users: Vec<StoredUser>,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A change that cannot be made (unknown user, duplicate name, …).
    #[error("{0}")]
    Refused(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

pub fn path(base: &Path) -> PathBuf {
    base.join(FILE)
}

/// What identifies one version of the file: cheap to read (one `stat`), and
/// different after every change (a change renames a new file into place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    mtime_ns: i128,
    len: u64,
}

/// The file's current [`Stamp`]; `None` when there is no file.
pub fn stamp(base: &Path) -> Option<Stamp> {
    fs::metadata(path(base)).ok().map(|m| Stamp {
        ino: m.ino(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        len: m.len(),
    })
}

/// Reads and checks the stored accounts; no file means none.
pub fn load(base: &Path) -> Result<Vec<StoredUser>, FileError> {
    let path = path(base);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&path)(e)),
    };
    parse(&path, &text)
}

fn parse(path: &Path, text: &str) -> Result<Vec<StoredUser>, FileError> {
    let invalid = |message: String| FileError::Invalid {
        path: path.to_owned(),
        message,
    };
    let format: Format = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if format.version != 1 {
        return Err(invalid(format!(
            "version {} is not one this kioku reads (1)",
            format.version
        )));
    }
    for (i, u) in format.users.iter().enumerate() {
        validate_new_name(&u.name).map_err(|e| invalid(format!("user[{i}]: {e}")))?;
        check_phc(&u.password)
            .map_err(|e| invalid(format!("user[{i}] ({:?}): password: {e}", u.name)))?;
        if format.users[..i].iter().any(|o| o.name == u.name) {
            return Err(invalid(format!("user {:?} is listed twice", u.name)));
        }
    }
    Ok(format.users)
}

/// Checks that `phc` is a PBKDF2 PHC string the login can verify.
pub fn check_phc(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc).map_err(|e| format!("not a PHC string ({e})"))?;
    match hash.algorithm.as_str() {
        "pbkdf2-sha256" | "pbkdf2-sha512" => Ok(()),
        other => Err(format!(
            "algorithm {other} is not pbkdf2-sha256 or pbkdf2-sha512"
        )),
    }
}

/// The rules for a new password.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password is too short (at least {MIN_PASSWORD_CHARS} characters)"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password is too long (at most {MAX_PASSWORD_BYTES} bytes)"
        ));
    }
    Ok(())
}

/// Hashes `password` as the official server's format: PBKDF2-HMAC-SHA256,
/// 600,000 rounds, 32-byte output, a fresh 16-byte random salt. Slow by
/// design (run it off the async threads).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source works");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    let params = pbkdf2::Params {
        rounds: ROUNDS,
        output_length: 32,
    };
    pbkdf2::Pbkdf2
        .hash_password_customized(
            password.as_bytes(),
            Some(pbkdf2::Algorithm::Pbkdf2Sha256.ident()),
            None,
            params,
            &salt,
        )
        .expect("PBKDF2 with valid parameters hashes")
        .to_string()
}

/// The users file's change lock.
fn lock(base: &Path) -> Result<private::ChangeLock, FileError> {
    private::ChangeLock::take(base, LOCK).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            FileError::Refused(e.to_string())
        } else {
            io_err(&base.join(LOCK))(e)
        }
    })
}

/// Changes the stored accounts: under the lock, reads the file, lets `f`
/// change the list, and writes the result atomically (nothing is written
/// when `f` fails).
pub fn update<R>(
    base: &Path,
    f: impl FnOnce(&mut Vec<StoredUser>) -> Result<R, FileError>,
) -> Result<R, FileError> {
    fs::create_dir_all(base).map_err(io_err(base))?;
    let _lock = lock(base)?;
    let mut users = load(base)?;
    let out = f(&mut users)?;
    save(base, &users)?;
    Ok(out)
}

fn save(base: &Path, users: &[StoredUser]) -> Result<(), FileError> {
    let dest = path(base);
    let format = Format {
        version: 1,
        users: users.to_vec(),
    };
    let body = toml::to_string(&format).map_err(|e| FileError::Invalid {
        path: dest.clone(),
        message: format!("cannot write: {e}"),
    })?;
    let parts = [HEADER.as_bytes(), body.as_bytes()];
    private::write(base, FILE, "users", &parts).map_err(io_err(&dest))
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
