//! In-memory incident store with the same semantics as the DynamoDB one.
//! For unit tests of handlers and domain logic; never used by a deployed function.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use super::{Page, PageRequest, ReadIncidents, RecordIncidents, StoreError, TimeRange};
use crate::clock::Timestamp;
use crate::incident::{
    DedupKey, Incident, IncidentId, Occurrence, RaiseKind, Raised, Severity, Status, TimelineEntry,
    Transition, push_bounded,
};

#[derive(Debug, Default)]
struct State {
    incidents: BTreeMap<IncidentId, Incident>,
    timelines: HashMap<IncidentId, Vec<TimelineEntry>>,
    active: HashMap<DedupKey, IncidentId>,
    last: HashMap<DedupKey, IncidentId>,
    seen_keys: HashSet<String>,
}

impl State {
    fn append(&mut self, id: &IncidentId, entry: &TimelineEntry) {
        let dropped = push_bounded(self.timelines.entry(id.clone()).or_default(), entry.clone());
        if dropped && let Some(i) = self.incidents.get_mut(id) {
            i.timeline_dropped += 1;
        }
    }
}

/// Incidents in a mutex-guarded map.
#[derive(Debug, Default)]
pub struct MemoryIncidentStore {
    state: Mutex<State>,
}

impl MemoryIncidentStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored incident, for assertions in tests.
    pub fn all(&self) -> Vec<Incident> {
        self.lock().incidents.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic in another test thread must not hide this store's contents.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn transition(
        &self,
        id: &IncidentId,
        action: Transition,
        entry: &TimelineEntry,
        retention: Duration,
    ) -> Result<Incident, StoreError> {
        let mut st = self.lock();
        let inc = st
            .incidents
            .get_mut(id)
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let next = inc.status.after(action, id)?;
        inc.status = next;
        match action {
            Transition::Acknowledge => inc.acknowledged_at = Some(entry.at),
            Transition::Resolve => {
                inc.resolved_at = Some(entry.at);
                inc.expires_at = Some(entry.at.saturating_add(retention));
            }
        }
        let inc = inc.clone();
        if action == Transition::Resolve {
            st.active.remove(&inc.dedup_key);
        }
        st.append(id, entry);
        Ok(inc)
    }

    fn page(mut found: Vec<Incident>, page: &PageRequest) -> Result<Page<Incident>, StoreError> {
        found.sort_by(|a, b| (b.first_seen, &b.id).cmp(&(a.first_seen, &a.id)));
        let start = match &page.cursor {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| StoreError::BadCursor(c.clone()))?,
        };
        let limit = page.limit.max(1);
        let items: Vec<Incident> = found.iter().skip(start).take(limit).cloned().collect();
        let next = (start + items.len() < found.len()).then(|| (start + items.len()).to_string());
        Ok(Page { items, next })
    }
}

impl RecordIncidents for MemoryIncidentStore {
    async fn raise(&self, occ: &Occurrence) -> Result<Raised, StoreError> {
        let mut st = self.lock();
        // A tally is its own idempotency (see `Occurrence::tally`); the DynamoDB store
        // writes no idempotency record for it either.
        if occ.tally.is_none()
            && let Some(k) = &occ.idempotency_key
            && !st.seen_keys.insert(k.clone())
        {
            let id = st
                .active
                .get(&occ.dedup_key)
                .or_else(|| st.last.get(&occ.dedup_key))
                .cloned()
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("idempotency key {k} without incident"))
                })?;
            return Ok(Raised {
                id,
                kind: RaiseKind::Duplicate,
            });
        }
        if let Some(id) = st.active.get(&occ.dedup_key).cloned() {
            let added = st.incidents.get_mut(&id).is_some_and(|inc| inc.absorb(occ));
            let kind = if added {
                RaiseKind::Updated
            } else {
                RaiseKind::Duplicate
            };
            return Ok(Raised { id, kind });
        }
        let regression_of = st.last.get(&occ.dedup_key).cloned();
        let id = IncidentId::new(occ.at);
        let inc = match &regression_of {
            None => Incident::open(id.clone(), occ, None),
            Some(prev) => {
                let previous = st.incidents.get(prev).and_then(|p| p.tally);
                match Incident::reopen(id.clone(), occ, prev.clone(), previous.as_ref()) {
                    Some(inc) => inc,
                    None => {
                        return Ok(Raised {
                            id: prev.clone(),
                            kind: RaiseKind::Duplicate,
                        });
                    }
                }
            }
        };
        st.timelines.insert(id.clone(), vec![inc.opening_entry()]);
        st.incidents.insert(id.clone(), inc);
        st.active.insert(occ.dedup_key.clone(), id.clone());
        st.last.insert(occ.dedup_key.clone(), id.clone());
        let kind = if regression_of.is_some() {
            RaiseKind::Regressed
        } else {
            RaiseKind::Opened
        };
        Ok(Raised { id, kind })
    }

    async fn append_timeline(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        if !st.incidents.contains_key(id) {
            return Err(StoreError::NotFound(id.clone()));
        }
        st.append(id, entry);
        Ok(())
    }

    async fn append_timeline_once(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        idempotency_key: &str,
    ) -> Result<bool, StoreError> {
        let mut st = self.lock();
        if !st.incidents.contains_key(id) {
            return Err(StoreError::NotFound(id.clone()));
        }
        if !st.seen_keys.insert(idempotency_key.to_owned()) {
            return Ok(false);
        }
        st.append(id, entry);
        Ok(true)
    }

    async fn escalate(
        &self,
        id: &IncidentId,
        severity: Severity,
        entry: &TimelineEntry,
    ) -> Result<bool, StoreError> {
        let mut st = self.lock();
        let inc = st
            .incidents
            .get_mut(id)
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        // Severities are ordered most urgent first.
        if !inc.status.is_active() || severity >= inc.severity {
            return Ok(false);
        }
        inc.severity = severity;
        st.append(id, entry);
        Ok(true)
    }

    async fn acknowledge(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> Result<Incident, StoreError> {
        self.transition(id, Transition::Acknowledge, entry, Duration::ZERO)
    }

    async fn resolve(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        retention: Duration,
    ) -> Result<Incident, StoreError> {
        self.transition(id, Transition::Resolve, entry, retention)
    }
}

