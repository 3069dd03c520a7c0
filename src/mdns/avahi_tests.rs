use super::*;
use crate::mdns::plan::{services, Ports};
use std::io::Read;
use std::os::unix::net::UnixListener;

fn temp_dir() -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let dir = std::env::temp_dir().join(format!("kioku-avahi-test-{}", hex::encode(bytes)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fake `/proc` with `self` and `pid` in the network namespaces named.
fn fake_proc(root: &Path, ours: &str, pid: u32, theirs: Option<&str>) -> PathBuf {
    let proc_dir = root.join("proc");
    std::fs::create_dir_all(proc_dir.join("self/ns")).unwrap();
    std::os::unix::fs::symlink(ours, proc_dir.join("self/ns/net")).unwrap();
    std::fs::create_dir_all(proc_dir.join(pid.to_string()).join("ns")).unwrap();
    if let Some(t) = theirs {
        std::os::unix::fs::symlink(t, proc_dir.join(pid.to_string()).join("ns/net")).unwrap();
    }
    proc_dir
}

#[test]
fn no_pid_file_and_no_socket_means_no_avahi() {
    let root = temp_dir();
    let run = root.join("run");
    assert_eq!(detect(&run, &root.join("proc")), Detection::Absent);
    std::fs::create_dir_all(&run).unwrap();
    assert_eq!(detect(&run, &root.join("proc")), Detection::Absent);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_live_pid_in_our_namespace_is_avahi_running_here() {
    let root = temp_dir();
    let run = root.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("pid"), "4242\n").unwrap();
    let proc_dir = fake_proc(&root, "net:[4026531840]", 4242, Some("net:[4026531840]"));
    assert_eq!(
        detect(&run, &proc_dir),
        Detection::Running { pid: Some(4242) }
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn avahi_in_another_network_namespace_is_not_ours() {
    let root = temp_dir();
    let run = root.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("pid"), "4242").unwrap();
    let proc_dir = fake_proc(&root, "net:[4026532001]", 4242, Some("net:[4026531840]"));
    assert_eq!(detect(&run, &proc_dir), Detection::Elsewhere { pid: 4242 });
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_unreadable_namespace_counts_as_ours() {
    let root = temp_dir();
    let run = root.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("pid"), "4242").unwrap();
    let proc_dir = fake_proc(&root, "net:[4026532001]", 4242, None);
    assert_eq!(
        detect(&run, &proc_dir),
        Detection::Running { pid: Some(4242) }
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_stale_pid_file_needs_a_live_socket() {
    let root = temp_dir();
    let run = root.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("pid"), "999999999").unwrap();
    let proc_dir = fake_proc(&root, "net:[1]", 4242, Some("net:[1]"));
    assert_eq!(detect(&run, &proc_dir), Detection::Absent);
    // A socket file nobody listens on does not count either.
    let listener = UnixListener::bind(run.join("socket")).unwrap();
    assert_eq!(detect(&run, &proc_dir), Detection::Running { pid: None });
    drop(listener);
    assert_eq!(detect(&run, &proc_dir), Detection::Absent);
    std::fs::write(run.join("pid"), "not a number").unwrap();
    assert_eq!(detect(&run, &proc_dir), Detection::Absent);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_service_file_lists_every_service_with_its_txt_record() {
    let list = services(
        Ports {
            http: Some(8080),
            https: Some(8443),
        },
        "0.1.0",
        Some("ab12"),
    );
    let xml = service_file("kioku <&'\">", &list);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("<name>kioku &lt;&amp;&apos;&quot;&gt;</name>"),
        "{xml}"
    );
    for (ty, port) in [
        ("_https._tcp", 8443),
        ("_http._tcp", 8080),
        ("_kioku._tcp", 8443),
    ] {
        let block = format!("<type>{ty}</type>\n    <port>{port}</port>\n");
        assert!(xml.contains(&block), "{ty}: {xml}");
    }
    assert_eq!(xml.matches("<service>").count(), 3);
    assert_eq!(
        xml.matches("<txt-record>path=/</txt-record>").count(),
        3,
        "{xml}"
    );
    assert!(xml.contains("<txt-record>ca_sha256=ab12</txt-record>"));
    assert!(xml.contains("<txt-record>https=8443</txt-record>"));
    assert!(!xml.contains(".local"), "avahi takes bare types: {xml}");
    assert!(!xml.contains("host-name"), "the host name stays avahi's");
}

#[test]
fn publishing_writes_the_file_whole_and_withdrawing_removes_it() {
    let dir = temp_dir();
    let path = publish(&dir, "<service-group/>\n").unwrap();
    assert_eq!(path, dir.join("kioku.service"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "<service-group/>\n"
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["kioku.service"], "no temporary file left");
    withdraw(&path).unwrap();
    assert!(!path.exists());
    withdraw(&path).expect("withdrawing twice is fine");
    let err = publish(&dir.join("missing"), "x").unwrap_err();
    assert!(err.contains("cannot write"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A one-shot fake avahi socket answering `reply` and handing back the
/// request line it got.
fn fake_avahi(run: &Path, reply: &'static str) -> std::thread::JoinHandle<String> {
    std::fs::create_dir_all(run).unwrap();
    let listener = UnixListener::bind(run.join("socket")).unwrap();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        let mut byte = [0u8; 1];
        while conn.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0] as char);
        }
        conn.write_all(reply.as_bytes()).unwrap();
        line
    })
}

#[test]
fn avahi_tells_its_host_name_for_our_address() {
    let root = temp_dir();
    let run = root.join("run");
    let server = fake_avahi(&run, "+ 2 0 kioku-2.local\n");
    let addr: IpAddr = "10.0.0.2".parse().unwrap();
    let name = host_name(&run, addr, Duration::from_secs(3));
    assert_eq!(server.join().unwrap(), "RESOLVE-ADDRESS 10.0.0.2");
    assert_eq!(name.as_deref(), Some("kioku-2.local"));
    let _ = std::fs::remove_dir_all(&root);

    let root = temp_dir();
    let run = root.join("run");
    let server = fake_avahi(&run, "-15 Timeout reached\n");
    assert_eq!(host_name(&run, addr, Duration::from_secs(3)), None);
    server.join().unwrap();
    std::fs::remove_file(run.join("socket")).unwrap();
    assert_eq!(
        host_name(&run, addr, Duration::from_secs(3)),
        None,
        "no socket"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn answers_parse_to_a_name_or_nothing() {
    assert_eq!(
        parse_resolved("+ 2 1 box.local.\n").as_deref(),
        Some("box.local")
    );
    assert_eq!(parse_resolved("+ 2 1\n"), None);
    assert_eq!(parse_resolved("-2 Bad state\n"), None);
    assert_eq!(parse_resolved(""), None);
}
