//! Helpers for the AnkiConnect API tests: exact request bytes to the API's
//! own port, replies read by their length (tools keep connections alive),
//! and API keys made with the CLI.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::{kioku, Response, Server};

/// Sends `request` (the exact bytes) to 127.0.0.1:`port` and reads one
/// response (content-length framed, or until the server closes).
pub fn send_raw(port: u16, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(len) = len {
                if raw.len() >= split + 4 + len {
                    raw.truncate(split + 4 + len);
                    break;
                }
            }
        }
    }
    super::read_response(&mut raw.as_slice()).unwrap()
}

/// A POST of `body` with `headers`, framed as most clients frame it.
pub fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    send_raw(port, req.as_bytes())
}

/// The JSON reply of a request without an `Origin` (curl, scripts).
pub fn call(server: &Server, body: &Value) -> Value {
    let resp = post(
        server.api_port,
        "/",
        &[("content-type", "application/json")],
        &body.to_string(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&resp.body)))
}

/// The result of a version-6 call that must succeed.
pub fn ok(server: &Server, key: &str, action: &str, params: Value) -> Value {
    let reply = call(
        server,
        &serde_json::json!({"action": action, "version": 6, "key": key, "params": params}),
    );
    assert_eq!(
        reply["error"],
        Value::Null,
        "{action}: {reply}\n{}",
        server.log()
    );
    reply["result"].clone()
}

/// The error of a version-6 call that must fail.
pub fn err(server: &Server, key: &str, action: &str, params: Value) -> String {
    let reply = call(
        server,
        &serde_json::json!({"action": action, "version": 6, "key": key, "params": params}),
    );
    assert_eq!(reply["result"], Value::Null, "{action}: {reply}");
    reply["error"].as_str().expect("an error text").to_owned()
}

/// `kioku apikey create USER --base <the server's folder>`: the key.
pub fn make_key(server: &Server, user: &str) -> String {
    let out = kioku()
        .args(["apikey", "create", user, "--base"])
        .arg(&server.base)
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
