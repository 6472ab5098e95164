//! The preventive scale-out: once per forecast episode, a group whose metric is forecast to
//! reach its alarm's threshold within the scale lead is scaled as alarm-scaler would scale it
//! when the alarm fires, within the group's min/max and the scaler's step caps, dry-run
//! aware. Never a scale-in: a forecast only adds capacity (AWS predictive scaling's rule too).
//!
//! The claim protocol is `core::ledger`'s: claim the episode, record the intent, act,
//! complete (or release on a retryable failure, so the retry acts).

use apptrack_core::alarm::ScalingDecision;
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::{Failure, during};
use apptrack_core::forecast::episode::{Horizons, preventive_input};
use apptrack_core::forecast::target::ForecastTarget;
use apptrack_core::forecast::{AlarmCatalog, EpisodeLog, Forecast, MetricHistory};
use apptrack_core::incident::IncidentId;
use apptrack_core::ledger::{ActionLedger, Claim, Completion};
use apptrack_core::scaling::{CapacityController, Intent, ScaleOutLog, ScalingError};
use apptrack_core::store::IncidentStore;

use crate::handler::{Forecaster, HandlerError};

/// The ledger namespace of preventive scale-outs: `PREVENT#<alarm>#<incident id>`.
pub const PREVENT_NAMESPACE: &str = "PREVENT";

fn ledger_error(
    what: &'static str,
) -> impl FnOnce(apptrack_core::ledger::LedgerError) -> HandlerError {
    move |e| during(what)(ScalingError::from(e)).into()
}

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
    /// Scales the target's group out ahead of the crossing, once per episode; what was done
    /// (or why nothing was), or `None` when no scale-out applies.
    pub(crate) async fn prevent(
        &self,
        target: &ForecastTarget,
        f: &Forecast,
        h: &Horizons,
        incident: &IncidentId,
        slot: Timestamp,
    ) -> Result<Option<String>, HandlerError> {
        let Some(group) = target.group.as_deref() else {
            return Ok(None);
        };
        if f.exhaustion.earliest.is_none_or(|d| d > h.scale_lead) {
            return Ok(None);
        }
        let key = format!("{}#{incident}", target.alarm);
        let (token, prior) = match self
            .ledger
            .claim::<Intent>(&key, self.clock.now())
            .await
            .map_err(ledger_error("claiming the preventive scale-out"))?
        {
            Claim::Acquired {
                token,
                prior_intent,
            } => (token, prior_intent),
            Claim::HeldElsewhere => {
                return Ok(Some("another run is scaling this episode's group".into()));
            }
            Claim::Done { outcome } => {
                return Ok(Some(format!("done earlier in this episode: {outcome}")));
            }
            Claim::Failed { error } => {
                return Ok(Some(format!("failed earlier in this episode: {error}")));
            }
        };
        let done = self
            .scale(target, f, h, group, incident, slot, &key, &token, prior)
            .await;
        match done {
            Ok(detail) => {
                self.ledger
                    .complete(
                        &key,
                        &token,
                        &Completion::Done(detail.clone()),
                        self.clock.now(),
                    )
                    .await
                    .map_err(ledger_error("recording the preventive scale-out"))?;
                Ok(Some(detail))
            }
            Err(e) if e.is_retryable() => {
                if let Err(re) = self.ledger.release(&key, &token).await {
                    tracing::warn!(key, error = %re, "could not release the claim; it expires with its lease");
                }
                Err(e)
            }
            Err(e) => {
                let detail = format!("could not scale {group} out: {e}");
                self.note(incident, slot, target, "failed", &detail).await?;
                self.ledger
                    .complete(
                        &key,
                        &token,
                        &Completion::Failed(e.to_string()),
                        self.clock.now(),
                    )
                    .await
                    .map_err(ledger_error("recording the failed scale-out"))?;
                Ok(Some(detail))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn scale(
        &self,
        target: &ForecastTarget,
        f: &Forecast,
        h: &Horizons,
        group: &str,
        incident: &IncidentId,
        slot: Timestamp,
        key: &str,
        token: &str,
        prior: Option<Intent>,
    ) -> Result<String, HandlerError> {
        let capacity = self
            .groups
            .capacity(group)
            .await
            .map_err(during(format!("reading group {group}")))?;
        // An earlier holder made the change and lost the answer: record it, do not repeat it.
        if let Some(intent) = prior
            && intent.to > intent.from
            && capacity.desired == intent.to
        {
            self.scaled(target, group, incident, slot, &intent).await?;
            return Ok(intent.detail);
        }
        let Some(input) = preventive_input(
            target,
            f,
            h,
            &self.settings.policy,
            capacity,
            self.clock.now(),
        ) else {
            return Ok("no scale-out applies".into());
        };
        let decision = self.settings.policy.decide(&input);
        let ahead = format!(
            "ahead of the forecast crossing of {} (earliest in {})",
            target.limit,
            apptrack_core::forecast::episode::about(f.exhaustion.earliest.unwrap_or_default())
        );
        match decision {
            ScalingDecision::ScaleTo { from, to, .. } if to > from => {
                let detail = format!("scaled {group} {decision}, {ahead}");
                if self.settings.dry_run {
                    let detail = format!("dry run, capacity unchanged: would have {detail}");
                    self.note(incident, slot, target, "decided", &detail)
                        .await?;
                    return Ok(detail);
                }
                let intent = Intent { from, to, detail };
                self.ledger
                    .record_intent(key, token, &intent)
                    .await
                    .map_err(ledger_error("recording the intended change"))?;
                self.groups
                    .set_desired_capacity(group, to)
                    .await
                    .map_err(during(format!(
                        "setting the desired capacity of {group} to {to}"
                    )))?;
                self.scaled(target, group, incident, slot, &intent).await?;
                Ok(intent.detail)
            }
            other => {
                let detail = format!("no scale-out of {group}: {other}");
                self.note(incident, slot, target, "decided", &detail)
                    .await?;
                Ok(detail)
            }
        }
    }

    async fn scaled(
        &self,
        target: &ForecastTarget,
        group: &str,
        incident: &IncidentId,
        slot: Timestamp,
        intent: &Intent,
    ) -> Result<(), HandlerError> {
        self.scale_outs
            .record_scale_out(group, self.clock.now())
            .await
            .map_err(during("recording the scale-out time"))?;
        self.note(incident, slot, target, "scaled", &intent.detail)
            .await
    }
}
