//! Collection sync: the `/sync/<method>` endpoints, one file per group:
//! `login` (hostKey), `meta`, `full` (upload, download), and the normal sync:
//! `graves` (start, applyGraves), `changes` (applyChanges), `chunks` (chunk,
//! applyChunk), `finish` (sanityCheck2, finish), `session` (abort, and the
//! rules every step follows).
//!
//! Handlers take decoded inputs (JSON values, a verified temp file) and return
//! decoded outputs; they never see HTTP framing or compression, and reach the
//! collection only through [`crate::store`].

pub mod changes;
pub mod chunks;
pub mod finish;
pub mod full;
pub mod graves;
pub mod login;
pub mod meta;
pub mod session;

use crate::collection::CollectionError;
use crate::store::StoreError;

/// The collection-sync methods, as they appear in `/sync/<method>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    HostKey,
    Meta,
    Start,
    ApplyGraves,
    ApplyChanges,
    Chunk,
    ApplyChunk,
    SanityCheck2,
    Finish,
    Abort,
    Upload,
    Download,
}

impl Method {
    pub const ALL: [Method; 12] = [
        Method::HostKey,
        Method::Meta,
        Method::Start,
        Method::ApplyGraves,
        Method::ApplyChanges,
        Method::Chunk,
        Method::ApplyChunk,
        Method::SanityCheck2,
        Method::Finish,
        Method::Abort,
        Method::Upload,
        Method::Download,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::HostKey => "hostKey",
            Method::Meta => "meta",
            Method::Start => "start",
            Method::ApplyGraves => "applyGraves",
            Method::ApplyChanges => "applyChanges",
            Method::Chunk => "chunk",
            Method::ApplyChunk => "applyChunk",
            Method::SanityCheck2 => "sanityCheck2",
            Method::Finish => "finish",
            Method::Abort => "abort",
            Method::Upload => "upload",
            Method::Download => "download",
        }
    }

    /// Method names are case-sensitive, exactly as the clients send them.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Errors of the sync layer; `http::error` maps each to the status the client
/// understands.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Wrong user name or password (the client shows its login error).
    #[error("authentication failed")]
    AuthFailed,
    /// A request the protocol does not allow (the client suggests Check Database).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The client speaks a protocol version kioku does not.
    #[error("client too old: {0}")]
    ClientTooOld(String),
    /// Another sync of this user is in progress, or no sync was started.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::collection::legacy::LegacyError> for SyncError {
    fn from(e: crate::collection::legacy::LegacyError) -> Self {
        use crate::collection::legacy::LegacyError as L;
        match e {
            // What a client sent does not parse: its request is bad.
            L::MissingKey { .. } | L::BadValue { .. } | L::NotAnObject { .. } => {
                SyncError::BadRequest(e.to_string())
            }
            // The stored collection could not be read or written.
            other => SyncError::Store(StoreError::Collection(CollectionError::Invalid(
                other.to_string(),
            ))),
        }
    }
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        CollectionError::from(e).into()
    }
}

impl From<CollectionError> for SyncError {
    fn from(e: CollectionError) -> Self {
        SyncError::Store(StoreError::Collection(e))
    }
}

/// Parses a step's input; a malformed one is the client's fault (400).
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    input: serde_json::Value,
    method: &str,
) -> Result<T, SyncError> {
    serde_json::from_value(input).map_err(|e| SyncError::BadRequest(format!("{method} input: {e}")))
}

/// Milliseconds since the Unix epoch (the steps' clock; see [`crate::clock`]).
pub use crate::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_round_trip_and_are_case_sensitive() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.name()), Some(m));
        }
        assert_eq!(Method::parse("HostKey"), None);
        assert_eq!(Method::parse("sanityCheck"), None);
    }
}
