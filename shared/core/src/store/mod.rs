//! The incident store port: the operations handlers and the CLI need, and their errors.
//! Adapters: `dynamo` (DynamoDB, production) and `memory` (unit tests of domain logic).

pub mod auth_memory;
pub mod memory;

use std::future::Future;

use crate::clock::Timestamp;
use crate::incident::{
    DedupKey, Incident, IncidentError, IncidentId, Occurrence, Raised, Severity, Status,
    TimelineEntry,
};

/// Why a store operation failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("incident {0} not found")]
    NotFound(IncidentId),
    #[error(transparent)]
    Invalid(#[from] IncidentError),
    #[error(
        "table {table} does not exist (create it with `apptrack local bootstrap` or deploy the stack)"
    )]
    TableMissing { table: String },
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// Throttling, timeouts, an unreachable endpoint, contention that outlasted our retries.
    #[error("store temporarily unavailable: {0}")]
    Unavailable(String),
    /// The service refused the request as invalid; retrying the same request cannot help.
    #[error("request rejected: {0}")]
    Rejected(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    #[error("invalid page cursor: {0}")]
    BadCursor(String),
}

impl StoreError {
    /// Whether the same call may succeed later (so a Lambda should return a retryable error).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// One page of a listing; `next` continues it when more items exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A half-open time range `[from, to)` over an incident's first-seen time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl TimeRange {
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }
}

/// A listing request: at most `limit` items, continuing from `cursor`; `now` hides expired
/// incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub cursor: Option<String>,
    pub now: Timestamp,
}

/// Records problems: opens or adds to incidents, and moves them through their lifecycle.
pub trait RecordIncidents: Send + Sync {
    /// Opens a new incident for the occurrence's dedup key, or adds to the active one,
    /// atomically: concurrent raises of one key end with one active incident whose count is
    /// their sum. An occurrence whose idempotency key was already recorded changes nothing,
    /// and so does a tally the incident has taken in already (see `Occurrence::tally`).
    fn raise(&self, occ: &Occurrence) -> impl Future<Output = Result<Raised, StoreError>> + Send;

    /// Adds an entry to an incident's bounded timeline.
    fn append_timeline(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds an entry to an incident's timeline once per `idempotency_key`: the entry and the
    /// key's record are written together, so a retry of the step that wrote it (whose answer
    /// was lost, or whose later steps failed) adds nothing. `Ok(false)` when the key was
    /// already recorded.
    fn append_timeline_once(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Raises an active incident's severity to `severity` when it is less urgent, adding
    /// `entry` to its timeline in the same write: the problem got worse. Never lowers it.
    /// `Ok(false)` when nothing changed (as urgent already, or no longer active), so a retry
    /// or a concurrent caller escalates once.
    fn escalate(
        &self,
        id: &IncidentId,
        severity: Severity,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks an open incident acknowledged.
    fn acknowledge(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<Incident, StoreError>> + Send;

    /// Resolves an active incident; it expires `retention` after `entry.at`, and a later
    /// occurrence of the same problem opens a new incident marked as a regression.
    fn resolve(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        retention: std::time::Duration,
    ) -> impl Future<Output = Result<Incident, StoreError>> + Send;
}

/// Reads incidents back, by key or index only.
pub trait ReadIncidents: Send + Sync {
    /// An incident by id; expired incidents count as not found.
    fn get(
        &self,
        id: &IncidentId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Incident, StoreError>> + Send;

    /// The active (open or acknowledged) incident for a problem, if any.
    fn active_for_key(
        &self,
        key: &DedupKey,
    ) -> impl Future<Output = Result<Option<Incident>, StoreError>> + Send;

    /// Incidents in one status, newest (by first seen) first.
    fn list_by_status(
        &self,
        status: Status,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Incident>, StoreError>> + Send;

    /// A service's incidents first seen within `range`, newest first.
    fn list_by_service(
        &self,
        service: &str,
        range: TimeRange,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Incident>, StoreError>> + Send;

    /// An incident's timeline, oldest first.
    fn timeline(
        &self,
        id: &IncidentId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<TimelineEntry>, StoreError>> + Send;

    /// Incidents in one status with their timelines, newest first, as `list_by_status`
    /// pages them. By default one timeline read per incident; the DynamoDB adapter reads
    /// both from the index's items (its projection is ALL), in the same one query a page.
    fn list_with_timelines(
        &self,
        status: Status,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Listed>, StoreError>> + Send {
        async move {
            let found = self.list_by_status(status, page).await?;
            let mut items = Vec::with_capacity(found.items.len());
            for incident in found.items {
                let timeline = self.timeline(&incident.id, page.now).await?;
                items.push(Listed { incident, timeline });
            }
            Ok(Page {
                items,
                next: found.next,
            })
        }
    }
}

/// An incident with its timeline, as a listing that shows what was done returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub incident: Incident,
    pub timeline: Vec<TimelineEntry>,
}

/// Everything the CLI and the handlers need from incident storage.
pub trait IncidentStore: RecordIncidents + ReadIncidents {}
impl<T: RecordIncidents + ReadIncidents> IncidentStore for T {}
