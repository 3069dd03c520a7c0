//! Backups: zstd-compressed snapshots of each user's collection in
//! `<base>/<user>/backups/`, named `<kind>-<UTC time>.anki2.zst` (see
//! [`names`]).
//!
//! This module owns when snapshots are taken ([`take`]: before a full upload
//! replaces a collection; [`daily`]: once per backup day for every user whose
//! collection changed; [`restore`]: before a restore replaces one), how they
//! are written (a consistent copy made under the user's lock, compressed
//! after the lock is released, then temp file + fsync + rename, so a crash
//! never leaves a half snapshot under a listed name), how many are kept, and
//! listing, opening (for a download) and restoring them.
//!
//! It must not read or write a collection except through the user's
//! [`crate::store::UserSlot`] (so every copy and every replacement is
//! serialised with that user's syncs), must not hold the user's lock while
//! compressing (the one exception: the snapshot a restore takes of the
//! collection it is about to replace), must not touch media, and knows no
//! HTTP.

pub mod cli;
pub mod daily;
pub mod names;
pub mod restore;
pub mod take;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, Utc};

use crate::config::BackupSettings;
use crate::store::StoreError;
pub use names::{BadName, Kind, SnapshotName, SUFFIX};
pub use restore::{restore, Restored};

/// The folder of a user's snapshots, inside the user's folder (the official
/// server ignores it).
pub const BACKUP_DIR: &str = "backups";
/// zstd level: fast on a small board, and collections compress well anyway.
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    BadName(#[from] BadName),
    #[error(transparent)]
    BadUser(#[from] crate::users::BadName),
    #[error("user {user:?} has no snapshot {name} (see `kioku backup list {user}`)")]
    NotFound { user: String, name: String },
    #[error("snapshot {name} is not a usable collection: {reason}")]
    Unusable { name: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// One stored snapshot, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The file name (what `restore` and downloads take).
    pub name: String,
    pub kind: Kind,
    pub taken: DateTime<Utc>,
    /// Compressed size in bytes.
    pub size: u64,
}

/// A snapshot opened for download: the compressed file as stored (serve it
/// as `application/zstd`; `zstd -d` turns it into a `collection.anki2`).
pub struct SnapshotFile {
    pub file: File,
    pub len: u64,
    pub name: String,
}

/// `<base>/<user>/backups`.
pub fn dir(base: &Path, user: &str) -> PathBuf {
    base.join(user).join(BACKUP_DIR)
}

/// A user's snapshots, newest first. A user without any has an empty list;
/// files that are not snapshots (e.g. a crash's temporary files) are ignored.
pub fn list(base: &Path, user: &str) -> Result<Vec<SnapshotInfo>, BackupError> {
    crate::users::validate_name(user)?;
    Ok(list_dir(&dir(base, user))?)
}

/// Every user folder's snapshots, by user name (users without snapshots are
/// left out).
pub fn list_all(base: &Path) -> Result<Vec<(String, Vec<SnapshotInfo>)>, BackupError> {
    let mut out = Vec::new();
    for user in user_folders(base)? {
        let snapshots = list_dir(&dir(base, &user))?;
        if !snapshots.is_empty() {
            out.push((user, snapshots));
        }
    }
    Ok(out)
}

/// Opens a snapshot for streaming (never read into memory here). `name` is
/// checked to be a snapshot name, so it cannot leave the backups folder.
pub fn open(base: &Path, user: &str, name: &str) -> Result<SnapshotFile, BackupError> {
    crate::users::validate_name(user)?;
    SnapshotName::parse(name)?;
    let path = dir(base, user).join(name);
    let file = File::open(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => BackupError::NotFound {
            user: user.to_owned(),
            name: name.to_owned(),
        },
        _ => e.into(),
    })?;
    let len = file.metadata()?.len();
    Ok(SnapshotFile {
        file,
        len,
        name: name.to_owned(),
    })
}

/// Removes what an interrupted snapshot left in any user's backups folder
/// (temporary files only; called at start, before anything is served).
pub fn clean_leftovers(base: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for user in user_folders(base)? {
        removed += crate::store::remove_temp_files_in(&dir(base, &user))?;
    }
    Ok(removed)
}

/// How many snapshots of `kind` a user keeps. At least one `restore`
/// snapshot is always kept, so a restore can be undone.
pub fn keep_count(settings: &BackupSettings, kind: Kind) -> usize {
    match kind {
        Kind::Upload => settings.keep_upload as usize,
        Kind::Daily => settings.keep_daily as usize,
        Kind::Restore => settings.keep_upload.max(1) as usize,
    }
}

/// Removes the oldest snapshots of `kind` in `dir` beyond the newest `keep`;
/// returns the removed names.
pub fn prune(dir: &Path, kind: Kind, keep: usize) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for old in list_dir(dir)?
        .into_iter()
        .filter(|s| s.kind == kind)
        .skip(keep)
    {
        match fs::remove_file(dir.join(&old.name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => removed.push(old.name),
        }
    }
    if !removed.is_empty() {
        tracing::info!(dir = %dir.display(), kind = kind.name(), ?removed, "removed old snapshots");
    }
    Ok(removed)
}

fn list_dir(dir: &Path) -> io::Result<Vec<SnapshotInfo>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Ok(parsed) = SnapshotName::parse(&name) else {
            continue;
        };
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        out.push(SnapshotInfo {
            name,
            kind: parsed.kind,
            taken: parsed.taken(),
            size: meta.len(),
        });
    }
    out.sort_by(|a, b| b.taken.cmp(&a.taken).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// The folders under `base` that hold a user's data (a valid user name with
/// a collection or a backups folder), sorted.
fn user_folders(base: &Path) -> io::Result<Vec<String>> {
    let mut users = Vec::new();
    for entry in fs::read_dir(base)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = entry.path();
        if entry.file_type()?.is_dir()
            && crate::users::validate_name(&name).is_ok()
            && (path.join(crate::store::COLLECTION_FILE).is_file()
                || path.join(BACKUP_DIR).is_dir())
        {
            users.push(name);
        }
    }
    users.sort();
    Ok(users)
}

