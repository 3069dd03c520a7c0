//! Anki search syntax — STUB. The real search engine is built in parallel
//! (issue 11) and replaces this file at merge time; the interface below is
//! the agreed one and must not change.
//!
//! The stub understands only what the AnkiConnect tests need: the empty
//! query (everything), `nid:1,2,3`, `cid:1,2,3`, `deck:Name` (with its
//! children; quoted as `deck:"A B"` or `"deck:A B"`) and `field:value`
//! (exact, case-insensitive), combined with spaces (and). Everything else is
//! [`SearchError::Unsupported`], never a silently wrong result.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;
use unicase::UniCase;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
}

enum Term {
    Nids(Vec<i64>),
    Cids(Vec<i64>),
    Deck(String),
    Field(String, String),
}

fn unsupported(what: &str) -> SearchError {
    SearchError::Unsupported(format!("kioku does not support this search yet: {what}"))
}

/// Splits the query into terms at unquoted spaces; quotes are removed.
fn terms(query: &str) -> Result<Vec<String>, SearchError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in query.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(SearchError::Parse("unbalanced quote in search".into()));
    }
    if any {
        out.push(cur);
    }
    Ok(out)
}

fn ids(list: &str, what: &str) -> Result<Vec<i64>, SearchError> {
    list.split(',')
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| SearchError::Parse(format!("{what}:{list} is not a list of ids")))
        })
        .collect()
}

fn parse(query: &str) -> Result<Vec<Term>, SearchError> {
    let mut out = Vec::new();
    for term in terms(query)? {
        if term.starts_with('-') || term.starts_with('(') || term.contains(['*', '_']) {
            return Err(unsupported(&term));
        }
        let Some((key, value)) = term.split_once(':') else {
            return Err(unsupported(&term));
        };
        match key.to_ascii_lowercase().as_str() {
            "nid" => out.push(Term::Nids(ids(value, "nid")?)),
            "cid" => out.push(Term::Cids(ids(value, "cid")?)),
            "deck" if value == "current" || value.is_empty() => return Err(unsupported(&term)),
            "deck" => out.push(Term::Deck(value.to_owned())),
            "" => return Err(unsupported(&term)),
            k if [
                "tag", "is", "added", "card", "note", "flag", "prop", "rated", "dupe", "re", "nc",
                "w", "mid", "did",
            ]
            .contains(&k) =>
            {
                return Err(unsupported(&term))
            }
            _ => out.push(Term::Field(key.to_owned(), value.to_owned())),
        }
    }
    Ok(out)
}

struct Row {
    cid: i64,
    nid: i64,
    did: i64,
    odid: i64,
    mid: i64,
    flds: String,
}

fn matching(conn: &Connection, query: &str) -> Result<Vec<Row>, SearchError> {
    let terms = parse(query)?;
    let mut field_names: HashMap<i64, Vec<String>> = HashMap::new();
    let mut stmt = conn.prepare("select ntid, name from fields order by ntid, ord")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (ntid, name) = row?;
        field_names.entry(ntid).or_default().push(name);
    }
    let decks: Vec<(i64, String)> = conn
        .prepare("select id, name from decks")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, String>(1)?.replace('\x1f', "::")))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let deck_ids = |name: &str| -> BTreeSet<i64> {
        let want = UniCase::new(name);
        let prefix = format!("{name}::");
        decks
            .iter()
            .filter(|(_, n)| {
                UniCase::new(n.as_str()) == want
                    || n.get(..prefix.len())
                        .is_some_and(|p| UniCase::new(p) == UniCase::new(prefix.as_str()))
            })
            .map(|(id, _)| *id)
            .collect()
    };
    let mut stmt = conn.prepare(
        "select c.id, c.nid, c.did, c.odid, n.mid, n.flds from cards c join notes n on n.id = c.nid
         order by c.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Row {
            cid: r.get(0)?,
            nid: r.get(1)?,
            did: r.get(2)?,
            odid: r.get(3)?,
            mid: r.get(4)?,
            flds: r.get(5)?,
        })
    })?;
    let mut out = Vec::new();
    'rows: for row in rows {
        let row = row?;
        for term in &terms {
            let ok = match term {
                Term::Nids(ids) => ids.contains(&row.nid),
                Term::Cids(ids) => ids.contains(&row.cid),
                Term::Deck(name) => {
                    let set = deck_ids(name);
                    set.contains(&row.did) || set.contains(&row.odid)
                }
                Term::Field(field, value) => field_names
                    .get(&row.mid)
                    .and_then(|names| {
                        names
                            .iter()
                            .position(|n| UniCase::new(n.as_str()) == UniCase::new(field.as_str()))
                    })
                    .and_then(|i| row.flds.split('\x1f').nth(i))
                    .is_some_and(|text| UniCase::new(text) == UniCase::new(value.as_str())),
            };
            if !ok {
                continue 'rows;
            }
        }
        out.push(row);
    }
    Ok(out)
}

/// Ids of the notes matching `query`, ascending.
pub fn find_notes(conn: &Connection, query: &str, _now_ms: i64) -> Result<Vec<i64>, SearchError> {
    let nids: BTreeSet<i64> = matching(conn, query)?.into_iter().map(|r| r.nid).collect();
    Ok(nids.into_iter().collect())
}

/// Ids of the cards matching `query`, ascending.
pub fn find_cards(conn: &Connection, query: &str, _now_ms: i64) -> Result<Vec<i64>, SearchError> {
    Ok(matching(conn, query)?.into_iter().map(|r| r.cid).collect())
}
