//! Notes as Anki adds, updates and deletes them: fields cleaned (control
//! characters other than tab and newline removed, NFC unless the collection
//! turned that off) and joined with U+001F, `sfld`/`csum` computed
//! ([`crate::collection::notes`]), tags canonical ([`super::tags`]), a new
//! random base-91 guid, ids from the clock, cards generated
//! ([`super::cardgen`]), graves written on deletion. Also Anki's own check
//! of a note's fields (empty first field, cloze problems, duplicates).

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension};
use unicode_normalization::UnicodeNormalization;

use super::{alloc_id, cardgen, config, tags, Ctx, EditError, Result};
use crate::collection::legacy::{self, NotetypeRows};
use crate::collection::notes::{
    clean_field_text, field_checksum, sort_field_and_checksum,
    strip_html_preserving_media_filenames,
};
use crate::collection::proto::NotetypeKind;
use crate::collection::rows::{self, Graves};

/// Anki's guid alphabet: the value's base-91 digits, most significant first.
const BASE91: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";

/// `n` in Anki's base 91 (no padding; 0 is the empty string).
pub fn base91(mut n: u64) -> String {
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(BASE91[(n % 91) as usize]);
        n /= 91;
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII")
}

/// A fresh random guid.
pub fn new_guid() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    base91(u64::from_le_bytes(bytes))
}

/// A stored note.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: i64,
    pub guid: String,
    pub notetype_id: i64,
    pub mtime: i64,
    pub usn: i32,
    /// Tags as stored, split.
    pub tags: Vec<String>,
    pub fields: Vec<String>,
}

pub fn load(ctx: &Ctx, nid: i64) -> Result<Option<Note>> {
    Ok(ctx
        .conn
        .prepare_cached("select id, guid, mid, mod, usn, tags, flds from notes where id = ?1")?
        .query_row([nid], |r| {
            let tags: String = r.get(5)?;
            let flds: String = r.get(6)?;
            Ok(Note {
                id: r.get(0)?,
                guid: r.get(1)?,
                notetype_id: r.get(2)?,
                mtime: r.get(3)?,
                usn: r.get(4)?,
                tags: tags::split(&tags).map(str::to_owned).collect(),
                fields: flds.split('\x1f').map(str::to_owned).collect(),
            })
        })
        .optional()?)
}

/// The note's notetype.
pub fn notetype(ctx: &Ctx, ntid: i64) -> Result<NotetypeRows> {
    legacy::load_notetype(ctx.conn, ntid)?
        .ok_or_else(|| EditError::Refused(format!("note type {ntid} does not exist")))
}

fn normalize_fields(ctx: &Ctx, fields: &[String]) -> Result<Vec<String>> {
    let nfc = config::normalize_note_text(ctx)?;
    Ok(fields
        .iter()
        .map(|f| {
            let cleaned = clean_field_text(f);
            if nfc {
                cleaned.nfc().collect()
            } else {
                cleaned
            }
        })
        .collect())
}

fn check_field_count(nt: &NotetypeRows, fields: &[String]) -> Result<()> {
    let want = nt.fields.len().max(1);
    if fields.len() != want {
        return Err(EditError::Refused(format!(
            "note has {} fields, expected {want}",
            fields.len()
        )));
    }
    Ok(())
}

/// Adds a note of notetype `nt` with `fields` (one per notetype field) and
/// `raw_tags` to deck `did`, with its cards. Returns the note id.
pub fn add(
    ctx: &Ctx,
    nt: &NotetypeRows,
    fields: &[String],
    raw_tags: &[String],
    did: i64,
) -> Result<i64> {
    check_field_count(nt, fields)?;
    let tags = tags::canonify(ctx.conn, raw_tags, ctx.usn)?;
    let fields = normalize_fields(ctx, fields)?;
    let flds = fields.join("\x1f");
    let (sfld, csum) = sort_field_and_checksum(&flds, nt.config.sort_field_idx as usize);
    let nid = alloc_id(ctx.conn, "notes", ctx.now_ms)?;
    ctx.conn
        .prepare_cached(
            "insert into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, '')",
        )?
        .execute(params![
            nid,
            new_guid(),
            nt.id,
            ctx.now_secs(),
            ctx.usn,
            tags::join(&tags),
            flds,
            sfld,
            csum
        ])?;
    cardgen::generate(ctx, nt, nid, &fields, !tags.is_empty(), Some(did))?;
    config::record_note_added(ctx, nt.id, did)?;
    Ok(nid)
}

/// Updates a note's fields and/or tags (raw, as a client sends them) and
/// generates the cards newly required. A note whose fields and tags are
/// unchanged is not written at all, as in Anki.
pub fn update(
    ctx: &Ctx,
    nid: i64,
    new_fields: Option<Vec<String>>,
    new_tags: Option<Vec<String>>,
) -> Result<()> {
    let note =
        load(ctx, nid)?.ok_or_else(|| EditError::Refused(format!("Note was not found: {nid}")))?;
    let fields = new_fields.unwrap_or_else(|| note.fields.clone());
    let raw_tags = new_tags.unwrap_or_else(|| note.tags.clone());
    if fields == note.fields && raw_tags == note.tags {
        return Ok(());
    }
    let nt = notetype(ctx, note.notetype_id)?;
    check_field_count(&nt, &fields)?;
    let tags = tags::canonify(ctx.conn, &raw_tags, ctx.usn)?;
    let fields = normalize_fields(ctx, &fields)?;
    let flds = fields.join("\x1f");
    let (sfld, csum) = sort_field_and_checksum(&flds, nt.config.sort_field_idx as usize);
    ctx.conn
        .prepare_cached(
            "update notes set mod = ?2, usn = ?3, tags = ?4, flds = ?5, sfld = ?6, csum = ?7
             where id = ?1",
        )?
        .execute(params![
            nid,
            ctx.now_secs(),
            ctx.usn,
            tags::join(&tags),
            flds,
            sfld,
            csum
        ])?;
    cardgen::generate(ctx, &nt, nid, &fields, !tags.is_empty(), None)?;
    Ok(())
}

