//! Server configuration: one struct, built from four layers with the
//! precedence flags > environment > TOML file > defaults.
//!
//! The environment variables are the official Anki sync server's
//! (`SYNC_USER1`…, `PASSWORDS_HASHED`, `SYNC_BASE`, `SYNC_HOST`, `SYNC_PORT`,
//! `MAX_SYNC_PAYLOAD_MEGS`), so an existing setup works unchanged. This module
//! only parses and validates; it must not start anything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

/// Default data folder (the official server uses `~/.syncserver`; kioku keeps a
/// laptop run's data beside the checkout).
pub const DEFAULT_BASE: &str = "./kioku-data";
pub const DEFAULT_HOST: &str = "0.0.0.0";
pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_MAX_PAYLOAD_MEGS: u64 = 100;
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 10;
pub const DEFAULT_SYNC_SESSION_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_TLS_PORT: u16 = 8443;
pub const DEFAULT_TLS_NAME: &str = "kioku";
pub const DEFAULT_TLS_CHECK_SECS: u64 = 60;
// Backups (see `crate::backup` and the README's Backups section).
pub const DEFAULT_BACKUP_KEEP_UPLOAD: u32 = 5;
pub const DEFAULT_BACKUP_KEEP_DAILY: u32 = 7;
pub const DEFAULT_BACKUP_HOUR: u32 = 4;
pub const DEFAULT_BACKUP_CHECK_SECS: u64 = 600;
/// The most snapshots of one kind a user may keep.
pub const MAX_BACKUP_KEEP: u32 = 1000;

// AnkiConnect API (issue 11).
pub const DEFAULT_ANKICONNECT_PORT: u16 = 8765;
pub const DEFAULT_ANKICONNECT_WRITE_WAIT_SECS: u64 = 30;
pub const DEFAULT_ANKICONNECT_MAX_MEDIA_MEGS: u64 = 30;
pub const DEFAULT_ANKICONNECT_FETCH_TIMEOUT_SECS: u64 = 10;
// Accounts and login protection.
pub const DEFAULT_LOGIN_FREE_FAILURES: u32 = 5;
pub const DEFAULT_LOGIN_DELAY_MS: u64 = 1000;
pub const DEFAULT_LOGIN_LOCKOUT_SECS: u64 = 900;

