use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::users::accounts;

fn tempdir() -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let dir = std::env::temp_dir().join(format!("kioku-users-{}", hex::encode(bytes)));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A cheap PHC string (1 round) for tests that do not log in.
fn cheap_phc() -> String {
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    pbkdf2::Pbkdf2
        .hash_password_customized(
            b"pw",
            None,
            None,
            pbkdf2::Params {
                rounds: 1,
                output_length: 32,
            },
            &salt,
        )
        .unwrap()
        .to_string()
}

fn stored(name: &str) -> StoredUser {
    StoredUser {
        name: name.into(),
        password: cheap_phc(),
        admin: false,
        created: 1,
        password_set: 1,
    }
}

#[test]
fn new_hashes_are_phc_strings_with_the_official_parameters_and_verify() {
    let phc = hash_password("correct horse");
    let parts: Vec<&str> = phc.split('$').collect();
    assert_eq!(parts.len(), 5, "{phc}");
    assert_eq!(parts[1], "pbkdf2-sha256");
    assert_eq!(parts[2], "i=600000,l=32");
    // The salt is 16 bytes and the hash 32, both in unpadded standard base64.
    assert_eq!(parts[3].len(), 22, "{phc}");
    assert_eq!(parts[4].len(), 43, "{phc}");
    assert!(
        !phc.contains(':'),
        "the official server splits SYNC_USERn at ':'"
    );
    // Recompute with PBKDF2-HMAC-SHA256 directly, decoding the salt as the
    // official server does (its base64-decoded bytes).
    let hash = PasswordHash::new(&phc).unwrap();
    let mut salt = [0u8; 64];
    let salt = hash.salt.unwrap().decode_b64(&mut salt).unwrap();
    let mut expect = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"correct horse", salt, 600_000, &mut expect);
    assert_eq!(hash.hash.unwrap().as_bytes(), expect);
    check_phc(&phc).unwrap();
}

#[test]
fn the_official_servers_documented_example_is_accepted() {
    check_phc(crate::users::DUMMY_PHC).unwrap();
    assert!(check_phc("plain").is_err());
    assert!(check_phc("$argon2id$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g").is_err());
}

