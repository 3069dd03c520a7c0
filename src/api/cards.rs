//! `findCards` (and `guiBrowse`, which on a box without a screen just
//! answers the matching card ids), `cardsInfo`, `suspend`, `unsuspend`.

use serde_json::{json, Map, Value};

use super::params::Params;
use super::write::{read, write};
use super::{ApiError, Call};
use crate::collection::edit::{cards, decks, notes, Ctx};
use crate::collection::search;

/// `findCards {query}` / `guiBrowse {query}`: card ids; no query → `[]`.
pub async fn find_cards(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let Some(query) = p.opt_str("query")?.map(str::to_owned) else {
        return Ok(json!([]));
    };
    read(call.app, call.user(), move |ctx| {
        Ok(Value::from(search::find_cards(
            ctx.conn, &query, ctx.now_ms,
        )?))
    })
    .await
}

/// The fields of a note as AnkiConnect shows them: name → `{value, order}`.
pub fn fields_json(
    ctx: &Ctx,
    ntid: i64,
    values: &[String],
) -> Result<(String, Value, String), ApiError> {
    let nt = notes::notetype(ctx, ntid)?;
    let mut fields = Map::new();
    for f in &nt.fields {
        let value = values.get(f.ord as usize).cloned().unwrap_or_default();
        fields.insert(f.name.clone(), json!({"value": value, "order": f.ord}));
    }
    Ok((
        nt.name.clone(),
        Value::Object(fields),
        nt.config.css.clone(),
    ))
}

fn card_info(ctx: &Ctx, cid: i64) -> Result<Value, ApiError> {
    let row = ctx
        .conn
        .prepare_cached(
            "select nid, did, ord, mod, type, queue, due, ivl, factor, reps, lapses, left, flags
             from cards where id = ?1",
        )?
        .query_row([cid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                [
                    r.get::<_, i64>(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                ],
            ))
        });
    let (nid, did, ord, n) = match row {
        Ok(row) => row,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(json!({})),
        Err(e) => return Err(e.into()),
    };
    let Some(note) = notes::load(ctx, nid)? else {
        return Ok(json!({}));
    };
    let (model, fields, css) = fields_json(ctx, note.notetype_id, &note.fields)?;
    let deck = decks::name_of(ctx, did)?.unwrap_or_default();
    Ok(json!({
        "cardId": cid, "fields": fields, "fieldOrder": ord,
        // kioku does not render templates: question and answer are empty
        "question": "", "answer": "",
        "modelName": model, "ord": ord, "deckName": deck, "css": css,
        "factor": n[5], "interval": n[4], "note": nid, "type": n[1], "queue": n[2],
        "due": n[3], "reps": n[6], "lapses": n[7], "left": n[8], "mod": n[0],
        "nextReviews": [], "flags": n[9],
    }))
}

/// `cardsInfo {cards}`: one object per id, `{}` for unknown ids.
pub async fn cards_info(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let cids = p.ids("cards")?;
    read(call.app, call.user(), move |ctx| {
        let infos = cids
            .iter()
            .map(|&cid| card_info(ctx, cid))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::from(infos))
    })
    .await
}

/// `suspend {cards}` / `unsuspend {cards}`: true when at least one card
/// changed; an unknown card is an error, as in AnkiConnect.
pub async fn suspend(call: &Call<'_>, p: &Params<'_>, on: bool) -> Result<Value, ApiError> {
    let cids = p.ids("cards")?;
    write(call.app, call.user(), move |ctx| {
        for &cid in &cids {
            if cards::queue(ctx, cid)?.is_none() {
                return Err(ApiError::msg(format!("Card was not found: {cid}")));
            }
        }
        let changed = if on {
            cards::suspend(ctx, &cids)?
        } else {
            cards::unsuspend(ctx, &cids)?
        };
        Ok(Value::from(changed > 0))
    })
    .await
}
