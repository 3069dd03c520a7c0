//! Helpers for tests of the admin pages over raw HTTP: forms with cookies,
//! hidden fields, a stored admin made with the CLI, and an admin login.

use super::{kioku, output_with_stdin, Response, Server};

/// The `name=value` of a `Set-Cookie` header for `name`.
pub fn set_cookie(resp: &Response, name: &str) -> Option<String> {
    resp.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in:\n{html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub fn text(resp: &Response) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

/// A form POST with `cookies`.
pub fn post(server: &Server, path: &str, cookies: &[&str], fields: &[(&str, &str)]) -> Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let cookie = cookies.join("; ");
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if !cookie.is_empty() {
        headers.push(("cookie", &cookie));
    }
    server.request("POST", path, &headers, body.as_bytes())
}

/// A GET with `cookies`.
pub fn get(server: &Server, path: &str, cookies: &[&str]) -> Response {
    let cookie = cookies.join("; ");
    if cookie.is_empty() {
        server.request("GET", path, &[], b"")
    } else {
        server.request("GET", path, &[("cookie", &cookie)], b"")
    }
}

/// Adds a stored admin with the CLI.
pub fn add_admin(base: &std::path::Path, name: &str, password: &str) {
    let mut cmd = kioku();
    cmd.args(["user", "add", name, "--admin", "--password-stdin"])
        .env_clear()
        .env("SYNC_BASE", base);
    let out = output_with_stdin(&mut cmd, format!("{password}\n").as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
}

/// The admin login form's cookie and token.
pub fn login_form(server: &Server) -> (String, String) {
    let page = get(server, "/admin", &[]);
    assert_eq!(page.status, 200);
    let cookie = set_cookie(&page, "kioku_form").expect("a form cookie");
    (cookie, hidden(&text(&page), "token"))
}

/// Sends the admin login form.
pub fn try_admin_login(
    server: &Server,
    form: &(String, String),
    name: &str,
    password: &str,
) -> Response {
    let (cookie, token) = form;
    let fields = [
        ("token", token.as_str()),
        ("name", name),
        ("password", password),
    ];
    post(server, "/admin/login", &[cookie], &fields)
}

/// Logs in on the admin page (plain HTTP: the server runs without TLS);
/// returns the session cookie and the overview page.
pub fn admin_login(server: &Server, name: &str, password: &str) -> (String, String) {
    let resp = try_admin_login(server, &login_form(server), name, password);
    assert_eq!(resp.status, 303, "{}", text(&resp));
    let session = set_cookie(&resp, "kioku_session").expect("a session cookie");
    let raw = resp
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("kioku_session="))
        .unwrap()
        .1
        .clone();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(raw.contains(attr), "{raw}");
    }
    let overview = get(server, "/admin", &[&session]);
    assert_eq!(overview.status, 200);
    (session, text(&overview))
}
