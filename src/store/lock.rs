//! The data-folder lock: `<base>/.kioku.lock`, an empty file locked with
//! `flock(2)`. `kioku serve` holds a shared lock for as long as it runs;
//! offline maintenance that replaces files a server owns (`kioku backup
//! restore` without a server) takes it exclusively, so neither can start
//! while the other works on the folder. The kernel drops the lock when the
//! process ends, however it ends, so a crash never leaves a stale lock.
//!
//! This module only locks; it must not touch any other file.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The lock file's name in the data folder.
pub const LOCK_FILE: &str = ".kioku.lock";

/// A held lock on a data folder; released when dropped.
#[derive(Debug)]
pub struct BaseLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock in a conflicting mode.
    #[error("{path} is locked by another kioku process")]
    Busy { path: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl BaseLock {
    /// The lock a running server holds (shared: several readers of the
    /// folder may hold it, no exclusive holder can).
    pub fn shared(base: &Path) -> Result<BaseLock, LockError> {
        Self::take(base, libc::LOCK_SH)
    }

    /// The lock offline maintenance holds: fails with [`LockError::Busy`]
    /// while a server runs on `base`.
    pub fn exclusive(base: &Path) -> Result<BaseLock, LockError> {
        Self::take(base, libc::LOCK_EX)
    }

    fn take(base: &Path, mode: libc::c_int) -> Result<BaseLock, LockError> {
        let path = base.join(LOCK_FILE);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(base).map_err(io_err)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err)?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), mode | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(LockError::Busy { path });
            }
            return Err(io_err(err));
        }
        Ok(BaseLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_lock_keeps_out_an_exclusive_one_until_dropped() {
        let base = std::env::temp_dir().join(format!("kioku-lock-{}", super::super::random_hex()));
        let serving = BaseLock::shared(&base).unwrap();
        let again = BaseLock::shared(&base).expect("shared locks coexist");
        assert!(matches!(
            BaseLock::exclusive(&base),
            Err(LockError::Busy { .. })
        ));
        drop(serving);
        drop(again);
        let maintenance = BaseLock::exclusive(&base).unwrap();
        assert!(matches!(
            BaseLock::shared(&base),
            Err(LockError::Busy { .. })
        ));
        drop(maintenance);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
