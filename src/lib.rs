//! kioku (記憶): a self-hosted Anki sync server for home appliances.
//!
//! Layers, each calling only the ones below it:
//!
//! 1. `http`: the listeners, routing, the sync protocol's encodings, error →
//!    status, the request log and the setup page (`http::setup`).
//! 2. What the routes hand requests to: `sync` and `media` (the sync
//!    protocol's endpoints), `api` (the AnkiConnect API), `web` (the
//!    first-run form and the admin pages); and `control`, the local socket
//!    that `kioku status`, `kioku user` and `kioku backup restore` talk to.
//! 3. `backup` (snapshots of collections, and their restore) and `users`
//!    (who may log in: configured and stored accounts, host keys, API keys,
//!    login protection).
//! 4. `store`: the per-user owners of the files in the data folder.
//! 5. `collection`: the SQLite collection format, and Anki's rules for
//!    edits (`collection::edit`) and search (`collection::search`).
//!
//! Beside them: `config` resolves the settings; `tls` serves HTTPS and keeps
//! its certificate; `mdns` advertises the server on the local network;
//! `clock` reads the time. The commands other than `serve`: `cli` (`kioku
//! user`, `kioku status`), `backup::cli` (`kioku backup`), and `kioku cert`
//! and `kioku apikey` in main.rs.

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
pub mod notify;
pub mod store;
pub mod sync;
pub mod tls;
pub mod users;
pub mod web;
