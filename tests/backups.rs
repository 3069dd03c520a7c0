//! Backups end to end, over raw HTTP against a real `kioku serve`: the
//! snapshot a full upload takes of the collection it replaces, retention,
//! the daily snapshot (once per backup day), restores — through the control
//! socket and `kioku backup restore` while the server runs, offline when it
//! does not (refused while another process holds the data folder's lock),
//! and on the admin page (list, download, restore with its confirmation
//! and CSRF token); afterwards clients must full-sync. The real client's
//! side of a restore is in tests/interop/test_40_backups.py.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::json;

use common::admin::{add_admin, admin_login, get, hidden, post, text};
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

/// A server whose user has one `upload` snapshot, of a collection with the
/// note "x" (the current one holds "y"); the snapshot's name.
fn server_with_a_snapshot(env: &[(&str, &str)]) -> (Server, String) {
    let mut env = env.to_vec();
    env.push(("KIOKU_BACKUP_KEEP_DAILY", "0"));
    let server = Server::start(&env);
    upload(&server, &collection_with(&server, &["x"]));
    upload(&server, &collection_with(&server, &["y"]));
    let x = snapshots(&server.base, "upload")
        .pop()
        .expect("a snapshot of x");
    assert_eq!(notes_in(&server.base, &x), vec!["x"]);
    (server, x)
}

