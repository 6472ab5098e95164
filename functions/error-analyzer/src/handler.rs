//! The error-analyzer handler: decodes a CloudWatch Logs subscription batch, counts its
//! error patterns once (whatever the redeliveries), and raises the problems they show.
//!
//! A second entry point, the event `{"apptrack": "resolve-quiet"}` (sent by a schedule in the
//! SAM template), resolves this function's incidents that have had no occurrence for
//! `APPTRACK_QUIET_RESOLVE_SECS`.

use std::time::Duration;

use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::errors::{BatchAnalysis, ErrorCountStore, ErrorPolicy, SOURCE, analyze};
use apptrack_core::failure::Failure;
use apptrack_core::incident::{IncidentError, IncidentId, RaiseKind, Status, TimelineEntry};
use apptrack_core::pattern::PatternMiner;
use apptrack_core::settings::{SettingsError, StoreSettings, parse_or};
use apptrack_core::store::{IncidentStore, PageRequest, StoreError};
use apptrack_core::subscription::{DecodeError, DecodeLimits, Delivery, LogsBatch, receive};
use apptrack_lambda::Function;
use serde::Serialize;
use serde_json::Value;

use crate::metrics;

/// The event the quiet-resolution schedule sends.
pub const RESOLVE_QUIET: &str = "resolve-quiet";
/// Incidents looked at per status by one quiet sweep (pages of 100).
const SWEEP_PAGES: usize = 10;

/// The function's settings, read once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    pub policy: ErrorPolicy,
    /// `APPTRACK_MAX_DECOMPRESSED_BYTES` (8 MiB): a payload that inflates past this is rejected.
    pub limits: DecodeLimits,
    /// `APPTRACK_PATTERN_MEMORY_DAYS` (30): a pattern unseen this long is new again.
    pub pattern_memory: Duration,
    /// `APPTRACK_METRICS_NAMESPACE` (`apptrack`): the EMF namespace.
    pub metrics_namespace: String,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let store = StoreSettings::from_lookup(&get)?;
        let policy = ErrorPolicy::from_lookup(&get)?;
        let days = parse_or(
            &get,
            "APPTRACK_PATTERN_MEMORY_DAYS",
            30u64,
            |d| (1..=365).contains(d),
            "a whole number of days from 1 to 365",
        )?;
        let metrics_namespace = get("APPTRACK_METRICS_NAMESPACE")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "apptrack".to_owned());
        Ok(Settings {
            store,
            policy,
            limits: DecodeLimits::from_lookup(&get)?,
            pattern_memory: Duration::from_secs(days * 86_400),
            metrics_namespace,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Why an invocation failed; the kind and retryability come from the failing part, so the
/// same bad payload or outage reads the same as in every other function.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad subscription payload: {0}")]
    BadPayload(#[from] DecodeError),
    #[error("{context}: {source}")]
    Store { context: String, source: StoreError },
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
}

impl HandlerError {
    fn store(context: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        let context = context.into();
        move |source| HandlerError::Store { context, source }
    }
}

/// Bad payloads never succeed later; counts are idempotent per batch, so a retried store
/// failure never counts twice.
impl Failure for HandlerError {
    fn kind(&self) -> &'static str {
        match self {
            HandlerError::BadPayload(e) => e.kind(),
            HandlerError::Store { source, .. } => source.kind(),
            HandlerError::Identity(e) => e.kind(),
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::BadPayload(e) => e.is_retryable(),
            HandlerError::Store { source, .. } => source.is_retryable(),
            HandlerError::Identity(e) => e.is_retryable(),
        }
    }
}

/// What an invocation was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Logs(Delivery),
    ResolveQuiet,
}

/// Decodes an invocation payload: a subscription delivery or the quiet-resolution event.
pub fn decode(event: &Value, limits: &DecodeLimits) -> Result<Request, DecodeError> {
    if event.get("apptrack").and_then(Value::as_str) == Some(RESOLVE_QUIET) {
        return Ok(Request::ResolveQuiet);
    }
    receive(event, limits).map(Request::Logs)
}

/// [`decode`] from raw bytes (what Lambda receives before it parses JSON).
pub fn decode_bytes(event: &[u8], limits: &DecodeLimits) -> Result<Request, DecodeError> {
    let value: Value = serde_json::from_slice(event).map_err(|e| DecodeError::NotJson {
        reason: e.to_string(),
    })?;
    decode(&value, limits)
}

/// One incident raised for a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaisedIncident {
    pub kind: String,
    pub id: String,
    pub raise: RaiseKind,
    pub title: String,
}

/// What an invocation did; returned to the caller and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Outcome {
    /// `processed`, `duplicate`, `control-skipped` or `resolve-quiet`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    pub lines: u64,
    pub error_lines: u64,
    pub unparsed_lines: u64,
    pub patterns: usize,
    /// Counter chunks written now, and chunks an earlier delivery had written.
    pub chunks_written: usize,
    pub chunks_skipped: usize,
    pub incidents: Vec<RaisedIncident>,
    pub resolved: Vec<String>,
}

/// The handler's dependencies, built once per cold start.
pub struct Analyzer<C, S, K> {
    pub counts: C,
    pub incidents: S,
    pub clock: K,
    pub settings: Settings,
    pub miner: PatternMiner,
}

