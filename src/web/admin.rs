//! The admin pages under `/admin`: log in, the overview (users with their
//! last sync and sizes, adding a user, the login protection's state, the
//! server), and each user's page ([`super::admin_user`]).
//!
//! Who is an admin: stored accounts with the admin flag — the first account
//! (made by the first-run form) and those made with `kioku user add --admin`
//! or promoted on a user's page. Configured users (`SYNC_USERn`) are never
//! admins. Every POST needs a live session and its CSRF token; anything
//! else gets 403.

use std::fmt::Write;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::html::{duration, esc, message, page, size, time, url_segment};
use super::session::{self, Session};
use super::{blocking, read_form, Ctx, Reply};
use crate::http::error::HttpError;
use crate::store::usage;
use crate::users::file::MIN_PASSWORD_CHARS;

/// The token purpose of the login form.
const LOGIN: &str = "admin-login";

/// A form body plus the session that sent it.
pub(super) struct Authorized {
    pub session: Session,
    pub form: std::collections::HashMap<String, String>,
}

impl Authorized {
    pub fn field(&self, k: &str) -> &str {
        self.form.get(k).map(String::as_str).unwrap_or("")
    }
}

/// Routes `/admin/<rest>`.
pub async fn route(
    ctx: &mut Ctx<'_>,
    req: Request<Incoming>,
    rest: &[String],
) -> Result<Reply, HttpError> {
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let post = *req.method() == Method::POST;
    match (rest.as_slice(), get, post) {
        ([] | [""], true, _) => match current_session(ctx) {
            Some(s) => overview(ctx, &s, notice(ctx), StatusCode::OK).await,
            None => Ok(login_page(ctx, notice(ctx), StatusCode::OK, "")),
        },
        (["login"], true, _) => Ok(Reply::redirect(StatusCode::SEE_OTHER, "/admin")),
        (["login"], _, true) => login(ctx, req).await,
        (["logout"], _, true) => {
            let auth = match authorize(ctx, req).await? {
                Ok(a) => a,
                Err(refusal) => return Ok(refusal),
            };
            if let Some(token) = ctx.cookie(session::cookie_name(ctx.https)) {
                ctx.app.web.sessions.end(token);
            }
            tracing::info!(user = %auth.session.user, "admin logged out");
            let clear = session::set_cookie(session::cookie_name(ctx.https), "", 0, ctx.https);
            Ok(
                Reply::redirect(StatusCode::SEE_OTHER, "/admin?done=logged-out")
                    .cookie(Some(clear)),
            )
        }
        (["users"], _, true) => add_user(ctx, req).await,
        (["unlock"], _, true) => {
            let auth = match authorize(ctx, req).await? {
                Ok(a) => a,
                Err(refusal) => return Ok(refusal),
            };
            let (kind, key) = (auth.field("kind"), auth.field("key"));
            if ctx.app.accounts.throttle.clear(kind, key) {
                tracing::info!(admin = %auth.session.user, kind, key, "login lockout lifted by an admin");
            }
            Ok(done("unlocked", key))
        }
        (["user", name], true, _) => super::admin_user::page(ctx, name).await,
        (["user", name, "backups", snapshot], true, _) => {
            super::admin_backups::download(ctx, name, snapshot).await
        }
        (["user", name, action], _, true) => {
            super::admin_user::action(ctx, req, name, action).await
        }
        (_, false, false) => Err(HttpError::MethodNotAllowed { allow: "GET, POST" }),
        _ => Err(HttpError::NotFound(format!("/admin/{}", rest.join("/")))),
    }
}

/// The session of this request, if it is live and its user still an admin
/// with the same password.
pub(super) fn current_session(ctx: &mut Ctx<'_>) -> Option<Session> {
    let token = ctx.cookie(session::cookie_name(ctx.https))?.to_owned();
    let users = ctx.app.users();
    let s = ctx.app.web.sessions.get(&token, |s| {
        users
            .get(&s.user)
            .is_some_and(|u| u.admin && u.host_key() == s.host_key)
    })?;
    ctx.log.user = Some(s.user.clone());
    Some(s)
}

