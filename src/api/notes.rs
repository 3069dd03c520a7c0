//! `addNote`, `addNotes`, `canAddNote(s)`, `canAddNote(s)WithErrorDetail`,
//! `updateNoteFields`, `updateNote`, `deleteNotes`, `notesInfo`,
//! `findNotes`.
//!
//! A note is built as AnkiConnect's `createNote` builds it, in its order
//! (so the first error is AnkiConnect's): the note type and deck by name
//! (`model was not found: …`, `deck was not found: …`; decks are not
//! created), the tags, the fields (names matched case-insensitively, unknown
//! ones ignored), the media (appended to the named fields; a failure
//! appends its escaped text instead), the options, then the duplicate and
//! empty check with AnkiConnect's exact messages. The note and its cards are
//! then made as Anki makes them ([`crate::collection::edit::notes`]).

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::error::python_list_repr;
use super::media::{self, Prepared, Source};
use super::params::{member, tag_list, Params};
use super::tags::note_tags_value;
use super::write::{read, write};
use super::{models, ApiError, Call};
use crate::collection::edit::notes::{self, FieldsCheck};
use crate::collection::edit::{decks, Ctx};
use crate::collection::legacy::NotetypeRows;
use crate::collection::notes::{field_checksum, strip_html_preserving_media_filenames};
use crate::collection::search;

const EMPTY: &str = "cannot create note because it is empty";
const DUPLICATE: &str = "cannot create note because it is a duplicate";
const UNKNOWN: &str = "cannot create note for unknown reason";

/// One `audio`/`video`/`picture` entry of a note, its bytes fetched.
struct MediaItem {
    picture: bool,
    filename: Result<String, ApiError>,
    fields: Option<Vec<String>>,
    skip_hash: Option<String>,
    delete_existing: bool,
    data: Result<Prepared, ApiError>,
}

/// Fetches the media of a note object (outside the user's slot).
async fn prefetch(call: &Call<'_>, note: &Map<String, Value>) -> Vec<MediaItem> {
    let dir = call.app.store.user(call.user()).dir().to_owned();
    let mut out = Vec::new();
    for (key, picture) in [("audio", false), ("video", false), ("picture", true)] {
        let entries: Vec<&Value> = match note.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
        };
        for entry in entries.into_iter().filter(|e| !e.is_null()) {
            let obj = entry.as_object();
            let get = |k: &str| {
                obj.and_then(|o| o.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let filename = get("filename").ok_or_else(|| ApiError::msg("'filename'"));
            let data = match Source::from_object(get) {
                Ok(source) => media::prepare(call, &dir, &source).await,
                Err(e) => Err(e),
            };
            out.push(MediaItem {
                picture,
                filename,
                fields: obj
                    .and_then(|o| o.get("fields"))
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    }),
                skip_hash: get("skipHash"),
                delete_existing: obj
                    .and_then(|o| o.get("deleteExisting"))
                    .map(media::truthy)
                    .unwrap_or(false),
                data,
            });
        }
    }
    out
}

/// Stores the fetched media and appends `<img src="…">` or `[sound:…]` (or
/// the escaped error) to the named fields (exact names).
fn apply_media(
    ctx_dir: &std::path::Path,
    nt: &NotetypeRows,
    fields: &mut [String],
    items: Vec<MediaItem>,
) {
    for item in items {
        let stored = item.filename.and_then(|name| {
            let data = item.data?;
            if item.skip_hash.as_deref() == Some(data.md5_hex.as_str()) {
                return Ok(None);
            }
            media::store(ctx_dir, &name, data, item.delete_existing).map(Some)
        });
        let text = match stored {
            Ok(None) => continue,
            Ok(Some(name)) if item.picture => format!("<img src=\"{name}\">"),
            Ok(Some(name)) => format!("[sound:{name}]"),
            Err(e) => e
                .to_string()
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
        };
        for target in item.fields.iter().flatten() {
            if let Some(i) = nt.fields.iter().position(|f| &f.name == target) {
                fields[i].push_str(&text);
            }
        }
    }
}

/// A note checked and ready to add.
struct Built {
    nt: NotetypeRows,
    deck_id: i64,
    fields: Vec<String>,
    tags: Vec<String>,
}

fn bool_option(obj: &Map<String, Value>, key: &str, shown: &str) -> Result<bool, ApiError> {
    match obj.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::msg(format!(
            "option parameter \"{shown}\" must be boolean"
        ))),
    }
}

