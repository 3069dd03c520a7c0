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
    Ok(timing_today(conn, now_secs)?.days_elapsed)
}

/// The scheduler's "today" at `now_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTiming {
    /// Days since the collection was created (today's day number).
    pub days_elapsed: u32,
    /// When the next day starts (Unix seconds).
    pub next_day_at: i64,
}

/// Today's day number and the start of the next day, computed as the
/// official server does: schedVer 1 counts whole days from `crt`; otherwise
/// days start at the `rollover` hour (default 4, at most 23) in the
/// `localOffset` zone (minutes west of UTC; UTC if missing or out of range),
/// counted in calendar days from `crt` in the `creationOffset` zone when
/// that key exists, or in whole days from `crt`'s rollover when it does not.
pub fn timing_today(conn: &Connection, now_secs: i64) -> Result<DayTiming> {
    let crt: i64 = conn.query_row("select crt from col", [], |r| r.get(0))?;
    if config_i64(conn, "schedVer")? != Some(2) {
        let days = (now_secs - crt) / 86_400;
        return Ok(DayTiming {
            days_elapsed: days.max(0) as u32,
            next_day_at: crt + (days + 1) * 86_400,
        });
    }
    let rollover = config_i64(conn, "rollover")?
        .filter(|r| (0..=255).contains(r))
        .unwrap_or(4)
        .min(23) as u32;
    let current = offset_west(config_i64(conn, "localOffset")?).unwrap_or(UTC);
    let now = at(now_secs, current);
    match offset_west(config_i64(conn, "creationOffset")?) {
        Some(creation) => {
            let rollover_today = at_hour(now, rollover);
            let passed = rollover_today <= now;
            let next_day_at = if passed {
                rollover_today.timestamp() + 86_400
            } else {
                rollover_today.timestamp()
            };
            let created = at(crt, creation);
            let days = now.num_days_from_ce() - created.num_days_from_ce();
            let days = if passed { days } else { days - 1 };
            Ok(DayTiming {
                days_elapsed: days.max(0) as u32,
                next_day_at,
            })
        }
        None => {
            let crt_at_rollover = at_hour(at(crt, current), rollover).timestamp();
            let mut next_day_at = at_hour(now, rollover).timestamp();
            if next_day_at < now_secs {
                next_day_at += 86_400;
            }
            Ok(DayTiming {
                days_elapsed: ((now_secs - crt_at_rollover) / 86_400).max(0) as u32,
                next_day_at,
            })
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

const UTC: FixedOffset = FixedOffset::east_opt(0).expect("zero offset");

/// A zone given in minutes west of UTC; `None` when missing or not within a
/// day.
fn offset_west(minutes: Option<i64>) -> Option<FixedOffset> {
    let secs = i32::try_from(minutes?.checked_mul(60)?).ok()?;
    FixedOffset::west_opt(secs)
}

fn at(secs: i64, offset: FixedOffset) -> DateTime<FixedOffset> {
    offset
        .timestamp_opt(secs, 0)
        .single()
        .unwrap_or_else(|| offset.timestamp_opt(0, 0).unwrap())
}

/// The same day as `t`, at `hour`:00:00.
fn at_hour(t: DateTime<FixedOffset>, hour: u32) -> DateTime<FixedOffset> {
    t.with_hour(hour)
        .and_then(|d| d.with_minute(0))
        .and_then(|d| d.with_second(0))
        .and_then(|d| d.with_nanosecond(0))
        .unwrap_or(t)
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
    fn the_next_day_starts_at_the_rollover_hour_in_the_users_zone() {
        let (conn, path) = collection();
        let crt = 1_795_752_000; // 2026-11-27 04:00 UTC
        let day = 86_400;
        // New timezone handling, UTC+5:30 (330 minutes east), rollover 2:00.
        set(&conn, "creationOffset", "-330");
        set(&conn, "localOffset", "-330");
        set(&conn, "rollover", "2");
        // 2026-11-29 20:30 UTC is 30 Nov 02:00 local: the day has just begun.
        let t = timing_today(&conn, crt + 2 * day + 16 * 3600 + 1800).unwrap();
        assert_eq!(t.days_elapsed, 3);
        assert_eq!(t.next_day_at, crt + 3 * day + 16 * 3600 + 1800);
        let t = timing_today(&conn, crt + 2 * day + 16 * 3600 + 1799).unwrap();
        assert_eq!(t.days_elapsed, 2);
        assert_eq!(t.next_day_at, crt + 2 * day + 16 * 3600 + 1800);
        // An offset of a day or more is ignored (UTC), a rollover past 23
        // is 23.
        set(&conn, "localOffset", "-1440");
        set(&conn, "rollover", "30");
        let t = timing_today(&conn, crt + 3600).unwrap();
        assert_eq!(t.next_day_at, crt + 19 * 3600);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn legacy_and_v1_collections_count_whole_days_from_crt() {
        let (conn, path) = collection();
        let crt = 1_795_752_000;
        conn.execute("delete from config where key = 'creationOffset'", [])
            .unwrap();
        set(&conn, "rollover", "4");
        let t = timing_today(&conn, crt + 86_400 + 60).unwrap();
        assert_eq!((t.days_elapsed, t.next_day_at), (1, crt + 2 * 86_400));
        set(&conn, "schedVer", "1");
        let t = timing_today(&conn, crt + 3 * 86_400 + 7).unwrap();
        assert_eq!((t.days_elapsed, t.next_day_at), (3, crt + 4 * 86_400));
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
