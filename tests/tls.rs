//! Built-in TLS, end to end with the `openssl` command-line tool: TLS 1.2
//! and 1.3 verify against the device's CA, TLS 1.1 is refused, plain HTTP
//! on the TLS port is answered and logged, the setup page and the CA
//! downloads, a user's certificate (reloaded without a restart), the `kioku
//! cert` commands, and a new address in a network namespace appearing in
//! the certificate without a restart.
//!
//! These tests need `openssl` (and `ip` plus root for the namespace test);
//! without them they fail with a message saying what to install.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{kioku, temp_dir, Server};

fn tool(name: &str) -> Command {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    match found {
        Some(path) => Command::new(path),
        None => panic!(
            "`{name}` is not installed; these tests need it (Debian: apt-get install -y openssl iproute2)"
        ),
    }
}

/// Runs `openssl s_client` against 127.0.0.1:`port` with `args`, sending
/// `input`; returns stdout and stderr together.
fn s_client(port: u16, args: &[&str], input: &str) -> String {
    let mut child = tool("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ca_file(server: &Server) -> String {
    server.base.join("tls/ca.pem").display().to_string()
}

/// The first certificate the server sends, as PEM.
fn served_cert(port: u16, extra: &[&str]) -> String {
    let out = s_client(port, extra, "");
    let start = out
        .find("-----BEGIN CERTIFICATE-----")
        .unwrap_or_else(|| panic!("no certificate in: {out}"));
    let end = out[start..].find("-----END CERTIFICATE-----").unwrap() + start + 25;
    out[start..end].to_owned() + "\n"
}

/// `openssl x509` text of a PEM certificate.
fn x509_text(pem: &str) -> String {
    let mut child = tool("openssl")
        .args(["x509", "-noout", "-text", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn tls12_and_tls13_handshake_and_verify_against_the_device_ca() {
    let server = Server::start(&[]);
    let ca = ca_file(&server);
    for version in ["-tls1_2", "-tls1_3"] {
        let out = s_client(
            server.tls_port,
            &[
                version,
                "-CAfile",
                &ca,
                "-verify_return_error",
                "-servername",
                "localhost",
                "-ign_eof",
            ],
            "GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        );
        assert!(
            out.contains("Verify return code: 0 (ok)"),
            "{version}: {out}"
        );
        let cipher = out
            .lines()
            .find_map(|l| {
                l.split_once(", Cipher is ")
                    .map(|(_, c)| c.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("{version}: no cipher line in {out}"));
        println!("{version}: negotiated {cipher}");
        let modern = cipher.starts_with("TLS_AES_")
            || cipher.starts_with("TLS_CHACHA20_")
            || (cipher.starts_with("ECDHE-")
                && (cipher.contains("GCM") || cipher.contains("CHACHA20")));
        assert!(
            modern,
            "{version}: {cipher} is not a forward-secret AEAD suite"
        );
        assert!(
            out.contains("\"uptime_secs\""),
            "{version}: no answer over TLS: {out}"
        );
    }
    // Both versions with every suite the server would choose.
    for (version, ciphers) in [("-tls1_2", "-cipher"), ("-tls1_3", "-ciphersuites")] {
        let list = if version == "-tls1_2" {
            vec![
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305",
            ]
        } else {
            vec![
                "TLS_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
            ]
        };
        for suite in list {
            let out = s_client(
                server.tls_port,
                &[version, ciphers, suite, "-CAfile", &ca],
                "",
            );
            assert!(
                out.contains("Verify return code: 0 (ok)"),
                "{version} {suite}: {out}"
            );
            println!("{version} {suite}: accepted");
        }
    }
    // Nothing without forward secrecy or with CBC is offered.
    for suite in [
        "AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA384",
    ] {
        let out = s_client(server.tls_port, &["-tls1_2", "-cipher", suite], "");
        assert!(
            out.contains("no peer certificate available"),
            "{suite} was accepted: {out}"
        );
        println!("-tls1_2 {suite}: refused");
    }
}

#[test]
fn tls11_is_refused_even_when_the_client_offers_it() {
    let server = Server::start(&[]);
    let out = s_client(
        server.tls_port,
        &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        "",
    );
    println!("{out}");
    assert!(out.contains("no peer certificate available"), "{out}");
    assert!(out.contains("alert handshake failure"), "{out}");
    // The client really tried (with SECLEVEL=0, OpenSSL 3 sends a 1.1 hello).
    assert!(
        !out.contains("no protocols available"),
        "the client did not try TLS 1.1: {out}"
    );
    // The listener keeps serving.
    let ok = s_client(server.tls_port, &["-CAfile", &ca_file(&server)], "");
    assert!(ok.contains("Verify return code: 0 (ok)"), "{ok}");
    wait_for(
        "the handshake failure in the log",
        Duration::from_secs(5),
        || server.log().contains("TLS handshake failed"),
    );
}

#[test]
fn plain_http_on_the_tls_port_is_answered_and_logged_and_serving_goes_on() {
    let server = Server::start(&[]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.tls_port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("https://"), "{answer}");
    // Garbage that is not even HTTP, then a half handshake that just stops.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.tls_port)).unwrap();
    s.write_all(&[0x16, 3, 1, 0, 200, 1, 0]).unwrap();
    drop(s);
    let ok = s_client(server.tls_port, &["-CAfile", &ca_file(&server)], "");
    assert!(ok.contains("Verify return code: 0 (ok)"), "{ok}");
    assert_eq!(server.request("GET", "/health", &[], b"").status, 200);
    assert!(
        server
            .log()
            .contains("plain HTTP (not TLS) on the TLS port"),
        "{}",
        server.log()
    );
}

#[test]
fn the_generated_certificates_follow_the_profile_clients_accept() {
    let server = Server::start(&[("KIOKU_TLS_NAME", "ankibox")]);
    let dir = server.base.join("tls");
    for key in ["ca.key", "server.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let ca = x509_text(&std::fs::read_to_string(dir.join("ca.pem")).unwrap());
    assert!(ca.contains("CA:TRUE"), "{ca}");
    assert!(ca.contains("Certificate Sign, CRL Sign"), "{ca}");
    assert!(ca.contains("ASN1 OID: prime256v1"), "{ca}");
    let leaf = x509_text(&served_cert(server.tls_port, &[]));
    println!("{leaf}");
    assert!(leaf.contains("CA:FALSE"), "{leaf}");
    assert!(leaf.contains("TLS Web Server Authentication"), "{leaf}");
    for san in [
        "DNS:ankibox",
        "DNS:ankibox.local",
        "DNS:localhost",
        "IP Address:127.0.0.1",
    ] {
        assert!(leaf.contains(san), "{san} missing: {leaf}");
    }
    let days = |text: &str, field: &str| {
        let line = text.lines().find(|l| l.trim().starts_with(field)).unwrap();
        line.split_once(": ").unwrap().1.trim().to_owned()
    };
    let (from, until) = (days(&leaf, "Not Before"), days(&leaf, "Not After"));
    // 397 days: check with openssl's own date arithmetic.
    let check = tool("openssl")
        .args(["x509", "-noout", "-checkend", &(395 * 86_400).to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(served_cert(server.tls_port, &[]).as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(
        check.success(),
        "valid for less than 395 more days: {from} .. {until}"
    );
    // The same CA across a restart; a different one on another device.
    let first = std::fs::read(dir.join("ca.pem")).unwrap();
    let other = Server::start(&[]);
    assert_ne!(first, std::fs::read(other.base.join("tls/ca.pem")).unwrap());
}

#[test]
fn setup_page_and_ca_downloads_have_the_right_types_and_bytes() {
    let server = Server::start(&[]);
    let page = server.request("GET", "/", &[("accept-language", "de-DE,de;q=0.9")], b"");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(
        html.contains(&format!("https://127.0.0.1:{}/", server.tls_port)),
        "{html}"
    );
    assert!(
        html.contains(&format!("http://127.0.0.1:{}/", server.port)),
        "{html}"
    );
    assert!(html.contains("<svg"), "no QR code");
    for (lang, marker) in [
        ("ja", "lang=\"ja\""),
        ("es-ES", "lang=\"es\""),
        ("fr", "lang=\"fr\""),
        ("nl", "lang=\"en\""),
    ] {
        let p = server.request("GET", "/", &[("accept-language", lang)], b"");
        assert!(String::from_utf8_lossy(&p.body).contains(marker), "{lang}");
    }
    let pem = server.request("GET", "/ca.pem", &[], b"");
    assert_eq!(pem.header("content-type"), Some("application/x-pem-file"));
    assert_eq!(
        pem.body,
        std::fs::read(server.base.join("tls/ca.pem")).unwrap()
    );
    let der = server.request("GET", "/ca.crt", &[], b"");
    assert_eq!(
        der.header("content-type"),
        Some("application/x-x509-ca-cert")
    );
    let profile = server.request("GET", "/kioku.mobileconfig", &[], b"");
    assert_eq!(
        profile.header("content-type"),
        Some("application/x-apple-aspen-config")
    );
    // The page shows the fingerprint of exactly these bytes.
    let fp = tool("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-fingerprint",
            "-sha256",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&der.body)?;
            c.wait_with_output()
        })
        .unwrap();
    let fp = String::from_utf8(fp.stdout).unwrap();
    let fp = fp.trim().rsplit('=').next().unwrap();
    assert!(html.contains(fp), "fingerprint {fp} not on the page");
    // plistlib parses the profile; its root payload is the DER byte for byte.
    let dir = temp_dir("plist");
    std::fs::write(dir.join("p.mobileconfig"), &profile.body).unwrap();
    std::fs::write(dir.join("ca.crt"), &der.body).unwrap();
    let script = r#"
import plistlib, sys
p = plistlib.load(open(sys.argv[1] + "/p.mobileconfig", "rb"))
assert p["PayloadType"] == "Configuration", p
(payload,) = p["PayloadContent"]
assert payload["PayloadType"] == "com.apple.security.root", payload
assert payload["PayloadContent"] == open(sys.argv[1] + "/ca.crt", "rb").read()
print("plist ok")
"#;
    let out = tool("python3")
        .args(["-c", script, dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Also over HTTPS.
    let over_tls = s_client(
        server.tls_port,
        &["-CAfile", &ca_file(&server), "-quiet", "-ign_eof"],
        "GET /ca.crt HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
    );
    assert!(
        over_tls.contains("application/x-x509-ca-cert"),
        "{over_tls}"
    );
}

fn make_cert(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
    let out = tool("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-days",
            "30",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

#[test]
fn a_user_certificate_is_served_and_reloaded_when_replaced() {
    let dir = temp_dir("usercert");
    let (cert, key) = make_cert(&dir, "first-user-cert");
    let (live_cert, live_key) = (dir.join("live.pem"), dir.join("live.key"));
    std::fs::copy(&cert, &live_cert).unwrap();
    std::fs::copy(&key, &live_key).unwrap();
    let server = Server::start(&[
        ("KIOKU_TLS_CERT", live_cert.to_str().unwrap()),
        ("KIOKU_TLS_KEY", live_key.to_str().unwrap()),
        ("KIOKU_TLS_CHECK_SECS", "1"),
    ]);
    assert!(
        !server.base.join("tls").exists(),
        "no CA is made with a user certificate"
    );
    let served = x509_text(&served_cert(server.tls_port, &[]));
    assert!(
        served.contains("CN=first-user-cert") || served.contains("CN = first-user-cert"),
        "{served}"
    );
    let page = String::from_utf8(server.request("GET", "/", &[], b"").body).unwrap();
    assert!(
        !page.contains("ca.crt"),
        "no CA downloads with a user certificate"
    );
    assert_eq!(server.request("GET", "/ca.pem", &[], b"").status, 404);
    // Keep one connection open across the swap.
    let (second, second_key) = make_cert(&dir, "second-user-cert");
    // Replace as an ACME client does: key first, then the certificate.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::copy(&second_key, &live_key).unwrap();
    std::fs::copy(&second, &live_cert).unwrap();
    wait_for(
        "the replaced certificate to be served",
        Duration::from_secs(15),
        || x509_text(&served_cert(server.tls_port, &[])).contains("second-user-cert"),
    );
    let ok = s_client(server.tls_port, &["-CAfile", second.to_str().unwrap()], "");
    assert!(ok.contains("Verify return code: 0 (ok)"), "{ok}");
    assert!(
        server.log().contains("now serving the new certificate"),
        "{}",
        server.log()
    );
}

#[test]
fn cert_commands_show_renew_and_export() {
    let server = Server::start(&[("KIOKU_TLS_CHECK_SECS", "1")]);
    let base = server.base.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = kioku()
            .arg("cert")
            .args(args)
            .args(["--base", base])
            .env_clear()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let show = String::from_utf8(run(&["show"])).unwrap();
    println!("{show}");
    let der = run(&["export", "--format", "der"]);
    assert_eq!(der, server.request("GET", "/ca.crt", &[], b"").body);
    let pem = run(&["export", "--format", "pem"]);
    assert_eq!(pem, std::fs::read(server.base.join("tls/ca.pem")).unwrap());
    let profile = run(&["export", "--format", "mobileconfig"]);
    assert_eq!(
        profile,
        server.request("GET", "/kioku.mobileconfig", &[], b"").body
    );
    let page = String::from_utf8(server.request("GET", "/", &[], b"").body).unwrap();
    let fp = show
        .lines()
        .find_map(|l| l.strip_prefix("CA SHA-256:"))
        .unwrap()
        .trim();
    assert!(page.contains(fp), "{fp}");
    assert!(
        show.contains("localhost") && show.contains("server expires:"),
        "{show}"
    );
    let before = served_cert(server.tls_port, &[]);
    run(&["renew"]);
    wait_for(
        "the renewed certificate to be served",
        Duration::from_secs(15),
        || served_cert(server.tls_port, &[]) != before,
    );
    let bad = kioku()
        .args(["cert", "export", "--format", "p12", "--base", base])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