/// AnkiConnect's `createNote`: the checks, in its order. `media` is `None`
/// for the `canAdd…` actions (which store nothing).
fn build(
    ctx: &Ctx,
    note: &Value,
    media: Option<(&std::path::Path, Vec<MediaItem>)>,
) -> Result<Built, ApiError> {
    let note = note
        .as_object()
        .ok_or_else(|| ApiError::msg("a note must be an object"))?;
    let text = |key: &str| -> Result<&str, ApiError> {
        member(note, key)?
            .as_str()
            .ok_or_else(|| ApiError::msg(format!("note \"{key}\" must be a string")))
    };
    let nt = models::by_name(ctx, text("modelName")?)?;
    let deck_name = text("deckName")?;
    let deck_id = decks::id_by_name(ctx, deck_name)?
        .ok_or_else(|| ApiError::msg(format!("deck was not found: {deck_name}")))?;
    let tags = match note.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => tag_list(v, "tags")?,
    };
    let mut fields = vec![String::new(); nt.fields.len()];
    let given = member(note, "fields")?
        .as_object()
        .ok_or_else(|| ApiError::msg("note \"fields\" must be an object"))?;
    for (name, value) in given {
        let lower = name.to_lowercase();
        if let Some(i) = nt
            .fields
            .iter()
            .position(|f| f.name.to_lowercase() == lower)
        {
            fields[i] = value
                .as_str()
                .ok_or_else(|| {
                    ApiError::msg(format!("the value of field \"{name}\" must be a string"))
                })?
                .to_owned();
        }
    }
    if let Some((dir, items)) = media {
        apply_media(dir, &nt, &mut fields, items);
    }
    let empty = Map::new();
    let options = match note.get("options") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::msg("note \"options\" must be an object")),
    };
    let allow_duplicate = bool_option(options, "allowDuplicate", "allowDuplicate")?;
    let scope_deck = options.get("duplicateScope").and_then(Value::as_str) == Some("deck");
    let scope_options = match options.get("duplicateScopeOptions") {
        Some(Value::Object(o)) => o,
        _ => &empty,
    };
    let scope_deck_name = scope_options.get("deckName").and_then(Value::as_str);
    let check_children = bool_option(
        scope_options,
        "checkChildren",
        "duplicateScopeOptions.checkChildren",
    )?;
    let check_all_models = bool_option(
        scope_options,
        "checkAllModels",
        "duplicateScopeOptions.checkAllModels",
    )?;
    let state = if !scope_deck && !check_all_models {
        notes::fields_check(ctx, &nt, &fields, 0)?
    } else {
        duplicate_in_scope(
            ctx,
            &nt,
            &fields,
            deck_id,
            scope_deck,
            scope_deck_name,
            check_children,
            check_all_models,
        )?
    };
    match state {
        FieldsCheck::Normal => {}
        FieldsCheck::Empty => return Err(ApiError::msg(EMPTY)),
        FieldsCheck::Duplicate if allow_duplicate => {}
        FieldsCheck::Duplicate => return Err(ApiError::msg(DUPLICATE)),
        _ => return Err(ApiError::msg(UNKNOWN)),
    }
    Ok(Built {
        nt,
        deck_id,
        fields,
        tags,
    })
}

