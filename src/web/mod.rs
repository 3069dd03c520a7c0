//! kioku's own HTML pages beyond the setup page: the first-run form that
//! creates the first account ([`onboarding`], shown on the setup page while
//! no user exists) and the admin pages under `/admin` ([`admin`]). Plain
//! HTML forms that work without JavaScript, in the setup page's style.
//!
//! Rules this module keeps: every form carries a CSRF token ([`session`]);
//! admin pages need a login session and, when HTTPS is on, are served over
//! HTTPS only (plain-HTTP requests are redirected to the HTTPS port);
//! logins share the login protection of the sync login
//! ([`crate::users::throttle`]); slow work (PBKDF2, the users file, sizes of
//! folders) runs off the async threads. It calls [`crate::users`] and
//! [`crate::store`]; the HTTP framing around it lives in [`crate::http`].

pub mod admin;
mod admin_backups;
mod admin_keys;
mod admin_user;
pub mod html;
pub mod onboarding;
pub mod session;

use std::collections::HashMap;
use std::net::IpAddr;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};

use crate::http::error::HttpError;
use crate::http::log::RequestLog;
use crate::http::App;
pub use session::Sessions;

/// Largest form body accepted.
const FORM_LIMIT: u64 = 64 * 1024;

/// The web pages' state, part of [`App`].
#[derive(Default)]
pub struct Web {
    pub sessions: Sessions,
}

/// What a handler needs to know about its request.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub https: bool,
    pub ip: IpAddr,
    pub cookies: HashMap<String, String>,
    pub query: HashMap<String, String>,
    pub host: Option<String>,
    pub accept_language: String,
    pub log: &'a mut RequestLog,
}

impl Ctx<'_> {
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// The browser's `kioku_form` cookie, or a new value (and the header
    /// that sets it) when it has none.
    pub fn form_cookie(&self) -> (String, Option<String>) {
        match self.cookie(session::FORM_COOKIE) {
            Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (v.to_owned(), None)
            }
            _ => {
                let v = session::random_token();
                let header = session::set_cookie(
                    session::FORM_COOKIE,
                    &v,
                    session::FORM_COOKIE_SECS,
                    self.https,
                );
                (v, Some(header))
            }
        }
    }
}

/// The body of a page's response: whole, or streamed (downloads).
pub type WebBody = BoxBody<Bytes, std::io::Error>;

/// A response under construction.
pub struct Reply {
    status: StatusCode,
    headers: Vec<(hyper::header::HeaderName, String)>,
    body: Body,
}

enum Body {
    Text(String),
    /// A file streamed from a blocking thread, never read into memory.
    Stream(crate::http::encoding::ChannelBody),
}

impl Reply {
    /// An HTML page.
    pub fn html(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            headers: vec![
                (CONTENT_TYPE, "text/html; charset=utf-8".into()),
                (
                    hyper::header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                     form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
                        .into(),
                ),
                (hyper::header::X_FRAME_OPTIONS, "DENY".into()),
            ],
            body: Body::Text(body),
        }
    }

    /// A file download: `len` bytes of `file` streamed as they are, saved
    /// by the browser as `ascii_name` (plain ASCII without quotes) or, where
    /// it understands RFC 6266, `encoded_name` (UTF-8, percent-encoded).
    pub fn download(
        content_type: &str,
        ascii_name: &str,
        encoded_name: &str,
        file: std::fs::File,
        len: u64,
    ) -> Reply {
        Reply {
            status: StatusCode::OK,
            headers: vec![
                (CONTENT_TYPE, content_type.to_owned()),
                (hyper::header::CONTENT_LENGTH, len.to_string()),
                (
                    hyper::header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded_name}"
                    ),
                ),
                (hyper::header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            ],
            body: Body::Stream(crate::http::encoding::raw_file_body(file)),
        }
    }

    /// A redirect (303 See Other after a form, 307 to keep the method).
    pub fn redirect(status: StatusCode, location: &str) -> Reply {
        Reply {
            status,
            headers: vec![(LOCATION, location.to_owned())],
            body: Body::Text(String::new()),
        }
    }

    pub fn cookie(mut self, set_cookie: Option<String>) -> Reply {
        if let Some(c) = set_cookie {
            self.headers.push((SET_COOKIE, c));
        }
        self
    }

    pub fn header(mut self, name: hyper::header::HeaderName, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn into_response(self) -> Response<WebBody> {
        let mut b = Response::builder()
            .status(self.status)
            .header(CACHE_CONTROL, "no-store");
        for (k, v) in self.headers {
            b = b.header(k, v);
        }
        let body = match self.body {
            Body::Text(text) => Full::new(Bytes::from(text))
                .map_err(|never| match never {})
                .boxed(),
            Body::Stream(stream) => stream.boxed(),
        };
        b.body(body).expect("response headers are valid")
    }
}

