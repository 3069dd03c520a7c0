//! Backups end to end, over raw HTTP against a real `kioku serve`: the
//! snapshot a full upload takes of the collection it replaces, retention,
//! the daily snapshot (once per backup day), and `kioku backup restore`
//! (refused while the server runs; afterwards clients must full-sync).
//! The real client's side of a restore is in tests/interop/test_40_backups.py.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{kioku, temp_dir, Server, HKEY};

/// A collection file: the server's current collection with exactly one note
/// per entry of `notes`, and `mod` = now.
fn collection_with(server: &Server, notes: &[&str]) -> Vec<u8> {
    let fresh = server.sync("download", HKEY, "{}").sync_body();
    let dir = temp_dir("col");
    let path = dir.join("c.anki2");
    std::fs::write(&path, fresh).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mid: i64 = conn
            .query_row("select id from notetypes limit 1", [], |r| r.get(0))
            .unwrap();
        conn.execute("delete from notes", []).unwrap();
        for (i, text) in notes.iter().enumerate() {
            conn.execute(
                "insert into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data) \
                 values (?1, ?2, ?3, 0, 0, '', ?2, ?2, 0, 0, '')",
                rusqlite::params![i as i64 + 1, text, mid],
            )
            .unwrap();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        conn.execute("update col set mod = ?1", [now]).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

fn upload(server: &Server, collection: &[u8]) {
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let body = zstd::bulk::compress(collection, 1).unwrap();
    let resp = server.request("POST", "/sync/upload", &[("anki-sync", &header)], &body);
    assert_eq!(resp.sync_body(), b"OK");
}

fn backups_dir(base: &Path) -> PathBuf {
    base.join("user").join("backups")
}

/// The snapshot file names of kind `kind`, oldest first.
fn snapshots(base: &Path, kind: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(backups_dir(base))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{kind}-")))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The note fields stored in snapshot `name`.
fn notes_in(base: &Path, name: &str) -> Vec<String> {
    let compressed = std::fs::read(backups_dir(base).join(name)).unwrap();
    let dir = temp_dir("unpack");
    let path = dir.join("c.anki2");
    std::fs::write(&path, zstd::stream::decode_all(&compressed[..]).unwrap()).unwrap();
    let notes = collection_notes(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    notes
}

fn collection_notes(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    kioku::collection::register_unicase(&conn).unwrap();
    let ok: String = conn
        .query_row("pragma quick_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let mut stmt = conn.prepare("select flds from notes order by id").unwrap();
    let notes = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    notes
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn backup_cli(base: &Path, args: &[&str]) -> Output {
    kioku()
        .arg("backup")
        .args(args)
        .env_clear()
        .env("SYNC_BASE", base)
        .env("KIOKU_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn a_full_upload_keeps_the_collection_it_replaces() {
    let server = Server::start(&[("KIOKU_BACKUP_KEEP_DAILY", "0")]);
    upload(&server, &collection_with(&server, &["x"]));
    assert!(
        snapshots(&server.base, "upload").is_empty(),
        "the new account's empty collection is not worth a snapshot"
    );
    upload(&server, &collection_with(&server, &["y1", "y2"]));
    let kept = snapshots(&server.base, "upload");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(notes_in(&server.base, &kept[0]), vec!["x"]);

    let out = backup_cli(&server.base, &["list", "user"]);
    assert!(out.status.success(), "{out:?}");
    let listing = String::from_utf8(out.stdout).unwrap();
    let line = listing
        .lines()
        .find(|l| l.contains(&kept[0]))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        line.starts_with("user ") && line.contains(" upload "),
        "{line}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(backups_dir(&server.base))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn only_the_newest_upload_snapshots_are_kept() {
    let server = Server::start(&[
        ("KIOKU_BACKUP_KEEP_DAILY", "0"),
        ("KIOKU_BACKUP_KEEP_UPLOAD", "2"),
    ]);
    for version in ["v1", "v2", "v3", "v4"] {
        upload(&server, &collection_with(&server, &[version]));
    }
    let kept = snapshots(&server.base, "upload");
    let contents: Vec<_> = kept.iter().map(|n| notes_in(&server.base, n)).collect();
    assert_eq!(contents, vec![vec!["v2"], vec!["v3"]]);
}

/// A backup day boundary twelve hours away, so none passes during the test.
fn hour_far_from_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    ((secs / 3600 + 12) % 24).to_string()
}

/// Renames a daily snapshot as if it had been taken `days` earlier: the name
/// is the only record of when a snapshot was taken.
fn age(base: &Path, name: &str, days: i64) -> String {
    let time = name
        .strip_prefix("daily-")
        .and_then(|n| n.strip_suffix(".anki2.zst"))
        .unwrap();
    let taken = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H-%M-%S%.3fZ").unwrap();
    let older = taken - chrono::Duration::days(days);
    let renamed = format!("daily-{}.anki2.zst", older.format("%Y-%m-%dT%H-%M-%S%.3fZ"));
    let dir = backups_dir(base);
    std::fs::rename(dir.join(name), dir.join(&renamed)).unwrap();
    renamed
}

#[test]
fn the_daily_snapshot_is_taken_once_per_backup_day_and_old_ones_are_pruned() {
    let hour = hour_far_from_now();
    let server = Server::start(&[
        ("TZ", "UTC"),
        ("KIOKU_BACKUP_HOUR", &hour),
        ("KIOKU_BACKUP_CHECK_SECS", "1"),
        ("KIOKU_BACKUP_KEEP_DAILY", "2"),
        ("KIOKU_BACKUP_KEEP_UPLOAD", "0"),
    ]);
    upload(&server, &collection_with(&server, &["monday"]));
    let first = || snapshots(&server.base, "daily");
    wait_for("the first daily snapshot", Duration::from_secs(10), || {
        first().len() == 1
    });
    // More changes the same day, seen by three more checks: no second one.
    upload(&server, &collection_with(&server, &["monday", "later"]));
    std::thread::sleep(Duration::from_millis(3200));
    let dailies = snapshots(&server.base, "daily");
    assert_eq!(dailies.len(), 1, "{dailies:?}");
    assert_eq!(notes_in(&server.base, &dailies[0]), vec!["monday"]);
    assert!(snapshots(&server.base, "upload").is_empty(), "keep 0: none");

    // A day later (as far as the newest snapshot says), with changes since.
    let monday = age(&server.base, &dailies[0], 2);
    wait_for("the next day's snapshot", Duration::from_secs(10), || {
        snapshots(&server.base, "daily").len() == 2
    });
    let tuesday = snapshots(&server.base, "daily")[1].clone();
    assert_eq!(notes_in(&server.base, &tuesday), vec!["monday", "later"]);

    // And another day: three daily snapshots, of which two are kept.
    upload(&server, &collection_with(&server, &["wednesday"]));
    let tuesday = age(&server.base, &tuesday, 1);
    wait_for("the third snapshot", Duration::from_secs(10), || {
        !snapshots(&server.base, "daily").contains(&monday)
    });
    let kept = snapshots(&server.base, "daily");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0], tuesday);
    assert_eq!(notes_in(&server.base, &kept[1]), vec!["wednesday"]);
}

#[test]
fn a_restore_is_refused_while_the_server_runs_and_then_forces_a_full_sync() {
    let mut server = Server::start(&[("KIOKU_BACKUP_KEEP_DAILY", "0")]);
    upload(&server, &collection_with(&server, &["x"]));
    upload(&server, &collection_with(&server, &["y"]));
    let x = snapshots(&server.base, "upload")
        .pop()
        .expect("a snapshot of x");
    let meta = |s: &Server| s.sync("meta", HKEY, r#"{"v":11,"cv":"t"}"#).sync_json();
    let before = meta(&server);
    let collection = server.base.join("user").join("collection.anki2");
    let stored = std::fs::read(&collection).unwrap();

    let refused = backup_cli(&server.base, &["restore", "user", &x]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("kioku serve is running"), "{err}");
    assert_eq!(std::fs::read(&collection).unwrap(), stored);
    assert!(snapshots(&server.base, "restore").is_empty());

    assert!(server.terminate().success());
    let bad = backup_cli(&server.base, &["restore", "user", "../collection.anki2"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not a snapshot name"),
        "{bad:?}"
    );
    let done = backup_cli(&server.base, &["restore", "user", &x]);
    assert!(done.status.success(), "{done:?}");
    let undo = snapshots(&server.base, "restore");
    assert_eq!(undo.len(), 1);
    let said = String::from_utf8(done.stdout).unwrap();
    assert!(said.contains(&undo[0]), "{said}");
    assert_eq!(notes_in(&server.base, &undo[0]), vec!["y"]);
    assert_eq!(collection_notes(&collection), vec!["x"]);

    server.restart();
    let after = meta(&server);
    assert_ne!(after["scm"], before["scm"], "every device must full-sync");
    assert_ne!(after["mod"], before["mod"]);
    let downloaded = server.sync("download", HKEY, "{}").sync_body();
    let dir = temp_dir("dl");
    std::fs::write(dir.join("c.anki2"), downloaded).unwrap();
    assert_eq!(collection_notes(&dir.join("c.anki2")), vec!["x"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
