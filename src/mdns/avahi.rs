//! Living with avahi-daemon (Raspberry Pi OS runs it): detecting it, and
//! registering kioku's services through its static service directory instead
//! of running a second responder. avahi keeps the host name
//! (`<hostname>.local`), which kioku reads back over avahi's own local socket.
//!
//! No D-Bus and no external commands: avahi watches `/etc/avahi/services`
//! and publishes (and, when the file goes, withdraws with goodbyes) what a
//! `*.service` file there says. This module must not touch any other avahi
//! file.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::plan::Service;
use super::Shared;

/// Where avahi-daemon keeps its pid file and its local socket.
pub const RUN_DIR: &str = "/run/avahi-daemon";
/// The folder of static service files avahi-daemon watches.
pub const SERVICES_DIR: &str = "/etc/avahi/services";
/// kioku's file in it.
pub const FILE_NAME: &str = "kioku.service";

/// Whether avahi-daemon serves the network kioku is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// It runs here (its pid when the pid file named a live process).
    Running { pid: Option<u32> },
    /// It runs, but in another network namespace (a container or a test's
    /// namespace): it does not answer for our interfaces.
    Elsewhere { pid: u32 },
    /// Not running (no pid file, a stale one, and no socket to talk to).
    Absent,
}

/// Looks for avahi-daemon: its pid file in `run_dir` naming a live process
/// (under `proc_dir`, normally `/proc`) in our network namespace, or else a
/// socket in `run_dir` that accepts a connection. When the namespaces cannot
/// be compared (no permission), the daemon counts as ours.
pub fn detect(run_dir: &Path, proc_dir: &Path) -> Detection {
    let pid = std::fs::read_to_string(run_dir.join("pid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    if let Some(pid) = pid {
        let theirs = proc_dir.join(pid.to_string());
        if theirs.is_dir() {
            let ours = std::fs::read_link(proc_dir.join("self/ns/net"));
            let theirs = std::fs::read_link(theirs.join("ns/net"));
            return match (ours, theirs) {
                (Ok(a), Ok(b)) if a != b => Detection::Elsewhere { pid },
                _ => Detection::Running { pid: Some(pid) },
            };
        }
    }
    if UnixStream::connect(run_dir.join("socket")).is_ok() {
        Detection::Running { pid: None }
    } else {
        Detection::Absent
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The static service file for `services` under instance name `instance`
/// (avahi's format, `avahi.service(5)`); no `host-name`, so avahi points the
/// services at its own host name.
pub fn service_file(instance: &str, services: &[Service]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" standalone='no'?>\n\
         <!DOCTYPE service-group SYSTEM \"avahi-service.dtd\">\n\
         <!-- Written by kioku while it runs and removed when it stops; do not edit. -->\n\
         <service-group>\n",
    );
    out.push_str(&format!("  <name>{}</name>\n", xml_escape(instance)));
    for s in services {
        out.push_str("  <service>\n");
        let ty = super::plan::short_type(s.ty);
        out.push_str(&format!("    <type>{}</type>\n", xml_escape(ty)));
        out.push_str(&format!("    <port>{}</port>\n", s.port));
        for (k, v) in &s.txt {
            out.push_str(&format!(
                "    <txt-record>{}={}</txt-record>\n",
                xml_escape(k),
                xml_escape(v)
            ));
        }
        out.push_str("  </service>\n");
    }
    out.push_str("</service-group>\n");
    out
}

/// Writes `contents` as `dir/kioku.service` atomically (a temporary name
/// avahi ignores, then a rename, so avahi never reads half a file).
pub fn publish(dir: &Path, contents: &str) -> Result<PathBuf, String> {
    let path = dir.join(FILE_NAME);
    let tmp = dir.join(".kioku.service.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })?;
    Ok(path)
}

/// Removes the service file: avahi withdraws the services (with goodbyes).
pub fn withdraw(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

/// The host name avahi publishes for `addr` (e.g. `kioku.local`), asked over
/// its local socket (`RESOLVE-ADDRESS`), or `None` if it does not answer
/// within `timeout`.
pub fn host_name(run_dir: &Path, addr: IpAddr, timeout: Duration) -> Option<String> {
    let mut stream = UnixStream::connect(run_dir.join("socket")).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    stream
        .write_all(format!("RESOLVE-ADDRESS {addr}\n").as_bytes())
        .ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    parse_resolved(&line)
}

/// The name in an answer `+ <interface> <protocol> <name>`; `None` for an
/// error answer (`-15 Timeout reached`) or anything else.
fn parse_resolved(line: &str) -> Option<String> {
    let mut parts = line.split_whitespace();
    if parts.next()? != "+" {
        return None;
    }
    let (_iface, _proto, name) = (parts.next()?, parts.next()?, parts.next()?);
    let name = name.trim_end_matches('.');
    (!name.is_empty()).then(|| name.to_owned())
}

/// `<system host name>.local`: what avahi publishes unless configured
/// otherwise or renamed after a conflict.
pub fn system_host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = std::str::from_utf8(&buf[..end]).ok()?;
    let label = name.split('.').next().unwrap_or("");
    (!label.is_empty()).then(|| format!("{label}.local"))
}

/// kioku's services registered through avahi-daemon while kioku runs, and
/// the thread that reads avahi's host name again at every check (avahi
/// renames the host after a conflict; the certificate must follow).
pub(super) struct Registration {
    path: Mutex<Option<PathBuf>>,
    stop: mpsc::Sender<()>,
}

impl Registration {
    /// Writes the service file into `services_dir`; a failure (e.g. no
    /// permission) is logged and shown in the status, and the host name is
    /// still avahi's.
    pub(super) fn start(
        shared: Arc<Shared>,
        run_dir: &Path,
        services_dir: &Path,
        every: Duration,
    ) -> Registration {
        let xml = service_file(&shared.label, &shared.services);
        let path = match publish(services_dir, &xml) {
            Ok(path) => {
                tracing::info!(
                    file = %path.display(),
                    "mDNS: services registered with avahi-daemon: {}",
                    shared
                        .services
                        .iter()
                        .map(|s| format!("{} on {}", super::plan::short_type(s.ty), s.port))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Some(path)
            }
            Err(e) => {
                tracing::warn!(
                    "mDNS: avahi-daemon runs here, but {e}: kioku's services are not advertised \
                     (the host name is avahi's). Let kioku write {} or stop avahi-daemon.",
                    services_dir.display()
                );
                shared.update(|s| s.note = Some(e));
                None
            }
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let run_dir = run_dir.to_owned();
        let spawned = std::thread::Builder::new()
            .name("kioku-avahi".into())
            .spawn(move || loop {
                refresh(&shared, &run_dir);
                if let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    continue;
                }
                return;
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the avahi host name check");
        }
        Registration {
            path: Mutex::new(path),
            stop,
        }
    }

    /// Removes the service file (avahi sends the goodbyes).
    pub(super) fn withdraw(&self) {
        if let Some(path) = self.path.lock().expect("not poisoned").take() {
            match withdraw(&path) {
                Ok(()) => tracing::info!("mDNS: services withdrawn from avahi-daemon"),
                Err(e) => tracing::warn!("mDNS: {e}"),
            }
        }
    }

    pub(super) fn stop(self) {
        self.withdraw();
        let _ = self.stop.send(());
    }
}

/// Reads avahi's host name for our first advertised address (IPv4 first);
/// the system's host name when avahi does not say.
fn refresh(shared: &Shared, run_dir: &Path) {
    let interfaces = shared.interfaces();
    let addr = interfaces
        .iter()
        .flat_map(|(_, addrs)| addrs.iter().copied())
        .min_by_key(|a| a.is_ipv6());
    let name = addr
        .and_then(|a| host_name(run_dir, a, Duration::from_secs(2)))
        .or_else(system_host_name);
    let changed = shared.update(|s| {
        let changed = s.avahi_host != name;
        s.avahi_host = name.clone();
        changed
    });
    if changed {
        if let Some(name) = &name {
            tracing::info!("mDNS: avahi-daemon answers for this machine as {name}");
        }
        shared.names_changed();
    }
}

#[cfg(test)]
#[path = "avahi_tests.rs"]
mod tests;
