//! The SQLite functions search queries call: `regexp` (behind `x REGEXP y`),
//! `regexp_fields`, `regexp_tags` and `process_text`. Regexes use the
//! `regex` crate (linear time, no backtracking) and are compiled once per
//! statement.
//!
//! Registered once per connection, before its first search.

use std::sync::Arc;

use regex::Regex;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::sql_text::process_text;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Registers the search functions on `conn`, unless they are there already
/// (SQLite refuses to replace a function while a statement is running).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    if conn.prepare("select process_text('', 0)").is_ok() {
        return Ok(());
    }
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // regexp(pattern, text): `text REGEXP pattern`.
    conn.create_scalar_function("regexp", 2, flags, |ctx| {
        let re = regex_arg(ctx)?;
        Ok(text(ctx.get_raw(1)).is_some_and(|t| re.is_match(t)))
    })?;
    // regexp_fields(pattern, flds, ord…): any listed field (all if none
    // listed) matches.
    conn.create_scalar_function("regexp_fields", -1, flags, |ctx| {
        let re = regex_arg(ctx)?;
        let Some(flds) = text(ctx.get_raw(1)) else {
            return Ok(false);
        };
        let ords: Vec<i64> = (2..ctx.len())
            .map(|i| ctx.get::<i64>(i))
            .collect::<rusqlite::Result<_>>()?;
        Ok(flds
            .split('\x1f')
            .enumerate()
            .any(|(i, f)| (ords.is_empty() || ords.contains(&(i as i64))) && re.is_match(f)))
    })?;
    // regexp_tags(pattern, tags): any space-separated tag matches.
    conn.create_scalar_function("regexp_tags", 2, flags, |ctx| {
        let re = regex_arg(ctx)?;
        Ok(text(ctx.get_raw(1)).is_some_and(|t| t.split(' ').any(|tag| re.is_match(tag))))
    })?;
    // process_text(text, flags): 1 folds accents, 2 strips clozes; NULL for
    // non-text input.
    conn.create_scalar_function("process_text", 2, flags, |ctx| {
        let flags: i64 = ctx.get(1)?;
        Ok(text(ctx.get_raw(0)).map(|t| process_text(t, flags)))
    })?;
    Ok(())
}

fn text(v: ValueRef<'_>) -> Option<&str> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    }
}

fn regex_arg(ctx: &Context<'_>) -> rusqlite::Result<Arc<Regex>> {
    ctx.get_or_create_aux(0, |v| -> Result<Regex, BoxError> {
        Ok(Regex::new(v.as_str()?)?)
    })
}
