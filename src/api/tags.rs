//! `addTags`, `removeTags`, `getTags`, `updateNoteTags`, `getNoteTags`.
//! Tags come as one space-separated string (Obsidian_to_Anki) or a list.

use serde_json::Value;

use super::params::{tag_list, Params};
use super::write::{read, write};
use super::{ApiError, Call};
use crate::collection::edit::{notes, tags};

fn tags_param(p: &Params<'_>) -> Result<Vec<String>, ApiError> {
    tag_list(p.required("tags")?, "tags")
}

/// `addTags {notes, tags}`: adds the tags (registered if new) to each note
/// that lacks one of them.
pub async fn add_tags(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let nids = p.ids("notes")?;
    let raw = tags_param(p)?;
    write(call.app, call.user(), move |ctx| {
        let mut desired = Vec::new();
        for tag in raw.iter().flat_map(|t| tags::split(t)) {
            desired.push(tags::register(ctx.conn, tag, ctx.usn)?);
        }
        for nid in nids {
            if let Some(current) = notes::tag_string(ctx, nid)? {
                if let Some(updated) = tags::with_added(&current, &desired) {
                    notes::set_tag_string(ctx, nid, &updated)?;
                }
            }
        }
        Ok(Value::Null)
    })
    .await
}

/// `removeTags {notes, tags}`: removes the tags and their children.
pub async fn remove_tags(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let nids = p.ids("notes")?;
    let raw = tags_param(p)?;
    write(call.app, call.user(), move |ctx| {
        let remove: Vec<&str> = raw.iter().flat_map(|t| tags::split(t)).collect();
        for nid in nids {
            if let Some(current) = notes::tag_string(ctx, nid)? {
                if let Some(updated) = tags::with_removed(&current, &remove) {
                    notes::set_tag_string(ctx, nid, &updated)?;
                }
            }
        }
        Ok(Value::Null)
    })
    .await
}

/// `getTags`: every tag in the collection's tag list.
pub async fn get_tags(call: &Call<'_>) -> Result<Value, ApiError> {
    read(call.app, call.user(), |ctx| {
        let mut stmt = ctx.conn.prepare_cached("select tag from tags")?;
        let all = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Value::from(all))
    })
    .await
}

/// `updateNoteTags {note, tags}`: replaces all of a note's tags.
pub async fn update_note_tags(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let nid = p.id("note")?;
    let new = note_tags_value(p.required("tags")?)?;
    write(call.app, call.user(), move |ctx| {
        Ok(notes::update(ctx, nid, None, Some(new)).map(|_| Value::Null)?)
    })
    .await
}

/// Tags for `updateNoteTags`/`updateNote`: a string is one tag list entry,
/// otherwise a list of strings.
pub fn note_tags_value(value: &Value) -> Result<Vec<String>, ApiError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()),
        _ => Err(ApiError::msg("Must provide tags as a list of strings")),
    }
}

/// `getNoteTags {note}`.
pub async fn get_note_tags(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let nid = p.id("note")?;
    read(call.app, call.user(), move |ctx| {
        let note = notes::load(ctx, nid)?
            .ok_or_else(|| ApiError::msg(format!("Note was not found: {nid}")))?;
        Ok(Value::from(note.tags))
    })
    .await
}
