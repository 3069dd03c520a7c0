//! The SQL writer: turns a parsed query into one `select` over the `cards`
//! and/or `notes` tables, with every value from the query bound as a
//! parameter (numbers parsed from the query are written as integers).
//!
//! The statement has the same shape as the one Anki's own search builds, so
//! that SQLite evaluates it with the same semantics: only the tables the
//! terms need are read (a note search with card terms joins the cards, so a
//! note matches when any of its cards does); AND/OR are written without extra
//! brackets, only the user's own groups are bracketed; each term becomes the
//! same condition Anki writes for it. Text and field terms are in
//! [`super::sql_text`].
//!
//! Terms kioku does not support produce [`SearchError::Unsupported`]; this
//! module must never silently match something else instead.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::context::Context;
use super::parser::Expr;
use super::terms::{Prop, Rating, State, Template, Term};
use super::text::{is_glob, nfc, to_regex, to_text};
use super::SearchError;

/// What the query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    Cards,
    Notes,
}

/// The tables a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tables {
    Cards,
    Notes,
    CardsAndNotes,
    /// Either will do (ids, the whole collection).
    Any,
}

impl Tables {
    fn and(self, other: Tables) -> Tables {
        match (self, other) {
            (Tables::Any, t) | (t, Tables::Any) => t,
            (a, b) if a == b => a,
            _ => Tables::CardsAndNotes,
        }
    }

    fn of_expr(expr: &Expr) -> Tables {
        match expr {
            Expr::Term(t) => Tables::of_term(t),
            Expr::Not(e) | Expr::Group(e) => Tables::of_expr(e),
            Expr::And(es) | Expr::Or(es) => es
                .iter()
                .fold(Tables::Any, |acc, e| acc.and(Tables::of_expr(e))),
        }
    }

    fn of_term(term: &Term) -> Tables {
        match term {
            Term::AddedInDays(_)
            | Term::IntroducedInDays(_)
            | Term::Deck(_)
            | Term::DeckIds(_)
            | Term::Rated { .. }
            | Term::State(_)
            | Term::Flag(_)
            | Term::CardIds(_)
            | Term::Prop { .. }
            | Term::CustomData(_)
            | Term::Preset(_) => Tables::Cards,
            Term::Text { .. }
            | Term::Field { .. }
            | Term::Tag { .. }
            | Term::Dupe { .. }
            | Term::Regex(_)
            | Term::WordBoundary(_)
            | Term::NotetypeId(_)
            | Term::Notetype(_)
            | Term::EditedInDays(_) => Tables::Notes,
            Term::NoteIds(_) | Term::WholeCollection => Tables::Any,
            Term::Template(_) => Tables::CardsAndNotes,
        }
    }
}

/// The statement and its parameters.
pub(crate) struct Query {
    pub sql: String,
    pub args: Vec<Value>,
}

pub(crate) struct Writer<'a> {
    pub(super) conn: &'a Connection,
    pub(super) ctx: &'a Context,
    pub(super) sql: String,
    pub(super) args: Vec<Value>,
    tables: Tables,
}

/// Writes the query for `expr` returning `item` ids.
pub(crate) fn build(
    conn: &Connection,
    ctx: &Context,
    expr: &Expr,
    item: Item,
) -> Result<Query, SearchError> {
    let base = match item {
        Item::Cards => Tables::Cards,
        Item::Notes => Tables::Notes,
    };
    let tables = base.and(Tables::of_expr(expr));
    let mut w = Writer {
        conn,
        ctx,
        sql: String::new(),
        args: Vec::new(),
        tables,
    };
    w.sql.push_str(match (tables, item) {
        (Tables::Cards, _) => "select c.id from cards c where ",
        (Tables::Notes, _) => "select n.id from notes n where ",
        (_, Item::Cards) => "select c.id from cards c, notes n where c.nid = n.id and ",
        (_, Item::Notes) => "select distinct n.id from cards c, notes n where c.nid = n.id and ",
    });
    w.sql.push('(');
    w.expr(expr)?;
    w.sql.push(')');
    Ok(Query {
        sql: w.sql,
        args: w.args,
    })
}

