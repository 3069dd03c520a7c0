//! The AnkiConnect API's security and its life beside sync, over raw HTTP
//! against a real `kioku serve`: keys name users and are checked on every
//! request (revocation needs no restart), origins, keyless mode only from
//! its addresses, `url` downloads refused for loopback unless allowed,
//! `path` refused, writes waiting for a sync in progress, and the API under
//! `/ankiconnect` on the plain and the TLS listener.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::api::{call, err, make_key, ok, post};
use common::{kioku, Server, HKEY};

fn basic(front: &str) -> Value {
    json!({"note": {"deckName": "Default", "modelName": "Basic", "fields": {"Front": front, "Back": "b"}}})
}

#[test]
fn every_request_needs_a_key_and_a_key_opens_only_its_own_users_notes() {
    let server = Server::start(&[("SYNC_USER2", "other:pw")]);
    let mine = make_key(&server, "user");
    let theirs = make_key(&server, "other");
    let nid = ok(&server, &mine, "addNote", basic("private"));
    for body in [
        json!({"action": "deckNames", "version": 6}),
        json!({"action": "deckNames", "version": 6, "key": null}),
        json!({"action": "deckNames", "version": 6, "key": ""}),
        json!({"action": "deckNames", "version": 6, "key": 12}),
        json!({"action": "deckNames", "version": 6, "key": format!("{mine}x")}),
    ] {
        assert_eq!(
            call(&server, &body),
            json!({"result": null, "error": "valid api key must be provided"}),
            "{body}"
        );
    }
    // the other user's key sees and touches nothing of this user's
    assert_eq!(
        ok(&server, &theirs, "notesInfo", json!({"notes": [nid]})),
        json!([{}])
    );
    assert_eq!(
        ok(&server, &theirs, "findNotes", json!({"query": ""})),
        json!([])
    );
    ok(&server, &theirs, "deleteNotes", json!({"notes": [nid]}));
    let e = err(
        &server,
        &theirs,
        "updateNoteFields",
        json!({"note": {"id": nid, "fields": {"Back": "x"}}}),
    );
    assert_eq!(e, format!("Note was not found: {nid}"));
    assert_eq!(
        ok(&server, &mine, "findNotes", json!({"query": ""})),
        json!([nid])
    );
    // list and revoke with the CLI; the running server notices at once
    let list = kioku()
        .args(["apikey", "list", "--base"])
        .arg(&server.base)
        .env_clear()
        .output()
        .unwrap();
    let listing = String::from_utf8(list.stdout).unwrap();
    assert_eq!(listing.lines().count(), 2, "{listing}");
    assert!(
        !listing.contains(&mine),
        "the key itself is never shown again"
    );
    let id = listing
        .lines()
        .find(|l| l.contains(" other "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let out = kioku()
        .args(["apikey", "revoke", &id, "--base"])
        .arg(&server.base)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        err(&server, &theirs, "deckNames", json!({})),
        "valid api key must be provided"
    );
    assert!(ok(&server, &mine, "deckNames", json!({})).is_array());
    // a key for a user kioku does not have opens nothing
    let ghost = make_key(&server, "ghost");
    assert_eq!(
        err(&server, &ghost, "deckNames", json!({})),
        "valid api key must be provided"
    );
}

#[test]
fn an_unallowed_origin_gets_403_and_request_permission_denied() {
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    let body = json!({"action": "deckNames", "version": 6, "key": key}).to_string();
    let resp = post(
        server.api_port,
        "/",
        &[("origin", "https://evil.example")],
        &body,
    );
    assert_eq!((resp.status, resp.body.len()), (403, 0));
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("http://localhost")
    );
    let perm = json!({"action": "requestPermission", "version": 6}).to_string();
    let resp = post(
        server.api_port,
        "/",
        &[("origin", "https://evil.example")],
        &perm,
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("https://evil.example")
    );
    let reply: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        reply,
        json!({"result": {"permission": "denied"}, "error": null})
    );
    // allowed by configuration
    let open = Server::start(&[("KIOKU_ANKICONNECT_ORIGINS", "https://evil.example")]);
    let key = make_key(&open, "user");
    let body = json!({"action": "deckNames", "version": 6, "key": key}).to_string();
    let resp = post(
        open.api_port,
        "/",
        &[("origin", "https://evil.example")],
        &body,
    );
    assert_eq!(resp.status, 200);
}

