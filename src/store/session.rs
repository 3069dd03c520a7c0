//! The state of one user's normal sync in progress: who owns it (the
//! session key), the usns it works with, the server rows still to send, and
//! the SQLite transaction that holds every change until `finish`.
//!
//! This module keeps the state and opens/ends the transaction; what each sync
//! step does lives in `crate::sync`.

use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{StoreError, UserState};

/// Server rows (ids) not yet sent to the client, taken 250 at a time.
#[derive(Debug, Default)]
pub struct PendingIds {
    pub revlog: Vec<i64>,
    pub cards: Vec<i64>,
    pub notes: Vec<i64>,
}

#[derive(Debug)]
pub struct Session {
    /// The client's session key; every step must carry it.
    pub skey: String,
    /// The server's usn when the sync started: everything this sync writes
    /// carries it, and `finish` moves the collection past it.
    pub server_usn: i32,
    /// The client's usn at its last sync (`minUsn`): server rows with a usn at
    /// or above it are news to the client.
    pub client_usn: i32,
    /// The client's collection is newer (`lnewer`): it sends its config.
    pub client_is_newer: bool,
    /// Rows to send in `chunk`, gathered on the first `chunk` call.
    pub pending: Option<PendingIds>,
    /// The sanity check failed: the changes were rolled back and the only
    /// acceptable next steps are `abort` or a new sync.
    pub failed: bool,
    last_seen: Instant,
}

impl Session {
    pub fn new(skey: String, server_usn: i32, client_usn: i32, client_is_newer: bool) -> Session {
        Session {
            skey,
            server_usn,
            client_usn,
            client_is_newer,
            pending: None,
            failed: false,
            last_seen: Instant::now(),
        }
    }

    pub fn idle_for(&self) -> Duration {
        self.last_seen.elapsed()
    }

    pub fn touch(&mut self) {
        self.last_seen = Instant::now();
    }
}

impl UserState {
    /// The session in progress, if any.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Starts a session: opens the collection and a write transaction that
    /// stays open across requests until [`UserState::end_session`].
    pub fn begin_session(
        &mut self,
        session: Session,
        now_ms: i64,
    ) -> Result<&Connection, StoreError> {
        self.end_session(false)?;
        let conn = self.collection(now_ms)?;
        conn.execute_batch("begin immediate")?;
        self.session = Some(session);
        self.session_open.send_replace(true);
        Ok(self.conn.as_ref().expect("opened above"))
    }

    /// The session and the connection its transaction is open on.
    pub fn session_parts(&mut self) -> Option<(&mut Session, &Connection)> {
        match (&mut self.session, &self.conn) {
            (Some(session), Some(conn)) => Some((session, conn)),
            _ => None,
        }
    }

    /// Rolls back the session's changes but keeps the record (a failed sanity
    /// check: the client is expected to `abort`).
    pub fn fail_session(&mut self) -> Result<(), StoreError> {
        if let Some(session) = self.session.as_mut() {
            if !session.failed {
                session.failed = true;
                if let Some(conn) = &self.conn {
                    if !conn.is_autocommit() {
                        conn.execute_batch("rollback")?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends the session, committing its transaction or rolling it back.
    /// Without a session this does nothing.
    pub fn end_session(&mut self, commit: bool) -> Result<(), StoreError> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        self.session_open.send_replace(false);
        if let Some(conn) = &self.conn {
            if !conn.is_autocommit() {
                let result = conn.execute_batch(if commit && !session.failed {
                    "commit"
                } else {
                    "rollback"
                });
                if result.is_err() && !conn.is_autocommit() {
                    // Never leave a half-applied sync behind.
                    let _ = conn.execute_batch("rollback");
                }
                result?;
            }
        }
        if commit {
            self.checkpoint_if_unpinned()?;
        }
        Ok(())
    }

    /// Reads the collection as last committed, even while a session's
    /// transaction is open (through a second, read-only connection).
    pub fn with_committed<R>(
        &mut self,
        now_ms: i64,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        if self.session.is_none() {
            let conn = self.collection(now_ms)?;
            return f(conn);
        }
        let reader = crate::collection::open_read_only(&self.collection_path())?;
        f(&reader)
    }
}
