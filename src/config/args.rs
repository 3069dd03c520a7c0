//! The options of `kioku serve` (and of the commands that read the same
//! settings), as clap parses them. Their doc comments are the `--help` text;
//! this file only declares them, `super::layer` turns them into a layer.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

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
