//! `deckNames`, `deckNamesAndIds`, `createDeck`, `changeDeck`.

use serde_json::{Map, Value};

use super::params::Params;
use super::write::{read, write};
use super::{ApiError, Call};
use crate::collection::edit::{cards, decks};

pub async fn deck_names(call: &Call<'_>) -> Result<Value, ApiError> {
    let list = read(call.app, call.user(), |ctx| Ok(decks::all_names(ctx)?)).await?;
    Ok(Value::from(
        list.into_iter()
            .map(|(n, _)| Value::from(n))
            .collect::<Vec<_>>(),
    ))
}

pub async fn deck_names_and_ids(call: &Call<'_>) -> Result<Value, ApiError> {
    let list = read(call.app, call.user(), |ctx| Ok(decks::all_names(ctx)?)).await?;
    let map: Map<String, Value> = list
        .into_iter()
        .map(|(n, id)| (n, Value::from(id)))
        .collect();
    Ok(Value::Object(map))
}

/// `createDeck {deck}`: the deck's id; an existing deck's id if it exists
/// (missing parents are created too).
pub async fn create_deck(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let name = p.str("deck")?.to_owned();
    let existing = {
        let name = name.clone();
        read(call.app, call.user(), move |ctx| {
            Ok(decks::id_by_name(ctx, &name)?)
        })
        .await?
    };
    if let Some(id) = existing {
        return Ok(Value::from(id));
    }
    let id = write(call.app, call.user(), move |ctx| {
        Ok(decks::get_or_create(ctx, &name)?)
    })
    .await?;
    Ok(Value::from(id))
}

/// `changeDeck {cards, deck}`: moves the cards, creating the deck if needed.
pub async fn change_deck(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let cids = p.ids("cards")?;
    let name = p.str("deck")?.to_owned();
    write(call.app, call.user(), move |ctx| {
        let did = decks::get_or_create(ctx, &name)?;
        if decks::is_filtered(ctx, did)? == Some(true) {
            return Err(ApiError::msg(format!(
                "cannot move cards into the filtered deck {name}"
            )));
        }
        cards::set_deck(ctx, &cids, did)?;
        Ok(Value::Null)
    })
    .await
}
