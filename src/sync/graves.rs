//! `start` (begin a normal sync, answer the server's deletions) and
//! `applyGraves` (the client's deletions).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::session::{require_skey, step};
use super::{now_ms, SyncError};
use crate::collection::rows::{self, Graves};
use crate::store::{Session, UserSlot};

#[derive(Deserialize)]
struct StartIn {
    #[serde(rename = "minUsn")]
    min_usn: i32,
    lnewer: bool,
    /// Deletions sent inside `start` by old AnkiDroid / AnkiMobile versions.
    #[serde(default)]
    graves: Option<Value>,
}

/// `start`: opens the sync's transaction and answers the server's graves the
/// client has not seen. A sync of another device that is still active gets
/// the caller a 409; one idle for longer than `timeout` is rolled back and
/// replaced.
pub async fn start(
    slot: &UserSlot,
    skey: &str,
    input: Value,
    timeout: Duration,
) -> Result<Value, SyncError> {
    require_skey(skey)?;
    let StartIn {
        min_usn,
        lnewer,
        graves,
    } = serde_json::from_value(input)
        .map_err(|e| SyncError::BadRequest(format!("start input: {e}")))?;
    let legacy_graves = graves
        .filter(|g| !g.is_null())
        .map(parse_legacy_graves)
        .transpose()?;
    let skey = skey.to_owned();
    slot.run(move |state| {
        if let Some(active) = state.session() {
            if active.skey != skey && !active.failed && active.idle_for() <= timeout {
                return Ok(Err(SyncError::Conflict(
                    "another device's sync is in progress".into(),
                )));
            }
        }
        state.begin_session(Session::new(skey, 0, min_usn, lnewer), now_ms())?;
        let (session, conn) = state.session_parts().expect("session just begun");
        let result = (|| -> Result<Graves, SyncError> {
            session.server_usn = crate::collection::read_meta(conn)?.usn;
            // The official server's one scheduling duty during sync.
            crate::collection::sched::unbury_if_day_rolled_over(
                conn,
                now_ms() / 1000,
                session.server_usn,
            )?;
            let graves = rows::graves_since(conn, min_usn)?;
            if let Some(theirs) = &legacy_graves {
                rows::apply_graves(conn, theirs, session.server_usn)?;
            }
            Ok(graves)
        })();
        if result.is_err() {
            state.end_session(false)?;
        }
        Ok(result.map(|graves| serde_json::to_value(graves).expect("graves serialise")))
    })
    .await?
}

#[derive(Deserialize)]
struct ApplyGravesIn {
    chunk: Graves,
}

/// `applyGraves`: deletes what the client deleted and records graves with the
/// server usn, so other devices learn about the deletions.
pub async fn apply_graves(slot: &UserSlot, skey: &str, input: Value) -> Result<Value, SyncError> {
    step(slot, skey, move |session, conn| {
        let ApplyGravesIn { chunk } = super::parse(input, "applyGraves")?;
        rows::apply_graves(conn, &chunk, session.server_usn)?;
        Ok(Value::Null)
    })
    .await
}

/// Graves in `start`'s body: all three lists required; ids may be numbers or
/// (old AnkiMobile) numeric strings.
fn parse_legacy_graves(value: Value) -> Result<Graves, SyncError> {
    let bad = |what: &str| SyncError::BadRequest(format!("start graves: {what}"));
    let list = |key: &str| -> Result<Vec<i64>, SyncError> {
        value
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&format!("missing list {key:?}")))?
            .iter()
            .map(|v| {
                match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| bad(&format!("{v} is not an id")))
            })
            .collect()
    };
    Ok(Graves {
        cards: list("cards")?,
        decks: list("decks")?,
        notes: list("notes")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_graves_accept_numbers_and_numeric_strings() {
        let g = parse_legacy_graves(
            serde_json::json!({"cards": [1, "2"], "notes": [], "decks": ["3"]}),
        )
        .unwrap();
        assert_eq!(g.cards, vec![1, 2]);
        assert_eq!(g.decks, vec![3]);
        assert!(parse_legacy_graves(serde_json::json!({"cards": [], "notes": []})).is_err());
        assert!(
            parse_legacy_graves(serde_json::json!({"cards": ["x"], "notes": [], "decks": []}))
                .is_err()
        );
    }
}
