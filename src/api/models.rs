//! `modelNames`, `modelNamesAndIds`, `modelFieldNames`.

use serde_json::{Map, Value};

use super::params::Params;
use super::write::read;
use super::{ApiError, Call};
use crate::collection::edit::Ctx;
use crate::collection::legacy::{self, NotetypeRows};

/// All notetypes as `(name, id)`, in the order Anki lists them.
fn names(ctx: &Ctx) -> Result<Vec<(String, i64)>, ApiError> {
    let mut stmt = ctx.conn.prepare_cached("select id, name from notetypes")?;
    let rows = stmt.query_map([], |r| Ok((r.get(1)?, r.get(0)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The notetype called `name` (case-insensitive), or AnkiConnect's error.
pub fn by_name(ctx: &Ctx, name: &str) -> Result<NotetypeRows, ApiError> {
    let not_found = || ApiError::msg(format!("model was not found: {name}"));
    let id = legacy::find_notetype_id_by_name(ctx.conn, name)
        .map_err(|e| ApiError::msg(e.to_string()))?
        .ok_or_else(not_found)?;
    legacy::load_notetype(ctx.conn, id)
        .map_err(|e| ApiError::msg(e.to_string()))?
        .ok_or_else(not_found)
}

pub async fn model_names(call: &Call<'_>) -> Result<Value, ApiError> {
    let list = read(call.app, call.user(), names).await?;
    Ok(Value::from(
        list.into_iter()
            .map(|(n, _)| Value::from(n))
            .collect::<Vec<_>>(),
    ))
}

pub async fn model_names_and_ids(call: &Call<'_>) -> Result<Value, ApiError> {
    let list = read(call.app, call.user(), names).await?;
    let map: Map<String, Value> = list
        .into_iter()
        .map(|(n, id)| (n, Value::from(id)))
        .collect();
    Ok(Value::Object(map))
}

pub async fn model_field_names(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    let name = p.str("modelName")?.to_owned();
    read(call.app, call.user(), move |ctx| {
        let nt = by_name(ctx, &name)?;
        Ok(Value::from(
            nt.fields
                .iter()
                .map(|f| Value::from(f.name.clone()))
                .collect::<Vec<_>>(),
        ))
    })
    .await
}
