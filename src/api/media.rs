//! `storeMediaFile`, `retrieveMediaFile`, `getMediaFilesNames`,
//! `deleteMediaFile`, and the media of `addNote`/`updateNoteFields`.
//!
//! Files go into the user's media folder through media sync's own write
//! path ([`crate::media::upload::apply`]: temp file, fsync, rename, a new
//! media usn in `media.db`), so every device downloads them at its next
//! media sync. Names follow Anki's rule for added media (NFC, characters
//! Anki drops removed, at most 120 bytes, lowercase unless the exact name
//! already holds the same file, `name-<sha1>.ext` when taken by another
//! file) and must then pass media sync's own name check. The bytes come
//! from `data` (base64) or a download of `url` ([`super::fetch`]); `path`
//! names a file on the client's disk, which the box cannot read.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use md5::Md5;
use serde_json::Value;
use sha1::{Digest, Sha1};
use unicode_normalization::UnicodeNormalization;

use super::params::Params;
use super::{ApiError, Call};
use crate::media::index::Index;
use crate::media::upload::{self, Staged, StagedChange, StagedKind};
use crate::media::{media_dir, names, reconcile};

/// Anki's longest media name, in bytes.
const MAX_NAME_BYTES: usize = 120;

/// The error for `path`: the box cannot read the client's disk.
pub const PATH_ERROR: &str = "kioku cannot read files on your computer: storeMediaFile \"path\" \
     names a file on the machine that sent the request, and kioku runs on another machine. Send \
     the file's contents base64-encoded in \"data\" instead (or run a local forwarder that does).";

/// Where a media file's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    Data(String),
    Url(String),
    Path,
}

impl Source {
    /// AnkiConnect's precedence: `data`, then `path`, then `url`; empty
    /// strings do not count.
    pub fn from_object(get: impl Fn(&str) -> Option<String>) -> Result<Source, ApiError> {
        let nonempty = |k: &str| get(k).filter(|s| !s.is_empty());
        if let Some(data) = nonempty("data") {
            Ok(Source::Data(data))
        } else if nonempty("path").is_some() {
            Ok(Source::Path)
        } else if let Some(url) = nonempty("url") {
            Ok(Source::Url(url))
        } else {
            Err(ApiError::msg(
                "You must provide a \"data\", \"path\", or \"url\" field.",
            ))
        }
    }
}

/// A media file's bytes in a temp file in the media folder.
pub struct Prepared {
    tmp: PathBuf,
    sha1: [u8; 20],
    pub md5_hex: String,
    size: u64,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if self.tmp.exists() {
            crate::store::remove_quietly(&self.tmp);
        }
    }
}

struct Writer {
    file: File,
    sha1: Sha1,
    md5: Md5,
    size: u64,
    limit: u64,
}

impl Writer {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.size += bytes.len() as u64;
        if self.size > self.limit {
            return Err(std::io::Error::other(format!(
                "the media file is larger than the limit of {} bytes (--ankiconnect-max-media-megs)",
                self.limit
            )));
        }
        self.sha1.update(bytes);
        self.md5.update(bytes);
        self.file.write_all(bytes)
    }
}

/// Fetches a source's bytes into a temp file of `user_dir`'s media folder.
pub async fn prepare(
    call: &Call<'_>,
    user_dir: &Path,
    source: &Source,
) -> Result<Prepared, ApiError> {
    let media = media_dir(user_dir);
    std::fs::create_dir_all(&media)
        .map_err(|e| ApiError::msg(format!("kioku: media folder: {e}")))?;
    let tmp = reconcile::temp_path(&media, "api");
    let file =
        File::create(&tmp).map_err(|e| ApiError::msg(format!("kioku: media folder: {e}")))?;
    let mut prepared = Prepared {
        tmp,
        sha1: [0; 20],
        md5_hex: String::new(),
        size: 0,
    };
    let mut w = Writer {
        file,
        sha1: Sha1::new(),
        md5: Md5::new(),
        size: 0,
        limit: call.app.config.ankiconnect.max_media_bytes(),
    };
    match source {
        Source::Path => return Err(ApiError::msg(PATH_ERROR)),
        Source::Data(data) => decode_base64(data, &mut w)?,
        Source::Url(url) => {
            call.app
                .api
                .fetcher
                .download(url, &mut |bytes| w.put(bytes))
                .await
                .map_err(|e| ApiError::msg(e.to_string()))?;
        }
    }
    if w.size == 0 {
        return Err(ApiError::msg("kioku: the media file is empty"));
    }
    w.file
        .sync_all()
        .map_err(|e| ApiError::msg(format!("kioku: media folder: {e}")))?;
    prepared.sha1 = w.sha1.finalize().into();
    prepared.md5_hex = hex::encode(w.md5.finalize());
    prepared.size = w.size;
    Ok(prepared)
}

