//! The alarm-scaler handler: decodes a CloudWatch alarm state change, scales the alarm's
//! Auto Scaling group through the ports (exactly once per transition), and records incidents.

use std::collections::BTreeMap;
use std::time::Duration;

use apptrack_core::alarm::{
    AlarmEvent, AlarmEventError, AlarmKind, AlarmState, Direction, GROUP_TAG, MetricContext,
    ScalingDecision, ScalingInput, ScalingPolicy, SeveritySuggestion, metric_context,
    representative_value,
};
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::Failure;
use apptrack_core::incident::{
    DedupKey, Evidence, IncidentError, IncidentId, IncidentKind, Occurrence, Severity,
    TimelineEntry, Title,
};
use apptrack_core::ledger::{ActionLedger, Claim, Completion, note_key};
use apptrack_core::scaling::{
    AlarmDefinition, AlarmReader, CapacityController, Intent, MetricQuery, MetricReader,
    ScaleOutLog, ScalingError,
};
use apptrack_core::settings::{SettingsError, StoreSettings, flag, parse_or};
use apptrack_core::store::{IncidentStore, StoreError};
use apptrack_lambda::Function;
use serde::Serialize;
use serde_json::Value;

/// Who apptrack's timeline entries and incidents name as the actor.
pub const SOURCE: &str = "alarm-scaler";
/// Alarm tag with the metric value the group should run at (overrides the threshold fraction).
pub const TARGET_TAG: &str = "apptrack:target";
/// Alarm tag naming the service an incident belongs to (default: the group or alarm).
pub const SERVICE_TAG: &str = "apptrack:service";
/// Evaluation periods read back with GetMetricData when reasonData has no values.
const LOOKBACK_PERIODS: u32 = 5;

