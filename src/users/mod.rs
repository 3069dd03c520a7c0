//! Who may log in: the configured users (`SYNC_USERn`, `--user`, the config
//! file's `users`) merged with the accounts of the users file
//! ([`file`], `<base>/users.toml`), their password checks and host keys;
//! [`accounts`] keeps the current set and reloads it when the file changes;
//! [`throttle`] slows down and locks out password guessing; [`names`] says
//! which names can be user names; [`apikeys`] keeps the AnkiConnect API keys
//! (`<base>/apikeys.json`); `private` writes both files atomically.
//!
//! Host keys of configured users are derived exactly as the official server
//! derives them (hex SHA-1 of `name:secret` as configured), so clients logged
//! in against it keep syncing after a switch to kioku, and keys survive
//! restarts. A stored user's host key is the SHA-1 of `name:<PHC string>`
//! (what the official server gives for that PHC string with
//! `PASSWORDS_HASHED`): a new password has a new random salt, so a password
//! change invalidates every host key handed out before. This module must not
//! know HTTP.

pub mod accounts;
pub mod file;
pub mod names;
mod private;
pub mod throttle;

use std::collections::HashMap;

use pbkdf2::password_hash::{PasswordHash, PasswordVerifier};
pub mod apikeys;

use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::UserSpec;
pub use accounts::Accounts;
pub use file::StoredUser;
pub use names::{validate_name, BadName, RESERVED};

/// A password verifier that always fails, used for unknown user names so a
/// login attempt costs the same whether or not the name exists.
const DUMMY_PHC: &str =
    "$pbkdf2-sha256$i=600000,l=32$tonuvYGpksNFQBlEmm3lxg$3iCwc/+JdxZQcqYMz3NSe+3Xb17EGbqSRPryuL7snr8";

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("{source_name}: {message}")]
    BadUser {
        source_name: String,
        message: String,
    },
    #[error(transparent)]
    File(#[from] file::FileError),
    /// The user was removed, but the key file could not be changed.
    #[error(
        "user {name:?} was removed, but their API keys could not be revoked ({source}); \
         revoke them with `kioku apikey list` and `kioku apikey revoke ID`"
    )]
    KeysNotRevoked {
        name: String,
        source: apikeys::KeyError,
    },
}

#[derive(Debug)]
enum Secret {
    /// A plain-text password; compared through SHA-256 digests in constant time.
    Plain([u8; 32]),
    /// A PHC string verified with PBKDF2.
    Hashed(String),
}

/// Where an account comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The configuration: the variable, flag or file key that names it
    /// (`SYNC_USER1`, `--user`, `kioku.toml: users[0]`).
    Config(String),
    /// The users file.
    Stored,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Config(source) => f.write_str(source),
            Origin::Stored => f.write_str(file::FILE),
        }
    }
}

#[derive(Debug)]
pub struct User {
    pub name: String,
    pub origin: Origin,
    /// May use the admin pages (stored accounts only).
    pub admin: bool,
    secret: Secret,
    host_key: String,
}

impl User {
    /// The host key this user's clients hold.
    pub fn host_key(&self) -> &str {
        &self.host_key
    }
}

/// The set of users, indexed by name and by host key.
#[derive(Debug, Default)]
pub struct Users {
    by_name: HashMap<String, User>,
    by_key: HashMap<String, String>,
}

