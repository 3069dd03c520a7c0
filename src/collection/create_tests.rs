use super::super::proto::{FieldConfig, NotetypeConfig, TemplateConfig};
use super::*;
use chrono::NaiveDate;
use sha1::{Digest, Sha1};
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "create_official.rs"]
mod official;
use official::*;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kioku-create-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixed(
    offset_secs: i32,
    y: i32,
    m: u32,
    d: u32,
    h: u32,
    min: u32,
    s: u32,
) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset_secs)
        .unwrap()
        .from_local_datetime(
            &NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, s)
                .unwrap(),
        )
        .unwrap()
}

fn open_created(now_ms: i64) -> (TempDir, Connection) {
    let dir = TempDir::new();
    let path = dir.0.join("collection.anki2");
    create_collection(&path, now_ms).unwrap();
    let conn = Connection::open(&path).unwrap();
    register_unicase(&conn).unwrap();
    (dir, conn)
}

fn blob_hex(b: Vec<u8>) -> String {
    hex::encode_upper(b)
}

fn field_without_id(hex_str: &str) -> FieldConfig {
    let mut c = FieldConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
    assert!(c.id.is_some());
    c.id = None;
    c
}

fn template_without_id(hex_str: &str) -> TemplateConfig {
    let mut c = TemplateConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
    assert!(c.id.is_some());
    c.id = None;
    c
}

#[test]
fn crt_official_example() {
    // The official file: created 2026-11-27 20:04:14.225 UTC.
    let now = FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(OFFICIAL_SCM)
        .unwrap();
    assert_eq!(crt_for_fixed(now), OFFICIAL_CRT);
}

#[test]
fn crt_around_4am_boundaries() {
    let four = fixed(0, 2026, 3, 10, 4, 0, 0).timestamp();
    // exactly 4:00:00 → that same instant
    assert_eq!(crt_for_fixed(fixed(0, 2026, 3, 10, 4, 0, 0)), four);
    // one second before → the previous day's 4 a.m.
    assert_eq!(
        crt_for_fixed(fixed(0, 2026, 3, 10, 3, 59, 59)),
        four - 86_400
    );
    // midnight → previous day
    assert_eq!(crt_for_fixed(fixed(0, 2026, 3, 10, 0, 0, 0)), four - 86_400);
    // late evening → the same day's 4 a.m.
    assert_eq!(crt_for_fixed(fixed(0, 2026, 3, 10, 23, 59, 59)), four);
    // first of the month / year before 4 a.m. → last day of previous month / year
    assert_eq!(
        crt_for_fixed(fixed(0, 2026, 1, 1, 2, 0, 0)),
        fixed(0, 2025, 12, 31, 4, 0, 0).timestamp()
    );
}

#[test]
fn crt_uses_local_offset() {
    for offset in [
        -12 * 3600,
        -5 * 3600,
        0,
        5 * 3600 + 1800,
        10 * 3600,
        14 * 3600,
    ] {
        let four = fixed(offset, 2026, 7, 15, 4, 0, 0);
        // the UTC timestamp of local 4 a.m.
        assert_eq!(
            four.timestamp(),
            four.naive_local().and_utc().timestamp() - offset as i64
        );
        assert_eq!(crt_for_fixed(four), four.timestamp(), "offset {offset}");
        assert_eq!(
            crt_for_fixed(fixed(offset, 2026, 7, 15, 3, 59, 59)),
            four.timestamp() - 86_400,
            "offset {offset}"
        );
        assert_eq!(
            crt_for_fixed(fixed(offset, 2026, 7, 16, 3, 0, 0)),
            four.timestamp(),
            "offset {offset}"
        );
    }
    // the same instant gives different crt in different zones:
    // 2026-07-15 02:00 UTC is 12:00 in UTC+10 but still "yesterday" in UTC.
    let utc = fixed(0, 2026, 7, 15, 2, 0, 0);
    let east = utc.with_timezone(&FixedOffset::east_opt(10 * 3600).unwrap());
    assert_eq!(
        crt_for_fixed(utc),
        fixed(0, 2026, 7, 14, 4, 0, 0).timestamp()
    );
    assert_eq!(
        crt_for_fixed(east),
        fixed(10 * 3600, 2026, 7, 15, 4, 0, 0).timestamp()
    );
}

#[test]
fn crt_for_local_is_at_or_before_now() {
    let now = Local.timestamp_millis_opt(OFFICIAL_SCM).unwrap();
    let crt = crt_for(now);
    assert_eq!(crt, crt_for_fixed(now.fixed_offset()));
    assert!(crt <= now.timestamp() && now.timestamp() - crt < 86_400);
    let now = Local::now();
    let crt = crt_for(now);
    assert!(crt <= now.timestamp() && now.timestamp() - crt < 86_400);
}

