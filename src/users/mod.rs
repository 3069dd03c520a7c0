//! Who may log in: the configured users, their password checks and host keys.
//!
//! Host keys are derived exactly as the official server derives them (hex SHA-1
//! of `name:secret` as configured), so clients logged in against it keep
//! syncing after a switch to kioku, and keys survive restarts. This module must
//! not touch the data folder or HTTP.

use std::collections::HashMap;

use pbkdf2::password_hash::{PasswordHash, PasswordVerifier};
pub mod apikeys;

use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::UserSpec;

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
}

/// Why a name cannot be a user name.
#[derive(Debug, thiserror::Error)]
#[error("user name {name:?} {reason}")]
pub struct BadName {
    name: String,
    reason: &'static str,
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
            reason,
        }),
        None => Ok(()),
    }
}

#[derive(Debug)]
enum Secret {
    /// A plain-text password; compared through SHA-256 digests in constant time.
    Plain([u8; 32]),
    /// A PHC string verified with PBKDF2.
    Hashed(String),
}

#[derive(Debug)]
pub struct User {
    pub name: String,
    secret: Secret,
    host_key: String,
}

/// The set of users, indexed by name and by host key.
#[derive(Debug)]
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
    pub fn new(specs: &[UserSpec], hashed: bool) -> Result<Users, UsersError> {
        let mut by_name = HashMap::new();
        let mut by_key = HashMap::new();
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
            let key = host_key(&spec.name, &spec.secret);
            by_key.insert(key.clone(), spec.name.clone());
            by_name.insert(
                spec.name.clone(),
                User {
                    name: spec.name.clone(),
                    secret,
                    host_key: key,
                },
            );
        }
        Ok(Users { by_name, by_key })
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
    fn names_that_could_escape_the_data_folder_are_refused() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b", "a\nb"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["user", "ユーザー", "a.b", "me@example.com"] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
    }
}
