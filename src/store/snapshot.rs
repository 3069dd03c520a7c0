//! Consistent copies of a user's collection for `crate::backup`: the
//! mechanisms only (which file, which SQLite call, under the user's lock);
//! when a copy is taken, where it goes and how long it is kept is decided in
//! `crate::backup`.
//!
//! Both copies run inside [`super::UserSlot::run`], so they are serialised
//! with every sync of the user and see exactly the last committed state.

use std::fs;
use std::io;
use std::path::Path;

use rusqlite::Connection;

use super::{StoreError, UserState};

impl UserState {
    /// True when the collection file exists (a copy has something to copy).
    pub fn has_collection(&self) -> bool {
        self.collection_path().is_file()
    }

    /// Copies the last committed collection to `dest` (a new file) with
    /// `VACUUM INTO` on the user's connection, if `keep` says the collection
    /// is worth it. Opens the collection if needed and closes it again if it
    /// was not open. Returns false (nothing written) when there is no
    /// collection, `keep` declines, or a normal sync's transaction is open (a
    /// copy never waits for or disturbs a sync; the caller tries later).
    pub fn copy_committed(
        &mut self,
        dest: &Path,
        now_ms: i64,
        keep: impl FnOnce(&Connection) -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        if !self.has_collection() || self.session.is_some() {
            return Ok(false);
        }
        let was_open = self.conn.is_some();
        let result = (|| {
            let conn = self.collection(now_ms)?;
            if !keep(conn)? {
                return Ok(false);
            }
            vacuum_into(conn, dest)?;
            Ok(true)
        })();
        if !was_open {
            self.close()?;
        }
        result
    }

    /// Keeps the current collection as `dest` right before it is replaced
    /// (by a full upload or a restore), if `keep` says it is worth it. Ends
    /// any normal sync first (rolled back, as a full sync does). With nothing
    /// streaming the file, the collection is checkpointed and closed and
    /// `dest` becomes a second name of the file (a hard link: no copy, and
    /// the file is never written again — the replacement is a new file
    /// renamed over the name). Otherwise (a download streams it, or the
    /// folder cannot hold hard links) `VACUUM INTO` copies it.
    pub fn keep_current(
        &mut self,
        dest: &Path,
        now_ms: i64,
        keep: impl FnOnce(&Connection) -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        self.end_session(false)?;
        if !self.has_collection() {
            return Ok(false);
        }
        if !keep(self.collection(now_ms)?)? {
            return Ok(false);
        }
        if !self.pinned() {
            self.close()?;
            match fs::hard_link(self.collection_path(), dest) {
                Ok(()) => return Ok(true),
                Err(e) => tracing::debug!(error = %e, "no hard link; copying instead"),
            }
        }
        vacuum_into(self.collection(now_ms)?, dest)?;
        Ok(true)
    }
}

fn vacuum_into(conn: &Connection, dest: &Path) -> Result<(), StoreError> {
    conn.execute("vacuum into ?1", [dest.to_string_lossy()])?;
    Ok(())
}

/// Removes kioku's temporary files (see [`super::is_temp_name`]) from `dir`;
/// a missing folder has none.
pub fn remove_temp_files_in(dir: &Path) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() && super::is_temp_name(&entry.file_name().to_string_lossy())
        {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}
