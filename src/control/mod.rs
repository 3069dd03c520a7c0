//! The local control socket, `<base>/kioku.sock`: HTTP/1.1 with JSON bodies
//! over a Unix socket, for `kioku status` and `kioku user …` to talk to the
//! running server (and `kioku backup restore` to restore through it). Only
//! the data folder's owner (and root) may use it: the
//! socket is mode 0600 and every connection's peer uid is checked.
//!
//! `serve` binds it at start (a stale socket file left by a crash is
//! replaced; a socket that answers means another server uses this data
//! folder, which is refused) and removes it on exit. Routes, one match arm
//! each in [`route`]:
//!
//! | route | answer |
//! |---|---|
//! | `GET /status` | listeners, users (sizes, last sync), data folder size, certificate, throttled logins |
//! | `POST /users/reload` | re-reads the users file now: `{"users": N, "warnings": […]}` |
//! | `POST /users/delete-data` `{"name"}` | deletes a removed user's folder (with their collection closed) |
//! | `POST /backups/restore` `{"user", "snapshot"}` | restores a snapshot in the running server: `{"from", "undo"}` (the `restore` snapshot kept of the replaced collection, or null) |
//!
//! [`client`] is the other end. This module must not serve anything to the
//! network.

pub mod client;
pub mod status;

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use crate::http::App;

/// The socket's name in the data folder.
pub const SOCKET: &str = "kioku.sock";
/// Largest request body.
const BODY_LIMIT: u64 = 64 * 1024;

pub fn socket_path(base: &Path) -> PathBuf {
    base.join(SOCKET)
}

/// The bound socket; removes its file when dropped (if it is still ours).
pub struct Bound {
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    ino: u64,
}

impl Drop for Bound {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.ino);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds `<base>/kioku.sock`. `Ok(None)` (with a warning) when the path is
/// too long for a Unix socket: the server then runs without it.
pub fn bind(base: &Path) -> Result<Option<Bound>, String> {
    let path = socket_path(base);
    // sun_path holds 108 bytes including the final NUL.
    if path.as_os_str().len() > 107 {
        tracing::warn!(
            path = %path.display(),
            "the data folder's path is too long for the control socket; running without it \
             (`kioku status` then reads the data folder, and user changes are picked up within 2 s)"
        );
        return Ok(None);
    }
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(format!(
                    "another kioku server is running on this data folder ({} answers); \
                     stop it first",
                    path.display()
                ));
            }
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove the stale {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "replaced a stale control socket");
        }
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a socket; kioku keeps its control socket there \
                 (move that file away)",
                path.display()
            ))
        }
        Err(_) => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(&path)
        .map_err(|e| format!("cannot create the control socket {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("control socket: {e}"))?;
    let ino = std::fs::symlink_metadata(&path)
        .map(|m| m.ino())
        .unwrap_or(0);
    Ok(Some(Bound {
        listener,
        path,
        ino,
    }))
}

impl Bound {
    /// The socket as a tokio listener (call inside the runtime).
    pub fn listener(&self) -> io::Result<tokio::net::UnixListener> {
        tokio::net::UnixListener::from_std(self.listener.try_clone()?)
    }
}

/// Serves the control socket until the task is dropped. `listeners` are the
/// URLs the server listens on (for `GET /status`).
pub async fn serve(app: Arc<App>, listener: tokio::net::UnixListener, listeners: Arc<Vec<String>>) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "control socket: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == me || cred.uid() == 0 => {}
            Ok(cred) => {
                tracing::warn!(
                    uid = cred.uid(),
                    "control socket: refused a connection from another user"
                );
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "control socket: cannot tell who connected; refused");
                continue;
            }
        }
        let app = app.clone();
        let listeners = listeners.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let app = app.clone();
                let listeners = listeners.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&app, &listeners, req).await) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "control connection ended with an error");
            }
        });
    }
}

async fn answer(
    app: &Arc<App>,
    listeners: &[String],
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (status, body) = match read_json(req).await {
        Ok(input) => route(app, listeners, &method, &path, input).await,
        Err(e) => (StatusCode::BAD_REQUEST, json!({ "error": e })),
    };
    tracing::debug!(%method, %path, status = status.as_u16(), "control request");
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

async fn read_json(req: Request<Incoming>) -> Result<Value, String> {
    let body = http_body_util::Limited::new(req.into_body(), BODY_LIMIT as usize)
        .collect()
        .await
        .map_err(|e| format!("reading the request: {e}"))?
        .to_bytes();
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON: {e}"))
}

/// One arm per route.
async fn route(
    app: &Arc<App>,
    listeners: &[String],
    method: &Method,
    path: &str,
    input: Value,
) -> (StatusCode, Value) {
    let error =
        |status: StatusCode, e: &dyn std::fmt::Display| (status, json!({ "error": e.to_string() }));
    match (method, path) {
        (&Method::GET, "/status") => {
            let app = app.clone();
            let listeners = listeners.to_vec();
            match tokio::task::spawn_blocking(move || status::running(&app, &listeners)).await {
                Ok(v) => (StatusCode::OK, v),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
            }
        }
        (&Method::POST, "/users/reload") => {
            let before = app.users();
            let accounts = app.accounts.clone();
            match tokio::task::spawn_blocking(move || accounts.reload()).await {
                Ok(Ok(warnings)) => {
                    let after = app.users();
                    for gone in before.names().filter(|n| after.get(n).is_none()) {
                        app.store.close_user(gone).await;
                    }
                    (
                        StatusCode::OK,
                        json!({ "users": after.len(), "warnings": warnings }),
                    )
                }
                Ok(Err(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, &e),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
            }
        }
        (&Method::POST, "/users/delete-data") => {
            let Some(name) = input.get("name").and_then(Value::as_str) else {
                return error(StatusCode::BAD_REQUEST, &"expected {\"name\": …}");
            };
            if let Err(e) = crate::users::names::validate_new_name(name) {
                return error(StatusCode::BAD_REQUEST, &e);
            }
            if app.users().get(name).is_some() {
                return error(
                    StatusCode::CONFLICT,
                    &format!("user {name:?} still exists; remove the user first"),
                );
            }
            match app.store.delete_user_data(name).await {
                Ok(deleted) => {
                    tracing::info!(
                        user = name,
                        deleted,
                        "user data deleted (kioku user remove --delete-data)"
                    );
                    (StatusCode::OK, json!({ "deleted": deleted }))
                }
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
            }
        }
        (&Method::POST, "/backups/restore") => {
            let field = |k: &str| input.get(k).and_then(Value::as_str);
            let (Some(user), Some(snapshot)) = (field("user"), field("snapshot")) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    &"expected {\"user\": …, \"snapshot\": …}",
                );
            };
            match crate::backup::restore(&app.store, &app.config.backups, user, snapshot).await {
                Ok(done) => (
                    StatusCode::OK,
                    json!({ "from": done.from, "undo": done.undo.map(|u| u.name) }),
                ),
                Err(e) => {
                    tracing::warn!(user, snapshot, error = %e, "restore (kioku backup restore) failed");
                    let text = e.to_string();
                    error(crate::http::error::HttpError::from(e).status(), &text)
                }
            }
        }
        (_, "/status" | "/users/reload" | "/users/delete-data" | "/backups/restore") => {
            error(StatusCode::METHOD_NOT_ALLOWED, &"wrong method")
        }
        _ => error(StatusCode::NOT_FOUND, &format!("no control route {path}")),
    }
}

/// Whether an I/O error means "nobody listens there".
pub(crate) fn no_server(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused | io::ErrorKind::InvalidInput
    )
}
