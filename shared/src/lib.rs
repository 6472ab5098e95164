//! apptrack-core: the domain, ports and adapters shared by apptrack's functions and CLI.
//! Domain modules are pure (values in, decisions out); adapters talk to AWS.

pub mod alarm;
pub mod auth;
pub mod aws;
pub mod clock;
pub mod errors;
pub mod failure;
pub mod incident;
pub mod logline;
pub mod pattern;
pub mod scaling;
pub mod settings;
pub mod store;
pub mod subscription;
pub mod tables;
pub mod telemetry;
