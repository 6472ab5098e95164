//! Error analysis for log subscriptions: a batch aggregated in memory (`analysis`), counted
//! once per batch through the `counts` port, and judged by the detection `policy`.
//!
//! The flow a handler follows (error-analyzer's `handler.rs`):
//! 1. [`analysis::analyze`] parses, mines and aggregates the batch; [`analysis::BatchAnalysis::delta`]
//!    gives one counter write per distinct key.
//! 2. [`counts::RecordErrorCounts::apply`] applies each write once per batch on its own, so a
//!    redelivery or a retry after a partial failure counts nothing twice, and concurrent
//!    batches of one service never wait on one another.
//! 3. [`counts::ReadErrorCounts::snapshot`] reads the counts after the batch, and
//!    [`policy::ErrorPolicy::decide`] turns them into findings, raised with idempotency keys
//!    derived from the batch; a new error reports its pattern's running total (a
//!    [`crate::incident::Tally`]), so its incident counts every error once in any interleaving.
//! 4. [`counts::RecordErrorCounts::mark_done`]: a later delivery of the same batch stops at once.

pub mod analysis;
pub mod counts;
#[cfg(test)]
mod interleavings;
pub mod memory;
pub mod policy;

pub use analysis::{BatchAnalysis, BatchId, Cause, Minute, analyze};
pub use counts::{ErrorCountStore, ReadErrorCounts, RecordErrorCounts};
pub use policy::{ErrorPolicy, Finding, SOURCE};
