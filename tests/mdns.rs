//! Discovery end to end, on a LAN of network namespaces this test creates
//! (never on the machine's own interfaces): kioku runs in one namespace, a
//! browser (mdns-sd) in another finds its services and resolves its
//! `.local` name, the real Anki client syncs through that name; a second
//! kioku with the same name becomes `kioku-2.local`; an address added while
//! running is announced; goodbyes remove the services at shutdown; with
//! avahi-daemon running, kioku registers through it.
//!
//! Needs root, `ip` (iproute2), `openssl`, `avahi-daemon` and the interop
//! venv (made here by tests/interop/setup-venv); fails, never skips, without
//! them. mDNS does not work under qemu-user: native builds only.

mod common;
#[path = "mdns_support/mod.rs"]
mod support;

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{addrs, cert_covers, http_get, removed, resolved, txt, Browser, Kioku, Lan};

const WAIT: Duration = Duration::from_secs(15);
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `ca_sha256` as the TXT record carries it: the CA's SHA-256, lower-case hex.
fn ca_sha256(kioku: &Kioku) -> String {
    let der = kioku::tls::certs::ca_der(&kioku.base.join("tls")).expect("kioku made a CA");
    kioku::tls::certs::fingerprint(&der)
        .replace(':', "")
        .to_lowercase()
}