/// Options of `kioku serve`. Every option can also come from the environment
/// (the name in brackets) or from the TOML file given with `--config` (the key
/// in quotes). Precedence: flag > environment > file > default.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// TOML configuration file [env: KIOKU_CONFIG]. Keys: "host", "port",
    /// "base", "max_payload_megs", "users", "passwords_hashed", "log",
    /// "shutdown_grace_secs", "sync_session_timeout_secs", "tls", "http",
    /// "tls_port", "tls_name", "tls_cert", "tls_key", "tls_check_secs",
    /// "backups", "backup_keep_upload", "backup_keep_daily", "backup_hour",
    /// "backup_check_secs",
    /// "ankiconnect", "ankiconnect_port", "ankiconnect_host", "ankiconnect_origins",
    /// "ankiconnect_keyless_user", "ankiconnect_keyless_from",
    /// "ankiconnect_write_wait_secs", "ankiconnect_max_media_megs",
    /// "ankiconnect_fetch_timeout_secs", "ankiconnect_fetch_private",
    /// "ip_header", "login_free_failures", "login_delay_ms",
    /// "login_lockout_secs", "mdns". Unknown keys are an error.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Address to listen on [env: SYNC_HOST] ["host"] (default 0.0.0.0).
    #[arg(long, value_name = "IP")]
    pub host: Option<IpAddr>,

    /// Port to listen on [env: SYNC_PORT] ["port"] (default 8080).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Data folder: one sub-folder per user, the official server's layout
    /// [env: SYNC_BASE] ["base"] (default ./kioku-data).
    #[arg(long, value_name = "DIR")]
    pub base: Option<PathBuf>,

    /// Largest request body in MiB after decompression; a full upload of a
    /// collection may be up to 3 times this, as with the official server
    /// [env: MAX_SYNC_PAYLOAD_MEGS] ["max_payload_megs"] (default 100).
    #[arg(long, value_name = "MEGS")]
    pub max_payload_megs: Option<u64>,

    /// A user as NAME:PASSWORD; repeat for more users. Replaces the users from
    /// the environment and the file [env: SYNC_USER1, SYNC_USER2, … read in
    /// order until the first missing one] ["users" = ["name:password", …]].
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    pub users: Vec<String>,

    /// The passwords of the users are PHC hash strings
    /// (`$pbkdf2-sha256$i=…,l=32$salt$hash`), not plain text
    /// [env: PASSWORDS_HASHED, set to any value] ["passwords_hashed"] (default off).
    #[arg(long)]
    pub passwords_hashed: bool,

    /// Log filter, e.g. `info` or `warn,kioku=debug` [env: KIOKU_LOG, else RUST_LOG] ["log"] (default info).
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,

    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM
    /// [env: KIOKU_SHUTDOWN_GRACE_SECS] ["shutdown_grace_secs"] (default 10).
    #[arg(long, value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,

    /// Seconds a normal sync may sit idle before it is rolled back; until
    /// then another device's sync gets "only one copy of Anki can sync at once"
    /// [env: KIOKU_SYNC_SESSION_TIMEOUT_SECS] ["sync_session_timeout_secs"] (default 60).
    #[arg(long, value_name = "SECS")]
    pub sync_session_timeout_secs: Option<u64>,

    /// Port of the HTTPS listener [env: KIOKU_TLS_PORT] ["tls_port"] (default 8443).
    #[arg(long, value_name = "PORT")]
    pub tls_port: Option<u16>,

    /// Serve no HTTPS [env: KIOKU_NO_TLS, set to any value] ["tls" = false]
    /// (default: HTTPS on).
    #[arg(long)]
    pub no_tls: bool,

    /// Serve no plain HTTP (HTTPS only) [env: KIOKU_NO_HTTP, set to any value]
    /// ["http" = false] (default: plain HTTP on).
    #[arg(long)]
    pub no_http: bool,

    /// Host name of this machine for the generated certificate and the setup
    /// page; NAME and NAME.local are both covered [env: KIOKU_TLS_NAME]
    /// ["tls_name"] (default kioku).
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,

    /// Your own certificate chain (PEM) instead of the generated one; needs
    /// --tls-key; reloaded when the file changes [env: KIOKU_TLS_CERT] ["tls_cert"].
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert [env: KIOKU_TLS_KEY] ["tls_key"].
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,

    /// Seconds between checks of the certificate: re-issued when the
    /// addresses change or expiry is near, reloaded when its files change;
    /// discovery looks at the addresses every min(SECS, 5) seconds
    /// [env: KIOKU_TLS_CHECK_SECS] ["tls_check_secs"] (default 60).
    #[arg(long, value_name = "SECS")]
    pub tls_check_secs: Option<u64>,

    /// Take no snapshots of collections (a restore still keeps the collection
    /// it replaces) [env: KIOKU_NO_BACKUPS, set to any value] ["backups" =
    /// false] (default: backups on).
    #[arg(long)]
    pub no_backups: bool,

    /// Snapshots kept per user of collections a full upload replaced (and,
    /// counted separately, of collections a restore replaced); 0 takes none
    /// before uploads [env: KIOKU_BACKUP_KEEP_UPLOAD] ["backup_keep_upload"]
    /// (default 5).
    #[arg(long, value_name = "N")]
    pub backup_keep_upload: Option<u32>,

    /// Daily snapshots kept per user; 0 takes none
    /// [env: KIOKU_BACKUP_KEEP_DAILY] ["backup_keep_daily"] (default 7).
    #[arg(long, value_name = "N")]
    pub backup_keep_daily: Option<u32>,

    /// Hour (0-23, this machine's local time) at which a backup day starts:
    /// each user whose collection changed since their last daily snapshot
    /// gets one at the first check after it [env: KIOKU_BACKUP_HOUR]
    /// ["backup_hour"] (default 4).
    #[arg(long, value_name = "HOUR")]
    pub backup_hour: Option<u32>,

    /// Seconds between checks for due daily snapshots
    /// [env: KIOKU_BACKUP_CHECK_SECS] ["backup_check_secs"] (default 600).
    #[arg(long, value_name = "SECS")]
    pub backup_check_secs: Option<u64>,
    // --- AnkiConnect API (issue 11) ---
    /// Serve no AnkiConnect API, neither its own port nor /ankiconnect
    /// [env: KIOKU_NO_ANKICONNECT, set to any value] ["ankiconnect" = false]
    /// (default: on; every request needs an API key, see `kioku apikey`).
    #[arg(long)]
    pub no_ankiconnect: bool,

    /// Port of the AnkiConnect listener (plain HTTP) [env: KIOKU_ANKICONNECT_PORT]
    /// ["ankiconnect_port"] (default 8765, AnkiConnect's).
    #[arg(long, value_name = "PORT")]
    pub ankiconnect_port: Option<u16>,

    /// Address of the AnkiConnect listener [env: KIOKU_ANKICONNECT_HOST]
    /// ["ankiconnect_host"] (default: the --host address).
    #[arg(long, value_name = "IP")]
    pub ankiconnect_host: Option<IpAddr>,

    /// A web origin allowed to call the API besides http://localhost, browser
    /// extensions and 127.0.0.1 (e.g. app://obsidian.md; * allows every
    /// origin); repeat for more [env: KIOKU_ANKICONNECT_ORIGINS, comma-separated]
    /// ["ankiconnect_origins" = ["…"]].
    #[arg(long = "ankiconnect-origin", value_name = "ORIGIN")]
    pub ankiconnect_origins: Vec<String>,

    /// Keyless mode: requests without an API key from the --ankiconnect-keyless-from
    /// addresses act as this user (off by default; see the README for the risk)
    /// [env: KIOKU_ANKICONNECT_KEYLESS_USER] ["ankiconnect_keyless_user"].
    #[arg(long, value_name = "USER")]
    pub ankiconnect_keyless_user: Option<String>,

    /// An address or network (e.g. 192.168.1.20 or 192.168.1.0/24) whose
    /// requests need no key in keyless mode; repeat for more
    /// [env: KIOKU_ANKICONNECT_KEYLESS_FROM, comma-separated] ["ankiconnect_keyless_from" = ["…"]].
    #[arg(long = "ankiconnect-keyless-from", value_name = "NET")]
    pub ankiconnect_keyless_from: Vec<String>,

    /// Seconds an API write waits for a sync of the same account to finish
    /// before it fails [env: KIOKU_ANKICONNECT_WRITE_WAIT_SECS]
    /// ["ankiconnect_write_wait_secs"] (default 30).
    #[arg(long, value_name = "SECS")]
    pub ankiconnect_write_wait_secs: Option<u64>,

    /// Largest media file stored through the API, in MiB (sets the request
    /// body limit: base64 makes a file 4/3 bigger) [env: KIOKU_ANKICONNECT_MAX_MEDIA_MEGS]
    /// ["ankiconnect_max_media_megs"] (default 30, at most 100).
    #[arg(long, value_name = "MEGS")]
    pub ankiconnect_max_media_megs: Option<u64>,

    /// Seconds a storeMediaFile download from a url may take
    /// [env: KIOKU_ANKICONNECT_FETCH_TIMEOUT_SECS] ["ankiconnect_fetch_timeout_secs"] (default 10).
    #[arg(long, value_name = "SECS")]
    pub ankiconnect_fetch_timeout_secs: Option<u64>,

    /// Let storeMediaFile download from private, loopback and link-local
    /// addresses too [env: KIOKU_ANKICONNECT_FETCH_PRIVATE, set to any value]
    /// ["ankiconnect_fetch_private"] (default off).
    #[arg(long)]
    pub ankiconnect_fetch_private: bool,
    // --- Accounts and login protection ---
    /// Behind a reverse proxy: the request header that carries the client's
    /// address, e.g. X-Forwarded-For (its rightmost entry) or X-Real-IP, or
    /// the official server's names (RightmostXForwardedFor, XRealIp, …).
    /// Only a trusted proxy may set it; without it the TCP peer counts
    /// [env: SYNC_IP_HEADER] ["ip_header"] (default: the TCP peer).
    #[arg(long, value_name = "HEADER")]
    pub ip_header: Option<String>,

    /// Failed logins from one address that cost nothing; 4 times as many per
    /// user name [env: KIOKU_LOGIN_FREE_FAILURES] ["login_free_failures"] (default 5).
    #[arg(long, value_name = "N")]
    pub login_free_failures: Option<u32>,

    /// The wait after the first failed login past the free ones; it doubles
    /// with each further failure [env: KIOKU_LOGIN_DELAY_MS] ["login_delay_ms"]
    /// (default 1000).
    #[arg(long, value_name = "MS")]
    pub login_delay_ms: Option<u64>,

    /// The longest wait (the lockout) between failed logins of one address or
    /// user name [env: KIOKU_LOGIN_LOCKOUT_SECS] ["login_lockout_secs"] (default 900).
    #[arg(long, value_name = "SECS")]
    pub login_lockout_secs: Option<u64>,
    /// Do not advertise on the local network (mDNS: NAME.local and the
    /// _https/_http/_kioku DNS-SD services) [env: KIOKU_NO_MDNS, set to any
    /// value] ["mdns" = false] (default: on unless listening on loopback only).
    #[arg(long)]
    pub no_mdns: bool,
}