#[test]
fn refuses_existing_file() {
    let dir = TempDir::new();
    let path = dir.0.join("collection.anki2");
    std::fs::write(&path, b"keep me").unwrap();
    match create_collection(&path, OFFICIAL_SCM) {
        Err(CollectionError::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists)
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
}

#[test]
fn new_collection_file_properties() {
    let (dir, conn) = open_created(OFFICIAL_SCM);
    let check: String = conn
        .query_row("pragma integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let page_size: i64 = conn
        .query_row("pragma page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page_size, 4096);
    let mode: String = conn
        .query_row("pragma journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let free: i64 = conn
        .query_row("pragma freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0);
    let col: (i64, i64, i64, i64, i64, i64, i64, i64) = conn
        .query_row(
            "select id, crt, mod, scm, ver, dty, usn, ls from col",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .unwrap();
    let crt = crt_for(Local.timestamp_millis_opt(OFFICIAL_SCM).unwrap());
    assert_eq!(col, (1, crt, 0, OFFICIAL_SCM, 18, 0, 0, 0));
    let texts: (String, String, String, String, String) = conn
        .query_row(
            "select conf, models, decks, dconf, tags from col",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(texts, Default::default());
    for table in ["notes", "cards", "revlog", "graves", "tags"] {
        let n: i64 = conn
            .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    let meta = super::super::read_meta(&conn).unwrap();
    assert!(meta.empty);
    drop(conn);
    // Closing the only connection checkpointed the WAL away.
    assert!(!sidecar(&dir.0.join("collection.anki2"), "-wal").exists());
}

#[test]
fn schema_and_statistics_match_official() {
    let (_dir, conn) = open_created(OFFICIAL_SCM);
    let mut stmt = conn
        .prepare("select type, name, tbl_name, sql from sqlite_master")
        .unwrap();
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|(t, n, _, _)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(names, OFFICIAL_MASTER);
    let mut sha = Sha1::new();
    for (t, n, tbl, sql) in &rows {
        sha.update(format!("{t}\x1f{n}\x1f{tbl}\x1f{sql}\n").as_bytes());
    }
    assert_eq!(hex::encode(sha.finalize()), OFFICIAL_MASTER_SHA1);

    let mut stmt = conn
        .prepare("select tbl, idx, stat from sqlite_stat1")
        .unwrap();
    let stat1: Vec<(String, Option<String>, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let mut stat1: Vec<(&str, Option<&str>, &str)> = stat1
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_deref(), c.as_str()))
        .collect();
    // Row order follows SQLite's internal table hash order, which is
    // history dependent (and meaningless); compare as sets.
    stat1.sort();
    let mut expected = OFFICIAL_STAT1.to_vec();
    expected.sort();
    assert_eq!(stat1, expected);
    let mut stmt = conn
        .prepare("select tbl, idx, neq, nlt, ndlt, hex(sample) from sqlite_stat4")
        .unwrap();
    let stat4: Vec<[String; 6]> = stmt
        .query_map([], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        })
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let expected: Vec<[String; 6]> = OFFICIAL_STAT4
        .iter()
        .map(|&(a, b, c, d, e, f)| [a, b, c, d, e, f].map(String::from))
        .collect();
    assert_eq!(stat4, expected);
}

#[test]
fn config_rows_match_official() {
    let now_ms = OFFICIAL_SCM;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare("select KEY, usn, mtime_secs, val from config order by KEY")
        .unwrap();
    let rows: Vec<(String, i32, i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let mut expected: Vec<(String, i32, i64, Vec<u8>)> = OFFICIAL_CONFIG
        .iter()
        .map(|&(k, u, m, v)| (k.to_string(), u, m, v.as_bytes().to_vec()))
        .collect();
    // In the official file: ('curModel', -1, <now secs>, b'<Basic id>').
    expected.push((
        "curModel".into(),
        -1,
        now_ms / 1000,
        (now_ms + 2).to_string().into_bytes(),
    ));
    expected.sort();
    assert_eq!(rows, expected);
    // every value is valid JSON
    for (k, _, _, v) in &rows {
        serde_json::from_slice::<serde_json::Value>(v).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    let basic: String = conn
        .query_row(
            "select name from notetypes where id = ?1",
            [now_ms + 2],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(basic, "Basic");
}

#[test]
fn deck_and_deck_config_match_official() {
    let (_dir, conn) = open_created(OFFICIAL_SCM);
    let deck: (i64, String, i64, i32, Vec<u8>, Vec<u8>) = conn
        .query_row("select * from decks", [], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap();
    assert_eq!(
        (deck.0, deck.1.as_str(), deck.2, deck.3),
        (1, "Default", 0, 0)
    );
    assert_eq!(blob_hex(deck.4.clone()), OFFICIAL_DECK_COMMON);
    assert_eq!(blob_hex(deck.5.clone()), OFFICIAL_DECK_KIND);
    assert_eq!(
        DeckCommon::decode(&deck.4[..]).unwrap(),
        default_deck_common()
    );
    assert_eq!(
        DeckKindContainer::decode(&deck.5[..]).unwrap(),
        default_deck_kind()
    );

    let dconf: (i64, String, i64, i32, Vec<u8>) = conn
        .query_row("select * from deck_config", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    assert_eq!(
        (dconf.0, dconf.1.as_str(), dconf.2, dconf.3),
        (1, "Default", 0, 0)
    );
    assert_eq!(blob_hex(dconf.4.clone()), OFFICIAL_DECK_CONFIG);
    let decoded = DeckConfigConfig::decode(&dconf.4[..]).unwrap();
    assert_eq!(decoded, default_deck_config());
    assert!(decoded.wait_for_audio);
    // the official blob round-trips through our struct unchanged
    let official =
        DeckConfigConfig::decode(&hex::decode(OFFICIAL_DECK_CONFIG).unwrap()[..]).unwrap();
    assert_eq!(blob_hex(official.encode_to_vec()), OFFICIAL_DECK_CONFIG);
}

#[test]
fn notetypes_match_official() {
    let now_ms = OFFICIAL_SCM + 1_000_003;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare("select id, name, mtime_secs, usn, config from notetypes order by id")
        .unwrap();
    let rows: Vec<(i64, String, i64, i32, Vec<u8>)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), OFFICIAL_NOTETYPES.len());
    for (row, &(offset, name, hex_str)) in rows.iter().zip(OFFICIAL_NOTETYPES) {
        assert_eq!(row.0, now_ms + offset);
        assert_eq!(row.1, name);
        assert_eq!((row.2, row.3), (0, 0), "{name}");
        assert_eq!(blob_hex(row.4.clone()), hex_str, "{name}");
        let official = NotetypeConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
        assert_eq!(blob_hex(official.encode_to_vec()), hex_str, "{name}");
    }
}

#[test]
fn fields_match_official_apart_from_random_ids() {
    let now_ms = OFFICIAL_SCM;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare("select ntid, ord, name, config from fields order by ntid, ord")
        .unwrap();
    let rows: Vec<(i64, u32, String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), OFFICIAL_FIELDS.len());
    let mut ids = std::collections::HashSet::new();
    for (row, &(offset, ord, name, hex_str)) in rows.iter().zip(OFFICIAL_FIELDS) {
        assert_eq!((row.0, row.1, row.2.as_str()), (now_ms + offset, ord, name));
        // the official blob round-trips through our struct unchanged
        let official = FieldConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
        assert_eq!(blob_hex(official.encode_to_vec()), hex_str);
        // ours equals it once the random ids are cleared, also byte for byte
        let mut ours = FieldConfig::decode(&row.3[..]).unwrap();
        assert!(ids.insert(ours.id.expect("field id set")));
        ours.id = None;
        let theirs = field_without_id(hex_str);
        assert_eq!(ours, theirs, "{name}");
        assert_eq!(ours.encode_to_vec(), theirs.encode_to_vec());
    }
}

#[test]
fn templates_match_official_apart_from_random_ids() {
    let now_ms = OFFICIAL_SCM;
    let (_dir, conn) = open_created(now_ms);
    let mut stmt = conn
        .prepare(
            "select ntid, ord, name, mtime_secs, usn, config from templates order by ntid, ord",
        )
        .unwrap();
    let rows: Vec<(i64, u32, String, i64, i32, Vec<u8>)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), OFFICIAL_TEMPLATES.len());
    let mut ids = std::collections::HashSet::new();
    for (row, &(offset, ord, name, hex_str)) in rows.iter().zip(OFFICIAL_TEMPLATES) {
        assert_eq!((row.0, row.1, row.2.as_str()), (now_ms + offset, ord, name));
        assert_eq!((row.3, row.4), (0, 0));
        let official = TemplateConfig::decode(&hex::decode(hex_str).unwrap()[..]).unwrap();
        assert_eq!(blob_hex(official.encode_to_vec()), hex_str);
        let mut ours = TemplateConfig::decode(&row.5[..]).unwrap();
        assert!(ids.insert(ours.id.expect("template id set")));
        ours.id = None;
        let theirs = template_without_id(hex_str);
        assert_eq!(ours, theirs, "{name}");
        assert_eq!(ours.encode_to_vec(), theirs.encode_to_vec());
    }
}

#[test]
fn random_ids_differ_between_collections() {
    let (_d1, a) = open_created(OFFICIAL_SCM);
    let (_d2, b) = open_created(OFFICIAL_SCM);
    let ids = |c: &Connection| -> Vec<Vec<u8>> {
        let mut s = c
            .prepare("select config from fields order by ntid, ord")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap()
    };
    assert_ne!(ids(&a), ids(&b));
}
