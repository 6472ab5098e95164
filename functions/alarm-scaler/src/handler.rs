//! The alarm-scaler handler: decodes a CloudWatch alarm state change, reads what it needs to
//! know about the alarm, and hands it to its use case: a group's alarm scales the group
//! (`group_alarm`), the rest record, note or resolve incidents (`state_change`).

use std::collections::BTreeMap;

use apptrack_core::alarm::hot::INSTANCE_DIMENSION;
use apptrack_core::alarm::incident;
use apptrack_core::alarm::{AlarmEvent, AlarmState, Direction, GROUP_TAG, MetricContext};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::{Failure as _, during};
use apptrack_core::incident::{
    DedupKey, Evidence, IncidentError, IncidentId, IncidentKind, Occurrence, Severity,
    TimelineEntry, Title,
};
use apptrack_core::ledger::{ActionLedger, Claim, Completion, note_key};
use apptrack_core::scaling::{
    AlarmDefinition, AlarmReader, CapacityController, InstanceDirectory, InstanceHealth,
    InstanceMembership, Intent, MetricReader, ScaleOutLog, ScalingError,
};
use apptrack_core::store::IncidentStore;
use apptrack_lambda::Function;
use serde_json::Value;

pub use crate::error::HandlerError;
use crate::outcome::outcome;
pub use crate::outcome::{Action, Outcome};
pub use crate::settings::Settings;

/// Who apptrack's timeline entries and incidents name as the actor.
pub const SOURCE: &str = "alarm-scaler";

/// Everything the handler works through: the ports, a clock and the settings.
pub struct Scaler<A, M, C, H, L, O, S, K> {
    pub alarms: A,
    pub metrics: M,
    pub groups: C,
    /// SetInstanceHealth, apart from the groups: ministack lacks it, so tests fake it alone.
    pub health: H,
    /// Exactly-once claims, one per alarm transition.
    pub ledger: L,
    /// Each group's last scale-out (the scale-in stabilization window).
    pub scale_outs: O,
    pub incidents: S,
    pub clock: K,
    pub settings: Settings,
}

/// The Lambda entry point: accepts any JSON and decodes it leniently.
impl<A, M, C, H, L, O, S, K> Function for Scaler<A, M, C, H, L, O, S, K>
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
    type Output = Outcome;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        Scaler::handle(self, event).await
    }
}

/// What the handler knows about an alarm once it has read its definition.
#[derive(Clone)]
pub(crate) struct Alarm {
    pub(crate) event: AlarmEvent,
    /// Tags from the event, overridden by ListTagsForResource.
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) definition: Option<AlarmDefinition>,
    pub(crate) group: Option<String>,
    pub(crate) direction: Option<Direction>,
    /// The instance an alarm without a group watches (an `InstanceId` dimension), and the
    /// group Auto Scaling has it in.
    pub(crate) instance: Option<(String, Option<InstanceMembership>)>,
    /// The value the scaling policy acts on instead of the alarm's own (a group's average
    /// when one instance's alarm finds the whole group busy).
    pub(crate) value_override: Option<f64>,
}

impl Alarm {
    pub(crate) fn threshold(&self) -> Option<f64> {
        self.definition
            .as_ref()
            .and_then(|d| d.threshold)
            .or_else(|| self.event.reason_data.as_ref().and_then(|r| r.threshold))
    }

    pub(crate) fn transition(&self) -> String {
        self.event.transition_key()
    }

    /// Saturation for a group; otherwise performance or availability by what the metric measures.
    pub(crate) fn kind(&self, ctx: &MetricContext) -> IncidentKind {
        incident::kind_of(self.group.as_deref(), &ctx.metric)
    }

    /// The group, else the instance, else the alarm itself.
    pub(crate) fn resource(&self) -> &str {
        self.group
            .as_deref()
            .or(self.instance.as_ref().map(|(id, _)| id.as_str()))
            .unwrap_or(&self.event.alarm_name)
    }

    pub(crate) fn dedup_key(&self, kind: IncidentKind) -> Result<DedupKey, IncidentError> {
        DedupKey::new(SOURCE, kind, self.resource(), &self.event.alarm_name)
    }

    /// The instance's group membership, when the alarm watches an instance Auto Scaling has.
    pub(crate) fn member(&self) -> Option<&InstanceMembership> {
        self.instance.as_ref().and_then(|(_, m)| m.as_ref())
    }