/// The function's settings, read once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// `APPTRACK_DRY_RUN` (default false): decide and record, never change capacity.
    pub dry_run: bool,
    /// `APPTRACK_IGNORE_TARGET_TRACKING` (default true): skip `TargetTracking-*` alarms.
    pub ignore_target_tracking: bool,
    /// `APPTRACK_TARGET_FRACTION` (default 0.8) and
    /// `APPTRACK_SCALE_IN_STABILIZATION_SECS` (default 300) land here.
    pub policy: ScalingPolicy,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let store = StoreSettings::from_lookup(&get)?;
        let defaults = ScalingPolicy::default();
        let target_fraction = parse_or(
            &get,
            "APPTRACK_TARGET_FRACTION",
            defaults.target_fraction,
            |f: &f64| f.is_finite() && *f > 0.0 && *f <= 1.0,
            "a fraction greater than 0 and at most 1",
        )?;
        let stabilization = parse_or(
            &get,
            "APPTRACK_SCALE_IN_STABILIZATION_SECS",
            defaults.stabilization.as_secs(),
            |s: &u64| *s <= 86_400,
            "a whole number of seconds from 0 to 86400",
        )?;
        let ignore_target_tracking = match get("APPTRACK_IGNORE_TARGET_TRACKING") {
            Some(v) if !v.trim().is_empty() => flag(&get, "APPTRACK_IGNORE_TARGET_TRACKING")?,
            _ => true,
        };
        Ok(Settings {
            store,
            dry_run: flag(&get, "APPTRACK_DRY_RUN")?,
            ignore_target_tracking,
            policy: ScalingPolicy {
                target_fraction,
                stabilization: Duration::from_secs(stabilization),
                ..defaults
            },
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Why an invocation failed; each variant says whether Lambda should retry it.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad alarm event: {0}")]
    BadEvent(#[from] AlarmEventError),
    #[error("{context}: {source}")]
    Scaling {
        context: String,
        source: ScalingError,
    },
    #[error("{context}: {source}")]
    Store { context: String, source: StoreError },
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
    /// An earlier delivery of this transition failed permanently; this one would too.
    #[error("this alarm transition already failed: {0}")]
    FailedEarlier(String),
}

impl HandlerError {
    fn scaling(context: impl Into<String>) -> impl FnOnce(ScalingError) -> Self {
        let context = context.into();
        move |source| HandlerError::Scaling { context, source }
    }

    fn store(context: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        let context = context.into();
        move |source| HandlerError::Store { context, source }
    }
}

impl Failure for HandlerError {
    fn kind(&self) -> &'static str {
        match self {
            HandlerError::BadEvent(e) => e.kind(),
            HandlerError::Identity(e) => e.kind(),
            HandlerError::FailedEarlier(_) => "FailedEarlier",
            HandlerError::Scaling { source, .. } => source.kind(),
            HandlerError::Store { source, .. } => source.kind(),
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::Scaling { source, .. } => source.is_retryable(),
            HandlerError::Store { source, .. } => source.is_retryable(),
            HandlerError::BadEvent(_)
            | HandlerError::Identity(_)
            | HandlerError::FailedEarlier(_) => false,
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Capacity changed.
    Scaled,
    /// A change was decided and recorded, not made (dry run).
    DryRun,
    /// The policy left the group alone (the reason is in `detail`).
    NoChange,
    /// This transition was already handled by another delivery.
    Duplicate,
    /// Another delivery holds the claim on this transition and acts.
    InProgressElsewhere,
    /// Target tracking manages the alarm.
    Ignored,
    /// An alarm with no group: a performance or availability incident.
    IncidentRecorded,
    Resolved,
    /// INSUFFICIENT_DATA: a timeline note, nothing else.
    Noted,
    /// Nothing to do (e.g. OK with no open incident).
    Nothing,
}

/// The invocation's response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub alarm: String,
    #[serde(serialize_with = "state_as_cloudwatch_spells_it")]
    pub state: AlarmState,
    pub action: Action,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<i32>,
}

fn state_as_cloudwatch_spells_it<S: serde::Serializer>(
    state: &AlarmState,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

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
struct Alarm {
    event: AlarmEvent,
    /// Tags from the event, overridden by ListTagsForResource.
    tags: BTreeMap<String, String>,
    definition: Option<AlarmDefinition>,
    group: Option<String>,
    direction: Option<Direction>,
}

impl Alarm {
    fn threshold(&self) -> Option<f64> {
        self.definition
            .as_ref()
            .and_then(|d| d.threshold)
            .or_else(|| self.event.reason_data.as_ref().and_then(|r| r.threshold))
    }

    fn transition(&self) -> String {
        self.event.transition_key()
    }

    /// Saturation for a group; otherwise performance or availability by what the metric measures.
    fn kind(&self, ctx: &MetricContext) -> IncidentKind {
        if self.group.is_some() {
            IncidentKind::Saturation
        } else {
            classify(&ctx.metric)
        }
    }

    fn resource(&self) -> &str {
        self.group.as_deref().unwrap_or(&self.event.alarm_name)
    }

    fn dedup_key(&self, kind: IncidentKind) -> Result<DedupKey, IncidentError> {
        DedupKey::new(SOURCE, kind, self.resource(), &self.event.alarm_name)
    }
}

/// Availability when the metric counts failures, otherwise performance.
pub fn classify(metric: &str) -> IncidentKind {
    const FAILURE_WORDS: [&str; 9] = [
        "5xx",
        "error",
        "fault",
        "unhealthy",
        "healthyhost",
        "statuscheck",
        "availab",
        "failed",
        "deadletter",
    ];
    let m = metric.to_ascii_lowercase();
    if FAILURE_WORDS.iter().any(|w| m.contains(w)) {
        IncidentKind::Availability
    } else {
        IncidentKind::Performance
    }
}

fn severity(s: SeveritySuggestion) -> Severity {
    match s {
        SeveritySuggestion::High => Severity::High,
        SeveritySuggestion::Medium => Severity::Medium,
        SeveritySuggestion::Low => Severity::Low,
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

    async fn read_alarm(&self, event: AlarmEvent) -> Result<Alarm, HandlerError> {
        let definition = self
            .alarms
            .describe_alarm(&event.alarm_name)
            .await
            .map_err(HandlerError::scaling(format!(
                "reading alarm {}",
                event.alarm_name
            )))?;
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

    fn entry(&self, action: &str, detail: &str) -> TimelineEntry {
        TimelineEntry::new(self.clock.now(), SOURCE, action, detail)
    }

    /// Opens or adds to the alarm's incident; the transition key makes redelivery a no-op.
    async fn raise(&self, alarm: &Alarm, ctx: &MetricContext) -> Result<IncidentId, HandlerError> {
        let kind = alarm.kind(ctx);
        let key = alarm.dedup_key(kind)?;
        let resource = alarm.resource();
        let service = alarm.tags.get(SERVICE_TAG).map_or(resource, String::as_str);
        let (title, sev) = match (&alarm.group, alarm.direction) {
            (Some(g), Some(Direction::Low)) => (
                format!(
                    "{g} under-used: {} ({})",
                    ctx.metric, alarm.event.alarm_name
                ),
                Severity::Low,
            ),
            (Some(g), _) => (
                format!("{g} saturated: {} ({})", ctx.metric, alarm.event.alarm_name),
                severity(ctx.severity),
            ),
            (None, _) => (
                format!("{}: {} ({})", kind, ctx.metric, alarm.event.alarm_name),
                severity(ctx.severity),
            ),
        };
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
            .map_err(HandlerError::store("recording the incident"))?;
        Ok(raised.id)
    }

    async fn on_alarm_without_group(&self, alarm: &Alarm) -> Result<Outcome, HandlerError> {
        let ctx = metric_context(&alarm.event, alarm.direction);
        let id = self.raise(alarm, &ctx).await?;
        Ok(Outcome {
            incident_id: Some(id),
            ..outcome(&alarm.event, Action::IncidentRecorded, ctx.summary)
        })
    }

    async fn active_incident(
        &self,
        alarm: &Alarm,
    ) -> Result<Option<apptrack_core::incident::Incident>, HandlerError> {
        let ctx = metric_context(&alarm.event, alarm.direction);
        let key = alarm.dedup_key(alarm.kind(&ctx))?;
        self.incidents
            .active_for_key(&key)
            .await
            .map_err(HandlerError::store("finding the open incident"))
    }

    async fn on_ok(&self, alarm: &Alarm) -> Result<Outcome, HandlerError> {
        let Some(inc) = self.active_incident(alarm).await? else {
            return Ok(with_group(
                alarm,
                outcome(&alarm.event, Action::Nothing, "no open incident".into()),
            ));
        };
        let detail = format!("alarm returned to OK: {}", alarm.event.reason);
        let entry = self.entry("resolved", &detail);
        match self
            .incidents
            .resolve(&inc.id, &entry, self.settings.store.retention)
            .await
        {
            // A concurrent delivery resolved it first: the same end state.
            Ok(_) | Err(StoreError::Invalid(IncidentError::InvalidTransition { .. })) => {}
            Err(e) => return Err(HandlerError::store("resolving the incident")(e)),
        }
        Ok(Outcome {
            incident_id: Some(inc.id),
            ..with_group(alarm, outcome(&alarm.event, Action::Resolved, detail))
        })
    }

    async fn on_insufficient_data(&self, alarm: &Alarm) -> Result<Outcome, HandlerError> {
        let Some(inc) = self.active_incident(alarm).await? else {
            return Ok(with_group(
                alarm,
                outcome(&alarm.event, Action::Nothing, "no open incident".into()),
            ));
        };
        let detail = format!(
            "alarm has insufficient data; not acted on: {}",
            alarm.event.reason
        );
        let transition = alarm.transition();
        let done = |action, detail: String| {
            Ok(Outcome {
                incident_id: Some(inc.id.clone()),
                ..with_group(alarm, outcome(&alarm.event, action, detail))
            })
        };
        // The ledger keeps redeliveries from writing the note twice.
        let token = match self.claim(&transition).await? {
            Claimed::Acquired { token, .. } => token,
            Claimed::Settled(o) => return done(o.0, o.1),
        };
        let written = self
            .incidents
            .append_timeline_once(
                &inc.id,
                &self.entry("noted", &detail),
                &note_key(&transition, "noted"),
            )
            .await;
        if let Err(e) = written {
            self.release(&transition, &token).await;
            return Err(HandlerError::store("noting insufficient data")(e));
        }
        self.complete(&transition, &token, Completion::Done(detail.clone()))
            .await?;
        done(Action::Noted, detail)
    }

    async fn claim(&self, transition: &str) -> Result<Claimed, HandlerError> {
        let claim = self
            .ledger
            .claim::<Intent>(transition, self.clock.now())
            .await
            .map_err(|e| HandlerError::scaling("claiming the transition")(e.into()))?;
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
            Claim::Failed { error } => return Err(HandlerError::FailedEarlier(error)),
        })
    }

    /// Gives a claim up after a retryable failure; if even that fails, the lease runs out.
    async fn release(&self, transition: &str, token: &str) {
        if let Err(e) = self.ledger.release(transition, token).await {
            tracing::warn!(transition, error = %e, "could not release the claim; it expires with its lease");
        }
    }

    /// Closes the claim. When that fails the invocation fails too, retryably: the claim's
    /// lease runs out, and the retry that takes it over finds the recorded intent (the change
    /// is not repeated) and the notes already written (they are written once per transition).
    async fn complete(
        &self,
        transition: &str,
        token: &str,
        completion: Completion,
    ) -> Result<(), HandlerError> {
        self.ledger
            .complete(transition, token, &completion, self.clock.now())
            .await
            .map_err(|e| HandlerError::scaling("recording the outcome of the transition")(e.into()))
    }

    async fn on_group_alarm(&self, alarm: &Alarm) -> Result<Outcome, HandlerError> {
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
        match self
            .scale(alarm, &group, &incident, &transition, &token, prior_intent)
            .await
        {
            Ok((action, detail, desired)) => {
                self.complete(&transition, &token, Completion::Done(detail.clone()))
                    .await?;
                Ok(Outcome {
                    desired,
                    ..base(action, detail)
                })
            }
            Err(e) if e.is_retryable() => {
                self.release(&transition, &token).await;
                Err(e)
            }
            Err(e) => {
                // A permanent problem: say so on the incident, and fail every redelivery
                // the same way (so the event reaches the on-failure destination).
                let note = self.entry("failed", &format!("could not scale {group}: {e}"));
                let key = note_key(&transition, "failed");
                if let Err(te) = self
                    .incidents
                    .append_timeline_once(&incident, &note, &key)
                    .await
                {
                    tracing::warn!(error = %te, "could not note the failure on the incident");
                }
                let failed = Completion::Failed(e.to_string());
                if let Err(ce) = self.complete(&transition, &token, failed).await {
                    tracing::warn!(error = %ce, "could not record the failure; a redelivery meets it again");
                }
                Err(e)
            }
        }
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
            .map_err(HandlerError::scaling(format!("reading group {group}")))?;

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
                    .map_err(|e| {
                        HandlerError::scaling("recording the intended change")(e.into())
                    })?;
                self.groups.set_desired_capacity(group, to).await.map_err(
                    HandlerError::scaling(format!(
                        "setting the desired capacity of {group} to {to}"
                    )),
                )?;
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
        capacity: apptrack_core::alarm::GroupCapacity,
    ) -> Result<Result<ScalingDecision, String>, HandlerError> {
        let policy = &self.settings.policy;
        let tag = match alarm.tags.get(TARGET_TAG) {
            None => None,
            Some(t) => match t.trim().parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => return Ok(Err(format!("tag {TARGET_TAG}={t:?} is not a number"))),
            },
        };
        let last_scale_out = match direction {
            Direction::Low => self
                .scale_outs
                .last_scale_out(group)
                .await
                .map_err(HandlerError::scaling("reading the last scale-out"))?,
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

    /// The value the policy acts on: from reasonData, else read back with GetMetricData.
    async fn metric_value(&self, alarm: &Alarm) -> Result<Option<f64>, HandlerError> {
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
            .map_err(HandlerError::scaling(
                "reading the metric with GetMetricData",
            ))?;
        Ok(values
            .into_iter()
            .filter(|v| v.is_finite())
            .reduce(f64::max))
    }

    /// A timeline entry about the transition, written once however often it is retried.
    async fn note(
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
            .map_err(HandlerError::store("writing the timeline"))
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
                .map_err(HandlerError::scaling("recording the scale-out time"))?;
        }
        self.note(incident, transition, "scaled", &intent.detail)
            .await
    }
}

/// A claim this delivery holds, or how the transition was already settled.
enum Claimed {
    Acquired {
        token: String,
        prior_intent: Option<Intent>,
    },
    Settled((Action, String)),
}

fn outcome(event: &AlarmEvent, action: Action, detail: String) -> Outcome {
    Outcome {
        alarm: event.alarm_name.clone(),
        state: event.state,
        action,
        detail,
        group: None,
        incident_id: None,
        desired: None,
    }
}

fn with_group(alarm: &Alarm, o: Outcome) -> Outcome {
    Outcome {
        group: alarm.group.clone(),
        ..o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apptrack_core::alarm::GroupCapacity;
    use apptrack_core::clock::ManualClock;
    use apptrack_core::failure::Failure as _;
    use apptrack_core::incident::Status;
    use apptrack_core::ledger::memory::MemoryLedger;
    use apptrack_core::scaling::memory::{
        Failure, FakeAlarms, FakeGroups, FakeMetrics, MemoryScaleOuts,
    };
    use apptrack_core::store::ReadIncidents;
    use apptrack_core::store::memory::MemoryIncidentStore;

    type TestScaler = Scaler<
        FakeAlarms,
        FakeMetrics,
        FakeGroups,
        MemoryLedger,
        MemoryScaleOuts,
        MemoryIncidentStore,
        ManualClock,
    >;

    // 2026-11-24T02:00:30Z, just after the sample ALARM transition.
    const NOW_MS: i64 = 1_795_485_630_000;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("sample event");
        serde_json::from_str(&text).expect("sample is JSON")
    }

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let mut all = vec![("INCIDENTS_TABLE", "i"), ("STATE_TABLE", "s")];
        all.extend_from_slice(pairs);
        Settings::from_lookup(|k| {
            all.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("valid settings")
    }

    fn scaler(pairs: &[(&str, &str)]) -> TestScaler {
        let s = Scaler {
            alarms: FakeAlarms::default(),
            metrics: FakeMetrics::default(),
            groups: FakeGroups::default(),
            ledger: MemoryLedger::default(),
            scale_outs: MemoryScaleOuts::default(),
            incidents: MemoryIncidentStore::new(),
            clock: ManualClock::new(Timestamp::from_millis(NOW_MS)),
            settings: settings(pairs),
        };
        for (name, op, threshold) in [
            ("web-asg-cpu-high", "GreaterThanThreshold", 90.0),
            ("web-asg-cpu-low", "LessThanThreshold", 20.0),
            ("web-alb-p99-latency", "GreaterThanThreshold", 1.5),
        ] {
            s.alarms.insert(AlarmDefinition {
                name: name.into(),
                arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
                comparison_operator: Some(op.into()),
                threshold: Some(threshold),
                ..AlarmDefinition::default()
            });
        }
        s.groups.insert(
            "web-asg",
            GroupCapacity {
                min: 1,
                max: 10,
                desired: 2,
                in_service: 2,
                pending: 0,
            },
        );
        s
    }

    async fn timeline(s: &TestScaler, id: &IncidentId) -> Vec<(String, String)> {
        s.incidents
            .timeline(id, Timestamp::from_millis(NOW_MS))
            .await
            .expect("timeline")
            .into_iter()
            .map(|e| (e.action, e.detail))
            .collect()
    }

    #[tokio::test]
    async fn cpu_high_alarm_scales_two_to_three_and_opens_a_saturation_incident() {
        let s = scaler(&[]);
        let out = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("handled");
        assert_eq!(out.action, Action::Scaled, "{out:?}");
        assert_eq!(out.desired, Some(3));
        assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 3)]);
        let id = out.incident_id.expect("an incident");
        let inc = s
            .incidents
            .get(&id, Timestamp::from_millis(NOW_MS))
            .await
            .expect("stored");
        assert_eq!(inc.kind, IncidentKind::Saturation);
        assert_eq!(inc.resource, "web-asg");
        let tl = timeline(&s, &id).await;
        assert_eq!(tl.last().map(|e| e.0.as_str()), Some("scaled"));
        assert!(
            tl.last().is_some_and(|e| e.1.contains("from 2 to 3")),
            "{tl:?}"
        );
        assert!(
            s.scale_outs
                .last_scale_out("web-asg")
                .await
                .expect("ledger")
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_redelivery_acts_once_and_counts_once() {
        let s = scaler(&[]);
        let first = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("first");
        let again = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("again");
        // The alarm-action payload of the same transition is the same transition.
        let direct = s
            .handle(&sample("alarm/direct-invocation.json"))
            .await
            .expect("direct");
        assert_eq!(again.action, Action::Duplicate);
        assert_eq!(direct.action, Action::Duplicate);
        assert_eq!(s.groups.calls().len(), 1);
        let id = first.incident_id.expect("incident");
        let inc = s
            .incidents
            .get(&id, Timestamp::from_millis(NOW_MS))
            .await
            .expect("stored");
        assert_eq!(inc.count, 1);
    }

    #[tokio::test]
    async fn a_failed_set_desired_capacity_releases_the_claim_for_the_retry() {
        let s = scaler(&[]);
        s.groups.fail_next(Failure::Unavailable);
        let err = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect_err("fails");
        assert!(err.is_retryable());
        assert_eq!(err.error_type(), "Retryable.Unavailable");
        assert!(s.groups.calls().is_empty());
        let retry = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("retry");
        assert_eq!(retry.action, Action::Scaled);
        assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 3)]);
    }

    #[tokio::test]
    async fn a_change_applied_but_unacknowledged_is_not_repeated() {
        let s = scaler(&[]);
        s.groups.fail_next(Failure::AppliedThenUnavailable);
        let err = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect_err("fails");
        assert!(err.is_retryable());
        let retry = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("retry");
        assert_eq!(retry.action, Action::Scaled);
        assert_eq!(s.groups.calls().len(), 1, "the retry must not scale 3 → 5");
        assert_eq!(s.groups.get("web-asg").map(|g| g.desired), Some(3));
        // Recorded as the attempt that made the change would have recorded it.
        let scaled = scaled_entries(&s, &retry).await;
        assert_eq!(scaled, std::slice::from_ref(&retry.detail));
        assert!(
            retry
                .detail
                .starts_with("scaled web-asg from 2 to 3: CPUUtilization 97.2"),
            "{}",
            retry.detail
        );
    }

    async fn scaled_entries(s: &TestScaler, out: &Outcome) -> Vec<String> {
        let id = out.incident_id.as_ref().expect("an incident");
        timeline(s, id)
            .await
            .into_iter()
            .filter(|(action, _)| action == "scaled")
            .map(|(_, detail)| detail)
            .collect()
    }

    #[tokio::test]
    async fn a_claim_not_closed_is_a_retryable_failure_and_the_retry_records_once() {
        let s = scaler(&[]);
        s.ledger.fail_next_completion();
        let err = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect_err("the claim cannot be closed");
        assert_eq!(err.error_type(), "Retryable.Unavailable", "{err}");
        assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 3)]);

        // Lambda retries after about a minute, when the claim's lease has run out.
        s.clock.advance(Duration::from_secs(60));
        let retry = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("retry");
        assert_eq!(retry.action, Action::Scaled);
        assert_eq!(s.groups.calls().len(), 1, "scaled once");
        assert_eq!(scaled_entries(&s, &retry).await.len(), 1, "noted once");
        let key = AlarmEvent::from_value(&sample("alarm/cpu-high-alarm.json"))
            .expect("decodes")
            .transition_key();
        assert_eq!(s.ledger.outcome(&key), Some(Ok(retry.detail.clone())));
    }

    #[tokio::test]
    async fn access_denied_is_noted_and_permanent_for_every_redelivery() {
        let s = scaler(&[]);
        s.groups.fail_next(Failure::AccessDenied);
        let err = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect_err("fails");
        assert_eq!(err.error_type(), "Permanent.AccessDenied");
        let again = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect_err("fails again");
        assert_eq!(again.error_type(), "Permanent.FailedEarlier");
        let out = s.incidents.all();
        let tl = timeline(&s, &out[0].id).await;
        assert!(
            tl.iter()
                .any(|(a, d)| a == "failed" && d.contains("access denied")),
            "{tl:?}"
        );
    }

    #[tokio::test]
    async fn a_missing_group_is_a_permanent_error() {
        let s = scaler(&[]);
        let mut ev = sample("alarm/cpu-high-alarm.json");
        ev["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["AutoScalingGroupName"] =
            "gone-asg".into();
        let err = s.handle(&ev).await.expect_err("fails");
        assert_eq!(err.error_type(), "Permanent.GroupNotFound");
    }

    #[tokio::test]
    async fn dry_run_records_the_decision_and_changes_nothing() {
        let s = scaler(&[("APPTRACK_DRY_RUN", "true")]);
        let out = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("handled");
        assert_eq!(out.action, Action::DryRun);
        assert!(out.detail.contains("from 2 to 3"), "{}", out.detail);
        assert!(s.groups.calls().is_empty());
    }

    #[tokio::test]
    async fn target_tracking_alarms_are_ignored_unless_configured() {
        let s = scaler(&[]);
        let out = s
            .handle(&sample("alarm/target-tracking-alarm.json"))
            .await
            .expect("handled");
        assert_eq!(out.action, Action::Ignored);
        let s = scaler(&[("APPTRACK_IGNORE_TARGET_TRACKING", "false")]);
        let out = s
            .handle(&sample("alarm/target-tracking-alarm.json"))
            .await
            .expect("handled");
        assert_ne!(out.action, Action::Ignored);
    }

    #[tokio::test]
    async fn ok_resolves_and_insufficient_data_is_noted_once() {
        let s = scaler(&[]);
        let opened = s
            .handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("alarm");
        let id = opened.incident_id.expect("incident");
        for _ in 0..2 {
            s.handle(&sample("alarm/cpu-high-insufficient-data.json"))
                .await
                .expect("noted");
        }
        let notes = timeline(&s, &id)
            .await
            .into_iter()
            .filter(|(a, _)| a == "noted")
            .count();
        assert_eq!(notes, 1);
        let ok = s
            .handle(&sample("alarm/cpu-high-ok.json"))
            .await
            .expect("ok");
        assert_eq!(ok.action, Action::Resolved);
        let inc = s
            .incidents
            .get(&id, Timestamp::from_millis(NOW_MS))
            .await
            .expect("stored");
        assert_eq!(inc.status, Status::Resolved);
        let again = s
            .handle(&sample("alarm/cpu-high-ok.json"))
            .await
            .expect("ok again");
        assert_eq!(again.action, Action::Nothing);
        assert_eq!(
            s.groups.calls().len(),
            1,
            "OK and INSUFFICIENT_DATA never scale"
        );
    }

    #[tokio::test]
    async fn missing_reason_data_is_read_back_with_get_metric_data() {
        let s = scaler(&[]);
        s.metrics.set(vec![96.0, 99.0]);
        let out = s
            .handle(&sample("broken/alarm-bad-reasondata.json"))
            .await
            .expect("handled");
        assert_eq!(out.action, Action::Scaled, "{out:?}");
        assert_eq!(s.metrics.queries().len(), 1);
    }

    #[tokio::test]
    async fn scale_in_waits_out_the_stabilization_window() {
        let s = scaler(&[]);
        s.handle(&sample("alarm/cpu-high-alarm.json"))
            .await
            .expect("scale out");
        let out = s
            .handle(&sample("alarm/cpu-low-alarm.json"))
            .await
            .expect("low");
        assert_eq!(out.action, Action::NoChange);
        assert!(out.detail.contains("no scale-in until"), "{}", out.detail);

        let s = scaler(&[]);
        let out = s
            .handle(&sample("alarm/cpu-low-alarm.json"))
            .await
            .expect("low");
        assert_eq!(out.action, Action::Scaled, "{out:?}");
        assert_eq!(s.groups.calls(), [("web-asg".to_owned(), 1)]);
    }

    #[tokio::test]
    async fn an_alarm_without_a_group_is_a_performance_incident() {
        let s = scaler(&[]);
        let out = s
            .handle(&sample("alarm/latency-p99-alarm.json"))
            .await
            .expect("handled");
        assert_eq!(out.action, Action::IncidentRecorded);
        let inc = &s.incidents.all()[0];
        assert_eq!(inc.kind, IncidentKind::Performance);
        assert_eq!(inc.resource, "web-alb-p99-latency");
        assert!(inc.evidence[0].data.get("threshold").is_some());
    }

    #[tokio::test]
    async fn broken_events_are_permanent_errors_that_name_the_problem() {
        let s = scaler(&[]);
        let err = s
            .handle(&sample("broken/alarm-missing-state.json"))
            .await
            .expect_err("bad");
        assert_eq!(err.error_type(), "Permanent.BadEvent");
        assert!(err.to_string().contains("state"), "{err}");
        let err = s
            .handle(&Value::String("nope".into()))
            .await
            .expect_err("bad");
        assert_eq!(
            err.to_string(),
            "bad alarm event: event is not a JSON object"
        );
    }

    #[test]
    fn settings_have_defaults_and_name_bad_values() {
        let s = settings(&[]);
        assert!(!s.dry_run && s.ignore_target_tracking);
        assert_eq!(s.policy.target_fraction, 0.8);
        assert_eq!(s.policy.stabilization, Duration::from_secs(300));
        let err = Settings::from_lookup(|k| match k {
            "INCIDENTS_TABLE" | "STATE_TABLE" => Some("t".into()),
            "APPTRACK_TARGET_FRACTION" => Some("80".into()),
            _ => None,
        })
        .expect_err("invalid");
        assert!(
            err.to_string().contains("APPTRACK_TARGET_FRACTION"),
            "{err}"
        );
    }

    #[test]
    fn metrics_that_count_failures_are_availability() {
        assert_eq!(
            classify("HTTPCode_Target_5XX_Count"),
            IncidentKind::Availability
        );
        assert_eq!(classify("UnHealthyHostCount"), IncidentKind::Availability);
        assert_eq!(classify("TargetResponseTime"), IncidentKind::Performance);
    }
}
