//! `kioku status`: the running server's status from its control socket, or
//! what the data folder tells when no server runs.

use clap::Args;
use serde_json::Value;

use crate::config::ServeArgs;
use crate::control::{client, socket_path, status};
use crate::web::html::{size, time, utc_minute};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub args: ServeArgs,
}

pub fn run(cmd: StatusArgs) -> Result<(), String> {
    let config = super::owner::load(&cmd.args)?;
    let report = match client::request(&config.base, "GET", "/status", None)? {
        Some((200, report)) => report,
        Some((code, answer)) => {
            return Err(format!(
                "the running server answered {code}: {}",
                answer["error"].as_str().unwrap_or("")
            ))
        }
        None => {
            let users = super::users::offline_users(&config)?;
            status::offline(&config, &users)
        }
    };
    if cmd.json {
        println!("{report:#}");
    } else {
        print!(
            "{}",
            render(&report, &socket_path(&config.base).display().to_string())
        );
    }
    Ok(())
}

/// The mDNS part of a running server's status as one line: who answers,
/// the names, the service types.
fn discovery(m: &Value) -> String {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let mode = m["mode"].as_str().unwrap_or("off");
    let note = m["note"]
        .as_str()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    if mode == "off" {
        return format!("off{note}");
    }
    let who = if mode == "avahi" {
        "through avahi-daemon"
    } else {
        "kioku's own mDNS responder"
    };
    let services: Vec<String> = m["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{} port {}",
                s["service_type"].as_str().unwrap_or(""),
                s["port"]
            )
        })
        .collect();
    format!(
        "{} — {who}; {}{note}",
        strings(&m["host_names"]).join(", "),
        services.join(", ")
    )
}

/// The status as text.
fn render(r: &Value, socket: &str) -> String {
    let now = crate::clock::now_secs();
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: String| out.push_str(&format!("{k:<13}{v}\n"));
    let version = r["version"].as_str().unwrap_or("");
    if r["running"].as_bool() == Some(true) {
        line(
            &mut out,
            "server:",
            format!(
                "running (kioku {version}, pid {}, up {} min)",
                r["pid"],
                r["uptime_secs"].as_u64().unwrap_or(0) / 60
            ),
        );
        let listeners: Vec<&str> = r["listeners"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        line(&mut out, "listening:", listeners.join(", "));
        line(&mut out, "discovery:", discovery(&r["mdns"]));
    } else {
        line(
            &mut out,
            "server:",
            format!("not running (nothing answers on {socket})"),
        );
    }
    line(
        &mut out,
        "data folder:",
        format!(
            "{} ({})",
            r["base"].as_str().unwrap_or(""),
            size(r["data_bytes"].as_u64().unwrap_or(0))
        ),
    );
    let cert = &r["certificate"];
    let cert_text = if let Some(expires) = cert["expires"].as_i64() {
        format!(
            "expires {} (kioku's own; re-issued before then)",
            utc_minute(expires)
        )
    } else if let Some(file) = cert["file"].as_str() {
        format!("your own, {file}")
    } else {
        "none (HTTPS off, or not made yet)".into()
    };
    line(&mut out, "certificate:", cert_text);
    let users = r["users"].as_array().cloned().unwrap_or_default();
    line(&mut out, "users:", users.len().to_string());
    for u in &users {
        out.push_str(&format!(
            "  {}{}  [{}]\n    last sync {}; collection {}, media {} in {} files{}\n",
            u["name"].as_str().unwrap_or(""),
            if u["admin"].as_bool() == Some(true) {
                " (admin)"
            } else {
                ""
            },
            u["origin"].as_str().unwrap_or(""),
            time(u["last_sync"].as_i64(), now),
            size(u["collection_bytes"].as_u64().unwrap_or(0)),
            size(u["media_bytes"].as_u64().unwrap_or(0)),
            u["media_files"].as_u64().unwrap_or(0),
            match u["api_keys"].as_u64() {
                Some(1) => "; 1 API key".to_owned(),
                Some(n) => format!("; {n} API keys"),
                None => String::new(),
            },
        ));
    }
    if let Some(throttled) = r["throttled"].as_array() {
        if throttled.is_empty() {
            line(&mut out, "logins:", "no failed logins recorded".into());
        } else {
            let waiting = throttled
                .iter()
                .filter(|t| t["retry_after_secs"].as_u64().unwrap_or(0) > 0)
                .count();
            let summary = format!(
                "failed logins from {} addresses/names, {waiting} of them waiting",
                throttled.len()
            );
            line(&mut out, "logins:", summary);
            for t in throttled {
                let wait = t["retry_after_secs"].as_u64().unwrap_or(0);
                let state = if t["locked_out"].as_bool() == Some(true) {
                    format!("locked out for {wait} s")
                } else if wait > 0 {
                    format!("waits {wait} s")
                } else {
                    "may try".to_owned()
                };
                out.push_str(&format!(
                    "  {} {}: {} failures, {state}\n",
                    t["kind"].as_str().unwrap_or(""),
                    t["key"].as_str().unwrap_or(""),
                    t["failures"],
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discovery_line_names_the_host_names_and_services_or_says_off() {
        let own = json!({
            "mode": "own", "note": null, "host_names": ["kioku-2.local"],
            "services": [{"service_type": "_https._tcp", "port": 8443, "instances": [], "txt": []}],
            "interfaces": []
        });
        let text = discovery(&own);
        assert!(text.starts_with("kioku-2.local — kioku's own"), "{text}");
        assert!(text.contains("_https._tcp port 8443"), "{text}");
        let off = json!({"mode": "off", "note": "listening on loopback only"});
        assert_eq!(discovery(&off), "off (listening on loopback only)");
        assert_eq!(discovery(&Value::Null), "off");
    }
}
