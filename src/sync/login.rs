//! `/sync/hostKey`: exchange a user name and password for the host key the
//! client stores and sends with every later request.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::SyncError;
use crate::users::Users;

#[derive(Deserialize)]
struct LoginIn {
    u: String,
    p: String,
}

/// Checks the credentials (off the async threads: PBKDF2 is slow on purpose)
/// and answers `{"key": <host key>}`; wrong credentials are
/// [`SyncError::AuthFailed`], whether the name or the password is wrong.
pub async fn host_key(users: Arc<Users>, input: Value) -> Result<Value, SyncError> {
    let LoginIn { u, p } = serde_json::from_value(input)
        .map_err(|e| SyncError::BadRequest(format!("hostKey input: {e}")))?;
    tokio::task::spawn_blocking(move || {
        users
            .login(&u, &p)
            .map(|key| json!({ "key": key }))
            .ok_or(SyncError::AuthFailed)
    })
    .await
    .map_err(|e| SyncError::BadRequest(format!("login task failed: {e}")))?
}
