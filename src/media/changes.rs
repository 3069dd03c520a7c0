//! The read-only media endpoints: `begin` (the media usn), `mediaChanges`
//! (index rows after a usn) and `mediaSanity` (file count check). None of
//! them creates the index: a user without one has usn 0 and no files.

use std::path::Path;

use serde_json::{json, Value};

use super::index::Index;
use super::MediaError;

/// `begin`: `{"v": <client version>}` → `{"usn": last_usn, "sk": host key}`.
/// The official server returns the host key as the old media session key.
pub fn begin(user_dir: &Path, input: &Value, host_key: &str) -> Result<Value, MediaError> {
    let version = input.get("v").and_then(Value::as_str).unwrap_or_default();
    if version.is_empty() {
        return Err(MediaError::BadRequest(
            "msync/begin without a client version (\"v\")".into(),
        ));
    }
    Ok(json!({ "usn": super::last_usn(user_dir)?, "sk": host_key }))
}

/// `mediaChanges`: `{"lastUsn": n}` → up to 1000 `[name, usn, sha1 hex or ""]`
/// with a usn above `n`, in ascending usn order; an empty list ends the
/// client's loop.
pub fn media_changes(user_dir: &Path, input: &Value) -> Result<Value, MediaError> {
    let last_usn = input
        .get("lastUsn")
        .and_then(Value::as_i64)
        .ok_or_else(|| MediaError::BadRequest("mediaChanges without lastUsn".into()))?;
    let after = i32::try_from(last_usn)
        .map_err(|_| MediaError::BadRequest(format!("lastUsn {last_usn} out of range")))?;
    let rows = match Index::open_existing(user_dir)? {
        Some(index) => index.changes_after(after)?,
        None => Vec::new(),
    };
    Ok(Value::Array(
        rows.into_iter()
            .map(|(name, usn, sha1)| json!([name, usn, sha1]))
            .collect(),
    ))
}

/// `mediaSanity`: `{"local": n}` → `"OK"` if the server has `n` files, else
/// `"mediaSanity"` (the client then resets its media state and resyncs).
pub fn media_sanity(user_dir: &Path, input: &Value) -> Result<Value, MediaError> {
    let local = input
        .get("local")
        .and_then(Value::as_u64)
        .ok_or_else(|| MediaError::BadRequest("mediaSanity without a local count".into()))?;
    let server = match Index::open_existing(user_dir)? {
        Some(index) => index.meta()?.total_nonempty_files,
        None => 0,
    };
    Ok(if u64::from(server) == local {
        json!("OK")
    } else {
        tracing::warn!(
            local,
            server,
            "media sanity check failed; the client will resync media"
        );
        json!("mediaSanity")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::reconcile::tests::temp_user_dir;

    #[test]
    fn a_user_without_an_index_has_usn_0_no_changes_and_no_files() {
        let dir = temp_user_dir();
        let begin = begin(&dir, &json!({"v": "anki,26.09.3"}), "key").unwrap();
        assert_eq!(begin, json!({"usn": 0, "sk": "key"}));
        assert_eq!(
            media_changes(&dir, &json!({"lastUsn": 0})).unwrap(),
            json!([])
        );
        assert_eq!(
            media_sanity(&dir, &json!({"local": 0})).unwrap(),
            json!("OK")
        );
        assert_eq!(
            media_sanity(&dir, &json!({"local": 1})).unwrap(),
            json!("mediaSanity")
        );
        assert!(
            !dir.join("media.db").exists(),
            "reads must not create the index"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn begin_needs_a_client_version() {
        let dir = temp_user_dir();
        for input in [json!({}), json!({"v": ""})] {
            assert!(matches!(
                begin(&dir, &input, "k"),
                Err(MediaError::BadRequest(_))
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn changes_are_listed_in_usn_order_with_empty_sha1_for_deletions() {
        let dir = temp_user_dir();
        let mut index = Index::open(&dir).unwrap();
        index
            .transaction(|c| {
                c.put("b.mp3", &[0xab; 20], 3)?;
                c.put("a.png", &[0x01; 20], 5)?;
                let a = c.live_entry("a.png")?.unwrap();
                c.delete(&a)?;
                c.put("b.mp3", &[0xcd; 20], 4)?;
                Ok(())
            })
            .unwrap();
        drop(index);
        let all = media_changes(&dir, &json!({"lastUsn": 0})).unwrap();
        assert_eq!(
            all,
            json!([["a.png", 3, ""], ["b.mp3", 4, "cd".repeat(20)]])
        );
        assert_eq!(
            media_changes(&dir, &json!({"lastUsn": 3})).unwrap(),
            json!([["b.mp3", 4, "cd".repeat(20)]])
        );
        assert_eq!(
            media_changes(&dir, &json!({"lastUsn": 4})).unwrap(),
            json!([])
        );
        assert_eq!(super::super::last_usn(&dir).unwrap(), 4);
        assert_eq!(
            media_sanity(&dir, &json!({"local": 1})).unwrap(),
            json!("OK")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
