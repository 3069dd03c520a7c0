//! Keeping the media folder and the index in agreement across crashes.
//!
//! An upload batch writes `<user>/.kioku-media-journal` (the names it is
//! about to touch, fsynced) before it moves any file, and removes it after
//! the index commit. If kioku stops in between, the folder may hold new
//! files (or lack deleted ones) that the index does not record yet. At start
//! (and right after a failed batch) [`replay_journal`] looks at each named
//! file and records what is really there: a file present with a checksum the
//! index does not have is recorded as added or replaced, a live row whose
//! file is gone becomes a deletion, each with a new usn, so every client
//! hears of it. Temp files left in the media folder are removed, and the
//! index's totals are recounted from its rows.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use super::index::{Index, INDEX_FILE};
use super::{media_dir, names, MediaError};

/// The upload journal, next to `media.db` in the user's folder.
pub const JOURNAL_FILE: &str = ".kioku-media-journal";
const TEMP_SUFFIX: &str = ".tmp";

/// A fresh temp file path in the media folder (`.kioku-<purpose>-<hex>.tmp`,
/// the store's temp names; media names with that prefix are refused, see
/// [`names::RESERVED_PREFIX`]).
pub fn temp_path(media: &Path, purpose: &str) -> PathBuf {
    crate::store::temp_path_in(media, purpose)
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with(names::RESERVED_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// Records the names a batch is about to touch, durably.
pub fn write_journal(user_dir: &Path, touched: &[&str]) -> Result<(), MediaError> {
    let path = user_dir.join(JOURNAL_FILE);
    let text = serde_json::to_vec(touched).expect("names serialise");
    let mut file = File::create(&path)?;
    io::Write::write_all(&mut file, &text)?;
    file.sync_all()?;
    File::open(user_dir)?.sync_all()?;
    Ok(())
}

pub fn remove_journal(user_dir: &Path) {
    crate::store::remove_quietly(&user_dir.join(JOURNAL_FILE));
}

/// Makes the index agree with the folder for every name in the journal (if
/// there is one), then removes it. Returns how many rows it changed.
pub fn replay_journal(user_dir: &Path) -> Result<usize, MediaError> {
    let path = user_dir.join(JOURNAL_FILE);
    let text = match fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    // A journal cut short was never complete, so no file had moved yet.
    let touched: Vec<String> = serde_json::from_slice(&text).unwrap_or_default();
    let media = media_dir(user_dir);
    let mut index = Index::open(user_dir)?;
    let changed = index.transaction(|c| {
        let mut changed = 0;
        for name in &touched {
            if names::check_component(name).is_err() {
                continue;
            }
            let row = c.live_entry(name)?;
            match hash_file(&media.join(name))? {
                Some((sha1, size)) if size > 0 => {
                    if row.as_ref().map(|r| r.sha1.as_slice()) != Some(&sha1[..]) {
                        c.put(name, &sha1, size)?;
                        changed += 1;
                    }
                }
                found => {
                    if found.is_some() {
                        // An empty file cannot be a live entry.
                        fs::remove_file(media.join(name))?;
                    }
                    if let Some(row) = row {
                        c.delete(&row)?;
                        changed += 1;
                    }
                }
            }
        }
        Ok(changed)
    })?;
    if changed > 0 {
        tracing::warn!(
            dir = %user_dir.display(),
            changed,
            "media index repaired from an interrupted upload"
        );
    }
    fs::remove_file(&path)?;
    Ok(changed)
}

/// SHA-1 and size of a regular file, streamed; `None` if it does not exist.
fn hash_file(path: &Path) -> Result<Option<([u8; 20], u64)>, MediaError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some((hasher.finalize().into(), size)))
}