/// Decodes base64 as Python's `b64decode` does by default: characters
/// outside the alphabet are skipped; padding may be missing.
fn decode_base64(text: &str, w: &mut Writer) -> Result<(), ApiError> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bad = |e: String| ApiError::msg(format!("kioku: \"data\" is not valid base64: {e}"));
    let mut chunk = Vec::with_capacity(64 * 1024);
    let mut out = Vec::with_capacity(48 * 1024);
    let mut pending: Vec<u8> = text
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .collect();
    // Everything after the first padding character ends the data.
    if let Some(pad) = pending.iter().position(|&b| b == b'=') {
        pending.truncate(pad);
    }
    for piece in pending.chunks(64 * 1024) {
        chunk.clear();
        chunk.extend_from_slice(piece);
        out.clear();
        engine
            .decode_vec(&chunk, &mut out)
            .map_err(|e| bad(e.to_string()))?;
        w.put(&out).map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// Anki's normalisation of an added media file's name.
pub fn normalize_name(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    let mut name: String = nfc
        .chars()
        .filter(|&c| {
            !matches!(
                c,
                '[' | ']' | '<' | '>' | ':' | '"' | '/' | '?' | '*' | '^' | '\\' | '|'
            ) && !c.is_ascii_control()
        })
        .map(|c| if c == '\u{a0}' { ' ' } else { c })
        .collect();
    let device = |stem: &str| {
        let u = stem.to_ascii_uppercase();
        ["CON", "PRN", "AUX", "NUL"].contains(&u.as_str())
            || (u.len() == 4
                && (u.starts_with("COM") || u.starts_with("LPT"))
                && matches!(u.as_bytes()[3], b'1'..=b'9'))
    };
    let (stem, rest) = match name.find('.') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name.as_str(), ""),
    };
    if device(stem) {
        name = format!("{stem}_{rest}");
    }
    if name.ends_with(' ') || name.ends_with('.') {
        name.push('_');
    }
    if name.len() > MAX_NAME_BYTES {
        let (stem, ext) = split_truncated(&name, MAX_NAME_BYTES);
        name = if ext.is_empty() {
            stem.to_owned()
        } else {
            format!("{stem}.{ext}")
        };
        if name.ends_with(' ') || name.ends_with('.') {
            name.push('_');
        }
    }
    name
}

fn truncated(s: &str, mut max: usize) -> &str {
    if max >= s.len() {
        return s;
    }
    while !s.is_char_boundary(max) {
        max -= 1;
    }
    &s[..max]
}

/// Stem and extension, cut so `stem.ext` plus a trailing `_` fit `max`.
fn split_truncated(name: &str, max: usize) -> (&str, &str) {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s, e),
        None => (name, ""),
    };
    let ext = truncated(ext, 10);
    (truncated(stem, max - ext.len() - 2), ext)
}

fn hashed_name(name: &str, sha1: &[u8; 20]) -> String {
    let (stem, ext) = split_truncated(name, MAX_NAME_BYTES - 41);
    format!("{stem}-{}.{ext}", hex::encode(sha1))
}

