//! Notetypes: the legacy JSON (`models` elements, sync-protocol.md §7.4) ⇄ a
//! `notetypes` row plus its `fields` and `templates` rows.
//!
//! Parsing follows the official server (checked against it key by key):
//!
//! | key | rule |
//! |---|---|
//! | `id` | required; integer or numeric string |
//! | `name` | required string, stored as given |
//! | `type` | required; 0 or 1 (anything else is an error) |
//! | `mod`, `usn`, `sortf` | required integers (`i64`, `i32`, `u32`); strings are errors |
//! | `did` | required; an integer, anything else (`null`, strings…) reads as none (0) |
//! | `css` | required; a string, anything else reads as `""` |
//! | `tmpls`, `flds` | required arrays |
//! | `latexPre`, `latexPost` | optional strings (`""`); `null` is an error |
//! | `latexsvg` | optional; only `true` counts, anything else is false |
//! | `req` | optional; a list of `[card_ord, "any"/"all"/"none", [field_ords]]` (or objects `{card_ord, kind, field_ords}`), ords 0–65535; any invalid element makes the whole list `[]` |
//! | `originalStockKind` | optional integer (0); `null` is an error |
//! | `originalId` | optional integer or `null` |
//!
//! Field objects: `name`, `font` (strings), `size` (0–65535), `sticky`,
//! `rtl` (booleans or 0/1) are required; `ord` may be missing or `null`, else
//! must be 0–65535 (the stored ord is the array index anyway);
//! `description` (string), `plainText`, `collapsed`, `excludeFromSearch`,
//! `preventDeletion` (booleans), `id` (integer) and `tag` (`u32`) are optional
//! and read leniently.
//!
//! Template objects: `name`, `qfmt` (strings) are required; `ord` as for
//! fields; `afmt`, `bqfmt`, `bafmt` optional strict strings; `did`
//! (integer, else 0), `bfont` (string), `bsize` (0–255, else 0) and `id`
//! (integer, else none) optional lenient. Templates are stored with
//! `mtime_secs = 0`, `usn = 0`, as the official server does.
//!
//! Unknown keys of each object are kept in its `other` bytes (a JSON object
//! with sorted keys; empty when there are none). On output, `other` entries
//! whose key is one of the object's known keys are dropped, even when that
//! key is itself omitted (`originalStockKind` 0, `originalId` none).

use serde_json::{json, Map, Value};

use super::json::{
    bool_or_01, boolean, int, int_in, int_or_numeric_string, merge_other, other_bytes, other_map,
    string, Obj,
};
use super::LegacyError;
use crate::collection::proto::{
    CardRequirement, CardRequirementKind, FieldConfig, NotetypeConfig, NotetypeKind, TemplateConfig,
};

/// A notetype as stored: the `notetypes` row and its `fields`/`templates` rows.
#[derive(Debug, Clone, PartialEq)]
pub struct NotetypeRows {
    pub id: i64,
    pub name: String,
    pub mtime_secs: i64,
    pub usn: i32,
    pub config: NotetypeConfig,
    pub fields: Vec<FieldRow>,
    pub templates: Vec<TemplateRow>,
}

/// A `fields` row (without `ntid`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    pub ord: u32,
    pub name: String,
    pub config: FieldConfig,
}

/// A `templates` row (without `ntid`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRow {
    pub ord: u32,
    pub name: String,
    pub mtime_secs: i64,
    pub usn: i32,
    pub config: TemplateConfig,
}

/// Keys of a notetype object that map to known columns/fields.
pub const NOTETYPE_KEYS: &[&str] = &[
    "id",
    "name",
    "type",
    "mod",
    "usn",
    "sortf",
    "did",
    "tmpls",
    "flds",
    "css",
    "latexPre",
    "latexPost",
    "latexsvg",
    "req",
    "originalStockKind",
    "originalId",
];

/// Keys of a field object that map to `Notetype.Field.Config`.
pub const FIELD_KEYS: &[&str] = &[
    "name",
    "ord",
    "sticky",
    "rtl",
    "font",
    "size",
    "description",
    "plainText",
    "collapsed",
    "excludeFromSearch",
    "id",
    "tag",
    "preventDeletion",
];

/// Keys of a template object that map to `Notetype.Template.Config`.
pub const TEMPLATE_KEYS: &[&str] = &[
    "name", "ord", "qfmt", "afmt", "bqfmt", "bafmt", "did", "bfont", "bsize", "id",
];

