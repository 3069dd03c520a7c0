//! Anki's search syntax over a collection: `find_notes` / `find_cards`
//! return the ids a query matches, exactly as the real client's
//! `col.find_notes` / `col.find_cards` do (see `docs/apis.md` §2 and the
//! oracle test `tests/search_oracle.rs`).
//!
//! Pipeline: [`parser`] (whitespace, quoting, escapes, AND/OR/NOT, groups)
//! with [`terms`] (what each `key:value` means) builds an expression;
//! [`sql`] and [`sql_text`] write one SQL statement for it, with every value
//! from the query bound as a parameter, using the collection facts in
//! [`context`]; [`functions`] registers the SQL functions the statement
//! calls. Malformed queries are [`SearchError::Parse`]; valid syntax kioku
//! does not implement is [`SearchError::Unsupported`] — never a silently
//! different result.
//!
//! Unsupported: card custom data (`has-cd:`, `prop:cdn:`, `prop:cds:`) and
//! FSRS memory properties (`prop:s`, `prop:d`, `prop:r`). Stricter than
//! Anki: an invalid regex is always an error (Anki fails only when SQLite
//! evaluates it), and groups and negations nest at most 100 deep.
//!
//! This module only reads the collection; it knows nothing of HTTP.

mod context;
mod functions;
mod parser;
mod sql;
mod sql_text;
mod terms;
mod text;

use rusqlite::Connection;

/// Errors of a search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query is malformed; the message is shown to the user (like Anki's parser errors).
    #[error("{0}")]
    Parse(String),
    /// Valid Anki syntax that kioku does not support (yet); the message names it.
    #[error("{0}")]
    Unsupported(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Note ids matching `query` (Anki search syntax), sorted ascending.
///
/// `now_ms` is the current time; "today" follows the collection's scheduler
/// settings (rollover hour, `localOffset`), as on the official server.
pub fn find_notes(conn: &Connection, query: &str, now_ms: i64) -> Result<Vec<i64>, SearchError> {
    search(conn, query, now_ms, sql::Item::Notes)
}

/// Card ids matching `query` (Anki search syntax), sorted ascending.
pub fn find_cards(conn: &Connection, query: &str, now_ms: i64) -> Result<Vec<i64>, SearchError> {
    search(conn, query, now_ms, sql::Item::Cards)
}

fn search(
    conn: &Connection,
    query: &str,
    now_ms: i64,
    item: sql::Item,
) -> Result<Vec<i64>, SearchError> {
    let expr = parser::parse(query)?;
    let ctx = context::Context::load(conn, now_ms)?;
    let q = sql::build(conn, &ctx, &expr, item)?;
    functions::register(conn)?;
    let mut stmt = conn.prepare(&q.sql)?;
    let mut ids: Vec<i64> = stmt
        .query_map(rusqlite::params_from_iter(q.args.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
