//! Large full syncs: bodies are streamed (the server's memory does not grow
//! with the collection's size), and a download that overlaps an upload still
//! sends one consistent file.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{read_response, temp_dir, Server, HKEY};

/// A valid collection grown to about `megs` MiB with incompressible notes.
fn big_collection(server: &Server, megs: usize, tag: &str) -> Vec<u8> {
    let fresh = server.sync("download", HKEY, "{}").sync_body();
    let dir = temp_dir("big");
    let path = dir.join("c.anki2");
    std::fs::write(&path, &fresh).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    kioku::collection::register_unicase(&conn).unwrap();
    conn.execute_batch("pragma journal_mode = delete; begin")
        .unwrap();
    let mid: i64 = conn
        .query_row("select id from notetypes limit 1", [], |r| r.get(0))
        .unwrap();
    let mut noise = vec![0u8; 48 * 1024];
    for i in 0..(megs * 1024 / 64) as i64 {
        getrandom::fill(&mut noise).unwrap();
        let field = format!("{tag}{}\x1f{}", i, hex::encode(&noise[..32 * 1024]));
        conn.execute(
            "insert into notes values (?1, ?2, ?3, 0, 0, '', ?4, '', 0, 0, '')",
            rusqlite::params![i + 1, format!("g{i}"), mid, field],
        )
        .unwrap();
    }
    conn.execute_batch("commit").unwrap();
    drop(conn);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

fn upload(server: &Server, collection: &[u8]) -> Vec<u8> {
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let body = zstd::bulk::compress(collection, 1).unwrap();
    server
        .request("POST", "/sync/upload", &[("anki-sync", &header)], &body)
        .sync_body()
}

fn notes_in(collection: &[u8]) -> i64 {
    let dir = temp_dir("count");
    let path = dir.join("c.anki2");
    std::fs::write(&path, collection).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    kioku::collection::register_unicase(&conn).unwrap();
    let ok: String = conn
        .query_row("pragma quick_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let n = conn
        .query_row("select count(*) from notes", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    std::fs::remove_dir_all(&dir).unwrap();
    n
}

#[test]
fn a_64_mib_upload_and_download_do_not_grow_server_memory_with_the_payload() {
    let server = Server::start(&[]);
    let collection = big_collection(&server, 64, "a");
    assert!(collection.len() > 60 << 20);
    let baseline = server.peak_rss_kib();
    assert_eq!(upload(&server, &collection), b"OK");
    let downloaded = server.sync("download", HKEY, "{}").sync_body();
    assert_eq!(downloaded.len(), collection.len());
    assert_eq!(notes_in(&downloaded), notes_in(&collection));
    let growth_mib = (server.peak_rss_kib().saturating_sub(baseline)) / 1024;
    println!("peak RSS growth over a 64 MiB upload + download: {growth_mib} MiB");
    assert!(growth_mib < 24, "server memory grew by {growth_mib} MiB");
}

#[test]
fn a_download_overlapping_an_upload_sends_one_consistent_file() {
    let server = Server::start(&[]);
    let first = big_collection(&server, 24, "first");
    let second = big_collection(&server, 8, "second");
    assert_eq!(upload(&server, &first), b"OK");

    // Start a download and read only a little of it, so it stays in flight.
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let body = zstd::bulk::compress(b"{}", 1).unwrap();
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        slow,
        "POST /sync/download HTTP/1.1\r\nhost: x\r\nconnection: close\r\nanki-sync: {header}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    slow.write_all(&body).unwrap();
    let mut start = [0u8; 1024];
    slow.read_exact(&mut start).unwrap();

    // Meanwhile: a second download (served from a snapshot), an upload that
    // replaces the collection, and a download of the new one.
    let concurrent = server.sync("download", HKEY, "{}").sync_body();
    assert_eq!(notes_in(&concurrent), notes_in(&first));
    assert_eq!(upload(&server, &second), b"OK");
    let after = server.sync("download", HKEY, "{}").sync_body();
    assert_eq!(notes_in(&after), notes_in(&second));

    // The slow download is still the first collection, whole and valid.
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).unwrap();
    let mut raw = start.to_vec();
    raw.extend_from_slice(&rest);
    let resp = read_response(&mut &raw[..]).unwrap();
    let slow_file = resp.sync_body();
    assert_eq!(notes_in(&slow_file), notes_in(&first));
}
