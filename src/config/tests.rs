use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn load(args: &ServeArgs, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load_with(args, &env_of(pairs))
}

#[test]
fn defaults_apply_when_nothing_else_is_set() {
    let c = load(&ServeArgs::default(), &[("SYNC_USER1", "me:pw")]).unwrap();
    assert_eq!(c.port, 8080);
    assert_eq!(c.host.to_string(), "0.0.0.0");
    assert_eq!(c.base, PathBuf::from("./kioku-data"));
    assert_eq!(c.max_payload_megs, 100);
    assert!(!c.passwords_hashed);
    assert_eq!(c.users[0].name, "me");
    assert_eq!(c.users[0].secret, "pw");
    assert!(c.tls && c.http);
    assert_eq!((c.tls_port, c.tls_name.as_str()), (8443, "kioku"));
    assert_eq!(c.tls_check_secs, 60);
    assert!(c.tls_cert.is_none());
    assert!(c.mdns);
}

#[test]
fn discovery_is_turned_off_by_flag_env_or_file() {
    let on = load(&ServeArgs::default(), &[("SYNC_USER1", "a:1")]).unwrap();
    assert!(on.mdns);
    let env = load(
        &ServeArgs::default(),
        &[("SYNC_USER1", "a:1"), ("KIOKU_NO_MDNS", "")],
    )
    .unwrap();
    assert!(!env.mdns);
    let flag = ServeArgs {
        no_mdns: true,
        ..Default::default()
    };
    assert!(!load(&flag, &[("SYNC_USER1", "a:1")]).unwrap().mdns);
    let dir = tempdir();
    let file = dir.join("kioku.toml");
    std::fs::write(&file, "mdns = false\nusers = [\"a:1\"]\n").unwrap();
    let args = ServeArgs {
        config: Some(file),
        ..Default::default()
    };
    assert!(!load(&args, &[]).unwrap().mdns);
}

#[test]
fn tls_settings_layer_like_the_others() {
    let dir = tempdir();
    let file = dir.join("kioku.toml");
    std::fs::write(
        &file,
        "tls_port = 9443\nhttp = false\ntls_name = \"box\"\nusers = [\"tls:1\"]\n\
         tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n",
    )
    .unwrap();
    let mut args = ServeArgs {
        config: Some(file),
        ..Default::default()
    };
    let c = load(&args, &[]).unwrap();
    assert_eq!((c.tls_port, c.http, c.tls), (9443, false, true));
    assert_eq!(c.tls_name, "box");
    assert_eq!(c.tls_cert, Some(PathBuf::from("/c.pem")));
    let c = load(&args, &[("KIOKU_TLS_PORT", "7443")]).unwrap();
    assert_eq!(c.tls_port, 7443);
    args.tls_port = Some(6443);
    let c = load(&args, &[("KIOKU_TLS_PORT", "7443")]).unwrap();
    assert_eq!(c.tls_port, 6443);
}

#[test]
fn flags_beat_env_beat_file_beat_defaults() {
    let dir = tempdir();
    let file = dir.join("kioku.toml");
    std::fs::write(
        &file,
        "port = 1111\nbase = \"/from/file\"\nmax_payload_megs = 7\nlog = \"debug\"\nusers = [\"f:1\"]\n",
    )
    .unwrap();
    let mut args = ServeArgs {
        config: Some(file.clone()),
        ..Default::default()
    };
    // file only
    let c = load(&args, &[]).unwrap();
    assert_eq!((c.port, c.max_payload_megs), (1111, 7));
    assert_eq!(c.base, PathBuf::from("/from/file"));
    assert_eq!(c.users[0].name, "f");
    assert_eq!(c.log, "debug");
    // env over file
    let env = [
        ("SYNC_PORT", "2222"),
        ("SYNC_USER1", "e:2"),
        ("SYNC_BASE", "/env"),
    ];
    let c = load(&args, &env).unwrap();
    assert_eq!(c.port, 2222);
    assert_eq!(c.base, PathBuf::from("/env"));
    assert_eq!(c.users[0].name, "e");
    assert_eq!(
        c.max_payload_megs, 7,
        "untouched keys still come from the file"
    );
    // flags over env
    args.port = Some(3333);
    args.users = vec!["g:3".into()];
    let c = load(&args, &env).unwrap();
    assert_eq!(c.port, 3333);
    assert_eq!(c.users[0].name, "g");
    assert_eq!(c.base, PathBuf::from("/env"));
}

#[test]
fn users_are_read_in_order_until_the_first_gap() {
    let env = [
        ("SYNC_USER1", "a:1"),
        ("SYNC_USER2", "b:pa:ss"),
        ("SYNC_USER4", "d:4"),
    ];
    let c = load(&ServeArgs::default(), &env).unwrap();
    let names: Vec<_> = c.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(c.users[1].secret, "pa:ss", "split at the first colon only");
}