/// One configured user: the name and the secret as written (a password, or a
/// PHC hash string when `hashed`), and where it came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub name: String,
    pub secret: String,
    pub source: String,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub base: PathBuf,
    /// Where `base` came from (`SYNC_BASE`, `--base`, the file, or the default).
    pub base_source: String,
    pub max_payload_megs: u64,
    pub users: Vec<UserSpec>,
    pub passwords_hashed: bool,
    pub log: String,
    pub shutdown_grace_secs: u64,
    pub sync_session_timeout_secs: u64,
    /// Serve HTTPS.
    pub tls: bool,
    /// Serve plain HTTP.
    pub http: bool,
    pub tls_port: u16,
    pub tls_name: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_check_secs: u64,
    /// Snapshots of collections (see `crate::backup`).
    pub backups: BackupSettings,
    /// The AnkiConnect API (issue 11).
    pub ankiconnect: AnkiConnectConfig,
    // Accounts and login protection.
    /// Where the client address comes from (`None`: the TCP peer).
    pub ip_header: Option<IpHeader>,
    pub login_free_failures: u32,
    pub login_delay_ms: u64,
    pub login_lockout_secs: u64,
    /// Advertise over mDNS / DNS-SD (see `crate::mdns`).
    pub mdns: bool,
}

/// When snapshots are taken and how many are kept (see `crate::backup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSettings {
    /// Off: kioku takes no snapshots on its own (a restore still keeps the
    /// collection it replaces).
    pub enabled: bool,
    /// How many snapshots of kind `upload` (and of kind `restore`) to keep.
    pub keep_upload: u32,
    /// How many daily snapshots to keep; 0 takes none.
    pub keep_daily: u32,
    /// Local hour at which a backup day starts.
    pub daily_hour: u32,
    /// Seconds between checks for due daily snapshots.
    pub check_secs: u64,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            enabled: true,
            keep_upload: DEFAULT_BACKUP_KEEP_UPLOAD,
            keep_daily: DEFAULT_BACKUP_KEEP_DAILY,
            daily_hour: DEFAULT_BACKUP_HOUR,
            check_secs: DEFAULT_BACKUP_CHECK_SECS,
        }
    }
}

/// Settings of the AnkiConnect API.
#[derive(Debug, Clone, PartialEq)]
pub struct AnkiConnectConfig {
    pub enabled: bool,
    pub host: IpAddr,
    pub port: u16,
    /// The port was set explicitly (then failing to bind it stops kioku;
    /// the default port being taken only disables the API's own port).
    pub port_configured: bool,
    /// Extra allowed origins (besides AnkiConnect's `http://localhost` rule).
    pub origins: Vec<String>,
    pub keyless_user: Option<String>,
    pub keyless_from: Vec<ipnet::IpNet>,
    pub write_wait_secs: u64,
    pub max_media_megs: u64,
    pub fetch_timeout_secs: u64,
    pub fetch_private: bool,
}

