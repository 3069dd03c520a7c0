//! The server's current set of users, reloadable while it runs, plus the
//! changes of stored accounts that both the CLI (`kioku user …`) and the
//! server (first-run form, admin page) make.
//!
//! [`Accounts::users`] hands out a snapshot (`Arc<Users>`); a reload swaps
//! in a new one, so a request keeps a consistent view. The server reloads
//! when the users file changes ([`Accounts::refresh`], a cheap `stat`, run
//! every few seconds) and at once when the CLI asks over the control socket.
//! Changes go through [`file::update`] (locked, atomic); this module must not
//! know HTTP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::file::{self, FileError, StoredUser};
use super::names::validate_new_name;
use super::throttle::{Rules, Throttle};
use super::{Users, UsersError};
use crate::config::{Config, UserSpec};

/// The users a server serves, and what it knows about them.
pub struct Accounts {
    base: PathBuf,
    specs: Vec<UserSpec>,
    hashed: bool,
    current: RwLock<Arc<Users>>,
    /// The users file version `current` was built from.
    stamp: Mutex<Option<file::Stamp>>,
    /// Login protection, shared by every login check.
    pub throttle: Throttle,
    /// When each user last made an authenticated sync request.
    seen: Mutex<HashMap<String, SystemTime>>,
}

impl Accounts {
    /// Loads the configured and stored users (a broken users file is an
    /// error here, at start; later it only keeps the last good set).
    pub fn open(config: &Config) -> Result<Accounts, UsersError> {
        let rules = Rules {
            free_failures: config.login_free_failures,
            first_delay: std::time::Duration::from_millis(config.login_delay_ms),
            lockout: std::time::Duration::from_secs(config.login_lockout_secs),
        };
        let accounts = Accounts {
            base: config.base.clone(),
            specs: config.users.clone(),
            hashed: config.passwords_hashed,
            current: RwLock::new(Arc::new(Users::default())),
            stamp: Mutex::new(None),
            throttle: Throttle::new(rules),
            seen: Mutex::new(HashMap::new()),
        };
        accounts.reload()?;
        Ok(accounts)
    }

    /// The current users (a snapshot; cheap).
    pub fn users(&self) -> Arc<Users> {
        self.current.read().expect("users lock").clone()
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The configured (not stored) users.
    pub fn configured(&self) -> &[UserSpec] {
        &self.specs
    }

    /// Reads the users file again and swaps in the new set; returns the
    /// warnings (name clashes), which are also logged.
    pub fn reload(&self) -> Result<Vec<String>, UsersError> {
        let mut stamp = self.stamp.lock().expect("stamp lock");
        let before = file::stamp(&self.base);
        let stored = file::load(&self.base)?;
        let (users, warnings) = Users::merged(&self.specs, self.hashed, &stored)?;
        for w in &warnings {
            tracing::warn!("{w}");
        }
        let old = std::mem::replace(
            &mut *self.current.write().expect("users lock"),
            Arc::new(users),
        );
        *stamp = before;
        let new = self.users();
        log_changes(&old, &new);
        Ok(warnings)
    }

    /// Reloads if the users file changed since the last load (one `stat`).
    /// A file that cannot be read keeps the current users, with an error log.
    pub fn refresh(&self) {
        let now = file::stamp(&self.base);
        if *self.stamp.lock().expect("stamp lock") == now {
            return;
        }
        if let Err(e) = self.reload() {
            tracing::error!(error = %e, "cannot reload the users file; keeping the current users");
            *self.stamp.lock().expect("stamp lock") = now;
        }
    }

    /// Records an authenticated sync request of `name`.
    pub fn seen(&self, name: &str) {
        let mut seen = self.seen.lock().expect("seen lock");
        match seen.get_mut(name) {
            Some(t) => *t = SystemTime::now(),
            None => {
                seen.insert(name.to_owned(), SystemTime::now());
            }
        }
    }

    /// When `name` last made an authenticated sync request (since start).
    pub fn last_seen(&self, name: &str) -> Option<SystemTime> {
        self.seen.lock().expect("seen lock").get(name).copied()
    }

    /// [`add`], then reload. Blocking (PBKDF2): run off the async threads.
    pub fn add(&self, name: &str, password: &str, admin: bool) -> Result<(), UsersError> {
        add(&self.base, &self.specs, name, password, admin)?;
        self.reload().map(drop)
    }

    /// [`create_first`], then reload. Blocking.
    pub fn create_first(&self, name: &str, password: &str) -> Result<(), UsersError> {
        create_first(&self.base, &self.specs, name, password)?;
        self.reload().map(drop)
    }

    /// [`set_password`], then reload. Blocking.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), UsersError> {
        set_password(&self.base, &self.specs, name, password)?;
        self.reload().map(drop)
    }