#[test]
fn kioku_is_found_synced_through_its_name_follows_its_addresses_and_says_goodbye() {
    let lan = Lan::new(&["srv", "cli"]);
    let (srv, cli) = (lan.host("srv"), lan.host("cli"));
    // A second interface on the same LAN (a board on cable and Wi-Fi): left
    // to the first, or kioku takes its own answers there for another host's.
    let second: IpAddr = "10.66.0.20".parse().unwrap();
    lan.add_interface("srv", "eth1", second);
    let browser = Browser::new(cli);
    let kioku_rx = browser.browse("_kioku._tcp.local.");
    let https_rx = browser.browse("_https._tcp.local.");
    let http_rx = browser.browse("_http._tcp.local.");

    let started = Instant::now();
    // `::` takes IPv4 and IPv6, so both A and AAAA records are advertised.
    let mut kioku = Kioku::start(srv, &[("SYNC_HOST", "::")], None);
    let ca = ca_sha256(&kioku);
    // Resolutions come in steps (A, then AAAA): wait for both.
    let ours = |s: &mdns_sd::ResolvedService| {
        let a = addrs(s);
        s.get_hostname() == "kioku.local." && a.contains(&srv.v4) && a.contains(&srv.v6)
    };
    let k = resolved(&kioku_rx, WAIT, ours);
    let found_after = started.elapsed();
    let https = resolved(&https_rx, WAIT, ours);
    let http = resolved(&http_rx, WAIT, ours);
    println!("services resolved {found_after:?} after start: {k:?}");

    assert_eq!(k.get_fullname(), "kioku._kioku._tcp.local.");
    assert_eq!(k.get_port(), 8443);
    let version = format!("version={VERSION}");
    let ca_txt = format!("ca_sha256={ca}");
    assert_eq!(
        txt(&k),
        [
            "txtvers=1",
            "path=/",
            &version,
            "https=8443",
            "http=8080",
            &ca_txt
        ]
    );
    assert_eq!(
        (https.get_fullname(), https.get_port()),
        ("kioku._https._tcp.local.", 8443)
    );
    assert_eq!(
        (http.get_fullname(), http.get_port()),
        ("kioku._http._tcp.local.", 8080)
    );
    for s in [&https, &http] {
        assert_eq!(txt(s), ["txtvers=1", "path=/", &version, &ca_txt]);
    }
    for s in [&k, &https, &http] {
        let a = addrs(s);
        assert!(!a.contains(&second), "eth1 is left to eth0: {a:?}");
        assert!(
            a.iter().all(|a| !a.is_loopback()),
            "no loopback address: {a:?}"
        );
    }

    // The host name alone resolves (A and AAAA) to kioku's addresses.
    let names = browser.resolve("kioku.local.", WAIT, |f| {
        f.contains(&srv.v4) && f.contains(&srv.v6)
    });
    assert!(!names.contains(&cli.v4), "{names:?}");

    // The real client syncs through https://kioku.local:8443/: the client
    // has no mDNS resolver in its namespace, so /etc/hosts there maps the
    // name to the address resolved above; TLS checks the name.
    std::fs::create_dir_all(cli.etc()).unwrap();
    std::fs::write(
        cli.etc().join("hosts"),
        format!("127.0.0.1 localhost\n{} kioku.local\n", srv.v4),
    )
    .unwrap();
    let python = support::venv_python();
    let work = common::temp_dir("mdns-client");
    let sync = cli
        .exec()
        .arg(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/mdns_sync.py"
        ))
        .args(["https://kioku.local:8443/"])
        .arg(kioku.ca())
        .arg(&work)
        .args(["user", "pass"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&sync.stdout);
    assert!(
        sync.status.success() && out.contains("synced two devices through https://kioku.local"),
        "the real client did not sync through kioku.local:\n{out}\n{}\nkioku:\n{}",
        String::from_utf8_lossy(&sync.stderr),
        kioku.log_text()
    );
    println!("{}", out.trim());
    let _ = std::fs::remove_dir_all(&work);

    // An address added while running is announced.
    let (new_v4, cli_new): (IpAddr, &str) = ("10.67.0.10".parse().unwrap(), "10.67.0.1/24");
    cli.ip(&["addr", "add", cli_new, "dev", "eth0"]);
    let added = Instant::now();
    srv.ip(&["addr", "add", "10.67.0.10/24", "dev", "eth0"]);
    let k = resolved(&kioku_rx, WAIT, |s| addrs(s).contains(&new_v4));
    println!(
        "new address announced {:?} after it was added: {:?}",
        added.elapsed(),
        addrs(&k)
    );
    kioku.wait_log("new address 10.67.0.10: announced", WAIT);

    // An address that goes away: the others are announced again with the
    // cache-flush bit, and the browser drops it.
    let gone = Instant::now();
    srv.ip(&["addr", "del", "10.67.0.10/24", "dev", "eth0"]);
    kioku.wait_log("address 10.67.0.10 went away", WAIT);
    let k = resolved(&kioku_rx, WAIT, |s| {
        let a = addrs(s);
        a.contains(&srv.v4) && !a.contains(&new_v4)
    });
    println!(
        "the browser dropped the removed address {:?} after it went: {:?}",
        gone.elapsed(),
        addrs(&k)
    );
    assert_eq!(k.get_hostname(), "kioku.local.");
    assert!(
        !kioku.log_text().contains("is taken") && !kioku.log_text().contains("this one is now"),
        "address changes never rename kioku:\n{}",
        kioku.log_text()
    );

    // The cable is unplugged: the other interface on the LAN takes over,
    // and its announcement replaces the cached addresses.
    let down = Instant::now();
    srv.ip(&["link", "set", "eth0", "down"]);
    let k = resolved(&kioku_rx, WAIT, |s| {
        let a = addrs(s);
        a.contains(&second) && !a.contains(&srv.v4)
    });
    println!(
        "eth1 took over {:?} after eth0 went down: {:?}",
        down.elapsed(),
        addrs(&k)
    );
    assert_eq!(k.get_hostname(), "kioku.local.");
    assert!(!kioku.log_text().contains("this one is now"));

    // Goodbyes: the services disappear from the browser at shutdown.
    let stopping = Instant::now();
    kioku.terminate();
    for (rx, name) in [
        (&kioku_rx, "kioku._kioku._tcp.local."),
        (&https_rx, "kioku._https._tcp.local."),
        (&http_rx, "kioku._http._tcp.local."),
    ] {
        removed(rx, name, Duration::from_secs(5));
    }
    println!("services removed {:?} after SIGTERM", stopping.elapsed());
    assert!(kioku.log_text().contains("mDNS: goodbyes sent"));
}

