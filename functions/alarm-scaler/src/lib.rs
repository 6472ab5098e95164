//! alarm-scaler: scales Auto Scaling groups on CloudWatch alarms and records saturation,
//! performance and availability incidents. `main.rs` wires it to AWS and the Lambda runtime.
//!
//! One file per role: `settings`, `error`, `outcome`, the `handler` (decode, read the alarm,
//! dispatch), and a use case per kind of transition (`group_alarm`, `instance_alarm`,
//! `state_change`).

mod error;
mod group_alarm;
pub mod handler;
mod instance_alarm;
mod outcome;
mod settings;
mod state_change;
mod wiring;

pub use wiring::Deployed;

#[cfg(test)]
mod tests;
