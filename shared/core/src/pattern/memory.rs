//! An in-memory template registry, for unit tests and the bench: the same conditional
//! semantics as the DynamoDB adapter (a write lands only on the version it read).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::registry::{FrameKey, FrameRecord, Rename, TemplateRegistry};
use crate::clock::Timestamp;
use crate::store::StoreError;

#[derive(Debug, Default)]
struct State {
    frames: HashMap<FrameKey, FrameRecord>,
    decisions: HashMap<String, Vec<Rename>>,
    reads: usize,
    writes: usize,
}

/// Frame records and batch decisions in maps. Thread-safe; share it by reference.
#[derive(Debug, Default)]
pub struct MemoryTemplateRegistry {
    state: Mutex<State>,
}

impl MemoryTemplateRegistry {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frame reads and writes so far (decisions not counted), to check the budget.
    pub fn frame_calls(&self) -> (usize, usize) {
        let s = self.lock();
        (s.reads, s.writes)
    }

    /// Every merge recorded, in any frame.
    pub fn merges(&self) -> Vec<super::registry::RecordedMerge> {
        self.lock()
            .frames
            .values()
            .flat_map(|r| r.merges.iter().cloned())
            .collect()
    }

    /// Forgets the kept batch decisions (as if they expired), keeping the frames.
    pub fn forget_decisions(&self) {
        self.lock().decisions.clear();
    }
}

impl TemplateRegistry for MemoryTemplateRegistry {
    async fn read_frame(&self, key: &FrameKey, _now: Timestamp) -> Result<FrameRecord, StoreError> {
        let mut s = self.lock();
        s.reads += 1;
        Ok(s.frames.get(key).cloned().unwrap_or_default())
    }

    async fn write_frame(
        &self,
        key: &FrameKey,
        expected: u64,
        next: &FrameRecord,
        _now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let stored = s.frames.get(key).map_or(0, |r| r.version);
        if stored != expected {
            return Ok(false);
        }
        s.writes += 1;
        s.frames.insert(key.clone(), next.clone());
        Ok(true)
    }

    async fn read_decision(&self, batch: &str) -> Result<Option<Vec<Rename>>, StoreError> {
        Ok(self.lock().decisions.get(batch).cloned())
    }

    async fn keep_decision(
        &self,
        batch: &str,
        renames: &[Rename],
        _now: Timestamp,
    ) -> Result<Vec<Rename>, StoreError> {
        Ok(self
            .lock()
            .decisions
            .entry(batch.to_owned())
            .or_insert_with(|| renames.to_vec())
            .clone())
    }
}
