//! Notetypes, decks, deck configs, tags and the collection config in the
//! legacy (schema 11) JSON form the sync protocol carries, and their rows in
//! a schema-18 collection.
//!
//! * [`notetype`], [`deck`], [`deck_config`]: `from_json` / `to_json`
//!   between a legacy JSON object and the rows (protobuf blobs decoded);
//! * this module: [`LegacyError`] and reading/writing those rows, tags and
//!   config on a [`Connection`] (which must have the `unicase` collation
//!   registered, as [`crate::collection::open`] does).
//!
//! The rules (required keys, lenient parsing, unknown keys kept in `other`)
//! are those of the official server, verified against it; each module's
//! documentation lists them.

pub mod deck;
pub mod deck_config;
mod json;
pub mod notetype;

use prost::Message;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

pub use deck::DeckRow;
pub use deck_config::DeckConfigRow;
pub use notetype::{FieldRow, NotetypeRows, TemplateRow};

use crate::collection::proto::{
    DeckCommon, DeckConfigConfig, DeckKindContainer, FieldConfig, NotetypeConfig, TemplateConfig,
};

/// Errors converting legacy JSON or reading/writing the rows.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// A required key is absent, e.g. `notetype 123 field 1: missing key "font"`.
    #[error("{what}: missing key \"{key}\"")]
    MissingKey { what: String, key: String },
    /// A key holds a value of the wrong type or out of range.
    #[error("{what}: key \"{key}\" must be {expected}")]
    BadValue {
        what: String,
        key: String,
        expected: &'static str,
    },
    /// The object itself is not a JSON object.
    #[error("{what}: not a JSON object")]
    NotAnObject { what: String },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored protobuf blob does not decode.
    #[error("{table} row {id}: stored blob does not decode: {source}")]
    BadBlob {
        table: &'static str,
        id: i64,
        #[source]
        source: prost::DecodeError,
    },
    /// A `config` row whose value is not JSON.
    #[error("config key \"{key}\": stored value is not JSON: {source}")]
    BadConfigValue {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = LegacyError> = std::result::Result<T, E>;

fn decode<M: Message + Default>(table: &'static str, id: i64, bytes: &[u8]) -> Result<M> {
    M::decode(bytes).map_err(|source| LegacyError::BadBlob { table, id, source })
}

/// Runs `f` inside a savepoint: all of its writes happen or none do, whether
/// or not the connection is already in a transaction.
fn atomically<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    conn.execute_batch("savepoint kioku_legacy")?;
    match f() {
        Ok(v) => {
            conn.execute_batch("release kioku_legacy")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("rollback to kioku_legacy; release kioku_legacy");
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------
// Notetypes
// ---------------------------------------------------------------------------

const NOTETYPE_COLUMNS: &str = "id, name, mtime_secs, usn, config";

fn read_notetype(conn: &Connection, row: &rusqlite::Row<'_>) -> Result<NotetypeRows> {
    let id: i64 = row.get(0)?;
    let config: Vec<u8> = row.get(4)?;
    let config: NotetypeConfig = decode("notetypes", id, &config)?;
    let mut stmt =
        conn.prepare_cached("select ord, name, config from fields where ntid = ?1 order by ord")?;
    let fields = stmt
        .query_map([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, Vec<u8>>(2)?))
        })?
        .map(|r| {
            let (ord, name, config) = r?;
            Ok(FieldRow {
                ord,
                name,
                config: decode::<FieldConfig>("fields", id, &config)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut stmt = conn.prepare_cached(
        "select ord, name, mtime_secs, usn, config from templates where ntid = ?1 order by ord",
    )?;
    let templates = stmt
        .query_map([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?
        .map(|r| {
            let (ord, name, mtime_secs, usn, config) = r?;
            Ok(TemplateRow {
                ord,
                name,
                mtime_secs,
                usn,
                config: decode::<TemplateConfig>("templates", id, &config)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(NotetypeRows {
        id,
        name: row.get(1)?,
        mtime_secs: row.get(2)?,
        usn: row.get(3)?,
        config,
        fields,
        templates,
    })
}

/// The notetype with this id, with its fields and templates.
pub fn load_notetype(conn: &Connection, id: i64) -> Result<Option<NotetypeRows>> {
    let mut stmt = conn.prepare_cached(&format!(
        "select {NOTETYPE_COLUMNS} from notetypes where id = ?1"
    ))?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(|r| read_notetype(conn, r)).transpose()
}

/// All notetypes with `usn >= min_usn`, in id order.
pub fn load_notetypes_since(conn: &Connection, min_usn: i32) -> Result<Vec<NotetypeRows>> {
    let mut stmt = conn.prepare_cached(&format!(
        "select {NOTETYPE_COLUMNS} from notetypes where usn >= ?1 order by id"
    ))?;
    let mut rows = stmt.query([min_usn])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_notetype(conn, r)?);
    }
    Ok(out)
}

/// Inserts or updates a notetype and replaces all of its fields and
/// templates rows, atomically. A name already used by another notetype
/// (compared case-insensitively) is an error, as are duplicate field or
/// template names; resolve clashes first with [`find_notetype_id_by_name`].
pub fn store_notetype(conn: &Connection, nt: &NotetypeRows) -> Result<()> {
    atomically(conn, || {
        conn.prepare_cached(
            "insert into notetypes (id, name, mtime_secs, usn, config) values (?1, ?2, ?3, ?4, ?5)
             on conflict (id) do update set name = excluded.name,
               mtime_secs = excluded.mtime_secs, usn = excluded.usn, config = excluded.config",
        )?
        .execute(params![
            nt.id,
            nt.name,
            nt.mtime_secs,
            nt.usn,
            nt.config.encode_to_vec()
        ])?;
        conn.prepare_cached("delete from fields where ntid = ?1")?
            .execute([nt.id])?;
        conn.prepare_cached("delete from templates where ntid = ?1")?
            .execute([nt.id])?;
        let mut stmt = conn.prepare_cached(
            "insert into fields (ntid, ord, name, config) values (?1, ?2, ?3, ?4)",
        )?;
        for f in &nt.fields {
            stmt.execute(params![nt.id, f.ord, f.name, f.config.encode_to_vec()])?;
        }
        let mut stmt = conn.prepare_cached(
            "insert into templates (ntid, ord, name, mtime_secs, usn, config)
             values (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for t in &nt.templates {
            stmt.execute(params![
                nt.id,
                t.ord,
                t.name,
                t.mtime_secs,
                t.usn,
                t.config.encode_to_vec()
            ])?;
        }
        Ok(())
    })
}

/// Deletes a notetype and its fields and templates rows (not its notes).
pub fn delete_notetype(conn: &Connection, id: i64) -> Result<()> {
    atomically(conn, || {
        conn.execute("delete from fields where ntid = ?1", [id])?;
        conn.execute("delete from templates where ntid = ?1", [id])?;
        conn.execute("delete from notetypes where id = ?1", [id])?;
        Ok(())
    })
}

/// The id of the notetype called `name`, compared case-insensitively
/// (Unicode case folding, the `unicase` collation).
pub fn find_notetype_id_by_name(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("select id from notetypes where name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

// ---------------------------------------------------------------------------
// Decks
// ---------------------------------------------------------------------------

const DECK_COLUMNS: &str = "id, name, mtime_secs, usn, common, kind";

fn read_deck(row: &rusqlite::Row<'_>) -> Result<DeckRow> {
    let id: i64 = row.get(0)?;
    let common: Vec<u8> = row.get(4)?;
    let kind: Vec<u8> = row.get(5)?;
    Ok(DeckRow {
        id,
        name: row.get(1)?,
        mtime_secs: row.get(2)?,
        usn: row.get(3)?,
        common: decode::<DeckCommon>("decks", id, &common)?,
        kind: decode::<DeckKindContainer>("decks", id, &kind)?,
    })
}

/// The deck with this id.
pub fn load_deck(conn: &Connection, id: i64) -> Result<Option<DeckRow>> {
    let mut stmt =
        conn.prepare_cached(&format!("select {DECK_COLUMNS} from decks where id = ?1"))?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(read_deck).transpose()
}

/// All decks with `usn >= min_usn`, in id order.
pub fn load_decks_since(conn: &Connection, min_usn: i32) -> Result<Vec<DeckRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "select {DECK_COLUMNS} from decks where usn >= ?1 order by id"
    ))?;
    let mut rows = stmt.query([min_usn])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_deck(r)?);
    }
    Ok(out)
}

/// Inserts or updates a deck. A name already used by another deck (compared
/// case-insensitively) is an error; see [`find_deck_id_by_name`].
pub fn store_deck(conn: &Connection, deck: &DeckRow) -> Result<()> {
    conn.prepare_cached(
        "insert into decks (id, name, mtime_secs, usn, common, kind) values (?1, ?2, ?3, ?4, ?5, ?6)
         on conflict (id) do update set name = excluded.name, mtime_secs = excluded.mtime_secs,
           usn = excluded.usn, common = excluded.common, kind = excluded.kind",
    )?
    .execute(params![
        deck.id,
        deck.name,
        deck.mtime_secs,
        deck.usn,
        deck.common.encode_to_vec(),
        deck.kind.encode_to_vec()
    ])?;
    Ok(())
}

/// Deletes a deck row (not its cards).
pub fn delete_deck(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("delete from decks where id = ?1", [id])?;
    Ok(())
}

/// The id of the deck whose full stored name (levels joined with `\x1f`, see
/// [`deck::stored_name`]) is `stored_name`, compared case-insensitively.
pub fn find_deck_id_by_name(conn: &Connection, stored_name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("select id from decks where name = ?1")?
        .query_row([stored_name], |r| r.get(0))
        .optional()?)
}

// ---------------------------------------------------------------------------
// Deck configs
// ---------------------------------------------------------------------------

const DECK_CONFIG_COLUMNS: &str = "id, name, mtime_secs, usn, config";

fn read_deck_config(row: &rusqlite::Row<'_>) -> Result<DeckConfigRow> {
    let id: i64 = row.get(0)?;
    let config: Vec<u8> = row.get(4)?;
    Ok(DeckConfigRow {
        id,
        name: row.get(1)?,
        mtime_secs: row.get(2)?,
        usn: row.get(3)?,
        config: decode::<DeckConfigConfig>("deck_config", id, &config)?,
    })
}

/// The deck config with this id.
pub fn load_deck_config(conn: &Connection, id: i64) -> Result<Option<DeckConfigRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "select {DECK_CONFIG_COLUMNS} from deck_config where id = ?1"
    ))?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(read_deck_config).transpose()
}

/// All deck configs with `usn >= min_usn`, in id order.
pub fn load_deck_configs_since(conn: &Connection, min_usn: i32) -> Result<Vec<DeckConfigRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "select {DECK_CONFIG_COLUMNS} from deck_config where usn >= ?1 order by id"
    ))?;
    let mut rows = stmt.query([min_usn])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read_deck_config(r)?);
    }
    Ok(out)
}

