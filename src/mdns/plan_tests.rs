use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn addr(name: &str, a: &str) -> IfAddr {
    let (a, prefix) = a.split_once('/').unwrap_or((a, "24"));
    IfAddr {
        name: name.into(),
        index: match name {
            "lo" => 1,
            "eth0" => 2,
            "wlan0" => 3,
            _ => 4,
        },
        ip: ip(a),
        prefix: prefix.parse().unwrap(),
        loopback: name == "lo",
        usable: true,
    }
}

#[test]
fn the_host_label_comes_from_the_tls_name() {
    assert_eq!(host_label("kioku"), "kioku");
    assert_eq!(host_label("Kioku"), "kioku");
    assert_eq!(host_label("kioku.local"), "kioku");
    assert_eq!(host_label("anki-box.example.org."), "anki-box");
    for bad in ["", ".local", "-box", "box-", &"x".repeat(64)] {
        assert_eq!(host_label(bad), FALLBACK_LABEL, "{bad:?}");
    }
    assert_eq!(host_fqdn("kioku"), "kioku.local.");
    assert_eq!(readable("kioku-2.local."), "kioku-2.local");
    assert_eq!(short_type(HTTPS_TYPE), "_https._tcp");
}

#[test]
fn a_loopback_bind_disables_advertising() {
    for bind in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
        let s = scope(ip(bind), false);
        assert!(matches!(s, Scope::Off(_)), "{bind}: {s:?}");
        assert!(!s.allows(ip("192.168.1.5"), false));
        let found = advertised(&s, &[addr("eth0", "192.168.1.5")]);
        assert!(found.is_empty(), "{bind}: {found:?}");
    }
}

#[test]
fn an_ipv4_wildcard_bind_advertises_every_ipv4_address_but_loopback() {
    let s = scope(ip("0.0.0.0"), false);
    assert_eq!(
        s,
        Scope::All {
            v4: true,
            v6: false
        }
    );
    let list = [
        addr("lo", "127.0.0.1"),
        addr("lo", "::1"),
        addr("eth0", "192.168.1.5"),
        addr("eth0", "fe80::1"),
        addr("wlan0", "10.0.0.7"),
        IfAddr {
            usable: false,
            ..addr("eth1", "172.16.0.2")
        },
    ];
    assert_eq!(
        advertised(&s, &list),
        [
            ("eth0".to_owned(), vec![ip("192.168.1.5")]),
            ("wlan0".to_owned(), vec![ip("10.0.0.7")]),
        ],
        "a listener on 0.0.0.0 takes no IPv6, so no AAAA; down interfaces are left out"
    );
}

#[test]
fn an_ipv6_wildcard_bind_advertises_both_families_unless_v6only() {
    let list = [
        addr("eth0", "192.168.1.5"),
        addr("eth0", "fd00::5/64"),
        addr("eth0", "fe80::5/64"),
    ];
    let both = advertised(&scope(ip("::"), false), &list);
    assert_eq!(
        both,
        [(
            "eth0".to_owned(),
            vec![ip("192.168.1.5"), ip("fd00::5"), ip("fe80::5")]
        )]
    );
    let v6 = advertised(&scope(ip("::"), true), &list);
    assert_eq!(
        v6,
        [("eth0".to_owned(), vec![ip("fd00::5"), ip("fe80::5")])]
    );
}

#[test]
fn a_specific_bind_advertises_only_that_address() {
    let s = scope(ip("192.168.1.5"), false);
    assert_eq!(s, Scope::Only(ip("192.168.1.5")));
    let list = [
        addr("eth0", "192.168.1.5"),
        addr("eth0", "192.168.1.6"),
        addr("wlan0", "10.0.0.7"),
    ];
    assert_eq!(
        advertised(&s, &list),
        [("eth0".to_owned(), vec![ip("192.168.1.5")])]
    );
}

#[test]
fn a_second_interface_on_the_same_lan_is_left_to_the_first() {
    let s = scope(ip("::"), false);
    // Cable and Wi-Fi on one home network: eth0 answers.
    let same_lan = [
        addr("wlan0", "192.168.1.9"),
        addr("wlan0", "fe80::9/64"),
        addr("eth0", "192.168.1.5"),
        addr("eth0", "fe80::5/64"),
    ];
    assert_eq!(
        shadowed(&s, &same_lan),
        BTreeSet::from(["wlan0".to_owned()])
    );
    assert_eq!(
        advertised(&s, &same_lan),
        [("eth0".to_owned(), vec![ip("192.168.1.5"), ip("fe80::5")])]
    );
    assert!(selects(&s, &same_lan, "eth0", ip("fe80::5"), false));
    assert!(!selects(&s, &same_lan, "wlan0", ip("192.168.1.9"), false));
    // A shared IPv6 prefix says the same.
    let v6_lan = [addr("eth0", "fd00::5/64"), addr("wlan0", "fd00::9/64")];
    assert!(shadowed(&s, &v6_lan).contains("wlan0"));
    // Cable unplugged: Wi-Fi takes over.
    let mut unplugged = same_lan.clone();
    for a in unplugged.iter_mut().filter(|a| a.name == "eth0") {
        a.usable = false;
    }
    assert_eq!(
        advertised(&s, &unplugged),
        [("wlan0".to_owned(), vec![ip("192.168.1.9"), ip("fe80::9")])]
    );
    // Different networks, and link-local addresses alone, share nothing.
    let apart = [
        addr("eth0", "192.168.1.5"),
        addr("eth0", "fe80::5/64"),
        addr("wlan0", "10.42.0.1"),
        addr("wlan0", "fe80::9/64"),
        addr("eth1", "169.254.3.4/16"),
        addr("eth2", "169.254.7.8/16"),
    ];
    assert!(
        shadowed(&s, &apart).is_empty(),
        "{:?}",
        shadowed(&s, &apart)
    );
    assert_eq!(advertised(&s, &apart).len(), 4);
    // Addresses the listener does not take do not count.
    let v4 = scope(ip("0.0.0.0"), false);
    let mixed = [addr("eth0", "192.168.1.5"), addr("wlan0", "fd00::9/64")];
    assert!(shadowed(&v4, &mixed).is_empty());
}