/// Stores a prepared file as `desired` (inside the user's slot): deletes
/// the file called `desired` first when `delete_existing`, then applies
/// Anki's naming rule. Returns the name used.
pub fn store(
    user_dir: &Path,
    desired: &str,
    prepared: Prepared,
    delete_existing: bool,
) -> Result<String, ApiError> {
    let index = Index::open(user_dir)?;
    let mut staged = Staged::default();
    let mut deleted = None;
    if delete_existing
        && names::check_component(desired).is_ok()
        && index.live_entry(desired)?.is_some()
    {
        staged.changes.push(StagedChange {
            name: desired.to_owned(),
            kind: StagedKind::Delete,
        });
        deleted = Some(desired.to_owned());
    }
    let live = |name: &str| -> Result<Option<Vec<u8>>, ApiError> {
        if deleted.as_deref() == Some(name) {
            return Ok(None);
        }
        Ok(index.live_entry(name)?.map(|e| e.sha1))
    };
    let mut name = normalize_name(desired);
    loop {
        names::for_upload(&name).map_err(crate::media::MediaError::from)?;
        let existing = live(&name)?;
        if existing.as_deref() == Some(&prepared.sha1[..]) {
            break;
        }
        let lower = name.to_lowercase();
        if lower != name {
            name = lower;
            continue;
        }
        if existing.is_some() {
            name = hashed_name(&name, &prepared.sha1);
            names::for_upload(&name).map_err(crate::media::MediaError::from)?;
        }
        break;
    }
    drop(index);
    staged.changes.push(StagedChange {
        name: name.clone(),
        kind: StagedKind::Add {
            tmp: prepared.tmp.clone(),
            sha1: prepared.sha1,
            size: prepared.size,
        },
    });
    upload::apply(user_dir, staged)?;
    Ok(name)
}

/// `storeMediaFile {filename, data | path | url, skipHash?, deleteExisting = true}`.
pub async fn store_media_file(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let filename = p.str("filename")?.to_owned();
    let source = Source::from_object(|k| p.get(k).and_then(Value::as_str).map(str::to_owned))?;
    let skip_hash = p.opt_str("skipHash")?.map(str::to_owned);
    let delete_existing = p.get("deleteExisting").map(truthy).unwrap_or(true);
    let slot = call.app.store.user(call.user());
    let dir = slot.dir().to_owned();
    let prepared = prepare(call, &dir, &source).await?;
    if skip_hash.as_deref() == Some(prepared.md5_hex.as_str()) {
        return Ok(Value::Null);
    }
    let name = slot
        .run(move |_state| Ok(store(&dir, &filename, prepared, delete_existing)))
        .await??;
    Ok(Value::from(name))
}

/// Python truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A requested name as AnkiConnect looks it up: the last path component,
/// NFC, without the characters Anki drops.
fn lookup_name(raw: &str) -> String {
    let base = raw.rsplit('/').next().unwrap_or(raw);
    let nfc: String = base.nfc().collect();
    nfc.chars()
        .filter(|&c| {
            !matches!(
                c,
                '[' | ']' | '<' | '>' | ':' | '"' | '/' | '?' | '*' | '^' | '\\' | '|'
            ) && !c.is_ascii_control()
        })
        .collect()
}

/// `retrieveMediaFile {filename}`: the file base64-encoded, or `false`.
pub async fn retrieve_media_file(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let name = lookup_name(p.str("filename")?);
    let limit = call.app.config.ankiconnect.max_media_bytes();
    let slot = call.app.store.user(call.user());
    let dir = slot.dir().to_owned();
    slot.run(move |_state| {
        Ok((|| -> Result<Value, ApiError> {
            if names::check_component(&name).is_err() {
                return Ok(Value::Bool(false));
            }
            let live = match Index::open_existing(&dir)? {
                Some(index) => index.live_entry(&name)?,
                None => None,
            };
            let Some(entry) = live else {
                return Ok(Value::Bool(false));
            };
            if entry.size > limit {
                return Err(ApiError::msg(format!(
                    "kioku: {name} is larger than the limit of {limit} bytes (--ankiconnect-max-media-megs)"
                )));
            }
            let mut data = Vec::with_capacity(entry.size as usize);
            match File::open(media_dir(&dir).join(&name)) {
                Ok(f) => f.take(limit + 1).read_to_end(&mut data).map_err(crate::media::MediaError::from)?,
                Err(_) => return Ok(Value::Bool(false)),
            };
            Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(&data)))
        })())
    })
    .await?
}

