//! Which collection a request opens: the API key names the user (keys live
//! in [`crate::users::apikeys`]); in keyless mode (off by default) a request
//! without a key from one of the configured source addresses acts as the
//! configured user. Everything else is refused with AnkiConnect's own text,
//! `valid api key must be provided`, in exactly one place:
//! [`refuse_key`].

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use super::error::ApiError;
use crate::http::App;

/// The peer's address with IPv4-mapped IPv6 addresses unwrapped.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The user keyless mode grants to `peer`, if it is on and covers `peer`.
pub fn keyless_user(app: &App, peer: SocketAddr) -> Option<&str> {
    let config = &app.config.ankiconnect;
    let user = config.keyless_user.as_deref()?;
    let ip = canonical(peer.ip());
    config
        .keyless_from
        .iter()
        .any(|net| net.contains(&ip))
        .then_some(user)
}

fn user_exists(app: &App, name: &str) -> bool {
    app.users().names().any(|n| n == name)
}

/// The user whose collection a request with this `key` (the request's `key`
/// member, possibly absent or null) from `peer` may use.
pub fn user_for(app: &App, key: Option<&Value>, peer: SocketAddr) -> Result<String, ApiError> {
    let keys = &app.api.keys;
    match key {
        None | Some(Value::Null) => match keyless_user(app, peer) {
            Some(user) if user_exists(app, user) => Ok(user.to_owned()),
            Some(user) => Err(refuse_key(
                peer,
                &format!("keyless user {user:?} does not exist"),
            )),
            None => Err(refuse_key(peer, "no API key")),
        },
        Some(Value::String(key)) => match keys.user_for(key.as_str()) {
            Some(user) if user_exists(app, &user) => Ok(user),
            Some(user) => Err(refuse_key(
                peer,
                &format!("the key's user {user:?} does not exist"),
            )),
            None => Err(refuse_key(peer, "unknown API key")),
        },
        Some(_) => Err(refuse_key(peer, "the key is not a string")),
    }
}

/// THE place where a request with a bad or missing API key is refused.
/// The coordinator plugs the shared login throttle in here (count the
/// failure for `peer`; refuse early while it is throttled).
pub fn refuse_key(peer: SocketAddr, why: &str) -> ApiError {
    tracing::warn!(%peer, why, "AnkiConnect request refused: valid api key must be provided");
    ApiError::BadKey
}