impl Writer<'_> {
    /// Adds a parameter; returns its `?N` placeholder.
    pub(super) fn arg(&mut self, value: impl Into<Value>) -> String {
        self.args.push(value.into());
        format!("?{}", self.args.len())
    }

    /// Adds a regex parameter after checking that it compiles.
    pub(super) fn regex_arg(&mut self, re: String) -> Result<String, SearchError> {
        regex::Regex::new(&re)
            .map_err(|e| SearchError::Parse(format!("Invalid search: invalid regex: {e}")))?;
        Ok(self.arg(re))
    }

    /// Search text as stored notes hold it (NFC when the collection
    /// normalises note text).
    pub(super) fn note_text<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        if self.ctx.normalize_text {
            nfc(s)
        } else {
            s.into()
        }
    }

    fn expr(&mut self, expr: &Expr) -> Result<(), SearchError> {
        match expr {
            Expr::Term(t) => self.term(t)?,
            Expr::Not(e) => {
                self.sql.push_str("not ");
                self.expr(e)?;
            }
            Expr::Group(e) => {
                self.sql.push('(');
                self.expr(e)?;
                self.sql.push(')');
            }
            Expr::And(es) | Expr::Or(es) => {
                let op = if matches!(expr, Expr::And(_)) {
                    " and "
                } else {
                    " or "
                };
                for (i, e) in es.iter().enumerate() {
                    if i > 0 {
                        self.sql.push_str(op);
                    }
                    self.expr(e)?;
                }
            }
        }
        Ok(())
    }

    fn term(&mut self, term: &Term) -> Result<(), SearchError> {
        match term {
            Term::WholeCollection => self.sql.push_str("true"),
            Term::Text { text, mode } => {
                let text = self.note_text(text).into_owned();
                self.unqualified(&text, *mode)?
            }
            Term::Field { field, text, mode } => {
                let text = self.note_text(text).into_owned();
                self.field(&nfc(field), &text, *mode)?
            }
            Term::Dupe { notetype_id, text } => {
                let text = self.note_text(text).into_owned();
                self.dupe(*notetype_id, &text)?
            }
            Term::Regex(re) => {
                let re = self.note_text(re).into_owned();
                self.regex(&re, false)?
            }
            Term::WordBoundary(word) => {
                let word = self.note_text(word).into_owned();
                let re = format!(r"\b{}\b", to_regex(&word));
                self.regex(&re, self.ctx.ignore_accents)?
            }
            Term::Tag { tag, mode } => self.tag(&nfc(tag), *mode)?,
            Term::AddedInDays(days) => {
                let cutoff = self.day_cutoff(*days) * 1000;
                self.sql.push_str(&format!("c.id > {cutoff}"));
            }
            Term::EditedInDays(days) => {
                let cutoff = self.day_cutoff(*days);
                self.sql.push_str(&format!("n.mod > {cutoff}"));
            }
            Term::IntroducedInDays(days) => {
                let cutoff = self.day_cutoff(*days) * 1000;
                self.sql.push_str(&format!(
                    "((select coalesce(min(id) > {cutoff}, false) from revlog \
                     where cid = c.id and ease != 0) \
                     and c.id in (select cid from revlog where id > {cutoff}))"
                ));
            }
            Term::Template(Template::Ordinal(ord)) => {
                self.sql.push_str(&format!("c.ord = {ord}"));
            }
            Term::Template(Template::Name(name)) => {
                let name = nfc(name);
                self.name_in_table(
                    "(n.mid, c.ord) in (select ntid, ord from templates where name",
                    &name,
                )?;
                self.sql.push(')');
            }
            Term::Deck(deck) => self.deck(&nfc(deck))?,
            Term::DeckIds(ids) => {
                let ids = id_list(ids);
                self.sql.push_str(&format!(
                    "(c.did in {ids} or (c.odid != 0 and c.odid in {ids}))"
                ));
            }
            Term::NotetypeId(id) => self.sql.push_str(&format!("n.mid = {id}")),
            Term::Notetype(name) => {
                let name = nfc(name);
                self.name_in_table("n.mid in (select id from notetypes where name", &name)?;
                self.sql.push(')');
            }
            Term::Rated { days, rating } => self.rated(">", *days, *rating),
            Term::State(state) => self.state(*state),
            Term::Flag(flag) => self.sql.push_str(&format!("(c.flags & 7) = {flag}")),
            Term::NoteIds(ids) => {
                let column = match self.tables {
                    Tables::Cards => "c.nid",
                    _ => "n.id",
                };
                self.sql.push_str(&format!("{column} in {}", id_list(ids)));
            }
            Term::CardIds(ids) => self.sql.push_str(&format!("c.id in {}", id_list(ids))),
            Term::Prop { op, prop } => self.prop(op, prop)?,
            Term::Preset(name) => self.preset(name)?,
            Term::CustomData(key) => {
                return Err(SearchError::Unsupported(format!(
                    "kioku does not support searching card custom data (`has-cd:{key}`)"
                )))
            }
        }
        Ok(())
    }

    /// `<prefix> regexp ?` for wildcard names, `<prefix> = ?` (Unicode
    /// case-insensitive by the column's collation) otherwise.
    fn name_in_table(&mut self, prefix: &str, name: &str) -> Result<(), SearchError> {
        if is_glob(name) {
            let p = self.regex_arg(format!("(?i)^{}$", to_regex(name)))?;
            self.sql.push_str(&format!("{prefix} regexp {p}"));
        } else {
            let p = self.arg(to_text(name));
            self.sql.push_str(&format!("{prefix} = {p}"));
        }
        Ok(())
    }

    /// Start of the day `days` days before the next one begins (seconds).
    fn day_cutoff(&self, days: u32) -> i64 {
        self.ctx.timing.next_day_at - 86_400 * i64::from(days)
    }

    fn deck(&mut self, deck: &str) -> Result<(), SearchError> {
        match deck {
            "*" => self.sql.push_str("true"),
            "filtered" => self.sql.push_str("c.odid != 0"),
            _ => {
                let native = if deck == "current" {
                    let name: Option<String> =
                        rusqlite::OptionalExtension::optional(self.conn.query_row(
                            "select name from decks where id = ?1",
                            [self.ctx.current_deck],
                            |r| r.get(0),
                        ))?;
                    regex::escape(name.as_deref().unwrap_or("Default"))
                } else {
                    native_deck_pattern(&to_regex(deck))
                };
                let p = self.regex_arg(format!("(?i)^{native}($|\x1f)"))?;
                self.sql.push_str(&format!(
                    "(c.did in (select id from decks where name regexp {p}) \
                     or (c.odid != 0 and c.odid in (select id from decks where name regexp {p})))"
                ));
            }
        }
        Ok(())
    }

    fn rated(&mut self, op: &str, days: i64, rating: Rating) {
        let next_day_ms = self.ctx.timing.next_day_at * 1000;
        let target = next_day_ms + 86_400_000 * days;
        let day_before = next_day_ms + 86_400_000 * (days - 1);
        let range = match op {
            ">" => format!(">= {target}"),
            ">=" => format!(">= {day_before}"),
            "<" => format!("< {day_before}"),
            "<=" => format!("< {target}"),
            "=" => format!("between {day_before} and {}", target - 1),
            _ => format!("not between {day_before} and {}", target - 1),
        };
        let ease = match rating {
            Rating::Button(b) => format!("= {b}"),
            Rating::AnyButton => "> 0".to_string(),
            Rating::ManualReschedule => "= 0".to_string(),
        };
        self.sql.push_str(&format!(
            "c.id in (select cid from revlog where id {range} and ease {ease})"
        ));
    }

    fn state(&mut self, state: State) {
        let sql = match state {
            State::New => "c.type = 0".to_string(),
            State::Review => "c.type in (2, 3)".to_string(),
            State::Learning => "c.type in (1, 3)".to_string(),
            State::Buried => "c.queue in (-2, -3)".to_string(),
            State::BuriedManually => "c.queue = -3".to_string(),
            State::BuriedSibling => "c.queue = -2".to_string(),
            State::Suspended => "c.queue = -1".to_string(),
            State::Due => format!(
                "((c.queue in (2, 3) and c.due <= {today}) \
                 or (c.queue in (1, 4) and c.due <= {cutoff}))",
                today = self.ctx.timing.days_elapsed,
                cutoff = self.ctx.now_secs + self.ctx.learn_ahead_secs,
            ),
        };
        self.sql.push_str(&sql);
    }

    fn prop(&mut self, op: &str, prop: &Prop) -> Result<(), SearchError> {
        const DUE: &str = "(case when c.odue != 0 then c.odue else c.due end)";
        let sql = match prop {
            Prop::Due(days) => {
                let day = i64::from(*days) + i64::from(self.ctx.timing.days_elapsed);
                format!(
                    "((c.queue in (2, 3) and {DUE} {op} {day}) \
                     or (c.queue in (1, 4) and (({DUE} - {cutoff}) / 86400) {op} {days}))",
                    cutoff = self.ctx.timing.next_day_at,
                )
            }
            Prop::Position(pos) => format!("(c.type = 0 and {DUE} {op} {pos})"),
            Prop::Interval(n) => format!("c.ivl {op} {n}"),
            Prop::Reps(n) => format!("c.reps {op} {n}"),
            Prop::Lapses(n) => format!("c.lapses {op} {n}"),
            Prop::Ease(ease) => format!("c.factor {op} {}", (ease * 1000.0) as u32),
            Prop::Rated(days, rating) => {
                self.rated(op, i64::from(*days), *rating);
                return Ok(());
            }
            Prop::Unsupported(what) => {
                return Err(SearchError::Unsupported(format!(
                    "kioku does not support the {what}"
                )))
            }
        };
        self.sql.push_str(&sql);
        Ok(())
    }

    /// `preset:name`: cards in (or filtered from) decks using that options
    /// preset.
    fn preset(&mut self, name: &str) -> Result<(), SearchError> {
        use prost::Message;
        let config_id: Option<i64> = rusqlite::OptionalExtension::optional(self.conn.query_row(
            "select id from deck_config where name = ?1",
            [name],
            |r| r.get(0),
        ))?;
        let Some(config_id) = config_id else {
            self.sql.push_str("false");
            return Ok(());
        };
        let mut ids = Vec::new();
        let mut stmt = self.conn.prepare("select id, kind from decks")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let kind: Vec<u8> = row.get(1)?;
            let kind = crate::collection::proto::DeckKindContainer::decode(kind.as_slice())
                .unwrap_or_default();
            if let Some(crate::collection::proto::DeckKind::Normal(n)) = kind.kind {
                if n.config_id == config_id {
                    ids.push(row.get::<_, i64>(0)?);
                }
            }
        }
        let ids = id_list(&ids);
        self.sql
            .push_str(&format!("(c.did in {ids} or c.odid in {ids})"));
        Ok(())
    }
}

/// `(1,2,3)` from parsed ids (never user text).
pub(super) fn id_list(ids: &[i64]) -> String {
    let inner: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("({})", inner.join(","))
}

/// A deck-name regex written with `::` between levels, in the stored form:
/// levels joined by `\x1f`, each NFC, without ASCII control characters,
/// trimmed of whitespace and colons, and `blank` when empty (as deck names
/// are normalised when stored).
pub(super) fn native_deck_pattern(human: &str) -> String {
    human
        .split("::")
        .map(|level| {
            let level: String = nfc(level)
                .chars()
                .filter(|c| !c.is_ascii_control())
                .collect();
            let trimmed = level.trim_matches(|c: char| c.is_whitespace() || c == ':');
            if trimmed.is_empty() {
                "blank".to_string()
            } else {
                trimmed.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\x1f")
}

#[cfg(test)]
#[path = "sql_tests.rs"]
mod tests;
