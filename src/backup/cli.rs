//! `kioku backup list` and `kioku backup restore` run from the command line:
//! the listing's text, and the restore — through the running server's
//! control socket when one runs, else offline. An offline restore must never
//! touch files a running server owns, so it takes the data folder's lock
//! ([`crate::store::BaseLock`]) exclusively and refuses while anything else
//! holds it.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::{list, list_all, restore, SnapshotInfo};
use crate::config::Config;
use crate::control::client;
use crate::store::{BaseLock, LockError, Store};

/// The listing `kioku backup list [USER]` prints: one line per snapshot,
/// newest first within each user.
pub fn list_text(base: &Path, user: Option<&str>) -> Result<String, String> {
    if !base.is_dir() {
        return Err(format!("there is no data folder at {}", base.display()));
    }
    let groups = match user {
        Some(user) => vec![(
            user.to_owned(),
            list(base, user).map_err(|e| e.to_string())?,
        )],
        None => list_all(base).map_err(|e| e.to_string())?,
    };
    let rows: Vec<(&str, &SnapshotInfo)> = groups
        .iter()
        .flat_map(|(user, snaps)| snaps.iter().map(move |s| (user.as_str(), s)))
        .collect();
    if rows.is_empty() {
        return Ok(match user {
            Some(user) => format!("no snapshots of {user:?} in {}\n", base.display()),
            None => format!("no snapshots in {}\n", base.display()),
        });
    }
    let user_width = rows.iter().map(|(u, _)| u.len()).max().unwrap_or(0).max(4);
    let name_width = rows.iter().map(|(_, s)| s.name.len()).max().unwrap_or(0);
    let mut out = format!(
        "{:user_width$}  {:name_width$}  {:7}  {:19}  {:>9}\n",
        "USER", "SNAPSHOT", "KIND", "TAKEN (UTC)", "SIZE"
    );
    for (user, s) in rows {
        out.push_str(&format!(
            "{user:user_width$}  {:name_width$}  {:7}  {:19}  {:>9}\n",
            s.name,
            s.kind.name(),
            s.taken.format("%Y-%m-%d %H:%M:%S"),
            human_size(s.size)
        ));
    }
    Ok(out)
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// How long `kioku backup restore` waits for a running server's answer (a
/// large collection on a small board takes a while to check and keep).
const RESTORE_WAIT: Duration = Duration::from_secs(600);

/// `kioku backup restore USER SNAPSHOT`: through the running server when one
/// answers on the data folder's control socket (it restores in-process, safe
/// beside syncs), else here, under the data folder's exclusive lock — which
/// is refused while another process (a server without a control socket,
/// another restore) holds the lock. Returns the message to print.
pub fn restore_cli(config: &Config, user: &str, name: &str) -> Result<String, String> {
    let base = &config.base;
    if !base.is_dir() {
        return Err(format!("there is no data folder at {}", base.display()));
    }
    let body = json!({ "user": user, "snapshot": name });
    match client::request_waiting(base, "POST", "/backups/restore", Some(&body), RESTORE_WAIT)? {
        Some((200, answer)) => Ok(format!(
            "{}(done by the kioku serve running on {})\n",
            restored_text(
                user,
                answer["from"].as_str().unwrap_or(name),
                answer["undo"].as_str()
            ),
            base.display()
        )),
        Some((status, answer)) => Err(format!(
            "the running server did not restore it ({status}): {}",
            answer["error"].as_str().unwrap_or("")
        )),
        None => restore_offline(config, user, name),
    }
}

/// What a restore did, in words.
fn restored_text(user: &str, from: &str, undo: Option<&str>) -> String {
    let undo = match undo {
        Some(undo) => format!(
            "The collection it replaced is kept as the restore snapshot {undo} (restore that to \
             undo)."
        ),
        None => "The collection it replaced had no notes; nothing was kept of it.".into(),
    };
    format!(
        "Restored {user:?}'s collection from {from}.\n{undo}\nAt their next sync, devices are \
         told a full sync is needed: a device without cards downloads it; on the others choose \
         Download (Upload would replace the restored collection again).\nMedia files are not \
         part of snapshots and were left as they are.\n"
    )
}

/// The restore without a server, under the data folder's exclusive lock.
fn restore_offline(config: &Config, user: &str, name: &str) -> Result<String, String> {
    let base = &config.base;
    let _lock = BaseLock::exclusive(base).map_err(|e| match e {
        LockError::Busy { path } => format!(
            "another kioku process holds {} but does not answer on {} (a kioku serve whose data \
             folder path is too long for a control socket, or another restore); a restore must \
             not replace files another process owns. Stop it (e.g. `systemctl stop kioku`) or \
             let it finish, then run this again.",
            path.display(),
            crate::control::socket_path(base).display()
        ),
        other => other.to_string(),
    })?;
    let store = Store::open(base, &config.base_source).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let restored = runtime.block_on(async {
        let result = restore(&store, &config.backups, user, name).await;
        store.close_all().await;
        result
    });
    let restored = restored.map_err(|e| e.to_string())?;
    Ok(restored_text(
        user,
        &restored.from,
        restored.undo.as_ref().map(|u| u.name.as_str()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_would_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
    }
}
