//! `applyChanges`: the exchange of notetypes, decks, deck configs, tags and
//! (from the newer side) the collection config and creation time.
//!
//! The server's changes are gathered first, then the client's are merged with
//! the official rules: the newer modification time wins (ties go to the
//! client), a notetype whose field or template count changed is refused (a
//! schema change needs a full sync), a name taken by another object gets a
//! `+` appended, tags are added when unknown, and the client's config
//! replaces the server's only when the client is newer.

use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::session::step;
use super::{now_ms, SyncError};
use crate::collection::legacy::{self, deck, deck_config, notetype};
use crate::store::{Session, UserSlot};

#[derive(Deserialize)]
struct ApplyChangesIn {
    changes: Changes,
}

#[derive(Deserialize, Default)]
struct Changes {
    #[serde(default)]
    models: Vec<Value>,
    /// `[decks, deck configs]`.
    #[serde(default)]
    decks: (Vec<Value>, Vec<Value>),
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    conf: Option<Map<String, Value>>,
    #[serde(default)]
    crt: Option<i64>,
}

pub async fn apply_changes(slot: &UserSlot, skey: &str, input: Value) -> Result<Value, SyncError> {
    step(slot, skey, move |session, conn| {
        let ApplyChangesIn { changes } = super::parse(input, "applyChanges")?;
        let ours = gather(session, conn)?;
        merge(session, conn, changes)?;
        Ok(ours)
    })
    .await
}

/// The server's changes since the client's last sync.
fn gather(session: &Session, conn: &Connection) -> Result<Value, SyncError> {
    let since = session.client_usn;
    let models: Vec<Value> = legacy::load_notetypes_since(conn, since)?
        .iter()
        .map(notetype::to_json)
        .collect();
    let decks: Vec<Value> = legacy::load_decks_since(conn, since)?
        .iter()
        .map(deck::to_json)
        .collect();
    let dconf: Vec<Value> = legacy::load_deck_configs_since(conn, since)?
        .iter()
        .map(deck_config::to_json)
        .collect();
    let tags = legacy::load_tags_since(conn, since)?;
    let mut out = json!({
        "models": models,
        "decks": [decks, dconf],
        "tags": tags,
    });
    if !session.client_is_newer {
        let crt: i64 = conn.query_row("select crt from col", [], |r| r.get(0))?;
        out["conf"] = Value::Object(legacy::load_config(conn)?);
        out["crt"] = json!(crt);
    }
    Ok(out)
}

fn bad(e: impl std::fmt::Display) -> SyncError {
    SyncError::BadRequest(e.to_string())
}

/// Merges the client's changes, in dependency order. Everything stored gets
/// this sync's server usn (well-behaved clients already stamped it so).
fn merge(session: &Session, conn: &Connection, changes: Changes) -> Result<(), SyncError> {
    let usn = session.server_usn;
    let now_secs = now_ms() / 1000;
    for value in &changes.models {
        let mut incoming = notetype::from_json(value).map_err(bad)?;
        incoming.usn = usn;
        if let Some(existing) = legacy::load_notetype(conn, incoming.id)? {
            if existing.mtime_secs > incoming.mtime_secs {
                continue;
            }
            if existing.fields.len() != incoming.fields.len()
                || existing.templates.len() != incoming.templates.len()
            {
                return Err(SyncError::BadRequest(format!(
                    "notetype {} changed its fields or templates: that is a schema change, \
                     which needs a full sync",
                    incoming.id
                )));
            }
        }
        if make_unique(&mut incoming.name, incoming.id, |n| {
            legacy::find_notetype_id_by_name(conn, n)
        })? {
            incoming.mtime_secs = now_secs;
        }
        legacy::store_notetype(conn, &incoming)?;
    }
    for value in &changes.decks.0 {
        let mut incoming = deck::from_json(value).map_err(bad)?;
        incoming.usn = usn;
        if let Some(existing) = legacy::load_deck(conn, incoming.id)? {
            if existing.mtime_secs > incoming.mtime_secs {
                continue;
            }
        }
        if make_unique(&mut incoming.name, incoming.id, |n| {
            legacy::find_deck_id_by_name(conn, n)
        })? {
            incoming.mtime_secs = now_secs;
        }
        legacy::store_deck(conn, &incoming)?;
    }
    for value in &changes.decks.1 {
        let mut incoming = deck_config::from_json(value).map_err(bad)?;
        incoming.usn = usn;
        if let Some(existing) = legacy::load_deck_config(conn, incoming.id)? {
            if existing.mtime_secs > incoming.mtime_secs {
                continue;
            }
        }
        legacy::store_deck_config(conn, &incoming)?;
    }
    for tag in &changes.tags {
        legacy::register_tag(conn, tag, usn)?;
    }
    if let Some(crt) = changes.crt {
        conn.execute("update col set crt = ?1", [crt])?;
    }
    if let Some(conf) = changes.conf {
        legacy::replace_config(conn, &conf, usn, now_secs)?;
    }
    Ok(())
}

/// Appends `+` to `name` until no other object (by id) uses it, as the
/// official server does on a name clash. Returns whether it was renamed.
fn make_unique(
    name: &mut String,
    id: i64,
    owner_of: impl Fn(&str) -> Result<Option<i64>, legacy::LegacyError>,
) -> Result<bool, SyncError> {
    let mut renamed = false;
    for _ in 0..100 {
        match owner_of(name)? {
            Some(other) if other != id => {
                name.push('+');
                renamed = true;
            }
            _ => return Ok(renamed),
        }
    }
    Err(SyncError::BadRequest(format!(
        "cannot find a free name for {name:?}"
    )))
}