impl AnkiConnectConfig {
    /// Largest media file in bytes.
    pub fn max_media_bytes(&self) -> u64 {
        self.max_media_megs * 1024 * 1024
    }

    /// Largest request body: a file's base64 text plus 1 MiB for the rest.
    pub fn max_body_bytes(&self) -> u64 {
        self.max_media_bytes().div_ceil(3) * 4 + 1024 * 1024
    }
}

/// The header a trusted reverse proxy puts the client's address in, and how
/// to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpHeader {
    /// The header name, lower case.
    pub name: String,
    pub form: IpHeaderForm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpHeaderForm {
    /// A comma-separated list of addresses; the rightmost one is the address
    /// the (last) proxy saw (X-Forwarded-For).
    Rightmost,
    /// RFC 7239 `Forwarded`: the `for=` of the last element.
    Forwarded,
}

impl IpHeader {
    /// Parses `SYNC_IP_HEADER`: the official server's names
    /// (`RightmostXForwardedFor`, `XRealIp`, `CfConnectingIp`,
    /// `TrueClientIp`, `FlyClientIp`, `CloudFrontViewerAddress`,
    /// `RightmostForwarded`; `ConnectInfo` means the TCP peer) or a header
    /// name. `Ok(None)`: the TCP peer.
    pub fn parse(raw: &str) -> Result<Option<IpHeader>, String> {
        let raw = raw.trim();
        let rightmost = |name: &str| {
            Ok(Some(IpHeader {
                name: name.into(),
                form: IpHeaderForm::Rightmost,
            }))
        };
        match raw {
            "ConnectInfo" | "" => Ok(None),
            "RightmostXForwardedFor" => rightmost("x-forwarded-for"),
            "XRealIp" => rightmost("x-real-ip"),
            "CfConnectingIp" => rightmost("cf-connecting-ip"),
            "TrueClientIp" => rightmost("true-client-ip"),
            "FlyClientIp" => rightmost("fly-client-ip"),
            "CloudFrontViewerAddress" => rightmost("cloudfront-viewer-address"),
            "RightmostForwarded" => Ok(Some(IpHeader {
                name: "forwarded".into(),
                form: IpHeaderForm::Forwarded,
            })),
            name if name.eq_ignore_ascii_case("forwarded") => Ok(Some(IpHeader {
                name: "forwarded".into(),
                form: IpHeaderForm::Forwarded,
            })),
            name if name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                rightmost(&name.to_ascii_lowercase())
            }
            other => Err(format!(
                "{other:?} is not a header name (e.g. X-Forwarded-For) or one of the official \
                 server's names (RightmostXForwardedFor, XRealIp, CfConnectingIp, TrueClientIp, \
                 FlyClientIp, CloudFrontViewerAddress, RightmostForwarded, ConnectInfo)"
            )),
        }
    }
}

impl Config {
    /// The payload limit in bytes (`MAX_SYNC_PAYLOAD_MEGS` MiB).
    pub fn payload_limit(&self) -> u64 {
        self.max_payload_megs * 1024 * 1024
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A bad value, naming where it came from (flag, variable or file key).
    #[error("{source_name}: {message}")]
    BadValue {
        source_name: String,
        message: String,
    },
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
}

/// One layer of settings; every field optional so layers can be stacked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    host: Option<IpAddr>,
    port: Option<u16>,
    base: Option<PathBuf>,
    max_payload_megs: Option<u64>,
    users: Option<Vec<String>>,
    passwords_hashed: Option<bool>,
    log: Option<String>,
    shutdown_grace_secs: Option<u64>,
    sync_session_timeout_secs: Option<u64>,
    tls: Option<bool>,
    http: Option<bool>,
    tls_port: Option<u16>,
    tls_name: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_check_secs: Option<u64>,
    backups: Option<bool>,
    backup_keep_upload: Option<u32>,
    backup_keep_daily: Option<u32>,
    backup_hour: Option<u32>,
    backup_check_secs: Option<u64>,
    // AnkiConnect API (issue 11)
    ankiconnect: Option<bool>,
    ankiconnect_port: Option<u16>,
    ankiconnect_host: Option<IpAddr>,
    ankiconnect_origins: Option<Vec<String>>,
    ankiconnect_keyless_user: Option<String>,
    ankiconnect_keyless_from: Option<Vec<String>>,
    ankiconnect_write_wait_secs: Option<u64>,
    ankiconnect_max_media_megs: Option<u64>,
    ankiconnect_fetch_timeout_secs: Option<u64>,
    ankiconnect_fetch_private: Option<bool>,
    ip_header: Option<String>,
    login_free_failures: Option<u32>,
    login_delay_ms: Option<u64>,
    login_lockout_secs: Option<u64>,
    mdns: Option<bool>,
    /// Where each value came from, for error messages (not a file key).
    #[serde(skip)]
    origin: HashMap<&'static str, String>,
}