/// Inserts or replaces a deck config (names need not be unique).
pub fn store_deck_config(conn: &Connection, row: &DeckConfigRow) -> Result<()> {
    conn.prepare_cached(
        "insert or replace into deck_config (id, name, mtime_secs, usn, config)
         values (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        row.id,
        row.name,
        row.mtime_secs,
        row.usn,
        row.config.encode_to_vec()
    ])?;
    Ok(())
}

/// Deletes a deck config row.
pub fn delete_deck_config(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("delete from deck_config where id = ?1", [id])?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

/// Names of the tags with `usn >= min_usn`, in the table's order.
pub fn load_tags_since(conn: &Connection, min_usn: i32) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("select tag from tags where usn >= ?1")?;
    let tags = stmt
        .query_map([min_usn], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(tags)
}

/// A tag name as the official server normalises an incoming one: in each
/// `::`-separated level, ASCII control characters, spaces and U+3000
/// (ideographic space) are removed and surrounding whitespace is trimmed; an
/// empty level becomes `blank`. (The official server also applies Unicode
/// NFC normalisation, which kioku does not.)
pub fn normalize_tag_name(name: &str) -> String {
    name.split("::")
        .map(|level| {
            let cleaned: String = level
                .chars()
                .filter(|&c| !(c.is_ascii_control() || c == ' ' || c == '\u{3000}'))
                .collect();
            match cleaned.trim() {
                "" => "blank".to_string(),
                t => t.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("::")
}

fn existing_tag(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("select tag from tags where tag = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// Registers a tag arriving in a sync, as the official server does: the name
/// is normalised ([`normalize_tag_name`]); if a tag of the same name exists
/// (compared case-insensitively) nothing changes — it keeps its spelling and
/// usn — and `false` is returned. Otherwise the tag is inserted with `usn`
/// (collapsed, as the official server writes new tags), taking the spelling
/// of its longest existing ancestor: `foo::Bar::x` under an existing
/// `FOO::bar` is stored as `FOO::bar::x`.
pub fn register_tag(conn: &Connection, name: &str, usn: i32) -> Result<bool> {
    let name = normalize_tag_name(name);
    if existing_tag(conn, &name)?.is_some() {
        return Ok(false);
    }
    let mut stored = name.clone();
    let separators: Vec<usize> = name.match_indices("::").map(|(i, _)| i).collect();
    for &end in separators.iter().rev() {
        if let Some(parent) = existing_tag(conn, &name[..end])? {
            stored = format!("{parent}{}", &name[end..]);
            break;
        }
    }
    conn.prepare_cached("insert into tags (tag, usn, collapsed, config) values (?1, ?2, 1, null)")?
        .execute(params![stored, usn])?;
    Ok(true)
}

// ---------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------

/// The whole collection config (`config` table) as a key → JSON value map.
pub fn load_config(conn: &Connection) -> Result<Map<String, Value>> {
    let mut stmt = conn.prepare_cached("select KEY, val from config")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Map::new();
    for row in rows {
        let (key, val) = row?;
        let val = serde_json::from_slice(&val).map_err(|source| LegacyError::BadConfigValue {
            key: key.clone(),
            source,
        })?;
        out.insert(key, val);
    }
    Ok(out)
}

/// Replaces the whole config table with `config` (each value stored as
/// compact JSON bytes), every row with this `usn` and `mtime_secs`;
/// atomically.
pub fn replace_config(
    conn: &Connection,
    config: &Map<String, Value>,
    usn: i32,
    mtime_secs: i64,
) -> Result<()> {
    atomically(conn, || {
        conn.execute("delete from config", [])?;
        let mut stmt = conn.prepare_cached(
            "insert into config (KEY, usn, mtime_secs, val) values (?1, ?2, ?3, ?4)",
        )?;
        for (key, val) in config {
            let bytes = serde_json::to_vec(val).expect("a JSON value serialises");
            stmt.execute(params![key, usn, mtime_secs, bytes])?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
