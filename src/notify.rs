//! systemd service notifications (`sd_notify`): `READY=1` once the listeners
//! are bound, `WATCHDOG=1` pings while the async runtime makes progress, and
//! `STOPPING=1` when shutdown begins (see `systemd/kioku.service`,
//! `Type=notify`, `WatchdogSec=`).
//!
//! Everything here is a no-op when kioku does not run under systemd (no
//! `NOTIFY_SOCKET`), and a failed send is logged, never fatal. This module
//! only talks to the service manager; `main` decides when kioku is ready and
//! when it stops.

use std::time::Duration;

use sd_notify::NotifyState;

/// What the service manager asked of this process, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    /// `NOTIFY_SOCKET` is set: kioku runs as a `Type=notify` service.
    enabled: bool,
    /// How often to ping the watchdog, when it is on for this process.
    ping_every: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`.
    pub fn from_env() -> Notifier {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some();
        let ping_every = if enabled {
            sd_notify::watchdog_enabled().and_then(ping_interval)
        } else {
            None
        };
        Notifier {
            enabled,
            ping_every,
        }
    }

    /// Whether a service manager listens (`NOTIFY_SOCKET` is set).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The watchdog ping interval (half of `WATCHDOG_USEC`), if the watchdog
    /// is on for this process.
    pub fn ping_every(&self) -> Option<Duration> {
        self.ping_every
    }

    /// Start-up is finished: the listeners are bound. `status` shows in
    /// `systemctl status kioku`.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// Shutdown has begun (in-flight requests are finishing).
    pub fn stopping(&self) {
        self.send(&[
            NotifyState::Stopping,
            NotifyState::Status("stopping: finishing in-flight requests"),
        ]);
    }

    /// Starts the watchdog task on the current tokio runtime, if the watchdog
    /// is on. Each ping is sent by a task on the runtime after a no-op has
    /// made a round trip through the blocking pool (where SQLite work runs),
    /// so the pings stop — and systemd restarts kioku — when either is wedged.
    pub fn spawn_watchdog(&self) -> Option<tokio::task::JoinHandle<()>> {
        let every = self.ping_every?;
        let this = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if tokio::task::spawn_blocking(|| ()).await.is_ok() {
                    this.send(&[NotifyState::Watchdog]);
                }
            }
        }))
    }

    fn send(&self, states: &[NotifyState]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            tracing::warn!(error = %e, "cannot notify the service manager (NOTIFY_SOCKET)");
        }
    }
}

/// Half the watchdog timeout, as sd_watchdog_enabled(3) advises; `None` for a
/// zero timeout (no watchdog).
fn ping_interval(watchdog: Duration) -> Option<Duration> {
    (!watchdog.is_zero()).then(|| watchdog / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_is_pinged_at_half_its_timeout() {
        assert_eq!(
            ping_interval(Duration::from_secs(30)),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            ping_interval(Duration::from_micros(200_000)),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn a_zero_watchdog_timeout_means_no_pings() {
        assert_eq!(ping_interval(Duration::ZERO), None);
    }

    #[test]
    fn a_notifier_without_a_service_manager_sends_nothing_and_pings_nothing() {
        let n = Notifier::default();
        assert!(!n.enabled());
        assert_eq!(n.ping_every(), None);
        // No socket: these return without trying to send.
        n.ready("listening");
        n.stopping();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { assert!(n.spawn_watchdog().is_none()) });
    }
}
