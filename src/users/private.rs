//! Writing the files kioku keeps private at the top of the data folder
//! (`users.toml`, `apikeys.json`): always whole and atomically, with mode
//! 0600 — a temp file made exclusively (a name `crate::store` removes at
//! start if a crash leaves it), fsynced, renamed over the old file, the
//! folder fsynced — so a reader sees the old file or the new one, never
//! half of one. Callers hold their file's change lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// Replaces `base/<name>` with `parts`, concatenated; `purpose` names the
/// temp file. When root writes, the file gets the data folder's owner, so a
/// server running as that user can still read it ([`same_owner_as`]).
pub(super) fn write(base: &Path, name: &str, purpose: &str, parts: &[&[u8]]) -> io::Result<()> {
    let tmp = crate::store::temp_path_in(base, purpose);
    let written = (|| {
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)?;
        same_owner_as(&file, base)?;
        for part in parts {
            file.write_all(part)?;
        }
        file.sync_all()?;
        fs::rename(&tmp, base.join(name))?;
        File::open(base)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// When root writes (`sudo kioku user add`), the file gets the data
/// folder's owner, so a server running as that user can still read it.
pub(super) fn same_owner_as(file: &File, base: &Path) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let meta = fs::metadata(base)?;
    if meta.uid() == 0 {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()))
}

/// How long a change waits for another kioku process's change of the same
/// file (a CLI command and the server, say) before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The exclusive change lock of one private file: `base/<name>`, a lock file
/// beside it (owned like the file, see [`same_owner_as`]). Released when
/// dropped.
pub(super) struct ChangeLock {
    _file: File,
}

impl ChangeLock {
    /// Takes the lock, waiting up to 10 s for another holder; after that an
    /// error of kind `TimedOut` that names the file.
    pub(super) fn take(base: &Path, name: &str) -> io::Result<ChangeLock> {
        use std::os::fd::AsRawFd;
        fs::create_dir_all(base)?;
        let path = base.join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)?;
        same_owner_as(&file, base)?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            // SAFETY: flock on a file descriptor we own; no memory involved.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(ChangeLock { _file: file });
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(err);
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} is locked by another kioku process for more than {} s",
                        path.display(),
                        LOCK_WAIT.as_secs()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
