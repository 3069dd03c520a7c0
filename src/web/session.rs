//! Admin login sessions and the tokens that protect every form.
//!
//! - A session is a random 256-bit token in a cookie (HttpOnly,
//!   SameSite=Strict, Path=/, and Secure with the `__Host-` prefix over
//!   HTTPS), kept in memory only: a restart logs everybody out. It ends after
//!   [`IDLE`] without a request, [`MAX_AGE`] after login, at logout, and as
//!   soon as its user is removed, loses the admin flag or gets a new password.
//! - Every form of a session carries the session's own random CSRF token.
//! - Forms before a session exists (the admin login, the first-run form) use
//!   a double-submit token: the page sets a random `kioku_form` cookie
//!   (SameSite=Strict) and the form carries an HMAC of it under a key made at
//!   start, so a form posted from another site, or without the cookie, is
//!   refused.
//!
//! This module keeps state and checks tokens; it renders nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(60 * 60);
/// A session ends this long after its login, however busy.
pub const MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);
/// At most this many sessions; a new login ends the oldest one beyond that.
const MAX_SESSIONS: usize = 64;
/// The pre-session form cookie's name and lifetime.
pub const FORM_COOKIE: &str = "kioku_form";
pub const FORM_COOKIE_SECS: u64 = 60 * 60;

/// One logged-in admin.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    /// The user's host key at login: a new password changes it, which ends
    /// the session.
    pub host_key: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    created: Instant,
    last: Instant,
}

/// Sessions and the form-token key.
pub struct Sessions {
    key: [u8; 32],
    /// By the SHA-256 of the cookie value.
    by_token: Mutex<HashMap<[u8; 32], Session>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time comparison of two token strings.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The session cookie's name: `__Host-` prefixed (which browsers only accept
/// with Secure, Path=/ and no Domain) over HTTPS.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-kioku_session"
    } else {
        "kioku_session"
    }
}

/// A `Set-Cookie` value with kioku's attributes.
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64, https: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if https { "; Secure" } else { "" }
    )
}

impl Sessions {
    pub fn new() -> Sessions {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source works");
        Sessions {
            key,
            by_token: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session; returns the cookie value.
    pub fn create(&self, user: &str, host_key: &str) -> String {
        self.create_at(user, host_key, Instant::now())
    }

    fn create_at(&self, user: &str, host_key: &str, now: Instant) -> String {
        let token = random_token();
        let mut map = self.by_token.lock().expect("sessions lock");
        map.retain(|_, s| alive(s, now));
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| *k);
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            digest(&token),
            Session {
                user: user.to_owned(),
                host_key: host_key.to_owned(),
                csrf: random_token(),
                created: now,
                last: now,
            },
        );
        token
    }

    /// The live session of a cookie value, touched. `valid` says whether its
    /// user may still have it (exists, is admin, same host key); if not, the
    /// session ends.
    pub fn get(&self, token: &str, valid: impl Fn(&Session) -> bool) -> Option<Session> {
        self.get_at(token, valid, Instant::now())
    }

    fn get_at(
        &self,
        token: &str,
        valid: impl Fn(&Session) -> bool,
        now: Instant,
    ) -> Option<Session> {
        let key = digest(token);
        let mut map = self.by_token.lock().expect("sessions lock");
        let s = map.get_mut(&key)?;
        if !alive(s, now) || !valid(s) {
            map.remove(&key);
            return None;
        }
        s.last = now;
        Some(s.clone())
    }

    /// Ends a session.
    pub fn end(&self, token: &str) {
        self.by_token
            .lock()
            .expect("sessions lock")
            .remove(&digest(token));
    }

    /// The token a pre-session form of `purpose` carries, bound to the
    /// browser's `kioku_form` cookie value.
    pub fn form_token(&self, purpose: &str, cookie: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(cookie.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `token` is the right one for `purpose` and this cookie.
    pub fn check_form_token(&self, purpose: &str, cookie: Option<&str>, token: &str) -> bool {
        match cookie {
            Some(c) if c.len() >= 32 => same(&self.form_token(purpose, c), token),
            _ => false,
        }
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.saturating_duration_since(s.last) < IDLE
        && now.saturating_duration_since(s.created) < MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends_when_idle_or_too_old() {
        let s = Sessions::new();
        let now = Instant::now();
        let token = s.create_at("admin", "k1", now);
        let got = s.get_at(&token, |_| true, now).unwrap();
        assert_eq!(got.user, "admin");
        assert_eq!(got.csrf.len(), 64);
        assert!(s.get_at("not-a-session", |_| true, now).is_none());
        // Each request keeps it alive, up to the maximum age.
        let mut at = now;
        for _ in 0..12 {
            at += Duration::from_secs(59 * 60);
            assert!(s.get_at(&token, |_| true, at).is_some());
        }
        at += Duration::from_secs(59 * 60);
        assert!(
            s.get_at(&token, |_| true, at).is_none(),
            "over 12 h after login"
        );
        let idle = s.create_at("admin", "k1", now);
        assert!(s.get_at(&idle, |_| true, now + IDLE).is_none());
    }

    #[test]
    fn a_session_whose_user_changed_ends_for_good() {
        let s = Sessions::new();
        let token = s.create("admin", "old-key");
        assert!(s.get(&token, |sess| sess.host_key == "new-key").is_none());
        assert!(
            s.get(&token, |_| true).is_none(),
            "removed, not just refused"
        );
    }

    #[test]
    fn logout_ends_the_session_and_the_number_of_sessions_is_bounded() {
        let s = Sessions::new();
        let token = s.create("a", "k");
        s.end(&token);
        assert!(s.get(&token, |_| true).is_none());
        let first = s.create("a", "k");
        for _ in 0..MAX_SESSIONS {
            s.create("a", "k");
        }
        assert!(s.get(&first, |_| true).is_none(), "the oldest went");
        assert!(s.by_token.lock().unwrap().len() <= MAX_SESSIONS);
    }

    #[test]
    fn form_tokens_are_bound_to_the_purpose_and_the_cookie() {
        let s = Sessions::new();
        let cookie = random_token();
        let t = s.form_token("login", &cookie);
        assert!(s.check_form_token("login", Some(&cookie), &t));
        assert!(!s.check_form_token("first-account", Some(&cookie), &t));
        assert!(!s.check_form_token("login", Some(&random_token()), &t));
        assert!(!s.check_form_token("login", None, &t));
        assert!(!s.check_form_token("login", Some(&cookie), ""));
        assert!(!s.check_form_token("login", Some("short"), &s.form_token("login", "short")));
        let other = Sessions::new();
        assert!(
            !other.check_form_token("login", Some(&cookie), &t),
            "another start's key"
        );
    }

    #[test]
    fn cookies_are_http_only_same_site_strict_and_secure_over_https() {
        let c = set_cookie(cookie_name(true), "v", 60, true);
        assert!(c.starts_with("__Host-kioku_session=v; Path=/;"), "{c}");
        for attr in ["HttpOnly", "SameSite=Strict", "Secure"] {
            assert!(c.contains(attr), "{c}");
        }
        let c = set_cookie(cookie_name(false), "v", 60, false);
        assert!(!c.contains("Secure") && c.contains("HttpOnly"), "{c}");
    }
}
