//! The administrative commands as the appliance uses them: `kioku config
//! check`, `kioku user import` (a kioku.toml's users become stored
//! accounts) and `sudo kioku …` on a data folder owned by the service user
//! (the command acts as that user). Run as root, as `scripts/test` is.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{kioku, output_with_stdin, temp_dir};

fn ok(out: std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\n{text}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A `kioku` command that reads no settings file but those it is given.
fn cmd(args: &[&str]) -> std::process::Command {
    let mut c = kioku();
    c.args(args).env("KIOKU_CONFIG", "").env_remove("SYNC_BASE");
    c
}

#[test]
fn config_check_says_what_serve_would_serve_or_why_it_would_refuse() {
    let dir = temp_dir("config-check");
    let file = dir.join("kioku.toml");
    std::fs::write(
        &file,
        "port = 80\ntls_port = 443\nusers = [\"alice:long password\"]\n",
    )
    .unwrap();
    let text = ok(
        cmd(&["config", "check", "--config", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("http 0.0.0.0:80, https 0.0.0.0:443"),
        "{text}"
    );
    assert!(text.contains("configured users: 1 (alice)"), "{text}");
    std::fs::write(&file, "users = [\"carol:pw\"]\nno_such_setting = 1\n").unwrap();
    let out = cmd(&["config", "check", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no_such_setting"), "{err}");
    // Hashed passwords are checked as the server checks them at start.
    std::fs::write(&file, "passwords_hashed = true\nusers = [\"dora:plain\"]\n").unwrap();
    let out = cmd(&["config", "check", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn user_import_stores_the_files_users_and_takes_them_out_of_the_file() {
    let dir = temp_dir("user-import");
    let base = dir.join("data");
    let file = dir.join("kioku.toml");
    std::fs::write(
        &file,
        "# from the card\nport = 80\nusers = [\n  \"alice:a long password\",\n  \"bob:another password\",\n]\nlog = \"info\"\n",
    )
    .unwrap();
    let args = [
        "user",
        "import",
        file.to_str().unwrap(),
        "--base",
        base.to_str().unwrap(),
    ];
    let text = ok(cmd(&args).output().unwrap());
    assert!(
        text.contains("alice: added") && text.contains("bob: added"),
        "{text}"
    );
    assert!(text.contains("alice: now an admin"), "{text}");
    let rewritten = std::fs::read_to_string(&file).unwrap();
    assert!(!rewritten.contains("password"), "{rewritten}");
    assert!(
        rewritten.starts_with("# from the card\nport = 80\n# users: moved"),
        "{rewritten}"
    );
    assert!(rewritten.ends_with("log = \"info\"\n"), "{rewritten}");
    let listed = ok(cmd(&["user", "list", "--base", base.to_str().unwrap()])
        .output()
        .unwrap());
    assert!(
        listed.contains("alice") && listed.contains("admin"),
        "{listed}"
    );
    assert!(
        listed.contains("bob") && listed.contains("users.toml"),
        "{listed}"
    );
    // Again with a new password for bob: bob's changes, alice stays admin.
    std::fs::write(&file, "users = [\"bob:a third password\"]\n").unwrap();
    let text = ok(cmd(&args).output().unwrap());
    assert!(text.contains("bob: new password"), "{text}");
    assert!(!text.contains("admin"), "{text}");
    // A file with a refused user imports nobody and keeps its users.
    std::fs::write(
        &file,
        "users = [\"carol:a long password\", \"dan:short\"]\n",
    )
    .unwrap();
    let out = cmd(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too short"));
    assert!(std::fs::read_to_string(&file).unwrap().contains("carol"));
    let users = std::fs::read_to_string(base.join("users.toml")).unwrap();
    assert!(!users.contains("carol"), "{users}");
}

fn owner(path: &Path) -> (u32, u32) {
    let m = std::fs::metadata(path).unwrap();
    (m.uid(), m.gid())
}

#[test]
fn root_acts_as_the_owner_of_the_data_folder() {
    assert!(
        is_root(),
        "this test needs root (scripts/test runs as root)"
    );
    let dir = temp_dir("as-owner");
    let base = dir.join("data");
    std::fs::create_dir(&base).unwrap();
    std::os::unix::fs::chown(&base, Some(4242), Some(4243)).unwrap();
    let b = base.to_str().unwrap();
    ok(output_with_stdin(
        &mut cmd(&["user", "add", "alice", "--password-stdin", "--base", b]),
        b"a long password\n",
    ));
    ok(cmd(&["cert", "show", "--base", b]).output().unwrap());
    ok(cmd(&["apikey", "create", "alice", "--base", b])
        .output()
        .unwrap());
    for f in [
        "users.toml",
        "apikeys.json",
        "tls",
        "tls/ca.key",
        "tls/server.key",
    ] {
        assert_eq!(
            owner(&base.join(f)),
            (4242, 4243),
            "{f} is not the folder owner's"
        );
    }
    // A folder root owns stays root's business.
    let own = dir.join("own");
    ok(cmd(&["cert", "show", "--base", own.to_str().unwrap()])
        .output()
        .unwrap());
    assert_eq!(owner(&own.join("tls/server.key")), (0, 0));
}
