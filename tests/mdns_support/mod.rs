//! A small LAN of network namespaces for the discovery tests: a bridge in
//! its own namespace and one namespace per host, each with an `eth0` on the
//! bridge. Nothing here touches the machine's own interfaces. Everything is
//! removed on drop, also when a test fails.

#![allow(dead_code)]

use std::collections::HashSet;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mdns_sd::{HostnameResolutionEvent, ResolvedService, ServiceDaemon, ServiceEvent};

pub use crate::common::{ip, run};

/// One host on the LAN: its namespace and addresses.
pub struct Host {
    pub ns: String,
    pub v4: IpAddr,
    pub v6: IpAddr,
}

impl Host {
    /// `ip netns exec <ns>` (which also bind-mounts `/etc/netns/<ns>/*`
    /// over `/etc`).
    pub fn exec(&self) -> Command {
        let mut cmd = ip();
        cmd.args(["netns", "exec", &self.ns]);
        cmd
    }

    /// `ip -n <ns> …`
    pub fn ip(&self, args: &[&str]) -> String {
        run(ip().args(["-n", &self.ns]).args(args))
    }

    /// `/etc/netns/<ns>`: files here replace `/etc`'s inside the namespace.
    pub fn etc(&self) -> PathBuf {
        PathBuf::from("/etc/netns").join(&self.ns)
    }

    /// Runs `f` on a thread inside the namespace; threads it starts (e.g.
    /// an mDNS daemon's) and sockets it opens stay in there.
    pub fn inside<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.ns);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap();
            // SAFETY: setns on this thread only; the fd is valid.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    }
}

/// The LAN: a bridge namespace and hosts named by role.
pub struct Lan {
    bridge: String,
    pub hosts: Vec<Host>,
}

impl Lan {
    /// Hosts `roles[i]` get 10.66.0.(10+i)/24 and fd66::(10+i)/64 on eth0.
    pub fn new(roles: &[&str]) -> Lan {
        let uid = run(Command::new("id").arg("-u"));
        assert_eq!(
            uid.trim(),
            "0",
            "this test creates network namespaces and must run as root"
        );
        let mut bytes = [0u8; 3];
        getrandom::fill(&mut bytes).unwrap();
        let tag = format!("kmd{}-{}", std::process::id(), hex::encode(bytes));
        let bridge = format!("{tag}-lan");
        run(ip().args(["netns", "add", &bridge]));
        let mut lan = Lan {
            bridge,
            hosts: Vec::new(),
        };
        let b = lan.bridge.clone();
        run(ip().args([
            "-n",
            &b,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]));
        run(ip().args(["-n", &b, "link", "set", "br0", "up"]));
        for (i, role) in roles.iter().enumerate() {
            let ns = format!("{tag}-{role}");
            run(ip().args(["netns", "add", &ns]));
            let host = Host {
                ns: ns.clone(),
                v4: format!("10.66.0.{}", 10 + i).parse().unwrap(),
                v6: format!("fd66::{}", 10 + i).parse().unwrap(),
            };
            lan.hosts.push(host);
            let port = format!("p{i}");
            run(ip().args([
                "-n", &b, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ]));
            run(ip().args(["-n", &b, "link", "set", &port, "master", "br0", "up"]));
            let h = lan.hosts.last().unwrap();
            h.ip(&["link", "set", "lo", "up"]);
            h.ip(&["addr", "add", &format!("{}/24", h.v4), "dev", "eth0"]);
            h.ip(&[
                "addr",
                "add",
                &format!("{}/64", h.v6),
                "dev",
                "eth0",
                "nodad",
            ]);
            h.ip(&["link", "set", "eth0", "up"]);
        }
        lan
    }

    /// Another interface `name` of host `role` on the bridge, with `v4`/24.
    pub fn add_interface(&self, role: &str, name: &str, v4: IpAddr) {
        let host = self.host(role);
        let port = format!("q{}", self.hosts.len());
        run(ip().args([
            "-n",
            &self.bridge,
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            name,
            "netns",
            &host.ns,
        ]));
        run(ip().args([
            "-n",
            &self.bridge,
            "link",
            "set",
            &port,
            "master",
            "br0",
            "up",
        ]));
        host.ip(&["addr", "add", &format!("{v4}/24"), "dev", name]);
        host.ip(&["link", "set", name, "up"]);
    }

