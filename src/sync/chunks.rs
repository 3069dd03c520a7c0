//! `chunk` (server rows to the client) and `applyChunk` (client rows to the
//! server): review-log entries, cards and notes, 250 rows at a time.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::session::step;
use super::SyncError;
use crate::collection::notetype_shape;
use crate::collection::rows::{self, CardRow, NoteRow, RevlogRow};
use crate::store::{PendingIds, Session};

/// Rows per chunk, as the clients and the official server use.
pub const CHUNK_SIZE: usize = 250;

/// A chunk in either direction. Empty lists are left out on output.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Chunk {
    pub done: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revlog: Vec<RevlogRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<CardRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<NoteRow>,
}

/// `chunk`: the next rows the client has not seen (usn at or above its last
/// sync), gathered on the first call and taken round-robin.
pub async fn chunk(slot: &crate::store::UserSlot, skey: &str) -> Result<Value, SyncError> {
    step(slot, skey, |session, conn| {
        let chunk = next_chunk(session, conn)?;
        Ok(serde_json::to_value(chunk).expect("chunk serialises"))
    })
    .await
}

fn next_chunk(session: &mut Session, conn: &Connection) -> Result<Chunk, SyncError> {
    if session.pending.is_none() {
        let since = session.client_usn;
        session.pending = Some(PendingIds {
            revlog: rows::ids_since(conn, "revlog", since)?,
            cards: rows::ids_since(conn, "cards", since)?,
            notes: rows::ids_since(conn, "notes", since)?,
        });
    }
    let pending = session.pending.as_mut().expect("gathered above");
    let mut chunk = Chunk::default();
    let mut taken = 0;
    while taken < CHUNK_SIZE {
        let before = taken;
        if let Some(id) = pending.revlog.pop() {
            chunk.revlog.extend(rows::load_revlog(conn, id)?);
            taken += 1;
        }
        if taken < CHUNK_SIZE {
            if let Some(id) = pending.notes.pop() {
                chunk.notes.extend(rows::load_note(conn, id)?);
                taken += 1;
            }
        }
        if taken < CHUNK_SIZE {
            if let Some(id) = pending.cards.pop() {
                chunk.cards.extend(rows::load_card(conn, id)?);
                taken += 1;
            }
        }
        if taken == before {
            break;
        }
    }
    chunk.done = taken < CHUNK_SIZE;
    Ok(chunk)
}

#[derive(Deserialize)]
struct ApplyChunkIn {
    chunk: Chunk,
}

/// `applyChunk`: merges the client's rows with the official rules: review-log
/// entries are added once; a card or note replaces the server's unless the
/// server's was changed since the client's last sync and is not older.
pub async fn apply_chunk(
    slot: &crate::store::UserSlot,
    skey: &str,
    input: Value,
) -> Result<Value, SyncError> {
    step(slot, skey, move |session, conn| {
        let ApplyChunkIn { chunk } = super::parse(input, "applyChunk")?;
        merge_chunk(session, conn, &chunk)?;
        Ok(Value::Null)
    })
    .await
}

/// Rows are stored with the server usn of this sync (well-behaved clients
/// already stamped them with it), so other devices pick them up.
fn merge_chunk(session: &Session, conn: &Connection, chunk: &Chunk) -> Result<(), SyncError> {
    let usn = session.server_usn;
    for entry in &chunk.revlog {
        rows::add_revlog(
            conn,
            &RevlogRow(
                entry.0, entry.1, usn, entry.3, entry.4, entry.5, entry.6, entry.7, entry.8,
            ),
        )?;
    }
    let newer = |table: &str, id: i64, mtime: i64| -> Result<bool, SyncError> {
        Ok(match rows::mtime_and_usn(conn, table, id)? {
            None => true,
            Some((existing_mtime, existing_usn)) => {
                existing_usn < session.client_usn || existing_mtime < mtime
            }
        })
    };
    for card in &chunk.cards {
        if newer("cards", card.id(), card.mtime())? {
            let mut card = card.clone();
            card.5 = usn;
            rows::put_card(conn, &card)?;
        }
    }
    for note in &chunk.notes {
        if newer("notes", note.id(), note.mtime())? {
            let shape = notetype_shape(conn, note.notetype_id())?.ok_or_else(|| {
                SyncError::BadRequest(format!(
                    "note {} uses notetype {}, which does not exist",
                    note.id(),
                    note.notetype_id()
                ))
            })?;
            let fields: Vec<String> = note
                .fields()
                .split('\x1f')
                .map(crate::collection::notes::clean_field_text)
                .collect();
            let count = fields.len();
            if count != shape.field_count {
                return Err(SyncError::BadRequest(format!(
                    "note {} has {count} fields; its notetype has {}",
                    note.id(),
                    shape.field_count
                )));
            }
            let fields = fields.join("\x1f");
            let (sfld, csum) =
                crate::collection::notes::sort_field_and_checksum(&fields, shape.sort_field);
            let mut note = note.clone();
            note.4 = usn;
            rows::put_note(conn, &note, &fields, &sfld, csum)?;
        }
    }
    Ok(())
}
