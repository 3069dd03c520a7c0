//! Zero-configuration discovery over mDNS / DNS-SD (RFC 6762, 6763): the
//! host name `<label>.local` with the LAN addresses, and the `_https._tcp`,
//! `_http._tcp` and `_kioku._tcp` services of the listeners that are on.
//!
//! Either kioku's own responder (`responder`, the mdns-sd crate) or, when the
//! host already runs avahi-daemon, registration through avahi (`avahi`);
//! never both. Names renamed after a conflict are logged, reported
//! ([`Mdns::status`], the setup page) and added to the TLS certificate.
//! [`plan`] decides what to advertise. This module serves no HTTP, and
//! advertises nothing while kioku listens on loopback only.

pub mod avahi;
pub mod plan;
mod responder;

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::tls::Tls;
use plan::{Ports, Renames, Scope, Service};

/// Who answers for kioku on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Nobody: discovery is off, kioku listens on loopback only, or the
    /// responder could not start (see the note).
    Off,
    /// kioku's own responder.
    Own,
    /// avahi-daemon, with kioku's services registered through it.
    Avahi,
}

/// A snapshot of what is advertised, for `kioku status` and the setup page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub mode: Mode,
    /// Why discovery is off, or the last problem.
    pub note: Option<String>,
    /// The host names in use, e.g. `kioku.local` (`kioku-2.local` after a
    /// conflict); avahi's name in avahi mode.
    pub host_names: Vec<String>,
    pub services: Vec<ServiceStatus>,
    /// The interfaces advertised on, with the addresses advertised.
    pub interfaces: Vec<InterfaceStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// e.g. `_https._tcp`.
    pub service_type: String,
    /// The instance names in use, e.g. `kioku` or `kioku (2)`.
    pub instances: Vec<String>,
    pub port: u16,
    /// The TXT record as `key=value` strings.
    pub txt: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceStatus {
    pub name: String,
    pub addresses: Vec<IpAddr>,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Off => "off",
            Mode::Own => "kioku's own responder",
            Mode::Avahi => "through avahi-daemon",
        };
        match &self.note {
            Some(note) => writeln!(f, "mdns:        {mode} ({note})")?,
            None => writeln!(f, "mdns:        {mode}")?,
        }
        if self.mode == Mode::Off {
            return Ok(());
        }
        writeln!(f, "names:       {}", self.host_names.join(", "))?;
        for s in &self.services {
            writeln!(
                f,
                "service:     {} \"{}\" port {} ({})",
                s.service_type,
                s.instances.join("\", \""),
                s.port,
                s.txt.join(" ")
            )?;
        }
        for i in &self.interfaces {
            let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
            writeln!(f, "interface:   {} {}", i.name, addrs.join(" "))?;
        }
        Ok(())
    }
}

/// What the backends change while running.
#[derive(Debug)]
struct State {
    mode: Mode,
    note: Option<String>,
    /// Own responder: names renamed after conflicts.
    renames: Renames,
    /// Avahi mode: avahi's host name.
    avahi_host: Option<String>,
}

/// The plan and the live state, shared with the backend threads.
struct Shared {
    label: String,
    scope: Scope,
    services: Vec<Service>,
    state: RwLock<State>,
    tls: Option<Arc<Tls>>,
}

/// Every interface address of the machine, as [`plan::advertised`] takes them.
fn system_addrs() -> Vec<plan::IfAddr> {
    if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| plan::IfAddr {
            loopback: i.is_loopback(),
            usable: i.is_oper_up() && !i.is_p2p(),
            index: i.index.unwrap_or(u32::MAX),
            prefix: match &i.addr {
                if_addrs::IfAddr::V4(a) => a.prefixlen,
                if_addrs::IfAddr::V6(a) => a.prefixlen,
            },
            ip: i.ip(),
            name: i.name,
        })
        .collect()
}

