//! The per-user sync session: `abort` today; `start` … `finish` (normal sync)
//! land with incremental sync. Until then those steps answer an error — real
//! clients never reach them, because `meta` steers them to a full sync (see
//! [`super::meta::NORMAL_SYNC_SUPPORTED`]).

use serde_json::Value;

use super::{Method, SyncError};

/// `abort`: forget any sync in progress. There is no session state yet, so
/// this always succeeds with `null`, as the official server answers.
pub fn abort() -> Value {
    Value::Null
}

/// The normal-sync steps kioku does not implement yet.
pub fn not_yet(method: Method) -> SyncError {
    SyncError::NotImplemented(format!(
        "sync/{} (normal sync) is not implemented yet; clients are offered a full sync instead",
        method.name()
    ))
}
