//! Notes, cards, review-log rows and graves: their wire forms (JSON arrays, in
//! column order) and their rows in the stored collection.
//!
//! Deserialising is strict about types and arity: a string where an id
//! belongs, or a row with a missing column, is an error, never a guess.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Result;

/// A note on the wire: `[id, guid, mid, mod, usn, tags, flds, sfld, csum,
/// flags, data]`. `sfld`/`csum` travel as `""` and are computed on arrival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRow(
    pub i64,
    pub String,
    pub i64,
    pub i64,
    pub i32,
    pub String,
    pub String,
    pub Value,
    pub Value,
    pub i64,
    pub String,
);

impl NoteRow {
    pub fn id(&self) -> i64 {
        self.0
    }
    pub fn notetype_id(&self) -> i64 {
        self.2
    }
    pub fn mtime(&self) -> i64 {
        self.3
    }
    pub fn fields(&self) -> &str {
        &self.6
    }
}

/// A card on the wire: `[id, nid, did, ord, mod, usn, type, queue, due, ivl,
/// factor, reps, lapses, left, odue, odid, flags, data]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardRow(
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i32,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub String,
);

impl CardRow {
    pub fn id(&self) -> i64 {
        self.0
    }
    pub fn mtime(&self) -> i64 {
        self.4
    }
}

/// A review-log entry on the wire: `[id, cid, usn, ease, ivl, lastIvl,
/// factor, time, type]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevlogRow(
    pub i64,
    pub i64,
    pub i32,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
    pub i64,
);

/// Deleted objects by kind, as `start` answers and `applyGraves` sends them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Graves {
    pub cards: Vec<i64>,
    pub decks: Vec<i64>,
    pub notes: Vec<i64>,
}

/// Grave kinds as stored in `graves.type`.
pub const GRAVE_CARD: i64 = 0;
pub const GRAVE_NOTE: i64 = 1;
pub const GRAVE_DECK: i64 = 2;

/// Graves recorded with `usn >= min_usn`.
pub fn graves_since(conn: &Connection, min_usn: i32) -> Result<Graves> {
    let mut graves = Graves::default();
    let mut stmt = conn.prepare_cached("select oid, type from graves where usn >= ?1")?;
    let rows = stmt.query_map([min_usn], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (oid, kind) = row?;
        match kind {
            GRAVE_CARD => graves.cards.push(oid),
            GRAVE_NOTE => graves.notes.push(oid),
            GRAVE_DECK => graves.decks.push(oid),
            _ => {}
        }
    }
    Ok(graves)
}

/// Deletes the objects and records their graves with `usn`. Decks are only
/// removed here as rows; the client sends graves for a deck's cards itself.
pub fn apply_graves(conn: &Connection, graves: &Graves, usn: i32) -> Result<()> {
    let mut grave =
        conn.prepare_cached("insert or ignore into graves (oid, type, usn) values (?1, ?2, ?3)")?;
    for (ids, table, kind) in [
        (&graves.cards, "cards", GRAVE_CARD),
        (&graves.notes, "notes", GRAVE_NOTE),
        (&graves.decks, "decks", GRAVE_DECK),
    ] {
        let mut delete = conn.prepare_cached(&format!("delete from {table} where id = ?1"))?;
        for id in ids {
            delete.execute([id])?;
            grave.execute(params![id, kind, usn])?;
        }
    }
    Ok(())
}

