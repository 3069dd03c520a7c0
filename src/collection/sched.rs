//! The scheduler's notion of "today" on the server, and the one scheduling
//! duty the official server performs during sync: at `start`, if the day has
//! rolled over since the last time, buried cards are unburied.
//!
//! Unburying does not mark cards as modified (their `mod` and `usn` stay), so
//! it never travels to clients: every client unburies on its own. It only
//! keeps the server's copy honest for anything that reads it on the box.

use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Timelike};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::Result;

/// Days since the collection was created, in the scheduler's sense (days
/// start at the rollover hour), as the official server computes it: the
/// user's offset is the `localOffset` config (minutes west of UTC), or UTC.
pub fn days_elapsed(conn: &Connection, now_secs: i64) -> Result<u32> {
    let crt: i64 = conn.query_row("select crt from col", [], |r| r.get(0))?;
    let sched_ver = config_i64(conn, "schedVer")?.unwrap_or(1);
    if sched_ver < 2 {
        return Ok(((now_secs - crt) / 86_400).max(0) as u32);
    }
    let rollover = config_i64(conn, "rollover")?.unwrap_or(4).rem_euclid(24) as u32;
    let current = offset_west(config_i64(conn, "localOffset")?.unwrap_or(0));
    let now = at(now_secs, current);
    let rollover_today = now
        .with_hour(rollover)
        .and_then(|d| d.with_minute(0))
        .and_then(|d| d.with_second(0))
        .and_then(|d| d.with_nanosecond(0))
        .unwrap_or(now);
    let passed = rollover_today <= now;
    match config_i64(conn, "creationOffset")? {
        Some(creation_west) => {
            let created = at(crt, offset_west(creation_west));
            let days = now.num_days_from_ce() - created.num_days_from_ce();
            Ok((if passed { days } else { days - 1 }).max(0) as u32)
        }
        None => {
            let crt_at_rollover = at(crt, current)
                .with_hour(rollover)
                .and_then(|d| d.with_minute(0))
                .and_then(|d| d.with_second(0))
                .map(|d| d.timestamp())
                .unwrap_or(crt);
            Ok(((now_secs - crt_at_rollover) / 86_400).max(0) as u32)
        }
    }
}

/// Unburies buried cards if the scheduler's day changed since the last time
/// (`lastUnburied`), then records today; `usn` stamps that config row.
/// Returns how many cards were unburied.
pub fn unbury_if_day_rolled_over(conn: &Connection, now_secs: i64, usn: i32) -> Result<usize> {
    let today = days_elapsed(conn, now_secs)? as i64;
    let last = config_i64(conn, "lastUnburied")?.unwrap_or(0);
    if !(last < today || today + 7 < last) {
        return Ok(0);
    }
    // Queues: -3 user-buried, -2 scheduler-buried. The restored queue follows
    // the card type: new → new, review → review, (re)learning → learning when
    // `due` is a timestamp, day-learning when it is a day number.
    let unburied = conn.execute(
        "update cards set queue = case type
             when 0 then 0
             when 2 then 2
             else case when due > 1000000000 then 1 else 3 end
         end
         where queue in (-2, -3)",
        [],
    )?;
    conn.execute(
        "insert or replace into config (key, usn, mtime_secs, val) values ('lastUnburied', ?1, ?2, ?3)",
        params![usn, now_secs, today.to_string().into_bytes()],
    )?;
    Ok(unburied)
}

fn config_i64(conn: &Connection, key: &str) -> Result<Option<i64>> {
    let val: Option<Vec<u8>> = conn
        .prepare_cached("select val from config where key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(val
        .and_then(|v| serde_json::from_slice::<Value>(&v).ok())
        .and_then(|v| v.as_i64()))
}

fn offset_west(minutes: i64) -> FixedOffset {
    let minutes = minutes.clamp(-23 * 60, 23 * 60) as i32;
    FixedOffset::west_opt(minutes * 60).expect("offset within a day")
}

fn at(secs: i64, offset: FixedOffset) -> DateTime<FixedOffset> {
    offset
        .timestamp_opt(secs, 0)
        .single()
        .unwrap_or_else(|| offset.timestamp_opt(0, 0).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection() -> (Connection, std::path::PathBuf) {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        let path = std::env::temp_dir().join(format!("kioku-sched-{}.anki2", hex::encode(bytes)));
        // 2026-11-27 04:00 UTC
        crate::collection::create_collection(&path, 1_795_809_854_225).unwrap();
        let conn = crate::collection::open(&path).unwrap();
        conn.execute("update col set crt = 1795752000", []).unwrap();
        (conn, path)
    }

    fn set(conn: &Connection, key: &str, val: &str) {
        conn.execute(
            "insert or replace into config values (?1, 0, 0, ?2)",
            params![key, val.as_bytes()],
        )
        .unwrap();
    }

    #[test]
    fn days_start_at_the_rollover_hour() {
        let (conn, path) = collection();
        set(&conn, "creationOffset", "0");
        let day = 86_400;
        let crt = 1_795_752_000; // 04:00 UTC
        assert_eq!(days_elapsed(&conn, crt + 60).unwrap(), 0);
        assert_eq!(days_elapsed(&conn, crt + day - 60).unwrap(), 0);
        assert_eq!(days_elapsed(&conn, crt + day + 60).unwrap(), 1);
        assert_eq!(days_elapsed(&conn, crt + 10 * day + 3600).unwrap(), 10);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn buried_cards_are_unburied_once_per_day_without_marking_them_modified() {
        let (conn, path) = collection();
        set(&conn, "creationOffset", "0");
        conn.execute_batch(
            "insert into cards values (1, 1, 1, 0, 77, 5, 0, -2, 3, 0, 0, 0, 0, 0, 0, 0, 0, '{}');
             insert into cards values (2, 1, 1, 1, 77, 5, 2, -3, 40, 3, 2500, 1, 0, 0, 0, 0, 0, '{}');
             insert into cards values (3, 1, 1, 2, 77, 5, 1, -2, 1795800000, 0, 0, 1, 0, 1, 0, 0, 0, '{}');
             insert into cards values (4, 1, 1, 3, 77, 5, 2, -1, 40, 3, 2500, 1, 0, 0, 0, 0, 0, '{}');",
        )
        .unwrap();
        let now = 1_795_752_000 + 2 * 86_400 + 60;
        assert_eq!(unbury_if_day_rolled_over(&conn, now, 9).unwrap(), 3);
        let queues: Vec<(i64, i64, i64)> = conn
            .prepare("select queue, mod, usn from cards order by id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            queues,
            vec![(0, 77, 5), (2, 77, 5), (1, 77, 5), (-1, 77, 5)]
        );
        assert_eq!(config_i64(&conn, "lastUnburied").unwrap(), Some(2));
        // Same day again: nothing to do.
        conn.execute("update cards set queue = -2 where id = 1", [])
            .unwrap();
        assert_eq!(unbury_if_day_rolled_over(&conn, now + 60, 9).unwrap(), 0);
        std::fs::remove_file(path).unwrap();
    }
}
