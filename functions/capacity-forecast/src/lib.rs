//! capacity-forecast: on a schedule, forecasts when each alarm tagged `apptrack:forecast=true`
//! reaches its threshold, opens a `capacity-forecast` incident while there is still time,
//! resolves it with hysteresis, and scales a group out ahead of the crossing (once per
//! episode). `main.rs` wires it to AWS.
//!
//! One file per role: `settings`, `error`, `outcome`, the `handler` (decode, read, forecast
//! every target), `episode` (one target's incident) and `prevent` (the scale-out), and the
//! production `wiring`.

mod episode;
mod error;
pub mod handler;
mod outcome;
mod prevent;
mod settings;
mod wiring;

pub use wiring::Deployed;

#[cfg(test)]
mod tests;
