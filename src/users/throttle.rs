//! Login protection: failed logins are counted per client address and per
//! user name, and past a few free failures each further one makes that
//! address (or name) wait before it may try again, the wait doubling up to a
//! bounded lockout. Shared by every place that checks a secret: the sync
//! login (`/sync/hostKey`), the admin login, and API keys.
//!
//! The API, for any login-like check:
//!
//! ```text
//! throttle.check(addr, name)?;   // Err(Locked { retry_after, .. }): refuse now, without checking
//! if secret_ok { throttle.success(addr, name) } else { throttle.failure(addr, name) }
//! ```
//!
//! Pass `""` as the name when there is none (e.g. a bad API key): then only
//! the address counts. A refused (locked) attempt is not counted: waiting
//! out the delay is all it takes, and a person who retries too early is not
//! punished for it.
//!
//! Rules (the numbers are settings, see [`Rules`]):
//! - per address: the first `free_failures` failures cost nothing; the next
//!   one makes the address wait `first_delay`, the one after twice that, and
//!   so on, up to `lockout` — from then on one attempt per `lockout`;
//! - per user name: the same, with 4 × `free_failures` free failures, so that
//!   one address alone cannot lock a person out of their account, while
//!   guessing one account from many addresses is still slowed down;
//! - a count is forgotten after 4 × `lockout` without a failure; a successful
//!   login forgets the name's count (not the address's: a valid account must
//!   not reset the budget for guessing other accounts);
//! - IPv6 addresses count per /64 (one home network), IPv4 per address.
//!
//! This module keeps counters in memory only; it must not know HTTP.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How many distinct addresses (and names) are tracked at most.
const MAX_ENTRIES: usize = 10_000;
/// The name rule allows this many times the address rule's free failures.
pub const NAME_FREE_FACTOR: u32 = 4;
/// Counts are forgotten after this many lockouts without a failure.
pub const FORGET_FACTOR: u32 = 4;

/// The throttle's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Failures that cost nothing (per address; 4 × this per name).
    pub free_failures: u32,
    /// The wait after the first failure past the free ones; it doubles.
    pub first_delay: Duration,
    /// The longest wait: a "locked out" address or name waits this long.
    pub lockout: Duration,
}

impl Rules {
    /// The wait after the `failures`-th failure in a row, when `free` are free.
    pub fn delay(&self, failures: u32, free: u32) -> Duration {
        if failures <= free {
            return Duration::ZERO;
        }
        let doublings = (failures - free - 1).min(31);
        self.first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.lockout)
    }

    fn forget_after(&self) -> Duration {
        self.lockout.saturating_mul(FORGET_FACTOR)
    }
}

/// Why an attempt is refused right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// How long until the next attempt is allowed.
    pub retry_after: Duration,
    /// What is locked: `address 192.0.2.1` or `user "alice"`.
    pub what: String,
    /// Whether the wait is the full lockout (not just a short delay).
    pub locked_out: bool,
}

impl Locked {
    /// Whole seconds to wait, at least 1 (for `Retry-After`).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)
    }
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.locked_out {
            write!(
                f,
                "{} is locked out after too many failed logins; try again in {} s",
                self.what,
                self.retry_after_secs()
            )
        } else {
            write!(
                f,
                "too many failed logins for {}; wait {} s before trying again",
                self.what,
                self.retry_after_secs()
            )
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
    until: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    Name(String),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Addr(IpAddr::V6(v6)) => write!(f, "address {v6}/64"),
            Key::Addr(a) => write!(f, "address {a}"),
            Key::Name(n) => write!(f, "user {n:?}"),
        }
    }
}

/// One tracked address or name, for the admin page and `kioku status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntryView {
    /// `address` or `user`.
    pub kind: &'static str,
    /// The address (IPv6: the /64 prefix) or user name.
    pub key: String,
    pub failures: u32,
    /// Seconds until the next attempt is allowed (0: allowed now).
    pub retry_after_secs: u64,
    pub locked_out: bool,
    /// Unix seconds of the last failure.
    pub last_failure: i64,
}

/// The counters; see the module doc.
#[derive(Debug)]
pub struct Throttle {
    rules: Rules,
    entries: Mutex<HashMap<Key, Entry>>,
}

