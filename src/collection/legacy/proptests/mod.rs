//! Property tests of the conversions.
//!
//! * For rows within their domains (values the JSON form can carry, unknown
//!   keys in `other`): `from_json(to_json(rows)) == rows`.
//! * For JSON objects: `to_json(from_json(x)) == canonical(x)`. The objects
//!   are made from such rows' canonical JSON by random variations the
//!   official server accepts and normalises (numbers as strings, 0/1 for
//!   booleans, missing optional keys, invalid values of lenient keys, array
//!   ↔ object forms, extra list elements, obsolete and misplaced keys, …);
//!   canonical(x) is the JSON they were made from.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{
    deck, deck_config, notetype, DeckConfigRow, DeckRow, FieldRow, NotetypeRows, TemplateRow,
};
use crate::collection::proto::{
    CardRequirement, DayLimit, DeckCommon, DeckConfigConfig, DeckFiltered, DeckKind,
    DeckKindContainer, DeckNormal, FieldConfig, NotetypeConfig, SearchTerm, TemplateConfig,
};

mod deck_configs;
mod decks;
mod notetypes;

// --- arbitrary values ---------------------------------------------------------

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown keys: any names but `known`.
fn unknown_keys(known: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        prop_oneof![".{1,10}", "[a-zA-Z]{1,12}"]
            .prop_filter("unknown", move |k: &String| !known.contains(&k.as_str())),
        any_json(),
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn bytes(m: Map<String, Value>) -> Vec<u8> {
    super::json::other_bytes(&m)
}

fn finite_f32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("finite", |f| f.is_finite())
}

fn f32s() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(finite_f32(), 0..5)
}

fn text() -> impl Strategy<Value = String> {
    ".{0,16}"
}

/// A tiny deterministic generator for the variations.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self) -> bool {
        self.next().is_multiple_of(2)
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }
}

fn obj(v: &mut Value) -> &mut Map<String, Value> {
    v.as_object_mut().unwrap()
}

/// Replaces `key` (holding its default) by one of `alternatives` or removes it.
fn vary_default(
    d: &mut Dice,
    m: &mut Map<String, Value>,
    key: &str,
    default: Value,
    alternatives: &[Value],
) {
    if m.get(key) == Some(&default) && d.chance() {
        if d.chance() || alternatives.is_empty() {
            m.remove(key);
        } else {
            m.insert(key.into(), d.pick(alternatives));
        }
    }
}

/// Replaces `key` (holding its default) by one of `alternatives`.
fn replace_default(
    d: &mut Dice,
    m: &mut Map<String, Value>,
    key: &str,
    default: Value,
    alternatives: &[Value],
) {
    if m.get(key) == Some(&default) && d.chance() {
        m.insert(key.into(), d.pick(alternatives));
    }
}

fn as_string(d: &mut Dice, m: &mut Map<String, Value>, key: &str) {
    if d.chance() {
        let s = m[key].to_string();
        m.insert(key.into(), Value::String(s));
    }
}