    /// The keys this alarm's incident may have been raised under: an instance's alarm raises
    /// a hot-instance incident, or its group's saturation, or (no group) its own kind.
    pub(crate) fn dedup_keys(&self, ctx: &MetricContext) -> Result<Vec<DedupKey>, IncidentError> {
        let own = self.dedup_key(self.kind(ctx))?;
        let Some(m) = self.member() else {
            return Ok(vec![own]);
        };
        let name = &self.event.alarm_name;
        Ok(vec![
            DedupKey::new(SOURCE, IncidentKind::HotInstance, &m.instance_id, name)?,
            DedupKey::new(SOURCE, IncidentKind::Saturation, &m.group, name)?,
            own,
        ])
    }

    /// This alarm as if it were its group's, judged on `value` (the group's average).
    pub(crate) fn as_group_alarm(&self, group: &str, value: Option<f64>) -> Alarm {
        Alarm {
            group: Some(group.to_owned()),
            instance: None,
            value_override: value,
            ..self.clone()
        }
    }
}

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
    /// Handles one delivery of an alarm state change.
    pub async fn handle(&self, payload: &Value) -> Result<Outcome, HandlerError> {
        let event = AlarmEvent::from_value(payload)?;
        for note in &event.notes {
            tracing::warn!(alarm = %event.alarm_name, note = %note, "lenient decoding");
        }
        if self.settings.ignore_target_tracking && event.is_target_tracking() {
            return Ok(outcome(
                &event,
                Action::Ignored,
                "managed by Auto Scaling target tracking".into(),
            ));
        }
        let alarm = self.read_alarm(event).await?;
        match alarm.event.state {
            AlarmState::Ok => self.on_ok(&alarm).await,
            AlarmState::InsufficientData => self.on_insufficient_data(&alarm).await,
            AlarmState::Alarm if alarm.group.is_some() => self.on_group_alarm(&alarm).await,
            AlarmState::Alarm if alarm.member().is_some() => self.on_instance_alarm(&alarm).await,
            AlarmState::Alarm => self.on_alarm_without_group(&alarm).await,
        }
    }

    pub(crate) async fn read_alarm(&self, event: AlarmEvent) -> Result<Alarm, HandlerError> {
        let definition = self
            .alarms
            .describe_alarm(&event.alarm_name)
            .await
            .map_err(during(format!("reading alarm {}", event.alarm_name)))?;
        let mut tags = event.tags.clone();
        if let Some(d) = &definition {
            tags.extend(d.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let group = event
            .group_from_dimensions()
            .or_else(|| {
                definition
                    .as_ref()
                    .and_then(|d| d.dimensions.get("AutoScalingGroupName"))
                    .map(String::as_str)
            })
            .or_else(|| tags.get(GROUP_TAG).map(String::as_str))
            .filter(|g| !g.trim().is_empty())
            .map(str::to_owned);
        let direction = definition
            .as_ref()
            .and_then(|d| d.comparison_operator.as_deref())
            .and_then(Direction::from_comparison_operator)
            .or_else(|| match event.state {
                AlarmState::Alarm => Direction::from_alarm_reason(&event.reason),
                _ => None,
            });
        let instance = match &group {
            Some(_) => None,
            None => self.locate_instance(&event, definition.as_ref()).await?,
        };
        Ok(Alarm {
            event,
            tags,
            definition,
            group,
            direction,
            instance,
            value_override: None,
        })
    }

    /// The instance an alarm's metric names, and its group (DescribeAutoScalingInstances).
    async fn locate_instance(
        &self,
        event: &AlarmEvent,
        definition: Option<&AlarmDefinition>,
    ) -> Result<Option<(String, Option<InstanceMembership>)>, HandlerError> {
        let id = event
            .primary_metric()
            .and_then(|m| m.dimensions.get(INSTANCE_DIMENSION))
            .or_else(|| definition.and_then(|d| d.dimensions.get(INSTANCE_DIMENSION)))
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        let Some(id) = id else {
            return Ok(None);
        };
        let membership = self
            .groups
            .locate(&id)
            .await
            .map_err(during(format!("finding the group of instance {id}")))?;
        Ok(Some((id, membership)))
    }

    pub(crate) fn entry(&self, action: &str, detail: &str) -> TimelineEntry {
        TimelineEntry::new(self.clock.now(), SOURCE, action, detail)
    }

    /// Opens or adds to the alarm's incident; the transition key makes redelivery a no-op.
    pub(crate) async fn raise(
        &self,
        alarm: &Alarm,
        ctx: &MetricContext,
    ) -> Result<IncidentId, HandlerError> {
        let kind = alarm.kind(ctx);
        let (mut title, sev) = incident::headline(
            alarm.group.as_deref(),
            alarm.direction,
            kind,
            ctx,
            &alarm.event.alarm_name,
        );
        if let Some((id, None)) = &alarm.instance {
            title = format!(
                "{kind}: {} on {id} ({})",
                ctx.metric, alarm.event.alarm_name
            );
        }
        let data = serde_json::to_value(ctx).unwrap_or(Value::Null);
        self.raise_as(
            alarm,
            kind,
            alarm.resource(),
            (title, sev),
            &ctx.summary,
            data,
        )
        .await
    }

    /// Opens or adds to an incident of `kind` on `resource` for this alarm's transition.
    pub(crate) async fn raise_as(
        &self,
        alarm: &Alarm,
        kind: IncidentKind,
        resource: &str,
        (title, sev): (String, Severity),
        summary: &str,
        data: Value,
    ) -> Result<IncidentId, HandlerError> {
        let key = DedupKey::new(SOURCE, kind, resource, &alarm.event.alarm_name)?;
        let service = incident::service(&alarm.tags, alarm.group.as_deref().unwrap_or(resource));
        let at = Timestamp::from_millis(alarm.event.transition_time);
        let occ = Occurrence {
            summary: summary.to_owned(),
            evidence: vec![Evidence::new(at, summary, data)],
            idempotency_key: Some(alarm.transition()),
            ..Occurrence::new(
                key,
                kind,
                sev,
                SOURCE,
                service,
                resource,
                Title::truncated(&title),
                at,
            )
        };
        let raised = self
            .incidents
            .raise(&occ)
            .await
            .map_err(during("recording the incident"))?;
        Ok(raised.id)
    }

    pub(crate) async fn claim(&self, transition: &str) -> Result<Claimed, HandlerError> {
        let claim = self
            .ledger
            .claim::<Intent>(transition, self.clock.now())
            .await
            .map_err(|e| during("claiming the transition")(ScalingError::from(e)))?;
        Ok(match claim {
            Claim::Acquired {
                token,
                prior_intent,
            } => Claimed::Acquired {
                token,
                prior_intent,
            },
            Claim::HeldElsewhere => Claimed::Settled((
                Action::InProgressElsewhere,
                "another delivery of this transition is acting on it".into(),
            )),
            Claim::Done { outcome } => {
                Claimed::Settled((Action::Duplicate, format!("already handled: {outcome}")))
            }
            Claim::Failed { error } => return Err(crate::error::failed_earlier(error)),
        })
    }

    /// Gives a claim up after a retryable failure; if even that fails, the lease runs out.
    pub(crate) async fn release(&self, transition: &str, token: &str) {
        if let Err(e) = self.ledger.release(transition, token).await {
            tracing::warn!(transition, error = %e, "could not release the claim; it expires with its lease");
        }
    }

    /// Closes the claim. When that fails the invocation fails too, retryably: the claim's
    /// lease runs out, and the retry that takes it over finds the recorded intent (the change
    /// is not repeated) and the notes already written (they are written once per transition).
    pub(crate) async fn complete(
        &self,
        transition: &str,
        token: &str,
        completion: Completion,
    ) -> Result<(), HandlerError> {
        self.ledger
            .complete(transition, token, &completion, self.clock.now())
            .await
            .map_err(|e| {
                during("recording the outcome of the transition")(ScalingError::from(e)).into()
            })
    }
}

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
    /// Ends the work done under a claim: closes it on success; gives it up after a
    /// retryable failure; after a permanent one, says so on the incident and fails every
    /// redelivery the same way (so the event reaches the on-failure destination).
    pub(crate) async fn settle<T>(
        &self,
        transition: &str,
        token: &str,
        incident: &IncidentId,
        what: &str,
        done: Result<(Action, String, T), HandlerError>,
    ) -> Result<(Action, String, T), HandlerError> {
        match done {
            Ok((action, detail, extra)) => {
                self.complete(transition, token, Completion::Done(detail.clone()))
                    .await?;
                Ok((action, detail, extra))
            }
            Err(e) if e.is_retryable() => {
                self.release(transition, token).await;
                Err(e)
            }
            Err(e) => {
                let note = self.entry("failed", &format!("could not {what}: {e}"));
                let key = note_key(transition, "failed");
                if let Err(te) = self
                    .incidents
                    .append_timeline_once(incident, &note, &key)
                    .await
                {
                    tracing::warn!(error = %te, "could not note the failure on the incident");
                }
                let failed = Completion::Failed(e.to_string());
                if let Err(ce) = self.complete(transition, token, failed).await {
                    tracing::warn!(error = %ce, "could not record the failure; a redelivery meets it again");
                }
                Err(e)
            }
        }
    }
}

/// A claim this delivery holds, or how the transition was already settled.
pub(crate) enum Claimed {
    Acquired {
        token: String,
        prior_intent: Option<Intent>,
    },
    Settled((Action, String)),
}