/// Reads a POST's form and checks its session and CSRF token; `Err` is the
/// 403 page to send instead.
pub(super) async fn authorize(
    ctx: &mut Ctx<'_>,
    req: Request<Incoming>,
) -> Result<Result<Authorized, Reply>, HttpError> {
    let form = read_form(req).await?;
    let Some(session) = current_session(ctx) else {
        ctx.log.error = Some("admin form without a live session".into());
        return Ok(Err(refusal(
            "You are not logged in (or your session has ended). Log in again.",
        )));
    };
    let sent = form.get("csrf").map(String::as_str).unwrap_or("");
    if !session::same(&session.csrf, sent) {
        ctx.log.error = Some("admin form with a missing or wrong CSRF token".into());
        return Ok(Err(refusal(
            "This form has expired or did not come from this site. Reload the page and try again.",
        )));
    }
    Ok(Ok(Authorized { session, form }))
}

fn refusal(text: &str) -> Reply {
    let body = format!(
        "<h1>kioku admin</h1>{}<p><a href=\"/admin\">Back to the admin page</a></p>",
        message(false, text)
    );
    Reply::html(StatusCode::FORBIDDEN, page("en", "kioku admin", &body))
}

/// A redirect to the overview after a change, naming what was done.
pub(super) fn done(what: &str, name: &str) -> Reply {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("done", what)
        .append_pair("name", name)
        .finish();
    Reply::redirect(StatusCode::SEE_OTHER, &format!("/admin?{q}"))
}

/// The message for `?done=…&name=…`.
fn notice(ctx: &Ctx<'_>) -> Option<(bool, String)> {
    let name = ctx.query.get("name").map(String::as_str).unwrap_or("");
    let text = match ctx.query.get("done").map(String::as_str)? {
        "added" => format!("User {name:?} added."),
        "removed" => {
            format!("User {name:?} removed and their API keys revoked; their data folder was kept.")
        }
        "removed-data" => format!("User {name:?} and their data removed, their API keys revoked."),
        "password" => format!("Password of {name:?} changed; their devices must log in again."),
        "admin-on" => format!("{name:?} is now an admin."),
        "admin-off" => format!("{name:?} is no longer an admin."),
        "unlocked" => format!("Failed logins of {name} forgotten."),
        "logged-out" => "Logged out.".into(),
        _ => return None,
    };
    Some((true, text))
}

pub(super) fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&s.csrf)
    )
}

/// The bar at the top of every logged-in page.
pub(super) fn bar(s: &Session) -> String {
    format!(
        "<header class=\"bar\"><div><strong><a href=\"/admin\">kioku admin</a></strong></div>\
         <form method=\"post\" action=\"/admin/logout\">{csrf}<span class=\"note\">{user}</span> \
         <button class=\"plain\" type=\"submit\">Log out</button></form></header>",
        csrf = csrf_field(s),
        user = esc(&s.user),
    )
}

fn login_page(ctx: &Ctx<'_>, msg: Option<(bool, String)>, status: StatusCode, name: &str) -> Reply {
    let (cookie, set_cookie) = ctx.form_cookie();
    let token = ctx.app.web.sessions.form_token(LOGIN, &cookie);
    let mut body = String::from("<h1>kioku admin</h1>");
    if let Some((ok, text)) = &msg {
        body.push_str(&message(*ok, text));
    }
    let _ = write!(
        body,
        "<p>Log in with an admin account to manage the users of this server.</p>\
         <form class=\"stack\" method=\"post\" action=\"/admin/login\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label>User name<input type=\"text\" name=\"name\" value=\"{name}\" required \
         autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\"></label>\
         <label>Password<input type=\"password\" name=\"password\" required \
         autocomplete=\"current-password\"></label>\
         <div><button type=\"submit\">Log in</button></div></form>\
         <p class=\"note\"><a href=\"/\">Setup page</a></p>",
        name = esc(name),
    );
    Reply::html(status, page("en", "kioku admin — log in", &body)).cookie(set_cookie)
}