impl Layer {
    fn from_flags(args: &ServeArgs) -> Layer {
        let mut origin = HashMap::new();
        for key in ["base", "max_payload_megs"] {
            origin.insert(key, format!("--{}", key.replace('_', "-")));
        }
        Layer {
            host: args.host,
            port: args.port,
            base: args.base.clone(),
            max_payload_megs: args.max_payload_megs,
            users: (!args.users.is_empty()).then(|| args.users.clone()),
            passwords_hashed: args.passwords_hashed.then_some(true),
            log: args.log.clone(),
            shutdown_grace_secs: args.shutdown_grace_secs,
            sync_session_timeout_secs: args.sync_session_timeout_secs,
            tls: args.no_tls.then_some(false),
            http: args.no_http.then_some(false),
            tls_port: args.tls_port,
            tls_name: args.tls_name.clone(),
            tls_cert: args.tls_cert.clone(),
            tls_key: args.tls_key.clone(),
            tls_check_secs: args.tls_check_secs,
            backups: args.no_backups.then_some(false),
            backup_keep_upload: args.backup_keep_upload,
            backup_keep_daily: args.backup_keep_daily,
            backup_hour: args.backup_hour,
            backup_check_secs: args.backup_check_secs,
            ankiconnect: args.no_ankiconnect.then_some(false),
            ankiconnect_port: args.ankiconnect_port,
            ankiconnect_host: args.ankiconnect_host,
            ankiconnect_origins: (!args.ankiconnect_origins.is_empty())
                .then(|| args.ankiconnect_origins.clone()),
            ankiconnect_keyless_user: args.ankiconnect_keyless_user.clone(),
            ankiconnect_keyless_from: (!args.ankiconnect_keyless_from.is_empty())
                .then(|| args.ankiconnect_keyless_from.clone()),
            ankiconnect_write_wait_secs: args.ankiconnect_write_wait_secs,
            ankiconnect_max_media_megs: args.ankiconnect_max_media_megs,
            ankiconnect_fetch_timeout_secs: args.ankiconnect_fetch_timeout_secs,
            ankiconnect_fetch_private: args.ankiconnect_fetch_private.then_some(true),
            ip_header: args.ip_header.clone(),
            login_free_failures: args.login_free_failures,
            login_delay_ms: args.login_delay_ms,
            login_lockout_secs: args.login_lockout_secs,
            mdns: args.no_mdns.then_some(false),
            origin,
        }
    }

    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
        let users: Vec<String> = (1..).map_while(|i| env(&format!("SYNC_USER{i}"))).collect();
        let mut layer = Layer {
            host: parse_env(
                env,
                "SYNC_HOST",
                "an IP address such as 0.0.0.0 or 127.0.0.1",
            )?,
            port: parse_env(env, "SYNC_PORT", "a port number from 0 to 65535")?,
            base: env("SYNC_BASE").map(PathBuf::from),
            max_payload_megs: parse_env(env, "MAX_SYNC_PAYLOAD_MEGS", "a whole number of MiB")?,
            users: (!users.is_empty()).then_some(users),
            passwords_hashed: env("PASSWORDS_HASHED").map(|_| true),
            log: env("KIOKU_LOG").or_else(|| env("RUST_LOG")),
            shutdown_grace_secs: parse_env(
                env,
                "KIOKU_SHUTDOWN_GRACE_SECS",
                "a whole number of seconds",
            )?,
            sync_session_timeout_secs: parse_env(
                env,
                "KIOKU_SYNC_SESSION_TIMEOUT_SECS",
                "a whole number of seconds",
            )?,
            tls: env("KIOKU_NO_TLS").map(|_| false),
            http: env("KIOKU_NO_HTTP").map(|_| false),
            tls_port: parse_env(env, "KIOKU_TLS_PORT", "a port number from 0 to 65535")?,
            tls_name: env("KIOKU_TLS_NAME"),
            tls_cert: env("KIOKU_TLS_CERT").map(PathBuf::from),
            tls_key: env("KIOKU_TLS_KEY").map(PathBuf::from),
            tls_check_secs: parse_env(env, "KIOKU_TLS_CHECK_SECS", "a whole number of seconds")?,
            backups: env("KIOKU_NO_BACKUPS").map(|_| false),
            backup_keep_upload: parse_env(env, "KIOKU_BACKUP_KEEP_UPLOAD", "a whole number")?,
            backup_keep_daily: parse_env(env, "KIOKU_BACKUP_KEEP_DAILY", "a whole number")?,
            backup_hour: parse_env(env, "KIOKU_BACKUP_HOUR", "an hour from 0 to 23")?,
            backup_check_secs: parse_env(
                env,
                "KIOKU_BACKUP_CHECK_SECS",
                "a whole number of seconds",
            )?,
            ankiconnect: env("KIOKU_NO_ANKICONNECT").map(|_| false),
            ankiconnect_port: parse_env(
                env,
                "KIOKU_ANKICONNECT_PORT",
                "a port number from 0 to 65535",
            )?,
            ankiconnect_host: parse_env(env, "KIOKU_ANKICONNECT_HOST", "an IP address")?,
            ankiconnect_origins: env("KIOKU_ANKICONNECT_ORIGINS").map(|v| comma_list(&v)),
            ankiconnect_keyless_user: env("KIOKU_ANKICONNECT_KEYLESS_USER"),
            ankiconnect_keyless_from: env("KIOKU_ANKICONNECT_KEYLESS_FROM").map(|v| comma_list(&v)),
            ankiconnect_write_wait_secs: parse_env(
                env,
                "KIOKU_ANKICONNECT_WRITE_WAIT_SECS",
                "a whole number of seconds",
            )?,
            ankiconnect_max_media_megs: parse_env(
                env,
                "KIOKU_ANKICONNECT_MAX_MEDIA_MEGS",
                "a whole number of MiB",
            )?,
            ankiconnect_fetch_timeout_secs: parse_env(
                env,
                "KIOKU_ANKICONNECT_FETCH_TIMEOUT_SECS",
                "a whole number of seconds",
            )?,
            ankiconnect_fetch_private: env("KIOKU_ANKICONNECT_FETCH_PRIVATE").map(|_| true),
            ip_header: env("SYNC_IP_HEADER"),
            login_free_failures: parse_env(env, "KIOKU_LOGIN_FREE_FAILURES", "a whole number")?,
            login_delay_ms: parse_env(
                env,
                "KIOKU_LOGIN_DELAY_MS",
                "a whole number of milliseconds",
            )?,
            login_lockout_secs: parse_env(
                env,
                "KIOKU_LOGIN_LOCKOUT_SECS",
                "a whole number of seconds",
            )?,
            mdns: env("KIOKU_NO_MDNS").map(|_| false),
            origin: HashMap::new(),
        };
        layer.origin.insert("base", "SYNC_BASE".into());
        layer.origin.insert("users", "SYNC_USER".into());
        layer
            .origin
            .insert("max_payload_megs", "MAX_SYNC_PAYLOAD_MEGS".into());
        Ok(layer)
    }

    fn from_file(path: &Path) -> Result<Layer, ConfigError> {
        let file_err = |message: String| ConfigError::File {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        let mut layer: Layer = toml::from_str(&text).map_err(|e| file_err(e.to_string()))?;
        let shown = path.display();
        for key in ["base", "max_payload_megs"] {
            layer.origin.insert(key, format!("{shown}: {key}"));
        }
        layer.origin.insert("users", format!("{shown}: users[N]"));
        Ok(layer)
    }

    /// Stacks `self` over `lower`: values of `self` win.
    fn over(mut self, lower: Layer) -> Layer {
        macro_rules! pick {
            ($($field:ident),*) => {$(
                if self.$field.is_none() {
                    self.$field = lower.$field;
                    if let Some(o) = lower.origin.get(stringify!($field)) {
                        self.origin.insert(stringify!($field), o.clone());
                    }
                }
            )*};
        }
        pick!(
            host,
            port,
            base,
            max_payload_megs,
            users,
            passwords_hashed,
            log,
            shutdown_grace_secs,
            sync_session_timeout_secs,
            tls,
            http,
            tls_port,
            tls_name,
            tls_cert,
            tls_key,
            tls_check_secs,
            backups,
            backup_keep_upload,
            backup_keep_daily,
            backup_hour,
            backup_check_secs,
            ankiconnect,
            ankiconnect_port,
            ankiconnect_host,
            ankiconnect_origins,
            ankiconnect_keyless_user,
            ankiconnect_keyless_from,
            ankiconnect_write_wait_secs,
            ankiconnect_max_media_megs,
            ankiconnect_fetch_timeout_secs,
            ankiconnect_fetch_private,
            ip_header,
            login_free_failures,
            login_delay_ms,
            login_lockout_secs,
            mdns
        );
        self
    }
}

