//! The administrative commands: `kioku user …` ([`users`]) and
//! `kioku status` ([`status`]). They take the same options as `serve` (the
//! data folder, the config file, the configured users), work whether or not
//! a server runs on the data folder, and tell a running one over the control
//! socket ([`crate::control`]). Output goes to stdout, problems to stderr.

pub mod status;
pub mod users;