fn parse_cookies(req: &Request<Incoming>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for value in req.headers().get_all(hyper::header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                out.entry(k.trim().to_owned())
                    .or_insert_with(|| v.trim().to_owned());
            }
        }
    }
    out
}

fn parse_form(bytes: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Reads a form body (`application/x-www-form-urlencoded`, at most 64 KiB).
pub async fn read_form(req: Request<Incoming>) -> Result<HashMap<String, String>, HttpError> {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(HttpError::BadBody(
            "expected a form (application/x-www-form-urlencoded)".into(),
        ));
    }
    let body = crate::http::encoding::read_body(req.into_body(), FORM_LIMIT).await?;
    Ok(parse_form(&body))
}

fn ctx<'a>(app: &'a App, req: &Request<Incoming>, log: &'a mut RequestLog) -> Ctx<'a> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ctx {
        app,
        https: crate::http::peer::is_https(req, app.config.ip_header.as_ref()),
        ip: crate::http::peer::client_ip(req, app.config.ip_header.as_ref()),
        cookies: parse_cookies(req),
        query: req
            .uri()
            .query()
            .map(|q| parse_form(q.as_bytes()))
            .unwrap_or_default(),
        host: header("host").or_else(|| req.uri().authority().map(|a| a.to_string())),
        accept_language: header("accept-language").unwrap_or_default(),
        log,
    }
}

/// Runs blocking work (PBKDF2, the users file, folder sizes) off the async
/// threads.
pub async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, HttpError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        crate::store::StoreError::Io(std::io::Error::other(format!("task failed: {e}"))).into()
    })
}

/// Whether this module serves `path` (`/admin…`, `/setup/first-account`).
pub fn serves(segments: &[&str]) -> bool {
    matches!(segments, ["admin", ..] | ["setup", "first-account"])
}

/// Serves a request [`serves`] said yes to.
pub async fn handle(
    app: &App,
    req: Request<Incoming>,
    log: &mut RequestLog,
) -> Result<Response<WebBody>, HttpError> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut ctx = ctx(app, &req, log);
    let reply = match segments.as_slice() {
        ["setup", "first-account"] => {
            if req.method() != Method::POST {
                return Err(HttpError::MethodNotAllowed { allow: "POST" });
            }
            onboarding::post(&mut ctx, req).await?
        }
        ["admin", rest @ ..] => {
            if app.tls.is_some() && app.config.tls && !ctx.https {
                // Admin pages only over HTTPS when it is on.
                let host = ctx
                    .host
                    .as_deref()
                    .map(crate::http::setup::host_only)
                    .filter(|h| !h.is_empty())
                    .unwrap_or("localhost")
                    .to_owned();
                let target = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| path.clone());
                let location = format!("https://{host}:{}{target}", app.config.tls_port);
                Reply::redirect(StatusCode::TEMPORARY_REDIRECT, &location)
            } else {
                let rest: Vec<String> = rest
                    .iter()
                    .map(|s| {
                        percent_encoding::percent_decode_str(s)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .collect();
                admin::route(&mut ctx, req, &rest).await?
            }
        }
        _ => return Err(HttpError::NotFound(path)),
    };
    if reply.status().is_client_error() && ctx.log.error.is_none() {
        ctx.log.error = Some(format!("refused ({})", reply.status().as_u16()));
    }
    Ok(reply.into_response())
}

/// The setup page at `/` (`html`, from [`crate::http::setup`]) with the
/// first-run form; for while no user exists.
pub fn setup_page_with_onboarding(
    app: &App,
    req: &Request<Incoming>,
    log: &mut RequestLog,
    html: String,
) -> Response<WebBody> {
    let ctx = ctx(app, req, log);
    onboarding::setup_page(&ctx, html).into_response()
}