    /// [`remove`] (keeping at least one admin), then reload; how many API
    /// keys were revoked.
    pub fn remove(&self, name: &str) -> Result<usize, UsersError> {
        let removed = remove(&self.base, &self.specs, name, true);
        if !matches!(removed, Err(UsersError::File(_))) {
            // The user is gone from the file even if their keys are not.
            self.reload()?;
        }
        removed
    }

    /// [`set_admin`] (keeping at least one admin), then reload.
    pub fn set_admin(&self, name: &str, admin: bool) -> Result<(), UsersError> {
        set_admin(&self.base, &self.specs, name, admin, true)?;
        self.reload().map(drop)
    }
}

fn log_changes(old: &Users, new: &Users) {
    for user in new.sorted() {
        match old.get(&user.name) {
            None => tracing::info!(user = %user.name, origin = %user.origin, "user added"),
            Some(o) if o.host_key() != user.host_key() => {
                tracing::info!(user = %user.name, "password changed: earlier logins are no longer valid")
            }
            Some(_) => {}
        }
    }
    for name in old.names().filter(|n| new.get(n).is_none()) {
        tracing::info!(user = %name, "user removed");
    }
}

fn refused(message: String) -> UsersError {
    UsersError::File(FileError::Refused(message))
}

/// A configured user of that name, as an error saying where it is configured.
fn configured_error(specs: &[UserSpec], name: &str, what: &str) -> Result<(), UsersError> {
    match specs.iter().find(|s| s.name == name) {
        Some(s) => Err(refused(format!(
            "user {name:?} is configured by {}; {what}",
            s.source
        ))),
        None => Ok(()),
    }
}

/// Adds a stored account. Refused: a bad or reserved name, a short
/// password, a name that is configured or stored already.
pub fn add(
    base: &Path,
    specs: &[UserSpec],
    name: &str,
    password: &str,
    admin: bool,
) -> Result<(), UsersError> {
    check_new(specs, name, password)?;
    let phc = file::hash_password(password);
    file::update(base, |users| {
        if users.iter().any(|u| u.name == name) {
            return Err(FileError::Refused(format!("user {name:?} exists already")));
        }
        users.push(new_user(name, phc, admin));
        Ok(())
    })?;
    Ok(())
}

fn check_new(specs: &[UserSpec], name: &str, password: &str) -> Result<(), UsersError> {
    validate_new_name(name).map_err(|e| refused(e.to_string()))?;
    configured_error(specs, name, "it cannot also be stored")?;
    file::check_password(password).map_err(refused)
}

fn new_user(name: &str, phc: String, admin: bool) -> StoredUser {
    let now = crate::clock::now_secs();
    StoredUser {
        name: name.to_owned(),
        password: phc,
        admin,
        created: now,
        password_set: now,
    }
}

/// Adds the first account, an admin, only while there is no user at all
/// (configured or stored); checked under the users file's lock, so of two
/// racing first-run forms only one succeeds.
pub fn create_first(
    base: &Path,
    specs: &[UserSpec],
    name: &str,
    password: &str,
) -> Result<(), UsersError> {
    if !specs.is_empty() {
        return Err(refused("users are configured already".into()));
    }
    check_new(specs, name, password)?;
    let phc = file::hash_password(password);
    file::update(base, |users| {
        if !users.is_empty() {
            return Err(FileError::Refused("an account exists already".into()));
        }
        users.push(new_user(name, phc, true));
        Ok(())
    })?;
    Ok(())
}

/// Sets a stored account's password (a new salt, so a new host key: the
/// user's clients must log in again).
pub fn set_password(
    base: &Path,
    specs: &[UserSpec],
    name: &str,
    password: &str,
) -> Result<(), UsersError> {
    configured_error(specs, name, "change its password there")?;
    file::check_password(password).map_err(refused)?;
    let phc = file::hash_password(password);
    file::update(base, |users| {
        let user = find(users, name)?;
        user.password = phc;
        user.password_set = crate::clock::now_secs();
        Ok(())
    })?;
    Ok(())
}

fn find<'a>(users: &'a mut [StoredUser], name: &str) -> Result<&'a mut StoredUser, FileError> {
    users
        .iter_mut()
        .find(|u| u.name == name)
        .ok_or_else(|| FileError::Refused(format!("no stored user {name:?}")))
}

