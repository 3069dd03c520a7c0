//! The control socket and the commands that use it, against a real
//! `kioku serve`: `kioku status` (running and stopped), `kioku user …` while
//! the server runs (changes take effect at once), the socket's permissions,
//! its removal on exit, a stale socket replaced, and a second server on the
//! same data folder refused.

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Output;

use common::{kioku, output_with_stdin, temp_dir, Server};

/// Runs `kioku <args>` on the data folder `base` with `stdin`.
fn cli(base: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = kioku();
    cmd.args(args)
        .env_clear()
        .env("SYNC_BASE", base)
        .env("SYNC_USER1", "user:pass");
    output_with_stdin(&mut cmd, stdin.as_bytes())
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn health_users(server: &Server) -> u64 {
    let resp = server.request("GET", "/health", &[], b"");
    serde_json::from_slice::<serde_json::Value>(&resp.body).unwrap()["users"]
        .as_u64()
        .unwrap()
}

fn host_key(server: &Server, user: &str, password: &str) -> Option<String> {
    let body = serde_json::json!({ "u": user, "p": password }).to_string();
    let resp = server.sync("hostKey", "", &body);
    (resp.status == 200).then(|| resp.sync_json()["key"].as_str().unwrap().to_owned())
}

#[test]
fn user_commands_change_a_running_server_at_once() {
    let server = Server::start(&[]);
    let base = &server.base;
    assert_eq!(health_users(&server), 1);
    let out = cli(
        base,
        &["user", "add", "alice", "--password-stdin"],
        "alice password 1\n",
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the running server now has 2 user(s)"),
        "{out:?}"
    );
    assert_eq!(health_users(&server), 2, "no wait: the CLI told the server");
    let key = host_key(&server, "alice", "alice password 1").expect("alice logs in");
    let list = ok(&cli(base, &["user", "list"], ""));
    assert!(
        list.contains("alice") && list.contains("users.toml"),
        "{list}"
    );
    assert!(
        list.contains("user") && list.contains("SYNC_USER1"),
        "{list}"
    );
    // A new password: the old one and the old host key stop working.
    ok(&cli(
        base,
        &["user", "passwd", "alice", "--password-stdin"],
        "alice password 2\n",
    ));
    assert!(host_key(&server, "alice", "alice password 1").is_none());
    assert_eq!(
        server.sync("meta", &key, r#"{"v":11,"cv":"t"}"#).status,
        403
    );
    let key2 = host_key(&server, "alice", "alice password 2").expect("the new password works");
    assert_eq!(
        server.sync("meta", &key2, r#"{"v":11,"cv":"t"}"#).status,
        200
    );
    assert!(base.join("alice/collection.anki2").exists());
    // Refused: a reserved name, a configured user, a short password, a duplicate.
    let err = failed(&cli(
        base,
        &["user", "add", "kioku.sock", "--password-stdin"],
        "long enough\n",
    ));
    assert!(err.contains("control socket"), "{err}");
    let err = failed(&cli(
        base,
        &["user", "passwd", "user", "--password-stdin"],
        "long enough\n",
    ));
    assert!(err.contains("SYNC_USER1"), "{err}");
    let err = failed(&cli(
        base,
        &["user", "add", "bob", "--password-stdin"],
        "short\n",
    ));
    assert!(err.contains("too short"), "{err}");
    let err = failed(&cli(
        base,
        &["user", "add", "alice", "--password-stdin"],
        "long enough\n",
    ));
    assert!(err.contains("exists already"), "{err}");
    let err = failed(&cli(base, &["user", "add", "bob"], ""));
    assert!(err.contains("--password-stdin"), "no terminal: {err}");
    // Removal with the data, while the server has the collection open.
    ok(&cli(
        base,
        &["user", "remove", "alice", "--delete-data"],
        "",
    ));
    assert_eq!(health_users(&server), 1);
    assert!(host_key(&server, "alice", "alice password 2").is_none());
    assert!(!base.join("alice").exists(), "the folder is gone");
    assert!(server.log().contains("user removed"), "{}", server.log());
}

#[test]
fn status_reads_the_running_server_and_then_the_data_folder() {
    let mut server = Server::start(&[]);
    let base = server.base.clone();
    let socket = base.join("kioku.sock");
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    ok(&cli(
        &base,
        &["user", "add", "alice", "--admin", "--password-stdin"],
        "alice password\n",
    ));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&cli(&base, &["status", "--json"], ""))).unwrap();
    assert_eq!(json["running"], true);
    let listeners = json["listeners"].to_string();
    assert!(
        listeners.contains(&format!("http://127.0.0.1:{}/", server.port)),
        "{json}"
    );
    assert!(
        listeners.contains(&format!("https://127.0.0.1:{}/", server.tls_port)),
        "{json}"
    );
    let names: Vec<&str> = json["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "user"]);
    assert!(
        json["certificate"]["expires"].as_i64().unwrap() > 0,
        "{json}"
    );
    assert!(json["data_bytes"].as_u64().unwrap() > 0);
    let text = ok(&cli(&base, &["status"], ""));
    assert!(text.contains("running (kioku"), "{text}");
    assert!(text.contains("alice (admin)"), "{text}");
    // Stopped: the socket is gone and the data folder still tells a lot.
    assert!(server.terminate().success());
    assert!(!socket.exists(), "the socket is removed on exit");
    let text = ok(&cli(&base, &["status"], ""));
    assert!(text.contains("not running"), "{text}");
    assert!(
        text.contains("alice (admin)") && text.contains("[SYNC_USER1]"),
        "{text}"
    );
    assert!(text.contains("expires"), "{text}");
}

#[test]
fn a_stale_socket_is_replaced_and_a_second_server_on_the_folder_is_refused() {
    let base = temp_dir("stale");
    {
        // A socket file nobody listens on, as a crash leaves it.
        let _ = std::os::unix::net::UnixListener::bind(base.join("kioku.sock")).unwrap();
    }
    assert!(base.join("kioku.sock").exists());
    let server = Server::start(&[("SYNC_BASE", base.to_str().unwrap())]);
    assert!(
        server.log().contains("replaced a stale control socket"),
        "{}",
        server.log()
    );
    let second = kioku()
        .arg("serve")
        .env_clear()
        .env("SYNC_USER1", "user:pass")
        .env("SYNC_BASE", &base)
        .env("SYNC_HOST", "127.0.0.1")
        .env("SYNC_PORT", "0")
        .env("KIOKU_TLS_PORT", "0")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another kioku server is running"), "{err}");
    assert_eq!(health_users(&server), 1, "the first one is undisturbed");
    let _ = std::fs::remove_dir_all(&base);
}