/// Shell-style matching of `name` against `pattern` (`*`, `?`, `[…]`,
/// `[!…]`), as Python's `glob` does for one folder.
pub fn glob_match(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|i| glob_match(&pattern[1..], &name[i..])),
        Some('?') => !name.is_empty() && glob_match(&pattern[1..], &name[1..]),
        Some('[') => {
            let Some(end) = pattern
                .iter()
                .skip(2)
                .position(|&c| c == ']')
                .map(|i| i + 2)
            else {
                return name.first() == Some(&'[') && glob_match(&pattern[1..], &name[1..]);
            };
            let Some(&c) = name.first() else { return false };
            let (negate, set) = match pattern[1] {
                '!' => (true, &pattern[2..end]),
                _ => (false, &pattern[1..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_match(&pattern[end + 1..], &name[1..])
        }
        Some(&p) => name.first() == Some(&p) && glob_match(&pattern[1..], &name[1..]),
    }
}

/// `getMediaFilesNames {pattern = "*"}`: the media files matching the
/// pattern (names starting with `.` only when the pattern does).
pub async fn get_media_files_names(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let pattern = p.opt_str("pattern")?.unwrap_or("*").to_owned();
    if pattern.contains(['/', '\\']) {
        return Err(ApiError::msg(
            "kioku: the pattern must not contain a path separator",
        ));
    }
    let slot = call.app.store.user(call.user());
    let dir = slot.dir().to_owned();
    slot.run(move |_state| {
        Ok((|| -> Result<Value, ApiError> {
            let Some(index) = Index::open_existing(&dir)? else {
                return Ok(Value::Array(Vec::new()));
            };
            let pat: Vec<char> = pattern.chars().collect();
            let names: Vec<Value> = index
                .live_names()?
                .into_iter()
                .filter(|n| !n.starts_with('.') || pattern.starts_with('.'))
                .filter(|n| glob_match(&pat, &n.chars().collect::<Vec<_>>()))
                .map(Value::from)
                .collect();
            Ok(Value::Array(names))
        })())
    })
    .await?
}

/// `deleteMediaFile {filename}`: the file is deleted on the box and, at
/// their next media sync, on every device.
pub async fn delete_media_file(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let name = p.str("filename")?.to_owned();
    let slot = call.app.store.user(call.user());
    let dir = slot.dir().to_owned();
    slot.run(move |_state| {
        Ok((|| -> Result<Value, ApiError> {
            if names::check_component(&name).is_err() || Index::open_existing(&dir)?.is_none() {
                return Ok(Value::Null);
            }
            let staged = Staged {
                changes: vec![StagedChange {
                    name,
                    kind: StagedKind::Delete,
                }],
            };
            upload::apply(&dir, staged)?;
            Ok(Value::Null)
        })())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_as_anki_normalises_added_media() {
        assert_eq!(normalize_name("a:b?c.png"), "abc.png");
        assert_eq!(normalize_name("CON.txt"), "CON_.txt");
        assert_eq!(normalize_name("trail. "), "trail. _");
        assert_eq!(normalize_name("cafe\u{301}\u{a0}x.jpg"), "caf\u{e9} x.jpg");
        let long = normalize_name(&("x".repeat(200) + ".mp3"));
        assert_eq!(long, "x".repeat(115) + ".mp3");
        let hashed = hashed_name("cat.jpg", &[0x95; 20]);
        assert_eq!(hashed, format!("cat-{}.jpg", "95".repeat(20)));
    }

    #[test]
    fn globs_match_like_pythons() {
        let m = |p: &str, n: &str| {
            glob_match(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*", "a.jpg"));
        assert!(m("*.jpg", "a.jpg") && !m("*.jpg", "a.png"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("[ab]*", "b1") && !m("[!ab]*", "b1"));
        assert!(m("[a-c].mp3", "b.mp3"));
    }

    #[test]
    fn python_truthiness() {
        assert!(!truthy(&Value::Null) && !truthy(&Value::from(0)) && !truthy(&Value::from("")));
        assert!(truthy(&Value::from(true)) && truthy(&Value::from("x")));
    }
}
