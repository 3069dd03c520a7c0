//! Errors of the AnkiConnect API. AnkiConnect answers every error in-band
//! (HTTP 200 with `{"result": null, "error": "…"}`), so each variant's text
//! is what the tool shows; the wording of AnkiConnect's own errors is kept
//! exactly, because tools compare it (Yomitan looks for `unsupported action`
//! and the duplicate message).

use crate::collection::edit::EditError;
use crate::collection::search::SearchError;
use crate::media::MediaError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An error whose text AnkiConnect defines (or a plain message).
    #[error("{0}")]
    Message(String),
    #[error("unsupported action")]
    Unsupported,
    /// A missing or unknown key (see `auth::refuse_key`).
    #[error("valid api key must be provided")]
    BadKey,
    /// Too many wrong keys (or passwords) from this address: refused
    /// unchecked for now (login protection, see `auth`).
    #[error(
        "kioku: too many wrong API keys or passwords from {}; try again in {} s",
        .0.what,
        .0.retry_after_secs()
    )]
    Throttled(crate::users::throttle::Locked),
    /// A sync of the account held the collection for too long.
    #[error(
        "kioku: a sync of this account is in progress and did not finish within {0} s; try again"
    )]
    Busy(u64),
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error("{0}")]
    Search(#[from] SearchError),
    #[error("kioku: media: {0}")]
    Media(#[from] MediaError),
    #[error("kioku: storage: {0}")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn msg(text: impl Into<String>) -> ApiError {
        ApiError::Message(text.into())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Store(e.into())
    }
}

impl From<crate::collection::CollectionError> for ApiError {
    fn from(e: crate::collection::CollectionError) -> Self {
        ApiError::Store(e.into())
    }
}

/// Python's `repr` of a list of strings, as AnkiConnect's `addNotes` puts it
/// in its error message (`['a', "it's"]`).
pub fn python_list_repr(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| python_str_repr(s)).collect();
    format!("[{}]", parts.join(", "))
}

fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lists_read_like_pythons() {
        let items = vec![
            "cannot create note because it is a duplicate".to_owned(),
            "it's".to_owned(),
            "a\"b'c\n".to_owned(),
        ];
        assert_eq!(
            python_list_repr(&items),
            r#"['cannot create note because it is a duplicate', "it's", 'a"b\'c\n']"#
        );
    }
}