/// A comma-separated list from the environment (empty items dropped).
fn comma_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_env<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    expected: &str,
) -> Result<Option<T>, ConfigError> {
    match env(name) {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::BadValue {
                source_name: name.to_owned(),
                message: format!("{raw:?} is not {expected}"),
            }),
    }
}

impl Config {
    /// Resolves the configuration from flags, the process environment and the
    /// optional file (named by `--config` or `KIOKU_CONFIG`).
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        Self::load_with(args, &|name| std::env::var(name).ok())
    }

    /// Like [`Config::load`] with an explicit environment (for tests).
    pub fn load_with(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let flags = Layer::from_flags(args);
        let environment = Layer::from_env(env)?;
        let file_path = args
            .config
            .clone()
            .or_else(|| env("KIOKU_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(path) => Layer::from_file(path)?,
            None => Layer::default(),
        };
        let merged = flags.over(environment.over(file));
        Self::finish(merged)
    }

    /// The same as [`Config::load`]: no configured user is needed any more
    /// (kioku then starts with the first-run form, or the users file's
    /// accounts). Kept for the commands that used it.
    pub fn load_without_users(args: &ServeArgs) -> Result<Config, ConfigError> {
        Self::load(args)
    }

    fn finish(layer: Layer) -> Result<Config, ConfigError> {
        let host = layer
            .host
            .unwrap_or_else(|| DEFAULT_HOST.parse().expect("default host parses"));
        let ankiconnect = ankiconnect_config(&layer, host)?;
        let origin = |key: &str| layer.origin.get(key).cloned().unwrap_or_else(|| key.into());
        let backups = backup_settings(&layer)?;
        let max_payload_megs = layer.max_payload_megs.unwrap_or(DEFAULT_MAX_PAYLOAD_MEGS);
        if max_payload_megs == 0 || max_payload_megs > 1 << 20 {
            return Err(ConfigError::BadValue {
                source_name: origin("max_payload_megs"),
                message: format!("{max_payload_megs} is out of range (1 to 1048576 MiB)"),
            });
        }
        let base_source = match layer.base {
            Some(_) => origin("base"),
            None => format!("the default data folder {DEFAULT_BASE}"),
        };
        let base = layer.base.unwrap_or_else(|| PathBuf::from(DEFAULT_BASE));
        if base.as_os_str().is_empty() {
            return Err(ConfigError::BadValue {
                source_name: origin("base"),
                message: "the data folder must not be empty".into(),
            });
        }
        let user_origin = origin("users");
        let mut users: Vec<UserSpec> = Vec::new();
        for (i, raw) in layer.users.unwrap_or_default().iter().enumerate() {
            let source = if user_origin == "SYNC_USER" {
                format!("SYNC_USER{}", i + 1)
            } else if user_origin.ends_with("users[N]") {
                user_origin.replace("[N]", &format!("[{i}]"))
            } else {
                "--user".to_owned()
            };
            let spec = parse_user(raw, &source)?;
            if users.iter().any(|u| u.name == spec.name) {
                return Err(ConfigError::BadValue {
                    source_name: source,
                    message: format!("user {:?} is configured twice", spec.name),
                });
            }
            users.push(spec);
        }
        let tls = layer.tls.unwrap_or(true);
        let http = layer.http.unwrap_or(true);
        if !tls && !http {
            return Err(ConfigError::BadValue {
                source_name: "--no-tls/--no-http (KIOKU_NO_TLS/KIOKU_NO_HTTP, tls/http)".into(),
                message: "HTTPS and plain HTTP are both turned off; nothing would listen".into(),
            });
        }
        if layer.tls_cert.is_some() != layer.tls_key.is_some() {
            return Err(ConfigError::BadValue {
                source_name:
                    "--tls-cert/--tls-key (KIOKU_TLS_CERT/KIOKU_TLS_KEY, tls_cert/tls_key)".into(),
                message: "give both the certificate and its key, or neither".into(),
            });
        }
        let tls_name = layer.tls_name.unwrap_or_else(|| DEFAULT_TLS_NAME.into());
        if tls_name.is_empty()
            || !tls_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(ConfigError::BadValue {
                source_name: "--tls-name (KIOKU_TLS_NAME, tls_name)".into(),
                message: format!("{tls_name:?} is not a host name (letters, digits, '-', '.')"),
            });
        }
        if tls && layer.tls_cert.is_none() {
            if let Some(u) = users.iter().find(|u| u.name.eq_ignore_ascii_case("tls")) {
                return Err(ConfigError::BadValue {
                    source_name: u.source.clone(),
                    message: format!(
                        "the user name {:?} is taken by the certificate folder \
                         <base>/tls while kioku makes its own certificates; \
                         rename the user, or use --no-tls or --tls-cert/--tls-key",
                        u.name
                    ),
                });
            }
        }
        // The other names kioku keeps in the data folder are never user names
        // ("tls" only while kioku makes its own certificates, as before).
        for u in &users {
            if let Some(r) = crate::users::names::reserved(&u.name) {
                if r.name != "tls" {
                    return Err(ConfigError::BadValue {
                        source_name: u.source.clone(),
                        message: format!("the user name {:?} is taken by {}", u.name, r.why),
                    });
                }
            }
        }
        let ip_header = match layer.ip_header.as_deref() {
            Some(raw) => IpHeader::parse(raw).map_err(|message| ConfigError::BadValue {
                source_name: "--ip-header (SYNC_IP_HEADER, ip_header)".into(),
                message,
            })?,
            None => None,
        };
        let login_delay_ms = layer.login_delay_ms.unwrap_or(DEFAULT_LOGIN_DELAY_MS);
        let login_lockout_secs = layer
            .login_lockout_secs
            .unwrap_or(DEFAULT_LOGIN_LOCKOUT_SECS);
        if login_delay_ms == 0 || login_lockout_secs == 0 {
            return Err(ConfigError::BadValue {
                source_name: "--login-delay-ms/--login-lockout-secs \
                              (KIOKU_LOGIN_DELAY_MS/KIOKU_LOGIN_LOCKOUT_SECS)"
                    .into(),
                message: "the delay and the lockout must be at least 1".into(),
            });
        }
        if login_delay_ms > login_lockout_secs.saturating_mul(1000) {
            return Err(ConfigError::BadValue {
                source_name: "--login-delay-ms (KIOKU_LOGIN_DELAY_MS, login_delay_ms)".into(),
                message: format!(
                    "the first delay ({login_delay_ms} ms) is longer than the lockout \
                     ({login_lockout_secs} s)"
                ),
            });
        }

        Ok(Config {
            host,
            port: layer.port.unwrap_or(DEFAULT_PORT),
            base,
            base_source,
            max_payload_megs,
            users,
            passwords_hashed: layer.passwords_hashed.unwrap_or(false),
            log: layer.log.unwrap_or_else(|| DEFAULT_LOG.into()),
            shutdown_grace_secs: layer
                .shutdown_grace_secs
                .unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECS),
            sync_session_timeout_secs: layer
                .sync_session_timeout_secs
                .unwrap_or(DEFAULT_SYNC_SESSION_TIMEOUT_SECS),
            tls,
            http,
            tls_port: layer.tls_port.unwrap_or(DEFAULT_TLS_PORT),
            tls_name,
            tls_cert: layer.tls_cert,
            tls_key: layer.tls_key,
            tls_check_secs: layer
                .tls_check_secs
                .unwrap_or(DEFAULT_TLS_CHECK_SECS)
                .max(1),
            backups,
            ankiconnect,
            ip_header,
            login_free_failures: layer
                .login_free_failures
                .unwrap_or(DEFAULT_LOGIN_FREE_FAILURES),
            login_delay_ms,
            login_lockout_secs,
            mdns: layer.mdns.unwrap_or(true),
        })
    }
}

