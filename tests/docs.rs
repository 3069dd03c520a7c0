//! The README documents every option `kioku serve --help` lists, with its
//! environment variable.

mod common;

#[test]
fn readme_documents_every_serve_option_and_variable() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let help = common::kioku().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let flags: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| *w != "--help")
        .collect();
    assert!(flags.len() >= 9, "parsed too few flags from: {help}");
    for flag in flags {
        assert!(readme.contains(&format!("`{flag}")), "README lacks {flag}");
    }
    for var in [
        "SYNC_USER1",
        "SYNC_BASE",
        "SYNC_HOST",
        "SYNC_PORT",
        "PASSWORDS_HASHED",
        "MAX_SYNC_PAYLOAD_MEGS",
        "KIOKU_CONFIG",
        "KIOKU_LOG",
        "KIOKU_SHUTDOWN_GRACE_SECS",
    ] {
        assert!(help.contains(var), "--help lacks {var}");
        assert!(readme.contains(var), "README lacks {var}");
    }
}
