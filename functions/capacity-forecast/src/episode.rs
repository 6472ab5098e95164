//! One target's run: open or update its `capacity-forecast` incident while the exhaustion is
//! within the horizon, count calm runs once it is far away, resolve after enough of them in a
//! row. Every step is idempotent within the run's slot, so a redelivered schedule event
//! changes nothing.

use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::during;
use apptrack_core::forecast::episode::{
    Assessment, Horizons, assess, dedup_key, describe, moved, occurrence, run_key,
};
use apptrack_core::forecast::target::ForecastTarget;
use apptrack_core::forecast::{
    AlarmCatalog, EpisodeLog, EpisodeRun, Forecast, MetricHistory, NoVerdict,
};
use apptrack_core::incident::{IncidentId, RaiseKind, Severity, TimelineEntry};
use apptrack_core::ledger::{ActionLedger, note_key};
use apptrack_core::scaling::{CapacityController, ScaleOutLog};
use apptrack_core::store::IncidentStore;

use crate::handler::{Forecaster, HandlerError, SOURCE, TargetOutcome};

impl<C, H, S, E, G, L, O, K> Forecaster<C, H, S, E, G, L, O, K>
where
    C: AlarmCatalog,
    H: MetricHistory,
    S: IncidentStore,
    E: EpisodeLog,
    G: CapacityController,
    L: ActionLedger,
    O: ScaleOutLog,
    K: Clock,
{
    pub(crate) async fn settle(
        &self,
        target: &ForecastTarget,
        verdict: Result<Forecast, NoVerdict>,
        now: Timestamp,
        slot: Timestamp,
    ) -> Result<TargetOutcome, HandlerError> {
        let mut out = TargetOutcome {
            alarm: target.alarm.clone(),
            assessment: None,
            detail: String::new(),
            forecast: None,
            incident_id: None,
            incident: None,
            action: None,
            error: None,
        };
        let f = match verdict {
            Ok(f) => f,
            Err(why) => {
                // No verdict moves no episode: an open incident stays open, its calm streak
                // neither grows nor resets.
                out.detail = format!("no forecast: {why}");
                return Ok(out);
            }
        };
        let h = self.settings.horizons.for_target(target);
        let assessment = assess(&f, &h);
        out.assessment = Some(assessment);
        out.detail = describe(target, &f);
        let earliest_s = f.exhaustion.earliest.map(|d| d.as_secs());
        match assessment {
            Assessment::AtRisk(severity) => {
                let occ = occurrence(target, &f, severity, now, slot)?;
                let raised = self
                    .incidents
                    .raise(&occ)
                    .await
                    .map_err(during(format!("raising the forecast of {}", target.alarm)))?;
                let run = self
                    .count(target, &raised.id, slot, false, earliest_s)
                    .await?;
                out.incident = Some(match raised.kind {
                    RaiseKind::Opened | RaiseKind::Regressed => "opened",
                    RaiseKind::Updated => "updated",
                    RaiseKind::Duplicate => "unchanged",
                });
                if run.counted
                    && matches!(raised.kind, RaiseKind::Updated)
                    && moved(run.previous_earliest_s, f.exhaustion.earliest)
                {
                    self.note(&raised.id, slot, target, "forecast", &out.detail)
                        .await?;
                }
                // A warning whose exhaustion came within the critical horizon: the incident
                // becomes critical (once: the store raises a severity, never lowers it).
                if severity == Severity::Critical
                    && !matches!(raised.kind, RaiseKind::Opened | RaiseKind::Regressed)
                {
                    let entry = self.entry("escalated", &format!("now critical: {}", out.detail));
                    let escalated = self
                        .incidents
                        .escalate(&raised.id, severity, &entry)
                        .await
                        .map_err(during(format!(
                            "escalating the forecast of {}",
                            target.alarm
                        )))?;
                    if escalated {
                        out.incident = Some("escalated");
                    }
                }
                out.action = self.prevent(target, &f, &h, &raised.id, slot).await?;
                out.incident_id = Some(raised.id);
            }
            Assessment::Watch | Assessment::Calm => {
                let key = dedup_key(target)?;
                let Some(active) =
                    self.incidents
                        .active_for_key(&key)
                        .await
                        .map_err(during(format!(
                            "reading the forecast incident of {}",
                            target.alarm
                        )))?
                else {
                    return Ok(out);
                };
                let calm = assessment == Assessment::Calm;
                let run = self
                    .count(target, &active.id, slot, calm, earliest_s)
                    .await?;
                out.incident = Some("unchanged");
                if calm && run.calm_runs >= h.calm_runs {
                    self.resolve(&active.id, &h, run.calm_runs).await?;
                    out.incident = Some("resolved");
                } else if run.counted && moved(run.previous_earliest_s, f.exhaustion.earliest) {
                    self.note(&active.id, slot, target, "forecast", &out.detail)
                        .await?;
                    out.incident = Some("updated");
                }
                out.incident_id = Some(active.id);
            }
        }
        out.forecast = Some(f);
        Ok(out)
    }

    async fn count(
        &self,
        target: &ForecastTarget,
        episode: &IncidentId,
        slot: Timestamp,
        calm: bool,
        earliest_s: Option<u64>,
    ) -> Result<EpisodeRun, HandlerError> {
        self.episodes
            .count_run(&target.alarm, episode, slot, calm, earliest_s)
            .await
            .map_err(|e| during(format!("counting the run of {}", target.alarm))(e).into())
    }

    async fn resolve(&self, id: &IncidentId, h: &Horizons, runs: u32) -> Result<(), HandlerError> {
        let entry = self.entry(
            "resolved",
            &format!(
                "the earliest exhaustion was beyond {} on {runs} runs in a row",
                apptrack_core::forecast::episode::about(h.look_ahead())
            ),
        );
        self.incidents
            .resolve(id, &entry, self.settings.store.retention)
            .await
            .map(drop)
            .map_err(|e| during(format!("resolving incident {id}"))(e).into())
    }

    pub(crate) fn entry(&self, action: &str, detail: &str) -> TimelineEntry {
        TimelineEntry::new(self.clock.now(), SOURCE, action, detail)
    }

    /// A timeline entry of this run's, written once however often the run is retried.
    pub(crate) async fn note(
        &self,
        id: &IncidentId,
        slot: Timestamp,
        target: &ForecastTarget,
        action: &str,
        detail: &str,
    ) -> Result<(), HandlerError> {
        self.incidents
            .append_timeline_once(
                id,
                &self.entry(action, detail),
                &note_key(&run_key(&target.alarm, slot), action),
            )
            .await
            .map(drop)
            .map_err(|e| during("writing the timeline")(e).into())
    }
}
