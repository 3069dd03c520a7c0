//! Helpers for end-to-end tests: start a real `kioku serve` process on a free
//! loopback port with a temporary data folder, and speak raw HTTP/1.1 to it.

#![allow(dead_code)]

pub mod admin;
pub mod api;

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

/// A loopback port nothing listens on, never handed out before in this test
/// process: the kernel may give a closed port again at once, and two tests
/// running in parallel would then start their servers on the same port (one
/// fails to bind, and its test talks to the other's server).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no loopback port left that this test process has not used");
}

pub fn kioku() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kioku"))
}

/// Runs `cmd` with `input` on its stdin; returns its output.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// `ip` (iproute2), wherever it is installed; panics naming the package
/// without it.
pub fn ip() -> Command {
    for path in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] {
        if std::path::Path::new(path).is_file() {
            return Command::new(path);
        }
    }
    panic!("`ip` is not installed; this test needs it (Debian: apt-get install -y iproute2)");
}

/// Runs `cmd`, which must succeed; returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `chromium` headless, in a throwaway profile, talking to nobody but the
/// pages it is sent to.
pub fn chromium(profile: &std::path::Path) -> Command {
    let mut cmd = Command::new(chromium_path());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The `chromium` binary on PATH; panics naming the package without it.
pub fn chromium_path() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!("`chromium` is not installed; this test needs it (Debian: apt-get install -y chromium)");
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    /// The HTTPS port (see tests/tls.rs).
    pub tls_port: u16,
    /// The AnkiConnect API's own port (see tests/ankiconnect*.rs).
    pub api_port: u16,
    pub base: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
}

/// An `env` entry that makes [`Server::start`] leave out `SYNC_USER1=user:pass`
/// (a server without users: the first-run form).
pub const NO_USERS: (&str, &str) = ("KIOKU_TEST_NO_USERS", "1");

fn spawn(
    base: &std::path::Path,
    port: u16,
    tls_port: u16,
    api_port: u16,
    log: &std::path::Path,
    env: &[(String, String)],
) -> Child {
    let mut cmd = kioku();
    cmd.arg("serve").env_clear();
    if !env.iter().any(|(k, _)| k == NO_USERS.0) {
        cmd.env("SYNC_USER1", "user:pass");
    }
    cmd.env("SYNC_BASE", base)
        .env("SYNC_HOST", "127.0.0.1")
        .env("SYNC_PORT", port.to_string())
        .env("KIOKU_TLS_PORT", tls_port.to_string())
        .env("KIOKU_ANKICONNECT_PORT", api_port.to_string())
        .stdin(Stdio::null())
        .stdout(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("kioku starts")
}

impl Server {
    /// Starts kioku with user `user:pass` plus `env`, and waits for /health.
    pub fn start(env: &[(&str, &str)]) -> Server {
        let base = temp_dir("base");
        let port = free_port();
        let log = base.with_extension("log");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let tls_port = free_port();
        let api_port = free_port();
        let child = spawn(&base, port, tls_port, api_port, &log, &env);
        let mut server = Server {
            child,
            port,
            tls_port,
            api_port,
            base,
            log,
            env,
        };
        // Two ports picked free may be taken by a parallel test before kioku
        // binds them: then kioku exits at once, and we try other ports.
        for _ in 0..5 {
            if server.wait_healthy_unless_exited() {
                return server;
            }
            server.port = free_port();
            server.tls_port = free_port();
            server.api_port = free_port();
            server.child = spawn(
                &server.base,
                server.port,
                server.tls_port,
                server.api_port,
                &server.log,
                &server.env,
            );
        }
        server.wait_healthy();
        server
    }

    /// Waits for /health; false if kioku exited first.
    fn wait_healthy_unless_exited(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = self.try_request("GET", "/health", &[], b"") {
                if resp.status == 200 {
                    return true;
                }
            }
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "kioku did not answer /health in 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops kioku with SIGTERM (unless it already stopped) and starts it
    /// again on the same folder and port.
    pub fn restart(&mut self) {
        if self.child.try_wait().unwrap().is_none() {
            assert!(self.terminate().success(), "kioku exits 0 on SIGTERM");
        }
        self.child = spawn(
            &self.base,
            self.port,
            self.tls_port,
            self.api_port,
            &self.log,
            &self.env,
        );
        self.wait_healthy();
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = self.try_request("GET", "/health", &[], b"") {
                if resp.status == 200 {
                    return;
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

    /// The server process's peak resident memory (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
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

impl Server {
    /// A media-sync request: `anki-sync` header, zstd-compressed `body`.
    pub fn msync(&self, method: &str, body: &[u8]) -> Response {
        let header = format!(r#"{{"v":11,"k":"{HKEY}","c":"test,0,linux","s":"med"}}"#);
        let body = zstd::bulk::compress(body, 1).unwrap();
        self.request(
            "POST",
            &format!("/msync/{method}"),
            &[
                ("anki-sync", &header),
                ("content-type", "application/octet-stream"),
            ],
            &body,
        )
    }

    /// The user's media folder: `(name, size, sha1 hex)` sorted by name.
    pub fn media_listing(&self) -> Vec<(String, u64, String)> {
        use sha1::{Digest, Sha1};
        let dir = self.base.join("user").join("media");
        let mut out: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.map(|e| {
                    let e = e.unwrap();
                    let data = std::fs::read(e.path()).unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        data.len() as u64,
                        hex::encode(Sha1::digest(&data)),
                    )
                })
                .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Every row of the user's media.db (`media` by name, then `meta`).
    pub fn media_db_dump(&self) -> Vec<String> {
        let path = self.base.join("user").join("media.db");
        if !path.exists() {
            return Vec::new();
        }
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut rows: Vec<String> = conn
            .prepare("select fname, hex(csum), size, usn, mtime from media order by fname")
            .unwrap()
            .query_map([], |r| {
                Ok(format!(
                    "{:?} {} {} {} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let meta: String = conn
            .query_row(
                "select last_usn || ' ' || total_bytes || ' ' || total_nonempty_files from meta",
                [],
                |r| r.get(0),
            )
            .unwrap();
        rows.push(format!("meta {meta}"));
        rows
    }
}

/// A media upload zip as the client builds it: members `0`, `1`, … by
/// position, `_meta` = `[[name, member or null], …]`.
pub fn media_zip(files: &[(&str, Option<&[u8]>)], deflate: bool) -> Vec<u8> {
    use std::io::Write as _;
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut meta = Vec::new();
    for (i, (name, data)) in files.iter().enumerate() {
        match data {
            Some(data) => {
                zip.start_file(i.to_string(), options).unwrap();
                zip.write_all(data).unwrap();
                meta.push(serde_json::json!([name, i.to_string()]));
            }
            None => meta.push(serde_json::json!([name, null])),
        }
    }
    zip.start_file("_meta", options).unwrap();
    zip.write_all(&serde_json::to_vec(&meta).unwrap()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// Unpacks a `downloadFiles` zip into `(real name, data)` in member order.
pub fn media_unzip(bytes: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let meta: serde_json::Map<String, serde_json::Value> =
        serde_json::from_reader(zip.by_name("_meta").unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let member = f.name().unwrap().into_owned();
        if member == "_meta" {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        out.push((meta[&member].as_str().unwrap().to_owned(), data));
    }
    out
}
