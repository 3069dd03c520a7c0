//! The layers settings come from: flags, the environment and the TOML file,
//! each with every field optional, and the stack that answers "the value of
//! the highest layer that sets it".
//!
//! A new option is a field of [`Layer`] (its file key), a line in
//! [`Layer::from_flags`] and in [`Layer::from_env`] (both struct literals, so
//! the compiler notices a missing one), and a read in `super::finish` (an
//! unread field is a dead-code warning). This file only reads and parses; the
//! checks live with each feature's block.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, ServeArgs};

/// One layer of settings; every field optional so layers can be stacked.
/// The field names are the file keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Layer {
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub base: Option<PathBuf>,
    pub max_payload_megs: Option<u64>,
    pub users: Option<Vec<String>>,
    pub passwords_hashed: Option<bool>,
    pub log: Option<String>,
    pub shutdown_grace_secs: Option<u64>,
    pub sync_session_timeout_secs: Option<u64>,
    // TLS
    pub tls: Option<bool>,
    pub http: Option<bool>,
    pub tls_port: Option<u16>,
    pub tls_name: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_check_secs: Option<u64>,
    // Backups
    pub backups: Option<bool>,
    pub backup_keep_upload: Option<u32>,
    pub backup_keep_daily: Option<u32>,
    pub backup_hour: Option<u32>,
    pub backup_check_secs: Option<u64>,
    // AnkiConnect API
    pub ankiconnect: Option<bool>,
    pub ankiconnect_port: Option<u16>,
    pub ankiconnect_host: Option<IpAddr>,
    pub ankiconnect_origins: Option<Vec<String>>,
    pub ankiconnect_keyless_user: Option<String>,
    pub ankiconnect_keyless_from: Option<Vec<String>>,
    pub ankiconnect_write_wait_secs: Option<u64>,
    pub ankiconnect_max_media_megs: Option<u64>,
    pub ankiconnect_fetch_timeout_secs: Option<u64>,
    pub ankiconnect_fetch_private: Option<bool>,
    // Accounts and login protection
    pub ip_header: Option<String>,
    pub login_free_failures: Option<u32>,
    pub login_delay_ms: Option<u64>,
    pub login_lockout_secs: Option<u64>,
    // Discovery
    pub mdns: Option<bool>,
    /// Where this layer's values came from, for error messages (not a file key).
    #[serde(skip)]
    pub source: Source,
}

/// Where a layer came from.
#[derive(Debug, Default, Clone)]
pub(super) enum Source {
    #[default]
    Flags,
    Env,
    File(PathBuf),
}

impl Source {
    /// How an error message names a value of this layer: its flag, its
    /// variable, or `<file>: <key>`.
    pub fn name(&self, flag: &str, var: &str, key: &str) -> String {
        match self {
            Source::Flags => flag.to_owned(),
            Source::Env => var.to_owned(),
            Source::File(path) => format!("{}: {key}", path.display()),
        }
    }
}