/// Start-up repair of one user folder: temp files, journal, totals.
pub fn user(user_dir: &Path) -> Result<(), MediaError> {
    let media = media_dir(user_dir);
    if let Ok(entries) = fs::read_dir(&media) {
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if entry.file_type()?.is_file() && is_temp_name(&name.to_string_lossy()) {
                fs::remove_file(entry.path())?;
                tracing::info!(path = %entry.path().display(), "removed a stale media temp file");
            }
        }
    }
    replay_journal(user_dir)?;
    if user_dir.join(INDEX_FILE).exists() {
        let mut index = Index::open(user_dir)?;
        if index.transaction(|c| c.recount())? {
            tracing::warn!(dir = %user_dir.display(), "media index totals recounted");
        }
    }
    Ok(())
}

/// [`user`] for every user folder under `base`; failures are logged, not fatal
/// (one user's damaged index must not keep the others from syncing).
pub fn all(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let dir = entry.path();
            if let Err(e) = user(&dir) {
                tracing::error!(dir = %dir.display(), error = %e, "media start-up check failed");
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn temp_user_dir() -> PathBuf {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        let dir = std::env::temp_dir().join(format!("kioku-media-{}", hex::encode(bytes)));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sha1(data: &[u8]) -> Vec<u8> {
        Sha1::digest(data).to_vec()
    }

    #[test]
    fn temp_names_are_ones_media_sync_refuses_and_start_up_removes() {
        let tmp = temp_path(Path::new("/m"), "upload");
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".kioku-upload-"), "{name}");
        assert!(is_temp_name(name), "{name}");
        assert!(names::for_upload(name).is_err(), "{name}");
    }

    #[test]
    fn a_batch_interrupted_before_its_commit_is_recorded_from_the_folder() {
        let dir = temp_user_dir();
        let media = media_dir(&dir);
        fs::create_dir_all(&media).unwrap();
        let mut index = Index::open(&dir).unwrap();
        index
            .transaction(|c| {
                c.put("kept.png", &sha1(b"kept"), 4)?;
                c.put("gone.png", &sha1(b"gone"), 4)?;
                c.put("same.png", &sha1(b"same"), 4)?;
                Ok(())
            })
            .unwrap();
        fs::write(media.join("kept.png"), b"kept, changed").unwrap();
        fs::write(media.join("same.png"), b"same").unwrap();
        fs::write(media.join("new.png"), b"new").unwrap();
        // gone.png was removed from the folder; the rows were never committed.
        write_journal(
            &dir,
            &["kept.png", "gone.png", "same.png", "new.png", "../x"],
        )
        .unwrap();
        fs::write(media.join(".kioku-upload-00.tmp"), b"half").unwrap();

        user(&dir).unwrap();
        assert!(!dir.join(JOURNAL_FILE).exists());
        assert!(!media.join(".kioku-upload-00.tmp").exists());
        let index = Index::open(&dir).unwrap();
        let kept = index.live_entry("kept.png").unwrap().unwrap();
        assert_eq!(kept.sha1, sha1(b"kept, changed"));
        assert_eq!(kept.size, 13);
        assert!(index.live_entry("gone.png").unwrap().is_none());
        assert_eq!(index.entry("gone.png").unwrap().unwrap().size, 0);
        assert_eq!(index.live_entry("same.png").unwrap().unwrap().usn, 3);
        assert_eq!(index.live_entry("new.png").unwrap().unwrap().size, 3);
        let meta = index.meta().unwrap();
        assert_eq!(meta.last_usn, 6);
        assert_eq!(meta.total_nonempty_files, 3);
        assert_eq!(meta.total_bytes, 13 + 4 + 3);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_torn_journal_is_dropped_and_totals_are_recounted() {
        let dir = temp_user_dir();
        let mut index = Index::open(&dir).unwrap();
        index
            .transaction(|c| {
                c.put("a", &sha1(b"a"), 1)?;
                c.meta.total_nonempty_files = 7;
                c.meta.total_bytes = 99;
                Ok(())
            })
            .unwrap();
        fs::write(dir.join(JOURNAL_FILE), b"[\"a\", \"b").unwrap();
        user(&dir).unwrap();
        assert!(!dir.join(JOURNAL_FILE).exists());
        let meta = Index::open(&dir).unwrap().meta().unwrap();
        assert_eq!(
            (meta.last_usn, meta.total_bytes, meta.total_nonempty_files),
            (1, 1, 1)
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
