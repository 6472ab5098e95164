//! Error analysis for log subscriptions: a batch aggregated in memory (`analysis`), counted
//! once per batch through the `counts` port, and judged by the detection `policy`.
//!
//! The flow a handler follows (error-analyzer's `handler.rs`):
//! 1. [`analysis::analyze`] parses, mines and aggregates the batch; [`analysis::BatchAnalysis::delta`]
//!    gives one counter write per distinct key.
//! 2. [`counts::RecordErrorCounts::apply`] writes the delta in chunks, each atomic with an
//!    idempotency record, so a redelivery or a retry after a partial failure counts nothing twice.
//! 3. [`counts::ReadErrorCounts::snapshot`] reads the counts after the batch, and
//!    [`policy::ErrorPolicy::decide`] turns them into findings, raised with idempotency keys
//!    derived from the batch.
//! 4. [`counts::RecordErrorCounts::mark_done`]: a later delivery of the same batch stops at once.

pub mod analysis;
pub mod counts;
pub mod memory;
pub mod policy;

pub use analysis::{BatchAnalysis, BatchId, Cause, Minute, analyze};
pub use counts::{ErrorCountStore, ReadErrorCounts, RecordErrorCounts};
pub use policy::{ErrorPolicy, Finding, SOURCE};
