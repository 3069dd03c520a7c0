//! The AnkiConnect-compatible API: tools such as Yomitan, Obsidian_to_Anki
//! and the KOReader plugin add cards to a user's collection on the box, and
//! the user's devices get them at their next ordinary sync.
//!
//! Files: [`http`] (listener side: CORS, the origin rules, body limit, the
//! banner), this module (the envelope, `multi`, the action table), [`auth`]
//! (which user a request acts as), [`write`] (transactions beside sync), one
//! file per group of actions ([`decks`], [`models`], [`notes`], [`cards`],
//! [`tags`], [`media`], [`misc`]), [`fetch`] (downloads for
//! `storeMediaFile {url}`).
//!
//! The protocol (apis.md §1): a JSON object `{action, version?, params?,
//! key?}`; version ≤ 4 answers the bare result, ≥ 5 `{"result", "error"}`;
//! every error is `{"result": null, "error": "…"}`. This module reaches the
//! collection only through [`crate::collection::edit`] and
//! [`crate::collection::search`], inside [`write`]'s transactions.

pub mod auth;
pub mod cards;
pub mod decks;
pub mod error;
pub mod fetch;
pub mod http;
pub mod media;
pub mod misc;
pub mod models;
pub mod notes;
mod params;
pub mod tags;
pub mod write;

use std::net::SocketAddr;
use std::pin::Pin;

use serde_json::{json, Map, Value};

pub use error::ApiError;
use params::Params;

use crate::http::App;
use crate::users::apikeys::ApiKeys;

/// The AnkiConnect API version kioku speaks (`version` answers it).
pub const API_VERSION: i64 = 6;
/// How deeply `multi` may nest.
const MAX_MULTI_DEPTH: usize = 8;

/// State of the API shared by all requests.
pub struct Api {
    pub keys: ApiKeys,
    pub fetcher: fetch::Fetcher,
}

impl Api {
    pub fn new(config: &crate::config::Config) -> Api {
        Api {
            keys: ApiKeys::new(&config.base),
            fetcher: fetch::Fetcher::new(&config.ankiconnect),
        }
    }
}

/// Who sent a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The TCP peer (keyless mode matches it).
    pub peer: SocketAddr,
    /// The client's address as login protection counts it
    /// ([`crate::http::peer::client_ip`]: the peer, or a trusted proxy's
    /// header).
    pub client_ip: std::net::IpAddr,
    /// The `Origin` header, or `""`.
    pub origin: String,
    /// Whether the origin passed the CORS rules.
    pub origin_allowed: bool,
}

/// Everything an action needs.
pub struct Call<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    /// The user whose collection the request acts on (none for
    /// `requestPermission`).
    pub user: Option<String>,
    pub depth: usize,
}

