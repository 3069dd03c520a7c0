//! Creating a new user's collection the way the official sync server does
//! (Anki 26.9.3, `python -m anki.syncserver`): an empty schema-18 collection
//! with the default config, the Default deck and deck config, and the six
//! stock notetypes.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Local, TimeZone};
use prost::Message;
use rusqlite::{params, Connection, OpenFlags, Transaction};

use super::proto::{
    DeckCommon, DeckConfigConfig, DeckKind, DeckKindContainer, DeckNormal, LeechAction,
};
use super::schema::{SCHEMA_18_MAIN_SQL, SCHEMA_18_TAIL_SQL};
use super::stock::{stock_notetypes, StockNotetype};
use super::{register_unicase, CollectionError, Result, SCHEMA_VERSION};

/// Id of the "Default" deck.
pub const DEFAULT_DECK_ID: i64 = 1;
/// Id of the "Default" deck config (options group).
pub const DEFAULT_DECK_CONFIG_ID: i64 = 1;
/// Name of the default deck and of the default deck config.
pub const DEFAULT_NAME: &str = "Default";
/// Hour of the day (local time) `crt` is aligned to.
const CRT_HOUR: u32 = 4;
/// The first stock notetype's id is the creation time (ms) plus this; the
/// others follow one millisecond apart, as in the official file.
const FIRST_NOTETYPE_ID_OFFSET: i64 = 2;

/// The `config` rows of a new collection other than `curModel`, as
/// `(key, JSON value)`; all have `usn = 0` and `mtime_secs = 0`.
/// (`creationOffset` is `null`: the server does not record a time zone.)
const DEFAULT_CONFIG: &[(&str, &str)] = &[
    ("activeDecks", "[1]"),
    ("addToCur", "true"),
    ("collapseTime", "1200"),
    ("creationOffset", "null"),
    ("curDeck", "1"),
    ("dayLearnFirst", "false"),
    ("dueCounts", "true"),
    ("estTimes", "true"),
    ("newSpread", "0"),
    ("nextPos", "1"),
    ("sched2021", "true"),
    ("schedVer", "2"),
    ("sortBackwards", "false"),
    ("sortType", "\"noteFld\""),
    ("timeLim", "0"),
];

/// Creates a brand-new, empty collection at `path`, as the official server
/// does for a new user; `now_ms` is the creation time (Unix ms).
///
/// The file must not exist yet (an `AlreadyExists` I/O error otherwise). On
/// failure the partly written file is removed again.
pub fn create_collection(path: &Path, now_ms: i64) -> Result<()> {
    // Claim the path atomically; an empty file is a valid empty database.
    OpenOptions::new().write(true).create_new(true).open(path)?;
    // A -wal or -shm left over from an earlier file of the same name would
    // be replayed into the new database; they are stale by definition.
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_exists(&sidecar(path, suffix))?;
    }
    let result = build(path, now_ms);
    if result.is_err() {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = remove_if_exists(&sidecar(path, suffix));
        }
    }
    result
}

/// `crt` of a collection created at `now`: the most recent 4 a.m. local time
/// at or before `now`, in Unix seconds.
///
/// Like the official code, the UTC offset in effect at `now` is used for the
/// 4 a.m. of that day (so on a day with a DST change the result may be an
/// hour off the "true" local 4 a.m.).
pub fn crt_for(now: DateTime<Local>) -> i64 {
    crt_for_fixed(now.fixed_offset())
}

/// [`crt_for`] with an explicit UTC offset.
pub fn crt_for_fixed(now: DateTime<FixedOffset>) -> i64 {
    let four_am_local = now
        .date_naive()
        .and_hms_opt(CRT_HOUR, 0, 0)
        .expect("4:00:00 is a valid time");
    let four_am = four_am_local.and_utc().timestamp() - i64::from(now.offset().local_minus_utc());
    if four_am > now.timestamp() {
        four_am - 86_400
    } else {
        four_am
    }
}

/// The `Deck.Common` blob of the Default deck.
pub fn default_deck_common() -> DeckCommon {
    DeckCommon {
        study_collapsed: true,
        browser_collapsed: true,
        ..Default::default()
    }
}

/// The `Deck.KindContainer` blob of the Default deck.
pub fn default_deck_kind() -> DeckKindContainer {
    DeckKindContainer {
        kind: Some(DeckKind::Normal(DeckNormal {
            config_id: DEFAULT_DECK_CONFIG_ID,
            ..Default::default()
        })),
    }
}

