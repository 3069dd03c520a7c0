//! Reading an action's `params`: names are exact and case-sensitive,
//! unknown names are ignored (Yomitan sends `sync` a stray `version`), a
//! missing required one is an error naming it.

use serde_json::{Map, Value};

use super::error::ApiError;

pub struct Params<'a>(pub &'a Map<String, Value>);

fn type_error(name: &str, expected: &str) -> ApiError {
    ApiError::msg(format!("parameter \"{name}\" must be {expected}"))
}

/// The ids in a JSON value: a list of integers.
pub fn id_list(value: &Value, name: &str) -> Result<Vec<i64>, ApiError> {
    value
        .as_array()
        .ok_or_else(|| type_error(name, "a list of ids"))?
        .iter()
        .map(|v| v.as_i64().ok_or_else(|| type_error(name, "a list of ids")))
        .collect()
}

impl<'a> Params<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn required(&self, name: &str) -> Result<&'a Value, ApiError> {
        self.0
            .get(name)
            .ok_or_else(|| ApiError::msg(format!("missing required parameter \"{name}\"")))
    }

    pub fn str(&self, name: &str) -> Result<&'a str, ApiError> {
        self.required(name)?
            .as_str()
            .ok_or_else(|| type_error(name, "a string"))
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| type_error(name, "a string")),
        }
    }

    pub fn ids(&self, name: &str) -> Result<Vec<i64>, ApiError> {
        id_list(self.required(name)?, name)
    }

    pub fn object(&self, name: &str) -> Result<&'a Map<String, Value>, ApiError> {
        self.required(name)?
            .as_object()
            .ok_or_else(|| type_error(name, "an object"))
    }

    pub fn id(&self, name: &str) -> Result<i64, ApiError> {
        self.required(name)?
            .as_i64()
            .ok_or_else(|| type_error(name, "an integer id"))
    }
}

/// A key of an object the way Python's `obj['key']` fails: `'key'`.
pub fn member<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a Value, ApiError> {
    obj.get(key)
        .ok_or_else(|| ApiError::msg(format!("'{key}'")))
}

/// Tags given as one space-separated string or as a list of strings.
pub fn tag_list(value: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| type_error(name, "a string or a list of strings"))
            })
            .collect(),
        _ => Err(type_error(name, "a string or a list of strings")),
    }
}
