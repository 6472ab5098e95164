//! In-memory login-guard state with the DynamoDB adapter's semantics (fingerprint-conditional
//! updates, revisions, conditional lock writes). For unit tests; never deployed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use super::StoreError;
use crate::auth::{
    CounterKey, CounterUpdate, Counters, FamiliarPolicy, FamiliarSources, FamiliarUpdate,
    GuardStore, LockMirror, LockMode, LockRecord, LockWrite, SourcePrefix,
};
use crate::clock::Timestamp;

#[derive(Debug, Default)]
struct State {
    counters: HashMap<CounterKey, Counters>,
    locks: BTreeMap<(LockMode, String), LockRecord>,
    familiar: HashMap<String, FamiliarSources>,
    prefixes: HashMap<SourcePrefix, BTreeMap<i64, BTreeSet<String>>>,
    writes: u64,
    fail_next_mirror_write: bool,
}

/// Counters and locks in a mutex-guarded map.
#[derive(Debug, Default)]
pub struct MemoryGuardStore {
    state: Mutex<State>,
}

impl MemoryGuardStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Write requests made so far (applied or not), for assertions on write counts.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// Makes the next `set_lock_incident` fail between its two writes, as the DynamoDB
    /// adapter's can: the lock record gets the incident, the account counter's mirror does not.
    pub fn fail_next_mirror_write(&self) {
        self.lock().fail_next_mirror_write = true;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test thread must not hide other tests' results behind poisoning.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl GuardStore for MemoryGuardStore {
    async fn apply(&self, u: &CounterUpdate) -> Result<Counters, StoreError> {
        let mut st = self.lock();
        st.writes += 1;
        let c = st.counters.entry(u.key.clone()).or_default();
        if c.fingerprints
            .get(&u.fingerprint_minute)
            .is_some_and(|s| s.contains(&u.fingerprint))
        {
            let mut out = c.clone();
            out.applied = false;
            return Ok(out);
        }
        c.rev += 1;
        c.successes = c.successes.saturating_add(u64::from(u.successes));
        for (m, n) in u.failure_minutes.range(u.prune_before..) {
            let slot = c.failure_buckets.entry(*m).or_insert(0);
            *slot = slot.saturating_add(*n);
        }
        for (m, set) in &u.members_by_minute {
            if *m >= u.prune_before {
                c.member_buckets
                    .entry(*m)
                    .or_default()
                    .extend(set.iter().cloned());
            }
        }
        c.fingerprints
            .entry(u.fingerprint_minute)
            .or_default()
            .insert(u.fingerprint.clone());
        c.failure_buckets = c.failure_buckets.split_off(&u.prune_before);
        c.member_buckets = c.member_buckets.split_off(&u.prune_before);
        let keep_from = u.fingerprints_before.min(u.fingerprint_minute);
        c.fingerprints = c.fingerprints.split_off(&keep_from);
        let mut out = c.clone();
        out.applied = true;
        Ok(out)
    }

    async fn read_counters(&self, key: &CounterKey) -> Result<Counters, StoreError> {
        let mut out = self.lock().counters.get(key).cloned().unwrap_or_default();
        out.applied = false;
        Ok(out)
    }

    async fn get_lock(
        &self,
        mode: LockMode,
        account: &str,
    ) -> Result<Option<LockRecord>, StoreError> {
        Ok(self.lock().locks.get(&(mode, account.to_owned())).cloned())
    }

    async fn write_lock(
        &self,
        lock: &LockRecord,
        counter_rev: u64,
        lock_rev: Option<u64>,
        mirror: &LockMirror,
        _expires_at: Timestamp,
    ) -> Result<LockWrite, StoreError> {
        let mut st = self.lock();
        st.writes += 1;
        let k = (lock.mode, lock.account.clone());
        if st.locks.get(&k).map(|l| l.rev) != lock_rev {
            return Ok(LockWrite::LockChanged);
        }
        let ck = CounterKey::Account(lock.account.clone());
        let c = st.counters.entry(ck).or_default();
        if c.rev != counter_rev {
            return Ok(LockWrite::CounterChanged);
        }
        c.lock = Some(mirror.clone());
        let mut rec = lock.clone();
        rec.rev = lock_rev.unwrap_or(0) + 1;
        rec.incident_id = None;
        rec.unlocked_at = None;
        rec.unlocked_by = None;
        rec.unlock_note = None;
        st.locks.insert(k, rec);
        Ok(LockWrite::Written)
    }

    async fn set_lock_incident(
        &self,
        mode: LockMode,
        account: &str,
        locked_at: Timestamp,
        incident_id: &str,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.writes += 1;
        if let Some(l) = st.locks.get_mut(&(mode, account.to_owned()))
            && l.locked_at == locked_at
        {
            l.incident_id = Some(incident_id.to_owned());
        }
        if std::mem::take(&mut st.fail_next_mirror_write) {
            return Err(StoreError::Unavailable(format!(
                "injected failure writing the lock incident of {account} on its counter"
            )));
        }
        if let Some(c) = st
            .counters
            .get_mut(&CounterKey::Account(account.to_owned()))
            && let Some(m) = c.lock.as_mut()
            && m.locked_at == locked_at
            && m.mode == mode
        {
            m.incident_id = Some(incident_id.to_owned());
        }
        Ok(())
    }

    async fn familiar(&self, account: &str) -> Result<FamiliarSources, StoreError> {
        Ok(self
            .lock()
            .familiar
            .get(account)
            .cloned()
            .unwrap_or_default())
    }

    async fn learn_familiar(&self, u: &FamiliarUpdate) -> Result<(), StoreError> {
        let policy = FamiliarPolicy::default();
        let mut st = self.lock();
        for (prefix, days) in u.prefixes() {
            st.writes += 1;
            let index = st.prefixes.entry(prefix).or_default();
            for day in days {
                let set = index.entry(day).or_default();
                if set.len() < policy.max_per_day {
                    set.insert(u.account.clone());
                }
            }
        }
        st.writes += 1;
        st.familiar
            .entry(u.account.clone())
            .or_default()
            .apply(u, &policy);
        Ok(())
    }

    async fn familiar_to(
        &self,
        prefix: SourcePrefix,
        first_day: i64,
    ) -> Result<BTreeSet<String>, StoreError> {
        Ok(self
            .lock()
            .prefixes
            .get(&prefix)
            .map(|days| {
                days.range(first_day..)
                    .flat_map(|(_, s)| s.iter().cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn list_locks(&self, mode: LockMode) -> Result<Vec<LockRecord>, StoreError> {
        Ok(self
            .lock()
            .locks
            .iter()
            .filter(|((m, _), _)| *m == mode)
            .map(|(_, l)| l.clone())
            .collect())
    }

    async fn unlock(
        &self,
        mode: LockMode,
        account: &str,
        at: Timestamp,
        by: &str,
        note: &str,
    ) -> Result<Option<LockRecord>, StoreError> {
        let mut st = self.lock();
        let Some(l) = st.locks.get_mut(&(mode, account.to_owned())) else {
            return Ok(None);
        };
        if l.locked_until <= at {
            return Ok(None);
        }
        let before = l.clone();
        l.locked_until = at;
        l.unlocked_at = Some(at);
        l.unlocked_by = Some(by.to_owned());
        l.unlock_note = Some(note.to_owned());
        l.rev += 1;
        if let Some(c) = st
            .counters
            .get_mut(&CounterKey::Account(account.to_owned()))
            && let Some(m) = c.lock.as_mut()
            && m.mode == mode
        {
            m.until = m.until.min(at);
        }
        Ok(Some(before))
    }
}
