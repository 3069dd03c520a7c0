//! `sanityCheck2` (compare object counts before committing) and `finish`
//! (commit the sync's transaction and move the usn on).

use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::session::{step_then, After};
use super::{now_ms, SyncError};
use crate::collection::rows;
use crate::store::UserSlot;

/// Tables whose rows carry a usn; `-1` (pending) must never be stored here.
const USN_TABLES: [&str; 8] = [
    "cards",
    "notes",
    "revlog",
    "graves",
    "decks",
    "deck_config",
    "tags",
    "notetypes",
];

#[derive(Deserialize)]
struct SanityIn {
    client: (Vec<i64>, i64, i64, i64, i64, i64, i64, i64),
}

/// The counts compared: `[[new, learn, review], cards, notes, revlog, graves,
/// notetypes, decks, deck_configs]`; due counts and graves are zeroed.
type Counts = ([i64; 3], i64, i64, i64, i64, i64, i64, i64);

/// `sanityCheck2`: "ok" when the server's counts equal the client's after
/// this sync's changes; otherwise "bad", the changes are rolled back and the
/// client will ask for a full sync. Cards whose note does not exist make the
/// request fail (400), as a malformed chunk would.
pub async fn sanity_check(slot: &UserSlot, skey: &str, input: Value) -> Result<Value, SyncError> {
    let (client, server, ok) = step_then(slot, skey, move |session, conn| {
        let SanityIn { client } = super::parse(input, "sanityCheck2")?;
        let client: Counts = (
            [0, 0, 0],
            client.1,
            client.2,
            client.3,
            0,
            client.5,
            client.6,
            client.7,
        );
        let orphans = rows::cards_without_note(conn, session.server_usn)?;
        if !orphans.is_empty() {
            return Err(SyncError::BadRequest(format!(
                "cards without a note: {orphans:?}"
            )));
        }
        let server = server_counts(conn)?;
        let ok = !has_pending_usn(conn)? && server == client;
        if !ok {
            tracing::warn!(
                ?client,
                ?server,
                "sanity check failed; rolling the sync back"
            );
        }
        Ok((
            (client, server, ok),
            if ok { After::Continue } else { After::Fail },
        ))
    })
    .await?;
    Ok(json!({
        "status": if ok { "ok" } else { "bad" },
        "c": counts_json(&client),
        "s": counts_json(&server),
    }))
}

fn counts_json(c: &Counts) -> Value {
    json!([c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7])
}

fn server_counts(conn: &Connection) -> Result<Counts, SyncError> {
    let count = |table: &str| -> Result<i64, SyncError> {
        Ok(conn.query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))?)
    };
    Ok((
        [0, 0, 0],
        count("cards")?,
        count("notes")?,
        count("revlog")?,
        0,
        count("notetypes")?,
        count("decks")?,
        count("deck_config")?,
    ))
}

fn has_pending_usn(conn: &Connection) -> Result<bool, SyncError> {
    for table in USN_TABLES {
        let pending: bool = conn.query_row(
            &format!("select exists(select 1 from {table} where usn = -1)"),
            [],
            |r| r.get(0),
        )?;
        if pending {
            tracing::warn!(table, "rows with usn -1 on the server");
            return Ok(true);
        }
    }
    Ok(false)
}

/// `finish`: the last sync time and `mod` become now, the usn moves past this
/// sync's, and the transaction commits. Answers the new modification time,
/// which the client stores too, so the next `meta` sees no changes.
pub async fn finish(slot: &UserSlot, skey: &str) -> Result<Value, SyncError> {
    let now = now_ms();
    step_then(slot, skey, move |_, conn| {
        conn.execute("update col set ls = ?1, mod = ?1, usn = usn + 1", [now])?;
        Ok(((), After::Commit))
    })
    .await?;
    Ok(json!(now))
}
