//! Unit tests of the backup module: names on disk, retention, leftovers,
//! the daily rule with an injected clock, snapshots and restores on a real
//! store.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset, Local, TimeZone, Timelike, Utc};
use rusqlite::Connection;

use super::daily::{check, day_start, due};
use super::*;
use crate::store::{Store, UserSlot};

fn temp_base() -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let dir = std::env::temp_dir().join(format!("kioku-backup-{}", hex::encode(bytes)));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn touch_snapshot(dir: &Path, kind: Kind, taken_ms: i64) -> String {
    let name = SnapshotName { kind, taken_ms }.file_name();
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(&name), b"x").unwrap();
    name
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn retention_keeps_the_newest_n_of_each_kind_and_nothing_else_is_touched() {
    let base = temp_base();
    let dir = base.join("u").join(BACKUP_DIR);
    let t = 1_748_751_000_000;
    let uploads: Vec<_> = (0..5)
        .map(|i| touch_snapshot(&dir, Kind::Upload, t + i * 1000))
        .collect();
    let dailies: Vec<_> = (0..3)
        .map(|i| touch_snapshot(&dir, Kind::Daily, t + i * 86_400_000))
        .collect();
    fs::write(dir.join("notes.txt"), b"mine").unwrap();
    fs::write(dir.join(".kioku-raw-00ff.tmp"), b"leftover").unwrap();

    let removed = prune(&dir, Kind::Upload, 2).unwrap();
    assert_eq!(
        removed,
        vec![uploads[2].clone(), uploads[1].clone(), uploads[0].clone()]
    );
    let left = names(&dir);
    assert!(
        left.contains(&uploads[3]) && left.contains(&uploads[4]),
        "{left:?}"
    );
    assert!(dailies.iter().all(|d| left.contains(d)), "{left:?}");
    assert!(left.contains(&"notes.txt".to_owned()));
    assert!(left.contains(&".kioku-raw-00ff.tmp".to_owned()));

    assert_eq!(prune(&dir, Kind::Daily, 0).unwrap().len(), 3);
    let listed = list(&base, "u").unwrap();
    assert_eq!(
        listed.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        vec![uploads[4].clone(), uploads[3].clone()],
        "newest first"
    );
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_crash_leftover_is_never_listed_and_is_removed_at_start() {
    let base = temp_base();
    let dir = base.join("u").join(BACKUP_DIR);
    let kept = touch_snapshot(&dir, Kind::Daily, 1_748_751_000_000);
    // What an interrupted snapshot leaves: the raw copy and a part-written file.
    fs::write(dir.join(".kioku-raw-0123456789abcdef.tmp"), b"SQLite").unwrap();
    fs::write(
        dir.join(".kioku-snapshot-0123456789abcdef.tmp"),
        b"\x28\xb5",
    )
    .unwrap();
    assert_eq!(list(&base, "u").unwrap().len(), 1);
    assert_eq!(clean_leftovers(&base).unwrap(), 2);
    assert_eq!(names(&dir), vec![kept]);
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn names_from_users_cannot_leave_the_backups_folder() {
    let base = temp_base();
    fs::create_dir_all(base.join("u").join(BACKUP_DIR)).unwrap();
    fs::write(base.join("u").join("collection.anki2"), b"secret").unwrap();
    for name in [
        "../collection.anki2",
        "../../u/collection.anki2",
        "/etc/passwd",
        "",
    ] {
        assert!(
            matches!(open(&base, "u", name), Err(BackupError::BadName(_))),
            "{name}"
        );
    }
    for user in ["..", "../u", "u/backups", ""] {
        let err = open(&base, user, "daily-2025-06-01T04-10-00.123Z.anki2.zst").err();
        assert!(
            matches!(err, Some(BackupError::BadUser(_))),
            "{user}: {err:?}"
        );
    }
    let missing = open(&base, "u", "daily-2025-06-01T04-10-00.123Z.anki2.zst").err();
    assert!(
        matches!(missing, Some(BackupError::NotFound { .. })),
        "{missing:?}"
    );
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_backup_day_starts_at_the_configured_local_hour() {
    let tz = FixedOffset::east_opt(2 * 3600).unwrap();
    let at = |d: u32, h: u32, m: u32| tz.with_ymd_and_hms(2025, 6, d, h, m, 0).unwrap();
    let utc = |t: DateTime<FixedOffset>| t.with_timezone(&Utc);
    assert_eq!(
        day_start(&at(1, 3, 59), 4),
        utc(at(1, 4, 0)) - Duration::days(1)
    );
    assert_eq!(day_start(&at(1, 4, 0), 4), utc(at(1, 4, 0)));
    assert_eq!(day_start(&at(1, 23, 0), 0), utc(at(1, 0, 0)));
    // Taken yesterday after the day began: due again only from 04:00 today.
    let newest = Some(utc(at(1, 5, 0)));
    assert!(!due(&at(2, 3, 59), 4, newest));
    assert!(due(&at(2, 4, 0), 4, newest));
    assert!(!due(&at(1, 23, 0), 4, newest));
    assert!(due(&at(1, 23, 0), 4, None), "a user without one is due");
}

/// A store in a temp folder with user `u` holding a collection whose `mod` is `at_ms`.
async fn store_with_user() -> (Store, PathBuf) {
    let base = temp_base();
    let store = Store::open(&base, "test").unwrap();
    store
        .user("u")
        .run(|state| state.collection(crate::clock::now_ms()).map(|_| ()))
        .await
        .unwrap();
    (store, base)
}

/// Adds a note `text` to `u`'s collection and sets its `mod` to `at_ms`.
async fn add_note(slot: &UserSlot, text: &str, at_ms: i64) {
    let text = text.to_owned();
    slot.run(move |state| {
        let conn = state.collection(at_ms)?;
        let mid: i64 = conn.query_row("select id from notetypes limit 1", [], |r| r.get(0))?;
        conn.execute(
            "insert into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data) \
             values ((select coalesce(max(id), 0) + 1 from notes), ?1, ?2, 0, 0, '', ?1, ?1, 0, 0, '')",
            rusqlite::params![text, mid],
        )?;
        conn.execute("update col set mod = ?1", [at_ms])?;
        Ok(())
    })
    .await
    .unwrap();
}

/// The notes' fields and `(mod, scm)` of a collection file.
fn contents(path: &Path) -> (Vec<String>, (i64, i64)) {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("select flds from notes order by id").unwrap();
    let notes = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let stamps = conn
        .query_row("select mod, scm from col", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    (notes, stamps)
}

/// Decompresses snapshot `name` of `u` and checks it is a valid collection.
fn unpack(base: &Path, name: &str) -> PathBuf {
    let out = base.join(format!("{name}.unpacked"));
    let snapshot = open(base, "u", name).unwrap();
    let mut file = fs::File::create(&out).unwrap();
    zstd::stream::copy_decode(snapshot.file, &mut file).unwrap();
    crate::collection::verify_collection_file(&out).expect("a snapshot is a valid collection");
    out
}

fn settings_with_hour_far_from(now: DateTime<Local>) -> BackupSettings {
    BackupSettings {
        daily_hour: (now.hour() + 12) % 24,
        ..BackupSettings::default()
    }
}

#[tokio::test]
async fn the_daily_snapshot_is_taken_once_per_backup_day_and_only_after_changes() {
    let (store, base) = store_with_user().await;
    let slot = store.user("u");
    let now = Local::now();
    let settings = settings_with_hour_far_from(now);
    let ms = |t: DateTime<Local>| t.timestamp_millis();
    let dailies = || {
        list(&base, "u")
            .unwrap()
            .into_iter()
            .filter(|s| s.kind == Kind::Daily)
            .count()
    };

    assert_eq!(
        check(&store, &settings, &now).await,
        0,
        "an empty collection is not kept"
    );
    add_note(&slot, "first", ms(now)).await;
    assert_eq!(check(&store, &settings, &now).await, 1);
    add_note(&slot, "second", ms(now) + 1000).await;
    let later = now + Duration::hours(1);
    assert_eq!(
        check(&store, &settings, &later).await,
        0,
        "one per backup day"
    );
    let next_day = now + Duration::days(1);
    assert_eq!(
        check(&store, &settings, &next_day).await,
        1,
        "a new day, and changes"
    );
    assert_eq!(dailies(), 2);
    let day_after = now + Duration::days(2);
    assert_eq!(
        check(&store, &settings, &day_after).await,
        0,
        "no change since the last one"
    );

    let newest = &list(&base, "u").unwrap()[0];
    assert_eq!(newest.taken.timestamp_millis(), ms(next_day));
    let unpacked = unpack(&base, &newest.name);
    assert_eq!(contents(&unpacked).0, vec!["first", "second"]);
    drop(store);
    fs::remove_dir_all(&base).unwrap();
}

#[tokio::test]
async fn daily_retention_and_the_off_switch_apply_at_each_check() {
    let (store, base) = store_with_user().await;
    let slot = store.user("u");
    let now = Local::now();
    let settings = BackupSettings {
        keep_daily: 2,
        ..settings_with_hour_far_from(now)
    };
    for day in 0..4 {
        let t = now + Duration::days(day);
        add_note(&slot, &format!("day {day}"), t.timestamp_millis()).await;
        assert_eq!(check(&store, &settings, &t).await, 1);
    }
    let kept: Vec<_> = list(&base, "u").unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept[0].taken.timestamp_millis(),
        (now + Duration::days(3)).timestamp_millis()
    );
    let off = BackupSettings {
        enabled: false,
        ..settings
    };
    let t = now + Duration::days(5);
    add_note(&slot, "off", t.timestamp_millis()).await;
    assert_eq!(check(&store, &off, &t).await, 0);
    drop(store);
    fs::remove_dir_all(&base).unwrap();
}

#[tokio::test]
async fn a_restore_brings_back_the_snapshot_forces_a_full_sync_and_can_be_undone() {
    let (store, base) = store_with_user().await;
    let slot = store.user("u");
    let now = Local::now();
    let settings = settings_with_hour_far_from(now);
    add_note(&slot, "x", now.timestamp_millis() - 5000).await;
    assert_eq!(check(&store, &settings, &now).await, 1);
    let x = list(&base, "u").unwrap()[0].name.clone();
    add_note(&slot, "y", now.timestamp_millis() - 4000).await;
    let collection = base.join("u").join(crate::store::COLLECTION_FILE);
    let (_, (_, scm_before)) = {
        slot.run(|state| state.close()).await.unwrap();
        contents(&collection)
    };

    let restored = restore(&store, &settings, "u", &x).await.unwrap();
    slot.run(|state| state.close()).await.unwrap();
    let (notes, (modified, scm)) = contents(&collection);
    assert_eq!(notes, vec!["x"]);
    assert!(
        scm > scm_before,
        "scm must move on, so every device full-syncs"
    );
    assert_eq!(
        modified, scm,
        "mod moves on too, or meta would report no changes"
    );
    let undo = restored.undo.expect("the replaced collection is kept");
    assert_eq!(undo.kind, Kind::Restore);
    assert_eq!(contents(&unpack(&base, &undo.name)).0, vec!["x", "y"]);

    restore(&store, &settings, "u", &undo.name).await.unwrap();
    slot.run(|state| state.close()).await.unwrap();
    assert_eq!(contents(&collection).0, vec!["x", "y"], "undone");
    assert!(matches!(
        restore(&store, &settings, "u", "../collection.anki2").await,
        Err(BackupError::BadName(_))
    ));
    drop(store);
    fs::remove_dir_all(&base).unwrap();
}

#[tokio::test]
async fn an_unusable_snapshot_is_refused_and_the_collection_stays() {
    let (store, base) = store_with_user().await;
    let slot = store.user("u");
    add_note(&slot, "keep me", crate::clock::now_ms()).await;
    let dir = base.join("u").join(BACKUP_DIR);
    let name = SnapshotName {
        kind: Kind::Daily,
        taken_ms: 1_748_751_000_000,
    }
    .file_name();
    fs::create_dir_all(&dir).unwrap();
    let garbage = zstd::bulk::compress(b"not a collection", 3).unwrap();
    fs::write(dir.join(&name), garbage).unwrap();
    let err = restore(&store, &BackupSettings::default(), "u", &name)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Unusable { .. }), "{err}");
    slot.run(|state| state.close()).await.unwrap();
    let collection = base.join("u").join(crate::store::COLLECTION_FILE);
    assert_eq!(contents(&collection).0, vec!["keep me"]);
    let leftovers: Vec<_> = names(&base.join("u"))
        .into_iter()
        .filter(|n| n.starts_with(".kioku-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(store);
    fs::remove_dir_all(&base).unwrap();
}

#[tokio::test]
async fn the_collection_an_upload_replaces_is_kept_unless_it_is_empty() {
    let (store, base) = store_with_user().await;
    let slot = store.user("u");
    let settings = BackupSettings::default();
    async fn keep(slot: &UserSlot, settings: BackupSettings) -> Option<Pending> {
        slot.run(move |state| Ok(take::keep_before_upload(state, &settings)))
            .await
            .unwrap()
    }
    assert!(
        keep(&slot, settings).await.is_none(),
        "a new, empty collection is not kept"
    );
    add_note(&slot, "old", crate::clock::now_ms()).await;
    let pending = keep(&slot, settings).await.expect("kept");
    let info = take::seal_after_upload(pending, &settings).await.unwrap();
    assert_eq!(info.kind, Kind::Upload);
    assert_eq!(contents(&unpack(&base, &info.name)).0, vec!["old"]);
    let off = BackupSettings {
        keep_upload: 0,
        ..settings
    };
    assert!(
        keep(&slot, off).await.is_none(),
        "0 upload snapshots: none taken"
    );
    drop(store);
    fs::remove_dir_all(&base).unwrap();
}
