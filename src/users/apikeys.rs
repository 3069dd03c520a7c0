//! AnkiConnect API keys: each key names the user whose collection it opens.
//!
//! Stored in `<base>/apikeys.json` (mode 0600, replaced atomically: temp
//! file, fsync, rename; changes serialised by a lock on
//! `<base>/apikeys.lock`). Only the SHA-256 of each key is kept — keys are
//! about 165 random bits, so a fast hash is enough — with an id (for `list` and
//! `revoke`), the user, the creation time and an optional label. The key
//! itself is shown once, when it is made. Removing a user revokes the
//! user's keys ([`revoke_user`]). A running server notices a
//! changed file at the next request (it compares the file's size, inode and
//! modification time) and reloads it, so `kioku apikey create`/`revoke`
//! need no restart. This module must not know HTTP.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::private;

/// The key file inside the data folder.
pub const KEYS_FILE: &str = "apikeys.json";
/// The lock that serialises changes of the key file.
pub const LOCK_FILE: &str = "apikeys.lock";
/// Characters of a key: lowercase letters and digits (easy to type on an
/// e-reader), 32 of them: about 165 bits.
const KEY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a valid key file: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("no API key with id {0:?} (see `kioku apikey list`)")]
    NoSuchKey(String),
    #[error(transparent)]
    BadUser(#[from] super::BadName),
}

