//! `downloadFiles`: `{"files": [names]}` → a zip of a prefix of those files
//! (members `0`, `1`, … in the order asked, plus `_meta`, a JSON object from
//! member to real name), as the official server answers.
//!
//! The zip is never built in memory: [`prepare`] picks the files and opens
//! them (inside the user's slot, so the answer is one consistent set even if
//! an upload replaces a file afterwards: renaming over a file keeps the open
//! handle's data), and [`ZipStream`] then produces the zip as a reader,
//! copying each file from its handle. Entries are stored (media is already
//! compressed; the HTTP layer zstd-compresses the whole body) and written
//! with data descriptors, so each CRC-32 is computed while the data streams
//! and the total length is known before the first byte: the answer's
//! `anki-original-size` is exact.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde_json::Value;

use super::index::Index;
use super::{media_dir, names, MediaError, MAX_FILES_PER_ZIP};

/// Once the files picked so far add up to more than this, no more are added
/// (the file that crosses it is included), as the official server: 2.5 MiB.
pub const TARGET_ZIP_BYTES: u64 = 2_621_440;

const LOCAL_HEADER: usize = 30;
const DESCRIPTOR: usize = 16;
const CENTRAL_HEADER: usize = 46;
const END_RECORD: usize = 22;
/// Bit 3: sizes and CRC follow the data in a data descriptor.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// 1980-01-01 00:00 in MS-DOS date format.
const DOS_DATE: u16 = (1 << 5) | 1;

