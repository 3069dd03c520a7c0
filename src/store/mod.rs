//! Per-user storage handles under the data folder (the official server's
//! layout: `<base>/<user>/collection.anki2`).
//!
//! Each user has one owner of their open collection: a [`UserSlot`] whose
//! state is behind an async mutex and only touched inside `spawn_blocking`,
//! so one user's operations are serialised while users run in parallel and
//! SQLite never runs on the async worker threads. This module owns file
//! placement (temp files, atomic replacement, stale-file clean-up); it must not
//! know HTTP or the sync protocol's wire formats.
//!
//! Beside the slots: `session` (the state of a normal sync in progress),
//! `snapshot` (consistent copies for `crate::backup`), `lock` (the data
//! folder's lock, [`BaseLock`]) and `usage` (sizes and last changes, and
//! deleting a user's data).
//!
//! Consistency of full downloads: a download streams the collection file
//! through a file handle after the lock is released. While such a stream is
//! open the file is *pinned*: kioku never checkpoints the WAL into it
//! (automatic checkpoints and checkpoint-on-close are off), and a full upload
//! renames a new file over it, so the stream keeps reading one consistent
//! file. A second download while one is pinned streams a private snapshot.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::config::DbConfig;
use rusqlite::Connection;

use crate::collection::{self, CollectionError};

mod lock;
mod session;
mod snapshot;
pub use lock::{BaseLock, LockError, LOCK_FILE};
pub mod usage;
pub use session::{PendingIds, Session};
pub use snapshot::remove_temp_files_in;

/// The collection file name inside a user's folder (official layout).
pub const COLLECTION_FILE: &str = "collection.anki2";
/// Prefix and suffix of kioku's temporary files; any such file found at start
/// is a leftover of an interrupted operation and is removed.
const TEMP_PREFIX: &str = ".kioku-";
const TEMP_SUFFIX: &str = ".tmp";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{source_name} ({path}): {message}")]
    BaseUnusable {
        source_name: String,
        path: PathBuf,
        message: String,
    },
    #[error(transparent)]
    Collection(#[from] CollectionError),
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Collection(e.into())
    }
}

/// All users' slots.
pub struct Store {
    base: PathBuf,
    slots: Mutex<HashMap<String, Arc<UserSlot>>>,
}

impl Store {
    /// Opens (creating if needed) the data folder, checks it is writable and
    /// removes stale temporary files. `source_name` names the setting for
    /// error messages.
    pub fn open(base: &Path, source_name: &str) -> Result<Store, StoreError> {
        let unusable = |message: String| StoreError::BaseUnusable {
            source_name: source_name.to_owned(),
            path: base.to_owned(),
            message,
        };
        fs::create_dir_all(base).map_err(|e| unusable(format!("cannot create the folder: {e}")))?;
        let probe = base.join(format!("{TEMP_PREFIX}probe-{}{TEMP_SUFFIX}", random_hex()));
        fs::write(&probe, b"probe")
            .and_then(|_| fs::remove_file(&probe))
            .map_err(|e| unusable(format!("the folder is not writable: {e}")))?;
        fs::read_dir(base).map_err(|e| unusable(format!("the folder is not readable: {e}")))?;
        let removed = remove_stale_temp_files(base)?;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed stale temporary files from an interrupted run"
            );
        }
        Ok(Store {
            base: base.to_owned(),
            slots: Mutex::new(HashMap::new()),
        })
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Every slot opened so far.
    pub fn slots(&self) -> Vec<Arc<UserSlot>> {
        self.slots
            .lock()
            .expect("store lock")
            .values()
            .cloned()
            .collect()
    }

    /// The slot of `name` (a validated user name).
    pub fn user(&self, name: &str) -> Arc<UserSlot> {
        let mut slots = self.slots.lock().expect("store lock poisoned");
        slots
            .entry(name.to_owned())
            .or_insert_with(|| {
                let (session_open, _) = tokio::sync::watch::channel(false);
                let session_open = Arc::new(session_open);
                Arc::new(UserSlot {
                    name: name.to_owned(),
                    dir: self.base.join(name),
                    session_open: session_open.clone(),
                    state: Arc::new(tokio::sync::Mutex::new(UserState {
                        dir: self.base.join(name),
                        conn: None,
                        session: None,
                        session_open,
                        pins: Arc::new(AtomicUsize::new(0)),
                    })),
                })
            })
            .clone()
    }

    /// Checkpoints and closes every open collection (at shutdown, after the
    /// in-flight requests have finished).
    pub async fn close_all(&self) {
        let slots: Vec<_> = self
            .slots
            .lock()
            .expect("store lock")
            .values()
            .cloned()
            .collect();
        for slot in slots {
            if let Err(e) = slot.run(|state| state.close()).await {
                tracing::error!(error = %e, "closing a collection failed");
            }
        }
    }
}