fn meta(server: &Server) -> serde_json::Value {
    server
        .sync("meta", HKEY, r#"{"v":11,"cv":"t"}"#)
        .sync_json()
}

/// The notes a client downloading the collection now gets.
fn downloaded_notes(server: &Server) -> Vec<String> {
    let downloaded = server.sync("download", HKEY, "{}").sync_body();
    let dir = temp_dir("dl");
    std::fs::write(dir.join("c.anki2"), downloaded).unwrap();
    let notes = collection_notes(&dir.join("c.anki2"));
    std::fs::remove_dir_all(&dir).unwrap();
    notes
}

/// A restore replaced the collection: every device is told to full-sync
/// (new `scm` and `mod`), downloads get the snapshot's notes, and the
/// replaced collection was kept as the one `restore` snapshot.
fn assert_restored(server: &Server, before: &serde_json::Value, notes: &[&str]) {
    let after = meta(server);
    assert_ne!(after["scm"], before["scm"], "every device must full-sync");
    assert_ne!(after["mod"], before["mod"]);
    assert_eq!(downloaded_notes(server), notes);
    let undo = snapshots(&server.base, "restore");
    assert_eq!(undo.len(), 1, "{undo:?}");
}

#[test]
fn the_control_socket_restores_while_the_server_runs() {
    let (server, x) = server_with_a_snapshot(&[]);
    let before = meta(&server);
    let ask = |body: serde_json::Value| {
        kioku::control::client::request(&server.base, "POST", "/backups/restore", Some(&body))
            .unwrap()
            .expect("the server answers on its socket")
    };
    let (status, answer) = ask(json!({"user": "user", "snapshot": "../collection.anki2"}));
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("not a snapshot name"));
    let missing = x.replace("upload-", "daily-");
    let (status, answer) = ask(json!({"user": "user", "snapshot": missing}));
    assert_eq!(status, 404, "{answer}");
    assert_eq!(ask(json!({"user": "user"})).0, 400);
    assert_eq!(meta(&server), before, "nothing changed so far");

    let (status, answer) = ask(json!({"user": "user", "snapshot": x}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["from"], x.as_str());
    let undo = answer["undo"]
        .as_str()
        .expect("the replaced collection was kept");
    assert!(undo.starts_with("restore-"), "{undo}");
    assert_eq!(notes_in(&server.base, undo), vec!["y"]);
    assert_restored(&server, &before, &["x"]);
}

#[test]
fn the_cli_restores_through_the_running_server_and_offline_when_none_runs() {
    let (mut server, x) = server_with_a_snapshot(&[]);
    let before = meta(&server);
    let bad = backup_cli(&server.base, &["restore", "user", "../collection.anki2"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("running server") && err.contains("not a snapshot name"),
        "{err}"
    );
    let done = backup_cli(&server.base, &["restore", "user", &x]);
    assert!(done.status.success(), "{done:?}");
    let said = String::from_utf8(done.stdout).unwrap();
    assert!(said.contains("done by the kioku serve running"), "{said}");
    assert!(
        server.log().contains("restored a snapshot"),
        "the server did it:\n{}",
        server.log()
    );
    assert_restored(&server, &before, &["x"]);
    let undo = snapshots(&server.base, "restore").pop().unwrap();
    assert!(said.contains(&undo), "{said}");

    // Without a server: offline, under the data folder's lock — refused
    // while another process holds it (a server without a control socket).
    assert!(server.terminate().success());
    let held = kioku::store::BaseLock::shared(&server.base).unwrap();
    let refused = backup_cli(&server.base, &["restore", "user", &undo]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("another kioku process holds"), "{err}");
    drop(held);
    let done = backup_cli(&server.base, &["restore", "user", &undo]);
    assert!(done.status.success(), "{done:?}");
    let said = String::from_utf8(done.stdout).unwrap();
    assert!(!said.contains("done by the kioku serve"), "{said}");
    server.restart();
    assert_eq!(downloaded_notes(&server), vec!["y"], "undone");
}

#[test]
fn the_admin_page_lists_downloads_and_restores_snapshots() {
    let (server, x) = server_with_a_snapshot(&[("KIOKU_NO_TLS", "1")]);
    add_admin(&server.base, "boss", "boss password");
    let page = "/admin/user/user";
    let download = format!("{page}/backups/{x}");
    // Without a session: the login page, no bytes, no restore.
    assert_eq!(get(&server, page, &[]).status, 303);
    let resp = get(&server, &download, &[]);
    assert_eq!(
        (resp.status, resp.header("location")),
        (303, Some("/admin"))
    );
    let restore = [("snapshot", x.as_str()), ("confirm", "yes")];
    assert_eq!(
        post(&server, &format!("{page}/restore"), &[], &restore).status,
        403
    );

    let (session, _) = admin_login(&server, "boss", "boss password");
    let html = text(&get(&server, page, &[&session]));
    assert!(html.contains("<h2 id=\"backups\">Backups</h2>"), "{html}");
    assert!(html.contains(&format!("href=\"{download}\"")), "{html}");
    assert!(html.contains(">upload</td>"), "{html}");
    let csrf = hidden(&html, "csrf");

    // The download is the stored file, byte for byte.
    let resp = get(&server, &download, &[&session]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/zstd"));
    let disposition = resp.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"kioku-user-{x}\"")),
        "{disposition}"
    );
    let stored = std::fs::read(backups_dir(&server.base).join(&x)).unwrap();
    assert_eq!(resp.body, stored);
    assert_eq!(
        resp.header("content-length"),
        Some(stored.len().to_string().as_str())
    );
    let missing = x.replace("upload-", "daily-");
    assert_eq!(
        get(&server, &format!("{page}/backups/{missing}"), &[&session]).status,
        404
    );
    let escape = format!("{page}/backups/..%2Fcollection.anki2");
    assert_eq!(get(&server, &escape, &[&session]).status, 400);

    // A restore needs the session's CSRF token and a confirmation.
    let before = meta(&server);
    let resp = post(&server, &format!("{page}/restore"), &[&session], &restore);
    assert_eq!(resp.status, 403, "no token");
    let wrong = [
        ("csrf", "0".repeat(64)),
        ("snapshot", x.clone()),
        ("confirm", "yes".into()),
    ];
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        post(&server, &format!("{page}/restore"), &[&session], &wrong).status,
        403
    );
    let ask = [("csrf", csrf.as_str()), ("snapshot", x.as_str())];
    let resp = post(&server, &format!("{page}/restore"), &[&session], &ask);
    assert_eq!(resp.status, 200);
    let confirm = text(&resp);
    assert!(confirm.contains("Restore this snapshot"), "{confirm}");
    assert_eq!(hidden(&confirm, "confirm"), "yes");
    assert_eq!(meta(&server), before, "asking changes nothing");
    let unknown = [
        ("csrf", csrf.as_str()),
        ("snapshot", missing.as_str()),
        ("confirm", "yes"),
    ];
    let resp = post(&server, &format!("{page}/restore"), &[&session], &unknown);
    assert_eq!(resp.status, 404, "{}", text(&resp));

    let go = [
        ("csrf", csrf.as_str()),
        ("snapshot", x.as_str()),
        ("confirm", "yes"),
    ];
    let resp = post(&server, &format!("{page}/restore"), &[&session], &go);
    assert_eq!(resp.status, 303, "{}", text(&resp));
    let location = resp.header("location").unwrap().to_owned();
    assert!(
        location.starts_with("/admin/user/user?done=restored"),
        "{location}"
    );
    assert_restored(&server, &before, &["x"]);
    let undo = snapshots(&server.base, "restore").pop().unwrap();
    let html = text(&get(&server, &location, &[&session]));
    assert!(html.contains("will be asked to do a full sync"), "{html}");
    assert!(
        html.contains(&format!("kept as the restore snapshot {undo}")),
        "{html}"
    );
    assert!(html.contains(">restore</td>"), "listed: {html}");
}