impl<C: ErrorCountStore, S: IncidentStore, K: Clock> Analyzer<C, S, K> {
    pub fn new(counts: C, incidents: S, clock: K, settings: Settings) -> Self {
        Analyzer {
            counts,
            incidents,
            clock,
            settings,
            miner: PatternMiner::default(),
        }
    }

    /// Handles one invocation payload.
    pub async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        match decode(event, &self.settings.limits)? {
            Request::ResolveQuiet => self.resolve_quiet().await,
            Request::Logs(Delivery::Data(batch)) => self.handle_batch(&batch).await,
            Request::Logs(Delivery::Control(batch)) => {
                tracing::info!(log_group = %batch.log_group, "control message acknowledged");
                Ok(Outcome {
                    status: "control-skipped",
                    ..Outcome::default()
                })
            }
        }
    }

    /// Counts a decoded batch of log events and raises what it shows.
    pub async fn handle_batch(&self, batch: &LogsBatch) -> Result<Outcome, HandlerError> {
        let analysis = analyze(batch, &self.miner);
        let mut out = Outcome {
            status: "processed",
            batch: Some(analysis.id.to_string()),
            lines: analysis.lines,
            error_lines: analysis.error_lines,
            unparsed_lines: analysis.unparsed,
            patterns: analysis.patterns.len(),
            ..Outcome::default()
        };
        if analysis.error_lines == 0 {
            // Nothing to count or raise: no state is written, so a redelivery is a no-op too.
            metrics::print(&metrics::emf(
                &self.settings.metrics_namespace,
                &analysis,
                self.clock.now(),
            ));
            return Ok(out);
        }
        let id = &analysis.id;
        if self
            .counts
            .is_done(id)
            .await
            .map_err(HandlerError::store(format!("reading batch {id}")))?
        {
            tracing::info!(batch = %id, "batch already handled; nothing to do");
            out.status = "duplicate";
            return Ok(out);
        }
        let now = self.clock.now();
        let applied = self
            .counts
            .apply(&analysis.delta(), now)
            .await
            .map_err(HandlerError::store(format!("counting batch {id}")))?;
        out.chunks_written = applied.written;
        out.chunks_skipped = applied.skipped;
        out.incidents = self.raise_findings(&analysis).await?;
        self.counts
            .mark_done(id, now)
            .await
            .map_err(HandlerError::store(format!("finishing batch {id}")))?;
        metrics::print(&metrics::emf(
            &self.settings.metrics_namespace,
            &analysis,
            now,
        ));
        Ok(out)
    }

    async fn raise_findings(&self, a: &BatchAnalysis) -> Result<Vec<RaisedIncident>, HandlerError> {
        let policy = &self.settings.policy;
        let snapshot =
            self.counts
                .snapshot(&policy.query_for(a))
                .await
                .map_err(HandlerError::store(format!(
                    "reading counts for batch {}",
                    a.id
                )))?;
        let mut raised = Vec::new();
        for finding in policy.decide(a, &snapshot) {
            let occ = finding.occurrence(&a.id)?;
            let r = self
                .incidents
                .raise(&occ)
                .await
                .map_err(HandlerError::store(format!("raising {}", occ.dedup_key)))?;
            tracing::info!(kind = %finding.kind, id = %r.id, raise = ?r.kind, title = %finding.title, "incident");
            raised.push(RaisedIncident {
                kind: finding.kind.to_string(),
                id: r.id.to_string(),
                raise: r.kind,
                title: finding.title.to_string(),
            });
        }
        Ok(raised)
    }

    /// Resolves this function's active incidents with no occurrence for the quiet time.
    pub async fn resolve_quiet(&self) -> Result<Outcome, HandlerError> {
        let now = self.clock.now();
        let policy = &self.settings.policy;
        let mut quiet: Vec<(IncidentId, Timestamp)> = Vec::new();
        for status in [Status::Open, Status::Acknowledged] {
            let mut cursor = None;
            for _ in 0..SWEEP_PAGES {
                let page = self
                    .incidents
                    .list_by_status(
                        status,
                        &PageRequest {
                            limit: 100,
                            cursor: cursor.take(),
                            now,
                        },
                    )
                    .await
                    .map_err(HandlerError::store("listing active incidents"))?;
                quiet.extend(
                    page.items
                        .iter()
                        .filter(|i| policy.is_quiet(i, now))
                        .map(|i| (i.id.clone(), i.last_seen)),
                );
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
        }
        let mut out = Outcome {
            status: "resolve-quiet",
            ..Outcome::default()
        };
        for (id, last_seen) in quiet {
            let detail = format!(
                "no occurrence since {last_seen} (quiet for more than {} s)",
                policy.quiet_resolve.as_secs()
            );
            let entry = TimelineEntry::new(now, SOURCE, "resolved", &detail);
            match self
                .incidents
                .resolve(&id, &entry, self.settings.store.retention)
                .await
            {
                Ok(_) => out.resolved.push(id.to_string()),
                // Resolved by someone else in between: nothing left to do.
                Err(StoreError::Invalid(IncidentError::InvalidTransition { .. }))
                | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(HandlerError::store(format!("resolving {id}"))(e)),
            }
        }
        tracing::info!(resolved = out.resolved.len(), "quiet sweep");
        Ok(out)
    }
}

impl<C: ErrorCountStore, S: IncidentStore, K: Clock> Function for Analyzer<C, S, K> {
    type Output = Outcome;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        Analyzer::handle(self, event).await
    }
}

#[cfg(test)]
mod tests;
