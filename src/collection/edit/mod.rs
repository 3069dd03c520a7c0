//! Changing a stored collection the way Anki itself does, for kioku's own
//! edits (the AnkiConnect API): adding, updating and deleting notes with the
//! cards Anki would generate ([`notes`], [`cardgen`]), tags ([`tags`]), decks
//! ([`decks`]), card states ([`cards`]) and the config keys Anki keeps
//! beside them ([`config`]).
//!
//! Everything written is stamped with the caller's usn (the server
//! collection's current one, see sync-protocol.md §5.2) and the caller's
//! clock, so the next sync sends it to every client. The caller owns the
//! transaction; nothing here commits or bumps the collection's `mod`.
//! This module knows SQL and Anki's rules; it must not know HTTP, users or
//! AnkiConnect's wire format.

pub mod cardgen;
pub mod cards;
pub mod cloze;
pub mod config;
pub mod decks;
pub mod notes;
pub mod tags;
pub mod template;

use rusqlite::Connection;

/// Where and when an edit happens.
pub struct Ctx<'a> {
    pub conn: &'a Connection,
    /// The server collection's current usn.
    pub usn: i32,
    /// The time of the edit, Unix ms.
    pub now_ms: i64,
}

impl Ctx<'_> {
    pub fn now_secs(&self) -> i64 {
        self.now_ms / 1000
    }
}

/// Why an edit was refused (the collection is left as it was).
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A request that cannot be carried out, with a message for the user.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Collection(#[from] crate::collection::CollectionError),
}

impl From<rusqlite::Error> for EditError {
    fn from(e: rusqlite::Error) -> Self {
        EditError::Collection(e.into())
    }
}

impl From<crate::collection::legacy::LegacyError> for EditError {
    fn from(e: crate::collection::legacy::LegacyError) -> Self {
        EditError::Collection(crate::collection::CollectionError::Invalid(e.to_string()))
    }
}

pub type Result<T, E = EditError> = std::result::Result<T, E>;

/// Allocates an id for a new row of `table`: `now_ms`, or one past the
/// highest id when that is taken (Anki's rule for notes, cards and decks).
pub fn alloc_id(conn: &Connection, table: &str, now_ms: i64) -> Result<i64> {
    Ok(conn.query_row(
        &format!(
            "select case when ?1 in (select id from {table}) then (select max(id) + 1 from {table}) else ?1 end"
        ),
        [now_ms],
        |r| r.get(0),
    )?)
}
