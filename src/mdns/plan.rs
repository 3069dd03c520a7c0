//! What kioku advertises, decided from the settings and the interface list
//! alone: the host label, which interfaces and addresses, the DNS-SD services
//! and their TXT records, and the names in use after conflicts. Pure
//! functions; `responder` and `avahi` put the result on the wire.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The kioku-specific service type: finds kioku boxes and nothing else.
pub const KIOKU_TYPE: &str = "_kioku._tcp.local.";
/// The TLS sync endpoint (and the setup page over HTTPS).
pub const HTTPS_TYPE: &str = "_https._tcp.local.";
/// The setup page (and the sync endpoint) over plain HTTP.
pub const HTTP_TYPE: &str = "_http._tcp.local.";
/// `txtvers` of the TXT records below; raise it when the key set changes
/// incompatibly.
pub const TXT_VERSION: &str = "1";
/// The label used when `--tls-name` yields no usable one.
pub const FALLBACK_LABEL: &str = "kioku";

/// The host label (`kioku` of `kioku.local`) for a `--tls-name`: the name
/// itself, or its first label when it has dots (`box.example.org` → `box`,
/// `kioku.local` → `kioku`), in lower case. A label DNS cannot carry (empty,
/// over 63 bytes, not letters/digits/'-', or '-' at either end) gives
/// [`FALLBACK_LABEL`].
pub fn host_label(name: &str) -> String {
    let label = name.trim_end_matches('.').split('.').next().unwrap_or("");
    let ok = !label.is_empty()
        && label.len() <= 63
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if ok {
        label.to_ascii_lowercase()
    } else {
        FALLBACK_LABEL.to_owned()
    }
}

/// `label.local.` as mDNS writes a host name.
pub fn host_fqdn(label: &str) -> String {
    format!("{label}.local.")
}

/// A DNS name as people read it: without the root's trailing dot.
pub fn readable(name: &str) -> String {
    name.trim_end_matches('.').to_owned()
}

/// A service type as people read it: `_https._tcp.local.` → `_https._tcp`.
pub fn short_type(ty: &str) -> &str {
    ty.trim_end_matches('.').trim_end_matches(".local")
}

/// Where kioku advertises, given the address it listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Nowhere, for this reason.
    Off(&'static str),
    /// Every interface except loopback, with the address families the
    /// listener accepts.
    All { v4: bool, v6: bool },
    /// Only this address: the listener is bound to it.
    Only(IpAddr),
}

/// The scope for a listener bound to `bind`. `v6only` is whether a socket
/// bound to `::` accepts IPv6 only (`net.ipv6.bindv6only`); otherwise it also
/// takes IPv4. A loopback bind advertises nothing: no other machine could
/// connect.
pub fn scope(bind: IpAddr, v6only: bool) -> Scope {
    let bind = bind.to_canonical();
    if bind.is_loopback() {
        return Scope::Off("listening on a loopback address only");
    }
    match bind {
        IpAddr::V4(a) if a.is_unspecified() => Scope::All {
            v4: true,
            v6: false,
        },
        IpAddr::V6(a) if a.is_unspecified() => Scope::All {
            v4: !v6only,
            v6: true,
        },
        other => Scope::Only(other),
    }
}

impl Scope {
    /// Whether address `ip` of an interface is advertised (`loopback`: the
    /// interface is a loopback one).
    pub fn allows(&self, ip: IpAddr, loopback: bool) -> bool {
        if loopback || ip.to_canonical().is_loopback() {
            return false;
        }
        match *self {
            Scope::Off(_) => false,
            Scope::All { v4, v6 } => {
                if ip.is_ipv4() {
                    v4
                } else {
                    v6
                }
            }
            Scope::Only(addr) => ip == addr,
        }
    }
}

/// One address of one interface, as the system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    pub name: String,
    /// The interface's index (lower: set up earlier, e.g. eth0 before wlan0).
    pub index: u32,
    pub ip: IpAddr,
    /// The prefix length of the address's network.
    pub prefix: u8,
    pub loopback: bool,
    /// Operationally up (and not point-to-point, which mDNS does not use).
    pub usable: bool,
}

/// The network of `ip/prefix` (address masked, prefix): what two interfaces
/// on one LAN share. `None` for link-local addresses, which every link has.
fn network(ip: IpAddr, prefix: u8) -> Option<(IpAddr, u8)> {
    match ip {
        IpAddr::V4(a) if !a.is_link_local() => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            Some((IpAddr::V4((u32::from(a) & mask).into()), prefix))
        }
        IpAddr::V6(a) if (a.segments()[0] & 0xffc0) != 0xfe80 => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            Some((IpAddr::V6((u128::from(a) & mask).into()), prefix))
        }
        _ => None,
    }
}

/// Interfaces left out because one with a lower index is on the same LAN
/// (they share a network): a responder answering on both hears its own
/// records through the other and takes them for another host's, and
/// renames itself. The one left answers for the machine; when it goes down,
/// the next one takes over at the next address check.
pub fn shadowed(scope: &Scope, addrs: &[IfAddr]) -> BTreeSet<String> {
    let mut order: Vec<&IfAddr> = addrs
        .iter()
        .filter(|a| a.usable && scope.allows(a.ip, a.loopback))
        .collect();
    order.sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
    let mut owner: BTreeMap<(IpAddr, u8), &str> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for a in &order {
        if let Some(net) = network(a.ip, a.prefix) {
            match owner.get(&net) {
                Some(first) if *first != a.name => {
                    out.insert(a.name.clone());
                }
                _ => {
                    owner.insert(net, &a.name);
                }
            }
        }
    }
    out
}

