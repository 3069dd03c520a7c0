//! The one place where errors become HTTP statuses. The clients never read an
//! error body; they map the status (sync-protocol.md §4): 403 → login error,
//! 409 → "another device is syncing", 400 → "check database", 501 → "client
//! too old", 5xx → "server problem"; anything else (429 for a throttled
//! login) → a network error naming the status. Bodies are short plain text for people
//! using curl, and every error is logged on the request's log line. Media sync
//! adds one more channel: a refused file name is answered in-band (200 with
//! `{"data":null,"err":…}`), which the client shows verbatim (see routes).

use hyper::StatusCode;

use crate::backup::BackupError;
use crate::media::MediaError;
use crate::store::StoreError;
use crate::sync::SyncError;
use crate::users::apikeys::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed (use {allow})")]
    MethodNotAllowed { allow: &'static str },
    /// The `anki-sync` header is missing or malformed.
    #[error("bad sync header: {0}")]
    BadHeader(String),
    /// The header's protocol version is outside what kioku speaks.
    #[error("unsupported sync version {0}")]
    UnsupportedVersion(i64),
    /// The body is not valid zstd / JSON.
    #[error("bad request body: {0}")]
    BadBody(String),
    #[error("request body over the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    /// The client went away or broke the connection while sending.
    #[error("reading the request failed: {0}")]
    Client(String),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Login protection refuses this attempt for now (429 + Retry-After).
    #[error("{0}")]
    Throttled(crate::users::throttle::Locked),
    /// Snapshots: downloads and restores (admin pages, control socket).
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// API keys made or revoked on the admin pages.
    #[error(transparent)]
    ApiKeys(#[from] KeyError),
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        HttpError::Sync(SyncError::Store(e))
    }
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::NotFound(_) => StatusCode::NOT_FOUND,
            HttpError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            HttpError::BadHeader(_)
            | HttpError::UnsupportedVersion(_)
            | HttpError::BadBody(_)
            | HttpError::Client(_) => StatusCode::BAD_REQUEST,
            HttpError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::Sync(e) => match e {
                SyncError::AuthFailed => StatusCode::FORBIDDEN,
                SyncError::BadRequest(_) => StatusCode::BAD_REQUEST,
                SyncError::ClientTooOld(_) => StatusCode::NOT_IMPLEMENTED,
                SyncError::Conflict(_) => StatusCode::CONFLICT,
                SyncError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HttpError::Media(e) => match e {
                // Names are refused in-band (routes), so this is a fallback.
                MediaError::BadRequest(_) | MediaError::BadName(_) => StatusCode::BAD_REQUEST,
                MediaError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                MediaError::Missing(_) => StatusCode::CONFLICT,
                MediaError::Index(_)
                | MediaError::Sqlite(_)
                | MediaError::Io(_)
                | MediaError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HttpError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            HttpError::Backup(e) => match e {
                BackupError::BadName(_) | BackupError::BadUser(_) => StatusCode::BAD_REQUEST,
                BackupError::NotFound { .. } => StatusCode::NOT_FOUND,
                // The request was understood, but the file is no collection.
                BackupError::Unusable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                BackupError::Store(_) | BackupError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HttpError::ApiKeys(e) => match e {
                KeyError::NoSuchKey(_) => StatusCode::NOT_FOUND,
                KeyError::BadUser(_) => StatusCode::BAD_REQUEST,
                KeyError::Io { .. } | KeyError::Corrupt { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// The `Retry-After` header value (seconds) for 429 answers.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            HttpError::Throttled(locked) => Some(locked.retry_after_secs()),
            _ => None,
        }
    }

    /// The `Allow` header value for 405 answers.
    pub fn allow(&self) -> Option<&'static str> {
        match self {
            HttpError::MethodNotAllowed { allow } => Some(allow),
            _ => None,
        }
    }
}

/// The status of a failed account change on a web page: the person's
/// mistake (a taken name, a bad password, an unknown user) is 400; a users
/// file kioku cannot read or write, or keys it could not revoke, is 500.
pub fn account_status(e: &crate::users::UsersError) -> StatusCode {
    use crate::users::{file::FileError, UsersError};
    match e {
        UsersError::BadUser { .. } | UsersError::File(FileError::Refused(_)) => {
            StatusCode::BAD_REQUEST
        }
        UsersError::File(FileError::Io { .. } | FileError::Invalid { .. })
        | UsersError::KeysNotRevoked { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_mistakes_are_400_and_file_trouble_is_500() {
        use crate::users::{file::FileError, UsersError};
        let refused = UsersError::File(FileError::Refused("taken".into()));
        assert_eq!(account_status(&refused), StatusCode::BAD_REQUEST);
        let io = UsersError::File(FileError::Io {
            path: "users.toml".into(),
            source: std::io::Error::other("disk"),
        });
        assert_eq!(account_status(&io), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn statuses_match_what_the_client_understands() {
        let cases = [
            (HttpError::Sync(SyncError::AuthFailed), 403),
            (HttpError::Sync(SyncError::Conflict("x".into())), 409),
            (HttpError::Sync(SyncError::BadRequest("x".into())), 400),
            (HttpError::Sync(SyncError::ClientTooOld("x".into())), 501),
            (HttpError::UnsupportedVersion(12), 400),
            (HttpError::BadBody("x".into()), 400),
            (HttpError::PayloadTooLarge { limit: 1 }, 413),
            (HttpError::NotFound("/x".into()), 404),
            (
                HttpError::Throttled(crate::users::throttle::Locked {
                    retry_after: std::time::Duration::from_millis(1500),
                    what: "address 192.0.2.1".into(),
                    locked_out: false,
                }),
                429,
            ),
            (HttpError::Media(MediaError::BadRequest("x".into())), 400),
            (HttpError::Media(MediaError::TooLarge("x".into())), 413),
            (HttpError::Media(MediaError::Missing("x".into())), 409),
            (HttpError::Media(MediaError::Index("x".into())), 500),
            (
                BackupError::NotFound {
                    user: "u".into(),
                    name: "n".into(),
                }
                .into(),
                404,
            ),
            (
                BackupError::BadName(crate::backup::SnapshotName::parse("../x").unwrap_err())
                    .into(),
                400,
            ),
            (
                BackupError::BadUser(crate::users::validate_name("a/b").unwrap_err()).into(),
                400,
            ),
            (
                BackupError::Unusable {
                    name: "n".into(),
                    reason: "r".into(),
                }
                .into(),
                422,
            ),
            (BackupError::Io(std::io::Error::other("disk")).into(), 500),
            (KeyError::NoSuchKey("1".into()).into(), 404),
            (
                HttpError::Sync(SyncError::Store(StoreError::Io(std::io::Error::other(
                    "disk",
                )))),
                500,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.status().as_u16(), code, "{err}");
        }
    }
}
