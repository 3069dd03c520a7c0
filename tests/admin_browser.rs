//! First run in a real browser: headless Chromium, driven over the DevTools
//! protocol, walks from the setup page's first-run form to the admin pages
//! (over HTTPS, as kioku redirects there) and adds a user — really
//! submitting the forms, with their cookies and CSRF tokens; then a user's
//! page with backups and API keys: a key made (shown once) and a snapshot
//! restored through its confirmation. Screenshots at phone and desktop
//! width are kept as test artifacts under target/tmp/admin-pages/.
//!
//! Needs `chromium` (Debian package); fails, never skips, without it.

mod cdp;
mod common;

use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use serde_json::json;

use cdp::Browser;
use common::admin::add_admin;
use common::api::ok;
use common::{kioku, temp_dir, Server, HKEY, NO_USERS};

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-pages");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn onboarding_then_admin_login_then_adding_a_user_in_headless_chromium() {
    let server = Server::start(&[NO_USERS]);
    let shots = artifacts();
    let mut b = Browser::start(&temp_dir("chromium"), 390, 844, true);

    // 1. The setup page offers the first-run form.
    b.open(&format!("http://127.0.0.1:{}/", server.port));
    let text = b.text();
    assert!(text.contains("Create the first account"), "{text}");
    b.screenshot(&shots.join("01-setup-first-account-phone.png"));

    // 2. Create the first account.
    b.submit(
        "form[action='/setup/first-account']",
        &[
            ("name", "admin"),
            ("password", "first password"),
            ("password2", "first password"),
        ],
    );
    let text = b.text();
    assert!(text.contains("Account created"), "{text}");
    b.screenshot(&shots.join("02-account-created-phone.png"));

    // 3. The admin page is on HTTPS; log in there.
    b.open(&format!("http://127.0.0.1:{}/admin", server.port));
    let url = b.url();
    assert!(
        url.starts_with(&format!("https://127.0.0.1:{}/admin", server.tls_port)),
        "redirected to HTTPS: {url}"
    );
    assert!(b.text().contains("Log in with an admin account"));
    b.screenshot(&shots.join("03-admin-login-phone.png"));
    b.submit(
        "form[action='/admin/login']",
        &[("name", "admin"), ("password", "first password")],
    );
    let text = b.text();
    assert!(
        text.contains("Add a user") && text.contains("Users (1)"),
        "{text}"
    );
    let cookies = b.cookies();
    let session = cookies
        .iter()
        .find(|c| c["name"] == "__Host-kioku_session")
        .unwrap_or_else(|| panic!("no session cookie: {cookies:?}"));
    assert_eq!(session["secure"], true, "{session}");
    assert_eq!(session["httpOnly"], true, "{session}");
    assert_eq!(session["sameSite"], "Strict", "{session}");
    b.screenshot(&shots.join("04-admin-overview-phone.png"));

    // 4. Add a user with the form (its CSRF token comes with the page).
    b.submit(
        "form[action='/admin/users']",
        &[
            ("name", "bob"),
            ("password", "bob's password"),
            ("password2", "bob's password"),
            ("admin", ""),
        ],
    );
    let text = b.text();
    assert!(text.contains("User \"bob\" added."), "{text}");
    assert!(text.contains("Users (2)"), "{text}");
    b.screenshot(&shots.join("05-user-added-phone.png"));
    b.open(&format!(
        "https://127.0.0.1:{}/admin/user/bob",
        server.tls_port
    ));
    assert!(b.text().contains("New password"));
    b.screenshot(&shots.join("06-user-page-phone.png"));
    drop(b);

    // The same overview at desktop width.
    // A mistyped password first: refused, and listed under login protection.
    let mut d = Browser::start(&temp_dir("chromium"), 1280, 900, false);
    d.open(&format!("https://127.0.0.1:{}/admin", server.tls_port));
    d.submit(
        "form[action='/admin/login']",
        &[("name", "admin"), ("password", "mistyped")],
    );
    assert!(d.text().contains("Wrong user name or password."));
    d.screenshot(&shots.join("07-admin-login-refused-desktop.png"));
    d.submit(
        "form[action='/admin/login']",
        &[("name", "admin"), ("password", "first password")],
    );
    let text = d.text();
    assert!(text.contains("Users (2)"), "{text}");
    assert!(text.contains("address 127.0.0.1"), "{text}");
    d.screenshot(&shots.join("08-admin-overview-desktop.png"));
    drop(d);

    // bob is a real account: the sync login works.
    let resp = server.sync("hostKey", "", r#"{"u":"bob","p":"bob's password"}"#);
    assert_eq!(resp.sync_json()["key"].as_str().unwrap().len(), 40);
    let stored = std::fs::read_to_string(server.base.join("users.toml")).unwrap();
    assert!(stored.contains("name = \"bob\""), "{stored}");
}

