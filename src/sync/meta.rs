//! `/sync/meta`: the first request of every sync. Reports the server
//! collection's `mod`, `scm`, `usn` and whether it is empty, from which the
//! client decides between no sync, a normal sync and a full sync.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{now_ms, SyncError};
use crate::store::UserSlot;

/// Protocol versions kioku accepts in the `meta` body (as the official server).
pub const VERSION_MIN: i64 = 8;
pub const VERSION_MAX: i64 = 11;

#[derive(Deserialize)]
struct MetaIn {
    v: i64,
    #[serde(default)]
    #[allow(dead_code)]
    cv: Option<String>,
}

/// The `meta` answer; field order and names as the clients expect
/// (`media_usn` is the protocol's one snake-case key).
#[derive(Serialize, Debug, PartialEq)]
pub struct MetaOut {
    #[serde(rename = "mod")]
    pub modified: i64,
    #[serde(rename = "scm")]
    pub schema: i64,
    pub usn: i32,
    pub ts: i64,
    pub msg: String,
    pub cont: bool,
    #[serde(rename = "hostNum")]
    pub host_num: u32,
    pub empty: bool,
    pub media_usn: i32,
}

/// Answers `meta` for one user. `collection_limit` is the size above which a
/// collection is only synced with full syncs (3 × the payload limit).
pub async fn meta(
    slot: &UserSlot,
    input: Value,
    collection_limit: u64,
) -> Result<Value, SyncError> {
    let MetaIn { v, .. } = serde_json::from_value(input)
        .map_err(|e| SyncError::BadRequest(format!("meta input: {e}")))?;
    if !(VERSION_MIN..=VERSION_MAX).contains(&v) {
        return Err(SyncError::ClientTooOld(format!(
            "sync protocol version {v} (kioku speaks {VERSION_MIN} to {VERSION_MAX})"
        )));
    }
    let now = now_ms();
    let user_dir = slot.dir().to_owned();
    let (col, size, new_timezone, media_usn) = slot
        .run(move |state| {
            // The last committed state: a sync in progress (another device's)
            // is neither seen nor disturbed.
            let (col, new_timezone) = state.with_committed(now, |conn| {
                Ok((
                    crate::collection::read_meta(conn)?,
                    crate::collection::uses_new_timezone(conn)?,
                ))
            })?;
            let media_usn = crate::media::last_usn(&user_dir)
                .map_err(|e| crate::store::StoreError::Io(std::io::Error::other(e)))?;
            Ok((col, state.collection_size(), new_timezone, media_usn))
        })
        .await?;
    let refusal = if v < 9 {
        Some("Your client does not support the v2 scheduler")
    } else if v < 10 && new_timezone {
        Some("Your client does not support the new timezone handling.")
    } else {
        None
    };
    // A collection over the limit is only synced with full syncs: a fresh
    // schema time makes every client ask for one (as the official server).
    let force_full = size > collection_limit;
    let out = MetaOut {
        modified: col.modified,
        schema: if force_full { now } else { col.schema },
        usn: col.usn,
        ts: now / 1000,
        msg: refusal.unwrap_or_default().to_owned(),
        cont: refusal.is_none(),
        host_num: 0,
        empty: col.empty,
        media_usn,
    };
    Ok(serde_json::to_value(out).expect("meta serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_serialises_with_the_official_key_names_and_order() {
        let out = MetaOut {
            modified: 1,
            schema: 2,
            usn: 3,
            ts: 4,
            msg: String::new(),
            cont: true,
            host_num: 0,
            empty: false,
            media_usn: 5,
        };
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"mod":1,"scm":2,"usn":3,"ts":4,"msg":"","cont":true,"hostNum":0,"empty":false,"media_usn":5}"#
        );
    }
}
