//! Unit tests of `accounts`: importing configured users into the users file.

use super::*;

fn tempdir() -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let dir = std::env::temp_dir().join(format!("kioku-accounts-{}", hex::encode(bytes)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spec(name: &str, secret: &str) -> UserSpec {
    UserSpec {
        name: name.into(),
        secret: secret.into(),
        source: format!("kioku.toml: users[{name}]"),
    }
}

fn by_name(base: &Path, name: &str) -> StoredUser {
    file::load(base)
        .unwrap()
        .into_iter()
        .find(|u| u.name == name)
        .unwrap()
}

#[test]
fn import_adds_new_users_and_makes_the_first_an_admin_when_there_is_none() {
    let base = tempdir();
    let done = import(
        &base,
        &[spec("alice", "long password"), spec("bob", "another one")],
        false,
    )
    .unwrap();
    assert_eq!(done.added, ["alice", "bob"]);
    assert_eq!(done.admin.as_deref(), Some("alice"));
    let (alice, bob) = (by_name(&base, "alice"), by_name(&base, "bob"));
    assert!(alice.admin && !bob.admin);
    assert!(crate::users::verify_phc(&alice.password, "long password"));
}

#[test]
fn import_sets_new_passwords_keeps_same_ones_and_never_takes_the_admin_flag() {
    let base = tempdir();
    add(&base, &[], "owner", "owner's password", true).unwrap();
    add(&base, &[], "alice", "old password", false).unwrap();
    let before = by_name(&base, "owner");
    let done = import(
        &base,
        &[
            spec("alice", "new password"),
            spec("owner", "owner's password"),
        ],
        false,
    )
    .unwrap();
    assert_eq!(done.changed, ["alice"]);
    assert_eq!(done.unchanged, ["owner"]);
    assert_eq!(done.admin, None, "an admin exists already");
    assert!(crate::users::verify_phc(
        &by_name(&base, "alice").password,
        "new password"
    ));
    // The same password: the same PHC string, so the same host key.
    assert_eq!(by_name(&base, "owner"), before);
    assert!(!by_name(&base, "alice").admin);
}

#[test]
fn import_writes_nothing_when_one_user_is_refused() {
    let base = tempdir();
    let err = import(
        &base,
        &[spec("alice", "long password"), spec("bob", "short")],
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bob") && err.contains("too short"), "{err}");
    assert!(file::load(&base).unwrap().is_empty());
    let err = import(&base, &[spec("carol", "not a PHC string")], true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("PHC"), "{err}");
}

#[test]
fn import_stores_hashed_passwords_as_they_are() {
    let base = tempdir();
    let phc = file::hash_password("hashed elsewhere");
    import(&base, &[spec("dora", &phc)], true).unwrap();
    // The host key a configured user with this PHC string had stays valid.
    assert_eq!(by_name(&base, "dora").password, phc);
}
