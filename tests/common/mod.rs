//! Helpers for end-to-end tests: start a real `kioku serve` process on a free
//! loopback port with a temporary data folder, and speak raw HTTP/1.1 to it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const HKEY: &str = "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d"; // sha1("user:pass")

pub fn temp_dir(tag: &str) -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let dir = std::env::temp_dir().join(format!("kioku-e2e-{tag}-{}", hex::encode(bytes)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn kioku() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kioku"))
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub base: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts kioku with user `user:pass` plus `env`, and waits for /health.
    pub fn start(env: &[(&str, &str)]) -> Server {
        let base = temp_dir("base");
        let port = free_port();
        let log = base.with_extension("log");
        let mut cmd = kioku();
        cmd.arg("serve")
            .env_clear()
            .env("SYNC_USER1", "user:pass")
            .env("SYNC_BASE", &base)
            .env("SYNC_HOST", "127.0.0.1")
            .env("SYNC_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("kioku starts");
        let server = Server {
            child,
            port,
            base,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = server.try_request("GET", "/health", &[], b"") {
                if resp.status == 200 {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "kioku did not answer /health in 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\nserver log:\n{}", self.log()))
    }

    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        read_response(&mut stream)
    }

    /// A modern sync request: `anki-sync` header with `hkey`, zstd JSON body.
    pub fn sync(&self, method: &str, hkey: &str, json: &str) -> Response {
        let header = format!(r#"{{"v":11,"k":"{hkey}","c":"test,0,linux","s":"abc"}}"#);
        let body = zstd::bulk::compress(json.as_bytes(), 3).unwrap();
        self.request(
            "POST",
            &format!("/sync/{method}"),
            &[
                ("anki-sync", &header),
                ("content-type", "application/octet-stream"),
            ],
            &body,
        )
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        signal(&self.child, "TERM");
        wait_bounded(&mut self.child, Duration::from_secs(20))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.base);
        let _ = std::fs::remove_file(&self.log);
    }
}

pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
}

pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body of a successful sync answer, zstd-decoded; checks the
    /// `anki-original-size` header the client requires.
    pub fn sync_body(&self) -> Vec<u8> {
        assert_eq!(
            self.status,
            200,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let size: usize = self
            .header("anki-original-size")
            .expect("anki-original-size header")
            .parse()
            .unwrap();
        let plain = zstd::stream::decode_all(&self.body[..]).unwrap();
        assert_eq!(plain.len(), size);
        plain
    }

    pub fn sync_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.sync_body()).unwrap()
    }
}

/// Reads an HTTP/1.1 response (content-length or chunked) from a stream the
/// server closes after the response.
pub fn read_response(stream: &mut impl Read) -> std::io::Result<Response> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]).into_owned();
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}
