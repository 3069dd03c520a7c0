//! Reading legacy JSON objects with the official server's mix of strict and
//! lenient keys.
//!
//! Three kinds of keys exist (see the parsers in `notetype.rs`, `deck.rs`,
//! `deck_config.rs`):
//! * required ([`Obj::req`]): missing → error; a value of the wrong type →
//!   error (or, for some keys, a default: then read with [`Obj::present`] and
//!   a lenient parser);
//! * optional strict ([`Obj::opt`]): missing → default, wrong type (even
//!   `null`) → error;
//! * optional lenient ([`Obj::lenient`]): missing or wrong type → default.

use serde_json::{Map, Value};

use super::LegacyError;

/// A JSON object being read, with a description for error messages.
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub what: String,
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value, what: impl Into<String>) -> Result<Self, LegacyError> {
        let what = what.into();
        match value {
            Value::Object(map) => Ok(Obj { map, what }),
            _ => Err(LegacyError::NotAnObject { what }),
        }
    }

    pub fn missing(&self, key: &str) -> LegacyError {
        LegacyError::MissingKey {
            what: self.what.clone(),
            key: key.to_string(),
        }
    }

    pub fn bad(&self, key: &str, expected: &'static str) -> LegacyError {
        LegacyError::BadValue {
            what: self.what.clone(),
            key: key.to_string(),
            expected,
        }
    }

    /// The value of a key that must be present.
    pub fn present(&self, key: &str) -> Result<&'a Value, LegacyError> {
        self.map.get(key).ok_or_else(|| self.missing(key))
    }

    /// A required key parsed strictly.
    pub fn req<T>(
        &self,
        key: &str,
        parse: impl Fn(&Value) -> Option<T>,
        expected: &'static str,
    ) -> Result<T, LegacyError> {
        parse(self.present(key)?).ok_or_else(|| self.bad(key, expected))
    }

    /// An optional key parsed strictly: `None` when missing.
    pub fn opt<T>(
        &self,
        key: &str,
        parse: impl Fn(&Value) -> Option<T>,
        expected: &'static str,
    ) -> Result<Option<T>, LegacyError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| self.bad(key, expected)),
        }
    }

    /// An optional key parsed leniently: `None` when missing or invalid.
    pub fn lenient<T>(&self, key: &str, parse: impl Fn(&Value) -> Option<T>) -> Option<T> {
        self.map.get(key).and_then(parse)
    }

    /// The keys not listed in `known`, as a JSON object.
    pub fn unknown(&self, known: &[&str]) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

// --- value parsers: `None` means "not of this type" -------------------------

pub(crate) fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// An integer, or a string holding one (as Rust parses an `i64`: an optional
/// sign, digits, nothing else).
pub(crate) fn int_or_numeric_string(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        _ => v.as_i64(),
    }
}

/// An integer in the range of `T`.
pub(crate) fn int_in<T: TryFrom<i64>>(v: &Value) -> Option<T> {
    v.as_i64().and_then(|i| T::try_from(i).ok())
}

pub(crate) fn boolean(v: &Value) -> Option<bool> {
    v.as_bool()
}

/// A boolean, or the integer 0 or 1.
pub(crate) fn bool_or_01(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => match v.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
    }
}

pub(crate) fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Any JSON number, narrowed to `f32`.
pub(crate) fn float(v: &Value) -> Option<f32> {
    v.as_f64().map(|f| f as f32)
}

pub(crate) fn floats(v: &Value) -> Option<Vec<f32>> {
    v.as_array()?.iter().map(float).collect()
}

// --- writing -----------------------------------------------------------------

/// An `f32` as the official code writes it: the shortest decimal that reads
/// back as the same `f32` (so 0.9f32 is written `0.9`, not
/// `0.8999999761581421`); non-finite values become `null`.
pub(crate) fn f32_value(x: f32) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let shortest: f64 = x.to_string().parse().expect("f32 display is a number");
    serde_json::Number::from_f64(shortest).map_or(Value::Null, Value::Number)
}

pub(crate) fn f32_values(xs: &[f32]) -> Value {
    Value::Array(xs.iter().map(|&x| f32_value(x)).collect())
}

/// `other` bytes: the unknown keys as a compact JSON object with sorted keys,
/// or nothing when there are none.
pub(crate) fn other_bytes(map: &Map<String, Value>) -> Vec<u8> {
    if map.is_empty() {
        Vec::new()
    } else {
        serde_json::to_vec(map).expect("a JSON map serialises")
    }
}

/// The object stored in `other` bytes; empty when the bytes are empty or are
/// not a JSON object.
pub(crate) fn other_map(bytes: &[u8]) -> Map<String, Value> {
    if bytes.is_empty() {
        return Map::new();
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Copies the entries of `other` whose keys are not in `drop` into `out`
/// (replacing what is there).
pub(crate) fn merge_other(out: &mut Map<String, Value>, other: Map<String, Value>, drop: &[&str]) {
    for (k, v) in other {
        if !drop.contains(&k.as_str()) {
            out.insert(k, v);
        }
    }
}
