//! Media sync over raw HTTP against a real kioku process: the usn rules, the
//! wire formats, hostile uploads (each refused, nothing changed on disk or in
//! media.db), restarts, and memory while a 50 MB file goes up and down.

mod common;

use common::{media_unzip, media_zip, Server, HKEY};
use serde_json::{json, Value};

fn data(resp: &common::Response) -> Value {
    let body: Value = resp.sync_json();
    assert_eq!(body["err"], "", "{body}");
    body["data"].clone()
}

fn upload(server: &Server, zip: &[u8]) -> common::Response {
    server.msync("uploadChanges", zip)
}

fn download(server: &Server, names: &[&str]) -> Vec<(String, Vec<u8>)> {
    let resp = server.msync(
        "downloadFiles",
        json!({ "files": names }).to_string().as_bytes(),
    );
    media_unzip(resp.sync_body())
}

fn meta_media_usn(server: &Server) -> i64 {
    server
        .sync("meta", HKEY, r#"{"v":11,"cv":"test"}"#)
        .sync_json()["media_usn"]
        .as_i64()
        .unwrap()
}

#[test]
fn upload_changes_and_download_follow_the_protocol_and_survive_a_restart() {
    let mut server = Server::start(&[]);
    let begin = server.msync("begin", br#"{"v":"anki,26.09.3 (29bb700b),linux"}"#);
    assert_eq!(data(&begin), json!({"usn": 0, "sk": HKEY}));
    assert_eq!(server.msync("begin", b"{}").status, 400, "begin needs v");

    let nfd = "cafe\u{301} 日本.jpg";
    let zip = media_zip(
        &[("picture.png", Some(b"png data")), (nfd, Some(b"jpeg"))],
        false,
    );
    assert_eq!(data(&upload(&server, &zip)), json!([2, 2]));
    assert_eq!(meta_media_usn(&server), 2);
    let zip = media_zip(&[("picture.png", None)], false);
    assert_eq!(data(&upload(&server, &zip)), json!([1, 3]));

    // Restarted on the same folder: everything is still there.
    server.restart();
    assert_eq!(meta_media_usn(&server), 3);

    let changes = data(&server.msync("mediaChanges", br#"{"lastUsn":0}"#));
    let nfc = "caf\u{e9} 日本.jpg";
    let jpeg_sha1 = {
        use sha1::{Digest, Sha1};
        hex::encode(Sha1::digest(b"jpeg"))
    };
    assert_eq!(
        changes,
        json!([[nfc, 2, jpeg_sha1], ["picture.png", 3, ""]])
    );
    assert_eq!(
        data(&server.msync("mediaChanges", br#"{"lastUsn":3}"#)),
        json!([])
    );
    assert_eq!(
        download(&server, &[nfc]),
        vec![(nfc.to_owned(), b"jpeg".to_vec())]
    );
    assert_eq!(
        server
            .msync("downloadFiles", br#"{"files":["picture.png"]}"#)
            .status,
        409,
        "a deleted file is a conflict"
    );
    assert_eq!(data(&server.msync("mediaSanity", br#"{"local":1}"#)), "OK");
    assert_eq!(
        data(&server.msync("mediaSanity", br#"{"local":2}"#)),
        "mediaSanity"
    );
    assert_eq!(server.media_listing().len(), 1);
}

#[test]
fn a_full_upload_and_download_do_not_touch_media() {
    let server = Server::start(&[]);
    let zip = media_zip(&[("a.mp3", Some(b"sound"))], false);
    assert_eq!(data(&upload(&server, &zip)), json!([1, 1]));
    let before = (server.media_listing(), server.media_db_dump());
    let collection = server.sync("download", HKEY, "{}").sync_body();
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let body = zstd::bulk::compress(&collection, 1).unwrap();
    let resp = server.request("POST", "/sync/upload", &[("anki-sync", &header)], &body);
    assert_eq!(resp.sync_body(), b"OK");
    assert_eq!(before, (server.media_listing(), server.media_db_dump()));
    assert_eq!(meta_media_usn(&server), 1);
}

#[test]
fn hostile_uploads_are_refused_and_change_nothing() {
    let server = Server::start(&[]);
    let zip = media_zip(
        &[("keep.png", Some(b"keep")), ("also.mp3", Some(b"also"))],
        false,
    );
    assert_eq!(data(&upload(&server, &zip)), json!([2, 2]));
    let before = (server.media_listing(), server.media_db_dump());
    assert_eq!(before.0.len(), 2);

    let outside = server.base.with_extension("evil");
    let outside_name = outside.to_str().unwrap().to_owned();
    let names = [
        ("path traversal", "../../evil.txt".to_owned()),
        ("absolute path", outside_name.clone()),
        ("NUL", "evil\0.png".to_owned()),
        ("backslash", "..\\evil.txt".to_owned()),
    ];
    for (what, name) in &names {
        let zip = media_zip(&[("fine.png", Some(b"fine")), (name, Some(b"evil"))], false);
        let resp = upload(&server, &zip);
        let body = resp.sync_json();
        assert!(body["data"].is_null(), "{what}: {body}");
        assert!(
            body["err"].as_str().unwrap().contains("refused"),
            "{what}: {body}"
        );
        assert_eq!(
            before,
            (server.media_listing(), server.media_db_dump()),
            "{what}"
        );
    }
    assert!(!outside.exists());
    assert!(!server.base.join("evil.txt").exists());
    assert!(!server.base.join("user").join("evil.txt").exists());

    // A zip bomb: 200 MiB of zeros deflated to about 200 KiB. Declared
    // honestly, it is refused from its central directory (413); with the
    // directory claiming 1 KiB, decompression stops at the real size (4xx).
    let zeros = vec![0u8; 200 << 20];
    let bomb = media_zip(&[("bomb.bin", Some(&zeros))], true);
    drop(zeros);
    assert!(bomb.len() < 1 << 20);
    let resp = upload(&server, &bomb);
    assert_eq!(resp.status, 413, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(
        before,
        (server.media_listing(), server.media_db_dump()),
        "bomb"
    );
    let mut lying = bomb.clone();
    let cd = lying
        .windows(4)
        .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    lying[cd + 24..cd + 28].copy_from_slice(&1024u32.to_le_bytes());
    let resp = upload(&server, &lying);
    assert!(
        matches!(resp.status, 400 | 413),
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(
        before,
        (server.media_listing(), server.media_db_dump()),
        "lying bomb"
    );

    // A wrong checksum (CRC-32 of the stored data).
    let mut bad_crc = media_zip(&[("crc.png", Some(b"MARKER and data"))], false);
    let at = bad_crc.windows(6).position(|w| w == b"MARKER").unwrap();
    bad_crc[at] = b'N';
    let resp = upload(&server, &bad_crc);
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("CRC"));
    assert_eq!(
        before,
        (server.media_listing(), server.media_db_dump()),
        "crc"
    );

    // Not a zip at all.
    assert_eq!(upload(&server, b"just some text, not a zip").status, 400);
    // A zip whose end record claims more entries than allowed.
    let mut many = media_zip(&[("m.png", Some(b"m"))], false);
    let n = many.len();
    many[n - 14..n - 10].copy_from_slice(&[0x30, 0x75, 0x30, 0x75]); // 30000, 30000
    let resp = upload(&server, &many);
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("30000"));
    // 26 files in one zip.
    let files: Vec<String> = (0..26).map(|i| format!("f{i}.png")).collect();
    let files: Vec<(&str, Option<&[u8]>)> = files
        .iter()
        .map(|n| (n.as_str(), Some(&b"x"[..])))
        .collect();
    assert_eq!(upload(&server, &media_zip(&files, false)).status, 400);
    // A body that is not even zstd.
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let resp = server.request(
        "POST",
        "/msync/uploadChanges",
        &[("anki-sync", &header)],
        b"PK\x03\x04 raw, not zstd",
    );
    assert_eq!(resp.status, 400);
    // Downloads of hostile names are refused too.
    for name in ["../media.db", "../collection.anki2", "/etc/passwd"] {
        let body = json!({ "files": [name] }).to_string();
        assert_eq!(
            server.msync("downloadFiles", body.as_bytes()).status,
            400,
            "{name}"
        );
    }

    assert_eq!(
        before,
        (server.media_listing(), server.media_db_dump()),
        "after all"
    );
    let log = server.log();
    assert!(log.contains("kioku refused a media file"), "{log}");
    assert!(log.contains("status=413"));
}

#[test]
fn a_batch_interrupted_by_a_crash_is_recorded_at_the_next_start() {
    let mut server = Server::start(&[]);
    let zip = media_zip(
        &[("old.png", Some(b"old")), ("gone.png", Some(b"gone"))],
        false,
    );
    assert_eq!(data(&upload(&server, &zip)), json!([2, 2]));
    assert!(server.terminate().success());
    // What a crash between moving the files and committing the rows leaves:
    // the journal, a changed file, a removed file, a new file, a temp file.
    let user = server.base.join("user");
    let media = user.join("media");
    std::fs::write(media.join("old.png"), b"replaced").unwrap();
    std::fs::remove_file(media.join("gone.png")).unwrap();
    std::fs::write(media.join("new.png"), b"new").unwrap();
    std::fs::write(media.join(".kioku-upload-0123.tmp"), b"half a file").unwrap();
    std::fs::write(
        user.join(".kioku-media-journal"),
        br#"["old.png","gone.png","new.png"]"#,
    )
    .unwrap();
    server.restart();
    assert!(!user.join(".kioku-media-journal").exists());
    assert!(!media.join(".kioku-upload-0123.tmp").exists());
    let sha = |d: &[u8]| {
        use sha1::{Digest, Sha1};
        hex::encode(Sha1::digest(d))
    };
    assert_eq!(
        data(&server.msync("mediaChanges", br#"{"lastUsn":2}"#)),
        json!([
            ["old.png", 3, sha(b"replaced")],
            ["gone.png", 4, ""],
            ["new.png", 5, sha(b"new")]
        ])
    );
    assert_eq!(meta_media_usn(&server), 5);
    assert_eq!(data(&server.msync("mediaSanity", br#"{"local":2}"#)), "OK");
    assert_eq!(
        download(&server, &["old.png", "new.png"]),
        vec![
            ("old.png".to_owned(), b"replaced".to_vec()),
            ("new.png".to_owned(), b"new".to_vec())
        ]
    );
}

#[test]
fn a_50_mb_file_uploads_and_downloads_without_growing_server_memory() {
    let server = Server::start(&[]);
    // Warm up every code path with a small file first.
    let zip = media_zip(&[("small.bin", Some(b"small"))], false);
    assert_eq!(data(&upload(&server, &zip)), json!([1, 1]));
    assert_eq!(download(&server, &["small.bin"]).len(), 1);
    let baseline = server.peak_rss_kib();

    // KIOKU_MEDIA_TEST_MB=100 checks the protocol's largest file.
    let mb: usize = std::env::var("KIOKU_MEDIA_TEST_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut big = vec![0u8; mb * 1_000_000];
    getrandom::fill(&mut big).unwrap();
    let zip = media_zip(&[("big.bin", Some(&big))], false);
    let started = std::time::Instant::now();
    assert_eq!(data(&upload(&server, &zip)), json!([1, 2]));
    let up = started.elapsed();
    let after_upload = server.peak_rss_kib().saturating_sub(baseline) / 1024;
    drop(zip);
    let started = std::time::Instant::now();
    let got = download(&server, &["big.bin"]);
    let down = started.elapsed();
    assert_eq!(got.len(), 1);
    assert!(got[0].1 == big, "downloaded bytes differ");
    let growth_mib = server.peak_rss_kib().saturating_sub(baseline) / 1024;
    println!("{mb} MB media: upload {up:?}, download {down:?}, peak RSS growth {growth_mib} MiB ({after_upload} MiB after the upload)");
    assert!(growth_mib <= 32, "server memory grew by {growth_mib} MiB");
}