/// `kioku apikey create USER --label LABEL` on the server's folder: the key.
fn make_labelled_key(server: &Server, user: &str, label: &str) -> String {
    let out = kioku()
        .args(["apikey", "create", user, "--label", label, "--base"])
        .arg(&server.base)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn add_note(server: &Server, key: &str, front: &str) {
    let note = json!({"note": {"deckName": "Default", "modelName": "Basic",
        "fields": {"Front": front, "Back": "back"}}});
    ok(server, key, "addNote", note);
}

fn backups(server: &Server) -> Vec<String> {
    std::fs::read_dir(server.base.join("user").join("backups"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".anki2.zst"))
                .collect()
        })
        .unwrap_or_default()
}

/// Logs in as "admin" and opens the page of the user "user".
fn open_users_page(b: &mut Browser, https: &str) {
    b.open(&format!("{https}/admin"));
    b.submit(
        "form[action='/admin/login']",
        &[("name", "admin"), ("password", "admin password")],
    );
    b.open(&format!("{https}/admin/user/user"));
}

/// The kinds of the snapshots listed on a user's page, in order.
fn kinds(b: &mut Browser) -> String {
    let script = "Array.from(document.querySelectorAll('#backups ~ div tbody td[title]'))\
                  .map(td => td.textContent).join(',')";
    b.eval(script).as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_users_page_lists_backups_and_api_keys_makes_a_key_and_restores_in_headless_chromium() {
    let server = Server::start(&[("KIOKU_BACKUP_CHECK_SECS", "1")]);
    add_admin(&server.base, "admin", "admin password");
    let shots = artifacts();
    // Snapshots of all three kinds come from real work: a daily one after
    // notes were added through the API, an upload one when an older copy
    // is uploaded over the collection, and a restore one below.
    let key = make_labelled_key(&server, "user", "yomitan laptop");
    make_labelled_key(&server, "user", "koreader");
    add_note(&server, &key, "hello");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !backups(&server).iter().any(|n| n.starts_with("daily-")) {
        assert!(Instant::now() < deadline, "no daily snapshot within 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let older = server.sync("download", HKEY, "{}").sync_body();
    add_note(&server, &key, "world");
    let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"t","s":"s"}}"#);
    let body = zstd::bulk::compress(&older, 1).unwrap();
    let resp = server.request("POST", "/sync/upload", &[("anki-sync", &header)], &body);
    assert_eq!(resp.sync_body(), b"OK");
    assert_eq!(backups(&server).len(), 2, "{:?}", backups(&server));

    let https = format!("https://127.0.0.1:{}", server.tls_port);
    let mut d = Browser::start(&temp_dir("chromium"), 1280, 900, false);
    open_users_page(&mut d, &https);
    let text = d.text();
    assert_eq!(kinds(&mut d), "upload,daily", "newest first");
    assert_eq!(text.matches("Restore…").count(), 2, "{text}");
    for want in [
        "AnkiConnect API keys",
        "yomitan laptop",
        "koreader",
        "Revoke",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert!(!text.contains(&key), "keys are never shown again");
    d.screenshot(&shots.join("09-user-backups-and-keys-desktop.png"));

    d.submit(
        "form[action='/admin/user/user/new-key']",
        &[("label", "obsidian")],
    );
    let text = d.text();
    assert!(text.contains("Copy it now"), "{text}");
    d.screenshot(&shots.join("10-new-api-key-desktop.png"));

    // The newest snapshot (the upload one) first: its Restore… asks first.
    d.submit("form[action='/admin/user/user/restore']", &[]);
    let text = d.text();
    assert!(text.contains("Restore user's collection?"), "{text}");
    d.screenshot(&shots.join("11-restore-confirm-desktop.png"));
    d.submit("form[action='/admin/user/user/restore']", &[]);
    let text = d.text();
    assert!(text.contains("will be asked to do a full sync"), "{text}");
    assert!(text.contains("kept as the restore snapshot"), "{text}");
    assert_eq!(kinds(&mut d), "restore,upload,daily");
    d.screenshot(&shots.join("12-restored-desktop.png"));
    drop(d);

    let mut b = Browser::start(&temp_dir("chromium"), 390, 844, true);
    open_users_page(&mut b, &https);
    assert!(b.text().contains("obsidian"));
    b.screenshot(&shots.join("13-user-backups-and-keys-phone.png"));
    // The restored collection holds the notes of the upload snapshot.
    let found = ok(&server, &key, "findNotes", json!({"query": "world"}));
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
}
