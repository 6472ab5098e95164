//! login-guard: counts failed logins per account and per source from authentication logs,
//! locks accounts on bursts and records security incidents. `main.rs` wires it to AWS.

pub mod handler;
