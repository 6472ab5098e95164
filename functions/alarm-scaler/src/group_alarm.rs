//! An alarm on an Auto Scaling group in ALARM: claim the transition (exactly once), decide
//! the capacity with the scaling policy, change it (or, dry run, only say so), and record it.

use std::time::Duration;

use apptrack_core::alarm::incident;
use apptrack_core::alarm::{
    AlarmKind, Direction, GroupCapacity, ScalingDecision, ScalingInput, metric_context,
    representative_value,
};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::during;
use apptrack_core::incident::IncidentId;
use apptrack_core::ledger::{ActionLedger, note_key};
use apptrack_core::scaling::{
    AlarmReader, CapacityController, InstanceDirectory, InstanceHealth, Intent, MetricQuery,
    MetricReader, ScaleOutLog, ScalingError,
};
use apptrack_core::store::IncidentStore;

use crate::handler::{Action, Alarm, Claimed, HandlerError, Outcome, Scaler};
use crate::outcome::{outcome, with_group};

/// Evaluation periods read back with GetMetricData when reasonData has no values.
pub(crate) const LOOKBACK_PERIODS: u32 = 5;

impl<A, M, C, H, L, O, S, K> Scaler<A, M, C, H, L, O, S, K>
where
    A: AlarmReader,
    M: MetricReader,
    C: CapacityController + InstanceDirectory,
    H: InstanceHealth,
    L: ActionLedger,
    O: ScaleOutLog,
    S: IncidentStore,
    K: Clock,
{
    pub(crate) async fn on_group_alarm(&self, alarm: &Alarm) -> Result<Outcome, HandlerError> {
        let group = alarm.group.clone().unwrap_or_default();
        let ctx = metric_context(&alarm.event, alarm.direction);
        let incident = self.raise(alarm, &ctx).await?;
        let transition = alarm.transition();
        let base = |action, detail: String| Outcome {
            incident_id: Some(incident.clone()),
            ..with_group(alarm, outcome(&alarm.event, action, detail))
        };
        let (token, prior_intent) = match self.claim(&transition).await? {
            Claimed::Acquired {
                token,
                prior_intent,
            } => (token, prior_intent),
            Claimed::Settled((action, detail)) => return Ok(base(action, detail)),
        };
        let done = self
            .scale(alarm, &group, &incident, &transition, &token, prior_intent)
            .await;
        let what = format!("scale {group}");
        let (action, detail, desired) = self
            .settle(&transition, &token, &incident, &what, done)
            .await?;
        Ok(Outcome {
            desired,
            ..base(action, detail)
        })
    }

    /// The part of a group alarm done under the claim: decide, act, record.
    async fn scale(
        &self,
        alarm: &Alarm,
        group: &str,
        incident: &IncidentId,
        transition: &str,
        token: &str,
        prior_intent: Option<Intent>,
    ) -> Result<(Action, String, Option<i32>), HandlerError> {
        let capacity = self
            .groups
            .capacity(group)
            .await
            .map_err(during(format!("reading group {group}")))?;

        // An earlier holder set out to make this change and the group shows it made it
        // (its answer was lost, or it failed before recording it): record it as that holder
        // would have, do not repeat it.
        if let Some(intent) = prior_intent
            && intent.from != intent.to
            && capacity.desired == intent.to
        {
            tracing::info!(
                transition,
                from = intent.from,
                to = intent.to,
                "an earlier attempt of this transition made the change; recording it"
            );
            self.record_scaled(group, incident, transition, &intent)
                .await?;
            return Ok((Action::Scaled, intent.detail, Some(intent.to)));
        }

        let decision = match self.metric_value(alarm).await? {
            Some(value) => {
                let direction = alarm.direction.and_then(|d| {
                    let (lower, upper) = alarm
                        .event
                        .reason_data
                        .as_ref()
                        .map(|r| r.band())
                        .unwrap_or((None, None));
                    d.resolve(value, lower, upper)
                        .or_else(|| Direction::from_alarm_reason(&alarm.event.reason))
                });
                match direction {
                    Some(direction) => {
                        self.decide(alarm, group, direction, value, capacity)
                            .await?
                    }
                    None => {
                        Err("cannot tell which side of its threshold the alarm fired on".into())
                    }
                }
            }
            None => Err("no datapoints in the event or from GetMetricData".into()),
        };
        let decision = match decision {
            Ok(d) => d,
            Err(why) => {
                let detail = format!("no change: {why}");
                self.note(incident, transition, "decided", &detail).await?;
                return Ok((Action::NoChange, detail, Some(capacity.desired)));
            }
        };
        match decision {
            ScalingDecision::NoChange { .. } => {
                let detail = decision.to_string();
                self.note(incident, transition, "decided", &detail).await?;
                Ok((Action::NoChange, detail, Some(capacity.desired)))
            }
            ScalingDecision::ScaleTo { .. } if self.settings.dry_run => {
                let detail = format!("dry run, capacity unchanged: would scale {group} {decision}");
                self.note(incident, transition, "decided", &detail).await?;
                Ok((Action::DryRun, detail, Some(capacity.desired)))
            }
            ScalingDecision::ScaleTo { from, to, .. } => {
                let intent = Intent {
                    from,
                    to,
                    detail: format!("scaled {group} {decision}"),
                };
                self.ledger
                    .record_intent(transition, token, &intent)
                    .await
                    .map_err(|e| during("recording the intended change")(ScalingError::from(e)))?;
                self.groups
                    .set_desired_capacity(group, to)
                    .await
                    .map_err(during(format!(
                        "setting the desired capacity of {group} to {to}"
                    )))?;
                self.record_scaled(group, incident, transition, &intent)
                    .await?;
                Ok((Action::Scaled, intent.detail, Some(to)))
            }
        }
    }

    async fn decide(
        &self,
        alarm: &Alarm,
        group: &str,
        direction: Direction,
        value: f64,
        capacity: GroupCapacity,
    ) -> Result<Result<ScalingDecision, String>, HandlerError> {
        let policy = &self.settings.policy;
        let tag = match incident::target_tag(&alarm.tags) {
            Ok(tag) => tag,
            Err(why) => return Ok(Err(why)),
        };
        let last_scale_out = match direction {
            Direction::Low => self
                .scale_outs
                .last_scale_out(group)
                .await
                .map_err(during("reading the last scale-out"))?,
            _ => None,
        };
        let metric = alarm
            .event
            .primary_metric()
            .map(|m| m.metric_name.clone())
            .unwrap_or_else(|| metric_context(&alarm.event, Some(direction)).metric);
        let input = ScalingInput {
            direction,
            metric,
            value,
            target: policy.target(direction, tag, alarm.threshold()),
            capacity,
            last_scale_out_ms: last_scale_out.map(Timestamp::as_millis),
            now_ms: self.clock.now().as_millis(),
        };
        Ok(Ok(policy.decide(&input)))
    }

    /// The value the policy acts on: the override (a group's average), else from
    /// reasonData, else read back with GetMetricData.
    pub(crate) async fn metric_value(&self, alarm: &Alarm) -> Result<Option<f64>, HandlerError> {
        if let Some(v) = alarm.value_override {
            return Ok(Some(v));
        }
        if let Some(v) = alarm
            .event
            .reason_data
            .as_ref()
            .and_then(representative_value)
        {
            return Ok(Some(v));
        }
        if matches!(alarm.event.kind, AlarmKind::Composite { .. }) {
            return Ok(None);
        }
        let Some(query) = MetricQuery::for_alarm(&alarm.event.kind) else {
            return Ok(None);
        };
        let end = Timestamp::from_millis(alarm.event.transition_time);
        let window = Duration::from_secs(u64::from(query.period) * u64::from(LOOKBACK_PERIODS));
        let values = self
            .metrics
            .recent_values(&query, end.saturating_sub(window), end)
            .await
            .map_err(during("reading the metric with GetMetricData"))?;
        Ok(values
            .into_iter()
            .filter(|v| v.is_finite())
            .reduce(f64::max))
    }

    /// A timeline entry about the transition, written once however often it is retried.
    pub(crate) async fn note(
        &self,
        incident: &IncidentId,
        transition: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), HandlerError> {
        self.incidents
            .append_timeline_once(
                incident,
                &self.entry(action, detail),
                &note_key(transition, action),
            )
            .await
            .map(drop)
            .map_err(|e| during("writing the timeline")(e).into())
    }

    async fn record_scaled(
        &self,
        group: &str,
        incident: &IncidentId,
        transition: &str,
        intent: &Intent,
    ) -> Result<(), HandlerError> {
        if intent.to > intent.from {
            self.scale_outs
                .record_scale_out(group, self.clock.now())
                .await
                .map_err(during("recording the scale-out time"))?;
        }
        self.note(incident, transition, "scaled", &intent.detail)
            .await
    }
}
