//! Server configuration: one struct, built from four layers with the
//! precedence flags > environment > TOML file > defaults.
//!
//! The environment variables are the official Anki sync server's
//! (`SYNC_USER1`…, `PASSWORDS_HASHED`, `SYNC_BASE`, `SYNC_HOST`, `SYNC_PORT`,
//! `MAX_SYNC_PAYLOAD_MEGS`), so an existing setup works unchanged. This module
//! only parses and validates; it must not start anything.
//!
//! `args` declares the flags (and with them `--help`), `layer` reads flags,
//! environment and file into layers and stacks them; this file resolves the
//! core settings and [`Config`], and each feature's block (`users`, `tls`,
//! `backup`, `ankiconnect`, `accounts`) owns its defaults, types and checks.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

mod accounts;
mod ankiconnect;
mod args;
mod backup;
mod layer;
mod tls;
mod users;

pub use accounts::{
    IpHeader, IpHeaderForm, DEFAULT_LOGIN_DELAY_MS, DEFAULT_LOGIN_FREE_FAILURES,
    DEFAULT_LOGIN_LOCKOUT_SECS,
};
pub use ankiconnect::{
    AnkiConnectConfig, DEFAULT_ANKICONNECT_FETCH_TIMEOUT_SECS, DEFAULT_ANKICONNECT_MAX_MEDIA_MEGS,
    DEFAULT_ANKICONNECT_PORT, DEFAULT_ANKICONNECT_WRITE_WAIT_SECS,
};
pub use args::ServeArgs;
pub use backup::{
    BackupSettings, DEFAULT_BACKUP_CHECK_SECS, DEFAULT_BACKUP_HOUR, DEFAULT_BACKUP_KEEP_DAILY,
    DEFAULT_BACKUP_KEEP_UPLOAD, MAX_BACKUP_KEEP,
};
pub use tls::{DEFAULT_TLS_CHECK_SECS, DEFAULT_TLS_NAME, DEFAULT_TLS_PORT};
pub use users::UserSpec;

use layer::{Layer, Layers};

/// Default data folder (the official server uses `~/.syncserver`; kioku keeps a
/// laptop run's data beside the checkout).
pub const DEFAULT_BASE: &str = "./kioku-data";
pub const DEFAULT_HOST: &str = "0.0.0.0";
pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_MAX_PAYLOAD_MEGS: u64 = 100;
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 10;
pub const DEFAULT_SYNC_SESSION_TIMEOUT_SECS: u64 = 60;
/// The settings file read when neither `--config` nor `KIOKU_CONFIG` names
/// one, if it exists (`scripts/install` and the SD image make it a link to
/// the service's settings, so `sudo kioku …` on the box needs no flags).
pub const DEFAULT_CONFIG: &str = "/etc/kioku/kioku.toml";

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
    /// The AnkiConnect API (see `crate::api`).
    pub ankiconnect: AnkiConnectConfig,
    // Accounts and login protection.
    /// Where the client address comes from (`None`: the TCP peer).
    pub ip_header: Option<IpHeader>,
    pub login_free_failures: u32,
    pub login_delay_ms: u64,
    pub login_lockout_secs: u64,
    /// Advertise over mDNS / DNS-SD (see `crate::mdns`).
    pub mdns: bool,
    /// The settings file that was read, if any.
    pub file: Option<PathBuf>,
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

impl Config {
    /// The payload limit in bytes (`MAX_SYNC_PAYLOAD_MEGS` MiB).
    pub fn payload_limit(&self) -> u64 {
        self.max_payload_megs * 1024 * 1024
    }

