//! kioku (記憶): a self-hosted Anki sync server for home appliances.
//!
//! Layers, each calling only the ones below it: `http` (listeners, routing,
//! encodings) → `sync` and `media` (the protocol's endpoints) → `store` (per-user owners of
//! the files) → `collection` (the SQLite collection format). `users` decides
//! who may log in; `config` resolves the settings; `tls` serves HTTPS; `mdns`
//! advertises the server on the local network. `backup` keeps snapshots
//! of collections (through `store`). `api` is the AnkiConnect API. `web`
//! renders the first-run form and the admin pages; `control` is the local
//! socket that `kioku status` and `kioku user` use; `cli` holds those commands.

pub mod api;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod collection;
pub mod config;
pub mod control;
pub mod http;
pub mod mdns;
pub mod media;
pub mod store;
pub mod sync;
pub mod tls;
pub mod users;
pub mod web;
