//! Single search terms: the key/value split at the first unescaped colon and
//! the meaning of every keyword (`deck:`, `tag:`, `is:`, `prop:`, …); any
//! other key is a field search. Values are checked and unescaped here
//! (see [`super::text::unescape`]); numbers are parsed here, so malformed
//! ones are errors before any SQL exists.
//!
//! This module must not touch the collection or write SQL.

use super::parser::{parse_error, unknown_escape};
use super::text::{unescape, unescape_quotes, unescape_quotes_and_backslashes};
use super::SearchError;

/// One search term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    /// The empty query.
    WholeCollection,
    /// Text without a key, or `nc:`/`sc:` text.
    Text {
        text: String,
        mode: TextMode,
    },
    /// `field:value`, `field:re:…`, `field:nc:…`.
    Field {
        field: String,
        text: String,
        mode: FieldMode,
    },
    AddedInDays(u32),
    EditedInDays(u32),
    IntroducedInDays(u32),
    /// `card:`.
    Template(Template),
    /// `deck:`.
    Deck(String),
    /// `did:1,2`.
    DeckIds(Vec<i64>),
    /// `mid:`.
    NotetypeId(i64),
    /// `note:`.
    Notetype(String),
    /// `rated:`/`resched:`: revlog entries since `days` days before the
    /// next day starts (`days` is 0 or negative).
    Rated {
        days: i64,
        rating: Rating,
    },
    /// `tag:`.
    Tag {
        tag: String,
        mode: FieldMode,
    },
    /// `dupe:ntid,text`.
    Dupe {
        notetype_id: i64,
        text: String,
    },
    /// `is:`.
    State(State),
    /// `flag:`.
    Flag(u8),
    /// `nid:`.
    NoteIds(Vec<i64>),
    /// `cid:`.
    CardIds(Vec<i64>),
    /// `prop:`.
    Prop {
        op: &'static str,
        prop: Prop,
    },
    /// `re:`.
    Regex(String),
    /// `w:`.
    WordBoundary(String),
    /// `preset:`.
    Preset(String),
    /// `has-cd:` (card custom data; not supported).
    CustomData(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextMode {
    Normal,
    /// `nc:`: accents folded away on both sides.
    NoCombining,
    /// `sc:`: cloze markup stripped, cloze notetypes only.
    StripClozes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldMode {
    Normal,
    Regex,
    NoCombining,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Template {
    /// Zero-based template ordinal (cloze number − 1 for cloze notetypes).
    Ordinal(u16),
    Name(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rating {
    /// Answered with this button (1–4).
    Button(u8),
    /// Answered with any button.
    AnyButton,
    /// Rescheduled by hand (`ease` 0).
    ManualReschedule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    New,
    Review,
    Learning,
    Due,
    Buried,
    BuriedManually,
    BuriedSibling,
    Suspended,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prop {
    Due(i32),
    Interval(u32),
    Reps(u32),
    Lapses(u32),
    Ease(f32),
    Position(u32),
    Rated(i32, Rating),
    /// FSRS stability, difficulty, retrievability; custom data (unsupported).
    Unsupported(String),
}

/// A term's text (raw, escapes intact): a keyword or field search if it has
/// an unescaped colon, plain text otherwise.
pub(crate) fn term_for_text(s: &str) -> Result<Term, SearchError> {
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            ':' if i == 0 => {
                return Err(parse_error(
                    "a colon `:` must follow a keyword or field name; to search for a \
                     literal colon, write `\\:`",
                ))
            }
            ':' => return term_for_key_value(&s[..i], &s[i + 1..]),
            _ => {}
        }
    }
    Ok(Term::Text {
        text: unescaped(s)?,
        mode: TextMode::Normal,
    })
}

fn unescaped(s: &str) -> Result<String, SearchError> {
    unescape(s).map_err(|seq| unknown_escape(&seq))
}

/// The term for `key:value` (both raw).
pub(crate) fn term_for_key_value(key: &str, val: &str) -> Result<Term, SearchError> {
    Ok(match key.to_ascii_lowercase().as_str() {
        "deck" => Term::Deck(unescaped(val)?),
        "note" => Term::Notetype(unescaped(val)?),
        "tag" => tag(val)?,
        "card" => Term::Template(match val.parse::<u16>() {
            Ok(n) => Template::Ordinal(n.max(1) - 1),
            Err(_) => Template::Name(unescaped(val)?),
        }),
        "flag" => match val.parse::<u8>() {
            Ok(n) if n <= 7 => Term::Flag(n),
            _ => {
                return Err(parse_error(
                    "`flag:` must be followed by a number from 0 to 7",
                ))
            }
        },
        "resched" => Term::Rated {
            days: -i64::from(positive("resched:", val)?),
            rating: Rating::ManualReschedule,
        },
        "prop" => prop(val)?,
        "added" => Term::AddedInDays(positive("added:", val)?.max(1)),
        "edited" => Term::EditedInDays(positive("edited:", val)?.max(1)),
        "introduced" => Term::IntroducedInDays(positive("introduced:", val)?.max(1)),
        "rated" => rated(val)?,
        "is" => Term::State(state(val)?),
        "did" => Term::DeckIds(id_list("did", val)?),
        "mid" => Term::NotetypeId(whole("mid:", val)?),
        "nid" => Term::NoteIds(id_list("nid", val)?),
        "cid" => Term::CardIds(id_list("cid", val)?),
        "re" => Term::Regex(unescape_quotes(val)),
        "nc" => Term::Text {
            text: unescaped(val)?,
            mode: TextMode::NoCombining,
        },
        "sc" => Term::Text {
            text: unescaped(val)?,
            mode: TextMode::StripClozes,
        },
        "w" => Term::WordBoundary(unescaped(val)?),
        "dupe" => dupe(val)?,
        "has-cd" => Term::CustomData(unescaped(val)?),
        "preset" => Term::Preset(val.to_string()),
        _ => field(key, val)?,
    })
}

fn tag(val: &str) -> Result<Term, SearchError> {
    Ok(if let Some(re) = val.strip_prefix("re:") {
        Term::Tag {
            tag: unescape_quotes(re),
            mode: FieldMode::Regex,
        }
    } else if let Some(nc) = val.strip_prefix("nc:") {
        Term::Tag {
            tag: unescaped(nc)?,
            mode: FieldMode::NoCombining,
        }
    } else {
        Term::Tag {
            tag: unescaped(val)?,
            mode: FieldMode::Normal,
        }
    })
}

fn field(key: &str, val: &str) -> Result<Term, SearchError> {
    let field = unescaped(key)?;
    Ok(if let Some(re) = val.strip_prefix("re:") {
        Term::Field {
            field,
            text: unescape_quotes(re),
            mode: FieldMode::Regex,
        }
    } else if let Some(nc) = val.strip_prefix("nc:") {
        Term::Field {
            field,
            text: unescape_quotes(nc),
            mode: FieldMode::NoCombining,
        }
    } else {
        Term::Field {
            field,
            text: unescaped(val)?,
            mode: FieldMode::Normal,
        }
    })
}

fn state(val: &str) -> Result<State, SearchError> {
    Ok(match val {
        "new" => State::New,
        "review" => State::Review,
        "learn" => State::Learning,
        "due" => State::Due,
        "buried" => State::Buried,
        "buried-manually" => State::BuriedManually,
        "buried-sibling" => State::BuriedSibling,
        "suspended" => State::Suspended,
        _ => {
            return Err(parse_error(format!(
                "`is:{val}` is not a card state; use is:new, is:learn, is:review, is:due, \
                 is:suspended, is:buried, is:buried-manually or is:buried-sibling"
            )))
        }
    })
}

/// `rated:N` or `rated:N:B`.
fn rated(val: &str) -> Result<Term, SearchError> {
    let (days, button) = match val.split_once(':') {
        Some((d, b)) => (d, Some(b)),
        None => (val, None),
    };
    let days = positive("rated:", days)?.max(1);
    Ok(Term::Rated {
        days: -i64::from(days),
        rating: answer_button(button, val)?,
    })
}

fn answer_button(button: Option<&str>, context: &str) -> Result<Rating, SearchError> {
    match button {
        None => Ok(Rating::AnyButton),
        Some(b) => match b.parse::<u8>() {
            Ok(n @ 1..=4) => Ok(Rating::Button(n)),
            _ => Err(parse_error(format!(
                "in `{context}`, the answer button must be 1, 2, 3 or 4, not `{b}`"
            ))),
        },
    }
}

/// `dupe:ntid,text`.
fn dupe(val: &str) -> Result<Term, SearchError> {
    let (ntid, text) = match val.split_once(',') {
        Some((n, t)) => (n, Some(t)),
        None => (val, None),
    };
    let notetype_id = whole("dupe:", ntid)?;
    match text {
        Some(text) => Ok(Term::Dupe {
            notetype_id,
            text: unescape_quotes_and_backslashes(text),
        }),
        None => Err(parse_error(
            "`dupe:` needs a notetype id and a text: `dupe:ntid,text`",
        )),
    }
}

/// `nid:`, `cid:`, `did:`: ASCII digits separated by single commas.
fn id_list(key: &str, val: &str) -> Result<Vec<i64>, SearchError> {
    let well_formed = !val.is_empty()
        && val
            .split(',')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(parse_error(format!(
            "expected only digits and commas in `{key}:`, got `{val}`"
        )));
    }
    // An id too large for 64 bits can equal no stored id.
    Ok(val.split(',').filter_map(|id| id.parse().ok()).collect())
}

fn positive(context: &str, num: &str) -> Result<u32, SearchError> {
    num.parse().map_err(|_| {
        parse_error(format!(
            "`{context}` must be followed by a positive whole number, not `{num}`"
        ))
    })
}

fn whole(context: &str, num: &str) -> Result<i64, SearchError> {
    num.parse()
        .map_err(|_| parse_error(format!("`{context}` needs a whole number, not `{num}`")))
}

const PROP_OPERATORS: [&str; 6] = ["<=", ">=", "!=", "=", "<", ">"];

/// `prop:<name><op><value>`.
fn prop(clause: &str) -> Result<Term, SearchError> {
    const NAMES: [&str; 11] = [
        "ivl", "due", "reps", "lapses", "ease", "pos", "rated", "resched", "s", "d", "r",
    ];
    let name = if let Some(custom) = ["cdn:", "cds:"]
        .iter()
        .find_map(|p| clause.strip_prefix(p).map(|rest| (p, rest)))
    {
        let key_len = custom
            .1
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        (key_len > 0).then(|| &clause[..custom.0.len() + key_len])
    } else {
        NAMES.iter().copied().find(|n| clause.starts_with(n))
    };
    let Some(name) = name else {
        return Err(parse_error(format!(
            "`prop:{clause}`: unknown property; use ivl, due, reps, lapses, ease, pos, rated, \
             resched, s, d, r, cdn:… or cds:…"
        )));
    };
    let tail = &clause[name.len()..];
    let Some(op) = PROP_OPERATORS.iter().copied().find(|o| tail.starts_with(o)) else {
        return Err(parse_error(format!(
            "`prop:{name}` must be followed by one of <, >, <=, >=, = or !="
        )));
    };
    let num = &tail[op.len()..];
    let context = format!("prop:{clause}");
    let prop =
        match name {
            "ease" => Prop::Ease(float(&context, num)?),
            "due" => Prop::Due(num.parse().map_err(|_| {
                parse_error(format!("`{context}` needs a whole number, not `{num}`"))
            })?),
            "rated" => {
                let (days, button) = match num.split_once(':') {
                    Some((d, b)) => (d, Some(b)),
                    None => (num, None),
                };
                Prop::Rated(
                    not_positive(&context, days)?,
                    answer_button(button, &context)?,
                )
            }
            "resched" => Prop::Rated(not_positive(&context, num)?, Rating::ManualReschedule),
            "ivl" => Prop::Interval(positive(&context, num)?),
            "reps" => Prop::Reps(positive(&context, num)?),
            "lapses" => Prop::Lapses(positive(&context, num)?),
            "pos" => Prop::Position(positive(&context, num)?),
            "s" | "d" | "r" => {
                float(&context, num)?;
                Prop::Unsupported(format!("FSRS property search `{context}`"))
            }
            custom => {
                if custom.starts_with("cdn:") {
                    float(&context, num)?;
                }
                Prop::Unsupported(format!("custom data search `{context}`"))
            }
        };
    Ok(Term::Prop { op, prop })
}

fn float(context: &str, num: &str) -> Result<f32, SearchError> {
    num.parse()
        .map_err(|_| parse_error(format!("`{context}` needs a number, not `{num}`")))
}

fn not_positive(context: &str, num: &str) -> Result<i32, SearchError> {
    match num.parse::<i32>() {
        Ok(n) if n <= 0 => Ok(n),
        _ => Err(parse_error(format!(
            "`{context}` needs zero or a negative whole number, not `{num}`"
        ))),
    }
}
