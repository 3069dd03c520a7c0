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

/// Options of `kioku serve`. Every option can also come from the environment
/// (the name in brackets) or from the TOML file given with `--config` (the key
/// in quotes). Precedence: flag > environment > file > default.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// TOML configuration file [env: KIOKU_CONFIG]. Keys: "host", "port",
    /// "base", "max_payload_megs", "users", "passwords_hashed", "log",
    /// "shutdown_grace_secs", "sync_session_timeout_secs", "tls", "http",
    /// "tls_port", "tls_name", "tls_cert", "tls_key", "tls_check_secs",
    /// "mdns". Unknown keys are an error.
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
    /// Advertise over mDNS / DNS-SD (see `crate::mdns`).
    pub mdns: bool,
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
    #[error(
        "no user configured: add one with the environment variable SYNC_USER1=name:password \
         (more with SYNC_USER2, …), the flag --user name:password, or \
         users = [\"name:password\"] in the config file"
    )]
    NoUsers,
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
            mdns
        );
        self
    }
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
        Self::finish(merged, true)
    }

    /// Like [`Config::load`], but without requiring a user (for `kioku cert`).
    pub fn load_without_users(args: &ServeArgs) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let flags = Layer::from_flags(args);
        let environment = Layer::from_env(&env)?;
        let file = match args
            .config
            .clone()
            .or_else(|| env("KIOKU_CONFIG").map(PathBuf::from))
        {
            Some(path) => Layer::from_file(&path)?,
            None => Layer::default(),
        };
        Self::finish(flags.over(environment.over(file)), false)
    }

    fn finish(layer: Layer, need_users: bool) -> Result<Config, ConfigError> {
        let origin = |key: &str| layer.origin.get(key).cloned().unwrap_or_else(|| key.into());
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
            if let Some(u) = users.iter().find(|u| u.name == "tls") {
                return Err(ConfigError::BadValue {
                    source_name: u.source.clone(),
                    message: "the user name \"tls\" is taken by the certificate folder \
                              <base>/tls while kioku makes its own certificates; \
                              rename the user, or use --no-tls or --tls-cert/--tls-key"
                        .into(),
                });
            }
        }
        if users.is_empty() && need_users {
            return Err(ConfigError::NoUsers);
        }
        Ok(Config {
            host: layer
                .host
                .unwrap_or_else(|| DEFAULT_HOST.parse().expect("default host parses")),
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
            mdns: layer.mdns.unwrap_or(true),
        })
    }
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
    fn no_user_is_a_clear_error() {
        let err = load(&ServeArgs::default(), &[]).unwrap_err();
        assert!(matches!(err, ConfigError::NoUsers));
        assert!(err.to_string().contains("SYNC_USER1=name:password"));
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
        ];
        for (env, name) in cases {
            let err = load(&ServeArgs::default(), env).unwrap_err().to_string();
            assert!(err.starts_with(name), "{env:?}: {err}");
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