impl Layer {
    pub fn from_flags(args: &ServeArgs) -> Layer {
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
            source: Source::Flags,
        }
    }

    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
        let users: Vec<String> = (1..).map_while(|i| env(&format!("SYNC_USER{i}"))).collect();
        const SECONDS: &str = "a whole number of seconds";
        const PORT: &str = "a port number from 0 to 65535";
        Ok(Layer {
            host: parse_env(
                env,
                "SYNC_HOST",
                "an IP address such as 0.0.0.0 or 127.0.0.1",
            )?,
            port: parse_env(env, "SYNC_PORT", PORT)?,
            base: env("SYNC_BASE").map(PathBuf::from),
            max_payload_megs: parse_env(env, "MAX_SYNC_PAYLOAD_MEGS", "a whole number of MiB")?,
            users: (!users.is_empty()).then_some(users),
            passwords_hashed: env("PASSWORDS_HASHED").map(|_| true),
            log: env("KIOKU_LOG").or_else(|| env("RUST_LOG")),
            shutdown_grace_secs: parse_env(env, "KIOKU_SHUTDOWN_GRACE_SECS", SECONDS)?,
            sync_session_timeout_secs: parse_env(env, "KIOKU_SYNC_SESSION_TIMEOUT_SECS", SECONDS)?,
            tls: env("KIOKU_NO_TLS").map(|_| false),
            http: env("KIOKU_NO_HTTP").map(|_| false),
            tls_port: parse_env(env, "KIOKU_TLS_PORT", PORT)?,
            tls_name: env("KIOKU_TLS_NAME"),
            tls_cert: env("KIOKU_TLS_CERT").map(PathBuf::from),
            tls_key: env("KIOKU_TLS_KEY").map(PathBuf::from),
            tls_check_secs: parse_env(env, "KIOKU_TLS_CHECK_SECS", SECONDS)?,
            backups: env("KIOKU_NO_BACKUPS").map(|_| false),
            backup_keep_upload: parse_env(env, "KIOKU_BACKUP_KEEP_UPLOAD", "a whole number")?,
            backup_keep_daily: parse_env(env, "KIOKU_BACKUP_KEEP_DAILY", "a whole number")?,
            backup_hour: parse_env(env, "KIOKU_BACKUP_HOUR", "an hour from 0 to 23")?,
            backup_check_secs: parse_env(env, "KIOKU_BACKUP_CHECK_SECS", SECONDS)?,
            ankiconnect: env("KIOKU_NO_ANKICONNECT").map(|_| false),
            ankiconnect_port: parse_env(env, "KIOKU_ANKICONNECT_PORT", PORT)?,
            ankiconnect_host: parse_env(env, "KIOKU_ANKICONNECT_HOST", "an IP address")?,
            ankiconnect_origins: env("KIOKU_ANKICONNECT_ORIGINS").map(|v| comma_list(&v)),
            ankiconnect_keyless_user: env("KIOKU_ANKICONNECT_KEYLESS_USER"),
            ankiconnect_keyless_from: env("KIOKU_ANKICONNECT_KEYLESS_FROM").map(|v| comma_list(&v)),
            ankiconnect_write_wait_secs: parse_env(
                env,
                "KIOKU_ANKICONNECT_WRITE_WAIT_SECS",
                SECONDS,
            )?,
            ankiconnect_max_media_megs: parse_env(
                env,
                "KIOKU_ANKICONNECT_MAX_MEDIA_MEGS",
                "a whole number of MiB",
            )?,
            ankiconnect_fetch_timeout_secs: parse_env(
                env,
                "KIOKU_ANKICONNECT_FETCH_TIMEOUT_SECS",
                SECONDS,
            )?,
            ankiconnect_fetch_private: env("KIOKU_ANKICONNECT_FETCH_PRIVATE").map(|_| true),
            ip_header: env("SYNC_IP_HEADER"),
            login_free_failures: parse_env(env, "KIOKU_LOGIN_FREE_FAILURES", "a whole number")?,
            login_delay_ms: parse_env(
                env,
                "KIOKU_LOGIN_DELAY_MS",
                "a whole number of milliseconds",
            )?,
            login_lockout_secs: parse_env(env, "KIOKU_LOGIN_LOCKOUT_SECS", SECONDS)?,
            mdns: env("KIOKU_NO_MDNS").map(|_| false),
            source: Source::Env,
        })
    }

    pub fn from_file(path: &Path) -> Result<Layer, ConfigError> {
        let file_err = |message: String| ConfigError::File {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        let mut layer: Layer = toml::from_str(&text).map_err(|e| file_err(e.to_string()))?;
        layer.source = Source::File(path.to_owned());
        Ok(layer)
    }
}

/// The layers, highest first (flags, environment, file).
pub(super) struct Layers(pub Vec<Layer>);

impl Layers {
    /// The value of the highest layer that sets the field.
    pub fn get<T: Clone>(&self, field: impl Fn(&Layer) -> &Option<T>) -> Option<T> {
        self.get_with_source(field).map(|(value, _)| value)
    }

    /// The same, with the layer the value came from.
    pub fn get_with_source<T: Clone>(
        &self,
        field: impl Fn(&Layer) -> &Option<T>,
    ) -> Option<(T, &Source)> {
        self.0
            .iter()
            .find_map(|layer| field(layer).clone().map(|value| (value, &layer.source)))
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
