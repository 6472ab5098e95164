//! An alarm on one instance (an `InstanceId` dimension) in ALARM. Its group is read from
//! Auto Scaling and the group's own average from CloudWatch; then, as an operator would:
//! a busy group is scaled out by the group policy (exactly once per transition); one hot
//! instance in a quiet group is a `hot-instance` incident, and, only where the group is
//! tagged `apptrack:replace-hot=true`, is marked unhealthy so the group replaces it (once,
//! never below the group's minimum in service).

use std::time::Duration;

use apptrack_core::alarm::hot::{self, Assessment, Verdict};
use apptrack_core::alarm::{Direction, incident, metric_context};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::during;
use apptrack_core::incident::{IncidentId, IncidentKind};
use apptrack_core::ledger::ActionLedger;
use apptrack_core::scaling::{
    AlarmReader, CapacityController, InstanceDirectory, InstanceHealth, InstanceMembership, Intent,
    MetricQuery, MetricReader, ScaleOutLog, ScalingError,
};
use apptrack_core::store::IncidentStore;

use crate::group_alarm::LOOKBACK_PERIODS;
use crate::handler::{Action, Alarm, Claimed, HandlerError, Outcome, Scaler};
use crate::outcome::outcome;

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
    pub(crate) async fn on_instance_alarm(&self, alarm: &Alarm) -> Result<Outcome, HandlerError> {
        let Some(member) = alarm.member().cloned() else {
            return self.on_alarm_without_group(alarm).await;
        };
        // An instance running cold says nothing about its group's size.
        if alarm.direction == Some(Direction::Low) {
            return self.on_alarm_without_group(alarm).await;
        }
        let assessment = self.assess(alarm, &member).await?;
        if assessment.verdict == Verdict::GroupBusy {
            let as_group = alarm.as_group_alarm(&member.group, assessment.group_average);
            let out = self.on_group_alarm(&as_group).await?;
            if let Some(id) = &out.incident_id {
                self.note(id, &alarm.transition(), "assessed", &assessment.to_string())
                    .await?;
            }
            return Ok(Outcome {
                detail: format!("{assessment}; {}", out.detail),
                ..out
            });
        }
        self.hot_instance(alarm, &member, &assessment).await
    }

    /// The instance's figure against its group's average over the alarm's window, which
    /// ends at the transition, so every redelivery reads the same stored datapoints.
    async fn assess(
        &self,
        alarm: &Alarm,
        member: &InstanceMembership,
    ) -> Result<Assessment, HandlerError> {
        let metric = alarm.event.primary_metric().cloned();
        let name = metric
            .as_ref()
            .map_or_else(|| "the metric".to_owned(), |m| m.metric_name.clone());
        let group_average = match &metric {
            Some(m) => {
                let query = MetricQuery::group_average(m, &member.group);
                let end = Timestamp::from_millis(alarm.event.transition_time);
                let window =
                    Duration::from_secs(u64::from(query.period) * u64::from(LOOKBACK_PERIODS));
                let values = self
                    .metrics
                    .recent_values(&query, end.saturating_sub(window), end)
                    .await
                    .map_err(during(format!("reading {}'s average {name}", member.group)))?;
                hot::mean(&values)
            }
            None => None,
        };
        let tag = incident::target_tag(&alarm.tags).ok().flatten();
        let target = self
            .settings
            .policy
            .target(Direction::High, tag, alarm.threshold())
            .map(|t| t.value);
        Ok(Assessment::new(
            &member.instance_id,
            &member.group,
            &name,
            self.metric_value(alarm).await?,
            group_average,
            target,
            self.settings.busy_fraction,
        ))
    }

    async fn hot_instance(
        &self,
        alarm: &Alarm,
        member: &InstanceMembership,
        assessment: &Assessment,
    ) -> Result<Outcome, HandlerError> {
        let ctx = metric_context(&alarm.event, alarm.direction);
        let data = serde_json::json!({ "assessment": assessment, "metric": ctx });
        let why = assessment.to_string();
        let incident = self
            .raise_as(
                alarm,
                IncidentKind::HotInstance,
                &member.instance_id,
                assessment.headline(),
                &why,
                data,
            )
            .await?;
        let transition = alarm.transition();
        self.note(&incident, &transition, "assessed", &why).await?;
        let result = |action, detail: String| Outcome {
            incident_id: Some(incident.clone()),
            group: Some(member.group.clone()),
            ..outcome(&alarm.event, action, detail)
        };
        let tags = self
            .groups
            .group_tags(&member.group)
            .await
            .map_err(during(format!("reading the tags of {}", member.group)))?;
        if assessment.verdict != Verdict::InstanceHot || !hot::replace_allowed(&tags) {
            let detail = format!(
                "{why}; not replaced (the group tag {}=true allows it)",
                hot::REPLACE_HOT_TAG
            );
            return Ok(result(Action::HotInstance, detail));
        }
        let (token, prior_intent) = match self.claim(&transition).await? {
            Claimed::Acquired {
                token,
                prior_intent,
            } => (token, prior_intent),
            Claimed::Settled((action, detail)) => return Ok(result(action, detail)),
        };
        let done = self
            .replace(member, &incident, &transition, &token, prior_intent)
            .await;
        let what = format!("replace {}", member.instance_id);
        let (action, detail, ()) = self
            .settle(&transition, &token, &incident, &what, done)
            .await?;
        Ok(result(action, detail))
    }

    /// Under the claim: mark the instance unhealthy unless that would leave the group under
    /// its minimum in service (or, dry run, only say so).
    async fn replace(
        &self,
        member: &InstanceMembership,
        incident: &IncidentId,
        transition: &str,
        token: &str,
        prior_intent: Option<Intent>,
    ) -> Result<(Action, String, ()), HandlerError> {
        let id = &member.instance_id;
        let group = &member.group;
        // An earlier holder set out to mark it and Auto Scaling shows it did (or already
        // replaced it): record that, do not mark it twice.
        if let Some(intent) = prior_intent {
            let now = self
                .groups
                .locate(id)
                .await
                .map_err(during(format!("finding instance {id}")))?;
            if now.is_none_or(|m| !m.healthy) {
                self.note(incident, transition, "replaced", &intent.detail)
                    .await?;
                return Ok((Action::Replaced, intent.detail, ()));
            }
        }
        let capacity = self
            .groups
            .capacity(group)
            .await
            .map_err(during(format!("reading group {group}")))?;
        if let Err(why) = hot::may_replace(&capacity, member.serving()) {
            let detail = format!("{id} not replaced: {why}");
            self.note(incident, transition, "decided", &detail).await?;
            return Ok((Action::HotInstance, detail, ()));
        }
        let detail = format!("marked {id} unhealthy; {group} replaces it");
        if self.settings.dry_run {
            let detail = format!("dry run, instance untouched: would have {detail}");
            self.note(incident, transition, "decided", &detail).await?;
            return Ok((Action::DryRun, detail, ()));
        }
        let intent = Intent {
            from: capacity.in_service,
            to: capacity.in_service - 1,
            detail,
        };
        self.ledger
            .record_intent(transition, token, &intent)
            .await
            .map_err(|e| during("recording the intended replacement")(ScalingError::from(e)))?;
        self.health
            .mark_unhealthy(id)
            .await
            .map_err(during(format!("marking {id} unhealthy")))?;
        self.note(incident, transition, "replaced", &intent.detail)
            .await?;
        Ok((Action::Replaced, intent.detail, ()))
    }

    /// Where an instance that no group has stands: still reporting, or gone.
    pub(crate) async fn whereabouts(
        &self,
        alarm: &Alarm,
        instance: &str,
    ) -> Result<String, HandlerError> {
        let Some(query) = MetricQuery::for_alarm(&alarm.event.kind) else {
            return Ok(format!(
                "{instance} is in no Auto Scaling group: nothing to provision"
            ));
        };
        let window = Duration::from_secs(u64::from(query.period) * u64::from(LOOKBACK_PERIODS));
        let now = self.clock.now();
        let values = self
            .metrics
            .recent_values(&query, now.saturating_sub(window), now)
            .await
            .map_err(during(format!("reading the recent values of {instance}")))?;
        Ok(if values.is_empty() {
            format!(
                "{instance} is in no Auto Scaling group and has reported nothing for {} min: \
                 it no longer exists or is stopped",
                window.as_secs() / 60
            )
        } else {
            format!("{instance} is in no Auto Scaling group: nothing to provision")
        })
    }
}
