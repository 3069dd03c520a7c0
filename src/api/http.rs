//! The HTTP side of the AnkiConnect API, as AnkiConnect's own server
//! behaves (apis.md §1.1, §1.5):
//!
//! * every reply is 200 `application/json` with `Access-Control-Allow-Origin`
//!   and `Access-Control-Allow-Headers: *`; errors are in the JSON;
//! * an origin is allowed when there is no `Origin` header (curl, KOReader,
//!   scripts), when it is `http://localhost`, `http(s)://127.0.0.1[:port]`
//!   or a browser extension (`chrome-extension://`, `moz-extension://`,
//!   `safari-web-extension://`), or when it is configured with
//!   `--ankiconnect-origin` (`*` allows all); it is echoed back;
//! * a disallowed origin gets 403 with an empty body, except for
//!   `requestPermission`, which answers `denied` readable by that origin;
//! * `OPTIONS` (a preflight) gets 200 and an empty body, plus
//!   `Access-Control-Allow-Private-Network: true` when asked for;
//! * an empty body gets the banner `AnkiConnect v.6`; a body that is not a
//!   request object gets an error reply;
//! * a body over the limit (`--ankiconnect-max-media-megs` × 4/3 + 1 MiB:
//!   the largest legitimate body is a `storeMediaFile` with base64 data) gets
//!   413, read no further.
//!
//! The same handler serves the API's own port (every path) and the path
//! `/ankiconnect` on kioku's plain and TLS listeners.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use super::{error_reply, handle as handle_request, ApiError, Caller};
use crate::http::log::{LoggedBody, RequestLog};
use crate::http::{App, ClientAddr};

const BANNER: &str = "AnkiConnect v.6";
const LOCALHOST: &str = "http://localhost";

/// Whether `origin` (`""` when the header is absent) may call the API, and
/// the `Access-Control-Allow-Origin` value to answer with.
pub fn allow_origin(extra: &[String], origin: Option<&str>) -> (bool, String) {
    if extra.iter().any(|o| o == "*") {
        return (true, "*".into());
    }
    let Some(origin) = origin else {
        return (true, LOCALHOST.into());
    };
    let local = origin == LOCALHOST
        || origin == "http://127.0.0.1"
        || origin == "https://127.0.0.1"
        || origin.starts_with("http://127.0.0.1:")
        || origin.starts_with("chrome-extension://")
        || origin.starts_with("moz-extension://")
        || origin.starts_with("safari-web-extension://");
    if local || extra.iter().any(|o| o == origin) {
        (true, origin.to_owned())
    } else {
        (false, LOCALHOST.into())
    }
}

/// Checks a request object's shape (AnkiConnect's JSON schema).
fn check_schema(value: &Value) -> Result<(), String> {
    let obj = value
        .as_object()
        .ok_or_else(|| format!("{value} is not of type 'object'"))?;
    match obj.get("action") {
        None => return Err("'action' is a required property".into()),
        Some(Value::String(s)) if s.is_empty() => return Err("'' is too short".into()),
        Some(Value::String(_)) => {}
        Some(other) => return Err(format!("{other} is not of type 'string'")),
    }
    if let Some(v) = obj.get("version") {
        if !v.is_i64() {
            return Err(format!("{v} is not of type 'integer'"));
        }
    }
    if let Some(p) = obj.get("params") {
        if !p.is_object() {
            return Err(format!("{p} is not of type 'object'"));
        }
    }
    Ok(())
}

fn response(status: StatusCode, cors: &str, body: Bytes, log: RequestLog) -> Response<LoggedBody> {
    let mut builder = Response::builder()
        .status(status)
        .header("access-control-allow-origin", cors)
        .header("access-control-allow-headers", "*");
    if status != StatusCode::FORBIDDEN {
        builder = builder.header("content-type", "application/json");
    }
    builder
        .body(LoggedBody::new(
            Full::new(body).map_err(|never| match never {}).boxed(),
            log,
        ))
        .expect("valid response headers")
}