/// The key an address counts under: IPv4 (also when mapped into IPv6) as
/// itself, IPv6 as its /64.
fn addr_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Throttle {
    pub fn new(rules: Rules) -> Throttle {
        Throttle {
            rules,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }

    fn keys(addr: IpAddr, name: &str) -> Vec<(Key, u32)> {
        let mut keys = vec![(Key::Addr(addr_key(addr)), 0)];
        if !name.is_empty() {
            keys.push((Key::Name(name.to_owned()), 1));
        }
        keys
    }

    fn free(&self, which: u32) -> u32 {
        if which == 0 {
            self.rules.free_failures
        } else {
            self.rules.free_failures.saturating_mul(NAME_FREE_FACTOR)
        }
    }

    /// Whether `addr` may try to log in as `name` now.
    pub fn check(&self, addr: IpAddr, name: &str) -> Result<(), Locked> {
        self.check_at(addr, name, Instant::now())
    }

    fn check_at(&self, addr: IpAddr, name: &str, now: Instant) -> Result<(), Locked> {
        let entries = self.entries.lock().expect("throttle lock");
        let mut worst: Option<Locked> = None;
        for (key, which) in Self::keys(addr, name) {
            let Some(e) = entries.get(&key) else { continue };
            if e.until > now {
                let retry_after = e.until - now;
                if worst.as_ref().is_none_or(|w| w.retry_after < retry_after) {
                    worst = Some(Locked {
                        retry_after,
                        what: key.to_string(),
                        locked_out: self.rules.delay(e.failures, self.free(which))
                            >= self.rules.lockout,
                    });
                }
            }
        }
        worst.map_or(Ok(()), Err)
    }

    /// Records a failed login of `addr` as `name` (and logs it).
    pub fn failure(&self, addr: IpAddr, name: &str) {
        self.failure_at(addr, name, Instant::now())
    }

    fn failure_at(&self, addr: IpAddr, name: &str, now: Instant) {
        let mut entries = self.entries.lock().expect("throttle lock");
        let forget = self.rules.forget_after();
        for (key, which) in Self::keys(addr, name) {
            if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
                make_room(&mut entries, now, forget);
            }
            let e = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last: now,
                until: now,
            });
            if now.saturating_duration_since(e.last) >= forget {
                e.failures = 0;
            }
            e.failures = e.failures.saturating_add(1);
            e.last = now;
            let delay = self.rules.delay(e.failures, self.free(which));
            e.until = now + delay;
            let failures = e.failures;
            if delay >= self.rules.lockout {
                tracing::warn!(
                    client = %addr, user = name, failures,
                    "failed login: {key} is locked out for {} s", delay.as_secs()
                );
            } else if delay > Duration::ZERO {
                tracing::warn!(
                    client = %addr, user = name, failures, delay_ms = delay.as_millis() as u64,
                    "failed login: {key} must wait before the next attempt"
                );
            } else if which == 0 {
                tracing::info!(client = %addr, user = name, failures, "failed login");
            }
        }
    }

    /// Records a successful login: the name's count is forgotten.
    pub fn success(&self, _addr: IpAddr, name: &str) {
        if !name.is_empty() {
            let mut entries = self.entries.lock().expect("throttle lock");
            entries.remove(&Key::Name(name.to_owned()));
        }
    }

    /// Forgets the count of an address (`kind` "address", `key` as shown by
    /// [`Throttle::snapshot`]) or a user name (`kind` "user"); whether there
    /// was one.
    pub fn clear(&self, kind: &str, key: &str) -> bool {
        let key = match kind {
            "address" => match key.parse::<IpAddr>() {
                Ok(a) => Key::Addr(addr_key(a)),
                Err(_) => return false,
            },
            "user" => Key::Name(key.to_owned()),
            _ => return false,
        };
        self.entries
            .lock()
            .expect("throttle lock")
            .remove(&key)
            .is_some()
    }

    /// Every address and name with failures not yet forgotten, the most
    /// recent first.
    pub fn snapshot(&self) -> Vec<EntryView> {
        let now = Instant::now();
        let wall = SystemTime::now();
        let forget = self.rules.forget_after();
        let entries = self.entries.lock().expect("throttle lock");
        let mut out: Vec<(Instant, EntryView)> = entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.last) < forget)
            .map(|(key, e)| {
                let (kind, shown, which) = match key {
                    Key::Addr(a) => ("address", a.to_string(), 0),
                    Key::Name(n) => ("user", n.clone(), 1),
                };
                let retry = e.until.saturating_duration_since(now);
                let last = wall - now.saturating_duration_since(e.last);
                let view = EntryView {
                    kind,
                    key: shown,
                    failures: e.failures,
                    retry_after_secs: retry.as_secs() + u64::from(retry.subsec_nanos() > 0),
                    locked_out: retry > Duration::ZERO
                        && self.rules.delay(e.failures, self.free(which)) >= self.rules.lockout,
                    last_failure: crate::clock::unix_secs(last).unwrap_or(0),
                };
                (e.last, view)
            })
            .collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.0));
        out.into_iter().map(|(_, v)| v).collect()
    }
}

/// Drops forgotten entries; if that frees nothing, the oldest one.
fn make_room(entries: &mut HashMap<Key, Entry>, now: Instant, forget: Duration) {
    entries.retain(|_, e| now.saturating_duration_since(e.last) < forget || e.until > now);
    if entries.len() >= MAX_ENTRIES {
        if let Some(oldest) = entries
            .iter()
            .min_by_key(|(_, e)| e.last)
            .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;
