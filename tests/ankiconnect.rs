//! The AnkiConnect API over raw HTTP against a real `kioku serve`: the
//! envelope, `multi`, the banner, CORS, and the request sequences Yomitan,
//! Obsidian_to_Anki and the KOReader plugin send (bytes as those tools
//! frame them, from their source), answered the way those tools accept.

mod common;

use serde_json::{json, Value};

use common::api::{call, err, make_key, ok, post, send_raw};
use common::Server;

const EXTENSION: &str = "chrome-extension://likgccmbimhjbgkjambclfkhldnlhbnn";

#[test]
fn the_envelope_follows_the_version_and_errors_are_objects_at_every_version() {
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    // no version means 4: the bare result
    assert_eq!(
        call(&server, &json!({"action": "version", "key": key})),
        json!(6)
    );
    assert_eq!(
        call(
            &server,
            &json!({"action": "version", "version": 4, "key": key})
        ),
        json!(6)
    );
    // 5 and up: exactly {result, error}
    let v6 = call(
        &server,
        &json!({"action": "version", "version": 6, "key": key}),
    );
    assert_eq!(v6, json!({"result": 6, "error": null}));
    assert_eq!(v6.as_object().unwrap().len(), 2);
    // errors are objects even for version 2
    for version in [2, 6] {
        let reply = call(
            &server,
            &json!({"action": "guiEditNote", "version": version, "key": key}),
        );
        assert_eq!(
            reply,
            json!({"result": null, "error": "unsupported action"})
        );
    }
    // a bad key is refused before the action is even looked up
    assert_eq!(
        call(
            &server,
            &json!({"action": "noSuchAction", "version": 6, "key": "wrong"})
        ),
        json!({"result": null, "error": "valid api key must be provided"})
    );
    // unknown parameters are ignored (Yomitan sends sync a version)
    assert_eq!(
        call(
            &server,
            &json!({"action": "sync", "version": 2, "key": key, "params": {"version": 2}})
        ),
        Value::Null
    );
    // nested multi: each item with its own version, key and error
    let reply = ok(
        &server,
        &key,
        "multi",
        json!({"actions": [
            {"action": "version", "key": key},
            {"action": "version", "version": 6, "key": key},
            {"action": "version", "version": 6},
            {"action": "multi", "version": 6, "key": key, "params": {"actions": [
                {"action": "deckNames", "version": 6, "key": key},
                {"action": "bogus", "version": 6, "key": key}
            ]}}
        ]}),
    );
    assert_eq!(
        reply,
        json!([
            6,
            {"result": 6, "error": null},
            {"result": null, "error": "valid api key must be provided"},
            {"result": [
                {"result": ["Default"], "error": null},
                {"result": null, "error": "unsupported action"}
            ], "error": null}
        ])
    );
    // runaway nesting ends with an error, not a stack overflow
    let mut deep = json!({"action": "version", "key": key});
    for _ in 0..20 {
        deep = json!({"action": "multi", "version": 6, "key": key, "params": {"actions": [deep]}});
    }
    assert!(call(&server, &deep).to_string().contains("nested at most"));
}