impl ReadIncidents for MemoryIncidentStore {
    async fn get(&self, id: &IncidentId, now: Timestamp) -> Result<Incident, StoreError> {
        self.lock()
            .incidents
            .get(id)
            .filter(|i| !i.is_expired(now))
            .cloned()
            .ok_or_else(|| StoreError::NotFound(id.clone()))
    }

    async fn active_for_key(&self, key: &DedupKey) -> Result<Option<Incident>, StoreError> {
        let st = self.lock();
        Ok(st
            .active
            .get(key)
            .and_then(|id| st.incidents.get(id))
            .cloned())
    }

    async fn list_by_status(
        &self,
        status: Status,
        page: &PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        let found = self
            .lock()
            .incidents
            .values()
            .filter(|i| i.status == status && !i.is_expired(page.now))
            .cloned()
            .collect();
        Self::page(found, page)
    }

    async fn list_by_service(
        &self,
        service: &str,
        range: TimeRange,
        page: &PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        let found = self
            .lock()
            .incidents
            .values()
            .filter(|i| {
                i.service == service && range.contains(i.first_seen) && !i.is_expired(page.now)
            })
            .cloned()
            .collect();
        Self::page(found, page)
    }

    async fn timeline(
        &self,
        id: &IncidentId,
        now: Timestamp,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.get(id, now).await?;
        Ok(self.lock().timelines.get(id).cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{IncidentKind, Severity, Title};

    fn occ(key: &DedupKey, t: i64) -> Occurrence {
        Occurrence::new(
            key.clone(),
            IncidentKind::NewError,
            Severity::Medium,
            "error-analyzer",
            "checkout",
            "checkout",
            Title::truncated("KeyError: 'sku'"),
            Timestamp::from_secs(t),
        )
    }

    #[tokio::test]
    async fn raise_then_resolve_then_regress() {
        let store = MemoryIncidentStore::new();
        let key =
            DedupKey::new("error-analyzer", IncidentKind::NewError, "checkout", "f1").unwrap();
        let first = store.raise(&occ(&key, 10)).await.unwrap();
        assert_eq!(first.kind, RaiseKind::Opened);
        let again = store.raise(&occ(&key, 20)).await.unwrap();
        assert_eq!(
            (again.id.clone(), again.kind),
            (first.id.clone(), RaiseKind::Updated)
        );
        let now = Timestamp::from_secs(30);
        assert_eq!(store.get(&first.id, now).await.unwrap().count, 2);

        let entry = TimelineEntry::new(now, "cli", "resolved", "fixed");
        let resolved = store
            .resolve(&first.id, &entry, Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(resolved.status, Status::Resolved);
        assert!(store.active_for_key(&key).await.unwrap().is_none());

        let third = store.raise(&occ(&key, 40)).await.unwrap();
        assert_eq!(third.kind, RaiseKind::Regressed);
        let inc = store.get(&third.id, now).await.unwrap();
        assert_eq!(inc.regression_of, Some(first.id.clone()));

        // The resolved one expires after its retention.
        let later = Timestamp::from_secs(30 + 3600);
        assert!(matches!(
            store.get(&first.id, later).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn an_entry_with_an_idempotency_key_is_added_once() {
        let store = MemoryIncidentStore::new();
        let key = DedupKey::new("alarm-scaler", IncidentKind::Saturation, "web-asg", "f1").unwrap();
        let r = store.raise(&occ(&key, 10)).await.unwrap();
        let at = Timestamp::from_secs(20);
        let entry = TimelineEntry::new(at, "alarm-scaler", "scaled", "from 2 to 3");
        assert!(
            store
                .append_timeline_once(&r.id, &entry, "t:scaled")
                .await
                .unwrap()
        );
        assert!(
            !store
                .append_timeline_once(&r.id, &entry, "t:scaled")
                .await
                .unwrap()
        );
        let tl = store.timeline(&r.id, at).await.unwrap();
        assert_eq!(tl.iter().filter(|e| e.action == "scaled").count(), 1);
    }

    #[tokio::test]
    async fn duplicate_delivery_changes_nothing() {
        let store = MemoryIncidentStore::new();
        let key = DedupKey::new("login-guard", IncidentKind::BruteForce, "alice", "lock").unwrap();
        let o = Occurrence {
            idempotency_key: Some("evt-1".into()),
            ..occ(&key, 1)
        };
        store.raise(&o).await.unwrap();
        let dup = store.raise(&o).await.unwrap();
        assert_eq!(dup.kind, RaiseKind::Duplicate);
        assert_eq!(store.all()[0].count, 1);
    }
}