/// AnkiConnect's own duplicate check, used when the scope is a deck or all
/// note types: the raw first field's checksum against `notes.csum`, and for
/// a deck scope, a card of the candidate in the deck (or its children).
#[allow(clippy::too_many_arguments)]
fn duplicate_in_scope(
    ctx: &Ctx,
    nt: &NotetypeRows,
    fields: &[String],
    deck_id: i64,
    scope_deck: bool,
    scope_deck_name: Option<&str>,
    check_children: bool,
    check_all_models: bool,
) -> Result<FieldsCheck, ApiError> {
    let first = fields.first().map(String::as_str).unwrap_or("");
    if first.trim().is_empty() {
        return Ok(FieldsCheck::Empty);
    }
    let csum = field_checksum(&strip_html_preserving_media_filenames(first));
    let decks: Option<HashSet<i64>> = if scope_deck {
        let did = match scope_deck_name {
            Some(name) => match decks::id_by_name(ctx, name)? {
                Some(id) => id,
                None => return Ok(FieldsCheck::Normal),
            },
            None => deck_id,
        };
        Some(if check_children {
            decks::with_children(ctx, did)?.into_iter().collect()
        } else {
            HashSet::from([did])
        })
    } else {
        None
    };
    let mid = (!check_all_models).then_some(nt.id);
    for nid in notes::with_checksum(ctx, csum, mid)? {
        let Some(decks) = &decks else {
            return Ok(FieldsCheck::Duplicate);
        };
        let mut stmt = ctx
            .conn
            .prepare_cached("select did from cards where nid = ?1")?;
        let dids = stmt
            .query_map([nid], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if dids.iter().any(|d| decks.contains(d)) {
            return Ok(FieldsCheck::Duplicate);
        }
    }
    Ok(FieldsCheck::Normal)
}

/// `addNote {note}`: the new note's id.
pub async fn add_note(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let note = p.required("note")?.clone();
    let items = match note.as_object() {
        Some(obj) => prefetch(call, obj).await,
        None => Vec::new(),
    };
    let dir = call.app.store.user(call.user()).dir().to_owned();
    write(call.app, call.user(), move |ctx| {
        let b = build(ctx, &note, Some((&dir, items)))?;
        Ok(Value::from(notes::add(
            ctx, &b.nt, &b.fields, &b.tags, b.deck_id,
        )?))
    })
    .await
}

/// `addNotes {notes}`: all or nothing; on any failure nothing is added and
/// the error lists every note's error (AnkiConnect's 2025 behaviour).
pub async fn add_notes(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let list = p
        .required("notes")?
        .as_array()
        .ok_or_else(|| ApiError::msg("parameter \"notes\" must be a list"))?
        .clone();
    let mut items = Vec::with_capacity(list.len());
    for note in &list {
        items.push(match note.as_object() {
            Some(obj) => prefetch(call, obj).await,
            None => Vec::new(),
        });
    }
    let dir = call.app.store.user(call.user()).dir().to_owned();
    write(call.app, call.user(), move |ctx| {
        let mut ids = Vec::new();
        let mut errors = Vec::new();
        for (note, media) in list.iter().zip(items) {
            let added = build(ctx, note, Some((&dir, media)))
                .and_then(|b| Ok(notes::add(ctx, &b.nt, &b.fields, &b.tags, b.deck_id)?));
            match added {
                Ok(id) => ids.push(Value::from(id)),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if errors.is_empty() {
            Ok(Value::from(ids))
        } else {
            Err(ApiError::msg(python_list_repr(&errors)))
        }
    })
    .await
}

/// `canAddNote(s)` and `canAddNote(s)WithErrorDetail`: the same checks as
/// `addNote`, nothing stored.
pub async fn can_add(
    call: &Call<'_>,
    p: &Params<'_>,
    many: bool,
    detail: bool,
) -> Result<Value, ApiError> {
    let list: Vec<Value> = if many {
        p.required("notes")?
            .as_array()
            .ok_or_else(|| ApiError::msg("parameter \"notes\" must be a list"))?
            .clone()
    } else {
        vec![p.required("note")?.clone()]
    };
    let results = read(call.app, call.user(), move |ctx| {
        Ok(list
            .iter()
            .map(|note| match build(ctx, note, None) {
                Ok(_) if detail => json!({"canAdd": true}),
                Ok(_) => Value::Bool(true),
                Err(e) if detail => json!({"canAdd": false, "error": e.to_string()}),
                Err(_) => Value::Bool(false),
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(if many {
        Value::from(results)
    } else {
        results.into_iter().next().unwrap_or(Value::Null)
    })
}

fn note_id(note: &Map<String, Value>) -> Result<i64, ApiError> {
    member(note, "id")?
        .as_i64()
        .ok_or_else(|| ApiError::msg("note \"id\" must be an integer"))
}

/// The fields of a stored note with `given` (exact names) replacing theirs
/// and the media appended.
fn edited_fields(
    ctx: &Ctx,
    nid: i64,
    given: &Map<String, Value>,
    dir: &std::path::Path,
    items: Vec<MediaItem>,
) -> Result<Vec<String>, ApiError> {
    let stored = notes::load(ctx, nid)?
        .ok_or_else(|| ApiError::msg(format!("Note was not found: {nid}")))?;
    let nt = notes::notetype(ctx, stored.notetype_id)?;
    let mut fields = stored.fields;
    fields.resize(nt.fields.len().max(1), String::new());
    for (name, value) in given {
        if let Some(i) = nt.fields.iter().position(|f| &f.name == name) {
            fields[i] = value
                .as_str()
                .ok_or_else(|| {
                    ApiError::msg(format!("the value of field \"{name}\" must be a string"))
                })?
                .to_owned();
        }
    }
    apply_media(dir, &nt, &mut fields, items);
    Ok(fields)
}

/// `updateNoteFields {note: {id, fields, audio?, video?, picture?}}`: null.
pub async fn update_note_fields(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let note = p.object("note")?.clone();
    let nid = note_id(&note)?;
    let items = prefetch(call, &note).await;
    let dir = call.app.store.user(call.user()).dir().to_owned();
    write(call.app, call.user(), move |ctx| {
        let given = member(&note, "fields")?
            .as_object()
            .ok_or_else(|| ApiError::msg("note \"fields\" must be an object"))?;
        let fields = edited_fields(ctx, nid, given, &dir, items)?;
        notes::update(ctx, nid, Some(fields), None)?;
        Ok(Value::Null)
    })
    .await
}

/// `updateNote {note: {id, fields?, tags?}}`: null.
pub async fn update_note(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let note = p.object("note")?.clone();
    if !note.contains_key("fields") && !note.contains_key("tags") {
        return Err(ApiError::msg(
            "Must provide a \"fields\" or \"tags\" property.",
        ));
    }
    let nid = note_id(&note)?;
    let tags = note.get("tags").map(note_tags_value).transpose()?;
    let items = prefetch(call, &note).await;
    let dir = call.app.store.user(call.user()).dir().to_owned();
    write(call.app, call.user(), move |ctx| {
        let fields = match note.get("fields") {
            Some(Value::Object(given)) => Some(edited_fields(ctx, nid, given, &dir, items)?),
            Some(_) => return Err(ApiError::msg("note \"fields\" must be an object")),
            None => None,
        };
        if notes::load(ctx, nid)?.is_none() {
            return Err(ApiError::msg(format!("Note was not found: {nid}")));
        }
        notes::update(ctx, nid, fields, tags)?;
        Ok(Value::Null)
    })
    .await
}

/// `deleteNotes {notes}`: null; graves make every device delete them too.
pub async fn delete_notes(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let nids = p.ids("notes")?;
    write(call.app, call.user(), move |ctx| {
        notes::delete(ctx, &nids)?;
        Ok(Value::Null)
    })
    .await
}

/// `findNotes {query}`: note ids; no query → `[]`; `""` → every note.
pub async fn find_notes(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let Some(query) = p.opt_str("query")?.map(str::to_owned) else {
        return Ok(json!([]));
    };
    read(call.app, call.user(), move |ctx| {
        Ok(Value::from(search::find_notes(
            ctx.conn, &query, ctx.now_ms,
        )?))
    })
    .await
}

fn note_info(ctx: &Ctx, nid: i64, profile: &str) -> Result<Value, ApiError> {
    let Some(note) = notes::load(ctx, nid)? else {
        return Ok(json!({}));
    };
    let (model, fields, _) = super::cards::fields_json(ctx, note.notetype_id, &note.fields)?;
    let mut stmt = ctx
        .conn
        .prepare_cached("select id from cards where nid = ?1 order by ord, id")?;
    let cards = stmt
        .query_map([nid], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(json!({
        "noteId": nid, "profile": profile, "tags": note.tags, "fields": fields,
        "modelName": model, "mod": note.mtime, "cards": cards,
    }))
}

/// `notesInfo {notes}` or `{query}`: one object per note, `{}` for unknown
/// ids; `profile` is the kioku user.
pub async fn notes_info(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let query = p.opt_str("query")?.map(str::to_owned);
    let ids = match (&query, p.get("notes")) {
        (_, Some(v)) => Some(super::params::id_list(v, "notes")?),
        (Some(_), None) => None,
        (None, None) => {
            return Err(ApiError::msg(
                "Must provide either \"notes\" or a \"query\"",
            ))
        }
    };
    let profile = call.user().to_owned();
    read(call.app, call.user(), move |ctx| {
        let ids = match (ids, query) {
            (Some(ids), _) => ids,
            (None, Some(q)) => search::find_notes(ctx.conn, &q, ctx.now_ms)?,
            (None, None) => Vec::new(),
        };
        let infos = ids
            .iter()
            .map(|&nid| note_info(ctx, nid, &profile))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::from(infos))
    })
    .await
}
