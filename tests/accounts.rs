//! Accounts end to end over raw HTTP against a real `kioku serve`: the
//! first-run form (once, then 403), the admin pages' session and CSRF
//! checks, the redirect of plain-HTTP admin requests to HTTPS, and login
//! protection shared by the sync login and the admin login.

mod common;

use common::admin::{
    add_admin, admin_login, get, hidden, login_form, post, set_cookie, text, try_admin_login,
};
use common::{Server, NO_USERS};

fn health_users(server: &Server) -> u64 {
    let resp = get(server, "/health", &[]);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    v["users"].as_u64().unwrap()
}

#[test]
fn the_first_run_form_creates_one_admin_account_and_is_then_gone_for_good() {
    let server = Server::start(&[NO_USERS]);
    assert_eq!(health_users(&server), 0);
    assert!(
        server.log().contains("no user yet: open http://127.0.0.1:"),
        "the log says where to go:\n{}",
        server.log()
    );
    let page = get(&server, "/", &[]);
    assert_eq!(page.status, 200);
    let html = text(&page);
    assert!(html.contains("action=\"/setup/first-account\""), "{html}");
    assert!(html.contains("Sync URLs"), "still the setup page: {html}");
    let cookie = set_cookie(&page, "kioku_form").expect("a form cookie");
    let token = hidden(&html, "token");
    let account = [
        ("token", token.as_str()),
        ("name", "admin"),
        ("password", "first password"),
        ("password2", "first password"),
    ];
    // Without the form cookie (as from another site), or without the token.
    assert_eq!(
        post(&server, "/setup/first-account", &[], &account).status,
        403
    );
    let no_token = [account[1], account[2], account[3]];
    assert_eq!(
        post(&server, "/setup/first-account", &[&cookie], &no_token).status,
        403
    );
    // A mismatch or a bad name is explained, and nothing is made.
    let mismatch = [
        account[0],
        account[1],
        account[2],
        ("password2", "other password"),
    ];
    let resp = post(&server, "/setup/first-account", &[&cookie], &mismatch);
    assert_eq!(resp.status, 400);
    assert!(text(&resp).contains("differ"), "{}", text(&resp));
    let reserved = [account[0], ("name", "tls"), account[2], account[3]];
    let resp = post(&server, "/setup/first-account", &[&cookie], &reserved);
    assert_eq!(resp.status, 400);
    assert!(text(&resp).contains("taken by kioku"), "{}", text(&resp));
    assert_eq!(health_users(&server), 0);
    // The real thing.
    let resp = post(&server, "/setup/first-account", &[&cookie], &account);
    assert_eq!(resp.status, 200, "{}", text(&resp));
    assert!(text(&resp).contains("Account created"), "{}", text(&resp));
    assert_eq!(health_users(&server), 1);
    let stored = std::fs::read_to_string(server.base.join("users.toml")).unwrap();
    assert!(
        stored.contains("name = \"admin\"") && stored.contains("admin = true"),
        "{stored}"
    );
    assert!(stored.contains("$pbkdf2-sha256$i=600000,l=32$"), "{stored}");
    // A second POST, even with a valid token, is refused; the form is gone.
    let second = [account[0], ("name", "intruder"), account[2], account[3]];
    let resp = post(&server, "/setup/first-account", &[&cookie], &second);
    assert_eq!(resp.status, 403);
    assert_eq!(health_users(&server), 1);
    assert!(!text(&get(&server, "/", &[])).contains("first-account"));
    // The new account logs in to sync.
    let resp = server.sync("hostKey", "", r#"{"u":"admin","p":"first password"}"#);
    assert!(resp.sync_json()["key"].as_str().unwrap().len() == 40);
}

#[test]
fn admin_forms_need_a_session_and_its_csrf_token() {
    let server = &Server::start(&[NO_USERS, ("KIOKU_NO_TLS", "1")]);
    add_admin(&server.base, "boss", "boss password");
    let (session, html) = admin_login(server, "boss", "boss password");
    assert!(
        html.contains("Add a user") && html.contains("boss"),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");
    let new_user = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("name", "carol".to_owned()),
            ("password", "carol password".to_owned()),
            ("password2", "carol password".to_owned()),
        ]
    };
    let send = |cookies: &[&str], fields: Vec<(&str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(server, "/admin/users", cookies, &fields)
    };
    // Missing token, wrong token, no session: 403, nothing added.
    let mut missing = new_user("");
    missing.remove(0);
    assert_eq!(send(&[&session], missing).status, 403);
    let wrong = "0".repeat(64);
    assert_eq!(send(&[&session], new_user(&wrong)).status, 403);
    let resp = send(&[], new_user(&csrf));
    assert_eq!(resp.status, 403);
    assert!(text(&resp).contains("not logged in"), "{}", text(&resp));
    let forged = "kioku_session=".to_owned() + &"a".repeat(64);
    assert_eq!(send(&[&forged], new_user(&csrf)).status, 403);
    assert_eq!(health_users(server), 1);
    // With both: added.
    let resp = send(&[&session], new_user(&csrf));
    assert_eq!(resp.status, 303, "{}", text(&resp));
    assert_eq!(
        resp.header("location"),
        Some("/admin?done=added&name=carol")
    );
    assert_eq!(health_users(server), 2);
    // Without a session the admin pages show only the login form.
    let html = text(&get(server, "/admin", &[]));
    assert!(html.contains("Log in") && !html.contains("carol"), "{html}");
    let resp = get(server, "/admin/user/carol", &[]);
    assert_eq!(resp.status, 303);
    // A non-admin cannot log in to the admin pages.
    let form = login_form(server);
    let resp = try_admin_login(server, &form, "carol", "carol password");
    assert_eq!(resp.status, 403);
    assert!(text(&resp).contains("not an admin"), "{}", text(&resp));
    // The login form itself needs its token.
    let fields = [("name", "boss"), ("password", "boss password")];
    let resp = post(server, "/admin/login", &[&form.0], &fields);
    assert_eq!(resp.status, 403);
    // Logging out ends the session: its cookie no longer works.
    let resp = post(server, "/admin/logout", &[&session], &[("csrf", &csrf)]);
    assert_eq!(resp.status, 303);
    let resp = send(&[&session], new_user(&csrf));
    assert_eq!(resp.status, 403);
}

