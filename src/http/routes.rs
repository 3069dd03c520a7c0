//! Routing by path: `/sync/<method>` to [`crate::sync`], `/msync/<method>`
//! to [`crate::media`], `GET /health`, the setup page `/` and the CA files
//! (`/ca.pem`, `/ca.crt`, `/kioku.mobileconfig`), `/ankiconnect` to
//! [`crate::api`], the first-run form and the admin pages ([`crate::web`]);
//! everything else is 404.
//! Here the request's encoding is undone (header, zstd, JSON) before a sync
//! handler runs, and its answer encoded again.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::{Method as HttpMethod, Request, Response, StatusCode};
use serde_json::{json, Value};

use super::encoding::{self, SyncHeader, ORIGINAL_SIZE_HEADER, SYNC_HEADER};
use super::error::HttpError;
use super::log::{LoggedBody, RequestLog};
use super::App;
use crate::media::{self, MediaError};
use crate::sync::{self, full, Method};

/// A successful answer before framing.
enum Reply {
    /// A sync answer: zstd-compressed with the original size header.
    Sync(Bytes),
    /// A streamed, zstd-compressed file of `len` bytes uncompressed.
    Stream(encoding::ChannelBody, u64),
    /// Plain JSON (health).
    Json(Value),
    /// A page or file: content type, body, and the file name to save it as.
    File(&'static str, Bytes, Option<&'static str>),
    /// A complete response (pages of [`crate::web`]: status, cookies,
    /// redirects, downloads).
    Http(Response<crate::web::WebBody>),
}

/// Handles one request; never fails (errors become statuses here).
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<LoggedBody> {
    let path = req.uri().path().to_owned();
    // The AnkiConnect API (issue 11) answers in its own protocol.
    if matches!(path.as_str(), "/ankiconnect" | "/ankiconnect/") && app.config.ankiconnect.enabled {
        return crate::api::http::handle(app, req).await;
    }
    let mut log = RequestLog::new(req.method().as_str(), &path);
    let result = route(&app, req, &mut log).await;
    let (status, builder, body) = match result {
        Ok(reply) => frame(reply),
        Err(err) => {
            log.error = Some(err.to_string());
            let status = err.status();
            let mut builder = Response::builder().header(CONTENT_TYPE, "text/plain; charset=utf-8");
            if let Some(allow) = err.allow() {
                builder = builder.header(ALLOW, allow);
            }
            if let Some(secs) = err.retry_after() {
                builder = builder.header(hyper::header::RETRY_AFTER, secs);
            }
            let text = format!("{}: {err}\n", status.as_u16());
            (status, builder, full(Bytes::from(text)))
        }
    };
    log.status = status.as_u16();
    builder
        .status(status)
        .body(LoggedBody::new(body, log))
        .expect("response headers are valid")
}

