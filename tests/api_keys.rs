//! AnkiConnect API keys and accounts, over raw HTTP against a real `kioku
//! serve`: wrong keys go through the login protection of passwords (per
//! client address: slowed, then locked out, while other addresses go on),
//! the admin page makes (showing it once) and revokes a user's keys, and
//! removing a user — on the admin page or with `kioku user remove` —
//! revokes their keys, so a later account of the same name does not
//! inherit them.

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::admin::{add_admin, admin_login, get, hidden, post as form_post, text};
use common::api::{make_key, post};
use common::{kioku, output_with_stdin, Server};

/// A version-6 request to the API's own port as if from `client` (the
/// server trusts `X-Real-IP`, as behind a reverse proxy).
fn call_from(server: &Server, client: &str, key: &str, action: &str) -> Value {
    let body = json!({"action": action, "version": 6, "key": key}).to_string();
    let resp = post(
        server.api_port,
        "/",
        &[("content-type", "application/json"), ("x-real-ip", client)],
        &body,
    );
    assert_eq!(
        resp.status, 200,
        "AnkiConnect answers 200 even when it refuses"
    );
    serde_json::from_slice(&resp.body).unwrap()
}

fn error_of(reply: &Value) -> &str {
    assert_eq!(reply["result"], Value::Null, "{reply}");
    reply["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {reply}"))
}

const BAD_KEY: &str = "valid api key must be provided";

