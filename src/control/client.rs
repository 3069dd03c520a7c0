//! The CLI's end of the control socket: one request, one JSON answer.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{no_server, socket_path};

/// Largest answer read.
const ANSWER_LIMIT: u64 = 16 * 1024 * 1024;

/// Sends `method path` with an optional JSON body to the server running on
/// the data folder `base`. `Ok(None)`: no server runs there (no socket, or
/// nobody answers). `Ok(Some((status, json)))`: its answer.
pub fn request(
    base: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Option<(u16, Value)>, String> {
    request_waiting(base, method, path, body, Duration::from_secs(30))
}

/// [`request`] for work that may take longer (a restore of a large
/// collection on a small board): waits up to `timeout` for the answer.
pub fn request_waiting(
    base: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Option<(u16, Value)>, String> {
    let socket = socket_path(base);
    let mut stream = match UnixStream::connect(&socket) {
        Ok(s) => s,
        Err(e) if no_server(&e) => return Ok(None),
        Err(e) => return Err(format!("cannot connect to {}: {e}", socket.display())),
    };
    let timeout = Some(timeout);
    stream
        .set_read_timeout(timeout)
        .and_then(|_| stream.set_write_timeout(timeout))
        .map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: kioku\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let fail = |e: std::io::Error| format!("control socket {}: {e}", socket.display());
    stream.write_all(head.as_bytes()).map_err(fail)?;
    stream.write_all(body.as_bytes()).map_err(fail)?;
    let mut raw = Vec::new();
    stream
        .take(ANSWER_LIMIT)
        .read_to_end(&mut raw)
        .map_err(fail)?;
    parse(&raw).map(Some)
}

fn parse(raw: &[u8]) -> Result<(u16, Value), String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("the server's answer was cut short".into()),
        Err(e) => return Err(format!("the server's answer is not HTTP: {e}")),
    };
    let status = response.code.unwrap_or(0);
    let mut body = &raw[head_len..];
    if let Some(h) = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
    {
        let len: usize = std::str::from_utf8(h.value)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or("bad content-length in the server's answer")?;
        body = body.get(..len).ok_or("the server's answer was cut short")?;
    }
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|e| format!("the server's answer is not JSON: {e}"))?
    };
    Ok((status, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_parsed_into_status_and_json() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"users\":2}";
        let (status, json) = parse(raw).unwrap();
        assert_eq!(status, 200);
        assert_eq!(json["users"], 2);
        assert!(parse(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{}").is_err());
        assert!(parse(b"garbage").is_err());
    }

    #[test]
    fn no_socket_means_no_server() {
        let base = std::env::temp_dir().join("kioku-no-such-folder-for-a-socket");
        assert_eq!(request(&base, "GET", "/status", None).unwrap(), None);
    }
}
