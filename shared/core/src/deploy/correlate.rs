//! Ties incidents to the deployment that preceded them. [`Correlating`] wraps any incident
//! store: when a raise opens an incident (new or a regression), the service's deployments
//! are read and the latest one that started within the window before the onset goes on the
//! incident's timeline ("began 4 min after deployment d-123 (checkout:live 41 -> 42 by
//! ci@example)"), once per incident and deployment. Every function's store is wrapped in
//! its wiring, so no function has to remember to.

use std::time::Duration;

use super::{Deployment, DeploymentLog};
use crate::clock::Timestamp;
use crate::incident::{
    DedupKey, Incident, IncidentId, Occurrence, RaiseKind, Raised, Severity, Status, TimelineEntry,
};
use crate::store::{
    Listed, Page, PageRequest, ReadIncidents, RecordIncidents, StoreError, TimeRange,
};

/// Who the timeline entry names.
pub const ACTOR: &str = "deploy-guard";

/// How long after a deployment an incident's onset is tied to it, by default.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The latest deployment of `service` that started at or before `onset`, no longer than
/// `window` before it.
pub fn preceding<'a>(
    deployments: &'a [Deployment],
    service: &str,
    onset: Timestamp,
    window: Duration,
) -> Option<&'a Deployment> {
    deployments
        .iter()
        .filter(|d| d.service == service && d.started_at <= onset)
        .filter(|d| onset.since(d.started_at) <= window)
        .max_by_key(|d| (d.started_at, d.id.clone()))
}

/// "began 4 min after deployment d-123 (checkout:live 41 -> 42 by ci@example)".
pub fn note(d: &Deployment, onset: Timestamp) -> String {
    let minutes = onset.since(d.started_at).as_secs() / 60;
    format!(
        "began {minutes} min after deployment {} ({}, {})",
        d.id,
        d.describe(),
        d.state
    )
}

/// An incident store whose new incidents are tied to the deployment that preceded them.
#[derive(Debug, Clone)]
pub struct Correlating<S, D> {
    pub inner: S,
    pub deployments: D,
    pub window: Duration,
}

impl<S, D> Correlating<S, D> {
    pub fn new(inner: S, deployments: D) -> Self {
        Correlating {
            inner,
            deployments,
            window: DEFAULT_WINDOW,
        }
    }
}

impl<S: RecordIncidents, D: DeploymentLog> Correlating<S, D> {
    async fn tie(&self, id: &IncidentId, occ: &Occurrence) -> Result<(), StoreError> {
        let since = occ.at.saturating_sub(self.window);
        let found = self.deployments.list(Some(&occ.service), since).await?;
        let Some(d) = preceding(&found, &occ.service, occ.at, self.window) else {
            return Ok(());
        };
        let entry = TimelineEntry::new(occ.at, ACTOR, "deployment", &note(d, occ.at));
        self.inner
            .append_timeline_once(id, &entry, &format!("deployment#{}", d.id))
            .await
            .map(drop)
    }
}

impl<S: RecordIncidents, D: DeploymentLog> RecordIncidents for Correlating<S, D> {
    async fn raise(&self, occ: &Occurrence) -> Result<Raised, StoreError> {
        let raised = self.inner.raise(occ).await?;
        if matches!(raised.kind, RaiseKind::Opened | RaiseKind::Regressed) {
            // Best effort: the incident is recorded whatever happens here, and failing the
            // invocation for a note would retry work already done.
            if let Err(e) = self.tie(&raised.id, occ).await {
                tracing::warn!(incident = %raised.id, error = %e, "could not look up the preceding deployment");
            }
        }
        Ok(raised)
    }

    async fn append_timeline(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        self.inner.append_timeline(id, entry).await
    }

    async fn append_timeline_once(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        idempotency_key: &str,
    ) -> Result<bool, StoreError> {
        self.inner
            .append_timeline_once(id, entry, idempotency_key)
            .await
    }

    async fn escalate(
        &self,
        id: &IncidentId,
        severity: Severity,
        entry: &TimelineEntry,
    ) -> Result<bool, StoreError> {
        self.inner.escalate(id, severity, entry).await
    }

    async fn acknowledge(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> Result<Incident, StoreError> {
        self.inner.acknowledge(id, entry).await
    }

    async fn resolve(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        retention: Duration,
    ) -> Result<Incident, StoreError> {
        self.inner.resolve(id, entry, retention).await
    }
}

impl<S: ReadIncidents, D: DeploymentLog> ReadIncidents for Correlating<S, D> {
    async fn get(&self, id: &IncidentId, now: Timestamp) -> Result<Incident, StoreError> {
        self.inner.get(id, now).await
    }