/// Answers one HTTP request to the API.
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<LoggedBody> {
    let mut log = RequestLog::new(req.method().as_str(), "ankiconnect");
    let peer = req
        .extensions()
        .get::<ClientAddr>()
        .map(|a| a.0)
        .unwrap_or_else(|| ([0, 0, 0, 0], 0).into());
    let client_ip = crate::http::peer::client_ip(&req, app.config.ip_header.as_ref());
    let origin = req
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (allowed, mut cors) = allow_origin(&app.config.ankiconnect.origins, origin.as_deref());
    let finish = |status: StatusCode, cors: &str, body: Bytes, mut log: RequestLog| {
        log.status = status.as_u16();
        response(status, cors, body, log)
    };
    if req.method() == Method::OPTIONS {
        let private = req
            .headers()
            .get("access-control-request-private-network")
            .is_some_and(|v| v.as_bytes() == b"true");
        let mut resp = finish(StatusCode::OK, &cors, Bytes::new(), log);
        if private {
            resp.headers_mut().insert(
                "access-control-allow-private-network",
                hyper::header::HeaderValue::from_static("true"),
            );
        }
        return resp;
    }
    let limit = app.config.ankiconnect.max_body_bytes();
    let body = match crate::http::encoding::read_body(req.into_body(), limit).await {
        Ok(body) => body,
        Err(e) => {
            let status = e.status();
            log.error = Some(e.to_string());
            let reply = error_reply(&ApiError::msg(format!("kioku: {e}")));
            return finish(status, &cors, Bytes::from(reply.to_string()), log);
        }
    };
    log.bytes_in = body.len() as u64;
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| check_schema(&v).map(|_| v));
    let request = match parsed {
        Ok(request) => request,
        Err(why) if allowed => {
            let reply = if body.is_empty() {
                Bytes::from_static(BANNER.as_bytes())
            } else {
                log.error = Some(why.clone());
                Bytes::from(error_reply(&ApiError::msg(why)).to_string())
            };
            return finish(StatusCode::OK, &cors, reply, log);
        }
        Err(_) => Value::Null,
    };
    let permission = request.get("action").and_then(Value::as_str) == Some("requestPermission");
    if !allowed && !permission {
        log.error = Some(format!(
            "origin {:?} is not allowed (add it with --ankiconnect-origin)",
            origin.unwrap_or_default()
        ));
        return finish(StatusCode::FORBIDDEN, &cors, Bytes::new(), log);
    }
    if permission && !allowed {
        cors = origin.clone().unwrap_or_default();
    }
    let caller = Caller {
        peer,
        client_ip,
        origin: origin.unwrap_or_default(),
        origin_allowed: allowed,
    };
    let (reply, action, user) = handle_request(&app, &caller, &request, 0).await;
    log.endpoint = format!("ankiconnect {action}");
    log.user = user;
    if let Some(error) = reply.get("error").and_then(Value::as_str) {
        if reply.get("result").is_some_and(Value::is_null) {
            log.error = Some(error.to_owned());
        }
    }
    finish(StatusCode::OK, &cors, Bytes::from(reply.to_string()), log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origins_follow_ankiconnects_rules() {
        let none: Vec<String> = vec![];
        assert_eq!(allow_origin(&none, None), (true, LOCALHOST.into()));
        for ok in [
            "http://localhost",
            "http://127.0.0.1",
            "https://127.0.0.1",
            "http://127.0.0.1:8080",
            "chrome-extension://abc",
            "moz-extension://x",
            "safari-web-extension://y",
        ] {
            assert_eq!(allow_origin(&none, Some(ok)), (true, ok.into()), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "app://obsidian.md",
            "https://127.0.0.1:1",
            "null",
        ] {
            assert_eq!(
                allow_origin(&none, Some(bad)),
                (false, LOCALHOST.into()),
                "{bad}"
            );
        }
        let obsidian = vec!["app://obsidian.md".to_owned()];
        assert!(allow_origin(&obsidian, Some("app://obsidian.md")).0);
        assert_eq!(
            allow_origin(&["*".into()], Some("https://x")),
            (true, "*".into())
        );
    }

    #[test]
    fn the_schema_wants_an_action_string_and_optional_version_and_params() {
        assert!(check_schema(&json!({"action": "version"})).is_ok());
        assert!(check_schema(&json!({"action": "x", "version": 6, "params": {}})).is_ok());
        assert!(check_schema(&json!({"version": 6}))
            .unwrap_err()
            .contains("'action'"));
        assert!(check_schema(&json!({"action": ""})).is_err());
        assert!(check_schema(&json!({"action": 1})).is_err());
        assert!(check_schema(&json!({"action": "x", "version": "6"})).is_err());
        assert!(check_schema(&json!({"action": "x", "params": []})).is_err());
        assert!(check_schema(&json!([1])).is_err());
    }
}
