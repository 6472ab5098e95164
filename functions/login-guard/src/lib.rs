//! login-guard: locks accounts on failed-login bursts in authentication logs and records
//! security incidents. `main.rs` wires it to AWS and the Lambda runtime.
//!
//! One file per role: `settings`, `error`, `report`, the `handler` (decode, aggregate,
//! dispatch), and a use case per counted key (`account`, `source`) and for successful
//! logins (`success`: familiar sources, account takeover).

mod account;
mod error;
pub mod handler;
mod report;
mod settings;
mod source;
mod success;
mod wiring;

pub use wiring::Deployed;

#[cfg(test)]
mod tests;
