//! Settings of accounts and login protection (see `crate::users::throttle`
//! and `crate::http::peer`): where the client's address comes from behind a
//! reverse proxy, and how failed logins are slowed down.

use super::layer::Layers;
use super::ConfigError;

pub const DEFAULT_LOGIN_FREE_FAILURES: u32 = 5;
pub const DEFAULT_LOGIN_DELAY_MS: u64 = 1000;
pub const DEFAULT_LOGIN_LOCKOUT_SECS: u64 = 900;

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

/// The login protection settings (flat fields of `Config`).
pub(super) struct LoginSettings {
    pub ip_header: Option<IpHeader>,
    pub free_failures: u32,
    pub delay_ms: u64,
    pub lockout_secs: u64,
}

/// The login protection settings of the layers, checked.
pub(super) fn login_settings(layers: &Layers) -> Result<LoginSettings, ConfigError> {
    let ip_header = match layers.get(|l| &l.ip_header).as_deref() {
        Some(raw) => IpHeader::parse(raw).map_err(|message| ConfigError::BadValue {
            source_name: "--ip-header (SYNC_IP_HEADER, ip_header)".into(),
            message,
        })?,
        None => None,
    };
    let login_delay_ms = layers
        .get(|l| &l.login_delay_ms)
        .unwrap_or(DEFAULT_LOGIN_DELAY_MS);
    let login_lockout_secs = layers
        .get(|l| &l.login_lockout_secs)
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
    Ok(LoginSettings {
        ip_header,
        free_failures: layers
            .get(|l| &l.login_free_failures)
            .unwrap_or(DEFAULT_LOGIN_FREE_FAILURES),
        delay_ms: login_delay_ms,
        lockout_secs: login_lockout_secs,
    })
}
