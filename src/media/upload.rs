//! `uploadChanges`: the client's zip of added, changed and deleted files.
//!
//! The zip (already decompressed into a temp file by the HTTP layer) is
//! checked in two steps. [`stage`] reads it entry by entry with limits and
//! writes each added file to a temp file in the media folder, fsynced, with
//! its SHA-1 computed on the way (the zip's CRC-32 is verified by the zip
//! reader; the protocol's `_meta` carries no checksum). Any failure removes
//! every temp file: the folder and the index are untouched. [`apply`] then,
//! inside the user's slot and one index transaction, works out each change,
//! writes a journal naming the files it will touch, renames the temp files
//! into place / removes deleted files, and only then commits the rows.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::index::Index;
use super::{names, reconcile, MediaError, MAX_FILES_PER_ZIP, MAX_FILE_BYTES};

/// Limits on one uploaded zip.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Entries in `_meta` (protocol: 25).
    pub max_files: usize,
    /// Entries in the zip itself: the files plus `_meta`.
    pub max_entries: usize,
    /// One file, uncompressed (protocol: 100 MiB).
    pub max_file_bytes: u64,
    /// All files of the zip together, uncompressed. The real client stops
    /// adding files once a zip passes 2.5 MiB, so its largest zip is under
    /// 2.5 MiB plus one 100 MiB file; 128 MiB leaves room for other clients.
    pub max_total_bytes: u64,
    /// The `_meta` member (as the official server: 50 KiB).
    pub max_meta_bytes: u64,
    /// The central directory (26 entries need about 2 KiB).
    pub max_directory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_files: MAX_FILES_PER_ZIP,
            max_entries: MAX_FILES_PER_ZIP + 1,
            max_file_bytes: MAX_FILE_BYTES,
            max_total_bytes: 128 * 1024 * 1024,
            max_meta_bytes: 50 * 1024,
            max_directory_bytes: 1024 * 1024,
        }
    }
}

/// One checked change, its data (if any) in a temp file in the media folder.
#[derive(Debug)]
pub struct StagedChange {
    pub name: String,
    pub kind: StagedKind,
}

#[derive(Debug)]
pub enum StagedKind {
    Add {
        tmp: PathBuf,
        sha1: [u8; 20],
        size: u64,
    },
    Delete,
}

/// The staged changes of one zip, in `_meta` order. Dropping it removes any
/// temp file not yet renamed into place.
#[derive(Debug, Default)]
pub struct Staged {
    pub changes: Vec<StagedChange>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for change in &self.changes {
            if let StagedKind::Add { tmp, .. } = &change.kind {
                crate::store::remove_quietly(tmp);
            }
        }
    }
}

fn bad(message: impl Into<String>) -> MediaError {
    MediaError::BadRequest(message.into())
}

/// Checks the zip at `zip_path` and stages its changes for `media_dir`.
pub fn stage(zip_path: &Path, media_dir: &Path, limits: &Limits) -> Result<Staged, MediaError> {
    let mut file = File::open(zip_path)?;
    super::zipcheck::check_end_record(&mut file, limits.max_entries, limits.max_directory_bytes)?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| bad(format!("not a valid zip file: {e}")))?;
    if archive.len() > limits.max_entries {
        return Err(bad(format!(
            "the zip has {} entries; at most {} are allowed",
            archive.len(),
            limits.max_entries
        )));
    }
    let meta = read_meta(&mut archive, limits)?;
    if meta.len() > limits.max_files {
        return Err(bad(format!(
            "_meta lists {} files; at most {} per zip",
            meta.len(),
            limits.max_files
        )));
    }
    // Every name is checked before anything is written.
    let mut planned = Vec::with_capacity(meta.len());
    for (raw, member) in meta {
        let name = names::for_upload(&raw)?;
        planned.push((name, member.filter(|m| !m.is_empty())));
    }
    let mut staged = Staged::default();
    let mut total = 0u64;
    for (name, member) in planned {
        let kind = match member {
            None => StagedKind::Delete,
            Some(member) => {
                fs::create_dir_all(media_dir)?;
                let tmp = reconcile::temp_path(media_dir, "upload");
                // Registered first, so the file is removed whatever happens.
                staged.changes.push(StagedChange {
                    name: name.clone(),
                    kind: StagedKind::Add {
                        tmp: tmp.clone(),
                        sha1: [0; 20],
                        size: 0,
                    },
                });
                let (sha1, size) =
                    extract_member(&mut archive, &member, &name, &tmp, limits, &mut total)?;
                staged.changes.pop();
                StagedKind::Add { tmp, sha1, size }
            }
        };
        staged.changes.push(StagedChange { name, kind });
    }
    Ok(staged)
}

type Archive = zip::ZipArchive<BufReader<File>>;