/// Converts a legacy notetype object into rows.
pub fn from_json(value: &Value) -> Result<NotetypeRows, LegacyError> {
    let o = Obj::new(value, "notetype")?;
    let id = o.req("id", int_or_numeric_string, "an integer")?;
    let mut o = o;
    o.what = format!("notetype {id}");
    let name = o.req("name", string, "a string")?;
    let kind = match o.req("type", int, "0 or 1")? {
        0 => NotetypeKind::Normal,
        1 => NotetypeKind::Cloze,
        _ => return Err(o.bad("type", "0 or 1")),
    };
    let mtime_secs = o.req("mod", int, "an integer")?;
    let usn = o.req("usn", int_in::<i32>, "a 32-bit integer")?;
    let sort_field_idx = o.req("sortf", int_in::<u32>, "a non-negative integer")?;
    let target_deck_id_unused = int(o.present("did")?).unwrap_or(0);
    let tmpls = o.req("tmpls", |v| v.as_array().cloned(), "an array")?;
    let flds = o.req("flds", |v| v.as_array().cloned(), "an array")?;
    let css = string(o.present("css")?).unwrap_or_default();
    let latex_pre = o.opt("latexPre", string, "a string")?.unwrap_or_default();
    let latex_post = o.opt("latexPost", string, "a string")?.unwrap_or_default();
    let latex_svg = o.lenient("latexsvg", boolean).unwrap_or(false);
    let reqs = o.lenient("req", requirements).unwrap_or_default();
    let original_stock_kind = o
        .opt("originalStockKind", int_in::<i32>, "an integer")?
        .unwrap_or(0);
    let original_id = o
        .opt(
            "originalId",
            |v| {
                if v.is_null() {
                    Some(None)
                } else {
                    int(v).map(Some)
                }
            },
            "an integer or null",
        )?
        .flatten();

    let fields = flds
        .iter()
        .enumerate()
        .map(|(i, f)| field_from_json(f, i, &o.what))
        .collect::<Result<Vec<_>, _>>()?;
    let templates = tmpls
        .iter()
        .enumerate()
        .map(|(i, t)| template_from_json(t, i, &o.what))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(NotetypeRows {
        id,
        name,
        mtime_secs,
        usn,
        config: NotetypeConfig {
            kind: kind as i32,
            sort_field_idx,
            css,
            target_deck_id_unused,
            latex_pre,
            latex_post,
            latex_svg,
            reqs,
            original_stock_kind,
            original_id,
            other: other_bytes(&o.unknown(NOTETYPE_KEYS)),
        },
        fields,
        templates,
    })
}

/// `ord` of a field or template: missing, `null` or 0–65535.
fn check_ord(o: &Obj<'_>) -> Result<(), LegacyError> {
    o.opt(
        "ord",
        |v| {
            if v.is_null() {
                Some(())
            } else {
                int_in::<u16>(v).map(|_| ())
            }
        },
        "null or an integer 0-65535",
    )?;
    Ok(())
}

fn field_from_json(value: &Value, index: usize, nt: &str) -> Result<FieldRow, LegacyError> {
    let o = Obj::new(value, format!("{nt} field {index}"))?;
    let name = o.req("name", string, "a string")?;
    check_ord(&o)?;
    let config = FieldConfig {
        sticky: o.req("sticky", bool_or_01, "a boolean or 0/1")?,
        rtl: o.req("rtl", bool_or_01, "a boolean or 0/1")?,
        font_name: o.req("font", string, "a string")?,
        font_size: u32::from(o.req("size", int_in::<u16>, "an integer 0-65535")?),
        description: o.lenient("description", string).unwrap_or_default(),
        plain_text: o.lenient("plainText", boolean).unwrap_or(false),
        collapsed: o.lenient("collapsed", boolean).unwrap_or(false),
        exclude_from_search: o.lenient("excludeFromSearch", boolean).unwrap_or(false),
        id: o.lenient("id", int),
        tag: o.lenient("tag", int_in::<u32>),
        prevent_deletion: o.lenient("preventDeletion", boolean).unwrap_or(false),
        other: other_bytes(&o.unknown(FIELD_KEYS)),
    };
    Ok(FieldRow {
        ord: index as u32,
        name,
        config,
    })
}

fn template_from_json(value: &Value, index: usize, nt: &str) -> Result<TemplateRow, LegacyError> {
    let o = Obj::new(value, format!("{nt} template {index}"))?;
    let name = o.req("name", string, "a string")?;
    check_ord(&o)?;
    let config = TemplateConfig {
        q_format: o.req("qfmt", string, "a string")?,
        a_format: o.opt("afmt", string, "a string")?.unwrap_or_default(),
        q_format_browser: o.opt("bqfmt", string, "a string")?.unwrap_or_default(),
        a_format_browser: o.opt("bafmt", string, "a string")?.unwrap_or_default(),
        target_deck_id: o.lenient("did", int).unwrap_or(0),
        browser_font_name: o.lenient("bfont", string).unwrap_or_default(),
        browser_font_size: u32::from(o.lenient("bsize", int_in::<u8>).unwrap_or(0)),
        id: o.lenient("id", int),
        other: other_bytes(&o.unknown(TEMPLATE_KEYS)),
    };
    Ok(TemplateRow {
        ord: index as u32,
        name,
        mtime_secs: 0,
        usn: 0,
        config,
    })
}

/// `req`: all elements valid, or `None`.
fn requirements(v: &Value) -> Option<Vec<CardRequirement>> {
    v.as_array()?.iter().map(requirement).collect()
}

