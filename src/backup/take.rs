//! Taking snapshots of collections about to be replaced, and what every
//! snapshot has to pass to be worth keeping.
//!
//! Before a full upload: the copy is made inside the upload's own turn on the
//! user's lock (usually a hard link, see
//! [`crate::store::UserState::keep_current`]), and compressed by
//! [`seal_after_upload`] once the lock is released. A failed snapshot is
//! logged and never fails the upload: syncing keeps working on a full disk.

use std::path::Path;

use rusqlite::Connection;

use super::{keep_count, prune, BackupError, Kind, Pending, SnapshotInfo};
use crate::config::BackupSettings;
use crate::store::{StoreError, UserState};

/// A collection without notes and without review history (e.g. the empty one
/// kioku creates for a new account) is not worth a snapshot.
pub(super) fn worth_keeping(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "select exists(select 1 from notes) or exists(select 1 from revlog)",
        [],
        |r| r.get(0),
    )?)
}

/// Keeps the user's current collection as a pending snapshot of `kind`, right
/// before it is replaced; `None` when there is nothing worth keeping. Runs
/// inside the user's [`crate::store::UserSlot::run`].
pub(super) fn keep_current(
    state: &mut UserState,
    kind: Kind,
    now_ms: i64,
) -> Result<Option<Pending>, BackupError> {
    let user_dir = user_dir(state);
    let pending = Pending::new(&user_dir, kind, now_ms)?;
    match state.keep_current(&pending.raw, now_ms, worth_keeping) {
        Ok(true) => Ok(Some(pending)),
        Ok(false) => {
            pending.discard();
            Ok(None)
        }
        Err(e) => {
            pending.discard();
            Err(e.into())
        }
    }
}

fn user_dir(state: &UserState) -> std::path::PathBuf {
    state
        .collection_path()
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

/// Called inside the upload's turn on the user's lock, right before the
/// uploaded file replaces the collection: keeps the current one (unless
/// backups or upload snapshots are off). Never fails: a problem is logged and
/// the upload goes on.
pub fn keep_before_upload(state: &mut UserState, settings: &BackupSettings) -> Option<Pending> {
    if !settings.enabled || settings.keep_upload == 0 {
        return None;
    }
    match keep_current(state, Kind::Upload, crate::clock::now_ms()) {
        Ok(pending) => pending,
        Err(e) => {
            tracing::error!(error = %e, "could not keep the collection a full upload replaces");
            None
        }
    }
}

/// Compresses a snapshot kept by [`keep_before_upload`] (after the lock is
/// released) and prunes the user's upload snapshots. Never fails; logs.
pub async fn seal_after_upload(
    pending: Pending,
    settings: &BackupSettings,
) -> Option<SnapshotInfo> {
    let keep = keep_count(settings, Kind::Upload);
    let sealed = tokio::task::spawn_blocking(move || seal_and_prune(pending, keep)).await;
    match sealed {
        Ok(Ok(info)) => Some(info),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not write the snapshot of the replaced collection");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "snapshot task failed");
            None
        }
    }
}

/// Compresses `pending` into its snapshot file and removes the oldest of its
/// kind beyond `keep`.
pub(super) fn seal_and_prune(pending: Pending, keep: usize) -> Result<SnapshotInfo, BackupError> {
    let dir = pending.dir.clone();
    let started = std::time::Instant::now();
    let info = pending.seal()?;
    let user = dir.parent().and_then(Path::file_name);
    tracing::info!(
        user = %user.unwrap_or_default().to_string_lossy(),
        snapshot = %info.name,
        bytes = info.size,
        ms = started.elapsed().as_millis() as u64,
        "kept a snapshot ({})",
        info.kind.describe()
    );
    prune(&dir, info.kind, keep)?;
    Ok(info)
}