/// Replaces a note's stored tag string (already canonical), marking the
/// note modified.
pub fn set_tag_string(ctx: &Ctx, nid: i64, stored: &str) -> Result<()> {
    ctx.conn
        .prepare_cached("update notes set tags = ?2, mod = ?3, usn = ?4 where id = ?1")?
        .execute(params![nid, stored, ctx.now_secs(), ctx.usn])?;
    Ok(())
}

/// The stored tag string of a note.
pub fn tag_string(ctx: &Ctx, nid: i64) -> Result<Option<String>> {
    Ok(ctx
        .conn
        .prepare_cached("select tags from notes where id = ?1")?
        .query_row([nid], |r| r.get(0))
        .optional()?)
}

/// Deletes notes and their cards, recording graves so clients delete them
/// too. Unknown ids are ignored.
pub fn delete(ctx: &Ctx, nids: &[i64]) -> Result<()> {
    let mut graves = Graves::default();
    for &nid in nids {
        if load(ctx, nid)?.is_none() {
            continue;
        }
        let mut stmt = ctx
            .conn
            .prepare_cached("select id from cards where nid = ?1 order by id")?;
        let cards = stmt
            .query_map([nid], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        graves.cards.extend(cards);
        graves.notes.push(nid);
    }
    rows::apply_graves(ctx.conn, &graves, ctx.usn)?;
    Ok(())
}

/// The outcome of Anki's check of a new note's fields (`note_fields_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsCheck {
    Normal,
    Empty,
    Duplicate,
    MissingCloze,
    NotetypeNotCloze,
    FieldNotCloze,
}

/// Anki's check of a note's fields: a cloze in a field no cloze filter
/// uses, an empty first field (HTML stripped), a cloze notetype without a
/// cloze or a cloze in a normal notetype, a first field equal to that of
/// another note of the same notetype.
pub fn fields_check(
    ctx: &Ctx,
    nt: &NotetypeRows,
    fields: &[String],
    nid: i64,
) -> Result<FieldsCheck> {
    let is_cloze = nt.config.kind == NotetypeKind::Cloze as i32;
    let cloze_fields: HashSet<usize> = if is_cloze {
        nt.templates
            .first()
            .and_then(|t| super::template::Template::parse(&t.config.q_format))
            .map(|t| {
                t.cloze_field_names()
                    .into_iter()
                    .filter_map(|name| nt.fields.iter().position(|f| f.name == name))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        HashSet::new()
    };
    let mut has_cloze = false;
    let mut extraneous = None;
    for (i, field) in fields.iter().enumerate() {
        if super::cloze::contains_cloze(field) {
            if !is_cloze {
                extraneous = Some(FieldsCheck::NotetypeNotCloze);
                break;
            }
            if cloze_fields.contains(&i) {
                has_cloze = true;
            } else {
                extraneous = Some(FieldsCheck::FieldNotCloze);
                break;
            }
        }
    }
    let cloze_state = match extraneous {
        Some(state) => state,
        None if is_cloze && !has_cloze => FieldsCheck::MissingCloze,
        None => FieldsCheck::Normal,
    };
    if cloze_state == FieldsCheck::FieldNotCloze {
        return Ok(cloze_state);
    }
    let Some(first) = fields.first() else {
        return Ok(FieldsCheck::Empty);
    };
    let first: String = if config::normalize_note_text(ctx)? {
        first.nfc().collect()
    } else {
        first.clone()
    };
    let stripped = strip_html_preserving_media_filenames(&first);
    if stripped.trim().is_empty() {
        return Ok(FieldsCheck::Empty);
    }
    if cloze_state != FieldsCheck::Normal {
        return Ok(cloze_state);
    }
    let mut stmt = ctx
        .conn
        .prepare_cached("select id, flds from notes where csum = ?1 and mid = ?2")?;
    let candidates = stmt
        .query_map(params![field_checksum(&stripped), nt.id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let duplicate = candidates.iter().any(|(id, flds)| {
        *id != nid
            && strip_html_preserving_media_filenames(flds.split('\x1f').next().unwrap_or(""))
                == stripped
    });
    Ok(if duplicate {
        FieldsCheck::Duplicate
    } else {
        FieldsCheck::Normal
    })
}

/// Notes whose `csum` is `csum` (of notetype `mid` when given).
pub fn with_checksum(ctx: &Ctx, csum: i64, mid: Option<i64>) -> Result<Vec<i64>> {
    let mut stmt = ctx.conn.prepare_cached(
        "select id from notes where csum = ?1 and (?2 is null or mid = ?2) order by id",
    )?;
    let ids = stmt
        .query_map(params![csum, mid], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base91_matches_ankis_examples() {
        assert_eq!(base91(0), "");
        assert_eq!(base91(1), "b");
        assert_eq!(base91(1234567890), "saAKk");
        assert_eq!(base91(u64::MAX), "Rj&Z5m[>Zp");
        let g = new_guid();
        assert!(!g.is_empty() && g.len() <= 10 && !g.starts_with('a'));
    }
}
