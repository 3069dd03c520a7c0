//! Which cards a note gets, in which deck and at which new-card position,
//! as Anki decides it (rslib's card generation; checked against the real
//! client in tests/interop):
//!
//! * a normal notetype gets a card for each template whose question side is
//!   non-empty ([`super::template`]) with the note's non-empty fields, plus
//!   the special fields (`Card`, `CardFlag`, `Deck`, `Subdeck`, `Type`,
//!   `CardID`, and `Tags` when the note has tags) unless a real field has
//!   that name; `FrontSide` never counts;
//! * a cloze notetype gets a card for each cloze number in any field
//!   (ord = number − 1, at most 499);
//! * a note with no card yet that would get none gets card 0;
//! * ords that already have a card are skipped (updates never delete);
//! * the deck: the template's deck override, else the deck all the note's
//!   cards share (updates) or the requested deck (new notes), else the
//!   notetype's last deck; a missing or filtered deck means Default (1);
//! * the position: a new card of the note's reuses the note's position,
//!   otherwise `nextPos` is taken once per note (random positions for decks
//!   whose options insert new cards in random order).

use std::collections::{BTreeSet, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::params;

use super::template::{field_is_empty, Template};
use super::{alloc_id, cloze, config, Ctx, Result};
use crate::collection::legacy::{self, NotetypeRows};
use crate::collection::proto::{DeckKind, NewCardInsertOrder, NotetypeKind};

const SPECIAL_FIELDS: [&str; 8] = [
    "FrontSide",
    "Card",
    "CardFlag",
    "Deck",
    "Subdeck",
    "Tags",
    "Type",
    "CardID",
];

/// A card of the note that already exists.
#[derive(Debug, Clone)]
pub struct Existing {
    pub ord: u32,
    /// The deck it belongs to (its original deck when in a filtered deck).
    pub deck_id: i64,
    /// Its position when it is a new card.
    pub position_if_new: Option<u32>,
}

/// A card to create.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ToGenerate {
    ord: u32,
    deck_id: Option<i64>,
    due: Option<u32>,
}

