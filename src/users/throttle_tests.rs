use super::*;

fn rules() -> Rules {
    Rules {
        free_failures: 5,
        first_delay: Duration::from_secs(1),
        lockout: Duration::from_secs(900),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn the_delay_is_free_then_doubles_up_to_the_lockout() {
    let r = rules();
    let delays: Vec<u64> = (1..=17).map(|n| r.delay(n, 5).as_secs()).collect();
    assert_eq!(
        delays,
        [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    );
    assert_eq!(r.delay(u32::MAX, 5), r.lockout, "no overflow");
    assert_eq!(r.delay(25, 20), Duration::from_secs(16));
}

#[test]
fn an_address_past_its_free_failures_must_wait_and_is_then_locked_out() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    let a = ip("192.0.2.7");
    for i in 0..5 {
        assert!(t.check_at(a, "alice", now).is_ok(), "attempt {i}");
        t.failure_at(a, "alice", now);
    }
    assert!(
        t.check_at(a, "alice", now).is_ok(),
        "five failures are free"
    );
    t.failure_at(a, "alice", now);
    let locked = t.check_at(a, "alice", now).unwrap_err();
    assert_eq!(locked.retry_after, Duration::from_secs(1));
    assert!(!locked.locked_out);
    assert_eq!(locked.what, "address 192.0.2.7");
    assert!(t.check_at(a, "alice", now + Duration::from_secs(1)).is_ok());
    // Keep failing whenever allowed: the waits double until the lockout.
    let mut at = now + Duration::from_secs(1);
    let mut waits = Vec::new();
    for _ in 0..11 {
        t.failure_at(a, "alice", at);
        let l = t.check_at(a, "alice", at).unwrap_err();
        waits.push(l.retry_after.as_secs());
        at += l.retry_after;
    }
    assert_eq!(
        waits,
        [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900],
        "from the 16th failure on: one attempt per lockout"
    );
    let l = t
        .check_at(a, "alice", at - Duration::from_secs(1))
        .unwrap_err();
    assert!(l.locked_out);
    assert!(l.to_string().contains("192.0.2.7"), "{l}");
}

#[test]
fn another_address_and_another_user_are_not_affected_by_one_address_guessing() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    let attacker = ip("192.0.2.66");
    for _ in 0..16 {
        t.failure_at(attacker, "alice", now);
    }
    assert!(t.check_at(attacker, "alice", now).unwrap_err().locked_out);
    assert!(
        t.check_at(attacker, "bob", now).is_err(),
        "the address is locked"
    );
    assert!(t.check_at(ip("192.0.2.1"), "bob", now).is_ok());
    assert!(
        t.check_at(ip("192.0.2.1"), "alice", now).is_ok(),
        "16 failures from one address stay under the name's 20 free ones"
    );
}

#[test]
fn guessing_one_name_from_many_addresses_is_slowed_by_the_name_rule() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    for i in 0..21u8 {
        let a = IpAddr::from([198, 51, 100, i]);
        assert!(t.check_at(a, "alice", now).is_ok(), "attempt {i}");
        t.failure_at(a, "alice", now);
    }
    let l = t.check_at(ip("203.0.113.9"), "alice", now).unwrap_err();
    assert_eq!(l.what, "user \"alice\"");
    assert!(t.check_at(ip("203.0.113.9"), "bob", now).is_ok());
}

#[test]
fn a_success_forgets_the_names_count_but_not_the_addresss() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    let a = ip("192.0.2.8");
    for _ in 0..5 {
        t.failure_at(a, "alice", now);
    }
    t.success(a, "alice");
    let snap = t.snapshot();
    assert_eq!(snap.len(), 1, "{snap:?}");
    assert_eq!((snap[0].kind, snap[0].failures), ("address", 5));
    t.failure_at(a, "carol", now);
    assert!(
        t.check_at(a, "alice", now).is_err(),
        "the 6th failure waits"
    );
}

#[test]
fn counts_are_forgotten_after_four_lockouts_without_failure() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    let a = ip("192.0.2.9");
    for _ in 0..6 {
        t.failure_at(a, "x", now);
    }
    let later = now + Duration::from_secs(4 * 900);
    t.failure_at(a, "x", later);
    assert!(t.check_at(a, "x", later).is_ok(), "the count started over");
}

#[test]
fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    for i in 0..6u16 {
        let a = IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, i + 1]);
        t.failure_at(a, "", now);
    }
    assert!(t.check_at(ip("2001:db8:1:2::ffff"), "", now).is_err());
    assert!(t.check_at(ip("2001:db8:1:3::1"), "", now).is_ok());
    for _ in 0..6 {
        t.failure_at(ip("::ffff:192.0.2.10"), "", now);
    }
    assert!(t.check_at(ip("192.0.2.10"), "", now).is_err());
}

#[test]
fn an_empty_name_counts_only_the_address_and_clear_unlocks() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    let a = ip("192.0.2.11");
    for _ in 0..6 {
        t.failure_at(a, "", now);
    }
    let snap = t.snapshot();
    assert_eq!(snap.len(), 1);
    assert_eq!(snap[0].key, "192.0.2.11");
    assert!(t.check(a, "").is_err());
    assert!(t.clear("address", "192.0.2.11"));
    assert!(t.check(a, "").is_ok());
    assert!(!t.clear("address", "not an address"));
}

#[test]
fn the_number_of_tracked_keys_is_bounded() {
    let t = Throttle::new(rules());
    let now = Instant::now();
    for i in 0..(MAX_ENTRIES as u32 + 50) {
        t.failure_at(IpAddr::from(i.to_be_bytes()), "", now);
    }
    assert!(t.entries.lock().unwrap().len() <= MAX_ENTRIES);
}
