//! SQL for the terms that look at note text: plain text (and `nc:`, `sc:`),
//! field searches, `re:`, `w:`, `tag:` and `dupe:`.
//!
//! Field searches run `LIKE` against the raw `flds` column with a pattern
//! per notetype that has one slot per field (`%` for the fields not
//! searched, the value for the searched ones, joined by the `\x1f`
//! separator), as Anki does; that gives SQLite's ASCII-only case folding and
//! Anki's exact quirks (adjacent matched fields are searched as one run).

use std::ops::Range;

use super::sql::{id_list, Writer};
use super::terms::{FieldMode, TextMode};
use super::text::{strip_clozes, to_like, to_regex, to_regex_with, without_combining, NameMatcher};
use super::SearchError;
use crate::collection::notes::{field_checksum, strip_html_preserving_media_filenames};

/// `process_text` flags (see [`super::functions`]).
pub(crate) const NO_COMBINING: i64 = 1;
pub(crate) const STRIP_CLOZES: i64 = 2;

/// Ranges of ordinals; adjacent ones merged when `join`.
fn ranges(ords: impl IntoIterator<Item = u32>, join: bool) -> Vec<Range<u32>> {
    let mut out: Vec<Range<u32>> = Vec::new();
    for ord in ords {
        match out.last_mut() {
            Some(last) if join && last.end == ord => last.end = ord + 1,
            _ => out.push(ord..ord + 1),
        }
    }
    out
}

/// A `LIKE` pattern for a note with `total` fields where the fields in
/// `range` (together, with their separators) must match `value` and the
/// others may hold anything.
fn field_pattern(total: usize, range: &Range<u32>, value: &str) -> String {
    (0..total as u32)
        .filter_map(|i| {
            if i == range.start {
                Some(value)
            } else if range.contains(&i) {
                None
            } else {
                Some("%")
            }
        })
        .collect::<Vec<_>>()
        .join("\x1f")
}

/// `(n.mid = <id> and (<a> or <b> …))`.
fn notetype_clause(id: i64, alternatives: &[String]) -> String {
    format!("(n.mid = {id} and ({}))", alternatives.join(" or "))
}

fn processed(column: &str, flags: i64) -> String {
    if flags == 0 {
        column.to_string()
    } else {
        format!("coalesce(process_text({column}, {flags}), {column})")
    }
}

