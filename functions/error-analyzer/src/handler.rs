//! The error-analyzer handler: decodes a CloudWatch Logs subscription batch, counts its
//! error patterns once (whatever the redeliveries), and raises the problems they show.
//!
//! A second entry point, the event `{"apptrack": "resolve-quiet"}` (sent by a schedule in the
//! SAM template), resolves this function's incidents that have had no occurrence for
//! `APPTRACK_QUIET_RESOLVE_SECS`.
use apptrack_core::clock::Clock;
use apptrack_core::errors::{BatchAnalysis, ErrorCountStore, analyze};
use apptrack_core::failure::during;
use apptrack_core::pattern::{LearnRules, PatternMiner, WithTemplates, renames_for_batch};
use apptrack_core::store::IncidentStore;
use apptrack_core::subscription::{DecodeError, DecodeLimits, Delivery, LogsBatch, receive};
use apptrack_lambda::Function;
use serde_json::Value;

pub use crate::error::HandlerError;
use crate::metrics;
pub use crate::outcome::{Outcome, RaisedIncident};
pub use crate::settings::Settings;

/// The event the quiet-resolution schedule sends.
pub const RESOLVE_QUIET: &str = "resolve-quiet";

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

/// The handler's dependencies, built once per cold start.
pub struct Analyzer<C, S, K> {
    /// Error counts, and the template registry beside them in `STATE_TABLE`.
    pub counts: C,
    pub incidents: S,
    pub clock: K,
    pub settings: Settings,
    pub miner: PatternMiner,
}

impl<C: ErrorCountStore + WithTemplates, S: IncidentStore, K: Clock> Analyzer<C, S, K> {
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
        let mut analysis = analyze(batch, &self.miner);
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
            .map_err(during(format!("reading batch {id}")))?
        {
            tracing::info!(batch = %id, "batch already handled; nothing to do");
            out.status = "duplicate";
            return Ok(out);
        }
        let now = self.clock.now();
        // What the registry has learned, and this batch teaches, merges patterns; decided
        // once per batch, so a retry counts under the same fingerprints.
        let renames = renames_for_batch(
            self.counts.templates(),
            id.as_str(),
            &analysis.templates_by_service(),
            &LearnRules::default(),
            now,
        )
        .await
        .map_err(during(format!("learning templates of batch {id}")))?;
        let id = id.clone();
        analysis.apply_renames(&renames);
        out.patterns = analysis.patterns.len();
        let id = &id;
        let applied = self
            .counts
            .apply(&analysis.delta(), now)
            .await
            .map_err(during(format!("counting batch {id}")))?;
        out.writes_applied = applied.written;
        out.writes_skipped = applied.skipped;
        out.incidents = self.raise_findings(&analysis).await?;
        self.counts
            .mark_done(id, now)
            .await
            .map_err(during(format!("finishing batch {id}")))?;
        metrics::print(&metrics::emf(
            &self.settings.metrics_namespace,
            &analysis,
            now,
        ));
        Ok(out)
    }

    async fn raise_findings(&self, a: &BatchAnalysis) -> Result<Vec<RaisedIncident>, HandlerError> {
        let policy = &self.settings.policy;
        let snapshot = self
            .counts
            .snapshot(&policy.query_for(a))
            .await
            .map_err(during(format!("reading counts for batch {}", a.id)))?;
        let mut raised = Vec::new();
        for finding in policy.decide(a, &snapshot) {
            let occ = finding.occurrence(&a.id)?;
            let r = self
                .incidents
                .raise(&occ)
                .await
                .map_err(during(format!("raising {}", occ.dedup_key)))?;
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
}

impl<C: ErrorCountStore + WithTemplates, S: IncidentStore, K: Clock> Function
    for Analyzer<C, S, K>
{
    type Output = Outcome;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        Analyzer::handle(self, event).await
    }
}

#[cfg(test)]
mod tests;
