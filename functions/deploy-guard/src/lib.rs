//! deploy-guard: records every deployment announced to EventBridge (CodeDeploy, ECS,
//! CloudFormation, Lambda alias and code updates through CloudTrail, the custom
//! `apptrack.deploy` event) as one marker per deployment. `main.rs` wires it to AWS.
//!
//! One file per role: `settings`, `error`, `outcome`, the `handler` (decode, fill in what
//! the announcement leaves out, record) and the production `wiring`.

mod error;
pub mod handler;
mod judge;
mod opened;
mod outcome;
pub mod rollback;
mod settings;
mod watch;
mod wiring;

pub use wiring::Deployed;

#[cfg(test)]
mod tests;