/// A complete in-memory body.
fn full(bytes: Bytes) -> http_body_util::combinators::BoxBody<Bytes, io::Error> {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn frame(
    reply: Reply,
) -> (
    StatusCode,
    hyper::http::response::Builder,
    http_body_util::combinators::BoxBody<Bytes, io::Error>,
) {
    let ok = Response::builder();
    match reply {
        Reply::Sync(payload) => {
            let compressed = encoding::encode(&payload);
            (
                StatusCode::OK,
                ok.header(ORIGINAL_SIZE_HEADER, payload.len()),
                full(compressed),
            )
        }
        Reply::Stream(body, len) => (
            StatusCode::OK,
            ok.header(ORIGINAL_SIZE_HEADER, len),
            body.boxed(),
        ),
        Reply::Json(value) => (
            StatusCode::OK,
            ok.header(CONTENT_TYPE, "application/json"),
            full(Bytes::from(value.to_string())),
        ),
        Reply::File(content_type, body, name) => {
            let mut b = ok
                .header(CONTENT_TYPE, content_type)
                .header("cache-control", "no-store");
            if let Some(name) = name {
                b = b.header(
                    "content-disposition",
                    format!("attachment; filename=\"{name}\""),
                );
            }
            (StatusCode::OK, b, full(body))
        }
        Reply::Http(response) => {
            let (parts, body) = response.into_parts();
            let mut b = Response::builder();
            for (k, v) in &parts.headers {
                b = b.header(k, v);
            }
            (parts.status, b, body)
        }
    }
}

async fn route(
    app: &App,
    req: Request<Incoming>,
    log: &mut RequestLog,
) -> Result<Reply, HttpError> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["health"] => {
            require_method(&req, &[HttpMethod::GET, HttpMethod::HEAD], "GET")?;
            Ok(Reply::Json(json!({
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_secs": app.started.elapsed().as_secs(),
                "users": app.users().len(),
            })))
        }
        [""] => {
            require_method(&req, &[HttpMethod::GET, HttpMethod::HEAD], "GET")?;
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let accept = header("accept-language").unwrap_or_default();
            let host = header("host").or_else(|| req.uri().authority().map(|a| a.to_string()));
            let html = super::setup::page(app, &accept, host.as_deref());
            if app.users().is_empty() {
                let page = crate::web::setup_page_with_onboarding(app, &req, log, html);
                return Ok(Reply::Http(page));
            }
            Ok(Reply::File(
                "text/html; charset=utf-8",
                Bytes::from(html),
                None,
            ))
        }
        [file @ ("ca.pem" | "ca.crt" | "kioku.mobileconfig")] => {
            require_method(&req, &[HttpMethod::GET, HttpMethod::HEAD], "GET")?;
            let ca = app
                .tls
                .as_ref()
                .and_then(|t| t.status().ca_der.clone())
                .ok_or_else(|| {
                    HttpError::NotFound(format!("{path}: this server has no CA of its own"))
                })?;
            use crate::tls::profile;
            Ok(match *file {
                "ca.pem" => Reply::File(
                    "application/x-pem-file",
                    Bytes::from(profile::pem(&ca)),
                    Some("ca.pem"),
                ),
                "ca.crt" => Reply::File(
                    "application/x-x509-ca-cert",
                    Bytes::from(ca),
                    Some("ca.crt"),
                ),
                _ => Reply::File(
                    "application/x-apple-aspen-config",
                    Bytes::from(profile::mobileconfig(&ca)),
                    Some("kioku.mobileconfig"),
                ),
            })
        }
        ["sync", name] => {
            let method = Method::parse(name).ok_or_else(|| {
                let known: Vec<_> = Method::ALL.iter().map(|m| m.name()).collect();
                HttpError::NotFound(format!(
                    "unknown sync method {name:?}; known: {}",
                    known.join(", ")
                ))
            })?;
            require_method(&req, &[HttpMethod::POST], "POST")?;
            sync_request(app, method, req, log).await
        }
        ["msync", name] => {
            let method = media::Method::parse(name).ok_or_else(|| {
                let known: Vec<_> = media::Method::ALL.iter().map(|m| m.name()).collect();
                HttpError::NotFound(format!(
                    "unknown media sync method {name:?}; known: {}",
                    known.join(", ")
                ))
            })?;
            if method == media::Method::Begin {
                require_method(&req, &[HttpMethod::POST, HttpMethod::GET], "GET, POST")?;
            } else {
                require_method(&req, &[HttpMethod::POST], "POST")?;
            }
            media_request(app, method, req, log).await
        }
        _ if crate::web::serves(&segments) => {
            Ok(Reply::Http(crate::web::handle(app, req, log).await?))
        }
        _ => Err(HttpError::NotFound(path.clone())),
    }
}

fn require_method(
    req: &Request<Incoming>,
    allowed: &[HttpMethod],
    allow: &'static str,
) -> Result<(), HttpError> {
    if allowed.contains(req.method()) {
        Ok(())
    } else {
        Err(HttpError::MethodNotAllowed { allow })
    }
}

fn sync_header(req: &Request<Incoming>) -> Result<SyncHeader, HttpError> {
    let raw = req.headers().get(SYNC_HEADER).ok_or_else(|| {
        HttpError::BadHeader(
            "no anki-sync header: kioku speaks the current sync protocol \
             (Anki 2.1.57 or later, current AnkiDroid and AnkiMobile)"
                .into(),
        )
    })?;
    encoding::parse_sync_header(raw.as_bytes())
}