fn requirement(v: &Value) -> Option<CardRequirement> {
    let (card_ord, kind, field_ords) = match v {
        Value::Array(a) if a.len() == 3 => (&a[0], &a[1], &a[2]),
        Value::Object(m) => (m.get("card_ord")?, m.get("kind")?, m.get("field_ords")?),
        _ => return None,
    };
    let kind = match kind.as_str()? {
        "any" => CardRequirementKind::Any,
        "all" => CardRequirementKind::All,
        "none" => CardRequirementKind::None,
        _ => return None,
    };
    Some(CardRequirement {
        card_ord: u32::from(int_in::<u16>(card_ord)?),
        kind: kind as i32,
        field_ords: field_ords
            .as_array()?
            .iter()
            .map(|f| int_in::<u16>(f).map(u32::from))
            .collect::<Option<_>>()?,
    })
}

fn requirement_kind_name(kind: i32) -> &'static str {
    match CardRequirementKind::try_from(kind) {
        Ok(CardRequirementKind::Any) => "any",
        Ok(CardRequirementKind::All) => "all",
        _ => "none",
    }
}

fn id_or_null(id: i64) -> Value {
    if id == 0 {
        Value::Null
    } else {
        Value::from(id)
    }
}

/// Converts rows into the legacy notetype object the official server sends.
pub fn to_json(nt: &NotetypeRows) -> Value {
    let c = &nt.config;
    let mut out = Map::new();
    out.insert("id".into(), nt.id.into());
    out.insert("name".into(), nt.name.clone().into());
    out.insert(
        "type".into(),
        i32::from(c.kind == NotetypeKind::Cloze as i32).into(),
    );
    out.insert("mod".into(), nt.mtime_secs.into());
    out.insert("usn".into(), nt.usn.into());
    out.insert("sortf".into(), c.sort_field_idx.into());
    out.insert("did".into(), id_or_null(c.target_deck_id_unused));
    out.insert(
        "tmpls".into(),
        nt.templates.iter().map(template_to_json).collect(),
    );
    out.insert("flds".into(), nt.fields.iter().map(field_to_json).collect());
    out.insert("css".into(), c.css.clone().into());
    out.insert("latexPre".into(), c.latex_pre.clone().into());
    out.insert("latexPost".into(), c.latex_post.clone().into());
    out.insert("latexsvg".into(), c.latex_svg.into());
    out.insert(
        "req".into(),
        c.reqs
            .iter()
            .map(|r| json!([r.card_ord, requirement_kind_name(r.kind), r.field_ords]))
            .collect(),
    );
    if c.original_stock_kind != 0 {
        out.insert("originalStockKind".into(), c.original_stock_kind.into());
    }
    if let Some(id) = c.original_id {
        out.insert("originalId".into(), id.into());
    }
    merge_other(&mut out, other_map(&c.other), NOTETYPE_KEYS);
    Value::Object(out)
}

fn field_to_json(f: &FieldRow) -> Value {
    let c = &f.config;
    let mut out = Map::new();
    out.insert("name".into(), f.name.clone().into());
    out.insert("ord".into(), f.ord.into());
    out.insert("sticky".into(), c.sticky.into());
    out.insert("rtl".into(), c.rtl.into());
    out.insert("font".into(), c.font_name.clone().into());
    // written as the 16-bit value the JSON form holds
    out.insert("size".into(), (c.font_size as u16).into());
    out.insert("description".into(), c.description.clone().into());
    out.insert("plainText".into(), c.plain_text.into());
    out.insert("collapsed".into(), c.collapsed.into());
    out.insert("excludeFromSearch".into(), c.exclude_from_search.into());
    out.insert("id".into(), c.id.map_or(Value::Null, Value::from));
    out.insert("tag".into(), c.tag.map_or(Value::Null, Value::from));
    out.insert("preventDeletion".into(), c.prevent_deletion.into());
    merge_other(&mut out, other_map(&c.other), FIELD_KEYS);
    Value::Object(out)
}

fn template_to_json(t: &TemplateRow) -> Value {
    let c = &t.config;
    let mut out = Map::new();
    out.insert("name".into(), t.name.clone().into());
    out.insert("ord".into(), t.ord.into());
    out.insert("qfmt".into(), c.q_format.clone().into());
    out.insert("afmt".into(), c.a_format.clone().into());
    out.insert("bqfmt".into(), c.q_format_browser.clone().into());
    out.insert("bafmt".into(), c.a_format_browser.clone().into());
    out.insert("did".into(), id_or_null(c.target_deck_id));
    out.insert("bfont".into(), c.browser_font_name.clone().into());
    // written as the 8-bit value the JSON form holds
    out.insert("bsize".into(), (c.browser_font_size as u8).into());
    out.insert("id".into(), c.id.map_or(Value::Null, Value::from));
    merge_other(&mut out, other_map(&c.other), TEMPLATE_KEYS);
    Value::Object(out)
}

#[cfg(test)]
#[path = "notetype_tests.rs"]
mod tests;
