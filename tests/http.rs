//! End-to-end tests of the HTTP surface with raw requests: routing, the
//! protocol's encodings, and the statuses the clients understand for bad input.

mod common;

use common::{Server, HKEY};

#[test]
fn health_reports_version_uptime_and_user_count() {
    let server = Server::start(&[("SYNC_USER2", "second:pw")]);
    let resp = server.request("GET", "/health", &[], b"");
    assert_eq!(resp.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["users"], 2);
    assert!(json["uptime_secs"].is_u64());
}

#[test]
fn unknown_paths_and_methods_get_404_and_wrong_verbs_405() {
    let server = Server::start(&[]);
    // `/` is the setup page (tests/tls.rs); other unknown paths are 404.
    assert_eq!(server.request("GET", "/", &[], b"").status, 200);
    assert_eq!(server.request("POST", "/", &[], b"").status, 405);
    assert_eq!(server.request("GET", "/nothing/here", &[], b"").status, 404);
    let foo = server.sync("foo", HKEY, "{}");
    assert_eq!(foo.status, 404);
    assert!(String::from_utf8_lossy(&foo.body).contains("hostKey"));
    let get = server.request("GET", "/sync/meta", &[], b"");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
}

#[test]
fn login_returns_the_official_host_key_and_refuses_bad_credentials_with_403() {
    let server = Server::start(&[]);
    let ok = server.sync("hostKey", "", r#"{"u":"user","p":"pass"}"#);
    assert_eq!(ok.sync_json(), serde_json::json!({ "key": HKEY }));
    assert_eq!(
        server
            .sync("hostKey", "", r#"{"u":"user","p":"nope"}"#)
            .status,
        403
    );
    assert_eq!(
        server
            .sync("hostKey", "", r#"{"u":"ghost","p":"pass"}"#)
            .status,
        403
    );
    assert_eq!(
        server.sync("meta", "0000", r#"{"v":11,"cv":"x"}"#).status,
        403
    );
    assert!(server.log().contains("authentication failed"));
}

#[test]
fn meta_of_a_new_account_is_empty_with_mod_zero() {
    let server = Server::start(&[]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let meta = server
        .sync(
            "meta",
            HKEY,
            r#"{"v":11,"cv":"anki,26.09.3 (29bb700b),linux"}"#,
        )
        .sync_json();
    assert_eq!(meta["mod"], 0);
    assert_eq!(meta["usn"], 0);
    assert_eq!(meta["empty"], true);
    assert_eq!(meta["cont"], true);
    assert_eq!(meta["hostNum"], 0);
    assert_eq!(meta["media_usn"], 0);
    assert!((meta["ts"].as_i64().unwrap() - before).abs() <= 5);
    assert!(server.base.join("user/collection.anki2").exists());
}

#[test]
fn malformed_requests_get_the_statuses_the_client_understands() {
    let server = Server::start(&[]);
    let zstd = |s: &str| zstd::bulk::compress(s.as_bytes(), 3).unwrap();
    let header = |v: i64| format!(r#"{{"v":{v},"k":"{HKEY}","c":"t","s":"s"}}"#);
    let post = |headers: &[(&str, &str)], body: &[u8]| {
        server.request("POST", "/sync/meta", headers, body).status
    };
    // No anki-sync header (the legacy protocol): 400.
    assert_eq!(post(&[], &zstd(r#"{"v":11}"#)), 400);
    // Header versions outside 8..=11: 400; a header that is not JSON: 400.
    assert_eq!(
        post(&[("anki-sync", &header(12))], &zstd(r#"{"v":11,"cv":"x"}"#)),
        400
    );
    assert_eq!(
        post(&[("anki-sync", &header(7))], &zstd(r#"{"v":11,"cv":"x"}"#)),
        400
    );
    assert_eq!(
        post(&[("anki-sync", "{")], &zstd(r#"{"v":11,"cv":"x"}"#)),
        400
    );
    // A body that is not zstd, or zstd of something that is not JSON: 400.
    assert_eq!(post(&[("anki-sync", &header(11))], br#"{"v":11}"#), 400);
    assert_eq!(post(&[("anki-sync", &header(11))], &zstd("{not json")), 400);
    assert_eq!(post(&[("anki-sync", &header(11))], &zstd("")), 400);
    // A meta body version outside 8..=11: 501 (the client says it is too old).
    assert_eq!(server.sync("meta", HKEY, r#"{"v":7,"cv":"x"}"#).status, 501);
    assert_eq!(
        server.sync("meta", HKEY, r#"{"v":99,"cv":"x"}"#).status,
        501
    );
    // Version 8 clients are refused in-band: modern collections use the v2 scheduler.
    let v8 = server.sync("meta", HKEY, r#"{"v":8,"cv":"x"}"#).sync_json();
    assert_eq!(v8["cont"], false);
    assert!(v8["msg"].as_str().unwrap().contains("v2 scheduler"));
    let log = server.log();
    assert!(log.contains("bad request body"), "{log}");
    assert!(log.contains("unsupported sync version 12"), "{log}");
}

#[test]
fn a_json_body_over_the_payload_limit_gets_413() {
    let server = Server::start(&[("MAX_SYNC_PAYLOAD_MEGS", "1")]);
    let big = format!(r#"{{"v":11,"cv":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    assert_eq!(server.sync("meta", HKEY, &big).status, 413);
    // The server is still fine afterwards.
    assert_eq!(
        server.sync("meta", HKEY, r#"{"v":11,"cv":"x"}"#).status,
        200
    );
}

#[test]
fn abort_accepts_both_empty_input_forms_and_answers_null() {
    let server = Server::start(&[]);
    for body in [r#"{"_pad":null}"#, "{}"] {
        let resp = server.sync("abort", HKEY, body);
        assert_eq!(resp.sync_body(), b"null");
    }
}

#[test]
fn media_endpoints_answer_wrapped_json_and_check_the_host_key() {
    let server = Server::start(&[]);
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let body = zstd::bulk::compress(br#"{"lastUsn":0}"#, 3).unwrap();
    let resp = server.request(
        "POST",
        "/msync/mediaChanges",
        &[("anki-sync", &header)],
        &body,
    );
    let json: serde_json::Value = serde_json::from_slice(&resp.sync_body()).unwrap();
    assert_eq!(json, serde_json::json!({"data": [], "err": ""}));
    let bad = r#"{"v":11,"k":"0000","c":"t","s":"s"}"#;
    assert_eq!(
        server
            .request("POST", "/msync/begin", &[("anki-sync", bad)], &body)
            .status,
        403
    );
    assert_eq!(
        server
            .request("POST", "/msync/nope", &[("anki-sync", &header)], &body)
            .status,
        404
    );
    // The legacy GET form of begin is refused with a 400 that says why.
    let legacy = server.request(
        "GET",
        &format!("/msync/begin?k={HKEY}&v=anki,2.1.54"),
        &[],
        b"",
    );
    assert_eq!(legacy.status, 400);
    assert!(String::from_utf8_lossy(&legacy.body).contains("legacy"));
}

#[test]
fn every_request_gets_one_log_line_with_user_endpoint_status_bytes_and_ms() {
    let server = Server::start(&[]);
    server.sync("meta", HKEY, r#"{"v":11,"cv":"x"}"#);
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("/sync/meta"))
        .expect("a log line for the request");
    for field in [
        "user=\"user\"",
        "status=200",
        "bytes_in=",
        "bytes_out=",
        "ms=",
    ] {
        assert!(line.contains(field), "{field} missing in: {line}");
    }
}