    pub fn host(&self, role: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.ns.ends_with(&format!("-{role}")))
            .unwrap()
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for h in &self.hosts {
            // Whatever this test started in there (e.g. avahi-daemon) ends too.
            if let Ok(out) = ip().args(["netns", "pids", &h.ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        // SAFETY: a signal to a process in this test's namespace.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
            let _ = ip().args(["netns", "del", &h.ns]).status();
            let _ = std::fs::remove_dir_all(h.etc());
        }
        let _ = ip().args(["netns", "del", &self.bridge]).status();
    }
}

/// A kioku process (or a shell that execs it) in a namespace; killed on
/// drop if still running.
pub struct Kioku {
    pub child: Child,
    pub base: PathBuf,
    pub log: PathBuf,
}

impl Kioku {
    /// `kioku serve` in `host`'s namespace with user `user:pass`, the data in
    /// a new folder, checks every second, plus `env`. `wrap` is a shell
    /// script run instead that ends with `exec "$0" serve`.
    pub fn start(host: &Host, env: &[(&str, &str)], wrap: Option<&str>) -> Kioku {
        let base = crate::common::temp_dir("mdns");
        let log = base.with_extension("log");
        let mut cmd = host.exec();
        if let Some(script) = wrap {
            cmd.args(["sh", "-c", script]);
        }
        cmd.arg(env!("CARGO_BIN_EXE_kioku"));
        if wrap.is_none() {
            cmd.arg("serve");
        }
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("SYNC_USER1", "user:pass")
            .env("SYNC_BASE", &base)
            .env("KIOKU_TLS_CHECK_SECS", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let k = Kioku {
            child: cmd.spawn().unwrap(),
            base,
            log,
        };
        k.wait_log("kioku is listening", Duration::from_secs(20));
        k
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `what`; fails with the log after `within`.
    pub fn wait_log(&self, what: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log_text().contains(what) {
            assert!(
                Instant::now() < deadline,
                "kioku's log never said {what:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The CA certificate, PEM.
    pub fn ca(&self) -> PathBuf {
        self.base.join("tls/ca.pem")
    }

    /// SIGTERM; returns when it has exited (exit status 0 asserted).
    pub fn terminate(&mut self) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "kioku exited with {status}:\n{}",
                    self.log_text()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kioku did not stop:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Kioku {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.base);
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// An mDNS querier (mdns-sd) in a host's namespace.
pub struct Browser {
    pub daemon: ServiceDaemon,
}

impl Browser {
    pub fn new(host: &Host) -> Browser {
        let daemon = host.inside(|| ServiceDaemon::new().expect("an mDNS daemon"));
        Browser { daemon }
    }

    pub fn browse(&self, ty: &str) -> mdns_sd::Receiver<ServiceEvent> {
        self.daemon.browse(ty).unwrap()
    }

    /// The addresses `name` resolves to, once `want` holds for them.
    pub fn resolve(
        &self,
        name: &str,
        within: Duration,
        want: impl Fn(&HashSet<IpAddr>) -> bool,
    ) -> HashSet<IpAddr> {
        let rx = self
            .daemon
            .resolve_hostname(name, Some(within.as_millis() as u64))
            .unwrap();
        let deadline = Instant::now() + within;
        let mut found = HashSet::new();
        while !want(&found) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(HostnameResolutionEvent::AddressesFound(_, addrs)) => {
                    found.extend(addrs.iter().map(|a| a.to_ip_addr()))
                }
                Ok(_) => {}
                Err(_) => panic!("{name} did not resolve as wanted; found {found:?}"),
            }
        }
        let _ = self.daemon.stop_resolve_hostname(name);
        found
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(done) = self.daemon.shutdown() {
            let _ = done.recv_timeout(Duration::from_secs(2));
        }
    }
}

/// The next `ServiceResolved` on `rx` for which `want` holds.
pub fn resolved(
    rx: &mdns_sd::Receiver<ServiceEvent>,
    within: Duration,
    want: impl Fn(&ResolvedService) -> bool,
) -> ResolvedService {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(s)) if want(&s) => return *s,
            Ok(other) => seen.push(format!("{other:?}")),
            Err(_) => panic!(
                "no wanted service within {within:?}; events seen:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// Waits for `ServiceRemoved` of `fullname` on `rx`.
pub fn removed(rx: &mdns_sd::Receiver<ServiceEvent>, fullname: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(ServiceEvent::ServiceRemoved(_, name)) if name == fullname => return,
            Ok(other) => seen.push(format!("{other:?}")),
            Err(_) => panic!(
                "{fullname} was not removed within {within:?}; events seen:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// The addresses of a resolved service.
pub fn addrs(s: &ResolvedService) -> HashSet<IpAddr> {
    s.get_addresses().iter().map(|a| a.to_ip_addr()).collect()
}

/// The TXT record of a resolved service, as `key=value`, in order.
pub fn txt(s: &ResolvedService) -> Vec<String> {
    s.get_properties()
        .iter()
        .map(|p| format!("{}={}", p.key(), p.val_str()))
        .collect()
}

/// `openssl s_client` from `host` to `addr:port`, verifying `name` against
/// `ca`; true when the chain and the name verify.
pub fn cert_covers(host: &Host, addr: IpAddr, port: u16, name: &str, ca: &Path) -> bool {
    let out = host
        .exec()
        .args(["sh", "-c"])
        .arg(format!(
            "openssl s_client -connect {addr}:{port} -servername {name} -verify_hostname {name} \
             -CAfile {} -verify_return_error </dev/null 2>&1",
            ca.display()
        ))
        .output()
        .expect("`openssl` is installed (Debian: apt-get install -y openssl)");
    String::from_utf8_lossy(&out.stdout).contains("Verify return code: 0 (ok)")
}

/// `GET path` over plain HTTP from inside `host`; the body.
pub fn http_get(host: &Host, addr: IpAddr, port: u16, path: &str) -> String {
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {addr}:{port}\r\nconnection: close\r\n\r\n");
    host.inside(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect((addr, port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
}

/// The interop venv (made or updated by tests/interop/setup-venv).
pub fn venv_python() -> PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/setup-venv");
    let out = Command::new(script).output().unwrap();
    assert!(
        out.status.success(),
        "tests/interop/setup-venv failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let venv = stdout
        .lines()
        .last()
        .expect("setup-venv prints the venv path");
    PathBuf::from(venv.trim()).join("bin/python")
}
