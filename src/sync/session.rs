//! The per-user sync session: how each normal-sync step finds the sync it
//! belongs to, `abort`, and the expiry of abandoned sessions.
//!
//! kioku's rules (see the README for how they differ from the official
//! server's): a sync belongs to the session key that started it; a step with
//! another key, or with no sync started, gets 409 ("only one copy of Anki can
//! sync at once") without disturbing the sync in progress; `meta` reads the
//! last committed state and does not end anyone's sync; a new `start` takes
//! over only a session idle for longer than the timeout; `abort` ends only
//! the caller's own sync; a failing step rolls the whole sync back.

use std::time::Duration;

use rusqlite::Connection;
use serde_json::Value;

use super::SyncError;
use crate::store::{Session, Store, UserSlot};

/// What happens to the session after a step succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// The sync goes on.
    Continue,
    /// The sync is complete: commit its transaction.
    Commit,
    /// The sync failed its sanity check: roll back, keep the record until the
    /// client aborts.
    Fail,
}

/// Runs one step of the caller's normal sync inside its transaction. A step
/// that fails rolls the whole sync back.
pub async fn step<R, F>(slot: &UserSlot, skey: &str, f: F) -> Result<R, SyncError>
where
    R: Send + 'static,
    F: FnOnce(&mut Session, &Connection) -> Result<R, SyncError> + Send + 'static,
{
    step_then(slot, skey, |session, conn| {
        Ok((f(session, conn)?, After::Continue))
    })
    .await
}

/// Like [`step`], with the step deciding what happens to the session after it.
pub async fn step_then<R, F>(slot: &UserSlot, skey: &str, f: F) -> Result<R, SyncError>
where
    R: Send + 'static,
    F: FnOnce(&mut Session, &Connection) -> Result<(R, After), SyncError> + Send + 'static,
{
    require_skey(skey)?;
    let skey = skey.to_owned();
    slot.run(move |state| {
        let Some((session, conn)) = state.session_parts() else {
            return Ok(Err(SyncError::Conflict("no sync in progress".into())));
        };
        if session.skey != skey {
            return Ok(Err(SyncError::Conflict(
                "another device's sync is in progress".into(),
            )));
        }
        if session.failed {
            state.end_session(false)?;
            return Ok(Err(SyncError::BadRequest(
                "the sanity check of this sync failed; it was rolled back".into(),
            )));
        }
        session.touch();
        match f(session, conn) {
            Ok((r, after)) => {
                match after {
                    After::Continue => {}
                    After::Commit => state.end_session(true)?,
                    After::Fail => state.fail_session()?,
                }
                Ok(Ok(r))
            }
            Err(e) => {
                tracing::warn!(error = %e, "a sync step failed; rolling the sync back");
                state.end_session(false)?;
                Ok(Err(e))
            }
        }
    })
    .await?
}

pub fn require_skey(skey: &str) -> Result<(), SyncError> {
    if skey.is_empty() {
        return Err(SyncError::BadRequest("missing session key (s)".into()));
    }
    Ok(())
}

/// `abort`: rolls back the caller's sync, if one is in progress. Another
/// device's sync is left alone (a client sends `abort` after any error,
/// including the 409 it got because someone else was syncing).
pub async fn abort(slot: &UserSlot, skey: &str) -> Result<Value, SyncError> {
    let skey = skey.to_owned();
    slot.run(move |state| {
        if state.session().is_some_and(|s| s.skey == skey) {
            state.end_session(false)?;
            tracing::info!("sync aborted by the client");
        }
        Ok(())
    })
    .await?;
    Ok(Value::Null)
}

/// Rolls back every session idle for longer than `timeout`.
pub async fn expire_idle(store: &Store, timeout: Duration) {
    for slot in store.slots() {
        let expired = slot
            .try_run(move |state| {
                if state.session().is_some_and(|s| s.idle_for() > timeout) {
                    state.end_session(false)?;
                    return Ok(true);
                }
                Ok(false)
            })
            .await;
        match expired {
            Some(Ok(true)) => tracing::info!(
                user = slot.name(),
                "rolled back a sync abandoned for over {} s",
                timeout.as_secs()
            ),
            Some(Err(e)) => {
                tracing::error!(user = slot.name(), error = %e, "expiring a sync failed")
            }
            _ => {}
        }
    }
}
