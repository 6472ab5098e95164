//! The error-count port: per-minute counters per pattern, dependency and service, and a
//! record per pattern, applied once per batch and read back for the detection policy.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;

use crate::clock::Timestamp;
use crate::pattern::Fingerprint;
use crate::store::StoreError;

use super::analysis::{BatchId, Minute};

/// A stream of per-minute error counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Series {
    /// Errors of one pattern in one service.
    Pattern {
        service: String,
        fingerprint: Fingerprint,
    },
    /// Errors naming one dependency in one service, whatever their pattern.
    Dependency { service: String, dependency: String },
    /// All errors of one service: the denominator of a dependency's share.
    Service { service: String },
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Series::Pattern {
                service,
                fingerprint,
            } => write!(f, "{service} pattern {fingerprint}"),
            Series::Dependency {
                service,
                dependency,
            } => write!(f, "{service} dependency {dependency}"),
            Series::Service { service } => write!(f, "{service} (all errors)"),
        }
    }
}

/// Identity of a pattern within a service: "new" is per service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatternKey {
    pub service: String,
    pub fingerprint: Fingerprint,
}

/// One write of a batch. The batch's writes have distinct targets: one per counter
/// (series and minute) and one per pattern record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountWrite {
    /// Adds `by` to the counter of `series` in `minute`.
    Increment {
        series: Series,
        minute: Minute,
        by: u64,
    },
    /// Adds `count` to the pattern's running total and remembers when it was seen.
    Sighting {
        key: PatternKey,
        template: String,
        count: u64,
        first_seen: Timestamp,
        last_seen: Timestamp,
    },
}

/// What a write adds to: one counter in one minute, or one pattern's record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Counter(Series, Minute),
    Pattern(PatternKey),
}

impl CountWrite {
    pub fn target(&self) -> Target {
        match self {
            CountWrite::Increment { series, minute, .. } => {
                Target::Counter(series.clone(), *minute)
            }
            CountWrite::Sighting { key, .. } => Target::Pattern(key.clone()),
        }
    }
}

/// Everything one batch adds to the counters, identified by the batch. Each write is
/// applied once per batch on its own (keyed by the batch and the write's target), so the
/// writes of concurrent batches never wait on one another, and a retry after a failure
/// part-way applies exactly the writes that are missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountDelta {
    pub batch: BatchId,
    /// Sorted and free of duplicate targets.
    pub writes: Vec<CountWrite>,
}

/// What `apply` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Writes applied now.
    pub written: usize,
    /// Writes an earlier delivery of the same batch had already applied.
    pub skipped: usize,
}

/// A pattern as remembered across batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternRecord {
    pub template: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Errors of this pattern since it was first seen (or since its record expired).
    pub total: u64,
}

/// What the policy needs read back: pattern records and counter ranges (inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountQuery {
    pub patterns: Vec<PatternKey>,
    pub series: Vec<(Series, Minute, Minute)>,
}

/// The answer to a [`CountQuery`]; absent counters are zero, absent patterns unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountSnapshot {
    pub patterns: HashMap<PatternKey, PatternRecord>,
    pub series: HashMap<Series, BTreeMap<Minute, u64>>,
}

impl CountSnapshot {
    /// Sum of `series` over `[from, to]`.
    pub fn sum(&self, series: &Series, from: Minute, to: Minute) -> u64 {
        self.series
            .get(series)
            .map(|m| m.range(from..=to).map(|(_, c)| *c).sum())
            .unwrap_or(0)
    }

    pub fn at(&self, series: &Series, minute: Minute) -> u64 {
        self.sum(series, minute, minute)
    }

    /// Adds one write, as storage does: counters add up, a pattern's total grows, its first
    /// sighting stays the first writer's and its last one only moves forward.
    pub fn add(&mut self, w: &CountWrite) {
        match w {
            CountWrite::Increment { series, minute, by } => {
                *self
                    .series
                    .entry(series.clone())
                    .or_default()
                    .entry(*minute)
                    .or_default() += by;
            }
            CountWrite::Sighting {
                key,
                template,
                count,
                first_seen,
                last_seen,
            } => {
                let r = self.patterns.entry(key.clone()).or_insert(PatternRecord {
                    template: template.clone(),
                    first_seen: *first_seen,
                    last_seen: *last_seen,
                    total: 0,
                });
                r.total += count;
                r.last_seen = r.last_seen.max(*last_seen);
            }
        }
    }
}

/// Applies batches of counts exactly once.
pub trait RecordErrorCounts: Send + Sync {
    /// Applies every write of `delta` not yet applied for its batch, each once whatever
    /// the retries, and without holding back concurrent batches of the same service.
    /// `now` sets the records' expiry.
    fn apply(
        &self,
        delta: &CountDelta,
        now: Timestamp,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Records that the batch was handled completely (counts and incidents), so a later
    /// delivery of it can return at once.
    fn mark_done(
        &self,
        batch: &BatchId,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Reads counts back.
pub trait ReadErrorCounts: Send + Sync {
    /// Whether `mark_done` was recorded for the batch.
    fn is_done(&self, batch: &BatchId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The pattern records and counter ranges asked for, read consistently after `apply`.
    fn snapshot(
        &self,
        query: &CountQuery,
    ) -> impl Future<Output = Result<CountSnapshot, StoreError>> + Send;
}

/// Everything error-analyzer needs from counter storage.
pub trait ErrorCountStore: RecordErrorCounts + ReadErrorCounts {}
impl<T: RecordErrorCounts + ReadErrorCounts> ErrorCountStore for T {}
