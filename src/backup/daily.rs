//! The daily snapshot: one per user per backup day, for users whose
//! collection changed.
//!
//! A backup day starts at `daily_hour` local time (default 04:00, Anki's own
//! day rollover, when nobody studies). A background check runs every
//! `check_secs`; for each user it takes a snapshot when the user's newest
//! daily snapshot is from before the current backup day began (or there is
//! none) and the collection changed since that snapshot (its `mod`, which
//! every sync, full upload, download and restore moves on, is newer). So a
//! user who synced yesterday gets a snapshot of yesterday's final state at
//! the first check after 04:00; a user who first syncs at 10:00 gets one of
//! the state after that sync at the next check; a user who did not sync gets
//! none. Neither the clock nor the day is read here: the caller passes `now`
//! (tests pass any time they like).
//!
//! The check never waits for, nor holds up, a sync: a user whose lock is
//! taken, or whose normal sync is in progress, is tried again at the next
//! check. The copy (`VACUUM INTO`) is made under the user's lock; the
//! compression runs after it is released.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, Local, LocalResult, NaiveTime, TimeZone, Utc};

use super::take::{seal_and_prune, worth_keeping};
use super::{dir, keep_count, list_dir, prune, user_folders, Kind, Pending};
use crate::config::BackupSettings;
use crate::store::{StoreError, UserSlot};

/// Allowed difference between a client's clock and the server's (the
/// protocol refuses more): a full upload's `mod` is the client's time, so a
/// collection counts as changed when its `mod` is newer than the last
/// snapshot minus this.
const CLOCK_SLACK_MS: i64 = 5 * 60 * 1000;

/// The start of the backup day `now` falls in: the latest `hour`:00 local
/// time at or before `now`. On a day where that hour does not exist (a
/// daylight-saving gap) the day starts at the end of the gap.
pub fn day_start<Tz: TimeZone>(now: &DateTime<Tz>, hour: u32) -> DateTime<Utc> {
    let tz = now.timezone();
    let at = |date: chrono::NaiveDate| -> DateTime<Utc> {
        let naive = date.and_time(NaiveTime::from_hms_opt(hour.min(23), 0, 0).expect("valid"));
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            // In a gap: the first local time after it, an hour later at most.
            LocalResult::None => tz
                .from_local_datetime(&(naive + Span::hours(1)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| naive.and_utc()),
        }
    };
    let today = at(now.date_naive());
    if today <= now.with_timezone(&Utc) {
        today
    } else {
        at(now.date_naive() - Span::days(1))
    }
}

/// True when a user whose newest daily snapshot was taken at `newest` is due
/// for another at `now` (if the collection changed since).
pub fn due<Tz: TimeZone>(now: &DateTime<Tz>, hour: u32, newest: Option<DateTime<Utc>>) -> bool {
    newest.is_none_or(|t| t < day_start(now, hour))
}

/// Runs the daily check every `settings.check_secs` (the first at once, which
/// catches up after the box was off). Never returns; `serve` aborts it at
/// shutdown.
pub async fn run(store: &crate::store::Store, settings: BackupSettings) {
    let mut tick = tokio::time::interval(Duration::from_secs(settings.check_secs.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        check(store, &settings, &Local::now()).await;
    }
}

/// One check over every user folder at `now`: prunes each kind to its
/// retention and takes the daily snapshots that are due. Returns how many
/// were taken.
pub async fn check<Tz: TimeZone>(
    store: &crate::store::Store,
    settings: &BackupSettings,
    now: &DateTime<Tz>,
) -> usize {
    if !settings.enabled {
        return 0;
    }
    let users = match user_folders(store.base()) {
        Ok(users) => users,
        Err(e) => {
            tracing::error!(error = %e, "daily snapshots: cannot read the data folder");
            return 0;
        }
    };
    let mut taken = 0;
    for user in users {
        let backups = dir(store.base(), &user);
        for kind in Kind::ALL {
            if let Err(e) = prune(&backups, kind, keep_count(settings, kind)) {
                tracing::error!(user, error = %e, "could not remove old snapshots");
            }
        }
        if settings.keep_daily == 0 {
            continue;
        }
        let newest = match list_dir(&backups) {
            Ok(list) => list.into_iter().find(|s| s.kind == Kind::Daily),
            Err(e) => {
                tracing::error!(user, error = %e, "cannot list snapshots");
                continue;
            }
        };
        if !due(now, settings.daily_hour, newest.as_ref().map(|s| s.taken)) {
            continue;
        }
        let since = newest.map(|s| s.taken.timestamp_millis() - CLOCK_SLACK_MS);
        let slot = store.user(&user);
        match take(
            &slot,
            since,
            now.with_timezone(&Utc).timestamp_millis(),
            settings,
        )
        .await
        {
            Ok(true) => taken += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(user, error = %e, "could not take the daily snapshot"),
        }
    }
    taken
}

/// Takes `slot`'s daily snapshot at `now_ms` if its collection is worth
/// keeping and changed after `since`; false if not (or if the user is busy).
async fn take(
    slot: &UserSlot,
    since: Option<i64>,
    now_ms: i64,
    settings: &BackupSettings,
) -> Result<bool, super::BackupError> {
    let pending = Pending::new(slot.dir(), Kind::Daily, now_ms)?;
    let raw = pending.raw.clone();
    let copied = slot
        .try_run(move |state| {
            state.copy_committed(&raw, now_ms, |conn| {
                let modified: i64 = conn.query_row("select mod from col", [], |r| r.get(0))?;
                Ok(since.is_none_or(|t| modified > t) && worth_keeping(conn)?)
            })
        })
        .await;
    match copied {
        Some(Ok(true)) => {}
        Some(Ok(false)) | None => {
            pending.discard();
            return Ok(false);
        }
        Some(Err(e)) => {
            pending.discard();
            return Err(e.into());
        }
    }
    let keep = keep_count(settings, Kind::Daily);
    tokio::task::spawn_blocking(move || seal_and_prune(pending, keep))
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(format!("snapshot task: {e}"))))??;
    Ok(true)
}
