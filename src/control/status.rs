//! What `kioku status` shows, as JSON: built by the running server
//! ([`running`]) or, when none runs, from the data folder ([`offline`]).
//!
//! ```json
//! {"running": true, "version": "0.1.0", "pid": 42, "uptime_secs": 300,
//!  "base": "/var/lib/kioku", "listeners": ["http://0.0.0.0:8080/"],
//!  "data_bytes": 123, "certificate": {"names": […], "expires": 1790000000},
//!  "mdns": {"mode": "own", "note", "host_names": ["kioku.local"], "services": […], "interfaces": […]},
//!  "users": [{"name", "origin", "admin", "collection_bytes", "media_bytes",
//!             "media_files", "last_sync", "api_keys"}],
//!  "throttled": [{"kind", "key", "failures", "retry_after_secs", "locked_out", "last_failure"}]}
//! ```

use std::path::Path;

use serde_json::{json, Value};

use crate::http::App;
use crate::store::usage;
use crate::users::Users;

fn users_json(base: &Path, users: &Users, seen: impl Fn(&str) -> Option<i64>) -> Vec<Value> {
    // An unreadable key file shows no counts (null) rather than failing.
    let keys = crate::users::apikeys::list(base).ok();
    users
        .sorted()
        .into_iter()
        .map(|u| {
            let use_ = usage::user_usage(base, &u.name);
            let api_keys = keys
                .as_ref()
                .map(|keys| keys.iter().filter(|k| k.user == u.name).count());
            json!({
                "api_keys": api_keys,
                "name": u.name,
                "origin": u.origin.to_string(),
                "admin": u.admin,
                "collection_bytes": use_.collection_bytes,
                "media_bytes": use_.media_bytes,
                "media_files": use_.media_files,
                "last_sync": seen(&u.name).max(use_.last_change),
            })
        })
        .collect()
}

fn certificate(base: &Path, own_cert: Option<&Path>) -> Value {
    if let Some(path) = own_cert {
        return json!({ "file": path.display().to_string() });
    }
    match crate::tls::certs::leaf_info(&crate::tls::certs::dir(base)) {
        Some(leaf) => json!({ "names": leaf.sans, "expires": leaf.not_after }),
        None => Value::Null,
    }
}

/// The running server's status (blocking: walks the data folder).
pub fn running(app: &App, listeners: &[String]) -> Value {
    let base = &app.config.base;
    let users = app.users();
    let seen = |name: &str| {
        app.accounts
            .last_seen(name)
            .and_then(crate::clock::unix_secs)
    };
    let cert = if app.tls.is_some() {
        certificate(base, app.config.tls_cert.as_deref())
    } else {
        Value::Null
    };
    json!({
        "running": true,
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "uptime_secs": app.started.elapsed().as_secs(),
        "base": base.display().to_string(),
        "listeners": listeners,
        "data_bytes": usage::folder_bytes(base),
        "certificate": cert,
        "mdns": app.mdns.status(),
        "users": users_json(base, &users, seen),
        "throttled": app.accounts.throttle.snapshot(),
    })
}

/// What the data folder tells without a server: `users` are the configured
/// users of this invocation plus the users file's.
pub fn offline(config: &crate::config::Config, users: &Users) -> Value {
    let base = &config.base;
    let cert = if config.tls {
        certificate(base, config.tls_cert.as_deref())
    } else {
        Value::Null
    };
    json!({
        "running": false,
        "version": env!("CARGO_PKG_VERSION"),
        "base": base.display().to_string(),
        "data_bytes": usage::folder_bytes(base),
        "certificate": cert,
        "users": users_json(base, users, |_| None),
    })
}