/// One user's storage owner.
pub struct UserSlot {
    name: String,
    dir: PathBuf,
    /// Whether a normal sync's session (and its transaction) is open;
    /// changes when one begins or ends, so other writers can wait for it.
    session_open: Arc<tokio::sync::watch::Sender<bool>>,
    state: Arc<tokio::sync::Mutex<UserState>>,
}

impl UserSlot {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Watches whether a normal sync of this user is in progress: the value
    /// turns `false` when its session ends (committed, rolled back or
    /// expired).
    pub fn session_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.session_open.subscribe()
    }

    /// A fresh temp file path in the user's folder (created with the folder if
    /// needed), removed at the next start if left behind.
    pub fn temp_path(&self, purpose: &str) -> io::Result<PathBuf> {
        fs::create_dir_all(&self.dir)?;
        Ok(temp_path_in(&self.dir, purpose))
    }

    /// Runs `f` on the user's state on a blocking thread, after every earlier
    /// operation of this user has finished.
    pub async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut UserState) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let mut guard = self.state.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut guard))
            .await
            .map_err(|e| StoreError::Io(io::Error::other(format!("storage task failed: {e}"))))?
    }
}

impl UserSlot {
    /// Like [`UserSlot::run`], but only if no operation of this user is
    /// running or waiting; `None` otherwise.
    pub async fn try_run<R, F>(&self, f: F) -> Option<Result<R, StoreError>>
    where
        F: FnOnce(&mut UserState) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let mut guard = self.state.clone().try_lock_owned().ok()?;
        Some(
            tokio::task::spawn_blocking(move || f(&mut guard))
                .await
                .unwrap_or_else(|e| {
                    Err(StoreError::Io(io::Error::other(format!(
                        "storage task failed: {e}"
                    ))))
                }),
        )
    }
}

/// The state one user's operations work on.
pub struct UserState {
    dir: PathBuf,
    conn: Option<Connection>,
    /// The normal sync in progress, whose transaction is open on `conn`.
    session: Option<Session>,
    /// Tells [`UserSlot::session_watch`] watchers when `session` changes.
    session_open: Arc<tokio::sync::watch::Sender<bool>>,
    pins: Arc<AtomicUsize>,
}

/// A file ready to be streamed to a client for a full download. Holding it
/// keeps the collection file pinned (see the module doc).
pub struct DownloadFile {
    pub file: File,
    pub len: u64,
    _pin: Option<Pin>,
}

struct Pin(Arc<AtomicUsize>);

impl Drop for Pin {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl UserState {
    pub fn collection_path(&self) -> PathBuf {
        self.dir.join(COLLECTION_FILE)
    }

    fn pinned(&self) -> bool {
        self.pins.load(Ordering::SeqCst) > 0
    }

    /// The open collection, opening it (and creating it as the official server
    /// does, if the user has none yet) on first use.
    pub fn collection(&mut self, now_ms: i64) -> Result<&Connection, StoreError> {
        if self.conn.is_none() {
            let path = self.collection_path();
            if !path.exists() {
                fs::create_dir_all(&self.dir)?;
                let tmp = temp_path_in(&self.dir, "new");
                let created = collection::create_collection(&tmp, now_ms)
                    .map_err(StoreError::from)
                    .and_then(|_| install_file(&tmp, &path));
                if let Err(e) = created {
                    remove_quietly(&tmp);
                    return Err(e);
                }
                tracing::info!(path = %path.display(), "created a new collection");
            }
            let conn = collection::open(&path)?;
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_ref().expect("just opened"))
    }