/// The official server's host key: lowercase hex SHA-1 of `name:secret`,
/// where `secret` is the password or PHC string as configured.
pub fn host_key(name: &str, secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(name.as_bytes());
    h.update(b":");
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Users {
    /// The configured users only (see [`Users::merged`]).
    pub fn new(specs: &[UserSpec], hashed: bool) -> Result<Users, UsersError> {
        Ok(Self::merged(specs, hashed, &[])?.0)
    }

    /// The configured users plus the stored ones. A configured user wins over
    /// a stored one of the same name; each such clash is returned as a
    /// warning to log.
    pub fn merged(
        specs: &[UserSpec],
        hashed: bool,
        stored: &[StoredUser],
    ) -> Result<(Users, Vec<String>), UsersError> {
        let mut users = Users::default();
        for spec in specs {
            let secret = if hashed {
                PasswordHash::new(&spec.secret).map_err(|e| UsersError::BadUser {
                    source_name: spec.source.clone(),
                    message: format!(
                        "PASSWORDS_HASHED is set but the password of {:?} is not a PHC hash string ({e})",
                        spec.name
                    ),
                })?;
                Secret::Hashed(spec.secret.clone())
            } else {
                Secret::Plain(sha256(spec.secret.as_bytes()))
            };
            users.insert(User {
                name: spec.name.clone(),
                origin: Origin::Config(spec.source.clone()),
                admin: false,
                secret,
                host_key: host_key(&spec.name, &spec.secret),
            });
        }
        let mut warnings = Vec::new();
        for s in stored {
            if let Some(configured) = users.by_name.get(&s.name) {
                warnings.push(format!(
                    "user {:?} is both configured ({}) and in {}; the configured one is used",
                    s.name,
                    configured.origin,
                    file::FILE
                ));
                continue;
            }
            users.insert(User {
                name: s.name.clone(),
                origin: Origin::Stored,
                admin: s.admin,
                secret: Secret::Hashed(s.password.clone()),
                host_key: host_key(&s.name, &s.password),
            });
        }
        Ok((users, warnings))
    }

    fn insert(&mut self, user: User) {
        self.by_key.insert(user.host_key.clone(), user.name.clone());
        self.by_name.insert(user.name.clone(), user);
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every user, sorted by name.
    pub fn sorted(&self) -> Vec<&User> {
        let mut all: Vec<&User> = self.by_name.values().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.by_name.get(name)
    }

    /// Checks a login; on success returns the user's host key. Slow by design
    /// when passwords are hashed (PBKDF2): call it off the async threads.
    /// An unknown name costs the same work as a known one.
    pub fn login(&self, name: &str, password: &str) -> Option<&str> {
        let user = self.by_name.get(name);
        let ok = match user.map(|u| &u.secret) {
            Some(Secret::Plain(digest)) => bool::from(digest.ct_eq(&sha256(password.as_bytes()))),
            Some(Secret::Hashed(phc)) => verify_phc(phc, password),
            None => {
                if self
                    .by_name
                    .values()
                    .any(|u| matches!(u.secret, Secret::Hashed(_)))
                {
                    verify_phc(DUMMY_PHC, password);
                } else {
                    let _ = sha256(password.as_bytes()).ct_eq(&[0u8; 32]);
                }
                false
            }
        };
        match (ok, user) {
            (true, Some(u)) => Some(&u.host_key),
            _ => None,
        }
    }

    /// The user a host key belongs to.
    pub fn by_host_key(&self, key: &str) -> Option<&User> {
        self.by_key.get(key).and_then(|name| self.by_name.get(name))
    }
}

fn verify_phc(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => pbkdf2::Pbkdf2
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, secret: &str) -> UserSpec {
        UserSpec {
            name: name.into(),
            secret: secret.into(),
            source: "SYNC_USER1".into(),
        }
    }

    fn stored(name: &str, phc: &str, admin: bool) -> StoredUser {
        StoredUser {
            name: name.into(),
            password: phc.into(),
            admin,
            created: 0,
            password_set: 0,
        }
    }

    #[test]
    fn host_key_is_sha1_of_name_colon_secret_like_the_official_server() {
        assert_eq!(
            host_key("user", "pass"),
            "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d"
        );
        assert_eq!(
            host_key("u2", DUMMY_PHC),
            "567c5f0a7f928cc98f441e38120bd5299a2589d0"
        );
    }

    #[test]
    fn plain_login_checks_the_password_and_finds_the_user_by_key() {
        let users = Users::new(&[spec("user", "pass"), spec("other", "x")], false).unwrap();
        let key = users.login("user", "pass").unwrap().to_owned();
        assert_eq!(key, "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d");
        assert_eq!(users.by_host_key(&key).unwrap().name, "user");
        assert!(users.login("user", "wrong").is_none());
        assert!(users.login("nobody", "pass").is_none());
        assert!(users.by_host_key("0000").is_none());
    }

    #[test]
    fn hashed_login_verifies_pbkdf2_phc_strings() {
        let users = Users::new(&[spec("u2", DUMMY_PHC)], true).unwrap();
        assert_eq!(
            users.login("u2", "secret"),
            Some("567c5f0a7f928cc98f441e38120bd5299a2589d0")
        );
        assert!(users.login("u2", "Secret").is_none());
        assert!(users.login("u3", "secret").is_none());
    }

    #[test]
    fn a_hashed_user_that_is_not_a_phc_string_is_refused_naming_the_variable() {
        let err = Users::new(&[spec("u", "plain")], true).unwrap_err();
        assert!(err.to_string().starts_with("SYNC_USER1:"), "{err}");
    }

    #[test]
    fn stored_users_log_in_with_the_phc_derived_host_key_and_keep_their_admin_flag() {
        let (users, warnings) = Users::merged(
            &[spec("env", "pw")],
            false,
            &[stored("u2", DUMMY_PHC, true)],
        )
        .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(users.len(), 2);
        assert_eq!(
            users.login("u2", "secret"),
            Some("567c5f0a7f928cc98f441e38120bd5299a2589d0"),
            "the key the official server gives for this PHC string"
        );
        let u2 = users.get("u2").unwrap();
        assert!(u2.admin);
        assert_eq!(u2.origin, Origin::Stored);
        assert_eq!(
            users.login("env", "pw"),
            Some(host_key("env", "pw").as_str())
        );
        assert!(!users.get("env").unwrap().admin);
    }

    #[test]
    fn a_configured_user_wins_over_a_stored_one_of_the_same_name_with_a_warning() {
        let (users, warnings) = Users::merged(
            &[spec("alice", "from-env")],
            false,
            &[
                stored("alice", DUMMY_PHC, true),
                stored("bob", DUMMY_PHC, false),
            ],
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("alice") && warnings[0].contains("SYNC_USER1"));
        let alice = users.get("alice").unwrap();
        assert_eq!(alice.origin, Origin::Config("SYNC_USER1".into()));
        assert!(!alice.admin, "the stored admin flag does not carry over");
        assert!(users.login("alice", "secret").is_none());
        assert!(users.login("alice", "from-env").is_some());
    }

    #[test]
    fn a_new_password_hash_gives_a_new_host_key_even_for_the_same_password() {
        let a = file::hash_password("correct horse");
        let b = file::hash_password("correct horse");
        assert_ne!(host_key("u", &a), host_key("u", &b));
    }
}