/// `_meta`: a JSON array of `[real name, member name or null]`; `""` also
/// means a deletion (older clients and AnkiDroid).
fn read_meta(
    archive: &mut Archive,
    limits: &Limits,
) -> Result<Vec<(String, Option<String>)>, MediaError> {
    let member = match archive.by_name("_meta") {
        Ok(m) => m,
        Err(zip::result::ZipError::FileNotFound) => return Err(bad("the zip has no _meta entry")),
        Err(e) => return Err(bad(format!("reading _meta: {e}"))),
    };
    let mut text = Vec::new();
    member
        .take(limits.max_meta_bytes + 1)
        .read_to_end(&mut text)
        .map_err(|e| bad(format!("reading _meta: {e}")))?;
    if text.len() as u64 > limits.max_meta_bytes {
        return Err(bad(format!(
            "_meta is over {} bytes",
            limits.max_meta_bytes
        )));
    }
    serde_json::from_slice(&text)
        .map_err(|e| bad(format!("_meta is not a list of [name, member]: {e}")))
}

/// Copies one member to `tmp` within the limits; returns its SHA-1 and size.
fn extract_member(
    archive: &mut Archive,
    member: &str,
    name: &str,
    tmp: &Path,
    limits: &Limits,
    total: &mut u64,
) -> Result<([u8; 20], u64), MediaError> {
    let mut entry = match archive.by_name(member) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(bad(format!(
                "_meta names the member {member:?} for {name:?}, which is not in the zip"
            )))
        }
        Err(e) => return Err(bad(format!("member {member:?}: {e}"))),
    };
    if entry.is_dir() {
        return Err(bad(format!("member {member:?} is a directory")));
    }
    if entry.size() > limits.max_file_bytes {
        return Err(MediaError::TooLarge(format!(
            "{name:?} is {} bytes; the limit is {} bytes",
            entry.size(),
            limits.max_file_bytes
        )));
    }
    let mut out = BufWriter::with_capacity(64 * 1024, File::create(tmp)?);
    let mut hasher = Sha1::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // The declared sizes are not trusted: what comes out is counted.
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.to_string().contains("checksum") => {
                return Err(bad(format!(
                    "member {member:?} for {name:?} does not match its CRC-32 checksum"
                )))
            }
            Err(e) => return Err(bad(format!("member {member:?} for {name:?}: {e}"))),
        };
        size += n as u64;
        *total += n as u64;
        if size > limits.max_file_bytes {
            return Err(MediaError::TooLarge(format!(
                "{name:?} is over the limit of {} bytes",
                limits.max_file_bytes
            )));
        }
        if *total > limits.max_total_bytes {
            return Err(MediaError::TooLarge(format!(
                "the zip's files are over the limit of {} bytes together",
                limits.max_total_bytes
            )));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    if size == 0 {
        return Err(bad(format!("member {member:?} for {name:?} is empty")));
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok((hasher.finalize().into(), size))
}

/// A file operation of one batch, done before its rows are committed.
enum FileOp {
    Install { tmp: PathBuf, name: String },
    Remove { name: String },
}

/// Applies staged changes to the folder and index of the user folder
/// `user_dir` (inside the user's slot). Returns the client's answer
/// `[processed, last_usn]`.
pub fn apply(user_dir: &Path, staged: Staged) -> Result<Value, MediaError> {
    // A journal left by an earlier failure is settled before a new one.
    reconcile::replay_journal(user_dir)?;
    let media = super::media_dir(user_dir);
    let mut index = Index::open(user_dir)?;
    let processed = staged.changes.len();
    let result = index.transaction(|c| {
        let mut ops = Vec::new();
        for change in &staged.changes {
            match &change.kind {
                StagedKind::Delete => match c.live_entry(&change.name)? {
                    Some(old) => {
                        c.delete(&old)?;
                        ops.push(FileOp::Remove {
                            name: change.name.clone(),
                        });
                    }
                    None => tracing::debug!(name = %change.name, "already deleted"),
                },
                StagedKind::Add { tmp, sha1, size } => match c.live_entry(&change.name)? {
                    Some(old) if old.sha1 == sha1 => {
                        tracing::debug!(name = %change.name, "already have it")
                    }
                    _ => {
                        c.put(&change.name, sha1, *size)?;
                        ops.push(FileOp::Install {
                            tmp: tmp.clone(),
                            name: change.name.clone(),
                        });
                    }
                },
            }
        }
        if !ops.is_empty() {
            let touched: Vec<&str> = ops
                .iter()
                .map(|op| match op {
                    FileOp::Install { name, .. } | FileOp::Remove { name } => name.as_str(),
                })
                .collect();
            reconcile::write_journal(user_dir, &touched)?;
            run_ops(&media, &ops)?;
        }
        Ok((ops.len(), c.meta.last_usn))
    });
    match result {
        Ok((changed, last_usn)) => {
            reconcile::remove_journal(user_dir);
            tracing::info!(processed, changed, last_usn, "media changes uploaded");
            Ok(json!([processed, last_usn]))
        }
        Err(e) => {
            // Files may have moved while the rows were rolled back.
            if let Err(re) = reconcile::replay_journal(user_dir) {
                tracing::error!(error = %re, "repairing the media index after a failed upload failed");
            }
            Err(e)
        }
    }
}

fn run_ops(media: &Path, ops: &[FileOp]) -> Result<(), MediaError> {
    for op in ops {
        match op {
            FileOp::Install { tmp, name } => {
                names::check_component(name)?;
                fs::rename(tmp, media.join(name))?;
            }
            FileOp::Remove { name } => {
                names::check_component(name)?;
                match fs::remove_file(media.join(name)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
    }
    File::open(media)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::media::reconcile::tests::temp_user_dir;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod;

    /// A zip as the client builds it: members named by position, `_meta` last.
    pub fn client_zip(files: &[(&str, Option<&[u8]>)], method: CompressionMethod) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(method);
        let mut meta = Vec::new();
        for (i, (name, data)) in files.iter().enumerate() {
            match data {
                Some(data) => {
                    zip.start_file(i.to_string(), options).unwrap();
                    zip.write_all(data).unwrap();
                    meta.push(json!([name, i.to_string()]));
                }
                None => meta.push(json!([name, null])),
            }
        }
        zip.start_file("_meta", options).unwrap();
        zip.write_all(&serde_json::to_vec(&meta).unwrap()).unwrap();
        zip.finish().unwrap().into_inner()
    }

    fn upload(dir: &Path, zip: &[u8], limits: &Limits) -> Result<Value, MediaError> {
        let path = dir.join("upload.zip");
        fs::write(&path, zip).unwrap();
        let staged = stage(&path, &crate::media::media_dir(dir), limits);
        fs::remove_file(&path).unwrap();
        apply(dir, staged?)
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(crate::media::media_dir(dir))
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn adds_replaces_deletes_and_identical_files_follow_the_usn_rules() {
        let dir = temp_user_dir();
        let l = Limits::default();
        let zip = client_zip(
            &[("a.png", Some(b"aaa")), ("b.mp3", Some(b"bb"))],
            CompressionMethod::Stored,
        );
        assert_eq!(upload(&dir, &zip, &l).unwrap(), json!([2, 2]));
        assert_eq!(listing(&dir), ["a.png", "b.mp3"]);
        // Replace a, delete b, delete an unknown file: two usns.
        let zip = client_zip(
            &[
                ("a.png", Some(b"AAAA")),
                ("b.mp3", None),
                ("never.jpg", None),
            ],
            CompressionMethod::Deflated,
        );
        assert_eq!(upload(&dir, &zip, &l).unwrap(), json!([3, 4]));
        assert_eq!(listing(&dir), ["a.png"]);
        assert_eq!(
            fs::read(crate::media::media_dir(&dir).join("a.png")).unwrap(),
            b"AAAA"
        );
        // The same content again changes nothing.
        let zip = client_zip(&[("a.png", Some(b"AAAA"))], CompressionMethod::Stored);
        assert_eq!(upload(&dir, &zip, &l).unwrap(), json!([1, 4]));
        let index = Index::open(&dir).unwrap();
        let meta = index.meta().unwrap();
        assert_eq!(
            (meta.last_usn, meta.total_bytes, meta.total_nonempty_files),
            (4, 4, 1)
        );
        let a = index.live_entry("a.png").unwrap().unwrap();
        assert_eq!((a.usn, a.size), (3, 4));
        assert_eq!(a.sha1, Sha1::digest(b"AAAA").to_vec());
        assert!(!dir.join(reconcile::JOURNAL_FILE).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_nfd_name_is_stored_under_its_nfc_form() {
        let dir = temp_user_dir();
        let zip = client_zip(
            &[("cafe\u{301}.jpg", Some(b"x"))],
            CompressionMethod::Stored,
        );
        upload(&dir, &zip, &Limits::default()).unwrap();
        assert_eq!(listing(&dir), ["caf\u{e9}.jpg"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn refused(zip: &[u8], limits: &Limits) -> MediaError {
        let dir = temp_user_dir();
        let ok = client_zip(&[("keep.png", Some(b"keep"))], CompressionMethod::Stored);
        upload(&dir, &ok, &Limits::default()).unwrap();
        let before = (listing(&dir), Index::open(&dir).unwrap().meta().unwrap());
        let err = upload(&dir, zip, limits).unwrap_err();
        let after = (listing(&dir), Index::open(&dir).unwrap().meta().unwrap());
        assert_eq!(before, after, "{err}");
        fs::remove_dir_all(&dir).unwrap();
        err
    }

    #[test]
    fn hostile_names_are_refused_before_anything_is_written() {
        for name in [
            "../evil",
            "/etc/passwd",
            "a\0b",
            "",
            "..",
            "a/b",
            &"x".repeat(256),
        ] {
            let zip = client_zip(
                &[("fine.png", Some(b"ok")), (name, Some(b"evil"))],
                CompressionMethod::Stored,
            );
            assert!(
                matches!(refused(&zip, &Limits::default()), MediaError::BadName(_)),
                "{name:?}"
            );
        }
    }

    #[test]
    fn malformed_zips_are_bad_requests() {
        let l = Limits::default();
        assert!(matches!(
            refused(b"not a zip at all, just text", &l),
            MediaError::BadRequest(_)
        ));
        // A member named in _meta but absent.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("_meta", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(br#"[["a.png","0"]]"#).unwrap();
        let zip = zip.finish().unwrap().into_inner();
        assert!(matches!(refused(&zip, &l), MediaError::BadRequest(_)));
        // No _meta.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("0", SimpleFileOptions::default()).unwrap();
        zip.write_all(b"x").unwrap();
        let zip = zip.finish().unwrap().into_inner();
        assert!(matches!(refused(&zip, &l), MediaError::BadRequest(_)));
        // An empty file.
        let zip = client_zip(&[("a.png", Some(b""))], CompressionMethod::Stored);
        assert!(matches!(refused(&zip, &l), MediaError::BadRequest(_)));
    }

    #[test]
    fn a_wrong_crc_is_refused() {
        let mut zip = client_zip(
            &[("a.png", Some(b"MARKER-data"))],
            CompressionMethod::Stored,
        );
        let at = zip.windows(6).position(|w| w == b"MARKER").unwrap();
        zip[at] = b'N';
        let err = refused(&zip, &Limits::default());
        assert!(err.to_string().contains("CRC-32"), "{err}");
    }

    #[test]
    fn too_many_files_or_entries_are_refused() {
        let l = Limits::default();
        let data: Vec<(String, Option<&[u8]>)> = (0..26)
            .map(|i| (format!("f{i}"), Some(&b"x"[..])))
            .collect();
        let files: Vec<(&str, Option<&[u8]>)> =
            data.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        // 26 files + _meta = 27 entries.
        assert!(matches!(
            refused(&client_zip(&files, CompressionMethod::Stored), &l),
            MediaError::BadRequest(_)
        ));
        // 26 deletions: only _meta in the zip, but too many changes.
        let deletions: Vec<(&str, Option<&[u8]>)> = files.iter().map(|(n, _)| (*n, None)).collect();
        assert!(matches!(
            refused(&client_zip(&deletions, CompressionMethod::Stored), &l),
            MediaError::BadRequest(_)
        ));
        // An end record claiming 60000 entries.
        let mut zip = client_zip(&[("a", Some(b"a"))], CompressionMethod::Stored);
        let n = zip.len();
        zip[n - 12..n - 10].copy_from_slice(&60000u16.to_le_bytes());
        zip[n - 14..n - 12].copy_from_slice(&60000u16.to_le_bytes());
        let err = refused(&zip, &l);
        assert!(err.to_string().contains("60000"), "{err}");
    }

    #[test]
    fn zip_bombs_stop_at_the_file_and_total_limits() {
        let small = Limits {
            max_file_bytes: 1 << 20,
            max_total_bytes: 3 << 20,
            ..Limits::default()
        };
        // 8 MiB of zeros deflates to a few KiB.
        let zeros = vec![0u8; 8 << 20];
        let zip = client_zip(&[("bomb.bin", Some(&zeros))], CompressionMethod::Deflated);
        assert!(zip.len() < 64 * 1024);
        assert!(matches!(refused(&zip, &small), MediaError::TooLarge(_)));
        // Lying about the size does not help: the central directory says 1 KiB.
        let mut lying = zip.clone();
        let cd = lying
            .windows(4)
            .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        let first_cd = lying
            .windows(4)
            .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        for at in [first_cd, cd] {
            lying[at + 24..at + 28].copy_from_slice(&1024u32.to_le_bytes());
        }
        assert!(matches!(
            refused(&lying, &small),
            MediaError::TooLarge(_) | MediaError::BadRequest(_)
        ));
        // Many files each under the limit, too much together.
        let mib = vec![0u8; (1 << 20) - 1];
        let files: Vec<(String, Option<&[u8]>)> =
            (0..5).map(|i| (format!("f{i}"), Some(&mib[..]))).collect();
        let files: Vec<(&str, Option<&[u8]>)> =
            files.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let zip = client_zip(&files, CompressionMethod::Deflated);
        let err = refused(&zip, &small);
        assert!(err.to_string().contains("together"), "{err}");
    }
}