/// Removes a stored account (its data folder stays; see
/// `crate::store::usage`) and revokes its API keys, so that a later account
/// of the same name does not inherit them; returns how many keys were
/// revoked. With `keep_an_admin`, the last admin cannot go.
pub fn remove(
    base: &Path,
    specs: &[UserSpec],
    name: &str,
    keep_an_admin: bool,
) -> Result<usize, UsersError> {
    configured_error(specs, name, "remove it there")?;
    file::update(base, |users| {
        let admin = find(users, name)?.admin;
        if keep_an_admin && admin && users.iter().filter(|u| u.admin).count() == 1 {
            return Err(FileError::Refused(format!(
                "{name:?} is the only admin; make another user an admin first"
            )));
        }
        users.retain(|u| u.name != name);
        Ok(())
    })?;
    let revoked = super::apikeys::revoke_user(base, name).map_err(|source| {
        tracing::error!(user = name, error = %source, "user removed, but their API keys were not revoked");
        UsersError::KeysNotRevoked {
            name: name.to_owned(),
            source,
        }
    })?;
    if !revoked.is_empty() {
        let ids: Vec<&str> = revoked.iter().map(|k| k.id.as_str()).collect();
        tracing::info!(user = name, ?ids, "API keys of a removed user revoked");
    }
    Ok(revoked.len())
}

/// Grants or revokes the admin flag of a stored account.
pub fn set_admin(
    base: &Path,
    specs: &[UserSpec],
    name: &str,
    admin: bool,
    keep_an_admin: bool,
) -> Result<(), UsersError> {
    configured_error(
        specs,
        name,
        "only stored accounts can be admins (add one with `kioku user add --admin`)",
    )?;
    file::update(base, |users| {
        let others = users.iter().filter(|u| u.admin && u.name != name).count();
        let user = find(users, name)?;
        if keep_an_admin && !admin && user.admin && others == 0 {
            return Err(FileError::Refused(format!(
                "{name:?} is the only admin; make another user an admin first"
            )));
        }
        user.admin = admin;
        Ok(())
    })?;
    Ok(())
}

/// What [`import`] did, by user name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// New stored accounts.
    pub added: Vec<String>,
    /// Stored accounts that got the file's password (their devices log in again).
    pub changed: Vec<String>,
    /// Stored accounts that had that password already (left as they were).
    pub unchanged: Vec<String>,
    /// The account made an admin because there was none.
    pub admin: Option<String>,
}

/// Moves configured users (a settings file's `users`) into the users file:
/// a new name becomes a stored account, an existing account gets the
/// configured password unless it has it already, and when no stored account
/// is an admin the first configured user becomes one. All or nothing: every
/// user is checked (name, password rules; PHC strings with `hashed`) before
/// the file is written once.
pub fn import(base: &Path, specs: &[UserSpec], hashed: bool) -> Result<Imported, UsersError> {
    let stored = file::load(base)?;
    let mut wanted: Vec<(&UserSpec, Option<String>)> = Vec::new();
    for s in specs {
        let bad = |e: String| refused(format!("{}: user {:?}: {e}", s.source, s.name));
        validate_new_name(&s.name).map_err(|e| bad(e.to_string()))?;
        let current = stored.iter().find(|u| u.name == s.name);
        let phc = if hashed {
            file::check_phc(&s.secret).map_err(bad)?;
            (current.map(|u| u.password.as_str()) != Some(s.secret.as_str()))
                .then(|| s.secret.clone())
        } else {
            file::check_password(&s.secret).map_err(bad)?;
            match current {
                Some(u) if super::verify_phc(&u.password, &s.secret) => None,
                _ => Some(file::hash_password(&s.secret)),
            }
        };
        wanted.push((s, phc));
    }
    Ok(file::update(base, |users| {
        let mut out = Imported::default();
        for (spec, phc) in wanted {
            let name = spec.name.clone();
            match (users.iter_mut().find(|u| u.name == name), phc) {
                (Some(_), None) => out.unchanged.push(name),
                (Some(user), Some(phc)) => {
                    user.password = phc;
                    user.password_set = crate::clock::now_secs();
                    out.changed.push(name);
                }
                (None, phc) => {
                    // No new hash only for an account removed meanwhile.
                    let phc = phc.unwrap_or_else(|| match hashed {
                        true => spec.secret.clone(),
                        false => file::hash_password(&spec.secret),
                    });
                    users.push(new_user(&name, phc, false));
                    out.added.push(name);
                }
            }
        }
        if !users.iter().any(|u| u.admin) {
            if let Some(first) = specs.first() {
                find(users, &first.name)?.admin = true;
                out.admin = Some(first.name.clone());
            }
        }
        Ok(out)
    })?)
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