impl Writer<'_> {
    /// Plain text: `%text%` against the raw fields or the sort field,
    /// skipping fields excluded from search.
    pub(super) fn unqualified(&mut self, text: &str, mode: TextMode) -> Result<(), SearchError> {
        let no_combining = match mode {
            TextMode::NoCombining => true,
            TextMode::Normal | TextMode::StripClozes => self.ctx.ignore_accents,
        };
        let mut flags = 0;
        let mut like = to_like(text);
        if no_combining {
            like = without_combining(&like).into_owned();
            flags |= NO_COMBINING;
        }
        if mode == TextMode::StripClozes {
            flags |= STRIP_CLOZES;
        }
        let sfld = processed("cast(n.sfld as text)", flags);
        let sfld = if flags == 0 {
            "n.sfld".to_string()
        } else {
            sfld
        };
        let flds = processed("n.flds", flags);
        let like = format!("%{like}%");

        if mode == TextMode::StripClozes {
            let cloze: Vec<String> = self
                .ctx
                .notetypes
                .iter()
                .filter(|nt| nt.is_cloze)
                .map(|nt| format!("n.mid = {}", nt.id))
                .collect();
            let cloze = if cloze.is_empty() {
                "false".to_string()
            } else {
                cloze.join(" or ")
            };
            self.sql.push_str(&format!("({cloze}) and "));
        }

        if !self.ctx.any_field_excluded() {
            let p = self.arg(like);
            self.sql.push_str(&format!(
                "({sfld} like {p} escape '\\' or {flds} like {p} escape '\\')"
            ));
            return Ok(());
        }
        let sfld_arg = self.arg(like.clone());
        let mut clauses = Vec::new();
        for nt in &self.ctx.notetypes {
            let included = nt
                .fields
                .iter()
                .filter(|f| !f.excluded_from_search)
                .map(|f| f.ord);
            let field_ranges = ranges(included, true);
            if field_ranges.is_empty() {
                continue;
            }
            let sort_excluded = nt
                .fields
                .iter()
                .any(|f| f.excluded_from_search && f.ord == nt.sort_field);
            let mut alternatives = self.range_likes(&flds, nt.fields.len(), &field_ranges, &like);
            if !sort_excluded {
                alternatives.push(format!("{sfld} like {sfld_arg} escape '\\'"));
            }
            clauses.push(notetype_clause(nt.id, &alternatives));
        }
        self.push_alternatives(clauses);
        Ok(())
    }

    /// `<flds> like <pattern>` for each range of fields of a notetype with
    /// `total` fields.
    fn range_likes(
        &mut self,
        flds: &str,
        total: usize,
        ranges: &[Range<u32>],
        like: &str,
    ) -> Vec<String> {
        ranges
            .iter()
            .map(|r| {
                let p = self.arg(field_pattern(total, r, like));
                format!("{flds} like {p} escape '\\'")
            })
            .collect()
    }

    /// `(a or b …)`, or `false` when there is nothing to match.
    fn push_alternatives(&mut self, clauses: Vec<String>) {
        if clauses.is_empty() {
            self.sql.push_str("false");
        } else {
            self.sql.push_str(&format!("({})", clauses.join(" or ")));
        }
    }

    /// `field:value` and its `re:`/`nc:` forms; `*:` searches every field.
    pub(super) fn field(
        &mut self,
        field: &str,
        value: &str,
        mode: FieldMode,
    ) -> Result<(), SearchError> {
        if matches!(field, "*" | "_*" | "*_") {
            let re = if mode == FieldMode::Regex {
                format!("(?i){value}")
            } else {
                format!("(?is)^{}$", to_regex(value))
            };
            let p = self.regex_arg(re)?;
            self.sql.push_str(&format!("regexp_fields({p}, n.flds)"));
            return Ok(());
        }
        let matcher = NameMatcher::new(field)
            .map_err(|e| SearchError::Parse(format!("Invalid search: {e}")))?;
        if mode == FieldMode::Regex {
            let matched: Vec<(i64, String)> = self
                .ctx
                .notetypes
                .iter()
                .filter_map(|nt| {
                    let ords: Vec<String> = nt
                        .fields
                        .iter()
                        .filter(|f| matcher.matches(&f.name))
                        .map(|f| f.ord.to_string())
                        .collect();
                    (!ords.is_empty()).then(|| (nt.id, ords.join(", ")))
                })
                .collect();
            // As in Anki, the regex is only looked at when some field matches.
            let p = if matched.is_empty() {
                String::new()
            } else {
                self.regex_arg(format!("(?i){value}"))?
            };
            let clauses = matched
                .into_iter()
                .map(|(id, ords)| format!("(n.mid = {id} and regexp_fields({p}, n.flds, {ords}))"))
                .collect();
            self.push_alternatives(clauses);
            return Ok(());
        }
        let join = !matches!(value, "*" | "_*" | "*_");
        let (like, flds) = if mode == FieldMode::NoCombining {
            (
                without_combining(&to_like(value)).into_owned(),
                processed("n.flds", NO_COMBINING),
            )
        } else {
            (to_like(value), "n.flds".to_string())
        };
        let mut clauses = Vec::new();
        for nt in &self.ctx.notetypes {
            let matched = nt
                .fields
                .iter()
                .filter(|f| matcher.matches(&f.name))
                .map(|f| f.ord);
            let field_ranges = ranges(matched, join);
            if field_ranges.is_empty() {
                continue;
            }
            let alternatives = self.range_likes(&flds, nt.fields.len(), &field_ranges, &like);
            clauses.push(notetype_clause(nt.id, &alternatives));
        }
        self.push_alternatives(clauses);
        Ok(())
    }

    /// `re:`/`w:`: a case-insensitive regex over the raw joined fields, or
    /// over the searchable fields only when some are excluded.
    pub(super) fn regex(&mut self, re: &str, no_combining: bool) -> Result<(), SearchError> {
        let flds = processed("n.flds", if no_combining { NO_COMBINING } else { 0 });
        let re = if no_combining {
            without_combining(re).into_owned()
        } else {
            re.to_string()
        };
        let p = self.regex_arg(format!("(?i){re}"))?;
        if !self.ctx.any_field_excluded() {
            self.sql.push_str(&format!("{flds} regexp {p}"));
            return Ok(());
        }
        let mut clauses = Vec::new();
        for nt in &self.ctx.notetypes {
            let included: Vec<String> = nt
                .fields
                .iter()
                .filter(|f| !f.excluded_from_search)
                .map(|f| f.ord.to_string())
                .collect();
            let clause = if included.len() == nt.fields.len() {
                format!("{flds} regexp {p}")
            } else if included.is_empty() {
                "false".to_string()
            } else {
                format!("regexp_fields({p}, {flds}, {})", included.join(","))
            };
            clauses.push(format!("(n.mid = {} and {clause})", nt.id));
        }
        self.push_alternatives(clauses);
        Ok(())
    }

    /// `tag:`: each tag tested on its own; a tag matches its descendants.
    pub(super) fn tag(&mut self, tag: &str, mode: FieldMode) -> Result<(), SearchError> {
        if mode == FieldMode::Regex {
            let p = self.regex_arg(format!("(?i){tag}"))?;
            self.sql.push_str(&format!("regexp_tags({p}, n.tags)"));
            return Ok(());
        }
        match tag {
            "none" => self.sql.push_str("n.tags = ''"),
            "*" => self.sql.push_str("true"),
            t if t.contains(' ') => self.sql.push_str("false"),
            t => {
                let (column, t) = if mode == FieldMode::NoCombining {
                    (
                        processed("n.tags", NO_COMBINING),
                        without_combining(t).into_owned(),
                    )
                } else {
                    ("n.tags".to_string(), t.to_string())
                };
                let re = format!("(?i).* {}(::| ).*", to_regex_with(&t, r"\S"));
                let p = self.regex_arg(re)?;
                self.sql.push_str(&format!("{column} regexp {p}"));
            }
        }
        Ok(())
    }

    /// `dupe:ntid,text`: notes of that notetype whose stripped first field
    /// equals the stripped text.
    pub(super) fn dupe(&mut self, notetype_id: i64, text: &str) -> Result<(), SearchError> {
        let wanted = strip_html_preserving_media_filenames(text);
        let csum = field_checksum(&wanted);
        let mut ids = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("select id, flds from notes where csum = ?1 and mid = ?2")?;
        let mut rows = stmt.query(rusqlite::params![csum, notetype_id])?;
        while let Some(row) = rows.next()? {
            let flds: String = row.get(1)?;
            let first = flds.split('\x1f').next().unwrap_or("");
            if strip_html_preserving_media_filenames(first) == wanted {
                ids.push(row.get::<_, i64>(0)?);
            }
        }
        self.sql.push_str(&format!("n.id in {}", id_list(&ids)));
        Ok(())
    }
}

/// Applies `process_text` flags to a text (used by the SQL function).
pub(crate) fn process_text(text: &str, flags: i64) -> String {
    let mut out = std::borrow::Cow::Borrowed(text);
    if flags & STRIP_CLOZES != 0 {
        out = std::borrow::Cow::Owned(strip_clozes(&out).into_owned());
    }
    if flags & NO_COMBINING != 0 {
        out = std::borrow::Cow::Owned(without_combining(&out).into_owned());
    }
    out.into_owned()
}
