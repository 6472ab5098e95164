//! notifier: tells people about every incident, from the incident table's DynamoDB stream
//! (opened, regression, severity raised, acknowledged, resolved, grouped count updates) and
//! a schedule (reminders, the ends of silences), once per change, to SNS. `main.rs` wires it.
//!
//! One file per role: `settings`, `error`, `outcome`, the `handler` (dispatch, and `deliver`:
//! one notice under its ledger claim), `stream` and `sweep` (the two triggers), `wiring`.

mod error;
pub mod handler;
mod outcome;
mod settings;
mod stream;
mod sweep;
mod wiring;

pub use wiring::Deployed;

#[cfg(test)]
mod tests;