#[test]
fn keyless_mode_applies_only_to_its_addresses() {
    let elsewhere = Server::start(&[
        ("KIOKU_ANKICONNECT_KEYLESS_USER", "user"),
        ("KIOKU_ANKICONNECT_KEYLESS_FROM", "192.0.2.0/24"),
    ]);
    let body = json!({"action": "deckNames", "version": 6});
    assert_eq!(
        call(&elsewhere, &body)["error"],
        "valid api key must be provided"
    );
    let here = Server::start(&[
        ("KIOKU_ANKICONNECT_KEYLESS_USER", "user"),
        ("KIOKU_ANKICONNECT_KEYLESS_FROM", "127.0.0.0/8,::1"),
    ]);
    assert_eq!(
        call(&here, &body),
        json!({"result": ["Default"], "error": null})
    );
    let perm = call(&here, &json!({"action": "requestPermission", "version": 6}));
    assert_eq!(perm["result"]["requireApikey"], json!(false));
    // a wrong key is still wrong
    let wrong = json!({"action": "deckNames", "version": 6, "key": "nope"});
    assert_eq!(
        call(&here, &wrong)["error"],
        "valid api key must be provided"
    );
}

/// A one-file HTTP server on loopback, answering `hits` requests.
fn file_server(body: &'static [u8], hits: usize) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for _ in 0..hits {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: audio/ogg\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
        }
    });
    (port, handle)
}

#[test]
fn urls_on_loopback_are_refused_unless_allowed_and_paths_are_refused() {
    const AUDIO: &[u8] = b"OggS fake forvo audio";
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    let (port, _) = file_server(AUDIO, 2);
    let url = format!("http://127.0.0.1:{port}/word.ogg");
    let e = err(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": "w.ogg", "url": url}),
    );
    assert!(e.contains("refuses to download from 127.0.0.1"), "{e}");
    let e = err(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": "w.ogg", "url": "http://localhost:1/x"}),
    );
    assert!(e.contains("refuses to download"), "{e}");
    let e = err(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": "w.ogg", "url": "ftp://example.org/x"}),
    );
    assert!(e.contains("only http and https"), "{e}");
    let e = err(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": "w.ogg", "path": "/etc/passwd"}),
    );
    assert!(e.contains("cannot read files on your computer"), "{e}");
    let e = err(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": "w.ogg"}),
    );
    assert_eq!(
        e,
        "You must provide a \"data\", \"path\", or \"url\" field."
    );
    let e = err(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": ".kioku-x.tmp", "data": "AAAA"}),
    );
    assert!(e.contains("media file name"), "{e}");
    assert!(server.media_listing().is_empty());
    // Anki's name rule drops the separator: the file stays in the folder
    let name = ok(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": "../escape.ogg", "data": "AAAA"}),
    );
    assert_eq!(name, "..escape.ogg");
    assert_eq!(server.media_listing()[0].0, "..escape.ogg");

    let open = Server::start(&[("KIOKU_ANKICONNECT_FETCH_PRIVATE", "1")]);
    let key = make_key(&open, "user");
    let name = ok(
        &open,
        &key,
        "storeMediaFile",
        json!({"filename": "Word.ogg", "url": url}),
    );
    assert_eq!(name, "word.ogg");
    let listing = open.media_listing();
    assert_eq!(listing.len(), 1);
    assert_eq!(
        (listing[0].0.as_str(), listing[0].1),
        ("word.ogg", AUDIO.len() as u64)
    );
    let dump = open.media_db_dump();
    assert!(
        dump.iter().any(|r| r.starts_with("\"word.ogg\"")),
        "{dump:?}"
    );
    assert_eq!(
        ok(
            &open,
            &key,
            "getMediaFilesNames",
            json!({"pattern": "*.ogg"})
        ),
        json!(["word.ogg"])
    );
    // skipHash: content with this MD5 is not stored
    use md5::Digest;
    let md5 = hex::encode(md5::Md5::digest(AUDIO));
    let skipped = ok(
        &open,
        &key,
        "storeMediaFile",
        json!({"filename": "other.ogg", "url": url, "skipHash": md5}),
    );
    assert_eq!(skipped, Value::Null);
    assert_eq!(open.media_listing().len(), 1);
    // a download over the time limit is cut off
    let slow = TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_port = slow.local_addr().unwrap().port();
    let _hold = std::thread::spawn(move || {
        let conn = slow.accept();
        std::thread::sleep(Duration::from_secs(3));
        drop(conn);
    });
    let limited = Server::start(&[
        ("KIOKU_ANKICONNECT_FETCH_PRIVATE", "1"),
        ("KIOKU_ANKICONNECT_FETCH_TIMEOUT_SECS", "1"),
    ]);
    let key = make_key(&limited, "user");
    let started = Instant::now();
    let e = err(
        &limited,
        &key,
        "storeMediaFile",
        json!({"filename": "s.ogg", "url": format!("http://127.0.0.1:{slow_port}/s")}),
    );
    assert!(e.contains("took longer than 1 s"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Starts a normal sync over the sync protocol (meta, start) and leaves it open.
fn open_sync(server: &Server) {
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"held"}}"#);
    for (method, body) in [
        ("meta", json!({"v": 11, "cv": "raw"})),
        (
            "start",
            json!({"minUsn": 0, "lnewer": false, "graves": null}),
        ),
    ] {
        let z = zstd::bulk::compress(body.to_string().as_bytes(), 3).unwrap();
        let resp = server.request(
            "POST",
            &format!("/sync/{method}"),
            &[("anki-sync", &header)],
            &z,
        );
        assert_eq!(resp.status, 200, "{method}");
    }
}

fn end_sync(server: &Server, method: &str) -> u16 {
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"held"}}"#);
    let z = zstd::bulk::compress(br#"{"_pad":null}"#, 3).unwrap();
    server
        .request(
            "POST",
            &format!("/sync/{method}"),
            &[("anki-sync", &header)],
            &z,
        )
        .status
}

