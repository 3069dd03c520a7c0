//! `requestPermission`, `multi`, `apiReflect` (and `version`/`sync`, which
//! are one-liners in the action table: `sync` is a no-op success because
//! the box *is* the sync server).

use serde_json::{json, Value};

use super::params::Params;
use super::{auth, check_depth, handle, Action, ApiError, Call, API_VERSION};

/// `requestPermission`: granted for origins the CORS rules allow (no dialog
/// on a box without a screen; add origins with `--ankiconnect-origin`).
/// `requireApikey` is false only where keyless mode covers the caller.
pub fn request_permission(call: &Call<'_>) -> Value {
    if !call.caller.origin_allowed {
        return json!({"permission": "denied"});
    }
    let keyless = auth::keyless_user(call.app, call.caller.peer).is_some();
    json!({"permission": "granted", "requireApikey": !keyless, "version": API_VERSION})
}

/// `multi {actions}`: each item is a whole request of its own (own version,
/// own key, own error), run in order; not a transaction.
pub async fn multi(call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    check_depth(call.depth)?;
    let actions = p
        .required("actions")?
        .as_array()
        .ok_or_else(|| ApiError::msg("parameter \"actions\" must be a list"))?;
    let mut out = Vec::with_capacity(actions.len());
    for item in actions {
        let (reply, _, _) = handle(call.app, call.caller, item, call.depth + 1).await;
        out.push(reply);
    }
    Ok(Value::Array(out))
}

/// `apiReflect {scopes, actions?}`: the actions kioku really implements.
pub fn api_reflect(p: &Params<'_>) -> Result<Value, ApiError> {
    let scopes = p
        .get("scopes")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::msg("scopes has invalid value"))?;
    let wanted = match p.get("actions") {
        None => None,
        Some(Value::Array(list)) => Some(list),
        Some(_) => return Err(ApiError::msg("actions has invalid value")),
    };
    let mut result = json!({"scopes": []});
    if scopes.iter().any(|s| s == "actions") {
        let names: Vec<&str> = match wanted {
            None => Action::ALL.iter().map(|a| a.name()).collect(),
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .filter(|n| Action::parse(n).is_some())
                .collect(),
        };
        result = json!({"scopes": ["actions"], "actions": names});
    }
    Ok(result)
}