#[test]
fn a_second_kioku_with_the_same_name_becomes_kioku_2() {
    let lan = Lan::new(&["one", "two", "cli"]);
    let (one, two, cli) = (lan.host("one"), lan.host("two"), lan.host("cli"));
    let browser = Browser::new(cli);
    let https_rx = browser.browse("_https._tcp.local.");
    let first = Kioku::start(one, &[], None);
    resolved(&https_rx, WAIT, |s| {
        s.get_hostname() == "kioku.local." && addrs(s).contains(&one.v4)
    });

    let second = Kioku::start(two, &[], None);
    second.wait_log(
        "another host already answers for kioku.local; this one is now kioku-2.local",
        WAIT,
    );
    let s = resolved(&https_rx, WAIT, |s| s.get_hostname() == "kioku-2.local.");
    assert_eq!(s.get_fullname(), "kioku (2)._https._tcp.local.");
    assert!(addrs(&s).contains(&two.v4), "{s:?}");
    assert!(!addrs(&s).contains(&one.v4), "{s:?}");
    let renamed = browser.resolve("kioku-2.local.", WAIT, |f| f.contains(&two.v4));
    assert!(!renamed.contains(&one.v4), "{renamed:?}");
    let original = browser.resolve("kioku.local.", WAIT, |f| f.contains(&one.v4));
    assert!(!original.contains(&two.v4), "{original:?}");
    assert!(
        !first.log_text().contains("this one is now"),
        "the first keeps its name:\n{}",
        first.log_text()
    );

    // The second one's certificate covers the name it answers to, without
    // a restart, and its setup page offers that name.
    let deadline = Instant::now() + WAIT;
    while !cert_covers(cli, two.v4, 8443, "kioku-2.local", &second.ca()) {
        assert!(
            Instant::now() < deadline,
            "the certificate never covered kioku-2.local:\n{}",
            second.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let page = http_get(cli, two.v4, 8080, "/");
    assert!(page.contains("https://kioku-2.local:8443/"), "{page}");
    assert!(page.contains("http://kioku-2.local:8080/"), "{page}");
    assert!(!page.contains("://kioku.local:"), "{page}");
    assert!(cert_covers(cli, one.v4, 8443, "kioku.local", &first.ca()));
}

const AVAHI_CONF: &str = "[server]\nhost-name=box\nuse-ipv4=yes\nuse-ipv6=yes\n\
    enable-dbus=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n";

/// Runs in the namespace: a private /run, avahi-daemon (its config and
/// service folder are /etc/netns/<ns>/avahi, bind-mounted by `ip netns
/// exec`), then kioku.
const WITH_AVAHI: &str = "set -e
mount -t tmpfs kioku-test /run
mkdir -p /run/avahi-daemon
avahi-daemon --no-drop-root --no-chroot --daemonize
i=0
while [ ! -S /run/avahi-daemon/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
exec \"$0\" serve";

fn avahi_daemon_installed() -> bool {
    [
        "/usr/sbin/avahi-daemon",
        "/sbin/avahi-daemon",
        "/usr/bin/avahi-daemon",
    ]
    .iter()
    .any(|p| Path::new(p).is_file())
}

#[test]
fn with_avahi_running_kioku_registers_its_services_through_it() {
    assert!(
        avahi_daemon_installed(),
        "`avahi-daemon` is not installed; this test needs it (Debian: apt-get install -y \
         --no-install-recommends avahi-daemon; .ci/run installs it)"
    );
    let lan = Lan::new(&["srv", "cli"]);
    let (srv, cli) = (lan.host("srv"), lan.host("cli"));
    let services = srv.etc().join("avahi/services");
    std::fs::create_dir_all(&services).unwrap();
    std::fs::write(srv.etc().join("avahi/avahi-daemon.conf"), AVAHI_CONF).unwrap();
    let browser = Browser::new(cli);
    let kioku_rx = browser.browse("_kioku._tcp.local.");
    let https_rx = browser.browse("_https._tcp.local.");

    let mut kioku = Kioku::start(srv, &[], Some(WITH_AVAHI));
    kioku.wait_log("avahi-daemon runs here", WAIT);
    let k = resolved(&kioku_rx, WAIT, |s| addrs(s).contains(&srv.v4));
    assert_eq!(k.get_hostname(), "box.local.", "the host name is avahi's");
    assert_eq!(k.get_port(), 8443);
    let t = txt(&k);
    assert!(
        t.contains(&format!("ca_sha256={}", ca_sha256(&kioku))),
        "{t:?}"
    );
    assert!(t.contains(&format!("version={VERSION}")), "{t:?}");
    let https = resolved(&https_rx, WAIT, |s| s.get_hostname() == "box.local.");
    assert_eq!(https.get_port(), 8443);
    assert!(services.join("kioku.service").is_file());
    kioku.wait_log("avahi-daemon answers for this machine as box.local", WAIT);
    assert!(
        !kioku.log_text().contains("mDNS: advertising"),
        "no second responder:\n{}",
        kioku.log_text()
    );
    // The certificate follows avahi's name.
    let deadline = Instant::now() + WAIT;
    while !cert_covers(cli, srv.v4, 8443, "box.local", &kioku.ca()) {
        assert!(
            Instant::now() < deadline,
            "the certificate never covered box.local:\n{}",
            kioku.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let stopping = Instant::now();
    kioku.terminate();
    removed(
        &kioku_rx,
        "kioku._kioku._tcp.local.",
        Duration::from_secs(5),
    );
    println!(
        "avahi withdrew the services {:?} after SIGTERM",
        stopping.elapsed()
    );
    assert!(!services.join("kioku.service").exists());
    // avahi-daemon is the only process left in the namespace: end it.
    for pid in support::run(support::ip().args(["netns", "pids", &srv.ns])).split_whitespace() {
        let pid: i32 = pid.parse().unwrap();
        // SAFETY: a signal to the avahi-daemon this test started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
}