/// Finds the user a request's host key belongs to (and notes the sync).
fn authenticate(app: &App, header: &SyncHeader, log: &mut RequestLog) -> Result<String, HttpError> {
    let users = app.users();
    let user = users
        .by_host_key(&header.k)
        .ok_or(HttpError::Sync(sync::SyncError::AuthFailed))?;
    log.user = Some(user.name.clone());
    app.accounts.seen(&user.name);
    Ok(user.name.clone())
}

async fn json_input(
    req: Request<Incoming>,
    app: &App,
    log: &mut RequestLog,
) -> Result<Value, HttpError> {
    let limit = app.config.payload_limit();
    let compressed = encoding::read_body(req.into_body(), limit).await?;
    log.bytes_in = compressed.len() as u64;
    encoding::decode_json(&compressed, limit)
}

fn json_reply(value: &Value) -> Reply {
    Reply::Sync(Bytes::from(
        serde_json::to_vec(value).expect("JSON serialises"),
    ))
}

async fn sync_request(
    app: &App,
    method: Method,
    req: Request<Incoming>,
    log: &mut RequestLog,
) -> Result<Reply, HttpError> {
    let header = sync_header(&req)?;
    if method == Method::HostKey {
        let addr = super::peer::client_ip(&req, app.config.ip_header.as_ref());
        let input = json_input(req, app, log).await?;
        // Logged for failed attempts too, so an admin can see who is tried.
        log.user = input.get("u").and_then(Value::as_str).map(str::to_owned);
        let name = log.user.clone().unwrap_or_default();
        // Login protection: a locked address or name is refused unchecked
        // with 429 (the client shows "429 Too Many Requests", and keeps no
        // wrong idea that the password was bad).
        let throttle = &app.accounts.throttle;
        throttle.check(addr, &name).map_err(HttpError::Throttled)?;
        let out = sync::login::host_key(app.users(), input).await;
        match &out {
            Ok(_) => throttle.success(addr, &name),
            Err(sync::SyncError::AuthFailed) => throttle.failure(addr, &name),
            Err(_) => {}
        }
        return Ok(json_reply(&out?));
    }
    let user = authenticate(app, &header, log)?;
    let slot = app.store.user(&user);
    match method {
        Method::Meta => {
            let input = json_input(req, app, log).await?;
            let out = sync::meta::meta(&slot, input, app.collection_limit()).await?;
            Ok(json_reply(&out))
        }
        Method::Upload => {
            let tmp = slot
                .temp_path("upload")
                .map_err(crate::store::StoreError::Io)?;
            // As the official server: a collection of 3 × the payload limit or
            // more is refused, so the largest accepted size is one byte less.
            let max_bytes = app.collection_limit() - 1;
            let streamed = encoding::body_to_file(req.into_body(), tmp.clone(), max_bytes).await;
            let text = match streamed {
                Ok(encoding::UploadOutcome::Complete { compressed, .. }) => {
                    log.bytes_in = compressed;
                    full::upload(&slot, tmp, &app.config.backups).await?
                }
                Ok(encoding::UploadOutcome::TooLarge { compressed }) => {
                    log.bytes_in = compressed;
                    crate::store::remove_quietly(&tmp);
                    log.error = Some(format!(
                        "upload over the collection limit of {} bytes",
                        app.collection_limit()
                    ));
                    full::UPLOAD_TOO_LARGE.to_owned()
                }
                Err(e) => {
                    crate::store::remove_quietly(&tmp);
                    return Err(e);
                }
            };
            if text != full::UPLOAD_OK && log.error.is_none() {
                log.error = Some(format!("upload refused: {text}"));
            }
            Ok(Reply::Sync(Bytes::from(text)))
        }
        Method::Download => {
            json_input(req, app, log).await?;
            let download = full::download(&slot).await?;
            let len = download.len;
            let file = download
                .file
                .try_clone()
                .map_err(crate::store::StoreError::Io)?;
            Ok(Reply::Stream(encoding::file_body(file, download), len))
        }
        Method::Abort => {
            json_input(req, app, log).await?;
            Ok(json_reply(&sync::session::abort(&slot, &header.s).await?))
        }
        Method::Start => {
            let input = json_input(req, app, log).await?;
            let timeout = app.session_timeout();
            Ok(json_reply(
                &sync::graves::start(&slot, &header.s, input, timeout).await?,
            ))
        }
        Method::ApplyGraves => {
            let input = json_input(req, app, log).await?;
            Ok(json_reply(
                &sync::graves::apply_graves(&slot, &header.s, input).await?,
            ))
        }
        Method::ApplyChanges => {
            let input = json_input(req, app, log).await?;
            Ok(json_reply(
                &sync::changes::apply_changes(&slot, &header.s, input).await?,
            ))
        }
        Method::Chunk => {
            json_input(req, app, log).await?;
            Ok(json_reply(&sync::chunks::chunk(&slot, &header.s).await?))
        }
        Method::ApplyChunk => {
            let input = json_input(req, app, log).await?;
            Ok(json_reply(
                &sync::chunks::apply_chunk(&slot, &header.s, input).await?,
            ))
        }
        Method::SanityCheck2 => {
            let input = json_input(req, app, log).await?;
            Ok(json_reply(
                &sync::finish::sanity_check(&slot, &header.s, input).await?,
            ))
        }
        Method::Finish => {
            json_input(req, app, log).await?;
            Ok(json_reply(&sync::finish::finish(&slot, &header.s).await?))
        }
        Method::HostKey => unreachable!("handled above"),
    }
}