#[test]
fn a_password_change_ends_the_admins_session_and_sync_keys() {
    let server = Server::start(&[NO_USERS, ("KIOKU_NO_TLS", "1")]);
    add_admin(&server.base, "boss", "boss password");
    let (session, html) = admin_login(&server, "boss", "boss password");
    let csrf = hidden(&html, "csrf");
    let key = server
        .sync("hostKey", "", r#"{"u":"boss","p":"boss password"}"#)
        .sync_json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        server.sync("meta", &key, r#"{"v":11,"cv":"test"}"#).status,
        200
    );
    let user_page = get(&server, "/admin/user/boss", &[&session]);
    assert_eq!(user_page.status, 200);
    assert!(text(&user_page).contains("New password"));
    let resp = post(
        &server,
        "/admin/user/boss/password",
        &[&session],
        &[
            ("csrf", &csrf),
            ("password", "new boss password"),
            ("password2", "new boss password"),
        ],
    );
    assert_eq!(resp.status, 303, "{}", text(&resp));
    assert_eq!(
        server.sync("meta", &key, r#"{"v":11,"cv":"test"}"#).status,
        403
    );
    let html = text(&get(&server, "/admin", &[&session]));
    assert!(html.contains("Log in"), "the session ended: {html}");
    admin_login(&server, "boss", "new boss password");
}

#[test]
fn plain_http_admin_requests_go_to_the_https_port_when_tls_is_on() {
    let server = Server::start(&[]);
    let resp = server.request(
        "GET",
        "/admin/user/x?y=1",
        &[("host", "kioku.local:8080")],
        b"",
    );
    assert_eq!(resp.status, 307);
    assert_eq!(
        resp.header("location").unwrap(),
        format!("https://127.0.0.1:{}/admin/user/x?y=1", server.tls_port)
    );
}

#[test]
fn the_sync_login_and_the_admin_login_share_the_login_protection() {
    let server = Server::start(&[
        ("KIOKU_LOGIN_FREE_FAILURES", "2"),
        ("KIOKU_LOGIN_DELAY_MS", "3000"),
        ("KIOKU_LOGIN_LOCKOUT_SECS", "10"),
        ("KIOKU_NO_TLS", "1"),
    ]);
    let form = login_form(&server);
    let admin_try = |password: &str| try_admin_login(&server, &form, "user", password);
    // Two free failures on the admin page, the third starts a 3 s wait.
    for _ in 0..3 {
        assert_eq!(admin_try("wrong").status, 403);
    }
    let resp = admin_try("pass");
    assert_eq!(resp.status, 429, "{}", text(&resp));
    assert!(text(&resp).contains("Too many failed logins"));
    assert_eq!(resp.header("retry-after"), Some("3"));
    // The sync login from the same address waits too, even with the right
    // password, and is told so with 429 and Retry-After.
    let resp = server.sync("hostKey", "", r#"{"u":"user","p":"pass"}"#);
    assert_eq!(resp.status, 429);
    assert!(resp.header("retry-after").is_some());
    assert!(
        server.log().contains("failed login"),
        "failures are logged:\n{}",
        server.log()
    );
}