async fn login(ctx: &mut Ctx<'_>, req: Request<Incoming>) -> Result<Reply, HttpError> {
    let form = read_form(req).await?;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("").to_owned();
    let name = field("name").trim().to_owned();
    ctx.log.user = Some(name.clone());
    let sessions = &ctx.app.web.sessions;
    if !sessions.check_form_token(LOGIN, ctx.cookie(session::FORM_COOKIE), &field("token")) {
        ctx.log.error = Some("admin login: missing or wrong form token".into());
        let text = "This form has expired or did not come from this site. Try again.".to_owned();
        return Ok(login_page(
            ctx,
            Some((false, text)),
            StatusCode::FORBIDDEN,
            &name,
        ));
    }
    let throttle = &ctx.app.accounts.throttle;
    if let Err(locked) = throttle.check(ctx.ip, &name) {
        ctx.log.error = Some(locked.to_string());
        let text = format!(
            "Too many failed logins. Try again in {} s.",
            locked.retry_after_secs()
        );
        return Ok(login_page(
            ctx,
            Some((false, text)),
            StatusCode::TOO_MANY_REQUESTS,
            &name,
        )
        .header(
            hyper::header::RETRY_AFTER,
            locked.retry_after_secs().to_string(),
        ));
    }
    let users = ctx.app.users();
    let (n, p) = (name.clone(), field("password"));
    let checked = blocking(move || {
        users
            .login(&n, &p)
            .map(|key| (key.to_owned(), users.get(&n).is_some_and(|u| u.admin)))
    })
    .await?;
    let (key, admin) = match checked {
        None => {
            throttle.failure(ctx.ip, &name);
            ctx.log.error = Some("admin login: wrong user name or password".into());
            let text = "Wrong user name or password.".to_owned();
            return Ok(login_page(
                ctx,
                Some((false, text)),
                StatusCode::FORBIDDEN,
                &name,
            ));
        }
        Some(found) => found,
    };
    throttle.success(ctx.ip, &name);
    if !admin {
        ctx.log.error = Some("admin login: not an admin".into());
        let text = format!("{name:?} is not an admin account.");
        return Ok(login_page(
            ctx,
            Some((false, text)),
            StatusCode::FORBIDDEN,
            &name,
        ));
    }
    let token = ctx.app.web.sessions.create(&name, &key);
    tracing::info!(user = %name, client = %ctx.ip, "admin logged in");
    let cookie = session::set_cookie(
        session::cookie_name(ctx.https),
        &token,
        session::MAX_AGE.as_secs(),
        ctx.https,
    );
    Ok(Reply::redirect(StatusCode::SEE_OTHER, "/admin").cookie(Some(cookie)))
}
/// One user's line of the overview.
pub(super) struct Row {
    pub name: String,
    pub origin: String,
    pub stored: bool,
    pub admin: bool,
    pub usage: usage::UserUsage,
    /// The later of the last sync request since start and the last change
    /// of the collection or media index (Unix seconds).
    pub last_sync: Option<i64>,
}

/// Every user's row, and the data folder's size (blocking work).
pub(super) async fn rows(ctx: &Ctx<'_>, only: Option<&str>) -> Result<(Vec<Row>, u64), HttpError> {
    let users = ctx.app.users();
    let accounts = ctx.app.accounts.clone();
    let base = ctx.app.config.base.clone();
    let only = only.map(str::to_owned);
    blocking(move || {
        let rows = users
            .sorted()
            .into_iter()
            .filter(|u| only.as_deref().is_none_or(|o| o == u.name))
            .map(|u| {
                let usage = usage::user_usage(&base, &u.name);
                let seen = accounts
                    .last_seen(&u.name)
                    .and_then(crate::clock::unix_secs);
                Row {
                    name: u.name.clone(),
                    origin: u.origin.to_string(),
                    stored: u.origin == crate::users::Origin::Stored,
                    admin: u.admin,
                    last_sync: seen.max(usage.last_change),
                    usage,
                }
            })
            .collect();
        let total = if only.is_some() {
            0
        } else {
            usage::folder_bytes(&base)
        };
        (rows, total)
    })
    .await
}

