//! systemd notifications (`Type=notify`) from a real `kioku serve` process:
//! the test plays the service manager's part with a datagram socket named by
//! `NOTIFY_SOCKET`, as systemd does.

mod common;

use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{signal, temp_dir, wait_bounded, Server};

/// A stand-in for systemd's notification socket.
struct Manager {
    socket: UnixDatagram,
    path: PathBuf,
    seen: Vec<String>,
}

impl Manager {
    fn new() -> Manager {
        let path = temp_dir("notify").join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Manager {
            socket,
            path,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `limit`) for a message containing the line `line`;
    /// returns that message.
    fn wait_for(&mut self, line: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(msg.clone());
                if msg.lines().any(|l| l == line) {
                    return msg;
                }
            }
        }
        panic!(
            "no {line:?} from kioku within {limit:?}; got {:?}",
            self.seen
        );
    }

    /// Every message that arrives within `window`.
    fn drain(&mut self, window: Duration) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        got
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn kioku_reports_ready_with_listeners_bound_pings_the_watchdog_and_reports_stopping() {
    let mut manager = Manager::new();
    let socket = manager.path.to_str().unwrap().to_string();
    // 400 ms watchdog: pings every 200 ms.
    let mut server = Server::start(&[
        ("NOTIFY_SOCKET", socket.as_str()),
        ("WATCHDOG_USEC", "400000"),
    ]);
    let ready = manager.wait_for("READY=1", Duration::from_secs(20));
    assert!(
        ready
            .lines()
            .any(|l| l.starts_with("STATUS=listening on http://")),
        "{ready:?}"
    );
    // Both listeners were bound before READY=1.
    TcpStream::connect(("127.0.0.1", server.port)).expect("plain port bound");
    TcpStream::connect(("127.0.0.1", server.tls_port)).expect("TLS port bound");

    let pings = manager
        .drain(Duration::from_millis(1500))
        .iter()
        .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
        .count();
    // 1.5 s at one ping per 200 ms is 7; allow for a slow machine.
    assert!((3..=12).contains(&pings), "{pings} watchdog pings in 1.5 s");

    signal(&server.child, "TERM");
    let stopping = manager.wait_for("STOPPING=1", Duration::from_secs(10));
    assert!(stopping.contains("STATUS=stopping"), "{stopping:?}");
    let status = wait_bounded(&mut server.child, Duration::from_secs(20));
    assert!(status.success(), "kioku exits 0 after SIGTERM: {status:?}");
}

#[test]
fn a_watchdog_meant_for_another_process_is_not_pinged() {
    let mut manager = Manager::new();
    let socket = manager.path.to_str().unwrap().to_string();
    // WATCHDOG_PID names another process (pid 1): kioku must not ping.
    let server = Server::start(&[
        ("NOTIFY_SOCKET", socket.as_str()),
        ("WATCHDOG_USEC", "200000"),
        ("WATCHDOG_PID", "1"),
    ]);
    manager.wait_for("READY=1", Duration::from_secs(20));
    let got = manager.drain(Duration::from_millis(800));
    assert!(
        !got.iter().any(|m| m.contains("WATCHDOG=1")),
        "pinged anyway: {got:?}"
    );
    drop(server);
}

#[test]
fn without_a_notify_socket_kioku_runs_as_before() {
    // Server::start clears the environment: no NOTIFY_SOCKET. It must serve.
    let server = Server::start(&[("WATCHDOG_USEC", "100000")]);
    let resp = server.request("GET", "/health", &[], b"");
    assert_eq!(resp.status, 200);
}
