//! error-analyzer: groups error lines from CloudWatch Logs subscriptions into patterns and
//! records new errors, spikes and failing dependencies. `main.rs` wires it to AWS and Lambda.

pub mod handler;
pub mod metrics;
