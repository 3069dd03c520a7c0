//! The wall clock, in the units kioku's data uses: Unix milliseconds
//! (collection `mod`, ids, snapshot names) and Unix seconds (row `mod`,
//! account and key times, file times). One place, so every part reads the
//! clock the same way. It only reads the clock; formatting times for people
//! is `crate::web::html`'s.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 for a clock set before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    now_ms() / 1000
}

/// A time (a file's modification time, a last sync) as Unix seconds;
/// `None` before 1970.
pub fn unix_secs(t: SystemTime) -> Option<i64> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs() as i64)
}
