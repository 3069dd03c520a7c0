//! Media sync: the `/msync/<method>` endpoints and the files behind them.
//!
//! Owns, per user and in the official server's layout (sync-protocol.md
//! §11.1): the media folder `<user>/media/` (one file per NFC name) and the
//! media index `<user>/media.db` ([`index`]). One file per endpoint group:
//! [`changes`] (`begin`, `mediaChanges`, `mediaSanity`), [`upload`]
//! (`uploadChanges`), [`download`] (`downloadFiles`); [`names`] decides which
//! names may touch the disk, [`reconcile`] repairs the folder and index at
//! start-up.
//!
//! Rules this module keeps:
//! - nothing is written outside the user's media folder except `media.db` and
//!   the upload journal next to it, and no name reaches a path unchecked;
//! - no file or zip is ever held in memory whole: uploads are read entry by
//!   entry from a temp file with limits, downloads are zips streamed from open
//!   file handles;
//! - a file is in place (fsynced, renamed) before its index row is committed,
//!   and a journal names the files a batch is about to touch, so after a
//!   crash [`reconcile`] can make the index agree with the folder.
//!
//! It must not know HTTP framing or compression (handlers take decoded JSON
//! or a decompressed temp file and return JSON or a [`std::io::Read`]), and
//! must not touch the collection: full syncs never reach this module.
//! Every call runs inside the user's [`UserSlot`], so one user's media
//! operations never overlap each other or a collection operation.

pub mod changes;
pub mod download;
pub mod index;
pub mod names;
pub mod reconcile;
pub mod upload;
mod zipcheck;

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::store::{StoreError, UserSlot};
pub use names::BadName;

/// The media folder inside a user's folder (official layout).
pub const MEDIA_DIR: &str = "media";
/// At most this many files per zip, either way (protocol).
pub const MAX_FILES_PER_ZIP: usize = 25;
/// Largest single media file (protocol): 100 MiB.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// The media-sync methods, as they appear in `/msync/<method>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Begin,
    MediaChanges,
    UploadChanges,
    DownloadFiles,
    MediaSanity,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Begin,
        Method::MediaChanges,
        Method::UploadChanges,
        Method::DownloadFiles,
        Method::MediaSanity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Begin => "begin",
            Method::MediaChanges => "mediaChanges",
            Method::UploadChanges => "uploadChanges",
            Method::DownloadFiles => "downloadFiles",
            Method::MediaSanity => "mediaSanity",
        }
    }

    /// Case-sensitive, exactly as the clients send them.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Errors of media sync; `http::error` maps each to a status, except
/// [`MediaError::BadName`], which the client is told in-band.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Malformed request: not a zip, bad `_meta`, a missing member, too many
    /// entries, a CRC mismatch, a missing client version (400).
    #[error("bad media request: {0}")]
    BadRequest(String),
    /// Over a size limit: a file over 100 MiB, too much uncompressed data (413).
    #[error("media upload over a limit: {0}")]
    TooLarge(String),
    /// A name kioku refuses to store (answered in-band, shown by the client).
    #[error(transparent)]
    BadName(#[from] BadName),
    /// A requested file is unknown, deleted, or missing from the folder (409).
    #[error("media file not available: {0}")]
    Missing(String),
    /// The index has a schema kioku does not know (500).
    #[error("media index: {0}")]
    Index(String),
    #[error("media index: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("media i/o: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The media folder of the user folder `user_dir`.
pub fn media_dir(user_dir: &Path) -> PathBuf {
    user_dir.join(MEDIA_DIR)
}

/// The media usn of the user folder `user_dir`: the index's `last_usn`, or 0
/// when the user has no index yet (which is then not created). For `meta`.
pub fn last_usn(user_dir: &Path) -> Result<i32, MediaError> {
    Ok(match index::Index::open_existing(user_dir)? {
        Some(index) => index.meta()?.last_usn,
        None => 0,
    })
}

/// Repairs every user's media folder and index at start-up; see [`reconcile`].
pub fn reconcile_all(base: &Path) {
    reconcile::all(base)
}

/// Runs `f` on the user's folder inside the user's slot.
async fn in_slot<R, F>(slot: &UserSlot, f: F) -> Result<R, MediaError>
where
    F: FnOnce(&Path) -> Result<R, MediaError> + Send + 'static,
    R: Send + 'static,
{
    let dir = slot.dir().to_owned();
    slot.run(move |_state| Ok(f(&dir))).await?
}

/// `begin`, `mediaChanges` and `mediaSanity`: JSON in, JSON `data` out.
pub async fn json_request(
    slot: &UserSlot,
    method: Method,
    input: Value,
    host_key: String,
) -> Result<Value, MediaError> {
    in_slot(slot, move |dir| match method {
        Method::Begin => changes::begin(dir, &input, &host_key),
        Method::MediaChanges => changes::media_changes(dir, &input),
        Method::MediaSanity => changes::media_sanity(dir, &input),
        other => Err(MediaError::BadRequest(format!(
            "{} does not take a JSON body",
            other.name()
        ))),
    })
    .await
}

/// `uploadChanges`: `zip` is the decompressed request body in a temp file
/// (removed here). The entries are checked and staged into temp files outside
/// the user's slot; only installing them takes the slot.
pub async fn upload_changes(slot: &UserSlot, zip: PathBuf) -> Result<Value, MediaError> {
    let dir = slot.dir().to_owned();
    let staged = tokio::task::spawn_blocking(move || {
        let result = upload::stage(&zip, &media_dir(&dir), &upload::Limits::default());
        crate::store::remove_quietly(&zip);
        result
    })
    .await
    .map_err(|e| MediaError::Io(io::Error::other(format!("upload task failed: {e}"))))??;
    in_slot(slot, move |dir| upload::apply(dir, staged)).await
}

/// `downloadFiles`: picks the files and opens them inside the slot; the zip
/// is then streamed from the open handles without it.
pub async fn download_files(
    slot: &UserSlot,
    input: Value,
) -> Result<download::ZipStream, MediaError> {
    in_slot(slot, move |dir| download::prepare(dir, &input)).await
}