    /// Size of the stored collection file in bytes (0 if there is none yet).
    pub fn collection_size(&self) -> u64 {
        fs::metadata(self.collection_path())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Moves committed changes from the WAL into the collection file, unless a
    /// download is streaming that file.
    pub fn checkpoint_if_unpinned(&mut self) -> Result<(), StoreError> {
        if let (Some(conn), false) = (&self.conn, self.pinned()) {
            checkpoint(conn)?;
        }
        Ok(())
    }

    /// Checkpoints (if nothing streams the file) and closes the collection.
    pub fn close(&mut self) -> Result<(), StoreError> {
        self.end_session(false)?;
        let pinned = self.pinned();
        if let Some(conn) = self.conn.take() {
            if !pinned {
                checkpoint(&conn)?;
                // Let SQLite remove the (now empty) WAL when it closes.
                conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
            }
            conn.close().map_err(|(_, e)| e)?;
        }
        Ok(())
    }

    /// Replaces the user's collection with `new_file`, a verified collection
    /// in the user's folder. The old file's WAL and shared-memory files belong
    /// to the old file and are removed before the new file takes its name.
    pub fn replace_collection(&mut self, new_file: &Path) -> Result<(), StoreError> {
        // With nothing streaming the old file, its WAL is folded in first, so
        // no committed change lives only in the WAL we are about to delete.
        self.close()?;
        let path = self.collection_path();
        for suffix in ["-wal", "-shm"] {
            let mut side = path.clone().into_os_string();
            side.push(suffix);
            match fs::remove_file(PathBuf::from(side)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        install_file(new_file, &path)
    }

    /// Prepares a full download: bumps the usn and `mod` as the official server
    /// does, then returns the file to stream — the collection itself, pinned,
    /// or, if another download is already streaming it, a private snapshot.
    pub fn prepare_download(&mut self, now_ms: i64) -> Result<DownloadFile, StoreError> {
        // As with the official server, a full sync ends any normal sync.
        self.end_session(false)?;
        let pins = self.pins.clone();
        let pinned = self.pinned();
        let path = self.collection_path();
        let snapshot = temp_path_in(&self.dir, "snapshot");
        let conn = self.collection(now_ms)?;
        collection::bump_for_download(conn, now_ms)?;
        if !pinned {
            checkpoint(conn)?;
            let file = File::open(&path)?;
            let len = file.metadata()?.len();
            pins.fetch_add(1, Ordering::SeqCst);
            return Ok(DownloadFile {
                file,
                len,
                _pin: Some(Pin(pins)),
            });
        }
        let result = (|| {
            conn.execute("vacuum into ?1", [snapshot.to_string_lossy()])?;
            let file = File::open(&snapshot)?;
            let len = file.metadata()?.len();
            Ok(DownloadFile {
                file,
                len,
                _pin: None,
            })
        })();
        // Unlinked at once: the open handle keeps the data until the stream ends.
        remove_quietly(&snapshot);
        result
    }
}

/// Moves everything committed in the WAL into the collection file and
/// empties the WAL.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("pragma wal_checkpoint(truncate)", [], |_| Ok(()))
}

/// fsyncs `tmp`, renames it to `dest` and fsyncs the folder, so after a crash
/// `dest` is either the old file or the complete new one.
pub fn install_file(tmp: &Path, dest: &Path) -> Result<(), StoreError> {
    File::open(tmp)?.sync_all()?;
    fs::rename(tmp, dest)?;
    if let Some(dir) = dest.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Replaces `path` with `bytes`, so that after a crash it is the old file or
/// the whole new one: a temp file beside it (made with `mode`, less the
/// umask; named for `purpose`, a name removed at start if left behind),
/// fsynced, renamed over `path`, the folder fsynced.
pub fn replace_file(path: &Path, purpose: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = temp_path_in(dir, purpose);
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        remove_quietly(&tmp);
    }
    written
}

/// A fresh temp file path in `dir` (a name removed at the next start if left behind).
pub fn temp_path_in(dir: &Path, purpose: &str) -> PathBuf {
    dir.join(format!(
        "{TEMP_PREFIX}{purpose}-{}{TEMP_SUFFIX}",
        random_hex()
    ))
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
        && (name.ends_with(TEMP_SUFFIX)
            || ["-wal", "-shm", "-journal"]
                .iter()
                .any(|s| name.ends_with(&format!("{TEMP_SUFFIX}{s}"))))
}

/// Removes kioku's temp files in `base` and in each user folder.
fn remove_stale_temp_files(base: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let mut dirs = vec![base.to_owned()];
    for entry in fs::read_dir(base)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    for dir in dirs {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if entry.file_type()?.is_file() && is_temp_name(&name.to_string_lossy()) {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

pub fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a temporary file");
        }
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_and_nothing_else() {
        assert!(is_temp_name(".kioku-upload-00ff.tmp"));
        assert!(is_temp_name(".kioku-upload-00ff.tmp-wal"));
        assert!(!is_temp_name("collection.anki2"));
        assert!(!is_temp_name("collection.anki2-wal"));
        assert!(!is_temp_name("media.db"));
    }

    #[test]
    fn opening_the_store_removes_stale_temp_files_only() {
        let base = std::env::temp_dir().join(format!("kioku-store-{}", random_hex()));
        let user = base.join("u");
        fs::create_dir_all(&user).unwrap();
        fs::write(user.join(".kioku-upload-1.tmp"), b"x").unwrap();
        fs::write(user.join(COLLECTION_FILE), b"keep").unwrap();
        Store::open(&base, "SYNC_BASE").unwrap();
        assert!(!user.join(".kioku-upload-1.tmp").exists());
        assert!(user.join(COLLECTION_FILE).exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn an_unwritable_base_is_an_error_naming_the_setting() {
        let base = std::env::temp_dir().join(format!("kioku-store-{}", random_hex()));
        fs::write(&base, b"a file, not a folder").unwrap();
        let err = Store::open(&base, "SYNC_BASE").err().expect("must fail");
        assert!(err.to_string().starts_with("SYNC_BASE"), "{err}");
        fs::remove_file(&base).unwrap();
    }
}