#[test]
fn no_configured_user_is_fine_now_the_first_run_form_makes_one() {
    let c = load(&ServeArgs::default(), &[]).unwrap();
    assert!(c.users.is_empty());
}

#[test]
fn login_protection_settings_layer_and_default() {
    let c = load(&ServeArgs::default(), &[]).unwrap();
    assert_eq!(
        (
            c.login_free_failures,
            c.login_delay_ms,
            c.login_lockout_secs
        ),
        (5, 1000, 900)
    );
    assert!(c.ip_header.is_none());
    let env = [
        ("KIOKU_LOGIN_FREE_FAILURES", "2"),
        ("KIOKU_LOGIN_DELAY_MS", "10"),
        ("KIOKU_LOGIN_LOCKOUT_SECS", "1"),
        ("SYNC_IP_HEADER", "X-Forwarded-For"),
    ];
    let c = load(&ServeArgs::default(), &env).unwrap();
    assert_eq!(
        (
            c.login_free_failures,
            c.login_delay_ms,
            c.login_lockout_secs
        ),
        (2, 10, 1)
    );
    let h = c.ip_header.unwrap();
    assert_eq!(
        (h.name.as_str(), h.form),
        ("x-forwarded-for", IpHeaderForm::Rightmost)
    );
    let args = ServeArgs {
        login_delay_ms: Some(20),
        ..Default::default()
    };
    assert_eq!(load(&args, &env).unwrap().login_delay_ms, 20);
}

#[test]
fn the_official_servers_ip_header_names_are_understood() {
    let parse = |s: &str| IpHeader::parse(s).unwrap().map(|h| (h.name, h.form));
    assert_eq!(parse("ConnectInfo"), None);
    assert_eq!(
        parse("RightmostXForwardedFor"),
        Some(("x-forwarded-for".into(), IpHeaderForm::Rightmost))
    );
    assert_eq!(
        parse("XRealIp"),
        Some(("x-real-ip".into(), IpHeaderForm::Rightmost))
    );
    assert_eq!(
        parse("RightmostForwarded"),
        Some(("forwarded".into(), IpHeaderForm::Forwarded))
    );
    assert!(IpHeader::parse("X Forwarded: For").is_err());
}

#[test]
fn bad_values_name_their_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("SYNC_USER1", "a:1"), ("SYNC_PORT", "70000")],
            "SYNC_PORT",
        ),
        (
            &[("SYNC_USER1", "a:1"), ("SYNC_HOST", "nowhere")],
            "SYNC_HOST",
        ),
        (
            &[("SYNC_USER1", "a:1"), ("MAX_SYNC_PAYLOAD_MEGS", "x")],
            "MAX_SYNC_PAYLOAD_MEGS",
        ),
        (
            &[("SYNC_USER1", "a:1"), ("MAX_SYNC_PAYLOAD_MEGS", "0")],
            "MAX_SYNC_PAYLOAD_MEGS",
        ),
        (
            &[("SYNC_USER1", "a:1"), ("SYNC_USER2", "nocolon")],
            "SYNC_USER2",
        ),
        (&[("SYNC_USER1", "../etc:1")], "SYNC_USER1"),
        (
            &[("SYNC_USER1", "a:1"), ("SYNC_USER2", "a:2")],
            "SYNC_USER2",
        ),
        (&[("SYNC_USER1", "a:")], "SYNC_USER1"),
        (
            &[("SYNC_USER1", "a:1"), ("SYNC_USER2", "tls:2")],
            "SYNC_USER2",
        ),
        (
            &[
                ("SYNC_USER1", "a:1"),
                ("KIOKU_NO_TLS", "1"),
                ("KIOKU_NO_HTTP", "1"),
            ],
            "--no-tls",
        ),
        (
            &[("SYNC_USER1", "a:1"), ("KIOKU_TLS_CERT", "/c.pem")],
            "--tls-cert",
        ),
        (
            &[("SYNC_USER1", "a:1"), ("KIOKU_TLS_NAME", "bad name")],
            "--tls-name",
        ),
        (
            &[("SYNC_USER1", "a:1"), ("KIOKU_TLS_PORT", "x")],
            "KIOKU_TLS_PORT",
        ),
        (&[("SYNC_USER1", "users.toml:1")], "SYNC_USER1"),
        (&[("SYNC_IP_HEADER", "a b")], "--ip-header"),
        (&[("KIOKU_LOGIN_DELAY_MS", "0")], "--login-delay-ms"),
        (
            &[
                ("KIOKU_LOGIN_DELAY_MS", "5000"),
                ("KIOKU_LOGIN_LOCKOUT_SECS", "1"),
            ],
            "--login-delay-ms",
        ),
        (
            &[("KIOKU_LOGIN_FREE_FAILURES", "x")],
            "KIOKU_LOGIN_FREE_FAILURES",
        ),
    ];
    for (env, name) in cases {
        let err = load(&ServeArgs::default(), env).unwrap_err().to_string();
        assert!(err.starts_with(name), "{env:?}: {err}");
    }
}

