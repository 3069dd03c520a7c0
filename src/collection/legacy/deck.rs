//! Decks: the legacy JSON (`decks[0]` elements, sync-protocol.md §7.5) ⇄ a
//! `decks` row (`common` = `Deck.Common`, `kind` = `Deck.KindContainer`).
//!
//! Parsing follows the official server (checked against it key by key):
//!
//! * `id` (required), `mod` (optional, 0), `conf` (required for normal
//!   decks): integers or numeric strings; `usn` a required `i32`;
//! * `name`: required string; stored with `\x1f` between levels, each level
//!   cleaned as the official server does ([`stored_name`]: control
//!   characters removed, whitespace and `:` trimmed, empty → `blank`);
//! * `lrnToday`, `revToday`, `newToday`, `timeToday`: required arrays
//!   `[day, amount]`. The last two elements count (a one-element array is
//!   `[0, x]`); an element that is not an integer reads as 0 and integers
//!   wrap to 32 bits. They collapse into `Deck.Common` as §7.5 describes;
//! * `collapsed` (required), `browserCollapsed`, `md` (optional): JSON
//!   booleans only; `desc` an optional string (`null` is an error);
//! * `dyn`: required; 1 or `true` is a filtered deck, 0, `false` or any other
//!   integer a normal deck (other types are errors);
//! * normal decks: `extendNew`/`extendRev` an `i32` (negative → 0, invalid →
//!   0); `reviewLimit`/`newLimit` a `u32` or none; `reviewLimitToday`/
//!   `newLimitToday` `{"limit": u32, "today": u32}` (or `[limit, today]`) or
//!   none; `desiredRetention` an integer percent (`u32`) or none — all read
//!   leniently (anything invalid is none/0);
//! * filtered decks: `resched` required (boolean or 0/1); `terms` required,
//!   each `[search, limit, order]` (or `{search, limit, order}`) with `limit`
//!   an `i32` or numeric string (negative → 0) and `order` an `i32`;
//!   `delays` a list of numbers, anything else (also `[]`) is none;
//!   `previewDelay`, `preview{Again,Hard,Good}Secs` optional `u32`;
//!   `separate` ignored; `desc` and `md` dropped (nowhere to store them);
//! * `return` is dropped; every other key goes to `Deck.Common.other`
//!   (normal-deck keys on a filtered deck and filtered-deck keys on a normal
//!   deck included).
//!
//! Output: the four `*Today` lists are `[last_day_studied, amount]` with the
//! day as a signed 32-bit number; `md` only when true; filtered decks get
//! `"desc": ""` and `"separate": true`; `desiredRetention` is the stored
//! fraction × 100 (in `f32`), truncated. Entries of `other` are merged in
//! unless their key is a common or normal-deck key ([`DROPPED_OTHER_KEYS`]);
//! the official server writes the remaining ones between the common and the
//! kind-specific keys, so a filtered-deck key in `other` is overridden by the
//! deck's own value while `md`/`return` from `other` survive.

use serde_json::{json, Map, Value};

use super::json::{
    bool_or_01, boolean, f32_values, floats, int_in, int_or_numeric_string, merge_other,
    other_bytes, other_map, string, Obj,
};
use super::LegacyError;
use crate::collection::proto::{
    DayLimit, DeckCommon, DeckFiltered, DeckKind, DeckKindContainer, DeckNormal, SearchTerm,
};

/// A `decks` row.
#[derive(Debug, Clone, PartialEq)]
pub struct DeckRow {
    pub id: i64,
    /// Stored form: levels joined with `\x1f`.
    pub name: String,
    pub mtime_secs: i64,
    pub usn: i32,
    pub common: DeckCommon,
    pub kind: DeckKindContainer,
}

/// Keys every deck object has.
pub const COMMON_KEYS: &[&str] = &[
    "id",
    "mod",
    "name",
    "usn",
    "lrnToday",
    "revToday",
    "newToday",
    "timeToday",
    "collapsed",
    "browserCollapsed",
    "desc",
    "md",
    "dyn",
];

/// Keys of normal decks only.
pub const NORMAL_KEYS: &[&str] = &[
    "conf",
    "extendNew",
    "extendRev",
    "reviewLimit",
    "newLimit",
    "reviewLimitToday",
    "newLimitToday",
    "desiredRetention",
];

/// Keys of filtered decks only.
pub const FILTERED_KEYS: &[&str] = &[
    "resched",
    "terms",
    "separate",
    "delays",
    "previewDelay",
    "previewAgainSecs",
    "previewHardSecs",
    "previewGoodSecs",
];

/// Obsolete key dropped on input.
const OBSOLETE_KEYS: &[&str] = &["return"];

/// Keys of `other` never written back (the official server removes exactly
/// these, for normal and filtered decks alike).
pub const DROPPED_OTHER_KEYS: &[&str] = &[
    "id",
    "mod",
    "name",
    "usn",
    "lrnToday",
    "revToday",
    "newToday",
    "timeToday",
    "collapsed",
    "browserCollapsed",
    "desc",
    "dyn",
    "conf",
    "extendNew",
    "extendRev",
    "reviewLimit",
    "newLimit",
    "reviewLimitToday",
    "newLimitToday",
    "desiredRetention",
];

