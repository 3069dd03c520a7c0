//! First run in a real browser: headless Chromium, driven over the DevTools
//! protocol, walks from the setup page's first-run form to the admin pages
//! (over HTTPS, as kioku redirects there) and adds a user — really
//! submitting the forms, with their cookies and CSRF tokens. Screenshots at
//! phone and desktop width are kept as test artifacts under
//! target/tmp/admin-pages/.
//!
//! Needs `chromium` (Debian package); fails, never skips, without it.

mod cdp;
mod common;

use std::path::{Path, PathBuf};

use cdp::Browser;
use common::{temp_dir, Server, NO_USERS};

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