/// One stored key (without the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Short id for listing and revoking.
    pub id: String,
    /// The user whose collection the key opens.
    pub user: String,
    /// Hex SHA-256 of the key.
    pub sha256: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// What the key is for (e.g. "yomitan laptop").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    keys: Vec<KeyEntry>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sha256_hex(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn read(path: &Path) -> Result<KeyFile, KeyError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| KeyError::Corrupt {
            path: path.to_owned(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(KeyFile {
            version: 1,
            keys: Vec::new(),
        }),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes the file atomically with mode 0600.
fn write(base: &Path, file: &KeyFile) -> Result<(), KeyError> {
    let path = base.join(KEYS_FILE);
    let json = serde_json::to_vec_pretty(file).expect("keys serialise");
    // As with users.toml, a key file root writes (`sudo kioku apikey create`
    // on the appliance) is given to the data folder's owner, so a server
    // running as that user can still read it (the lock file too).
    private::write(base, KEYS_FILE, "apikeys", &[&json, b"\n"]).map_err(io_err(&path))
}

/// The key file's change lock.
fn lock(base: &Path) -> Result<private::ChangeLock, KeyError> {
    private::ChangeLock::take(base, LOCK_FILE).map_err(io_err(&base.join(LOCK_FILE)))
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let limit = 256 - 256 % alphabet.len();
    while out.len() < len {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).expect("the OS random source works");
        for b in buf {
            // rejection sampling: no bias
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// Makes a key for `user` and stores its hash. Returns the key (to show
/// once) and its entry.
pub fn create(
    base: &Path,
    user: &str,
    label: Option<&str>,
) -> Result<(String, KeyEntry), KeyError> {
    super::validate_name(user)?;
    let _lock = lock(base)?;
    let path = base.join(KEYS_FILE);
    let mut file = read(&path)?;
    let key = random_from(KEY_ALPHABET, KEY_LEN);
    let id = loop {
        let id = random_from(b"0123456789abcdef", 8);
        if !file.keys.iter().any(|k| k.id == id) {
            break id;
        }
    };
    let entry = KeyEntry {
        id,
        user: user.to_owned(),
        sha256: sha256_hex(&key),
        created: crate::clock::now_secs(),
        label: label.map(str::to_owned),
    };
    file.version = 1;
    file.keys.push(entry.clone());
    write(base, &file)?;
    Ok((key, entry))
}

/// Every stored key.
pub fn list(base: &Path) -> Result<Vec<KeyEntry>, KeyError> {
    Ok(read(&base.join(KEYS_FILE))?.keys)
}

/// The keys of one user.
pub fn list_user(base: &Path, user: &str) -> Result<Vec<KeyEntry>, KeyError> {
    let mut keys = list(base)?;
    keys.retain(|k| k.user == user);
    Ok(keys)
}

/// Removes the key with this id.
pub fn revoke(base: &Path, id: &str) -> Result<KeyEntry, KeyError> {
    let mut gone = remove_where(base, |k| k.id == id)?;
    gone.pop().ok_or_else(|| KeyError::NoSuchKey(id.to_owned()))
}

/// Removes the key with this id if it is one of `user`'s (the admin page's
/// revoke button, which must not reach other users' keys).
pub fn revoke_of(base: &Path, user: &str, id: &str) -> Result<KeyEntry, KeyError> {
    let mut gone = remove_where(base, |k| k.id == id && k.user == user)?;
    gone.pop().ok_or_else(|| KeyError::NoSuchKey(id.to_owned()))
}

/// Removes every key of `user` (when the user is removed, so that a later
/// account of the same name does not inherit them); returns them.
pub fn revoke_user(base: &Path, user: &str) -> Result<Vec<KeyEntry>, KeyError> {
    if !base.join(KEYS_FILE).exists() {
        return Ok(Vec::new());
    }
    remove_where(base, |k| k.user == user)
}

/// Removes the keys `gone` selects, under the lock; the file is rewritten
/// only when something was removed.
fn remove_where(base: &Path, gone: impl Fn(&KeyEntry) -> bool) -> Result<Vec<KeyEntry>, KeyError> {
    let _lock = lock(base)?;
    let mut file = read(&base.join(KEYS_FILE))?;
    let (removed, kept): (Vec<KeyEntry>, Vec<KeyEntry>) = file.keys.into_iter().partition(gone);
    file.keys = kept;
    if !removed.is_empty() {
        write(base, &file)?;
    }
    Ok(removed)
}

/// The identity of the file's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    ino: u64,
    mtime_ns: i128,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = fs::metadata(path).ok()?;
    Some(Stamp {
        len: m.len(),
        ino: m.ino(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    })
}

#[derive(Default)]
struct Loaded {
    stamp: Option<Stamp>,
    /// SHA-256 of the key → user.
    users: HashMap<[u8; 32], String>,
}

/// The keys a running server checks requests against.
pub struct ApiKeys {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl ApiKeys {
    pub fn new(base: &Path) -> ApiKeys {
        ApiKeys {
            path: base.join(KEYS_FILE),
            loaded: Mutex::new(Loaded::default()),
        }
    }

    /// The user a key belongs to; reloads the key file first if it changed.
    /// A file that cannot be read keeps the keys loaded before (logged).
    pub fn user_for(&self, key: &str) -> Option<String> {
        let mut loaded = self.loaded.lock().expect("keys lock");
        let now = stamp(&self.path);
        if now != loaded.stamp {
            match read(&self.path) {
                Ok(file) => {
                    loaded.users = file
                        .keys
                        .into_iter()
                        .filter_map(|k| {
                            let hash: [u8; 32] = hex::decode(&k.sha256).ok()?.try_into().ok()?;
                            Some((hash, k.user))
                        })
                        .collect();
                    loaded.stamp = now;
                    tracing::info!(keys = loaded.users.len(), "loaded the API keys");
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the API keys; keeping the ones loaded before")
                }
            }
        }
        let wanted: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // Compare against every stored hash in constant time.
        let mut found = None;
        for (hash, user) in &loaded.users {
            if bool::from(hash.ct_eq(&wanted)) {
                found = Some(user.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PathBuf {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let dir = std::env::temp_dir().join(format!("kioku-keys-{}", hex::encode(b)));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn keys_written_by_root_belong_to_the_data_folders_owner() {
        // `sudo kioku apikey create` on the appliance: the server runs as the
        // data folder's owner and must still read the file and take the lock.
        // SAFETY: geteuid has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "this test needs root (the test suite runs as root, as CI does)"
        );
        let dir = base();
        std::os::unix::fs::chown(&dir, Some(4242), Some(4243)).unwrap();
        create(&dir, "alice", None).unwrap();
        for name in [KEYS_FILE, LOCK_FILE] {
            let meta = fs::metadata(dir.join(name)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (4242, 4243), "{name}");
        }
    }

    #[test]
    fn a_created_key_opens_its_user_until_it_is_revoked() {
        let dir = base();
        let keys = ApiKeys::new(&dir);
        assert_eq!(keys.user_for("nothing"), None);
        let (key, entry) = create(&dir, "alice", Some("laptop")).unwrap();
        assert_eq!(key.len(), KEY_LEN);
        assert!(key.bytes().all(|b| KEY_ALPHABET.contains(&b)));
        assert_eq!(keys.user_for(&key).as_deref(), Some("alice"));
        assert_eq!(keys.user_for(&key[1..]), None);
        let text = fs::read_to_string(dir.join(KEYS_FILE)).unwrap();
        assert!(!text.contains(&key), "the key itself is never stored");
        let mode = fs::metadata(dir.join(KEYS_FILE)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(list(&dir).unwrap(), vec![entry.clone()]);
        revoke(&dir, &entry.id).unwrap();
        assert_eq!(keys.user_for(&key), None);
        assert!(matches!(
            revoke(&dir, &entry.id),
            Err(KeyError::NoSuchKey(_))
        ));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_users_keys_are_revoked_together_and_only_theirs() {
        let dir = base();
        assert_eq!(revoke_user(&dir, "alice").unwrap(), vec![]);
        assert!(
            !dir.join(KEYS_FILE).exists(),
            "nothing to revoke: no file made"
        );
        let (a1, e1) = create(&dir, "alice", None).unwrap();
        let (_, e2) = create(&dir, "alice", Some("phone")).unwrap();
        let (b, eb) = create(&dir, "bob", None).unwrap();
        assert_eq!(list_user(&dir, "alice").unwrap(), vec![e1.clone(), e2]);
        assert!(matches!(
            revoke_of(&dir, "alice", &eb.id),
            Err(KeyError::NoSuchKey(_))
        ));
        assert_eq!(revoke_of(&dir, "alice", &e1.id).unwrap(), e1);
        let gone = revoke_user(&dir, "alice").unwrap();
        assert_eq!(gone.len(), 1);
        let keys = ApiKeys::new(&dir);
        assert_eq!(keys.user_for(&a1), None);
        assert_eq!(keys.user_for(&b).as_deref(), Some("bob"));
        assert_eq!(list(&dir).unwrap(), vec![eb]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_bad_user_name_or_a_corrupt_file_is_an_error() {
        let dir = base();
        assert!(create(&dir, "../x", None).is_err());
        fs::write(dir.join(KEYS_FILE), b"{not json").unwrap();
        assert!(matches!(list(&dir), Err(KeyError::Corrupt { .. })));
        fs::remove_dir_all(dir).unwrap();
    }
}