#[test]
fn an_empty_body_gets_the_banner_and_a_malformed_one_an_error_reply() {
    let server = Server::start(&[]);
    let banner = send_raw(
        server.api_port,
        b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
    );
    assert_eq!(
        (banner.status, banner.body.as_slice()),
        (200, b"AnkiConnect v.6".as_slice())
    );
    assert_eq!(
        banner.header("access-control-allow-origin"),
        Some("http://localhost")
    );
    for (body, want) in [
        ("{not json", "line 1"),
        (r#"{"version": 6}"#, "'action' is a required property"),
        (r#"{"action": 5}"#, "is not of type 'string'"),
        (
            r#"{"action": "version", "params": []}"#,
            "is not of type 'object'",
        ),
    ] {
        let resp = post(server.api_port, "/", &[], body);
        assert_eq!(resp.status, 200);
        let reply: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(reply["result"], Value::Null);
        assert!(
            reply["error"].as_str().unwrap().contains(want),
            "{body}: {reply}"
        );
    }
    // the same API under /ankiconnect on the sync port
    let resp = server.request("POST", "/ankiconnect", &[], b"");
    assert_eq!(resp.body, b"AnkiConnect v.6");
}

#[test]
fn bodies_over_the_limit_get_413_without_being_read_whole() {
    let server = Server::start(&[("KIOKU_ANKICONNECT_MAX_MEDIA_MEGS", "1")]);
    let key = make_key(&server, "user");
    let big = "A".repeat(3 * 1024 * 1024);
    let body = json!({"action": "storeMediaFile", "version": 6, "key": key,
                      "params": {"filename": "big.bin", "data": big}})
    .to_string();
    let resp = post(server.api_port, "/", &[], &body);
    assert_eq!(resp.status, 413);
    assert!(String::from_utf8_lossy(&resp.body).contains("over the limit"));
    // a file just under the limit is stored
    let data = base64_of(&vec![7u8; 1024 * 1024 - 10]);
    let name = ok(
        &server,
        &key,
        "storeMediaFile",
        json!({"filename": "ok.bin", "data": data}),
    );
    assert_eq!(name, "ok.bin");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A request as Chrome sends an extension's `fetch(…, {mode: "cors"})`.
fn chrome(port: u16, body: &Value) -> common::Response {
    let body = body.to_string();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\
         Content-Length: {}\r\nsec-ch-ua-platform: \"Linux\"\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36\r\n\
         Content-Type: application/json\r\nAccept: */*\r\nOrigin: {EXTENSION}\r\n\
         Sec-Fetch-Site: none\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n\
         Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n{body}",
        body.len()
    );
    send_raw(port, req.as_bytes())
}

/// Yomitan: `version: 2`, the key in every request (and every multi item),
/// bare results, error objects it recognises.
fn yomitan(port: u16, key: &str, action: &str, params: Value) -> Value {
    let resp = chrome(
        port,
        &json!({"action": action, "params": params, "version": 2, "key": key}),
    );
    assert_eq!(resp.status, 200, "{action}");
    assert_eq!(resp.header("access-control-allow-origin"), Some(EXTENSION));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    serde_json::from_slice(&resp.body).unwrap()
}

#[test]
fn yomitans_requests_get_the_replies_yomitan_accepts() {
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    let port = server.api_port;
    // the preflight, with Chrome's private network access request
    let pre = send_raw(
        port,
        format!(
            "OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\nAccept: */*\r\n\
             Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\
             Access-Control-Request-Private-Network: true\r\nOrigin: {EXTENSION}\r\n\
             Sec-Fetch-Mode: cors\r\nSec-Fetch-Site: none\r\nSec-Fetch-Dest: empty\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(pre.status, 200);
    assert!(pre.body.is_empty());
    assert_eq!(pre.header("access-control-allow-origin"), Some(EXTENSION));
    assert_eq!(pre.header("access-control-allow-headers"), Some("*"));
    assert_eq!(
        pre.header("access-control-allow-private-network"),
        Some("true")
    );

    assert_eq!(yomitan(port, &key, "version", json!({})), json!(6));
    assert_eq!(
        yomitan(port, &key, "deckNames", json!({})),
        json!(["Default"])
    );
    let models = yomitan(port, &key, "modelNames", json!({}));
    assert!(models.as_array().unwrap().contains(&json!("Basic")));
    assert_eq!(
        yomitan(port, &key, "modelFieldNames", json!({"modelName": "Basic"})),
        json!(["Front", "Back"])
    );
    for query in ["\"よむ\" deck:current", "\"よむ\"", "deck:current"] {
        // the settings page's test queries: ids, or an error Yomitan reports
        let reply = yomitan(port, &key, "findNotes", json!({"query": query}));
        assert!(
            reply.is_array() || reply["error"].is_string(),
            "{query}: {reply}"
        );
    }
    assert_eq!(
        yomitan(port, &key, "findNotes", json!({"query": ""})),
        json!([])
    );

    let scope = json!({"deckName": null, "checkChildren": false, "checkAllModels": false});
    let note = |first: bool| {
        let mut fields = json!({"Front": "犬"});
        if !first {
            fields["Back"] = json!("<b>dog</b>");
        }
        json!({"deckName": "Default", "modelName": "Basic", "fields": fields, "tags": ["yomitan"],
               "options": {"allowDuplicate": false, "duplicateScope": "deck",
                           "duplicateScopeOptions": scope}})
    };
    let check = json!({"notes": [note(true)]});
    assert_eq!(
        yomitan(port, &key, "canAddNotesWithErrorDetail", check.clone()),
        json!([{"canAdd": true}])
    );
    let nid = yomitan(port, &key, "addNote", json!({"note": note(false)}));
    assert!(nid.is_i64(), "{nid}");
    let detail = yomitan(port, &key, "canAddNotesWithErrorDetail", check.clone());
    assert_eq!(detail[0]["canAdd"], json!(false));
    assert!(detail[0]["error"]
        .as_str()
        .unwrap()
        .contains("cannot create note because it is a duplicate"));
    assert_eq!(yomitan(port, &key, "canAddNotes", check), json!([false]));
    // duplicate lookup: a multi of findNotes, the key copied into each item
    let found = yomitan(
        port,
        &key,
        "multi",
        json!({"actions": [
            {"action": "findNotes", "params": {"query": "\"deck:Default\" \"front:犬\""}, "key": key},
            {"action": "findNotes", "params": {"query": "\"front:猫\""}, "key": key}
        ]}),
    );
    assert_eq!(found, json!([[nid], []]));
    let info = yomitan(port, &key, "notesInfo", json!({"notes": [nid, 1]}));
    assert_eq!(info[0]["noteId"], nid);
    assert_eq!(
        info[0]["fields"]["Back"],
        json!({"value": "<b>dog</b>", "order": 1})
    );
    assert_eq!(info[1], json!({}));
    let cids = info[0]["cards"].clone();
    let cards = yomitan(port, &key, "cardsInfo", json!({"cards": cids}));
    assert_eq!(cards[0]["note"], nid);
    assert_eq!(
        (cards[0]["flags"].clone(), cards[0]["queue"].clone()),
        (json!(0), json!(0))
    );
    // overwrite mode needs a null result
    let update = json!({"note": {"id": nid, "fields": {"Back": "dog!"}}});
    assert_eq!(yomitan(port, &key, "updateNoteFields", update), Value::Null);
    let stored = yomitan(
        port,
        &key,
        "storeMediaFile",
        json!({"filename": "yomitan_audio.mp3", "data": "SUQzBAAAAAAA"}),
    );
    assert_eq!(stored, json!("yomitan_audio.mp3"));
    // view: guiEditNote is unsupported, so Yomitan falls back to guiBrowse
    assert_eq!(
        yomitan(port, &key, "guiEditNote", json!({"note": nid}))["error"],
        "unsupported action"
    );
    assert_eq!(
        yomitan(
            port,
            &key,
            "guiBrowse",
            json!({"query": format!("nid:{nid}")})
        ),
        cids
    );
    let card_ids = yomitan(
        port,
        &key,
        "findCards",
        json!({"query": format!("nid:{nid}")}),
    );
    assert_eq!(card_ids, cids);
    assert_eq!(
        yomitan(port, &key, "suspend", json!({"cards": card_ids})),
        json!(true)
    );
    assert_eq!(
        yomitan(port, &key, "sync", json!({"version": 2})),
        Value::Null
    );
    let reflect = yomitan(
        port,
        &key,
        "apiReflect",
        json!({"scopes": ["actions"], "actions": ["guiEditNote", "addNote"]}),
    );
    assert_eq!(
        reflect,
        json!({"scopes": ["actions"], "actions": ["addNote"]})
    );
}

/// An XHR from Obsidian (no content type set: a "simple" request).
fn obsidian(port: u16, body: &Value) -> common::Response {
    let body = body.to_string();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) obsidian/1.8.10 Chrome/132.0.6834.210 Electron/34.3.0 Safari/537.36\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nAccept: */*\r\nOrigin: app://obsidian.md\r\n\
         Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n\
         Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US\r\n\r\n{body}",
        body.len()
    );
    send_raw(port, req.as_bytes())
}

/// Obsidian_to_Anki's check of every reply: exactly `result` and `error`.
fn parse(reply: &Value) -> Value {
    let obj = reply.as_object().expect("an object");
    assert_eq!(obj.len(), 2, "{reply}");
    assert!(
        obj.contains_key("result") && obj.contains_key("error"),
        "{reply}"
    );
    reply["result"].clone()
}

#[test]
fn obsidian_to_ankis_requests_work_in_keyless_mode_once_its_origin_is_allowed() {
    // Not allowed by default: 403 with an empty body.
    let plain = Server::start(&[]);
    let refused = obsidian(
        plain.api_port,
        &json!({"action": "modelNames", "version": 6, "params": {}}),
    );
    assert_eq!(refused.status, 403);
    assert!(refused.body.is_empty());

    let server = Server::start(&[
        ("KIOKU_ANKICONNECT_ORIGINS", "app://obsidian.md"),
        ("KIOKU_ANKICONNECT_KEYLESS_USER", "user"),
        ("KIOKU_ANKICONNECT_KEYLESS_FROM", "127.0.0.1"),
    ]);
    let port = server.api_port;
    let send = |body: Value| {
        let resp = obsidian(port, &body);
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("access-control-allow-origin"),
            Some("app://obsidian.md")
        );
        serde_json::from_slice::<Value>(&resp.body).unwrap()
    };
    let models = parse(&send(
        json!({"action": "modelNames", "version": 6, "params": {}}),
    ));
    assert!(models.as_array().unwrap().contains(&json!("Basic")));
    let fields = parse(&send(
        json!({"action": "modelFieldNames", "version": 6, "params": {"modelName": "Basic"}}),
    ));
    assert_eq!(fields, json!(["Front", "Back"]));
    assert_eq!(
        parse(&send(
            json!({"action": "findNotes", "version": 6, "params": {"query": ""}})
        )),
        json!([])
    );
    let note = |front: &str| {
        json!({"deckName": "Obsidian::Notes", "modelName": "Basic",
        "fields": {"Front": front, "Back": "b"}, "options": {"allowDuplicate": false, "duplicateScope": "deck"},
        "tags": ["obsidian_to_anki"]})
    };
    let req =
        |action: &str, params: Value| json!({"action": action, "version": 6, "params": params});
    let multi = |actions: Vec<Value>| req("multi", json!({"actions": actions}));
    // requests_1: one multi of multis, as the plugin batches it
    let reply = send(multi(vec![
        multi(vec![
            req("createDeck", json!({"deck": "Obsidian::Notes"})),
            req("createDeck", json!({"deck": "Obsidian::Notes"})),
        ]),
        multi(vec![multi(vec![
            req("addNote", json!({"note": note("one")})),
            req("addNote", json!({"note": note("two")})),
            req("addNote", json!({"note": note("one")})),
        ])]),
        multi(vec![req("notesInfo", json!({"notes": []}))]),
        req("getTags", json!({})),
        multi(vec![]),
        multi(vec![req("deleteNotes", json!({"notes": []}))]),
        multi(vec![req(
            "storeMediaFile",
            json!({"filename": "pic.png", "path": "/home/me/vault/pic.png"}),
        )]),
    ]));
    let outer = parse(&reply);
    let decks = parse(&outer[0]);
    let deck_id = parse(&decks[0]);
    assert_eq!(parse(&decks[1]), deck_id, "createDeck is idempotent");
    let added = parse(&parse(&outer[1])[0]);
    let first = parse(&added[0]);
    assert!(first.is_i64() && parse(&added[1]).is_i64());
    assert_eq!(
        added[2]["error"],
        "cannot create note because it is a duplicate"
    );
    assert_eq!(parse(&outer[3]), json!(["obsidian_to_anki"]));
    let media = parse(&outer[6]);
    assert!(media[0]["error"]
        .as_str()
        .unwrap()
        .contains("cannot read files on your computer"));
    // requests_2: changeDeck, removeTags and addTags with space-separated tags
    let info = parse(&send(req("notesInfo", json!({"notes": [first]}))));
    let cards = info[0]["cards"].clone();
    let reply = send(multi(vec![
        multi(vec![req(
            "changeDeck",
            json!({"cards": cards, "deck": "Obsidian::Moved"}),
        )]),
        multi(vec![req(
            "removeTags",
            json!({"notes": [first], "tags": "obsidian_to_anki"}),
        )]),
        multi(vec![req(
            "addTags",
            json!({"notes": [first], "tags": "alpha beta obsidian_to_anki"}),
        )]),
    ]));
    for item in parse(&reply).as_array().unwrap() {
        for inner in parse(item).as_array().unwrap() {
            assert_eq!(parse(inner), Value::Null);
        }
    }
    let info = parse(&send(req("notesInfo", json!({"notes": [first]}))));
    assert_eq!(
        info[0]["tags"],
        json!(["alpha", "beta", "obsidian_to_anki"])
    );
    let card = parse(&send(req("cardsInfo", json!({"cards": cards}))));
    assert_eq!(card[0]["deckName"], "Obsidian::Moved");
}

#[test]
fn koreaders_requests_get_the_replies_the_plugin_accepts() {
    let server = Server::start(&[]);
    let key = make_key(&server, "user");
    let port = server.api_port;
    // LuaSocket's framing (ankiconnect.lua, post_requestpermission / post_request)
    let lua = |body: &str| {
        let req = format!(
            "POST / HTTP/1.1\r\nte: trailers\r\nhost: 127.0.0.1:{port}\r\nconnection: close, TE\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nuser-agent: LuaSocket 3.0-rc1\r\n\r\n{body}",
            body.len()
        );
        let resp = send_raw(port, req.as_bytes());
        assert_eq!(resp.status, 200);
        serde_json::from_slice::<Value>(&resp.body).unwrap()
    };
    let permission = lua(r#"{"version":6,"action":"requestPermission"}"#);
    assert_eq!(
        permission,
        json!({"result": {"permission": "granted", "requireApikey": true, "version": 6}, "error": null})
    );
    // a note with a picture (base64) and a Forvo audio URL; this URL is on
    // loopback, which kioku refuses to fetch: the note is added anyway and
    // the reason lands in the field, as AnkiConnect does with media errors
    let body = json!({"action": "addNote", "version": 6, "key": key, "params": {"note": {
        "deckName": "Default", "modelName": "Basic",
        "fields": {"Front": "word", "Back": "definition"},
        "tags": ["KOReader"],
        "options": {"allowDuplicate": false, "duplicateScope": "deck"},
        "picture": {"data": base64_of(b"\x89PNG fake"), "filename": "page.png", "fields": ["Back"]},
        "audio": {"url": "http://127.0.0.1:9/forvo.ogg", "filename": "forvo_word.ogg", "fields": ["Front"]}
    }}});
    let reply = lua(&body.to_string());
    let nid = reply["result"]
        .as_i64()
        .unwrap_or_else(|| panic!("{reply}"));
    let info = ok(&server, &key, "notesInfo", json!({"notes": [nid]}));
    assert_eq!(
        info[0]["fields"]["Back"]["value"],
        "definition<img src=\"page.png\">"
    );
    let front = info[0]["fields"]["Front"]["value"].as_str().unwrap();
    assert!(
        front.starts_with("word") && front.contains("refuses to download"),
        "{front}"
    );
    // the same note again: a duplicate error string the plugin shows
    let again = lua(&body.to_string());
    assert_eq!(
        again["error"],
        "cannot create note because it is a duplicate"
    );
    // undo of the last note
    assert_eq!(
        ok(&server, &key, "deleteNotes", json!({"notes": [nid]})),
        Value::Null
    );
    assert_eq!(
        ok(&server, &key, "notesInfo", json!({"notes": [nid]})),
        json!([{}])
    );
    assert!(err(&server, &key, "notesInfo", json!({})).contains("notes"));
}