pub(super) fn facts(row: &Row, now: i64) -> String {
    format!(
        "<dl class=\"facts\"><dt>Last sync</dt><dd>{last}</dd>\
         <dt>Collection</dt><dd>{col}</dd><dt>Media</dt><dd>{media} in {files} files</dd>\
         <dt>Account</dt><dd>{origin}</dd></dl>",
        last = esc(&time(row.last_sync, now)),
        col = esc(&size(row.usage.collection_bytes)),
        media = esc(&size(row.usage.media_bytes)),
        files = row.usage.media_files,
        origin = if row.stored {
            "stored (users.toml)".to_owned()
        } else {
            format!("configured by {} (change it there)", esc(&row.origin))
        },
    )
}

pub(super) async fn overview(
    ctx: &mut Ctx<'_>,
    s: &Session,
    msg: Option<(bool, String)>,
    status: StatusCode,
) -> Result<Reply, HttpError> {
    let (rows, total) = rows(ctx, None).await?;
    let now = crate::clock::now_secs();
    let mut body = bar(s);
    if let Some((ok, text)) = &msg {
        body.push_str(&message(*ok, text));
    }
    let _ = write!(body, "<h2 id=\"users\">Users ({})</h2>", rows.len());
    for row in &rows {
        let _ = write!(
            body,
            "<section class=\"card\"><h3><a href=\"/admin/user/{link}\">{name}</a>{badge}</h3>{facts}</section>",
            link = url_segment(&row.name),
            name = esc(&row.name),
            badge = if row.admin { "<span class=\"badge\">admin</span>" } else { "" },
            facts = facts(row, now),
        );
    }
    let _ = write!(
        body,
        "<h2 id=\"add\">Add a user</h2>\
         <form class=\"stack\" method=\"post\" action=\"/admin/users\">{csrf}\
         <label>User name<input type=\"text\" name=\"name\" required maxlength=\"255\" \
         autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\"></label>\
         <label><span>Password <span class=\"note\">(at least {MIN_PASSWORD_CHARS} characters)</span></span>\
         <input type=\"password\" name=\"password\" required minlength=\"{MIN_PASSWORD_CHARS}\" \
         autocomplete=\"new-password\"></label>\
         <label>Repeat the password<input type=\"password\" name=\"password2\" required \
         minlength=\"{MIN_PASSWORD_CHARS}\" autocomplete=\"new-password\"></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"admin\" value=\"on\"> \
         May manage users (admin)</label>\
         <div><button type=\"submit\">Add user</button></div></form>",
        csrf = csrf_field(s),
    );
    body.push_str(&protection(ctx, s));
    server(ctx, &mut body, total);
    Ok(Reply::html(status, page("en", "kioku admin", &body)))
}