pub fn existing_cards(ctx: &Ctx, nid: i64) -> Result<Vec<Existing>> {
    let mut stmt = ctx.conn.prepare_cached(
        "select ord, case odid when 0 then did else odid end,
           case type when 0 then (case odue when 0 then max(0, due) else max(odue, 0) end) else null end
         from cards where nid = ?1 order by id",
    )?;
    let rows = stmt.query_map([nid], |r| {
        Ok(Existing {
            ord: r.get(0)?,
            deck_id: r.get(1)?,
            position_if_new: r
                .get::<_, Option<i64>>(2)?
                .map(|p| p.clamp(0, u32::MAX as i64) as u32),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The ords a note's fields call for, in ascending order, ignoring existing
/// cards (the fallback card 0 not included).
pub fn required_ords(nt: &NotetypeRows, fields: &[String], has_tags: bool) -> Vec<u32> {
    if nt.config.kind == NotetypeKind::Cloze as i32 {
        let mut numbers = BTreeSet::new();
        for f in fields {
            cloze::add_cloze_numbers(f, &mut numbers);
        }
        // Distinct numbers of 500 and above each make their own ord-499 card.
        return numbers
            .into_iter()
            .map(|n| u32::from(n.saturating_sub(1).min(499)))
            .collect();
    }
    let mut nonempty: HashSet<&str> = fields
        .iter()
        .zip(&nt.fields)
        .filter(|(text, _)| !field_is_empty(text))
        .map(|(_, f)| f.name.as_str())
        .collect();
    let names: HashSet<&str> = nt.fields.iter().map(|f| f.name.as_str()).collect();
    for special in SPECIAL_FIELDS {
        if !names.contains(special) && special != "FrontSide" && (special != "Tags" || has_tags) {
            nonempty.insert(special);
        }
    }
    nt.templates
        .iter()
        .filter(|t| {
            Template::parse(&t.config.q_format).is_some_and(|p| p.renders_with_fields(&nonempty))
        })
        .map(|t| t.ord)
        .collect()
}

fn cards_to_generate(
    nt: &NotetypeRows,
    fields: &[String],
    has_tags: bool,
    existing: &[Existing],
) -> Vec<ToGenerate> {
    let existing_ords: HashSet<u32> = existing.iter().map(|c| c.ord).collect();
    let due = existing.iter().find_map(|c| c.position_if_new);
    let decks: HashSet<i64> = existing.iter().map(|c| c.deck_id).collect();
    let shared_deck = (decks.len() == 1).then(|| *decks.iter().next().expect("one deck"));
    let cloze = nt.config.kind == NotetypeKind::Cloze as i32;
    let cards: Vec<ToGenerate> = required_ords(nt, fields, has_tags)
        .into_iter()
        .filter(|ord| !existing_ords.contains(ord))
        .map(|ord| {
            let overridden = (!cloze)
                .then(|| nt.templates.get(ord as usize))
                .flatten()
                .map(|t| t.config.target_deck_id)
                .filter(|&did| did > 0);
            ToGenerate {
                ord,
                deck_id: overridden.or(shared_deck),
                due,
            }
        })
        .collect();
    if existing_ords.is_empty() && cards.is_empty() {
        return vec![ToGenerate {
            ord: 0,
            deck_id: shared_deck,
            due,
        }];
    }
    cards
}

/// The deck a card goes to and its options group: `did` if it is a normal
/// deck, else Default.
fn deck_for_adding(ctx: &Ctx, did: Option<i64>) -> Result<(i64, i64)> {
    for candidate in did.into_iter().chain([1]) {
        if let Some(deck) = legacy::load_deck(ctx.conn, candidate)? {
            if let Some(DeckKind::Normal(normal)) = deck.kind.kind {
                return Ok((candidate, normal.config_id));
            }
        }
    }
    Err(super::EditError::Refused(
        "the collection has no usable Default deck".into(),
    ))
}

fn inserts_randomly(ctx: &Ctx, dcid: i64) -> Result<bool> {
    let conf = match legacy::load_deck_config(ctx.conn, dcid)? {
        Some(c) => Some(c),
        None => legacy::load_deck_config(ctx.conn, 1)?,
    };
    Ok(conf.is_some_and(|c| c.config.new_card_insert_order == NewCardInsertOrder::Random as i32))
}

/// Anki's random new-card position: deterministic in `next_pos`.
pub fn random_position(next_pos: u32) -> u32 {
    let mut rng = StdRng::seed_from_u64(u64::from(next_pos));
    rng.random_range(1..next_pos.max(1000))
}

/// Creates the cards a note needs. `target_deck` is the requested deck for a
/// new note, or `None` for an update (then the notetype's last deck is the
/// fallback). Returns the new card ids.
pub fn generate(
    ctx: &Ctx,
    nt: &NotetypeRows,
    nid: i64,
    fields: &[String],
    has_tags: bool,
    target_deck: Option<i64>,
) -> Result<Vec<i64>> {
    let existing = existing_cards(ctx, nid)?;
    let cards = cards_to_generate(nt, fields, has_tags, &existing);
    let fallback = match target_deck {
        Some(did) => Some(did),
        None => config::last_deck_for_notetype(ctx, nt.id)?,
    };
    let mut next_position: Option<u32> = None;
    let mut ids = Vec::with_capacity(cards.len());
    for card in cards {
        let (did, dcid) = deck_for_adding(ctx, card.deck_id.or(fallback))?;
        let due = match card.due {
            Some(due) => due,
            None => {
                let pos = match next_position {
                    Some(p) => p,
                    None => *next_position.insert(config::take_next_position(ctx)?),
                };
                if inserts_randomly(ctx, dcid)? {
                    random_position(pos)
                } else {
                    pos
                }
            }
        };
        let id = alloc_id(ctx.conn, "cards", ctx.now_ms)?;
        ctx.conn
            .prepare_cached(
                "insert into cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor,
                   reps, lapses, left, odue, odid, flags, data)
                 values (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, 0, 0, 0, 0, 0, 0, 0, 0, '{}')",
            )?
            .execute(params![
                id,
                nid,
                did,
                card.ord,
                ctx.now_secs(),
                ctx.usn,
                due
            ])?;
        ids.push(id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_positions_match_ankis() {
        assert_eq!(random_position(5), 180);
        assert_eq!(random_position(500), 13);
        assert_eq!(random_position(5001), 3731);
        assert_eq!(random_position(22), 947);
    }
}
