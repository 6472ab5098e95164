//! The alarm-scaler handler: decodes a CloudWatch alarm state change, reads what it needs to
//! know about the alarm, and hands it to its use case: a group's alarm scales the group
//! (`group_alarm`), the rest record, note or resolve incidents (`state_change`).

use std::collections::BTreeMap;

use apptrack_core::alarm::incident;
use apptrack_core::alarm::{AlarmEvent, AlarmState, Direction, GROUP_TAG, MetricContext};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::during;
use apptrack_core::incident::{
    DedupKey, Evidence, IncidentError, IncidentId, IncidentKind, Occurrence, TimelineEntry, Title,
};
use apptrack_core::ledger::{ActionLedger, Claim, Completion};
use apptrack_core::scaling::{
    AlarmDefinition, AlarmReader, CapacityController, Intent, MetricReader, ScaleOutLog,
    ScalingError,
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
pub struct Scaler<A, M, C, L, O, S, K> {
    pub alarms: A,
    pub metrics: M,
    pub groups: C,
    /// Exactly-once claims, one per alarm transition.
    pub ledger: L,
    /// Each group's last scale-out (the scale-in stabilization window).
    pub scale_outs: O,
    pub incidents: S,
    pub clock: K,
    pub settings: Settings,
}

/// The Lambda entry point: accepts any JSON and decodes it leniently.
impl<A, M, C, L, O, S, K> Function for Scaler<A, M, C, L, O, S, K>
where
    A: AlarmReader,
    M: MetricReader,
    C: CapacityController,
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
pub(crate) struct Alarm {
    pub(crate) event: AlarmEvent,
    /// Tags from the event, overridden by ListTagsForResource.
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) definition: Option<AlarmDefinition>,
    pub(crate) group: Option<String>,
    pub(crate) direction: Option<Direction>,
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

    pub(crate) fn resource(&self) -> &str {
        self.group.as_deref().unwrap_or(&self.event.alarm_name)
    }

    pub(crate) fn dedup_key(&self, kind: IncidentKind) -> Result<DedupKey, IncidentError> {
        DedupKey::new(SOURCE, kind, self.resource(), &self.event.alarm_name)
    }
}

impl<A, M, C, L, O, S, K> Scaler<A, M, C, L, O, S, K>
where
    A: AlarmReader,
    M: MetricReader,
    C: CapacityController,
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
        Ok(Alarm {
            event,
            tags,
            definition,
            group,
            direction,
        })
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
        let key = alarm.dedup_key(kind)?;
        let resource = alarm.resource();
        let service = incident::service(&alarm.tags, resource);
        let (title, sev) = incident::headline(
            alarm.group.as_deref(),
            alarm.direction,
            kind,
            ctx,
            &alarm.event.alarm_name,
        );
        let at = Timestamp::from_millis(alarm.event.transition_time);
        let data = serde_json::to_value(ctx).unwrap_or(Value::Null);
        let occ = Occurrence {
            summary: ctx.summary.clone(),
            evidence: vec![Evidence::new(at, &ctx.summary, data)],
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

/// A claim this delivery holds, or how the transition was already settled.
pub(crate) enum Claimed {
    Acquired {
        token: String,
        prior_intent: Option<Intent>,
    },
    Settled((Action, String)),
}
