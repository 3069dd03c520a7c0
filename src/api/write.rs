//! How the API reaches a user's collection beside sync.
//!
//! * Reads see the last committed state and never wait for a sync (a sync
//!   in progress holds its changes in an open transaction; a second,
//!   read-only connection reads around it).
//! * A write is one SQLite transaction stamped with the collection's current
//!   usn, and it moves the collection's `mod` on, so the next sync of every
//!   client pulls it as a normal sync (sync-protocol.md §5.2–5.3). A write
//!   that arrives while a normal sync of the same account is in progress
//!   waits for that sync to end — it is told by the store, no polling — for
//!   at most `--ankiconnect-write-wait-secs`, then fails with
//!   [`ApiError::Busy`]; it never interleaves with the sync or aborts it.

use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::error::ApiError;
use crate::clock::now_ms;
use crate::collection::edit::Ctx;
use crate::http::App;
use crate::store::StoreError;

enum Outcome<R, F> {
    Done(Result<R, ApiError>),
    /// A sync is in progress; the work is handed back to try again.
    Busy(F),
}

/// Runs `f` in one write transaction on `user`'s collection.
pub async fn write<R, F>(app: &App, user: &str, f: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: FnOnce(&Ctx) -> Result<R, ApiError> + Send + 'static,
{
    let slot = app.store.user(user);
    let wait = Duration::from_secs(app.config.ankiconnect.write_wait_secs);
    let deadline = Instant::now() + wait;
    let mut work = f;
    loop {
        // Subscribed before looking, so an end in between is not missed.
        let mut watch = slot.session_watch();
        let outcome = slot
            .run(move |state| {
                if state.session().is_some() {
                    return Ok(Outcome::Busy(work));
                }
                let now = now_ms();
                let result = {
                    let conn = state.collection(now)?;
                    in_transaction(conn, now, work)?
                };
                if result.is_ok() {
                    state.checkpoint_if_unpinned()?;
                }
                Ok(Outcome::Done(result))
            })
            .await?;
        match outcome {
            Outcome::Done(result) => return result,
            Outcome::Busy(back) => {
                work = back;
                tracing::info!(user, "API write waits for a sync in progress");
                let left = deadline.saturating_duration_since(Instant::now());
                let ended = tokio::time::timeout(left, watch.wait_for(|open| !*open)).await;
                if ended.is_err() {
                    return Err(ApiError::Busy(wait.as_secs()));
                }
            }
        }
    }
}

/// `f` inside `begin immediate … commit`, the collection's `mod` moved on
/// if `f` changed anything; rolled back if `f` (or the commit) fails.
fn in_transaction<R>(
    conn: &Connection,
    now: i64,
    f: impl FnOnce(&Ctx) -> Result<R, ApiError>,
) -> Result<Result<R, ApiError>, StoreError> {
    conn.execute_batch("begin immediate")?;
    let result = (|| {
        let usn: i32 = conn.query_row("select usn from col", [], |r| r.get(0))?;
        let ctx = Ctx {
            conn,
            usn,
            now_ms: now,
        };
        let before = conn.total_changes();
        let out = f(&ctx)?;
        // Only a real change moves `mod` (else every device would sync for
        // nothing); strictly later than before, even if the clock stepped back.
        if conn.total_changes() != before {
            conn.execute(
                "update col set mod = case when ?1 > mod then ?1 else mod + 1 end",
                [now],
            )?;
        }
        Ok(out)
    })();
    match result {
        Ok(out) => match conn.execute_batch("commit") {
            Ok(()) => Ok(Ok(out)),
            Err(e) => {
                let _ = conn.execute_batch("rollback");
                Ok(Err(e.into()))
            }
        },
        Err(e) => {
            conn.execute_batch("rollback")?;
            Ok(Err(e))
        }
    }
}

/// Runs `f` on the last committed state of `user`'s collection.
pub async fn read<R, F>(app: &App, user: &str, f: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: FnOnce(&Ctx) -> Result<R, ApiError> + Send + 'static,
{
    let slot = app.store.user(user);
    slot.run(move |state| {
        let now = now_ms();
        state.with_committed(now, |conn| {
            let ctx = Ctx {
                conn,
                usn: 0,
                now_ms: now,
            };
            Ok(f(&ctx))
        })
    })
    .await?
}
