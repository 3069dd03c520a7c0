//! Normal-sync sessions over raw HTTP: the step sequence, one sync per
//! account at a time, rollback on abort / failure / expiry, and `meta` not
//! disturbing a sync in progress. (The real client's view is in tests/interop.)

mod common;

use serde_json::{json, Value};

use common::{Server, HKEY};

/// A raw client session with its own session key.
struct Sess<'a> {
    server: &'a Server,
    skey: &'static str,
}

impl Sess<'_> {
    fn call(&self, method: &str, body: Value) -> common::Response {
        let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"{}"}}"#, self.skey);
        let body = zstd::bulk::compress(body.to_string().as_bytes(), 3).unwrap();
        self.server.request(
            "POST",
            &format!("/sync/{method}"),
            &[("anki-sync", &header)],
            &body,
        )
    }

    fn ok(&self, method: &str, body: Value) -> Value {
        let resp = self.call(method, body);
        assert_eq!(
            resp.status,
            200,
            "{method}: {}\n{}",
            String::from_utf8_lossy(&resp.body),
            self.server.log()
        );
        resp.sync_json()
    }

    fn status(&self, method: &str, body: Value) -> u16 {
        self.call(method, body).status
    }
}

fn pad() -> Value {
    json!({"_pad": null})
}

fn meta(s: &Sess) -> Value {
    s.ok("meta", json!({"v": 11, "cv": "raw"}))
}

/// The counts sanityCheck2 compares for a new account's collection (six
/// stock notetypes, one deck, one deck config) plus `cards` and `notes`.
fn fresh_counts(cards: i64, notes: i64) -> Value {
    json!([[0, 0, 0], cards, notes, 0, 0, 6, 1, 1])
}

