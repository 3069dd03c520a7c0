//! The generated certificate follows the machine's addresses without a
//! restart: kioku runs in a network namespace this test creates, an address
//! is added to a veth interface there, and the served certificate gains it
//! as a SAN while a connection opened before keeps working.
//!
//! Needs root and `ip` (iproute2) and `openssl`; fails (never skips) when
//! they are missing. Nothing listens outside the namespace.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ip, run, temp_dir};

/// A network namespace, deleted on drop.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let uid = run(Command::new("id").arg("-u"));
        assert_eq!(
            uid.trim(),
            "0",
            "this test creates a network namespace and must run as root"
        );
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).unwrap();
        let name = format!("kioku-test-{}", hex::encode(bytes));
        run(ip().args(["netns", "add", &name]));
        let ns = Netns(name);
        run(ip().args(["-n", &ns.0, "link", "set", "lo", "up"]));
        run(ip().args([
            "-n", &ns.0, "link", "add", "kva", "type", "veth", "peer", "name", "kvb",
        ]));
        run(ip().args(["-n", &ns.0, "link", "set", "kva", "up"]));
        run(ip().args(["-n", &ns.0, "link", "set", "kvb", "up"]));
        ns
    }

    fn exec(&self) -> Command {
        let mut cmd = ip();
        cmd.args(["netns", "exec", &self.0]);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip().args(["netns", "del", &self.0]).status();
    }
}

/// The server certificate's text as `openssl x509` shows it, fetched from
/// inside the namespace.
fn served(ns: &Netns, ca: &str) -> String {
    let out = ns
        .exec()
        .args(["sh", "-c"])
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:8443 -CAfile {ca} </dev/null 2>/dev/null | openssl x509 -noout -text"
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_new_address_appears_in_the_certificate_without_a_restart() {
    let openssl = Command::new("openssl").arg("version").output();
    assert!(
        openssl.is_ok(),
        "`openssl` is not installed; this test needs it (Debian: apt-get install -y openssl)"
    );
    let ns = Netns::new();
    let base = temp_dir("netns");
    let log = base.with_extension("log");
    let server = Kill(
        ns.exec()
            .arg(env!("CARGO_BIN_EXE_kioku"))
            .arg("serve")
            .env_clear()
            .env("SYNC_USER1", "user:pass")
            .env("SYNC_BASE", &base)
            // All addresses, but of the test's own namespace only.
            .env("SYNC_HOST", "0.0.0.0")
            .env("KIOKU_TLS_CHECK_SECS", "1")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let ca = base.join("tls/ca.pem").display().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("kioku is listening")
    {
        assert!(
            Instant::now() < deadline,
            "kioku did not start in the namespace"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = served(&ns, &ca);
    assert!(before.contains("DNS:localhost"), "{before}");
    assert!(!before.contains("10.77.0.1"), "{before}");

    // A connection opened before the change.
    let mut old = ns
        .exec()
        .args([
            "openssl",
            "s_client",
            "-connect",
            "127.0.0.1:8443",
            "-CAfile",
            &ca,
        ])
        .args(["-quiet", "-ign_eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));

    run(ns
        .exec()
        .args(["ip", "addr", "add", "10.77.0.1/24", "dev", "kva"]));
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let text = served(&ns, &ca);
        if text.contains("IP Address:10.77.0.1") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the new address never appeared: {text}\nlog:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    println!("{after}");
    // The new certificate verifies for the new address, from the CA.
    let verify = ns
        .exec()
        .args(["sh", "-c"])
        .arg(format!(
            "openssl s_client -connect 10.77.0.1:8443 -CAfile {ca} -verify_ip 10.77.0.1 -verify_return_error </dev/null 2>&1"
        ))
        .output()
        .unwrap();
    let verify = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.contains("Verify return code: 0 (ok)"), "{verify}");
    // The old connection still works.
    let mut stdin = old.stdin.take().unwrap();
    stdin
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    drop(stdin);
    let mut answer = String::new();
    old.stdout
        .take()
        .unwrap()
        .read_to_string(&mut answer)
        .unwrap();
    let _ = old.wait();
    assert!(
        answer.contains("\"uptime_secs\""),
        "old connection: {answer}"
    );
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("the names and addresses changed"),
        "{log_text}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&base);
    let _ = std::fs::remove_file(&log);
}
