//! The administrative commands: `kioku user …` ([`users`], [`import`]),
//! `kioku status` ([`status`]) and `kioku config check` ([`settings`]). They take the same options as `serve` (the
//! data folder, the config file, the configured users), work whether or not
//! a server runs on the data folder, and tell a running one over the control
//! socket ([`crate::control`]). Output goes to stdout, problems to stderr.
//! Run by root on a data folder another user owns, they act as that user
//! ([`owner`]).

pub mod import;
pub mod owner;
pub mod settings;
pub mod status;
pub mod users;

pub use owner::load;