    /// Resolves the configuration from flags, the process environment and the
    /// optional file: the one `--config` or `KIOKU_CONFIG` names, else
    /// [`DEFAULT_CONFIG`] if it exists (`KIOKU_CONFIG=` with an empty value:
    /// no file).
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        Self::load_from(
            args,
            &|name| std::env::var(name).ok(),
            Some(Path::new(DEFAULT_CONFIG)),
        )
    }

    /// Like [`Config::load`] with an explicit environment and no default
    /// file (for tests).
    pub fn load_with(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Self::load_from(args, env, None)
    }

    /// Like [`Config::load`] with an explicit environment and default file.
    pub fn load_from(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
        default_file: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let flags = Layer::from_flags(args);
        let environment = Layer::from_env(env)?;
        // The file, and whether it is the default one (no flag, no variable).
        let (file_path, is_default) = match (&args.config, env("KIOKU_CONFIG")) {
            (Some(path), _) => (Some(path.clone()), false),
            (None, Some(named)) if named.is_empty() => (None, false),
            (None, Some(named)) => (Some(PathBuf::from(named)), false),
            // A link whose target is missing counts as there (and fails).
            (None, None) => (
                default_file
                    .filter(|path| path.symlink_metadata().is_ok())
                    .map(Path::to_owned),
                true,
            ),
        };
        let mut layers = vec![flags, environment];
        if let Some(path) = &file_path {
            layers.push(Layer::from_file(path).map_err(|e| match e {
                ConfigError::File { path, message } if is_default => ConfigError::File {
                    path,
                    message: format!(
                        "{message} (the default settings file: run the command with sudo or \
                         as the service user, or name a file with --config or KIOKU_CONFIG)"
                    ),
                },
                e => e,
            })?);
        }
        let mut config = Self::finish(&Layers(layers))?;
        config.file = file_path;
        Ok(config)
    }

    fn finish(layers: &Layers) -> Result<Config, ConfigError> {
        let host = layers
            .get(|l| &l.host)
            .unwrap_or_else(|| DEFAULT_HOST.parse().expect("default host parses"));
        let ankiconnect = ankiconnect::ankiconnect_config(layers, host)?;
        let backups = backup::backup_settings(layers)?;
        let max_payload_megs = match layers.get_with_source(|l| &l.max_payload_megs) {
            Some((megs, source)) if megs == 0 || megs > 1 << 20 => {
                return Err(ConfigError::BadValue {
                    source_name: source.name(
                        "--max-payload-megs",
                        "MAX_SYNC_PAYLOAD_MEGS",
                        "max_payload_megs",
                    ),
                    message: format!("{megs} is out of range (1 to 1048576 MiB)"),
                });
            }
            Some((megs, _)) => megs,
            None => DEFAULT_MAX_PAYLOAD_MEGS,
        };
        let (base, base_source) = match layers.get_with_source(|l| &l.base) {
            Some((base, source)) => (base, source.name("--base", "SYNC_BASE", "base")),
            None => (
                PathBuf::from(DEFAULT_BASE),
                format!("the default data folder {DEFAULT_BASE}"),
            ),
        };
        if base.as_os_str().is_empty() {
            return Err(ConfigError::BadValue {
                source_name: base_source,
                message: "the data folder must not be empty".into(),
            });
        }
        let users = users::configured_users(layers)?;
        let tls = tls::tls_settings(layers)?;
        users::check_reserved_names(&users, tls.tls && tls.cert.is_none())?;
        let login = accounts::login_settings(layers)?;

        Ok(Config {
            host,
            port: layers.get(|l| &l.port).unwrap_or(DEFAULT_PORT),
            base,
            base_source,
            max_payload_megs,
            users,
            passwords_hashed: layers.get(|l| &l.passwords_hashed).unwrap_or(false),
            log: layers.get(|l| &l.log).unwrap_or_else(|| DEFAULT_LOG.into()),
            shutdown_grace_secs: layers
                .get(|l| &l.shutdown_grace_secs)
                .unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECS),
            sync_session_timeout_secs: layers
                .get(|l| &l.sync_session_timeout_secs)
                .unwrap_or(DEFAULT_SYNC_SESSION_TIMEOUT_SECS),
            tls: tls.tls,
            http: tls.http,
            tls_port: tls.port,
            tls_name: tls.name,
            tls_cert: tls.cert,
            tls_key: tls.key,
            tls_check_secs: tls.check_secs,
            backups,
            ankiconnect,
            ip_header: login.ip_header,
            login_free_failures: login.free_failures,
            login_delay_ms: login.delay_ms,
            login_lockout_secs: login.lockout_secs,
            mdns: layers.get(|l| &l.mdns).unwrap_or(true),
            file: None,
        })
    }
}

#[cfg(test)]
mod tests;
