//! Card states changed outside review: suspending, unsuspending and moving
//! cards to another deck, with Anki's rules (a suspended card keeps its
//! type; unsuspending restores the queue from the type; a card leaving a
//! filtered deck gets its original due back).

use rusqlite::{params, OptionalExtension};

use super::{Ctx, Result};

/// The queue a card goes back to, from its type and its due `due` (SQL):
/// (re)learning cards whose due is a timestamp go to the learning queue,
/// those with a day number to the day-learning queue.
fn queue_from_type(due: &str) -> String {
    format!(
        "case type when 0 then 0 when 2 then 2 \
         else case when {due} > 1000000000 then 1 else 3 end end"
    )
}

/// The queue of card `cid`, if it exists.
pub fn queue(ctx: &Ctx, cid: i64) -> Result<Option<i64>> {
    Ok(ctx
        .conn
        .prepare_cached("select queue from cards where id = ?1")?
        .query_row([cid], |r| r.get(0))
        .optional()?)
}

/// Suspends the cards not suspended yet; returns how many changed.
pub fn suspend(ctx: &Ctx, cids: &[i64]) -> Result<usize> {
    let mut changed = 0;
    let mut stmt = ctx.conn.prepare_cached(
        "update cards set queue = -1, mod = ?2, usn = ?3 where id = ?1 and queue != -1",
    )?;
    for &cid in cids {
        changed += stmt.execute(params![cid, ctx.now_secs(), ctx.usn])?;
    }
    Ok(changed)
}

/// Unsuspends (and unburies) cards; returns how many changed.
pub fn unsuspend(ctx: &Ctx, cids: &[i64]) -> Result<usize> {
    let mut changed = 0;
    let mut stmt = ctx.conn.prepare_cached(&format!(
        "update cards set queue = {}, mod = ?2, usn = ?3
         where id = ?1 and queue in (-1, -2, -3)",
        queue_from_type("due")
    ))?;
    for &cid in cids {
        changed += stmt.execute(params![cid, ctx.now_secs(), ctx.usn])?;
    }
    Ok(changed)
}

/// Moves cards to deck `did`, taking any out of a filtered deck first.
pub fn set_deck(ctx: &Ctx, cids: &[i64], did: i64) -> Result<()> {
    let mut restore = ctx.conn.prepare_cached(&format!(
        "update cards set due = case odue when 0 then due else odue end,
           queue = case when queue >= 0 then {} else queue end,
           odue = 0, odid = 0
         where id = ?1 and odid != 0",
        queue_from_type("case odue when 0 then due else odue end")
    ))?;
    let mut mv = ctx
        .conn
        .prepare_cached("update cards set did = ?2, mod = ?3, usn = ?4 where id = ?1")?;
    for &cid in cids {
        restore.execute([cid])?;
        mv.execute(params![cid, did, ctx.now_secs(), ctx.usn])?;
    }
    Ok(())
}