impl Shared {
    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("not poisoned")
    }

    fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.write().expect("not poisoned"))
    }

    /// The interfaces and addresses announced: by the plan for kioku's own
    /// responder; every usable one for avahi, which follows its own settings.
    fn interfaces(&self) -> Vec<(String, Vec<IpAddr>)> {
        let addrs = system_addrs();
        if self.state().mode == Mode::Avahi {
            plan::by_interface(addrs.iter().filter(|a| a.usable && !a.loopback))
        } else {
            plan::advertised(&self.scope, &addrs)
        }
    }

    fn host_names_on(&self, interfaces: &[(String, Vec<IpAddr>)]) -> Vec<String> {
        let state = self.state();
        match state.mode {
            Mode::Off => Vec::new(),
            Mode::Avahi => state.avahi_host.iter().cloned().collect(),
            Mode::Own => state
                .renames
                .in_use(
                    &plan::host_fqdn(&self.label),
                    interfaces.iter().map(|(n, _)| n.as_str()),
                )
                .iter()
                .map(|n| plan::readable(n))
                .collect(),
        }
    }

    /// After a rename: the certificate must cover the names in use.
    fn names_changed(&self) {
        if let Some(tls) = &self.tls {
            tls.set_mdns_names(self.host_names_on(&self.interfaces()));
        }
    }

    fn status(&self) -> Status {
        self.status_on(self.interfaces())
    }

    fn status_on(&self, interfaces: Vec<(String, Vec<IpAddr>)>) -> Status {
        let host_names = self.host_names_on(&interfaces);
        let state = self.state();
        let services = if state.mode == Mode::Off {
            Vec::new()
        } else {
            self.services
                .iter()
                .map(|s| {
                    let full = format!("{}.{}", self.label, s.ty);
                    let mut instances: Vec<String> = if state.mode == Mode::Own {
                        state
                            .renames
                            .in_use(&full, interfaces.iter().map(|(n, _)| n.as_str()))
                    } else {
                        vec![full.clone()]
                    };
                    for i in instances.iter_mut() {
                        *i = i
                            .strip_suffix(&format!(".{}", s.ty))
                            .unwrap_or(i)
                            .to_owned();
                    }
                    ServiceStatus {
                        service_type: plan::short_type(s.ty).to_owned(),
                        instances,
                        port: s.port,
                        txt: s.txt.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                    }
                })
                .collect()
        };
        Status {
            mode: state.mode,
            note: state.note.clone(),
            host_names,
            services,
            interfaces: if state.mode == Mode::Off {
                Vec::new()
            } else {
                interfaces
                    .into_iter()
                    .map(|(name, addresses)| InterfaceStatus { name, addresses })
                    .collect()
            },
        }
    }
}

enum Backend {
    None,
    Own(responder::Responder),
    Avahi(avahi::Registration),
}

/// Discovery while kioku runs: start with [`Mdns::start`], send goodbyes
/// with [`Mdns::withdraw`] when shutting down, then [`Mdns::stop`].
pub struct Mdns {
    shared: Arc<Shared>,
    backend: Mutex<Backend>,
}

/// Whether a socket bound to `::` takes IPv6 only on this machine.
fn v6only() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").is_ok_and(|s| s.trim() == "1")
}

/// How often the addresses are looked at: every `--tls-check-secs`, at most
/// 5 s apart.
fn check_every(config: &Config) -> Duration {
    Duration::from_secs(config.tls_check_secs.clamp(1, 5))
}