#[test]
fn backup_settings_layer_like_the_others_and_are_checked() {
    let c = load(&ServeArgs::default(), &[("SYNC_USER1", "a:1")]).unwrap();
    assert_eq!(c.backups, BackupSettings::default());
    assert_eq!((c.backups.keep_upload, c.backups.keep_daily), (5, 7));
    let dir = tempdir();
    let file = dir.join("kioku.toml");
    std::fs::write(
        &file,
        "backups = false\nbackup_keep_upload = 2\nbackup_hour = 3\nbackup_check_secs = 0\n",
    )
    .unwrap();
    let mut args = ServeArgs {
        config: Some(file),
        ..Default::default()
    };
    let c = load(
        &args,
        &[("SYNC_USER1", "a:1"), ("KIOKU_BACKUP_KEEP_UPLOAD", "9")],
    )
    .unwrap();
    assert!(!c.backups.enabled);
    assert_eq!(c.backups.keep_upload, 9, "env over file");
    assert_eq!(c.backups.daily_hour, 3);
    assert_eq!(c.backups.check_secs, 1, "at least one second");
    args.backup_keep_upload = Some(1);
    let c = load(
        &args,
        &[("SYNC_USER1", "a:1"), ("KIOKU_BACKUP_KEEP_UPLOAD", "9")],
    )
    .unwrap();
    assert_eq!(c.backups.keep_upload, 1, "flag over env");
    for (var, value) in [
        ("KIOKU_BACKUP_HOUR", "24"),
        ("KIOKU_BACKUP_KEEP_DAILY", "1001"),
        ("KIOKU_BACKUP_KEEP_DAILY", "-1"),
    ] {
        let err = load(
            &ServeArgs::default(),
            &[("SYNC_USER1", "a:1"), (var, value)],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(var), "{var}={value}: {err}");
    }
}

#[test]
fn unknown_file_keys_are_an_error() {
    let dir = tempdir();
    let file = dir.join("kioku.toml");
    std::fs::write(&file, "prot = 1\n").unwrap();
    let args = ServeArgs {
        config: Some(file),
        ..Default::default()
    };
    let err = load(&args, &[("SYNC_USER1", "a:1")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("prot"), "{err}");
}

#[test]
fn passwords_hashed_is_on_for_any_value_like_the_official_server() {
    let c = load(
        &ServeArgs::default(),
        &[("SYNC_USER1", "a:1"), ("PASSWORDS_HASHED", "")],
    )
    .unwrap();
    assert!(c.passwords_hashed);
}

#[test]
fn the_default_file_is_read_only_when_no_file_is_named_and_it_exists() {
    let dir = tempdir();
    let default = dir.join("default.toml");
    let named = dir.join("named.toml");
    std::fs::write(&named, "port = 2\n").unwrap();
    let from = |args: &ServeArgs, pairs: &[(&str, &str)]| {
        Config::load_from(args, &env_of(pairs), Some(&default))
    };
    // Not there: defaults, no file.
    let c = from(&ServeArgs::default(), &[]).unwrap();
    assert_eq!((c.port, c.file), (DEFAULT_PORT, None));
    std::fs::write(&default, "port = 1\nbase = \"/srv/kioku\"\n").unwrap();
    let c = from(&ServeArgs::default(), &[]).unwrap();
    assert_eq!(c.port, 1);
    assert_eq!(c.base, PathBuf::from("/srv/kioku"));
    assert_eq!(c.file.as_deref(), Some(default.as_path()));
    // A named file replaces it, by flag or variable; an empty variable means none.
    let flag = ServeArgs {
        config: Some(named.clone()),
        ..Default::default()
    };
    assert_eq!(from(&flag, &[]).unwrap().port, 2);
    let var = [("KIOKU_CONFIG", named.to_str().unwrap())];
    assert_eq!(from(&ServeArgs::default(), &var).unwrap().port, 2);
    let none = from(&ServeArgs::default(), &[("KIOKU_CONFIG", "")]).unwrap();
    assert_eq!((none.port, none.file), (DEFAULT_PORT, None));
}

#[test]
fn a_default_file_that_cannot_be_read_is_an_error_that_says_what_to_do() {
    let dir = tempdir();
    let default = dir.join("kioku.toml");
    // A link to a file that is not there (the settings not made yet).
    std::os::unix::fs::symlink(dir.join("missing.toml"), &default).unwrap();
    let err = Config::load_from(&ServeArgs::default(), &env_of(&[]), Some(&default))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kioku.toml") && err.contains("--config"),
        "{err}"
    );
}

fn tempdir() -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let dir = std::env::temp_dir().join(format!("kioku-test-{}", hex::encode(bytes)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
