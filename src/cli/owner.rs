//! The settings of an administrative command, and the user it runs as: run
//! by root (`sudo kioku user add …`) on a data folder that belongs to
//! another user (the service user `kioku`), a command switches to that
//! user before it touches anything, so whatever it writes (users file, API
//! keys, certificates, a restored collection) stays the service's, and the
//! control socket lets it in. It must not be used by `kioku serve`, whose
//! user is the service manager's business.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::config::{Config, ServeArgs};

/// The configuration, as `serve` would read it, after switching to the
/// data folder's owner if run as root.
pub fn load(args: &ServeArgs) -> Result<Config, String> {
    let config = Config::load(args).map_err(|e| e.to_string())?;
    become_data_owner(&config.base)?;
    Ok(config)
}

/// Run as root on a folder that exists and belongs to another user: become
/// that user (its group, no supplementary groups). Otherwise nothing.
pub fn become_data_owner(base: &Path) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(base) else {
        return Ok(()); // not made yet: whoever starts serving it makes it
    };
    if meta.uid() == 0 {
        return Ok(());
    }
    // Called before any thread starts; groups first, the user last (after
    // it, the group could not be changed any more).
    // SAFETY: plain system calls on integers; a null list with length 0.
    let failed = unsafe {
        libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(meta.gid()) != 0
            || libc::setuid(meta.uid()) != 0
    };
    if failed {
        return Err(format!(
            "cannot switch to the owner of the data folder {} (uid {}): {}",
            base.display(),
            meta.uid(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