impl Mdns {
    /// Starts advertising the listeners on `ports`, as `config` says: through
    /// avahi-daemon when it runs here, else with kioku's own responder.
    /// Never fails: problems are logged and shown in the status.
    pub fn start(config: &Config, ports: Ports, tls: Option<Arc<Tls>>) -> Arc<Mdns> {
        let label = plan::host_label(&config.tls_name);
        let scope = if config.mdns {
            plan::scope(config.host, v6only())
        } else {
            Scope::Off("turned off (--no-mdns, KIOKU_NO_MDNS or mdns = false)")
        };
        let ca = tls
            .as_ref()
            .and_then(|t| t.status().ca_der.clone())
            .map(|der| {
                crate::tls::certs::fingerprint(&der)
                    .replace(':', "")
                    .to_lowercase()
            });
        let services = plan::services(ports, env!("CARGO_PKG_VERSION"), ca.as_deref());
        let note = match scope {
            Scope::Off(reason) => Some(reason.to_owned()),
            _ => None,
        };
        let mdns = Arc::new(Mdns {
            shared: Arc::new(Shared {
                label,
                scope,
                services,
                state: RwLock::new(State {
                    mode: Mode::Off,
                    note,
                    renames: Renames::default(),
                    avahi_host: None,
                }),
                tls,
            }),
            backend: Mutex::new(Backend::None),
        });
        if let Scope::Off(reason) = scope {
            tracing::info!("mDNS: not advertising: {reason}");
            return mdns;
        }
        let shared = mdns.shared.clone();
        let backend = match avahi::detect(Path::new(avahi::RUN_DIR), Path::new("/proc")) {
            avahi::Detection::Running { pid } => {
                tracing::info!(
                    pid,
                    "mDNS: avahi-daemon runs here; registering kioku's services through it \
                     and leaving the host name to it"
                );
                shared.update(|s| s.mode = Mode::Avahi);
                // avahi follows the addresses itself; its host name is read
                // again at every certificate check.
                Backend::Avahi(avahi::Registration::start(
                    shared,
                    Path::new(avahi::RUN_DIR),
                    Path::new(avahi::SERVICES_DIR),
                    Duration::from_secs(config.tls_check_secs.max(1)),
                ))
            }
            other => {
                if let avahi::Detection::Elsewhere { pid } = other {
                    tracing::debug!(pid, "avahi-daemon runs in another network namespace");
                }
                match responder::Responder::start(shared.clone(), check_every(config)) {
                    Ok(r) => {
                        shared.update(|s| s.mode = Mode::Own);
                        Backend::Own(r)
                    }
                    Err(e) => {
                        tracing::error!("mDNS: cannot start the responder: {e}; not advertising");
                        shared.update(|s| s.note = Some(e));
                        Backend::None
                    }
                }
            }
        };
        *mdns.backend.lock().expect("not poisoned") = backend;
        mdns
    }

    /// Not advertising at all (for tools and tests that build an `App`).
    pub fn off(reason: &'static str) -> Arc<Mdns> {
        Arc::new(Mdns {
            shared: Arc::new(Shared {
                label: plan::FALLBACK_LABEL.to_owned(),
                scope: Scope::Off(reason),
                services: Vec::new(),
                state: RwLock::new(State {
                    mode: Mode::Off,
                    note: Some(reason.to_owned()),
                    renames: Renames::default(),
                    avahi_host: None,
                }),
                tls: None,
            }),
            backend: Mutex::new(Backend::None),
        })
    }

    /// What is advertised right now.
    pub fn status(&self) -> Status {
        self.shared.status()
    }

    /// The `.local` names clients can use now (empty when not advertising).
    pub fn host_names(&self) -> Vec<String> {
        self.shared.host_names_on(&self.shared.interfaces())
    }

    /// Withdraws the services (goodbye packets, TTL 0) at the start of a
    /// shutdown; kioku keeps answering in-flight requests meanwhile.
    pub fn withdraw(&self) {
        match &*self.backend.lock().expect("not poisoned") {
            Backend::None => {}
            Backend::Own(r) => r.withdraw(),
            Backend::Avahi(a) => a.withdraw(),
        }
    }

