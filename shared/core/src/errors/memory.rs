//! In-memory error counts for unit tests: the same once-per-batch-and-target semantics as
//! the DynamoDB adapter, with a switch to fail part-way like a flaky network.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use super::analysis::{BatchId, Minute};
use super::counts::{
    Applied, CountDelta, CountQuery, CountSnapshot, PatternKey, PatternRecord, ReadErrorCounts,
    RecordErrorCounts, Series, Target,
};
use crate::clock::Timestamp;
use crate::pattern::{MemoryTemplateRegistry, WithTemplates};
use crate::store::StoreError;

#[derive(Debug, Default)]
struct State {
    /// Every counter and pattern record, in the shape a snapshot reads.
    counts: CountSnapshot,
    applied: HashSet<(BatchId, Target)>,
    done: HashSet<BatchId>,
    /// Writes that may still be applied before every call fails (`None`: never fail).
    writes_before_failure: Option<usize>,
    writes: usize,
}

/// Error counts in a map. Thread-safe; cheap to share by reference.
#[derive(Debug, Default)]
pub struct MemoryErrorCounts {
    state: Mutex<State>,
    /// The template registry that shares the state table in production.
    pub templates: MemoryTemplateRegistry,
}

impl MemoryErrorCounts {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets `n` more writes through, then fails every write with a retryable error until
    /// [`MemoryErrorCounts::heal`].
    pub fn fail_after_writes(&self, n: usize) {
        self.lock().writes_before_failure = Some(n);
    }

    pub fn heal(&self) {
        self.lock().writes_before_failure = None;
    }

    /// Every counter, for assertions.
    pub fn counters(&self) -> HashMap<Series, BTreeMap<Minute, u64>> {
        self.lock().counts.series.clone()
    }

    pub fn patterns(&self) -> HashMap<PatternKey, PatternRecord> {
        self.lock().counts.patterns.clone()
    }

    /// Item writes so far (counters and pattern records), to check "one write per key per batch".
    pub fn writes(&self) -> usize {
        self.lock().writes
    }
}

fn check_failure(st: &mut State) -> Result<(), StoreError> {
    match st.writes_before_failure.as_mut() {
        Some(0) => Err(StoreError::Unavailable("injected failure".into())),
        Some(n) => {
            *n -= 1;
            Ok(())
        }
        None => Ok(()),
    }
}

impl RecordErrorCounts for MemoryErrorCounts {
    async fn apply(&self, delta: &CountDelta, _now: Timestamp) -> Result<Applied, StoreError> {
        let mut st = self.lock();
        let mut applied = Applied::default();
        for w in &delta.writes {
            let applied_key = (delta.batch.clone(), w.target());
            if st.applied.contains(&applied_key) {
                applied.skipped += 1;
                continue;
            }
            check_failure(&mut st)?;
            st.writes += 1;
            st.counts.add(w);
            st.applied.insert(applied_key);
            applied.written += 1;
        }
        Ok(applied)
    }

    async fn mark_done(&self, batch: &BatchId, _now: Timestamp) -> Result<(), StoreError> {
        let mut st = self.lock();
        check_failure(&mut st)?;
        st.done.insert(batch.clone());
        Ok(())
    }
}

impl ReadErrorCounts for MemoryErrorCounts {
    async fn is_done(&self, batch: &BatchId) -> Result<bool, StoreError> {
        Ok(self.lock().done.contains(batch))
    }

    async fn snapshot(&self, query: &CountQuery) -> Result<CountSnapshot, StoreError> {
        let st = self.lock();
        let mut snap = CountSnapshot::default();
        for k in &query.patterns {
            if let Some(r) = st.counts.patterns.get(k) {
                snap.patterns.insert(k.clone(), r.clone());
            }
        }
        for (series, from, to) in &query.series {
            if let Some(m) = st.counts.series.get(series) {
                let out = snap.series.entry(series.clone()).or_default();
                out.extend(m.range(*from..=*to).map(|(k, v)| (*k, *v)));
            }
        }
        Ok(snap)
    }
}

/// The registry lives in the state table beside the counts, as in DynamoDB.
impl WithTemplates for MemoryErrorCounts {
    type Templates = MemoryTemplateRegistry;
    fn templates(&self) -> &MemoryTemplateRegistry {
        &self.templates
    }
}
