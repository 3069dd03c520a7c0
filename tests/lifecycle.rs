//! Start-up errors, graceful shutdown, and the full upload/download cycle over
//! raw HTTP (the real client's version of these lives in tests/interop).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{kioku, read_response, signal, temp_dir, wait_bounded, Server, HKEY};

fn start_error(env: &[(&str, &str)]) -> (i32, String) {
    let base = temp_dir("cfg");
    let mut cmd = kioku();
    cmd.arg("serve")
        .env_clear()
        .env("SYNC_BASE", &base)
        .env("SYNC_HOST", "127.0.0.1")
        .env("SYNC_PORT", "0")
        .env("KIOKU_TLS_PORT", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_dir_all(&base);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_settings_stop_start_up_naming_the_variable() {
    for (env, name) in [
        (
            vec![("SYNC_USER1", "a:b"), ("SYNC_PORT", "70000")],
            "SYNC_PORT",
        ),
        (vec![("SYNC_USER1", "nocolon")], "SYNC_USER1"),
        (
            vec![("SYNC_USER1", "a:b"), ("MAX_SYNC_PAYLOAD_MEGS", "lots")],
            "MAX_SYNC_PAYLOAD_MEGS",
        ),
        (
            vec![("SYNC_USER1", "a:b"), ("PASSWORDS_HASHED", "1")],
            "SYNC_USER1",
        ),
    ] {
        let (code, err) = start_error(&env);
        assert_eq!(code, 2, "{env:?}: {err}");
        assert!(err.contains(name), "{env:?}: {err}");
    }
}

#[test]
fn a_data_folder_that_cannot_be_used_is_named_in_the_error() {
    let file = temp_dir("notdir").join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let out = kioku()
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--tls-port",
            "0",
        ])
        .env_clear()
        .env("SYNC_USER1", "a:b")
        .env("SYNC_BASE", &file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SYNC_BASE"), "{err}");
}

#[test]
fn sigterm_lets_an_in_flight_upload_finish_then_exits_zero() {
    let mut server = Server::start(&[]);
    // A complete, valid collection: download the new account's collection.
    let download = server.sync("download", HKEY, r#"{"_pad":null}"#);
    let collection = download.sync_body();
    assert_eq!(&collection[..16], b"SQLite format 3\0");
    let body = zstd::bulk::compress(&collection, 3).unwrap();
    let (first, rest) = body.split_at(body.len() / 2);

    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    write!(
        stream,
        "POST /sync/upload HTTP/1.1\r\nhost: x\r\nconnection: close\r\nanki-sync: {header}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    signal(&server.child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    // The listener is closed, but the request in flight continues.
    assert!(
        TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "still accepting after SIGTERM"
    );
    stream.write_all(rest).unwrap();
    let resp = read_response(&mut stream).unwrap();
    assert_eq!(resp.sync_body(), b"OK");
    let status = wait_bounded(&mut server.child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    let log = server.log();
    assert!(
        log.contains("SIGTERM received") && log.contains("stopped"),
        "{log}"
    );
}

#[test]
fn a_full_upload_is_served_back_by_download_with_usn_bumped() {
    let server = Server::start(&[]);
    let original = server.sync("download", HKEY, "{}").sync_body();
    // Upload it back, then download: same collection, usn one higher.
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let upload = server.request(
        "POST",
        "/sync/upload",
        &[("anki-sync", &header)],
        &zstd::bulk::compress(&original, 3).unwrap(),
    );
    assert_eq!(upload.sync_body(), b"OK");
    let meta = server
        .sync("meta", HKEY, r#"{"v":11,"cv":"x"}"#)
        .sync_json();
    let again = server.sync("download", HKEY, "{}").sync_body();
    assert_eq!(again.len(), original.len());
    let meta2 = server
        .sync("meta", HKEY, r#"{"v":11,"cv":"x"}"#)
        .sync_json();
    assert_eq!(
        meta2["usn"].as_i64().unwrap(),
        meta["usn"].as_i64().unwrap() + 1
    );
    assert!(meta2["mod"].as_i64().unwrap() >= meta["mod"].as_i64().unwrap());
}

#[test]
fn bad_uploads_are_refused_in_band_and_leave_the_collection_untouched() {
    let server = Server::start(&[("MAX_SYNC_PAYLOAD_MEGS", "1")]);
    // A real collection to truncate later (the download also creates it).
    let mut truncated = server.sync("download", HKEY, "{}").sync_body();
    truncated.truncate(truncated.len() / 2);
    let path = server.base.join("user/collection.anki2");
    let before = std::fs::read(&path).unwrap();
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let upload =
        |body: Vec<u8>| server.request("POST", "/sync/upload", &[("anki-sync", &header)], &body);
    let corrupt = "Your upload was corrupt. Please use Check Database, or restore from backup.";

    let garbage =
        upload(zstd::bulk::compress(&b"this is not a sqlite file".repeat(10), 3).unwrap());
    assert_eq!(String::from_utf8(garbage.sync_body()).unwrap(), corrupt);

    let resp = upload(zstd::bulk::compress(&truncated, 3).unwrap());
    assert_eq!(String::from_utf8(resp.sync_body()).unwrap(), corrupt);

    let huge = vec![7u8; 4 * 1024 * 1024]; // over 3 × 1 MiB once decompressed
    let resp = upload(zstd::bulk::compress(&huge, 3).unwrap());
    assert_eq!(resp.sync_body(), b"collection exceeds size limit");

    let not_zstd = upload(b"plainly not zstd".to_vec());
    assert_eq!(not_zstd.status, 400);

    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the stored collection changed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(server.base.join("user"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".kioku-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}
