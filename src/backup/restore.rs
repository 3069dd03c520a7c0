//! Restoring a snapshot: it becomes the user's collection, and every device
//! is made to take it with a full sync.
//!
//! The snapshot is decompressed to a temp file in the user's folder, checked
//! like an upload (SQLite integrity check, schema 18) and stamped with a new
//! schema time and modification time (`scm` = `mod` = now), all without the
//! user's lock. Then, in one turn on the user's lock: any normal sync is
//! rolled back, the current collection is kept as a `restore` snapshot (and
//! compressed right there, so the restore can always be undone), and the
//! restored file is renamed over the collection. A crash at any point leaves
//! either the old collection or the restored one, never a mix.
//!
//! Why the stamp: a client compares `meta`'s `mod` first (equal: nothing to
//! do) and then `scm` (different: full sync). With both new, every device is
//! told a full sync is needed: one without cards downloads at once, one with
//! cards asks its user to choose, and *Download* fetches the restored
//! collection. Without it a device whose `scm` matched the snapshot would run
//! a normal sync against the older collection and the two would drift apart.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::take::{keep_current, seal_and_prune};
use super::{keep_count, open, BackupError, Kind, SnapshotInfo};
use crate::collection::{self, CollectionError};
use crate::config::BackupSettings;
use crate::store::{remove_quietly, Store, UserSlot};

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The snapshot now in place.
    pub from: String,
    /// The snapshot of the collection it replaced (None if that collection
    /// had nothing worth keeping).
    pub undo: Option<SnapshotInfo>,
}

/// Makes snapshot `name` the collection of `user`, in the running process
/// that owns `store` (the server — from the admin page or the control
/// socket —, or the CLI when no server runs). Safe while syncs run: it waits
/// for the user's current operation, ends a normal sync in progress, and a
/// download already streaming keeps its file. Once started it runs to its
/// end on its own task, even if the caller goes away (a browser tab closed,
/// an interrupted `kioku backup restore`).
pub async fn restore(
    store: &Store,
    settings: &BackupSettings,
    user: &str,
    name: &str,
) -> Result<Restored, BackupError> {
    let snapshot = open(store.base(), user, name)?;
    let slot = store.user(user);
    let (settings, user, name) = (*settings, user.to_owned(), name.to_owned());
    tokio::spawn(async move { restore_into(slot, settings, snapshot.file, &user, &name).await })
        .await
        .map_err(|e| io::Error::other(format!("restore task failed: {e}")))?
}

async fn restore_into(
    slot: Arc<UserSlot>,
    settings: BackupSettings,
    snapshot: File,
    user: &str,
    name: &str,
) -> Result<Restored, BackupError> {
    let tmp = slot.temp_path("restore")?;
    let now = crate::clock::now_ms();
    let prepared = {
        let tmp = tmp.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || prepare(snapshot, &tmp, &name, now))
            .await
            .map_err(|e| io::Error::other(format!("restore task failed: {e}")))?
    };
    if let Err(e) = prepared {
        remove_temp(&tmp);
        return Err(e);
    }
    let keep = keep_count(&settings, Kind::Restore);
    let install = tmp.clone();
    let result = slot
        .run(move |state| {
            let undo = match keep_current(state, Kind::Restore, now) {
                Ok(Some(pending)) => match seal_and_prune(pending, keep) {
                    Ok(info) => Some(info),
                    Err(e) => return Ok(Err(e)),
                },
                Ok(None) => None,
                Err(e) => return Ok(Err(e)),
            };
            state.replace_collection(&install)?;
            Ok(Ok(undo))
        })
        .await;
    let undo = match result {
        Ok(Ok(undo)) => undo,
        Ok(Err(e)) => {
            remove_temp(&tmp);
            return Err(e);
        }
        Err(e) => {
            remove_temp(&tmp);
            return Err(e.into());
        }
    };
    tracing::info!(
        user,
        snapshot = name,
        undo = undo.as_ref().map(|u| u.name.as_str()),
        "restored a snapshot; every device will be asked for a full sync"
    );
    Ok(Restored {
        from: name.to_owned(),
        undo,
    })
}

/// Decompresses the snapshot into `tmp`, checks it and stamps `scm` and
/// `mod` with `now_ms`.
fn prepare(file: File, tmp: &Path, name: &str, now_ms: i64) -> Result<(), BackupError> {
    let unusable = |reason: String| BackupError::Unusable {
        name: name.to_owned(),
        reason,
    };
    {
        let mut out = File::create(tmp)?;
        zstd::stream::copy_decode(BufReader::with_capacity(1 << 17, file), &mut out)
            .map_err(|e| unusable(format!("cannot decompress: {e}")))?;
        out.sync_all()?;
    }
    collection::verify_collection_file(tmp).map_err(|e| match e {
        CollectionError::Invalid(_) | CollectionError::UnsupportedSchema(_) => {
            unusable(e.to_string())
        }
        other => BackupError::Store(other.into()),
    })?;
    let conn = collection::open(tmp).map_err(crate::store::StoreError::from)?;
    conn.execute("update col set scm = ?1, mod = ?1", [now_ms])
        .map_err(crate::store::StoreError::from)?;
    conn.close()
        .map_err(|(_, e)| crate::store::StoreError::from(e))?;
    Ok(())
}

/// Removes a restore's temp file and the WAL files SQLite may have left
/// beside it.
fn remove_temp(tmp: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = tmp.as_os_str().to_owned();
        path.push(suffix);
        remove_quietly(&PathBuf::from(path));
    }
}
