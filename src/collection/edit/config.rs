//! The collection config keys Anki updates beside note edits: `nextPos`
//! (the next new-card position), `curModel`, and the per-notetype and
//! per-deck "last used" keys. A key is written (with the caller's usn and
//! time) only when its value changes, as Anki does.

use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use super::{Ctx, Result};

/// The JSON value of a config key, if set and valid JSON.
pub fn get(ctx: &Ctx, key: &str) -> Result<Option<Value>> {
    let raw: Option<Vec<u8>> = ctx
        .conn
        .prepare_cached("select val from config where key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(raw.and_then(|v| serde_json::from_slice(&v).ok()))
}

/// Sets a config key unless it already holds `value`.
pub fn set(ctx: &Ctx, key: &str, value: &Value) -> Result<()> {
    let bytes = serde_json::to_vec(value).expect("a JSON value serialises");
    let current: Option<Vec<u8>> = ctx
        .conn
        .prepare_cached("select val from config where key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    if current.as_deref() == Some(bytes.as_slice()) {
        return Ok(());
    }
    ctx.conn
        .prepare_cached(
            "insert or replace into config (key, usn, mtime_secs, val) values (?1, ?2, ?3, ?4)",
        )?
        .execute(params![key, ctx.usn, ctx.now_secs(), bytes])?;
    Ok(())
}

/// Reads `nextPos` (0 when missing or not a `u32`) and stores the next one.
pub fn take_next_position(ctx: &Ctx) -> Result<u32> {
    let pos = get(ctx, "nextPos")?
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0);
    set(ctx, "nextPos", &Value::from(pos.wrapping_add(1)))?;
    Ok(pos)
}

/// Whether note text is normalised to NFC (`normalize_note_text`, default on).
pub fn normalize_note_text(ctx: &Ctx) -> Result<bool> {
    Ok(get(ctx, "normalize_note_text")?
        .and_then(|v| v.as_bool())
        .unwrap_or(true))
}

/// The deck notes of this notetype were last added to.
pub fn last_deck_for_notetype(ctx: &Ctx, ntid: i64) -> Result<Option<i64>> {
    Ok(get(ctx, &format!("_nt_{ntid}_lastDeck"))?.and_then(|v| v.as_i64()))
}

/// What adding a note records: the notetype's last deck, the deck's last
/// notetype and the current notetype.
pub fn record_note_added(ctx: &Ctx, ntid: i64, did: i64) -> Result<()> {
    set(ctx, &format!("_nt_{ntid}_lastDeck"), &Value::from(did))?;
    set(
        ctx,
        &format!("_deck_{did}_lastNotetype"),
        &Value::from(ntid),
    )?;
    set(ctx, "curModel", &Value::from(ntid))
}
