//! Settings of the listeners' TLS side (see `crate::tls`): which listeners
//! run, the machine's name, your own certificate, and how often it is checked.

use std::path::PathBuf;

use super::layer::Layers;
use super::ConfigError;

pub const DEFAULT_TLS_PORT: u16 = 8443;
pub const DEFAULT_TLS_NAME: &str = "kioku";
pub const DEFAULT_TLS_CHECK_SECS: u64 = 60;

/// The TLS settings (flat fields of `Config`).
pub(super) struct TlsSettings {
    pub tls: bool,
    pub http: bool,
    pub port: u16,
    pub name: String,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub check_secs: u64,
}

/// The TLS settings of the layers, checked.
pub(super) fn tls_settings(layers: &Layers) -> Result<TlsSettings, ConfigError> {
    let tls = layers.get(|l| &l.tls).unwrap_or(true);
    let http = layers.get(|l| &l.http).unwrap_or(true);
    if !tls && !http {
        return Err(ConfigError::BadValue {
            source_name: "--no-tls/--no-http (KIOKU_NO_TLS/KIOKU_NO_HTTP, tls/http)".into(),
            message: "HTTPS and plain HTTP are both turned off; nothing would listen".into(),
        });
    }
    let cert = layers.get(|l| &l.tls_cert);
    let key = layers.get(|l| &l.tls_key);
    if cert.is_some() != key.is_some() {
        return Err(ConfigError::BadValue {
            source_name: "--tls-cert/--tls-key (KIOKU_TLS_CERT/KIOKU_TLS_KEY, tls_cert/tls_key)"
                .into(),
            message: "give both the certificate and its key, or neither".into(),
        });
    }
    let name = layers
        .get(|l| &l.tls_name)
        .unwrap_or_else(|| DEFAULT_TLS_NAME.into());
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(ConfigError::BadValue {
            source_name: "--tls-name (KIOKU_TLS_NAME, tls_name)".into(),
            message: format!("{name:?} is not a host name (letters, digits, '-', '.')"),
        });
    }
    Ok(TlsSettings {
        tls,
        http,
        port: layers.get(|l| &l.tls_port).unwrap_or(DEFAULT_TLS_PORT),
        name,
        cert,
        key,
        check_secs: layers
            .get(|l| &l.tls_check_secs)
            .unwrap_or(DEFAULT_TLS_CHECK_SECS)
            .max(1),
    })
}
