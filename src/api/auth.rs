//! Which collection a request opens: the API key names the user (keys live
//! in [`crate::users::apikeys`]); in keyless mode (off by default) a request
//! without a key from one of the configured source addresses acts as the
//! configured user. Everything else is refused with AnkiConnect's own text,
//! `valid api key must be provided`, in exactly one place: [`refuse_key`].
//!
//! Wrong keys go through the login protection every password check uses
//! ([`crate::users::throttle`]), counted per client address (there is no
//! user name to count under: a wrong key names nobody). Before a key is
//! looked at, its client's address is checked: while the address has to
//! wait, the request is refused unchecked (good key or not), in
//! AnkiConnect's error envelope, with a text saying when to try again. A
//! missing or empty key guesses nothing and is not counted, nor is a stored
//! key whose user no longer exists.

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use super::error::ApiError;
use super::Caller;
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

/// Whether a refusal counts as a failed login (a guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guess {
    Counted,
    NotCounted,
}

/// The user whose collection a request with this `key` (the request's `key`
/// member, possibly absent or null) from `caller` may use.
pub fn user_for(app: &App, key: Option<&Value>, caller: &Caller) -> Result<String, ApiError> {
    let key = match key {
        None | Some(Value::Null) => {
            return match keyless_user(app, caller.peer) {
                Some(user) if user_exists(app, user) => Ok(user.to_owned()),
                Some(user) => Err(refuse_key(
                    app,
                    caller,
                    &format!("keyless user {user:?} does not exist"),
                    Guess::NotCounted,
                )),
                None => Err(refuse_key(app, caller, "no API key", Guess::NotCounted)),
            };
        }
        Some(Value::String(key)) if key.is_empty() => {
            return Err(refuse_key(app, caller, "empty API key", Guess::NotCounted));
        }
        Some(key) => key,
    };
    let throttle = &app.accounts.throttle;
    if let Err(locked) = throttle.check(caller.client_ip, "") {
        tracing::warn!(
            client = %caller.client_ip,
            retry_after_secs = locked.retry_after_secs(),
            "AnkiConnect request refused unchecked: too many wrong API keys or passwords from this address"
        );
        return Err(ApiError::Throttled(locked));
    }
    let Value::String(key) = key else {
        return Err(refuse_key(
            app,
            caller,
            "the key is not a string",
            Guess::Counted,
        ));
    };
    match app.api.keys.user_for(key.as_str()) {
        Some(user) if user_exists(app, &user) => {
            throttle.success(caller.client_ip, "");
            Ok(user)
        }
        Some(user) => Err(refuse_key(
            app,
            caller,
            &format!("the key's user {user:?} does not exist"),
            Guess::NotCounted,
        )),
        None => Err(refuse_key(app, caller, "unknown API key", Guess::Counted)),
    }
}

/// THE place where a request with a bad or missing API key is refused: it
/// is logged, and a wrong key counts as a failed login of the client's
/// address (so a key guesser is slowed down and locked out like a password
/// guesser).
fn refuse_key(app: &App, caller: &Caller, why: &str, guess: Guess) -> ApiError {
    tracing::warn!(
        peer = %caller.peer,
        client = %caller.client_ip,
        why,
        "AnkiConnect request refused: valid api key must be provided"
    );
    if guess == Guess::Counted {
        app.accounts.throttle.failure(caller.client_ip, "");
    }
    ApiError::BadKey
}
