//! Full sync: `/sync/upload` replaces the user's collection with the client's
//! file, `/sync/download` sends the stored file. Media is never touched.
//!
//! The upload arrives here already decompressed into a temp file in the user's
//! folder (the HTTP layer streams it there within the size limit); this module
//! verifies it and installs it atomically, or leaves the old collection as it was.
//! The collection it replaces is kept as a snapshot first ([`crate::backup`]).

use std::path::PathBuf;

use super::{now_ms, SyncError};
use crate::backup;
use crate::collection::{verify_collection_file, CollectionError};
use crate::config::BackupSettings;
use crate::store::{remove_quietly, DownloadFile, UserSlot};

/// The reply to a successful upload.
pub const UPLOAD_OK: &str = "OK";
/// The reply (HTTP 200, shown by the client) when the collection is over the limit.
pub const UPLOAD_TOO_LARGE: &str = "collection exceeds size limit";
/// The reply (HTTP 200, shown by the client) for a file that is not a usable collection.
pub const UPLOAD_CORRUPT: &str =
    "Your upload was corrupt. Please use Check Database, or restore from backup.";

/// Verifies the uploaded file at `tmp` and, if it is a usable collection,
/// makes it the user's collection. Returns the text the client shows: `OK`, or
/// why the upload was refused (the old collection is then untouched). The
/// replaced collection is kept as a snapshot (per `backups`), compressed
/// after the user's lock is released.
pub async fn upload(
    slot: &UserSlot,
    tmp: PathBuf,
    backups: &BackupSettings,
) -> Result<String, SyncError> {
    let check_path = tmp.clone();
    let verified = tokio::task::spawn_blocking(move || verify_collection_file(&check_path))
        .await
        .map_err(|e| SyncError::BadRequest(format!("verification task failed: {e}")))?;
    match verified {
        Ok(()) => {}
        Err(e) => {
            remove_quietly(&tmp);
            return match e {
                CollectionError::UnsupportedSchema(ver) => {
                    tracing::warn!(
                        schema = ver,
                        "refused an upload with another schema version"
                    );
                    Ok(format!(
                        "kioku stores collections of schema version {}; this upload has version {ver}. \
                         Please update Anki, or kioku.",
                        crate::collection::SCHEMA_VERSION
                    ))
                }
                CollectionError::Invalid(reason) => {
                    tracing::warn!(%reason, "refused a corrupt upload");
                    Ok(UPLOAD_CORRUPT.to_owned())
                }
                other => Err(other.into()),
            };
        }
    }
    let install = tmp.clone();
    let settings = *backups;
    let result = slot
        .run(move |state| {
            let kept = backup::take::keep_before_upload(state, &settings);
            match state.replace_collection(&install) {
                Ok(()) => Ok(kept),
                Err(e) => {
                    if let Some(kept) = kept {
                        kept.discard();
                    }
                    Err(e)
                }
            }
        })
        .await;
    if result.is_err() {
        remove_quietly(&tmp);
    }
    if let Some(kept) = result? {
        backup::take::seal_after_upload(kept, backups).await;
    }
    Ok(UPLOAD_OK.to_owned())
}

/// Prepares the stored collection for a full download (creating it first for
/// a new user): the usn goes up by one and `mod` becomes now, as with the
/// official server.
pub async fn download(slot: &UserSlot) -> Result<DownloadFile, SyncError> {
    let now = now_ms();
    Ok(slot.run(move |state| state.prepare_download(now)).await?)
}
