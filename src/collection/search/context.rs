//! What the SQL writer needs to know about the collection before it writes a
//! query: notetypes with their fields (names, ordinals, "exclude from
//! search"), the search-related config keys and the scheduler's day.
//!
//! Read-only; it must not write to the collection.

use prost::Message;
use rusqlite::{Connection, OptionalExtension};
use serde::de::DeserializeOwned;

use super::SearchError;
use crate::collection::proto::{FieldConfig, NotetypeConfig, NotetypeKind};
use crate::collection::sched::{self, DayTiming};

/// One field of a notetype.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub ord: u32,
    pub name: String,
    pub excluded_from_search: bool,
}

/// A notetype as the search sees it.
#[derive(Debug, Clone)]
pub(crate) struct Notetype {
    pub id: i64,
    pub is_cloze: bool,
    pub sort_field: u32,
    /// In ordinal order.
    pub fields: Vec<Field>,
}

/// The collection facts a query may depend on.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub notetypes: Vec<Notetype>,
    /// `normalize_note_text` (default on): search text is converted to NFC.
    pub normalize_text: bool,
    /// `ignoreAccentsInSearch` (default off): plain text behaves like `nc:`.
    pub ignore_accents: bool,
    /// `curDeck` (default 1).
    pub current_deck: i64,
    /// `collapseTime` in seconds (default 1200).
    pub learn_ahead_secs: i64,
    pub timing: DayTiming,
    pub now_secs: i64,
}

impl Context {
    pub(crate) fn load(conn: &Connection, now_ms: i64) -> Result<Context, SearchError> {
        let now_secs = now_ms.div_euclid(1000);
        let timing = sched::timing_today(conn, now_secs).map_err(|e| match e {
            crate::collection::CollectionError::Sqlite(e) => SearchError::Sqlite(e),
            other => SearchError::Parse(other.to_string()),
        })?;
        Ok(Context {
            notetypes: load_notetypes(conn)?,
            normalize_text: config::<bool>(conn, "normalize_note_text")?.unwrap_or(true),
            ignore_accents: config::<bool>(conn, "ignoreAccentsInSearch")?.unwrap_or(false),
            current_deck: config::<i64>(conn, "curDeck")?.unwrap_or(1),
            learn_ahead_secs: config::<u32>(conn, "collapseTime")?.unwrap_or(1200).into(),
            timing,
            now_secs,
        })
    }
}

impl Context {
    /// True if some field of some notetype is excluded from unqualified
    /// search (plain text and `re:` then look at the other fields only).
    pub(crate) fn any_field_excluded(&self) -> bool {
        self.notetypes
            .iter()
            .any(|nt| nt.fields.iter().any(|f| f.excluded_from_search))
    }
}

/// A config value, `None` when missing or not of type `T`.
fn config<T: DeserializeOwned>(conn: &Connection, key: &str) -> Result<Option<T>, SearchError> {
    let val: Option<Vec<u8>> = conn
        .prepare_cached("select val from config where key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(val.and_then(|v| serde_json::from_slice(&v).ok()))
}

fn load_notetypes(conn: &Connection) -> Result<Vec<Notetype>, SearchError> {
    let mut notetypes = Vec::new();
    let mut stmt = conn.prepare("select id, config from notetypes order by id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let config: Vec<u8> = row.get(1)?;
        let config = NotetypeConfig::decode(config.as_slice()).unwrap_or_default();
        notetypes.push(Notetype {
            id,
            is_cloze: config.kind == NotetypeKind::Cloze as i32,
            sort_field: config.sort_field_idx,
            fields: Vec::new(),
        });
    }
    let mut stmt = conn.prepare("select ntid, ord, name, config from fields order by ntid, ord")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let ntid: i64 = row.get(0)?;
        let config: Vec<u8> = row.get(3)?;
        let config = FieldConfig::decode(config.as_slice()).unwrap_or_default();
        if let Some(nt) = notetypes.iter_mut().find(|nt| nt.id == ntid) {
            nt.fields.push(Field {
                ord: row.get(1)?,
                name: row.get(2)?,
                excluded_from_search: config.exclude_from_search,
            });
        }
    }
    Ok(notetypes)
}
