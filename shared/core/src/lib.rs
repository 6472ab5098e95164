//! apptrack-core: the domain and its ports, shared by apptrack's functions and CLI.
//! Pure: values in, decisions out; no AWS crate (the adapters are in apptrack-aws).

pub mod alarm;
pub mod auth;
pub mod clock;
pub mod deploy;
pub mod errors;
pub mod failure;
pub mod forecast;
pub mod incident;
pub mod ledger;
pub mod logline;
pub mod notify;
pub mod pattern;
pub mod retry;
pub mod scaling;
pub mod settings;
pub mod store;
pub mod subscription;
pub mod tables;
pub mod text;
pub mod view;