/// The backup settings of a merged layer, checked.
fn backup_settings(layer: &Layer) -> Result<BackupSettings, ConfigError> {
    let bad = |source_name: &str, message: String| ConfigError::BadValue {
        source_name: source_name.into(),
        message,
    };
    let keep = |value: Option<u32>, default: u32, source_name: &str| match value {
        Some(n) if n > MAX_BACKUP_KEEP => Err(bad(
            source_name,
            format!("{n} is more than {MAX_BACKUP_KEEP} snapshots"),
        )),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let daily_hour = layer.backup_hour.unwrap_or(DEFAULT_BACKUP_HOUR);
    if daily_hour > 23 {
        return Err(bad(
            "--backup-hour (KIOKU_BACKUP_HOUR, backup_hour)",
            format!("{daily_hour} is not an hour from 0 to 23"),
        ));
    }
    Ok(BackupSettings {
        enabled: layer.backups.unwrap_or(true),
        keep_upload: keep(
            layer.backup_keep_upload,
            DEFAULT_BACKUP_KEEP_UPLOAD,
            "--backup-keep-upload (KIOKU_BACKUP_KEEP_UPLOAD, backup_keep_upload)",
        )?,
        keep_daily: keep(
            layer.backup_keep_daily,
            DEFAULT_BACKUP_KEEP_DAILY,
            "--backup-keep-daily (KIOKU_BACKUP_KEEP_DAILY, backup_keep_daily)",
        )?,
        daily_hour,
        check_secs: layer
            .backup_check_secs
            .unwrap_or(DEFAULT_BACKUP_CHECK_SECS)
            .max(1),
    })
}

/// The AnkiConnect settings of a merged layer, checked.
fn ankiconnect_config(layer: &Layer, host: IpAddr) -> Result<AnkiConnectConfig, ConfigError> {
    let bad = |source_name: &str, message: String| ConfigError::BadValue {
        source_name: source_name.to_owned(),
        message,
    };
    let origins = layer.ankiconnect_origins.clone().unwrap_or_default();
    if let Some(o) = origins
        .iter()
        .find(|o| o.is_empty() || o.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(bad(
            "--ankiconnect-origin (KIOKU_ANKICONNECT_ORIGINS, ankiconnect_origins)",
            format!("{o:?} is not an origin such as app://obsidian.md"),
        ));
    }
    let keyless_from = layer
        .ankiconnect_keyless_from
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|raw| {
            raw.parse::<ipnet::IpNet>()
                .or_else(|_| raw.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    bad(
                        "--ankiconnect-keyless-from (KIOKU_ANKICONNECT_KEYLESS_FROM, ankiconnect_keyless_from)",
                        format!("{raw:?} is not an address or network such as 192.168.1.20 or 192.168.1.0/24"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let keyless_user = layer.ankiconnect_keyless_user.clone();
    let keyless_source =
        "--ankiconnect-keyless-user/--ankiconnect-keyless-from (KIOKU_ANKICONNECT_KEYLESS_USER/KIOKU_ANKICONNECT_KEYLESS_FROM)";
    match (&keyless_user, keyless_from.is_empty()) {
        (Some(_), true) => {
            return Err(bad(
                keyless_source,
                "keyless mode needs the addresses it is allowed from; it is never open to everyone"
                    .into(),
            ))
        }
        (None, false) => {
            return Err(bad(
                keyless_source,
                "addresses for keyless mode are given, but no user to act as".into(),
            ))
        }
        _ => {}
    }
    if let Some(user) = &keyless_user {
        crate::users::validate_name(user).map_err(|e| bad(keyless_source, e.to_string()))?;
    }
    let max_media_megs = layer
        .ankiconnect_max_media_megs
        .unwrap_or(DEFAULT_ANKICONNECT_MAX_MEDIA_MEGS);
    if !(1..=100).contains(&max_media_megs) {
        return Err(bad(
            "--ankiconnect-max-media-megs (KIOKU_ANKICONNECT_MAX_MEDIA_MEGS, ankiconnect_max_media_megs)",
            format!("{max_media_megs} is out of range (1 to 100 MiB, the media sync limit)"),
        ));
    }
    Ok(AnkiConnectConfig {
        enabled: layer.ankiconnect.unwrap_or(true),
        host: layer.ankiconnect_host.unwrap_or(host),
        port: layer.ankiconnect_port.unwrap_or(DEFAULT_ANKICONNECT_PORT),
        port_configured: layer.ankiconnect_port.is_some(),
        origins,
        keyless_user,
        keyless_from,
        write_wait_secs: layer
            .ankiconnect_write_wait_secs
            .unwrap_or(DEFAULT_ANKICONNECT_WRITE_WAIT_SECS),
        max_media_megs,
        fetch_timeout_secs: layer
            .ankiconnect_fetch_timeout_secs
            .unwrap_or(DEFAULT_ANKICONNECT_FETCH_TIMEOUT_SECS)
            .max(1),
        fetch_private: layer.ankiconnect_fetch_private.unwrap_or(false),
    })
}

/// Splits `name:secret` at the first colon and checks the name can safely be a
/// folder name under the data folder.
fn parse_user(raw: &str, source: &str) -> Result<UserSpec, ConfigError> {
    let bad = |message: String| ConfigError::BadValue {
        source_name: source.to_owned(),
        message,
    };
    let (name, secret) = raw
        .split_once(':')
        .ok_or_else(|| bad("expected NAME:PASSWORD, but there is no ':'".into()))?;
    crate::users::validate_name(name).map_err(|e| bad(e.to_string()))?;
    if secret.is_empty() {
        return Err(bad(format!("user {name:?} has an empty password")));
    }
    Ok(UserSpec {
        name: name.to_owned(),
        secret: secret.to_owned(),
        source: source.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn tempdir() -> PathBuf {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        let dir = std::env::temp_dir().join(format!("kioku-test-{}", hex::encode(bytes)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