fn protection(ctx: &Ctx<'_>, s: &Session) -> String {
    let rules = ctx.app.accounts.throttle.rules();
    let mut out = format!(
        "<h2 id=\"protection\">Login protection</h2><p class=\"note\">After {free} failed logins \
         from one address ({name_free} for one user name), each further failure makes it wait \
         {first} before the next attempt, doubling up to {lock} (the lockout). Counts are \
         forgotten after {forget} without a failure.</p>",
        free = rules.free_failures,
        name_free = rules
            .free_failures
            .saturating_mul(crate::users::throttle::NAME_FREE_FACTOR),
        first = duration(rules.first_delay),
        lock = duration(rules.lockout),
        forget = duration(
            rules
                .lockout
                .saturating_mul(crate::users::throttle::FORGET_FACTOR)
        ),
    );
    let entries = ctx.app.accounts.throttle.snapshot();
    if entries.is_empty() {
        out.push_str("<p>No failed logins recorded.</p>");
        return out;
    }
    let now = crate::clock::now_secs();
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Who</th><th scope=\"col\">Failures</th>\
         <th scope=\"col\">State</th><th scope=\"col\">Last failure</th><th scope=\"col\"></th></tr></thead><tbody>",
    );
    for e in entries {
        let state = if e.locked_out {
            format!("locked out for {} s", e.retry_after_secs)
        } else if e.retry_after_secs > 0 {
            format!("waits {} s", e.retry_after_secs)
        } else {
            "may try".into()
        };
        let _ = write!(
            out,
            "<tr><td>{kind} <code>{key}</code></td><td>{failures}</td><td>{state}</td><td>{last}</td>\
             <td><form method=\"post\" action=\"/admin/unlock\">{csrf}\
             <input type=\"hidden\" name=\"kind\" value=\"{kind}\"><input type=\"hidden\" name=\"key\" value=\"{key}\">\
             <button class=\"plain\" type=\"submit\">Forget</button></form></td></tr>",
            kind = e.kind,
            key = esc(&e.key),
            failures = e.failures,
            state = esc(&state),
            last = esc(&time(Some(e.last_failure), now)),
            csrf = csrf_field(s),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn server(ctx: &Ctx<'_>, body: &mut String, total: u64) {
    let app = ctx.app;
    let cert = app
        .tls
        .as_ref()
        .and_then(|t| t.status().leaf.clone())
        .and_then(|leaf| chrono::DateTime::from_timestamp(leaf.not_after, 0))
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| match (&app.tls, app.config.tls_cert.is_some()) {
            (None, _) => "HTTPS is off".into(),
            (Some(_), true) => "your own certificate".into(),
            (Some(_), false) => "unknown".into(),
        });
    let _ = write!(
        body,
        "<h2 id=\"server\">Server</h2><dl class=\"facts\"><dt>Version</dt><dd>{version}</dd>\
         <dt>Running for</dt><dd>{uptime} min</dd><dt>Data folder</dt><dd><code>{base}</code>, {total}</dd>\
         <dt>Certificate expires</dt><dd>{cert}</dd></dl>",
        version = env!("CARGO_PKG_VERSION"),
        uptime = app.started.elapsed().as_secs() / 60,
        base = esc(&app.config.base.display().to_string()),
        total = esc(&size(total)),
        cert = esc(&cert),
    );
}

async fn add_user(ctx: &mut Ctx<'_>, req: Request<Incoming>) -> Result<Reply, HttpError> {
    let auth = match authorize(ctx, req).await? {
        Ok(a) => a,
        Err(refusal) => return Ok(refusal),
    };
    let name = auth.field("name").trim().to_owned();
    if auth.field("password") != auth.field("password2") {
        let msg = Some((false, "The two passwords differ.".to_owned()));
        return overview(ctx, &auth.session, msg, StatusCode::BAD_REQUEST).await;
    }
    let admin = auth.field("admin") == "on";
    let accounts = ctx.app.accounts.clone();
    let (n, p) = (name.clone(), auth.field("password").to_owned());
    match blocking(move || accounts.add(&n, &p, admin)).await? {
        Ok(()) => {
            tracing::info!(admin = %auth.session.user, user = %name, "user added on the admin page");
            Ok(done("added", &name))
        }
        Err(e) => {
            ctx.log.error = Some(e.to_string());
            let msg = Some((false, format!("Not added: {e}")));
            let status = crate::http::error::account_status(&e);
            overview(ctx, &auth.session, msg, status).await
        }
    }
}