/// The stored form of a deck name given on the wire, as the official server
/// makes it: levels split at `::`; in each, ASCII control characters
/// removed, then whitespace and `:` trimmed from both ends; empty levels
/// named `blank`; joined with `\x1f`. (A level can still contain `::` when a
/// control character separated the colons on the wire; the official server
/// keeps that too. It also applies Unicode NFC normalisation, which kioku
/// does not.)
pub fn stored_name(wire: &str) -> String {
    wire.split("::")
        .map(|level| {
            let cleaned: String = level.chars().filter(|c| !c.is_ascii_control()).collect();
            match cleaned.trim_matches(|c: char| c.is_whitespace() || c == ':') {
                "" => "blank".to_string(),
                t => t.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\x1f")
}

/// The wire form of a stored deck name (`\x1f` → `::`).
pub fn wire_name(stored: &str) -> String {
    stored.replace('\x1f', "::")
}

/// Converts a legacy deck object into a row.
pub fn from_json(value: &Value) -> Result<DeckRow, LegacyError> {
    let o = Obj::new(value, "deck")?;
    let id = o.req("id", int_or_numeric_string, "an integer")?;
    let mut o = o;
    o.what = format!("deck {id}");
    let name = stored_name(&o.req("name", string, "a string")?);
    let mtime_secs = o
        .opt("mod", int_or_numeric_string, "an integer")?
        .unwrap_or(0);
    let usn = o.req("usn", int_in::<i32>, "a 32-bit integer")?;
    let filtered = match o.present("dyn")? {
        Value::Bool(b) => *b,
        v => {
            v.as_i64()
                .ok_or_else(|| o.bad("dyn", "0, 1 or a boolean"))?
                == 1
        }
    };
    let today = |key: &str| -> Result<(i32, i32), LegacyError> {
        let list = o.req(key, |v| v.as_array().cloned(), "a [day, amount] list")?;
        // every element shifts the pair: the last two elements count
        Ok(list
            .iter()
            .fold((0, 0), |(_, amount), v| (amount, wrapping_i32(v))))
    };
    let lrn = today("lrnToday")?;
    let rev = today("revToday")?;
    let new = today("newToday")?;
    let time = today("timeToday")?;
    let study_collapsed = o.req("collapsed", boolean, "a boolean")?;
    let browser_collapsed = o
        .opt("browserCollapsed", boolean, "a boolean")?
        .unwrap_or(false);
    let description = o.opt("desc", string, "a string")?.unwrap_or_default();
    let markdown_description = o.opt("md", boolean, "a boolean")?.unwrap_or(false);

    let last_day = time.0.max(new.0).max(rev.0);
    let on_last_day = |(day, amount): (i32, i32)| if day == last_day { amount } else { 0 };

    let (kind, known) = if filtered {
        let reschedule = o.req("resched", bool_or_01, "a boolean or 0/1")?;
        let terms = o.req("terms", |v| v.as_array().cloned(), "a list of terms")?;
        let search_terms = terms
            .iter()
            .map(|t| {
                search_term(t).ok_or_else(|| o.bad("terms", "a list of [search, limit, order]"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let u32_key = |key: &str| -> Result<u32, LegacyError> {
            Ok(o.opt(key, int_in::<u32>, "a non-negative integer")?
                .unwrap_or(0))
        };
        let kind = DeckKind::Filtered(DeckFiltered {
            reschedule,
            search_terms,
            delays: o.lenient("delays", floats).unwrap_or_default(),
            preview_delay: u32_key("previewDelay")?,
            preview_hard_secs: u32_key("previewHardSecs")?,
            preview_good_secs: u32_key("previewGoodSecs")?,
            preview_again_secs: u32_key("previewAgainSecs")?,
        });
        (kind, FILTERED_KEYS)
    } else {
        let config_id = o.req("conf", int_or_numeric_string, "an integer")?;
        let extend = |key: &str| o.lenient(key, int_in::<i32>).map_or(0, |n| n.max(0) as u32);
        let kind = DeckKind::Normal(DeckNormal {
            config_id,
            extend_new: extend("extendNew"),
            extend_review: extend("extendRev"),
            description,
            markdown_description,
            review_limit: o.lenient("reviewLimit", int_in::<u32>),
            new_limit: o.lenient("newLimit", int_in::<u32>),
            review_limit_today: o.lenient("reviewLimitToday", day_limit),
            new_limit_today: o.lenient("newLimitToday", day_limit),
            desired_retention: o
                .lenient("desiredRetention", int_in::<u32>)
                .map(|p| p as f32 / 100.0),
        });
        (kind, NORMAL_KEYS)
    };

    let known: Vec<&str> = COMMON_KEYS
        .iter()
        .chain(known)
        .chain(OBSOLETE_KEYS)
        .copied()
        .collect();
    Ok(DeckRow {
        id,
        name,
        mtime_secs,
        usn,
        common: DeckCommon {
            study_collapsed,
            browser_collapsed,
            last_day_studied: last_day as u32,
            new_studied: on_last_day(new),
            review_studied: on_last_day(rev),
            learning_studied: on_last_day(lrn),
            milliseconds_studied: time.1,
            other: other_bytes(&o.unknown(&known)),
        },
        kind: DeckKindContainer { kind: Some(kind) },
    })
}

/// An integer wrapped to 32 bits; anything else is 0.
fn wrapping_i32(v: &Value) -> i32 {
    v.as_i64()
        .or_else(|| v.as_u64().map(|u| u as i64))
        .map_or(0, |i| i as i32)
}

fn day_limit(v: &Value) -> Option<DayLimit> {
    let (limit, today) = match v {
        Value::Object(m) => (m.get("limit")?, m.get("today")?),
        Value::Array(a) if a.len() == 2 => (&a[0], &a[1]),
        _ => return None,
    };
    Some(DayLimit {
        limit: int_in::<u32>(limit)?,
        today: int_in::<u32>(today)?,
    })
}

fn search_term(v: &Value) -> Option<SearchTerm> {
    let (search, limit, order) = match v {
        Value::Array(a) if a.len() == 3 => (&a[0], &a[1], &a[2]),
        Value::Object(m) => (m.get("search")?, m.get("limit")?, m.get("order")?),
        _ => return None,
    };
    let limit = match limit {
        Value::String(s) => s.parse::<i32>().ok()?,
        v => int_in::<i32>(v)?,
    };
    Some(SearchTerm {
        search: search.as_str()?.to_owned(),
        limit: limit.max(0) as u32,
        order: int_in::<i32>(order)?,
    })
}

/// Converts a row into the legacy deck object the official server sends. A
/// row without a kind is written as a normal deck with default settings.
pub fn to_json(deck: &DeckRow) -> Value {
    let c = &deck.common;
    let day = c.last_day_studied as i32;
    let normal_default;
    let kind = match &deck.kind.kind {
        Some(k) => k,
        None => {
            normal_default = DeckKind::Normal(DeckNormal::default());
            &normal_default
        }
    };
    let mut out = Map::new();
    out.insert("id".into(), deck.id.into());
    out.insert("mod".into(), deck.mtime_secs.into());
    out.insert("name".into(), wire_name(&deck.name).into());
    out.insert("usn".into(), deck.usn.into());
    out.insert("lrnToday".into(), json!([day, c.learning_studied]));
    out.insert("revToday".into(), json!([day, c.review_studied]));
    out.insert("newToday".into(), json!([day, c.new_studied]));
    out.insert("timeToday".into(), json!([day, c.milliseconds_studied]));
    out.insert("collapsed".into(), c.study_collapsed.into());
    out.insert("browserCollapsed".into(), c.browser_collapsed.into());
    match kind {
        DeckKind::Normal(n) => {
            out.insert("desc".into(), n.description.clone().into());
            if n.markdown_description {
                out.insert("md".into(), true.into());
            }
            out.insert("dyn".into(), 0.into());
        }
        DeckKind::Filtered(_) => {
            out.insert("desc".into(), "".into());
            out.insert("dyn".into(), 1.into());
        }
    }
    merge_other(&mut out, other_map(&c.other), DROPPED_OTHER_KEYS);
    match kind {
        DeckKind::Normal(n) => {
            let day_limit = |l: &Option<DayLimit>| {
                l.as_ref()
                    .map_or(Value::Null, |l| json!({"limit": l.limit, "today": l.today}))
            };
            out.insert("conf".into(), n.config_id.into());
            out.insert("extendNew".into(), n.extend_new.into());
            out.insert("extendRev".into(), n.extend_review.into());
            out.insert("reviewLimit".into(), n.review_limit.into());
            out.insert("newLimit".into(), n.new_limit.into());
            out.insert("reviewLimitToday".into(), day_limit(&n.review_limit_today));
            out.insert("newLimitToday".into(), day_limit(&n.new_limit_today));
            out.insert(
                "desiredRetention".into(),
                n.desired_retention.map(|r| (r * 100.0) as u32).into(),
            );
        }
        DeckKind::Filtered(f) => {
            out.insert("resched".into(), f.reschedule.into());
            out.insert(
                "terms".into(),
                f.search_terms
                    .iter()
                    .map(|t| json!([t.search, t.limit, t.order]))
                    .collect(),
            );
            out.insert("separate".into(), true.into());
            out.insert(
                "delays".into(),
                if f.delays.is_empty() {
                    Value::Null
                } else {
                    f32_values(&f.delays)
                },
            );
            out.insert("previewDelay".into(), f.preview_delay.into());
            out.insert("previewAgainSecs".into(), f.preview_again_secs.into());
            out.insert("previewHardSecs".into(), f.preview_hard_secs.into());
            out.insert("previewGoodSecs".into(), f.preview_good_secs.into());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
#[path = "deck_tests.rs"]
mod tests;