/// Ids of revlog entries, cards and notes with `usn >= min_usn`.
pub fn ids_since(conn: &Connection, table: &str, min_usn: i32) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(&format!("select id from {table} where usn >= ?1"))?;
    let ids = stmt
        .query_map([min_usn], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

pub fn load_note(conn: &Connection, id: i64) -> Result<Option<NoteRow>> {
    let mut stmt = conn.prepare_cached(
        "select id, guid, mid, mod, usn, tags, flds, flags, data from notes where id = ?1",
    )?;
    Ok(stmt
        .query_row([id], |r| {
            Ok(NoteRow(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                Value::String(String::new()),
                Value::String(String::new()),
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .optional()?)
}

pub fn load_card(conn: &Connection, id: i64) -> Result<Option<CardRow>> {
    let mut stmt = conn.prepare_cached(
        "select id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses, left,
                odue, odid, flags, data from cards where id = ?1",
    )?;
    Ok(stmt
        .query_row([id], |r| {
            Ok(CardRow(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
                r.get(13)?,
                r.get(14)?,
                r.get(15)?,
                r.get(16)?,
                r.get(17)?,
            ))
        })
        .optional()?)
}

pub fn load_revlog(conn: &Connection, id: i64) -> Result<Option<RevlogRow>> {
    let mut stmt = conn.prepare_cached(
        "select id, cid, usn, ease, ivl, lastIvl, factor, time, type from revlog where id = ?1",
    )?;
    Ok(stmt
        .query_row([id], |r| {
            Ok(RevlogRow(
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .optional()?)
}

/// `(mod, usn)` of an existing card or note, for the merge rule.
pub fn mtime_and_usn(conn: &Connection, table: &str, id: i64) -> Result<Option<(i64, i32)>> {
    let mut stmt = conn.prepare_cached(&format!("select mod, usn from {table} where id = ?1"))?;
    Ok(stmt
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Inserts a review-log entry unless one with its id exists.
pub fn add_revlog(conn: &Connection, e: &RevlogRow) -> Result<()> {
    conn.prepare_cached(
        "insert or ignore into revlog values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![e.0, e.1, e.2, e.3, e.4, e.5, e.6, e.7, e.8])?;
    Ok(())
}

/// Inserts or replaces a whole card row.
pub fn put_card(conn: &Connection, c: &CardRow) -> Result<()> {
    conn.prepare_cached(
        "insert or replace into cards values
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7, c.8, c.9, c.10, c.11, c.12, c.13, c.14, c.15, c.16,
        c.17
    ])?;
    Ok(())
}

/// Inserts or replaces a whole note row with computed `sfld`/`csum`;
/// `flags` and `data` are stored as the protocol defines them (0 and "").
pub fn put_note(
    conn: &Connection,
    n: &NoteRow,
    fields: &str,
    sfld: &rusqlite::types::Value,
    csum: i64,
) -> Result<()> {
    conn.prepare_cached(
        "insert or replace into notes values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, '')",
    )?
    .execute(params![n.0, n.1, n.2, n.3, n.4, n.5, fields, sfld, csum])?;
    Ok(())
}

/// Cards changed with `usn` whose note does not exist.
pub fn cards_without_note(conn: &Connection, usn: i32) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "select id from cards c where c.usn = ?1
         and not exists (select 1 from notes n where n.id = c.nid) limit 10",
    )?;
    let ids = stmt
        .query_map([usn], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_rows_parse_from_the_real_clients_json() {
        let note: NoteRow = serde_json::from_str(
            r#"[1795807604305,"r|nlEn|pAY",1795807603799,1795807605,2," greeting spanish ","hola\u001fhello / hi","","",0,""]"#,
        )
        .unwrap();
        assert_eq!(note.id(), 1795807604305);
        assert_eq!(note.fields(), "hola\u{1f}hello / hi");
        let card: CardRow = serde_json::from_str(
            r#"[1795807604306,1795807604305,1795807604303,0,1795807605,2,1,1,1795808227,0,0,1,0,1,0,0,0,"{\"pos\":1,\"lrt\":1795807605}"]"#,
        )
        .unwrap();
        assert_eq!(card.1, 1795807604305);
        let rev: RevlogRow =
            serde_json::from_str("[1795807605761,1795807604306,2,3,-600,0,0,0,0]").unwrap();
        assert_eq!(rev.4, -600);
        assert_eq!(
            serde_json::to_string(&rev).unwrap(),
            "[1795807605761,1795807604306,2,3,-600,0,0,0,0]"
        );
    }

    #[test]
    fn wrong_arity_or_a_string_id_is_an_error() {
        assert!(serde_json::from_str::<RevlogRow>("[1,2,3]").is_err());
        assert!(serde_json::from_str::<RevlogRow>(r#"["1",2,3,4,5,6,7,8,9]"#).is_err());
        assert!(serde_json::from_str::<CardRow>(
            "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]"
        )
        .is_err());
    }
}