/// Media sync. JSON results are wrapped as `{"data": …, "err": ""}`; a file
/// name kioku refuses is answered in-band (`{"data": null, "err": why}`), the
/// one media error the client shows verbatim; the rest map to statuses.
async fn media_request(
    app: &App,
    method: media::Method,
    req: Request<Incoming>,
    log: &mut RequestLog,
) -> Result<Reply, HttpError> {
    let legacy_get = req.method() == HttpMethod::GET
        && req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p.starts_with("k=") || p.starts_with("v="))
        });
    if legacy_get {
        return Err(HttpError::BadHeader(
            "GET /msync/begin?k=…&v=… is the legacy media protocol (Anki 2.1.50–2.1.56); \
             kioku speaks the current sync protocol (Anki 2.1.57 or later)"
                .into(),
        ));
    }
    let header = sync_header(&req)?;
    let user = authenticate(app, &header, log)?;
    let slot = app.store.user(&user);
    let result = match method {
        media::Method::UploadChanges => {
            let tmp = slot
                .temp_path("media-upload")
                .map_err(crate::store::StoreError::Io)?;
            let limit = app.collection_limit();
            match encoding::body_to_file(req.into_body(), tmp.clone(), limit).await {
                Ok(encoding::UploadOutcome::Complete { compressed, .. }) => {
                    log.bytes_in = compressed;
                    media::upload_changes(&slot, tmp).await
                }
                Ok(encoding::UploadOutcome::TooLarge { compressed }) => {
                    log.bytes_in = compressed;
                    crate::store::remove_quietly(&tmp);
                    return Err(HttpError::PayloadTooLarge { limit });
                }
                Err(e) => {
                    crate::store::remove_quietly(&tmp);
                    return Err(e);
                }
            }
        }
        media::Method::DownloadFiles => {
            let input = json_input(req, app, log).await?;
            let zip = media::download_files(&slot, input).await?;
            let len = zip.len();
            return Ok(Reply::Stream(encoding::file_body(zip, ()), len));
        }
        json_method => {
            let input = json_input(req, app, log).await?;
            media::json_request(&slot, json_method, input, header.k.clone()).await
        }
    };
    match result {
        Ok(data) => Ok(json_reply(&json!({ "data": data, "err": "" }))),
        Err(MediaError::BadName(refused)) => {
            let text = format!("kioku refused a media file: {refused}");
            log.error = Some(text.clone());
            Ok(json_reply(&json!({ "data": null, "err": text })))
        }
        Err(e) => Err(e.into()),
    }
}
