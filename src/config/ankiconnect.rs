//! Settings of the AnkiConnect API (see `crate::api` and the README's
//! AnkiConnect section): their defaults, type and checks.

use std::net::IpAddr;

use super::layer::Layers;
use super::ConfigError;

pub const DEFAULT_ANKICONNECT_PORT: u16 = 8765;
pub const DEFAULT_ANKICONNECT_WRITE_WAIT_SECS: u64 = 30;
pub const DEFAULT_ANKICONNECT_MAX_MEDIA_MEGS: u64 = 30;
pub const DEFAULT_ANKICONNECT_FETCH_TIMEOUT_SECS: u64 = 10;

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

/// The AnkiConnect settings of the layers, checked.
pub(super) fn ankiconnect_config(
    layers: &Layers,
    host: IpAddr,
) -> Result<AnkiConnectConfig, ConfigError> {
    let bad = |source_name: &str, message: String| ConfigError::BadValue {
        source_name: source_name.to_owned(),
        message,
    };
    let origins = layers.get(|l| &l.ankiconnect_origins).unwrap_or_default();
    if let Some(o) = origins
        .iter()
        .find(|o| o.is_empty() || o.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(bad(
            "--ankiconnect-origin (KIOKU_ANKICONNECT_ORIGINS, ankiconnect_origins)",
            format!("{o:?} is not an origin such as app://obsidian.md"),
        ));
    }
    let keyless_from = layers
        .get(|l| &l.ankiconnect_keyless_from)
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
    let keyless_user = layers.get(|l| &l.ankiconnect_keyless_user);
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
    let max_media_megs = layers
        .get(|l| &l.ankiconnect_max_media_megs)
        .unwrap_or(DEFAULT_ANKICONNECT_MAX_MEDIA_MEGS);
    if !(1..=100).contains(&max_media_megs) {
        return Err(bad(
            "--ankiconnect-max-media-megs (KIOKU_ANKICONNECT_MAX_MEDIA_MEGS, ankiconnect_max_media_megs)",
            format!("{max_media_megs} is out of range (1 to 100 MiB, the media sync limit)"),
        ));
    }
    let port = layers.get(|l| &l.ankiconnect_port);
    Ok(AnkiConnectConfig {
        enabled: layers.get(|l| &l.ankiconnect).unwrap_or(true),
        host: layers.get(|l| &l.ankiconnect_host).unwrap_or(host),
        port: port.unwrap_or(DEFAULT_ANKICONNECT_PORT),
        port_configured: port.is_some(),
        origins,
        keyless_user,
        keyless_from,
        write_wait_secs: layers
            .get(|l| &l.ankiconnect_write_wait_secs)
            .unwrap_or(DEFAULT_ANKICONNECT_WRITE_WAIT_SECS),
        max_media_megs,
        fetch_timeout_secs: layers
            .get(|l| &l.ankiconnect_fetch_timeout_secs)
            .unwrap_or(DEFAULT_ANKICONNECT_FETCH_TIMEOUT_SECS)
            .max(1),
        fetch_private: layers
            .get(|l| &l.ankiconnect_fetch_private)
            .unwrap_or(false),
    })
}