/// Whether address `ip` of interface `name` is advertised, among `addrs`.
pub fn selects(scope: &Scope, addrs: &[IfAddr], name: &str, ip: IpAddr, loopback: bool) -> bool {
    scope.allows(ip, loopback) && !shadowed(scope, addrs).contains(name)
}

/// The interfaces advertised on and their advertised addresses, by name.
pub fn advertised(scope: &Scope, addrs: &[IfAddr]) -> Vec<(String, Vec<IpAddr>)> {
    let shadowed = shadowed(scope, addrs);
    by_interface(
        addrs
            .iter()
            .filter(|a| a.usable && scope.allows(a.ip, a.loopback) && !shadowed.contains(&a.name)),
    )
}

/// `addrs` grouped by interface name, sorted, without duplicates.
pub fn by_interface<'a>(addrs: impl Iterator<Item = &'a IfAddr>) -> Vec<(String, Vec<IpAddr>)> {
    let mut by_name: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for a in addrs {
        by_name.entry(a.name.clone()).or_default().push(a.ip);
    }
    by_name
        .into_iter()
        .map(|(name, mut ips)| {
            ips.sort();
            ips.dedup();
            (name, ips)
        })
        .collect()
}

/// The ports kioku listens on (`None`: that listener is off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ports {
    pub http: Option<u16>,
    pub https: Option<u16>,
}

/// One DNS-SD service to advertise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// e.g. `_https._tcp.local.`
    pub ty: &'static str,
    pub port: u16,
    /// TXT key/value pairs, `txtvers` first.
    pub txt: Vec<(&'static str, String)>,
}

/// The services for the listeners that are on. `ca_sha256` is the CA's
/// SHA-256 in lower-case hex (none with a user's certificate).
///
/// - `_https._tcp` (TLS port) and `_http._tcp` (plain port): `path=/`, the
///   kioku `version` and `ca_sha256`;
/// - `_kioku._tcp` on the TLS port (the plain one when TLS is off): the same
///   plus `https=` and `http=` naming both ports.
pub fn services(ports: Ports, version: &str, ca_sha256: Option<&str>) -> Vec<Service> {
    let common = |extra: Vec<(&'static str, String)>| {
        let mut txt = vec![
            ("txtvers", TXT_VERSION.to_owned()),
            ("path", "/".to_owned()),
            ("version", version.to_owned()),
        ];
        txt.extend(extra);
        if let Some(ca) = ca_sha256 {
            txt.push(("ca_sha256", ca.to_owned()));
        }
        txt
    };
    let mut out = Vec::new();
    if let Some(port) = ports.https {
        out.push(Service {
            ty: HTTPS_TYPE,
            port,
            txt: common(vec![]),
        });
    }
    if let Some(port) = ports.http {
        out.push(Service {
            ty: HTTP_TYPE,
            port,
            txt: common(vec![]),
        });
    }
    if let Some(port) = ports.https.or(ports.http) {
        let mut extra = Vec::new();
        if let Some(p) = ports.https {
            extra.push(("https", p.to_string()));
        }
        if let Some(p) = ports.http {
            extra.push(("http", p.to_string()));
        }
        out.push(Service {
            ty: KIOKU_TYPE,
            port,
            txt: common(extra),
        });
    }
    out
}

/// The TXT record's size on the wire: each `key=value` string with its
/// length byte.
pub fn txt_wire_len(txt: &[(&'static str, String)]) -> usize {
    txt.iter().map(|(k, v)| 1 + k.len() + 1 + v.len()).sum()
}

/// Names renamed after conflicts (RFC 6762 §9), per interface: the responder
/// probes each interface on its own, so `kioku.local` may become
/// `kioku-2.local` on one and stay on another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames(BTreeMap<(String, String), String>);

impl Renames {
    /// Records that `original` is now `new_name` on interface `intf`
    /// (a second conflict replaces the first rename). True when that changed
    /// anything.
    pub fn record(&mut self, intf: &str, original: &str, new_name: &str) -> bool {
        let key = (intf.to_owned(), original.to_ascii_lowercase());
        self.0.insert(key, new_name.to_owned()).as_deref() != Some(new_name)
    }

    /// The name `original` goes by on `intf`.
    pub fn on<'a>(&'a self, intf: &str, original: &'a str) -> &'a str {
        self.0
            .get(&(intf.to_owned(), original.to_ascii_lowercase()))
            .map(String::as_str)
            .unwrap_or(original)
    }

    /// The names `original` goes by on `interfaces`, sorted, without
    /// duplicates; just `original` when there is no interface.
    pub fn in_use<'a>(
        &self,
        original: &str,
        interfaces: impl IntoIterator<Item = &'a str>,
    ) -> Vec<String> {
        let mut out: Vec<String> = interfaces
            .into_iter()
            .map(|i| self.on(i, original).to_owned())
            .collect();
        if out.is_empty() {
            out.push(original.to_owned());
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
