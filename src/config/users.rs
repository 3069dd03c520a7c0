//! The configured users (`--user`, `SYNC_USER1`…, the file's `users`): parsed,
//! checked for duplicates and for the names kioku keeps in the data folder.
//! The stored accounts of `<base>/users.toml` are `crate::users`' business.

use super::layer::{Layers, Source};
use super::ConfigError;

/// One configured user: the name and the secret as written (a password, or a
/// PHC hash string when `hashed`), and where it came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub name: String,
    pub secret: String,
    pub source: String,
}

/// The users of the highest layer that has any (a whole list replaces the
/// lower ones), each named by where it came from: `--user`, `SYNC_USER<n>`
/// or `<file>: users[<i>]`.
pub(super) fn configured_users(layers: &Layers) -> Result<Vec<UserSpec>, ConfigError> {
    let Some((raw_users, layer_source)) = layers.get_with_source(|l| &l.users) else {
        return Ok(Vec::new());
    };
    let mut users: Vec<UserSpec> = Vec::new();
    for (i, raw) in raw_users.iter().enumerate() {
        let source = match layer_source {
            Source::Flags => "--user".to_owned(),
            Source::Env => format!("SYNC_USER{}", i + 1),
            Source::File(path) => format!("{}: users[{i}]", path.display()),
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
    Ok(users)
}

/// Refuses users whose names kioku keeps in the data folder; "tls" only
/// while kioku makes its own certificates (`own_certs`), as before.
pub(super) fn check_reserved_names(users: &[UserSpec], own_certs: bool) -> Result<(), ConfigError> {
    if own_certs {
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
    for u in users {
        if let Some(r) = crate::users::names::reserved(&u.name) {
            if r.name != "tls" {
                return Err(ConfigError::BadValue {
                    source_name: u.source.clone(),
                    message: format!("the user name {:?} is taken by {}", u.name, r.why),
                });
            }
        }
    }
    Ok(())
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
