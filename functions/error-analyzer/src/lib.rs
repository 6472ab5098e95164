//! error-analyzer: groups error lines from CloudWatch Logs subscriptions into patterns and
//! records new errors, spikes and failing dependencies. `main.rs` wires it to AWS and Lambda.
//!
//! One file per role: `settings`, `error`, `outcome`, the `handler` (decode, count a batch,
//! raise what it shows), `resolve_quiet` (the schedule's sweep) and the EMF `metrics`.

mod error;
pub mod handler;
pub mod metrics;
mod outcome;
mod resolve_quiet;
mod settings;
mod wiring;

pub use wiring::Deployed;
