//! `kioku backup list` and `kioku backup restore` run from the command line:
//! the listing's text, and the offline restore with its guard against a
//! running server. A restore must never touch files a running server owns,
//! so it refuses while `kioku serve` holds the data folder's lock
//! ([`crate::store::BaseLock`]) or answers on its control socket.

use std::path::Path;

use super::{list, list_all, restore, SnapshotInfo};
use crate::config::Config;
use crate::store::{BaseLock, LockError, Store};

/// The running server's local control socket (`<base>/kioku.sock`, HTTP
/// over a Unix socket); anything answering there is a running server.
const CONTROL_SOCKET: &str = "kioku.sock";

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

/// Why a server is known to run on `base`, if one is.
pub fn running_server(base: &Path) -> Option<String> {
    let socket = base.join(CONTROL_SOCKET);
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Some(format!("it answers on {}", socket.display()));
    }
    match BaseLock::exclusive(base) {
        Err(LockError::Busy { path }) => Some(format!("it holds {}", path.display())),
        _ => None,
    }
}

/// `kioku backup restore USER SNAPSHOT` without a server: refuses while one
/// runs on the data folder, otherwise restores under the folder's exclusive
/// lock. Returns the message to print.
pub fn restore_offline(config: &Config, user: &str, name: &str) -> Result<String, String> {
    let base = &config.base;
    if !base.is_dir() {
        return Err(format!("there is no data folder at {}", base.display()));
    }
    let refuse = |why: String| {
        format!(
            "kioku serve is running on {} ({why}); a restore must not replace files a running \
             server owns. Stop the server (e.g. `systemctl stop kioku`), run this again, then \
             start it.",
            base.display()
        )
    };
    if let Some(why) = running_server(base) {
        return Err(refuse(why));
    }
    let _lock = BaseLock::exclusive(base).map_err(|e| match e {
        LockError::Busy { path } => refuse(format!("it holds {}", path.display())),
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
    let undo = match &restored.undo {
        Some(undo) => format!(
            "The collection it replaced is kept as {} (restore that to undo).",
            undo.name
        ),
        None => "The collection it replaced had no notes; nothing was kept of it.".into(),
    };
    Ok(format!(
        "Restored {user:?}'s collection from {}.\n{undo}\nAt their next sync, devices are told \
         a full sync is needed: a device without cards downloads it; on the others choose \
         Download (Upload would replace the restored collection again).\nMedia files are not \
         part of snapshots and were left as they are.\n",
        restored.from
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