    async fn active_for_key(&self, key: &DedupKey) -> Result<Option<Incident>, StoreError> {
        self.inner.active_for_key(key).await
    }

    async fn list_by_status(
        &self,
        status: Status,
        page: &PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        self.inner.list_by_status(status, page).await
    }

    async fn list_by_service(
        &self,
        service: &str,
        range: TimeRange,
        page: &PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        self.inner.list_by_service(service, range, page).await
    }

    async fn timeline(
        &self,
        id: &IncidentId,
        now: Timestamp,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.inner.timeline(id, now).await
    }

    async fn list_with_timelines(
        &self,
        status: Status,
        page: &PageRequest,
    ) -> Result<Page<Listed>, StoreError> {
        self.inner.list_with_timelines(status, page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::memory::MemoryDeploymentLog;
    use crate::deploy::{DeploySource, DeployState};
    use crate::incident::{IncidentKind, Severity, Title};
    use crate::store::memory::MemoryIncidentStore;

    fn at(min: i64) -> Timestamp {
        Timestamp::from_secs(1_795_480_000 + min * 60)
    }

    fn deployment(id: &str, service: &str, start: i64) -> Deployment {
        Deployment {
            id: id.into(),
            service: service.into(),
            target: format!("{service}:live"),
            from_version: Some("41".into()),
            to_version: Some("42".into()),
            started_at: at(start),
            ended_at: Some(at(start + 1)),
            state: DeployState::Succeeded,
            actor: Some("ci@example".into()),
            source: DeploySource::Custom,
        }
    }

    fn occurrence(service: &str, minute: i64) -> Occurrence {
        let key =
            DedupKey::new("test", IncidentKind::Performance, service, "latency").expect("key");
        Occurrence::new(
            key,
            IncidentKind::Performance,
            Severity::High,
            "test",
            service,
            service,
            Title::truncated("p99 latency up"),
            at(minute),
        )
    }

    #[test]
    fn the_latest_deployment_within_the_window_before_the_onset() {
        let all = [
            deployment("d-1", "checkout", 0),
            deployment("d-2", "checkout", 20),
            deployment("d-3", "checkout", 50),
            deployment("d-4", "billing", 22),
        ];
        let w = DEFAULT_WINDOW;
        assert_eq!(
            preceding(&all, "checkout", at(24), w).map(|d| d.id.as_str()),
            Some("d-2")
        );
        assert_eq!(
            preceding(&all, "checkout", at(19), w).map(|d| d.id.as_str()),
            Some("d-1")
        );
        assert_eq!(
            preceding(&all, "checkout", at(200), w),
            None,
            "too long after"
        );
        assert_eq!(preceding(&all, "orders", at(24), w), None);
        let text = note(&all[1], at(24));
        assert_eq!(
            text,
            "began 4 min after deployment d-2 (checkout:live 41 -> 42 by ci@example, succeeded)"
        );
    }

    #[tokio::test]
    async fn a_new_incident_after_a_deployment_says_so_once() {
        let store = Correlating::new(MemoryIncidentStore::new(), MemoryDeploymentLog::default());
        store
            .deployments
            .record(&deployment("d-2", "checkout", 20))
            .await
            .expect("marker");
        let raised = store
            .raise(&occurrence("checkout", 24))
            .await
            .expect("raised");
        assert_eq!(raised.kind, RaiseKind::Opened);
        // More of the same problem adds no second note.
        store
            .raise(&occurrence("checkout", 25))
            .await
            .expect("again");
        let tl = store.timeline(&raised.id, at(30)).await.expect("timeline");
        let notes: Vec<_> = tl.iter().filter(|e| e.action == "deployment").collect();
        assert_eq!(notes.len(), 1, "{tl:?}");
        assert!(
            notes[0].detail.contains("began 4 min after deployment d-2"),
            "{tl:?}"
        );

        // Another service's incident, with no deployment before it: nothing.
        let other = store
            .raise(&occurrence("orders", 24))
            .await
            .expect("raised");
        let tl = store.timeline(&other.id, at(30)).await.expect("timeline");
        assert!(tl.iter().all(|e| e.action != "deployment"), "{tl:?}");
    }
}
