//! kioku (記憶): a self-hosted Anki sync server for home appliances.
//!
//! Layers, each calling only the ones below it: `http` (listeners, routing,
//! encodings) → `sync` and `media` (the protocol's endpoints) → `store` (per-user owners of
//! the files) → `collection` (the SQLite collection format). `users` decides
//! who may log in; `config` resolves the settings.

pub mod collection;
pub mod config;
pub mod http;
pub mod media;
pub mod notify;
pub mod store;
pub mod sync;
pub mod tls;
pub mod users;