/// The last timestamp handed to a snapshot in each backups folder by this
/// process: the next one there is later, so two never share a name. (Only
/// one process works on a data folder: see [`crate::store::BaseLock`].)
static LAST_TAKEN_MS: LazyLock<Mutex<HashMap<PathBuf, i64>>> = LazyLock::new(Default::default);

fn unique_ms(dir: &Path, wanted: i64) -> i64 {
    let mut last = LAST_TAKEN_MS.lock().expect("snapshot times lock");
    let slot = last.entry(dir.to_owned()).or_insert(i64::MIN);
    *slot = wanted.max(slot.saturating_add(1));
    *slot
}

/// A consistent, uncompressed copy of a collection (a temporary file in the
/// backups folder) waiting to become a snapshot.
#[derive(Debug)]
pub struct Pending {
    raw: PathBuf,
    dir: PathBuf,
    name: SnapshotName,
}

impl Pending {
    /// Reserves a name of `kind` at `at_ms` (or just after it) and a temp path
    /// for the copy; creates the backups folder if needed.
    fn new(user_dir: &Path, kind: Kind, at_ms: i64) -> io::Result<Pending> {
        let dir = user_dir.join(BACKUP_DIR);
        fs::create_dir_all(&dir)?;
        let name = SnapshotName {
            kind,
            taken_ms: unique_ms(&dir, at_ms),
        };
        Ok(Pending {
            raw: crate::store::temp_path_in(&dir, "raw"),
            dir,
            name,
        })
    }

    /// Forgets the copy (removing it if it was written).
    pub fn discard(self) {
        crate::store::remove_quietly(&self.raw);
    }

    /// Compresses the copy into its snapshot file: temp file, fsync, rename,
    /// fsync of the folder; the copy is removed either way.
    fn seal(self) -> Result<SnapshotInfo, BackupError> {
        let tmp = crate::store::temp_path_in(&self.dir, "snapshot");
        let dest = self.dir.join(self.name.file_name());
        let result = (|| -> Result<u64, BackupError> {
            let mut src = BufReader::with_capacity(1 << 17, File::open(&self.raw)?);
            let mut encoder = zstd::stream::Encoder::new(File::create(&tmp)?, ZSTD_LEVEL)?;
            encoder.include_checksum(true)?;
            io::copy(&mut src, &mut encoder)?;
            let out = encoder.finish()?;
            let size = out.metadata()?.len();
            drop(out);
            if dest.exists() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists", dest.display()),
                )
                .into());
            }
            crate::store::install_file(&tmp, &dest)?;
            Ok(size)
        })();
        crate::store::remove_quietly(&self.raw);
        match result {
            Ok(size) => Ok(SnapshotInfo {
                name: self.name.file_name(),
                kind: self.name.kind,
                taken: self.name.taken(),
                size,
            }),
            Err(e) => {
                crate::store::remove_quietly(&tmp);
                Err(e)
            }
        }
    }
}
