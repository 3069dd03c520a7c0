//! kioku's own mDNS responder (the mdns-sd crate, one thread of its own):
//! registers the planned services under `<label>.local` on the planned
//! interfaces, follows the daemon's events (renames after conflicts, new and
//! lost addresses) and sends goodbyes at the end. It must not decide what is
//! advertised; `plan` does.
//!
//! Two guards against mdns-sd renaming kioku after its own records (seen in
//! tests/mdns.rs): multicast loop is off, and `plan::shadowed` keeps a
//! second interface on the same LAN quiet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mdns_sd::{DaemonEvent, IfKind, IfPredicate, RRType, ServiceDaemon, ServiceInfo};

use super::{plan, Shared};

/// After unregistering, how long until the daemon may stop: it repeats each
/// goodbye after 120 ms.
const GOODBYE_GRACE: Duration = Duration::from_millis(300);

pub(super) struct Responder {
    daemon: ServiceDaemon,
    infos: Vec<ServiceInfo>,
    withdrawn: Mutex<Option<Instant>>,
    /// Set once withdrawn: nothing is announced again.
    gone: Arc<AtomicBool>,
}

fn err(what: &str) -> impl Fn(mdns_sd::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl Responder {
    /// Starts the daemon on the planned interfaces (checked for address
    /// changes every `every`) and registers the services; they are announced
    /// once probing (RFC 6762 §8) finds the names free, or renamed.
    pub(super) fn start(shared: Arc<Shared>, every: Duration) -> Result<Responder, String> {
        let daemon = ServiceDaemon::new().map_err(err("mDNS daemon"))?;
        match Self::set_up(&daemon, shared, every) {
            Ok(r) => Ok(r),
            Err(e) => {
                let _ = daemon.shutdown();
                Err(e)
            }
        }
    }

    fn set_up(
        daemon: &ServiceDaemon,
        shared: Arc<Shared>,
        every: Duration,
    ) -> Result<Responder, String> {
        daemon
            .set_ip_check_interval(every.as_secs().max(1) as u32)
            .map_err(err("mDNS address check"))?;
        // Not hearing our own packets: otherwise, while a new address is
        // probed, our own answers for the name's other addresses come back
        // looped and look like another host's (mdns-sd renamed itself to
        // kioku-2 that way). Another host's packets still arrive.
        daemon
            .set_multicast_loop_v4(false)
            .and_then(|()| daemon.set_multicast_loop_v6(false))
            .map_err(err("mDNS multicast loop"))?;
        let scope = shared.scope;
        daemon
            .disable_interface(IfKind::All)
            .map_err(err("mDNS interfaces"))?;
        daemon
            .enable_interface(IfKind::Predicate(IfPredicate::new(move |i| {
                plan::selects(
                    &scope,
                    &super::system_addrs(),
                    &i.name,
                    i.ip(),
                    i.is_loopback(),
                )
            })))
            .map_err(err("mDNS interfaces"))?;
        let events = daemon.monitor().map_err(err("mDNS events"))?;
        let host = plan::host_fqdn(&shared.label);
        let mut infos = Vec::new();
        for s in &shared.services {
            let txt: Vec<(&str, &str)> = s.txt.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let info = ServiceInfo::new(s.ty, &shared.label, &host, (), s.port, &txt[..])
                .map_err(err(s.ty))?
                .enable_addr_auto();
            daemon.register(info.clone()).map_err(err(s.ty))?;
            infos.push(info);
        }
        tracing::info!(
            "mDNS: advertising {} ({}) on {}",
            plan::readable(&host),
            shared
                .services
                .iter()
                .map(|s| format!("{} on {}", plan::short_type(s.ty), s.port))
                .collect::<Vec<_>>()
                .join(", "),
            describe(&shared.interfaces()),
        );
        let gone = Arc::new(AtomicBool::new(false));
        let watcher = Watcher {
            shared,
            daemon: daemon.clone(),
            infos: infos.clone(),
            gone: gone.clone(),
        };
        std::thread::Builder::new()
            .name("kioku-mdns".into())
            .spawn(move || {
                // Ends when the daemon shuts down and drops its sender.
                while let Ok(event) = events.recv() {
                    watcher.on(event);
                }
            })
            .map_err(|e| format!("mDNS event thread: {e}"))?;
        Ok(Responder {
            daemon: daemon.clone(),
            infos,
            withdrawn: Mutex::new(None),
            gone,
        })
    }

    /// Unregisters every service: goodbyes now, repeated by the daemon.
    pub(super) fn withdraw(&self) {
        let mut withdrawn = self.withdrawn.lock().expect("not poisoned");
        if withdrawn.is_some() {
            return;
        }
        self.gone.store(true, Ordering::SeqCst);
        for info in &self.infos {
            if let Err(e) = self.daemon.unregister(info.get_fullname()) {
                tracing::warn!("mDNS: cannot withdraw {}: {e}", info.get_fullname());
            }
        }
        *withdrawn = Some(Instant::now());
        tracing::info!("mDNS: goodbyes sent");
    }

    /// Withdraws (if not yet), lets the repeated goodbyes go out, and stops
    /// the daemon; a second at most.
    pub(super) fn stop(self) {
        self.withdraw();
        let since = self
            .withdrawn
            .lock()
            .expect("not poisoned")
            .map(|t| t.elapsed())
            .unwrap_or_default();
        std::thread::sleep(GOODBYE_GRACE.saturating_sub(since));
        match self.daemon.shutdown() {
            Ok(done) => {
                let _ = done.recv_timeout(Duration::from_millis(700));
            }
            Err(e) => tracing::debug!("mDNS daemon shutdown: {e}"),
        }
    }
}

/// `eth0 (192.168.1.5, fe80::1), wlan0 (…)`, or a note that there is none.
fn describe(interfaces: &[(String, Vec<std::net::IpAddr>)]) -> String {
    if interfaces.is_empty() {
        return "no interface yet (announced when one comes up)".into();
    }
    interfaces
        .iter()
        .map(|(name, addrs)| {
            let addrs: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
            format!("{name} ({})", addrs.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Handles the daemon's events on the event thread.
struct Watcher {
    shared: Arc<Shared>,
    daemon: ServiceDaemon,
    infos: Vec<ServiceInfo>,
    gone: Arc<AtomicBool>,
}

impl Watcher {
    fn on(&self, event: DaemonEvent) {
        match event {
            DaemonEvent::NameChange(change) => {
                let changed = self.shared.update(|s| {
                    s.renames
                        .record(&change.intf_name, &change.original, &change.new_name)
                });
                if !changed {
                    return;
                }
                let (old, new) = (
                    plan::readable(&change.original),
                    plan::readable(&change.new_name),
                );
                if matches!(change.rr_type, RRType::A | RRType::AAAA) {
                    tracing::warn!(
                        interface = %change.intf_name,
                        "mDNS: another host already answers for {old}; this one is now {new}"
                    );
                    self.shared.names_changed();
                } else {
                    tracing::info!(
                        interface = %change.intf_name,
                        "mDNS: the service name {old} is taken; now {new}"
                    );
                }
            }
            DaemonEvent::IpAdd(ip) => {
                if self.shared.scope.allows(ip, false) {
                    tracing::info!("mDNS: new address {ip}: announced");
                }
            }
            DaemonEvent::IpDel(ip) => {
                if self.shared.scope.allows(ip, false) && !self.gone.load(Ordering::SeqCst) {
                    // Announce the addresses left, with the cache-flush bit:
                    // other hosts drop the one that went away.
                    tracing::info!("mDNS: address {ip} went away; announcing the others again");
                    for info in &self.infos {
                        if let Err(e) = self.daemon.register(info.clone()) {
                            tracing::warn!("mDNS: cannot announce {}: {e}", info.get_fullname());
                        }
                    }
                }
            }
            DaemonEvent::Error(e) => {
                tracing::warn!("mDNS: {e}");
                self.shared.update(|s| s.note = Some(e.to_string()));
            }
            other => tracing::debug!("mDNS: {other:?}"),
        }
    }
}