const CA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn txt_of(s: &Service) -> Vec<String> {
    s.txt.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[test]
fn services_follow_the_listeners_that_are_on() {
    let both = services(
        Ports {
            http: Some(8080),
            https: Some(8443),
        },
        "0.1.0",
        Some(CA),
    );
    let kinds: Vec<_> = both.iter().map(|s| (s.ty, s.port)).collect();
    assert_eq!(
        kinds,
        [(HTTPS_TYPE, 8443), (HTTP_TYPE, 8080), (KIOKU_TYPE, 8443)]
    );
    let ca = format!("ca_sha256={CA}");
    for s in &both[..2] {
        assert_eq!(txt_of(s), ["txtvers=1", "path=/", "version=0.1.0", &ca]);
    }
    assert_eq!(
        txt_of(&both[2]),
        [
            "txtvers=1",
            "path=/",
            "version=0.1.0",
            "https=8443",
            "http=8080",
            &ca
        ]
    );

    let plain_only = services(
        Ports {
            http: Some(8080),
            https: None,
        },
        "0.1.0",
        None,
    );
    let kinds: Vec<_> = plain_only.iter().map(|s| (s.ty, s.port)).collect();
    assert_eq!(kinds, [(HTTP_TYPE, 8080), (KIOKU_TYPE, 8080)]);
    assert!(
        plain_only.iter().all(|s| s
            .txt
            .iter()
            .all(|(k, _)| *k != "ca_sha256" && *k != "https")),
        "no CA without one, no https port without TLS: {plain_only:?}"
    );

    let tls_only = services(
        Ports {
            http: None,
            https: Some(443),
        },
        "0.1.0",
        Some(CA),
    );
    let kinds: Vec<_> = tls_only.iter().map(|s| (s.ty, s.port)).collect();
    assert_eq!(kinds, [(HTTPS_TYPE, 443), (KIOKU_TYPE, 443)]);
}

#[test]
fn txt_records_stay_within_rfc_6763_limits() {
    // A long version string, both ports, and a CA: the largest record.
    let all = services(
        Ports {
            http: Some(65535),
            https: Some(65535),
        },
        "10.20.30-rc.4",
        Some(CA),
    );
    for s in &all {
        assert_eq!(s.txt[0].0, "txtvers", "txtvers comes first");
        for (k, v) in &s.txt {
            assert!(k.len() <= 9, "key {k} is longer than 9 characters");
            assert!(
                k.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'='),
                "key {k} is not printable ASCII without '='"
            );
            assert!(k.len() + 1 + v.len() <= 255, "{k}={v} is over 255 bytes");
        }
        let len = txt_wire_len(&s.txt);
        assert!(len < 200, "{}: TXT is {len} bytes, over 200", s.ty);
        // The responder accepts it as it is.
        let txt: Vec<(&str, &str)> = s.txt.iter().map(|(k, v)| (*k, v.as_str())).collect();
        mdns_sd::ServiceInfo::new(s.ty, "kioku", "kioku.local.", (), s.port, &txt[..])
            .unwrap_or_else(|e| panic!("{}: {e}", s.ty));
    }
}

#[test]
fn a_conflict_renames_the_name_on_that_interface_only() {
    let mut r = Renames::default();
    let ifs = ["eth0", "wlan0"];
    assert_eq!(r.in_use("kioku.local.", ifs), ["kioku.local."]);
    assert!(r.record("eth0", "kioku.local.", "kioku-2.local."));
    assert!(
        !r.record("eth0", "kioku.local.", "kioku-2.local."),
        "the same rename again changes nothing"
    );
    assert_eq!(r.on("eth0", "kioku.local."), "kioku-2.local.");
    assert_eq!(r.on("wlan0", "kioku.local."), "kioku.local.");
    assert_eq!(
        r.in_use("kioku.local.", ifs),
        ["kioku-2.local.", "kioku.local."]
    );
    assert_eq!(r.in_use("kioku.local.", ["eth0"]), ["kioku-2.local."]);
    // kioku-2 was taken too: the next rename replaces the first.
    assert!(r.record("eth0", "Kioku.local.", "kioku-3.local."));
    assert_eq!(r.in_use("kioku.local.", ["eth0"]), ["kioku-3.local."]);
    // Service instances are tracked the same way, apart from host names.
    r.record(
        "eth0",
        "kioku._https._tcp.local.",
        "kioku (2)._https._tcp.local.",
    );
    assert_eq!(
        r.on("eth0", "kioku._https._tcp.local."),
        "kioku (2)._https._tcp.local."
    );
    assert_eq!(r.in_use("kioku.local.", ["eth0"]), ["kioku-3.local."]);
    assert_eq!(r.in_use("kioku.local.", []), ["kioku.local."]);
}