#[test]
fn wrong_keys_are_slowed_and_then_locked_out_per_address_like_passwords() {
    let server = Server::start(&[
        ("SYNC_IP_HEADER", "X-Real-IP"),
        ("KIOKU_LOGIN_FREE_FAILURES", "2"),
        ("KIOKU_LOGIN_DELAY_MS", "1000"),
        ("KIOKU_LOGIN_LOCKOUT_SECS", "2"),
    ]);
    let key = make_key(&server, "user");
    let guesser = "192.0.2.7";
    // Missing and empty keys guess nothing: not counted.
    for _ in 0..4 {
        assert_eq!(
            error_of(&call_from(&server, guesser, "", "deckNames")),
            BAD_KEY
        );
    }
    // Two free wrong keys; the third makes the address wait 1 s.
    for guess in ["aaaa", "bbbb", "cccc"] {
        assert_eq!(
            error_of(&call_from(&server, guesser, guess, "deckNames")),
            BAD_KEY
        );
    }
    let started = Instant::now();
    // Meanwhile even the right key is refused unchecked from there, with the
    // time to wait — in AnkiConnect's envelope, as tools expect.
    let reply = call_from(&server, guesser, &key, "deckNames");
    let text = error_of(&reply);
    assert!(
        text.contains("too many wrong API keys") && text.contains("try again in 1 s"),
        "{text}"
    );
    assert_eq!(reply.as_object().unwrap().len(), 2, "{reply}");
    // Another address is not affected.
    let reply = call_from(&server, "192.0.2.8", &key, "deckNames");
    assert_eq!(reply, json!({"result": ["Default"], "error": null}));
    // After the wait the next wrong key reaches the lockout (2 s here).
    std::thread::sleep(Duration::from_millis(1100).saturating_sub(started.elapsed()));
    assert_eq!(
        error_of(&call_from(&server, guesser, "dddd", "deckNames")),
        BAD_KEY
    );
    let text = error_of(&call_from(&server, guesser, &key, "version")).to_owned();
    assert!(text.contains("try again in 2 s"), "{text}");
    // The same count as passwords: the sync login from there waits too.
    let resp = server.request(
        "POST",
        "/sync/hostKey",
        &[
            ("anki-sync", r#"{"v":11,"k":"","c":"t","s":"s"}"#),
            ("x-real-ip", guesser),
        ],
        &zstd::bulk::compress(br#"{"u":"user","p":"pass"}"#, 1).unwrap(),
    );
    assert_eq!(resp.status, 429);
    // Visible to the admin: `kioku status` lists the locked-out address.
    let status = status_json(&server);
    let entry = status["throttled"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == guesser)
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(
        (entry["failures"].as_u64(), entry["locked_out"].as_bool()),
        (Some(4), Some(true))
    );
    let log = server.log();
    assert!(
        log.contains("AnkiConnect request refused unchecked"),
        "{log}"
    );
    assert!(log.contains("is locked out"), "{log}");
    // The lockout ends by itself.
    std::thread::sleep(Duration::from_millis(2100));
    let reply = call_from(&server, guesser, &key, "version");
    assert_eq!(reply, json!({"result": 6, "error": null}));
}

/// `kioku status --json` of the server's data folder.
fn status_json(server: &Server) -> Value {
    let out = kioku()
        .args(["status", "--json", "--base"])
        .arg(&server.base)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The key shown once on the page answering the "make a key" form.
fn shown_key(html: &str) -> String {
    let start = html
        .find("<code class=\"key\">")
        .unwrap_or_else(|| panic!("{html}"))
        + 18;
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

fn api_ok(server: &Server, key: &str) -> bool {
    let reply = call_from(server, "127.0.0.1", key, "deckNames");
    match reply["error"].as_str() {
        None => true,
        Some(BAD_KEY) => false,
        Some(other) => panic!("{other}"),
    }
}

fn add_user(server: &Server, name: &str) {
    let mut cmd = kioku();
    cmd.args(["user", "add", name, "--password-stdin", "--base"])
        .arg(&server.base)
        .env_clear();
    let out = output_with_stdin(&mut cmd, b"a long password\n");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn the_admin_page_makes_and_revokes_keys_and_removing_a_user_revokes_theirs() {
    let server = Server::start(&[("KIOKU_NO_TLS", "1"), ("SYNC_IP_HEADER", "X-Real-IP")]);
    add_admin(&server.base, "boss", "boss password");
    add_user(&server, "alice");
    let page = "/admin/user/alice";
    let (session, _) = admin_login(&server, "boss", "boss password");
    let html = text(&get(&server, page, &[&session]));
    assert!(
        html.contains("AnkiConnect API keys") && html.contains("No API keys."),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");
    let label = [("csrf", csrf.as_str()), ("label", "yomitan laptop")];
    assert_eq!(
        form_post(&server, &format!("{page}/new-key"), &[], &label).status,
        403
    );
    assert_eq!(
        form_post(
            &server,
            &format!("{page}/new-key"),
            &[&session],
            &label[1..]
        )
        .status,
        403
    );

    let resp = form_post(&server, &format!("{page}/new-key"), &[&session], &label);
    assert_eq!(resp.status, 200, "{}", text(&resp));
    let key = shown_key(&text(&resp));
    assert_eq!(key.len(), 32);
    assert!(
        api_ok(&server, &key),
        "the new key opens alice's collection"
    );
    let html = text(&get(&server, page, &[&session]));
    assert!(!html.contains(&key), "shown only once");
    assert!(html.contains("yomitan laptop"), "{html}");
    let id = hidden(&html[html.find("revoke-key").unwrap()..], "id");
    let revoke = [("csrf", csrf.as_str()), ("id", id.as_str())];
    assert_eq!(
        form_post(
            &server,
            &format!("{page}/revoke-key"),
            &[&session],
            &revoke[1..]
        )
        .status,
        403,
        "no token"
    );
    assert!(api_ok(&server, &key));
    // Another user's page cannot reach alice's key.
    let boss_revoke = form_post(&server, "/admin/user/boss/revoke-key", &[&session], &revoke);
    assert_eq!(boss_revoke.status, 404);
    assert!(api_ok(&server, &key));
    let resp = form_post(&server, &format!("{page}/revoke-key"), &[&session], &revoke);
    assert_eq!(resp.status, 303);
    assert!(!api_ok(&server, &key), "revoked at once");
    let html = text(&get(&server, resp.header("location").unwrap(), &[&session]));
    assert!(html.contains(&format!("API key {id} revoked")), "{html}");

    // Removing alice on the admin page revokes her keys (made by the CLI
    // here); a new account named alice does not inherit them.
    let cli_key = make_key(&server, "alice");
    assert!(api_ok(&server, &cli_key));
    let remove = [("csrf", csrf.as_str()), ("confirm", "yes")];
    let resp = form_post(&server, &format!("{page}/remove"), &[&session], &remove);
    assert_eq!(resp.status, 303, "{}", text(&resp));
    let keys = std::fs::read_to_string(server.base.join("apikeys.json")).unwrap();
    assert!(!keys.contains("\"alice\""), "{keys}");
    add_user(&server, "alice");
    assert!(!api_ok(&server, &cli_key), "the new alice has no keys");

    // The same with `kioku user remove`.
    add_user(&server, "carol");
    let carol = make_key(&server, "carol");
    let users_key = make_key(&server, "user");
    assert!(api_ok(&server, &carol));
    let out = kioku()
        .args(["user", "remove", "carol", "--base"])
        .arg(&server.base)
        .env_clear()
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        said.contains("removed carol and revoked their API key"),
        "{said}"
    );
    assert!(!api_ok(&server, &carol));
    assert!(api_ok(&server, &users_key), "other users' keys stay");
    // `kioku status` counts each user's keys.
    let status = status_json(&server);
    let counts: Vec<(String, Value)> = status["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_owned(),
                u["api_keys"].clone(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("alice".to_owned(), json!(0)),
            ("boss".to_owned(), json!(0)),
            ("user".to_owned(), json!(1))
        ]
    );
}