impl Call<'_> {
    pub fn user(&self) -> &str {
        self.user.as_deref().expect("a checked request has a user")
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal,)*) => {
        /// The actions kioku implements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// Names are case-sensitive, as in AnkiConnect.
            pub fn parse(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Version = "version",
    RequestPermission = "requestPermission",
    Multi = "multi",
    Sync = "sync",
    ApiReflect = "apiReflect",
    GuiBrowse = "guiBrowse",
    DeckNames = "deckNames",
    DeckNamesAndIds = "deckNamesAndIds",
    CreateDeck = "createDeck",
    ChangeDeck = "changeDeck",
    ModelNames = "modelNames",
    ModelNamesAndIds = "modelNamesAndIds",
    ModelFieldNames = "modelFieldNames",
    AddNote = "addNote",
    AddNotes = "addNotes",
    CanAddNote = "canAddNote",
    CanAddNotes = "canAddNotes",
    CanAddNoteWithErrorDetail = "canAddNoteWithErrorDetail",
    CanAddNotesWithErrorDetail = "canAddNotesWithErrorDetail",
    FindNotes = "findNotes",
    NotesInfo = "notesInfo",
    UpdateNoteFields = "updateNoteFields",
    UpdateNote = "updateNote",
    UpdateNoteTags = "updateNoteTags",
    GetNoteTags = "getNoteTags",
    DeleteNotes = "deleteNotes",
    FindCards = "findCards",
    CardsInfo = "cardsInfo",
    Suspend = "suspend",
    Unsuspend = "unsuspend",
    AddTags = "addTags",
    RemoveTags = "removeTags",
    GetTags = "getTags",
    StoreMediaFile = "storeMediaFile",
    RetrieveMediaFile = "retrieveMediaFile",
    GetMediaFilesNames = "getMediaFilesNames",
    DeleteMediaFile = "deleteMediaFile",
}

async fn run(action: Action, call: &Call<'_>, p: &Params<'_>) -> Result<Value, ApiError> {
    use Action as A;
    match action {
        A::Version => Ok(json!(API_VERSION)),
        A::RequestPermission => Ok(misc::request_permission(call)),
        A::Multi => misc::multi(call, p).await,
        A::Sync => Ok(Value::Null),
        A::ApiReflect => misc::api_reflect(p),
        A::GuiBrowse | A::FindCards => cards::find_cards(call, p).await,
        A::DeckNames => decks::deck_names(call).await,
        A::DeckNamesAndIds => decks::deck_names_and_ids(call).await,
        A::CreateDeck => decks::create_deck(call, p).await,
        A::ChangeDeck => decks::change_deck(call, p).await,
        A::ModelNames => models::model_names(call).await,
        A::ModelNamesAndIds => models::model_names_and_ids(call).await,
        A::ModelFieldNames => models::model_field_names(call, p).await,
        A::AddNote => notes::add_note(call, p).await,
        A::AddNotes => notes::add_notes(call, p).await,
        A::CanAddNote => notes::can_add(call, p, false, false).await,
        A::CanAddNotes => notes::can_add(call, p, true, false).await,
        A::CanAddNoteWithErrorDetail => notes::can_add(call, p, false, true).await,
        A::CanAddNotesWithErrorDetail => notes::can_add(call, p, true, true).await,
        A::FindNotes => notes::find_notes(call, p).await,
        A::NotesInfo => notes::notes_info(call, p).await,
        A::UpdateNoteFields => notes::update_note_fields(call, p).await,
        A::UpdateNote => notes::update_note(call, p).await,
        A::UpdateNoteTags => tags::update_note_tags(call, p).await,
        A::GetNoteTags => tags::get_note_tags(call, p).await,
        A::DeleteNotes => notes::delete_notes(call, p).await,
        A::CardsInfo => cards::cards_info(call, p).await,
        A::Suspend => cards::suspend(call, p, true).await,
        A::Unsuspend => cards::suspend(call, p, false).await,
        A::AddTags => tags::add_tags(call, p).await,
        A::RemoveTags => tags::remove_tags(call, p).await,
        A::GetTags => tags::get_tags(call).await,
        A::StoreMediaFile => media::store_media_file(call, p).await,
        A::RetrieveMediaFile => media::retrieve_media_file(call, p).await,
        A::GetMediaFilesNames => media::get_media_files_names(call, p).await,
        A::DeleteMediaFile => media::delete_media_file(call, p).await,
    }
}

/// The reply to a failed request (the same at every version).
pub fn error_reply(e: &ApiError) -> Value {
    json!({"result": null, "error": e.to_string()})
}

/// What [`handle`] yields: the reply, the action's name and the user.
pub type Handled<'a> =
    Pin<Box<dyn std::future::Future<Output = (Value, String, Option<String>)> + Send + 'a>>;

/// Answers one request object (a top-level request or one `multi` item):
/// the key is checked, the action run, the reply shaped by `version`.
/// Also returns the action's name and the user, for the log.
pub fn handle<'a>(
    app: &'a App,
    caller: &'a Caller,
    request: &'a Value,
    depth: usize,
) -> Handled<'a> {
    Box::pin(async move {
        let empty = Map::new();
        let name = request.get("action").and_then(Value::as_str).unwrap_or("");
        let version = request.get("version").map(Value::as_i64).unwrap_or(Some(4));
        let key = request.get("key");
        let mut user = None;
        let outcome = async {
            let Some(version) = version else {
                return Err(ApiError::msg("version must be an integer"));
            };
            let params = match request.get("params") {
                None | Some(Value::Null) => &empty,
                Some(Value::Object(map)) => map,
                Some(_) => return Err(ApiError::msg("params must be an object")),
            };
            if name != "requestPermission" {
                user = Some(auth::user_for(app, key, caller)?);
            }
            let action = Action::parse(name).ok_or(ApiError::Unsupported)?;
            let call = Call {
                app,
                caller,
                user: user.clone(),
                depth,
            };
            let result = run(action, &call, &Params(params)).await?;
            Ok((version, result))
        }
        .await;
        match outcome {
            Ok((version, result)) => {
                let reply = if version <= 4 {
                    result
                } else {
                    json!({"result": result, "error": null})
                };
                (reply, name.to_owned(), user)
            }
            Err(e) => {
                if !matches!(
                    e,
                    ApiError::Unsupported | ApiError::BadKey | ApiError::Throttled(_)
                ) {
                    tracing::debug!(action = name, error = %e, "AnkiConnect action failed");
                }
                (error_reply(&e), name.to_owned(), user)
            }
        }
    })
}

/// The depth limit for nested `multi` requests.
pub fn check_depth(depth: usize) -> Result<(), ApiError> {
    if depth >= MAX_MULTI_DEPTH {
        return Err(ApiError::msg(format!(
            "multi requests may be nested at most {MAX_MULTI_DEPTH} deep"
        )));
    }
    Ok(())
}