#[test]
fn a_write_during_a_sync_waits_for_it_and_then_lands() {
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    open_sync(&server);
    // reads do not wait
    assert_eq!(
        ok(&server, &key, "findNotes", json!({"query": ""})),
        json!([])
    );
    let started = Instant::now();
    let writer = {
        let (port, key) = (server.api_port, key.clone());
        std::thread::spawn(move || {
            let body = json!({"action": "addNote", "version": 6, "key": key, "params": basic("during sync")});
            let resp = post(port, "/", &[], &body.to_string());
            (
                serde_json::from_slice::<Value>(&resp.body).unwrap(),
                Instant::now(),
            )
        })
    };
    std::thread::sleep(Duration::from_millis(800));
    assert!(!writer.is_finished(), "the write must wait for the sync");
    let ended = Instant::now();
    assert_eq!(end_sync(&server, "abort"), 200);
    let (reply, landed) = writer.join().unwrap();
    assert!(reply["result"].is_i64(), "{reply}");
    assert!(landed >= ended && started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        ok(&server, &key, "findNotes", json!({"query": ""}))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(server
        .log()
        .contains("API write waits for a sync in progress"));
}

#[test]
fn a_write_gives_up_with_a_clear_error_when_a_sync_holds_on_too_long() {
    let server = Server::start(&[("KIOKU_ANKICONNECT_WRITE_WAIT_SECS", "1")]);
    let key = make_key(&server, "user");
    open_sync(&server);
    let started = Instant::now();
    let e = err(&server, &key, "addNote", basic("too late"));
    assert!(
        e.contains("a sync of this account is in progress and did not finish within 1 s"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // the sync is untouched and can finish its work
    assert_eq!(end_sync(&server, "abort"), 200);
    assert!(ok(&server, &key, "addNote", basic("now")).is_i64());
}

#[test]
fn the_api_is_served_under_ankiconnect_on_the_plain_and_tls_listeners() {
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    let body = json!({"action": "version", "version": 6, "key": key}).to_string();
    let resp = server.request(
        "POST",
        "/ankiconnect",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&resp.body).unwrap(),
        json!({"result": 6, "error": null})
    );
    let openssl = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.tls_port),
            "-quiet",
            "-ign_eof",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("`openssl` is needed for this test (Debian: apt-get install -y openssl)");
    let mut child = openssl;
    let request = format!(
        "POST /ankiconnect HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#"{"error":null,"result":6}"#), "{text}");
    // and not at all when the API is off
    let off = Server::start(&[("KIOKU_NO_ANKICONNECT", "1")]);
    assert_eq!(
        off.request("POST", "/ankiconnect", &[], body.as_bytes())
            .status,
        404
    );
}

#[test]
fn writes_move_the_collections_mod_only_when_they_change_something() {
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    let meta = || {
        server
            .sync("meta", HKEY, r#"{"v":11,"cv":"raw"}"#)
            .sync_json()
    };
    let before = meta();
    ok(&server, &key, "deleteNotes", json!({"notes": [123]}));
    ok(
        &server,
        &key,
        "removeTags",
        json!({"notes": [123], "tags": "x"}),
    );
    assert_eq!(meta()["mod"], before["mod"], "no-op writes leave mod alone");
    ok(&server, &key, "addNote", basic("changes"));
    let after = meta();
    assert!(after["mod"].as_i64() > before["mod"].as_i64());
    assert_eq!(
        after["usn"], before["usn"],
        "the usn moves only when a sync finishes"
    );
    assert_eq!(
        after["scm"], before["scm"],
        "never a schema change (full sync)"
    );
}