fn basic_notetype_id(server: &Server) -> i64 {
    let bytes = server.sync("download", HKEY, "{}").sync_body();
    let dir = common::temp_dir("nt");
    let path = dir.join("c.anki2");
    std::fs::write(&path, bytes).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    kioku::collection::register_unicase(&conn).unwrap();
    let id = conn
        .query_row("select id from notetypes where name = 'Basic'", [], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    std::fs::remove_dir_all(dir).unwrap();
    id
}

fn note_row(id: i64, mid: i64, usn: i64, text: &str) -> Value {
    json!([
        id,
        format!("guid{id}"),
        mid,
        1_795_800_000,
        usn,
        "",
        format!("{text}\u{1f}back"),
        "",
        "",
        0,
        ""
    ])
}

fn card_row(id: i64, nid: i64, usn: i64) -> Value {
    json!([
        id,
        nid,
        1,
        0,
        1_795_800_000,
        usn,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        "{}"
    ])
}

#[test]
fn a_raw_normal_sync_adds_a_note_and_finish_moves_usn_and_mod() {
    let server = Server::start(&[]);
    let mid = basic_notetype_id(&server);
    let a = Sess {
        server: &server,
        skey: "A",
    };
    let m = meta(&a);
    let usn = m["usn"].as_i64().unwrap();
    let graves = a.ok(
        "start",
        json!({"minUsn": usn, "lnewer": true, "graves": null}),
    );
    assert_eq!(graves, json!({"cards": [], "decks": [], "notes": []}));
    let changes = a.ok(
        "applyChanges",
        json!({"changes": {"models": [], "decks": [[], []], "tags": ["fresh"]}}),
    );
    assert_eq!(changes["models"], json!([]));
    assert!(
        changes.get("conf").is_none(),
        "the newer client gets no conf"
    );
    assert_eq!(a.ok("chunk", pad()), json!({"done": true}));
    let chunk = json!({"chunk": {"done": true, "notes": [note_row(100, mid, usn, "hola")], "cards": [card_row(101, 100, usn)]}});
    assert_eq!(a.ok("applyChunk", chunk), Value::Null);
    let check = a.ok("sanityCheck2", json!({ "client": fresh_counts(1, 1) }));
    assert_eq!(check["status"], "ok", "{check}");
    let finished = a.ok("finish", pad()).as_i64().unwrap();
    let after = meta(&a);
    assert_eq!(after["usn"].as_i64().unwrap(), usn + 1);
    assert_eq!(after["mod"].as_i64().unwrap(), finished);

    // Another device picks the note up.
    let b = Sess {
        server: &server,
        skey: "B",
    };
    b.ok(
        "start",
        json!({"minUsn": usn, "lnewer": false, "graves": null}),
    );
    let theirs = b.ok(
        "applyChanges",
        json!({"changes": {"models": [], "decks": [[], []], "tags": []}}),
    );
    assert_eq!(theirs["tags"], json!(["fresh"]));
    assert!(theirs.get("conf").is_some() && theirs.get("crt").is_some());
    let chunk = b.ok("chunk", pad());
    assert_eq!(chunk["notes"][0][0], 100);
    assert_eq!(chunk["notes"][0][6], "hola\u{1f}back");
    assert_eq!(chunk["cards"][0][0], 101);
    b.ok("abort", pad());
}

#[test]
fn a_second_device_gets_409_and_its_abort_leaves_the_first_sync_alone() {
    let server = Server::start(&[]);
    let a = Sess {
        server: &server,
        skey: "A",
    };
    let b = Sess {
        server: &server,
        skey: "B",
    };
    let usn = meta(&a)["usn"].as_i64().unwrap();
    a.ok(
        "start",
        json!({"minUsn": usn, "lnewer": false, "graves": null}),
    );
    // B's status check does not disturb A; B's sync is refused; B's abort is a no-op.
    assert_eq!(meta(&b)["usn"].as_i64().unwrap(), usn);
    assert_eq!(
        b.status("start", json!({"minUsn": usn, "lnewer": false})),
        409
    );
    assert_eq!(b.status("chunk", pad()), 409);
    assert_eq!(b.ok("abort", pad()), Value::Null);
    // A carries on to the end.
    a.ok(
        "applyChanges",
        json!({"changes": {"models": [], "decks": [[], []], "tags": []}}),
    );
    a.ok("chunk", pad());
    a.ok("applyChunk", json!({"chunk": {"done": true}}));
    assert_eq!(
        a.ok("sanityCheck2", json!({ "client": fresh_counts(0, 0) }))["status"],
        "ok"
    );
    a.ok("finish", pad());
    // Now B may sync.
    b.ok("start", json!({"minUsn": usn, "lnewer": false}));
    b.ok("abort", pad());
}

#[test]
fn an_idle_sync_is_taken_over_after_the_timeout() {
    let server = Server::start(&[("KIOKU_SYNC_SESSION_TIMEOUT_SECS", "1")]);
    let a = Sess {
        server: &server,
        skey: "A",
    };
    let b = Sess {
        server: &server,
        skey: "B",
    };
    a.ok("start", json!({"minUsn": 0, "lnewer": false}));
    assert_eq!(
        b.status("start", json!({"minUsn": 0, "lnewer": false})),
        409
    );
    std::thread::sleep(std::time::Duration::from_millis(1300));
    b.ok("start", json!({"minUsn": 0, "lnewer": false}));
    assert_eq!(a.status("chunk", pad()), 409, "the abandoned sync is gone");
    b.ok("abort", pad());
}

#[test]
fn a_malformed_step_rolls_the_whole_sync_back() {
    let server = Server::start(&[]);
    let mid = basic_notetype_id(&server);
    let a = Sess {
        server: &server,
        skey: "A",
    };
    let before = meta(&a);
    let usn = before["usn"].as_i64().unwrap();
    for bad in [
        json!({"chunk": {"done": true, "notes": [[1, 2, 3]]}}),
        json!({"chunk": {"done": true, "notes": [note_row(5, mid, usn, "x")], "cards": [["1", 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "{}"]]}}),
        json!({"chunk": {"done": true, "notes": [note_row(6, 12345, usn, "no such notetype")]}}),
    ] {
        a.ok("start", json!({"minUsn": usn, "lnewer": true}));
        a.ok(
            "applyGraves",
            json!({"chunk": {"cards": [], "notes": [], "decks": [1]}}),
        );
        assert_eq!(a.status("applyChunk", bad.clone()), 400, "{bad}");
        assert_eq!(
            a.status("chunk", pad()),
            409,
            "the session must be gone after {bad}"
        );
    }
    // Nothing of it was committed: the default deck still exists, no notes.
    let b = Sess {
        server: &server,
        skey: "B",
    };
    b.ok("start", json!({"minUsn": 0, "lnewer": false}));
    let changes = b.ok(
        "applyChanges",
        json!({"changes": {"models": [], "decks": [[], []], "tags": []}}),
    );
    let decks: Vec<i64> = changes["decks"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert!(decks.contains(&1), "{decks:?}");
    assert_eq!(b.ok("chunk", pad()), json!({"done": true}));
    b.ok("abort", pad());
    assert_eq!(meta(&b)["mod"], before["mod"]);
}

#[test]
fn abort_rolls_back_everything_applied() {
    let server = Server::start(&[]);
    let mid = basic_notetype_id(&server);
    let a = Sess {
        server: &server,
        skey: "A",
    };
    let usn = meta(&a)["usn"].as_i64().unwrap();
    a.ok("start", json!({"minUsn": usn, "lnewer": true}));
    a.ok(
        "applyChunk",
        json!({"chunk": {"done": true, "notes": [note_row(7, mid, usn, "gone")], "cards": [card_row(8, 7, usn)]}}),
    );
    a.ok("abort", pad());
    a.ok("start", json!({"minUsn": 0, "lnewer": false}));
    a.ok(
        "applyChanges",
        json!({"changes": {"models": [], "decks": [[], []], "tags": []}}),
    );
    assert_eq!(a.ok("chunk", pad()), json!({"done": true}));
    a.ok("abort", pad());
}

#[test]
fn steps_without_a_session_key_are_bad_requests() {
    let server = Server::start(&[]);
    let nokey = Sess {
        server: &server,
        skey: "",
    };
    assert_eq!(
        nokey.status("start", json!({"minUsn": 0, "lnewer": false})),
        400
    );
    assert_eq!(nokey.status("chunk", pad()), 400);
}

#[test]
fn a_server_killed_mid_sync_restarts_with_the_collection_as_before() {
    let mut server = Server::start(&[]);
    let mid = basic_notetype_id(&server);
    let path = server.base.join("user/collection.anki2");
    let a = Sess {
        server: &server,
        skey: "A",
    };
    let before = meta(&a);
    let usn = before["usn"].as_i64().unwrap();
    a.ok("start", json!({"minUsn": usn, "lnewer": true}));
    a.ok(
        "applyGraves",
        json!({"chunk": {"cards": [], "notes": [], "decks": [1]}}),
    );
    a.ok(
        "applyChunk",
        json!({"chunk": {"done": true, "notes": [note_row(9, mid, usn, "lost")], "cards": [card_row(10, 9, usn)]}}),
    );
    // kill -9: no chance to roll back or close anything.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let conn = rusqlite::Connection::open(&path).unwrap();
    kioku::collection::register_unicase(&conn).unwrap();
    let (notes, decks, col_usn): (i64, i64, i64) = conn
        .query_row(
            "select (select count(*) from notes), (select count(*) from decks where id = 1), usn from col",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (notes, decks, col_usn),
        (0, 1, usn),
        "the half-done sync left traces"
    );
    let ok: String = conn
        .query_row("pragma integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}