#[test]
fn a_write_replaces_the_file_atomically_with_mode_0600_and_leaves_no_temp_file() {
    let base = tempdir();
    assert!(load(&base).unwrap().is_empty(), "no file means no users");
    update(&base, |users| {
        users.push(stored("alice"));
        Ok(())
    })
    .unwrap();
    let first = stamp(&base).unwrap();
    let mode = fs::metadata(path(&base)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    update(&base, |users| {
        users.push(stored("bob"));
        Ok(())
    })
    .unwrap();
    assert_ne!(stamp(&base).unwrap(), first, "every write is a new stamp");
    let names: Vec<String> = load(&base).unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["alice", "bob"]);
    let leftovers: Vec<_> = fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let text = fs::read_to_string(path(&base)).unwrap();
    assert!(text.starts_with("# kioku users"), "{text}");
    assert!(text.contains("[[user]]"), "{text}");
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_failed_change_writes_nothing() {
    let base = tempdir();
    update(&base, |users| {
        users.push(stored("alice"));
        Ok(())
    })
    .unwrap();
    let before = fs::read(path(&base)).unwrap();
    let err = update(&base, |users| {
        users.clear();
        Err::<(), _>(FileError::Refused("no".into()))
    })
    .unwrap_err();
    assert!(matches!(err, FileError::Refused(_)));
    assert_eq!(fs::read(path(&base)).unwrap(), before);
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn concurrent_writers_never_lose_a_change() {
    let base = tempdir();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                update(&base, |users| {
                    users.push(stored(&format!("u{i}")));
                    Ok(())
                })
                .unwrap()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(load(&base).unwrap().len(), 8);
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_broken_file_is_an_error_naming_the_file_and_the_entry() {
    let base = tempdir();
    let cases = [
        ("version = 2\n", "version 2"),
        ("version = 1\nfoo = 1\n", "foo"),
        (
            "version = 1\n[[user]]\nname = \"a/b\"\npassword = \"x\"\n",
            "user[0]",
        ),
        (
            "version = 1\n[[user]]\nname = \"tls\"\npassword = \"x\"\n",
            "taken by kioku",
        ),
        (
            "version = 1\n[[user]]\nname = \"a\"\npassword = \"plain\"\n",
            "not a PHC string",
        ),
    ];
    for (text, needle) in cases {
        fs::write(path(&base), text).unwrap();
        let err = load(&base).unwrap_err().to_string();
        assert!(err.contains("users.toml"), "{err}");
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    let phc = cheap_phc();
    fs::write(
        path(&base),
        format!(
            "version = 1\n[[user]]\nname = \"a\"\npassword = \"{phc}\"\n\
             [[user]]\nname = \"a\"\npassword = \"{phc}\"\n"
        ),
    )
    .unwrap();
    assert!(load(&base).unwrap_err().to_string().contains("twice"));
    fs::remove_dir_all(&base).unwrap();
}

fn config(base: &Path, env: &[(&str, &str)]) -> crate::config::Config {
    let base = base.display().to_string();
    let mut pairs: Vec<(String, String)> = vec![("SYNC_BASE".into(), base)];
    pairs.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    crate::config::Config::load_with(&Default::default(), &|k| {
        pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .unwrap()
}

#[test]
fn the_server_picks_up_a_change_made_by_another_process_on_refresh() {
    let base = tempdir();
    let accounts =
        crate::users::Accounts::open(&config(&base, &[("SYNC_USER1", "env:pw")])).unwrap();
    assert_eq!(accounts.users().len(), 1);
    // Another process (the CLI) adds a user.
    accounts::add(&base, &[], "alice", "correct horse", false).unwrap();
    let before = accounts.users();
    assert!(before.get("alice").is_none(), "not before a refresh");
    accounts.refresh();
    let after = accounts.users();
    assert!(after.get("alice").is_some());
    assert_eq!(before.len(), 1, "old snapshots stay as they were");
    let key = after.login("alice", "correct horse").unwrap().to_owned();
    // A new password: the old host key is gone.
    accounts::set_password(&base, &[], "alice", "battery staple").unwrap();
    accounts.refresh();
    let users = accounts.users();
    assert!(users.by_host_key(&key).is_none());
    assert!(users.login("alice", "correct horse").is_none());
    assert!(users.login("alice", "battery staple").is_some());
    // A broken file keeps the last good set.
    fs::write(path(&base), "not toml [").unwrap();
    accounts.refresh();
    assert!(accounts.users().get("alice").is_some());
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn configured_users_cannot_be_stored_changed_or_removed_from_the_store() {
    let base = tempdir();
    let specs = config(&base, &[("SYNC_USER1", "env:pw")]).users;
    for err in [
        accounts::add(&base, &specs, "env", "long enough", false).unwrap_err(),
        accounts::set_password(&base, &specs, "env", "long enough").unwrap_err(),
        accounts::remove(&base, &specs, "env", false).unwrap_err(),
    ] {
        assert!(err.to_string().contains("SYNC_USER1"), "{err}");
    }
    let err = accounts::add(&base, &specs, "x", "short", false).unwrap_err();
    assert!(err.to_string().contains("too short"), "{err}");
    let err = accounts::add(&base, &specs, "kioku.sock", "long enough", false).unwrap_err();
    assert!(err.to_string().contains("control socket"), "{err}");
    assert!(load(&base).unwrap().is_empty());
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn the_first_account_is_an_admin_and_can_be_made_only_once() {
    let base = tempdir();
    accounts::create_first(&base, &[], "admin", "first password").unwrap();
    let err = accounts::create_first(&base, &[], "other", "first password").unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    let users = load(&base).unwrap();
    assert_eq!(users.len(), 1);
    assert!(users[0].admin);
    // The last admin stays, unless the CLI (keep_an_admin = false) says so.
    assert!(accounts::remove(&base, &[], "admin", true).is_err());
    assert!(accounts::set_admin(&base, &[], "admin", false, true).is_err());
    accounts::set_admin(&base, &[], "admin", false, false).unwrap();
    accounts::remove(&base, &[], "admin", true).unwrap();
    assert!(load(&base).unwrap().is_empty());
    let specs = config(&base, &[("SYNC_USER1", "env:pw")]).users;
    let err = accounts::create_first(&base, &specs, "x", "first password").unwrap_err();
    assert!(err.to_string().contains("configured"), "{err}");
    fs::remove_dir_all(&base).unwrap();
}
