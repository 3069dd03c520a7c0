//! Decks by name: Anki's name normalisation (levels split at `::`, NFC,
//! control characters removed, whitespace and `:` trimmed, empty → `blank`,
//! stored with U+001F between levels), case-insensitive lookup, creation
//! with the missing parents (spelled like the nearest existing one), and
//! the deck tree.

use unicode_normalization::UnicodeNormalization;

use super::{alloc_id, Ctx, EditError, Result};
use crate::collection::create::{default_deck_common, default_deck_kind};
use crate::collection::legacy::{self, deck, DeckRow};
use crate::collection::proto::DeckKind;

/// The stored form of a deck name given as `A::B`.
pub fn stored_name(human: &str) -> String {
    let nfc: String = human.nfc().collect();
    deck::stored_name(&nfc)
}

/// The id of the deck called `human` (compared case-insensitively).
pub fn id_by_name(ctx: &Ctx, human: &str) -> Result<Option<i64>> {
    Ok(legacy::find_deck_id_by_name(ctx.conn, &stored_name(human))?)
}

/// Whether deck `did` is a filtered deck (`None`: no such deck).
pub fn is_filtered(ctx: &Ctx, did: i64) -> Result<Option<bool>> {
    Ok(legacy::load_deck(ctx.conn, did)?
        .map(|d| matches!(d.kind.kind, Some(DeckKind::Filtered(_)))))
}

fn add_normal(ctx: &Ctx, stored: &str) -> Result<i64> {
    let id = alloc_id(ctx.conn, "decks", ctx.now_ms)?;
    legacy::store_deck(
        ctx.conn,
        &DeckRow {
            id,
            name: stored.to_owned(),
            mtime_secs: ctx.now_secs(),
            usn: ctx.usn,
            common: default_deck_common(),
            kind: default_deck_kind(),
        },
    )?;
    Ok(id)
}

/// The id of the deck called `human`, creating it (and any missing parent)
/// as a normal deck if needed, as Anki's `decks.id(name)` does.
pub fn get_or_create(ctx: &Ctx, human: &str) -> Result<i64> {
    let mut stored = stored_name(human);
    if let Some(id) = legacy::find_deck_id_by_name(ctx.conn, &stored)? {
        return Ok(id);
    }
    let levels: Vec<String> = stored.split('\x1f').map(str::to_owned).collect();
    // The nearest existing parent lends its spelling.
    for depth in (1..levels.len()).rev() {
        let parent = levels[..depth].join("\x1f");
        if let Some(pid) = legacy::find_deck_id_by_name(ctx.conn, &parent)? {
            let parent_deck = legacy::load_deck(ctx.conn, pid)?.expect("just found");
            if matches!(parent_deck.kind.kind, Some(DeckKind::Filtered(_))) {
                return Err(EditError::Refused(
                    "A filtered deck cannot have subdecks.".into(),
                ));
            }
            stored = format!("{}\x1f{}", parent_deck.name, levels[depth..].join("\x1f"));
            break;
        }
    }
    // Missing parents, nearest first (as Anki creates them).
    let mut name = stored.as_str();
    while let Some((parent, _)) = name.rsplit_once('\x1f') {
        if legacy::find_deck_id_by_name(ctx.conn, parent)?.is_none() {
            add_normal(ctx, parent)?;
        }
        name = parent;
    }
    add_normal(ctx, &stored)
}

/// All decks as `(human name, id)`, in Anki's order (by stored name).
pub fn all_names(ctx: &Ctx) -> Result<Vec<(String, i64)>> {
    let mut stmt = ctx
        .conn
        .prepare_cached("select id, name from decks order by name")?;
    let rows = stmt.query_map([], |r| {
        Ok((deck::wire_name(&r.get::<_, String>(1)?), r.get(0)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The human name of deck `did`.
pub fn name_of(ctx: &Ctx, did: i64) -> Result<Option<String>> {
    Ok(legacy::load_deck(ctx.conn, did)?.map(|d| deck::wire_name(&d.name)))
}

/// Deck `did` and all decks below it.
pub fn with_children(ctx: &Ctx, did: i64) -> Result<Vec<i64>> {
    let Some(top) = legacy::load_deck(ctx.conn, did)? else {
        return Ok(Vec::new());
    };
    let prefix = format!("{}\x1f", top.name);
    let mut out = vec![did];
    for (name, id) in all_names(ctx)? {
        let stored = name.replace("::", "\x1f");
        if unicase::UniCase::new(stored.get(..prefix.len()).unwrap_or(""))
            == unicase::UniCase::new(prefix.as_str())
        {
            out.push(id);
        }
    }
    Ok(out)
}