/// The `DeckConfig.Config` blob of the default deck config.
pub fn default_deck_config() -> DeckConfigConfig {
    DeckConfigConfig {
        learn_steps: vec![1.0, 10.0],
        relearn_steps: vec![10.0],
        easy_days_percentages: vec![1.0; 7],
        new_per_day: 20,
        reviews_per_day: 200,
        initial_ease: 2.5,
        easy_multiplier: 1.3,
        hard_multiplier: 1.2,
        interval_multiplier: 1.0,
        maximum_review_interval: 36_500,
        minimum_lapse_interval: 1,
        graduating_interval_good: 1,
        graduating_interval_easy: 4,
        leech_action: LeechAction::TagOnly as i32,
        leech_threshold: 8,
        cap_answer_time_to_secs: 60,
        desired_retention: 0.9,
        historical_retention: 0.9,
        wait_for_audio: true,
        ..Default::default()
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn random_i64() -> Result<i64> {
    let v =
        getrandom::u64().map_err(|e| std::io::Error::other(format!("no random numbers: {e}")))?;
    Ok(v as i64)
}

fn build(path: &Path, now_ms: i64) -> Result<()> {
    let now = Local
        .timestamp_millis_opt(now_ms)
        .single()
        .ok_or_else(|| CollectionError::Invalid(format!("bad creation time {now_ms}")))?;
    let crt = crt_for(now);

    let mut notetypes = stock_notetypes();
    for nt in &mut notetypes {
        let mut ids = Vec::new();
        for _ in 0..nt.fields.len() + nt.templates.len() {
            ids.push(random_i64()?);
        }
        let mut ids = ids.into_iter();
        nt.assign_ids(|| ids.next().expect("one id per field and template"));
    }

    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "page_size", 4096)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(CollectionError::Invalid(format!(
            "journal_mode wal not accepted (got {mode})"
        )));
    }
    register_unicase(&conn)?;

    let tx = conn.transaction()?;
    write_contents(&tx, now_ms, crt, &notetypes)?;
    tx.commit()?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// Writes schema and rows in the order the official creation path leaves
/// them: the statistics of `ANALYZE` cover `col` and `config` only, and
/// `tags`/`graves` come after `sqlite_stat*` in `sqlite_master`.
fn write_contents(
    tx: &Transaction<'_>,
    now_ms: i64,
    crt: i64,
    notetypes: &[StockNotetype],
) -> Result<()> {
    let now_secs = now_ms.div_euclid(1000);
    let first_ntid = now_ms + FIRST_NOTETYPE_ID_OFFSET;

    tx.execute_batch(SCHEMA_18_MAIN_SQL)?;
    tx.execute(
        "insert into col (id, crt, mod, scm, ver, dty, usn, ls, conf, models, decks, dconf, tags)
         values (1, ?1, 0, ?2, ?3, 0, 0, 0, '', '', '', '', '')",
        params![crt, now_ms, SCHEMA_VERSION],
    )?;
    {
        let mut stmt =
            tx.prepare("insert into config (KEY, usn, mtime_secs, val) values (?1, ?2, ?3, ?4)")?;
        for (key, val) in DEFAULT_CONFIG {
            stmt.execute(params![key, 0, 0, val.as_bytes()])?;
        }
        // The official server sets the current notetype after adding the
        // stock notetypes, which marks this one key as modified.
        stmt.execute(params![
            "curModel",
            -1,
            now_secs,
            first_ntid.to_string().as_bytes()
        ])?;
    }
    tx.execute_batch("ANALYZE")?;
    tx.execute_batch(SCHEMA_18_TAIL_SQL)?;

    tx.execute(
        "insert into deck_config (id, name, mtime_secs, usn, config) values (?1, ?2, 0, 0, ?3)",
        params![
            DEFAULT_DECK_CONFIG_ID,
            DEFAULT_NAME,
            default_deck_config().encode_to_vec()
        ],
    )?;
    tx.execute(
        "insert into decks (id, name, mtime_secs, usn, common, kind) values (?1, ?2, 0, 0, ?3, ?4)",
        params![
            DEFAULT_DECK_ID,
            DEFAULT_NAME,
            default_deck_common().encode_to_vec(),
            default_deck_kind().encode_to_vec()
        ],
    )?;

    let mut nt_stmt = tx.prepare(
        "insert into notetypes (id, name, mtime_secs, usn, config) values (?1, ?2, 0, 0, ?3)",
    )?;
    let mut field_stmt =
        tx.prepare("insert into fields (ntid, ord, name, config) values (?1, ?2, ?3, ?4)")?;
    let mut tmpl_stmt = tx.prepare(
        "insert into templates (ntid, ord, name, mtime_secs, usn, config)
         values (?1, ?2, ?3, 0, 0, ?4)",
    )?;
    for (ntid, nt) in (first_ntid..).zip(notetypes) {
        nt_stmt.execute(params![ntid, nt.name, nt.config.encode_to_vec()])?;
        for (ord, f) in (0u32..).zip(&nt.fields) {
            field_stmt.execute(params![ntid, ord, f.name, f.config.encode_to_vec()])?;
        }
        for (ord, t) in (0u32..).zip(&nt.templates) {
            tmpl_stmt.execute(params![ntid, ord, t.name, t.config.encode_to_vec()])?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
