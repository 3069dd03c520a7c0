//! What a user's data takes and when it last changed, for the admin page and
//! `kioku status`; and removing a user's data. Reads only sizes and times
//! (never opens a collection), so it is safe while the server runs and when
//! it does not.

use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::{Store, COLLECTION_FILE};
use crate::media::MEDIA_DIR;

/// Sizes and the last change of one user's folder.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UserUsage {
    /// The collection file plus its WAL, in bytes.
    pub collection_bytes: u64,
    pub media_bytes: u64,
    pub media_files: u64,
    /// The newest modification time of the collection, its WAL and the
    /// media index (Unix seconds); `None` when the user has no data yet.
    pub last_change: Option<i64>,
}

/// The usage of `<base>/<name>/` (a validated user name).
pub fn user_usage(base: &Path, name: &str) -> UserUsage {
    let dir = base.join(name);
    let mut usage = UserUsage::default();
    let mut newest: Option<SystemTime> = None;
    for (file, counts) in [
        (COLLECTION_FILE.to_owned(), true),
        (format!("{COLLECTION_FILE}-wal"), true),
        ("media.db".to_owned(), false),
    ] {
        if let Ok(meta) = fs::metadata(dir.join(&file)) {
            if counts {
                usage.collection_bytes += meta.len();
            }
            if let Ok(m) = meta.modified() {
                newest = newest.max(Some(m));
            }
        }
    }
    usage.last_change = newest.and_then(crate::clock::unix_secs);
    if let Ok(entries) = fs::read_dir(dir.join(MEDIA_DIR)) {
        for entry in entries.flatten() {
            if let Ok(meta) = entry.metadata() {
                if meta.is_file() {
                    usage.media_bytes += meta.len();
                    usage.media_files += 1;
                }
            }
        }
    }
    usage
}

/// Bytes of every file under `dir` (symbolic links are not followed).
pub fn folder_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
}

/// Removes `<base>/<name>/` (a validated, non-reserved user name) when the
/// server is not running; whether there was one. A symbolic link is removed,
/// never followed.
pub fn delete_user_folder(base: &Path, name: &str) -> io::Result<bool> {
    let dir = base.join(name);
    match fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&dir).map(|_| true),
        Ok(_) => fs::remove_file(&dir).map(|_| true),
    }
}

impl Store {
    /// Closes `name`'s collection (after the user's running operations) and
    /// forgets the slot, e.g. after the user was removed.
    pub async fn close_user(&self, name: &str) {
        let slot = self.slots.lock().expect("store lock").remove(name);
        if let Some(slot) = slot {
            if let Err(e) = slot.run(|state| state.close()).await {
                tracing::error!(user = name, error = %e, "closing a collection failed");
            }
        }
    }

    /// Removes a (removed) user's folder while serving: inside the user's
    /// slot, after their running operations, with the collection closed.
    pub async fn delete_user_data(&self, name: &str) -> io::Result<bool> {
        let slot = self.user(name);
        let base = self.base.clone();
        let owned = name.to_owned();
        let result = slot
            .run(move |state| {
                state.close()?;
                Ok(delete_user_folder(&base, &owned)?)
            })
            .await;
        self.slots.lock().expect("store lock").remove(name);
        result.map_err(|e| io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_the_collection_its_wal_and_media_files() {
        let base = std::env::temp_dir().join(format!("kioku-usage-{}", super::super::random_hex()));
        let user = base.join("u");
        fs::create_dir_all(user.join(MEDIA_DIR)).unwrap();
        assert!(user_usage(&base, "u").last_change.is_none());
        fs::write(user.join(COLLECTION_FILE), vec![0u8; 100]).unwrap();
        fs::write(user.join("collection.anki2-wal"), vec![0u8; 20]).unwrap();
        fs::write(user.join(MEDIA_DIR).join("a.jpg"), vec![0u8; 7]).unwrap();
        fs::write(user.join(MEDIA_DIR).join("b.mp3"), vec![0u8; 5]).unwrap();
        let u = user_usage(&base, "u");
        assert_eq!(
            (u.collection_bytes, u.media_bytes, u.media_files),
            (120, 12, 2)
        );
        assert!(u.last_change.unwrap() > 1_600_000_000);
        assert_eq!(folder_bytes(&base), 132);
        assert!(delete_user_folder(&base, "u").unwrap());
        assert!(!user.exists());
        assert!(!delete_user_folder(&base, "u").unwrap());
        fs::remove_dir_all(&base).unwrap();
    }
}