/// Picks and opens the files for a download, inside the user's slot. A name
/// that is unknown or deleted is a conflict (409), as with the official
/// server; so is a live row whose file has vanished, whose row is then
/// dropped (without a tombstone, as the official server does).
pub fn prepare(user_dir: &Path, input: &Value) -> Result<ZipStream, MediaError> {
    let files: Vec<String> = input
        .get("files")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| MediaError::BadRequest("downloadFiles without a list of files".into()))?;
    if files.len() > MAX_FILES_PER_ZIP {
        return Err(MediaError::BadRequest(format!(
            "{} files requested; at most {MAX_FILES_PER_ZIP} per zip",
            files.len()
        )));
    }
    let media = media_dir(user_dir);
    let mut index = Index::open_existing(user_dir)?;
    let mut picked = Vec::new();
    let mut accumulated = 0u64;
    for name in files {
        names::check_component(&name).map_err(|e| MediaError::BadRequest(e.to_string()))?;
        let Some(entry) = index
            .as_ref()
            .map(|i| i.live_entry(&name))
            .transpose()?
            .flatten()
        else {
            return Err(MediaError::Missing(format!(
                "{name:?} is not on the server"
            )));
        };
        let file = match File::open(media.join(&name)) {
            Ok(f) if f.metadata()?.is_file() => f,
            Ok(_) => return Err(MediaError::Index(format!("{name:?} is not a regular file"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(index) = index.as_mut() {
                    index.transaction(|c| c.forget(&entry))?;
                }
                tracing::warn!(
                    name,
                    "a media file in the index was missing from the folder; forgot it"
                );
                return Err(MediaError::Missing(format!(
                    "{name:?} is missing from the media folder"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let len = file.metadata()?.len();
        if len != entry.size {
            tracing::warn!(
                name,
                indexed = entry.size,
                on_disk = len,
                "media file size differs from the index"
            );
        }
        accumulated += entry.size;
        picked.push((name, file, len));
        if accumulated > TARGET_ZIP_BYTES {
            break;
        }
    }
    ZipStream::new(picked)
}

/// One stored entry still to be written.
struct Pending {
    member: String,
    file: File,
    len: u64,
}

/// The entry being copied.
struct Current {
    member: String,
    file: io::Take<File>,
    len: u64,
    left: u64,
    crc: crc32fast::Hasher,
    offset: u32,
}

/// A stored zip produced on the fly from open files: local header, data,
/// data descriptor per file; then `_meta`, the central directory and the
/// end record. Reads never hold more than one file's header in memory.
pub struct ZipStream {
    pending: VecDeque<Pending>,
    current: Option<Current>,
    meta: Option<Vec<u8>>,
    /// Bytes ready to be read (a header, descriptor, directory…).
    out: Vec<u8>,
    out_pos: usize,
    central: Vec<u8>,
    entries: u16,
    offset: u64,
    finished: bool,
    len: u64,
    files: usize,
}

impl ZipStream {
    fn new(picked: Vec<(String, File, u64)>) -> Result<ZipStream, MediaError> {
        let mut meta = serde_json::Map::new();
        let mut len = 0u64;
        let mut pending = VecDeque::new();
        for (i, (name, file, file_len)) in picked.into_iter().enumerate() {
            let member = i.to_string();
            len +=
                (LOCAL_HEADER + DESCRIPTOR + CENTRAL_HEADER + 2 * member.len()) as u64 + file_len;
            meta.insert(member.clone(), Value::String(name));
            pending.push_back(Pending {
                member,
                file,
                len: file_len,
            });
        }
        let meta = serde_json::to_vec(&meta).expect("JSON serialises");
        len += (LOCAL_HEADER + CENTRAL_HEADER + 2 * "_meta".len() + meta.len() + END_RECORD) as u64;
        if len > u64::from(u32::MAX) {
            return Err(MediaError::Index(
                "the files asked for are too large for one zip (4 GiB)".into(),
            ));
        }
        Ok(ZipStream {
            files: pending.len(),
            pending,
            current: None,
            meta: Some(meta),
            out: Vec::new(),
            out_pos: 0,
            central: Vec::new(),
            entries: 0,
            offset: 0,
            finished: false,
            len,
        })
    }

    /// Exact length of the zip in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of media files in the zip (not counting `_meta`).
    pub fn files(&self) -> usize {
        self.files
    }

    fn emit(&mut self, bytes: Vec<u8>) {
        self.offset += bytes.len() as u64;
        self.out = bytes;
        self.out_pos = 0;
    }

    /// Prepares the next piece of output; false when the zip is complete.
    fn advance(&mut self) -> io::Result<bool> {
        if let Some(p) = self.pending.pop_front() {
            let offset = self.offset as u32;
            let header = local_header(&p.member, FLAG_DESCRIPTOR, 0, 0);
            self.current = Some(Current {
                member: p.member,
                file: p.file.take(p.len),
                len: p.len,
                left: p.len,
                crc: crc32fast::Hasher::new(),
                offset,
            });
            self.emit(header);
        } else if let Some(meta) = self.meta.take() {
            let crc = crc32fast::hash(&meta);
            let offset = self.offset as u32;
            let mut bytes = local_header("_meta", 0, crc, meta.len() as u32);
            bytes.extend_from_slice(&meta);
            self.add_central("_meta", 0, crc, meta.len() as u32, offset);
            self.emit(bytes);
        } else if !self.finished {
            self.finished = true;
            let mut bytes = std::mem::take(&mut self.central);
            let cd_size = bytes.len() as u32;
            let cd_offset = self.offset as u32;
            bytes.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
            bytes.extend_from_slice(&[0; 4]); // this disk, directory's disk
            bytes.extend_from_slice(&self.entries.to_le_bytes());
            bytes.extend_from_slice(&self.entries.to_le_bytes());
            bytes.extend_from_slice(&cd_size.to_le_bytes());
            bytes.extend_from_slice(&cd_offset.to_le_bytes());
            bytes.extend_from_slice(&[0; 2]); // comment length
            self.emit(bytes);
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    fn add_central(&mut self, member: &str, flags: u16, crc: u32, size: u32, offset: u32) {
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&20u16.to_le_bytes()); // made by: 2.0
        c.extend_from_slice(&20u16.to_le_bytes()); // needed: 2.0
        c.extend_from_slice(&flags.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // stored
        c.extend_from_slice(&0u16.to_le_bytes()); // time
        c.extend_from_slice(&DOS_DATE.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&(member.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        c.extend_from_slice(&[0; 4]); // external attributes
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(member.as_bytes());
        self.entries += 1;
    }
}

fn local_header(member: &str, flags: u16, crc: u32, size: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(LOCAL_HEADER + member.len());
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&20u16.to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // stored
    h.extend_from_slice(&0u16.to_le_bytes()); // time
    h.extend_from_slice(&DOS_DATE.to_le_bytes());
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&(member.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // extra length
    h.extend_from_slice(member.as_bytes());
    h
}

impl Read for ZipStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.out_pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if let Some(cur) = self.current.as_mut() {
                if cur.left > 0 {
                    let want = buf.len().min(cur.left.min(usize::MAX as u64) as usize);
                    let n = cur.file.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                                "media file for zip member {} shrank while sending",
                                cur.member
                            ),
                        ));
                    }
                    cur.crc.update(&buf[..n]);
                    cur.left -= n as u64;
                    self.offset += n as u64;
                    return Ok(n);
                }
                let cur = self.current.take().expect("checked above");
                let crc = cur.crc.finalize();
                let size = cur.len as u32;
                let mut descriptor = Vec::with_capacity(DESCRIPTOR);
                descriptor.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
                descriptor.extend_from_slice(&crc.to_le_bytes());
                descriptor.extend_from_slice(&size.to_le_bytes());
                descriptor.extend_from_slice(&size.to_le_bytes());
                self.add_central(&cur.member, FLAG_DESCRIPTOR, crc, size, cur.offset);
                self.emit(descriptor);
                continue;
            }
            if !self.advance()? {
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::reconcile::tests::temp_user_dir;
    use serde_json::json;
    use sha1::{Digest, Sha1};

    fn store(dir: &Path, files: &[(&str, Vec<u8>)]) {
        let media = media_dir(dir);
        std::fs::create_dir_all(&media).unwrap();
        let mut index = Index::open(dir).unwrap();
        index
            .transaction(|c| {
                for (name, data) in files {
                    std::fs::write(media.join(name), data).unwrap();
                    c.put(name, &Sha1::digest(data), data.len() as u64)?;
                }
                Ok(())
            })
            .unwrap();
    }

    fn unzip(bytes: Vec<u8>) -> Vec<(String, Vec<u8>)> {
        let mut zip = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        let meta: serde_json::Map<String, Value> =
            serde_json::from_reader(zip.by_name("_meta").unwrap()).unwrap();
        let mut out = Vec::new();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let member = f.name().unwrap().into_owned();
            if member == "_meta" {
                continue;
            }
            let real = meta[&member].as_str().unwrap().to_owned();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap(); // checks the CRC
            out.push((real, data));
        }
        out
    }

    fn download(dir: &Path, names: &[&str]) -> Result<(u64, Vec<u8>), MediaError> {
        let mut stream = prepare(dir, &json!({ "files": names }))?;
        let len = stream.len();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        Ok((len, bytes))
    }

    #[test]
    fn the_streamed_zip_has_the_announced_length_and_reads_back() {
        let dir = temp_user_dir();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
        store(
            &dir,
            &[("a.png", b"png".to_vec()), ("café 日本.jpg", big.clone())],
        );
        let (len, bytes) = download(&dir, &["café 日本.jpg", "a.png"]).unwrap();
        assert_eq!(len, bytes.len() as u64);
        assert_eq!(
            unzip(bytes),
            vec![
                ("café 日本.jpg".to_owned(), big),
                ("a.png".to_owned(), b"png".to_vec())
            ]
        );
        let (len, bytes) = download(&dir, &[]).unwrap();
        assert_eq!(len, bytes.len() as u64);
        assert!(unzip(bytes).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_batch_stops_after_the_file_that_crosses_2_5_mib() {
        let dir = temp_user_dir();
        let mib = vec![1u8; 1024 * 1024];
        store(
            &dir,
            &[
                ("1", mib.clone()),
                ("2", mib.clone()),
                ("3", mib.clone()),
                ("4", mib),
            ],
        );
        let (_, bytes) = download(&dir, &["1", "2", "3", "4"]).unwrap();
        let names: Vec<_> = unzip(bytes).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["1", "2", "3"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_deleted_vanished_and_hostile_names_are_refused() {
        let dir = temp_user_dir();
        store(&dir, &[("a", b"a".to_vec()), ("b", b"b".to_vec())]);
        let mut index = Index::open(&dir).unwrap();
        index
            .transaction(|c| {
                let a = c.live_entry("a")?.unwrap();
                c.delete(&a).map(|_| ())
            })
            .unwrap();
        assert!(matches!(
            download(&dir, &["nope"]),
            Err(MediaError::Missing(_))
        ));
        assert!(matches!(
            download(&dir, &["a"]),
            Err(MediaError::Missing(_))
        ));
        std::fs::remove_file(media_dir(&dir).join("b")).unwrap();
        assert!(matches!(
            download(&dir, &["b"]),
            Err(MediaError::Missing(_))
        ));
        let meta = index.meta().unwrap();
        assert!(
            index.entry("b").unwrap().is_none(),
            "forgotten without a tombstone"
        );
        assert_eq!(
            (meta.last_usn, meta.total_nonempty_files, meta.total_bytes),
            (3, 0, 0)
        );
        for bad in ["../media.db", "/etc/passwd", "a\0"] {
            assert!(matches!(
                download(&dir, &[bad]),
                Err(MediaError::BadRequest(_))
            ));
        }
        let many: Vec<String> = (0..26).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(matches!(
            download(&dir, &many),
            Err(MediaError::BadRequest(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