    /// Stops advertising for good: goodbyes if [`Mdns::withdraw`] has not
    /// sent them yet, then the responder ends. Blocks for a second at most.
    pub fn stop(&self) {
        let backend = std::mem::replace(
            &mut *self.backend.lock().expect("not poisoned"),
            Backend::None,
        );
        match backend {
            Backend::None => {}
            Backend::Own(r) => r.stop(),
            Backend::Avahi(a) => a.stop(),
        }
        self.shared.update(|s| {
            s.mode = Mode::Off;
            s.note = Some("stopped".into());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServeArgs;

    fn config(host: &'static str, mdns: bool) -> Config {
        let env = move |k: &str| match k {
            "SYNC_USER1" => Some("a:1".to_owned()),
            "SYNC_HOST" => Some(host.to_owned()),
            "KIOKU_NO_MDNS" if !mdns => Some(String::new()),
            _ => None,
        };
        Config::load_with(&ServeArgs::default(), &env).unwrap()
    }

    const PORTS: Ports = Ports {
        http: Some(8080),
        https: Some(8443),
    };

    fn assert_nothing_started(m: &Mdns, note: &str) {
        let st = m.status();
        assert_eq!(st.mode, Mode::Off);
        assert!(st.note.as_deref().unwrap_or("").contains(note), "{st:?}");
        assert!(
            st.host_names.is_empty() && st.services.is_empty() && st.interfaces.is_empty(),
            "{st:?}"
        );
        assert!(m.host_names().is_empty());
        assert!(matches!(*m.backend.lock().unwrap(), Backend::None));
        assert_eq!(
            st.to_string(),
            format!("mdns:        off ({})\n", st.note.unwrap())
        );
    }

    #[test]
    fn a_loopback_bind_starts_no_responder() {
        for host in ["127.0.0.1", "::1"] {
            let m = Mdns::start(&config(host, true), PORTS, None);
            assert_nothing_started(&m, "loopback");
            m.withdraw();
            m.stop();
        }
    }

    #[test]
    fn turned_off_discovery_starts_nothing_even_on_every_interface() {
        let m = Mdns::start(&config("0.0.0.0", false), PORTS, None);
        assert_nothing_started(&m, "turned off");
    }

    #[test]
    fn the_status_shows_the_names_in_use_after_a_conflict() {
        let shared = Shared {
            label: "kioku".into(),
            scope: Scope::All { v4: true, v6: true },
            services: plan::services(PORTS, "0.1.0", None),
            state: RwLock::new(State {
                mode: Mode::Own,
                note: None,
                renames: Renames::default(),
                avahi_host: None,
            }),
            tls: None,
        };
        let ifs = || {
            vec![
                ("eth0".to_owned(), vec!["10.0.0.2".parse().unwrap()]),
                ("wlan0".to_owned(), vec!["10.0.1.2".parse().unwrap()]),
            ]
        };
        let st = shared.status_on(ifs());
        assert_eq!(st.host_names, ["kioku.local"]);
        assert_eq!(st.services.len(), 3);
        assert!(
            st.services.iter().all(|s| s.instances == ["kioku"]),
            "{st:?}"
        );
        shared.update(|s| {
            s.renames.record("eth0", "kioku.local.", "kioku-2.local.");
            s.renames.record("wlan0", "kioku.local.", "kioku-2.local.");
            s.renames.record(
                "eth0",
                "kioku._https._tcp.local.",
                "kioku (2)._https._tcp.local.",
            );
        });
        let st = shared.status_on(ifs());
        assert_eq!(st.host_names, ["kioku-2.local"]);
        let https = &st.services[0];
        assert_eq!(https.service_type, "_https._tcp");
        assert_eq!(
            https.instances,
            ["kioku (2)", "kioku"],
            "renamed on eth0 only"
        );
        assert_eq!(st.interfaces[1].name, "wlan0");
        shared.update(|s| {
            s.mode = Mode::Avahi;
            s.avahi_host = Some("box.local".into());
        });
        assert_eq!(shared.status_on(ifs()).host_names, ["box.local"]);
    }

    #[test]
    fn the_status_reads_as_lines() {
        let st = Status {
            mode: Mode::Own,
            note: None,
            host_names: vec!["kioku-2.local".into()],
            services: vec![ServiceStatus {
                service_type: "_https._tcp".into(),
                instances: vec!["kioku (2)".into()],
                port: 8443,
                txt: vec!["txtvers=1".into(), "path=/".into()],
            }],
            interfaces: vec![InterfaceStatus {
                name: "eth0".into(),
                addresses: vec!["10.0.0.2".parse().unwrap()],
            }],
        };
        assert_eq!(
            st.to_string(),
            "mdns:        kioku's own responder\n\
             names:       kioku-2.local\n\
             service:     _https._tcp \"kioku (2)\" port 8443 (txtvers=1 path=/)\n\
             interface:   eth0 10.0.0.2\n"
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["mode"], "own");
        assert_eq!(json["host_names"][0], "kioku-2.local");
    }
}
