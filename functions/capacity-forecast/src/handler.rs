//! The capacity-forecast handler: decodes the schedule event, lists the tagged alarms, reads
//! every target's history with a few GetMetricData calls, forecasts each, and settles each
//! target's episode (`episode.rs`) a few at a time.

use std::collections::BTreeMap;
use std::time::Duration;

use apptrack_core::alarm::AlarmEvent;
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::{Failure, Own, during};
use apptrack_core::forecast::model::{ForecastInput, forecast};
use apptrack_core::forecast::target::{FORECAST_TAG, FORECAST_TAG_VALUE, ForecastTarget, targets};
use apptrack_core::forecast::{
    AlarmCatalog, EpisodeLog, Forecast, History, MetricHistory, NoVerdict, SeriesRequest, Toward,
    episode,
};
use apptrack_core::ledger::ActionLedger;
use apptrack_core::scaling::{CapacityController, ScaleOutLog};
use apptrack_core::store::IncidentStore;
use apptrack_lambda::Function;
use futures_util::StreamExt;
use serde_json::Value;

pub use crate::error::HandlerError;
pub use crate::outcome::{Outcome, TargetOutcome};
pub use crate::prevent::PREVENT_NAMESPACE;
pub use crate::settings::Settings;

/// The payload of the schedule's EventBridge target.
pub const FORECAST_EVENT: &str = "forecast";
/// Who acts, on the timeline.
pub const SOURCE: &str = episode::SOURCE;

/// The recent series: 5-minute extremes over a day.
pub const FINE: (Duration, u32) = (Duration::from_secs(86_400), 300);
/// The long series: hourly extremes over two weeks.
pub const COARSE: (Duration, u32) = (Duration::from_secs(14 * 86_400), 3600);
/// Targets settled at once.
const AT_ONCE: usize = 16;

/// The handler's ports, clock and settings.
pub struct Forecaster<C, H, S, E, G, L, O, K> {
    /// The tagged alarms (DescribeAlarms, ListTagsForResource).
    pub alarms: C,
    /// Their metrics' history (GetMetricData).
    pub history: H,
    pub incidents: S,
    /// The episodes' calm-run counts.
    pub episodes: E,
    /// Auto Scaling, for the preventive scale-out.
    pub groups: G,
    /// Exactly-once scale-outs, one claim per episode.
    pub ledger: L,
    /// Each group's last scale-out, shared with alarm-scaler's stabilization window.
    pub scale_outs: O,
    pub clock: K,
    pub settings: Settings,
}

impl<C, H, S, E, G, L, O, K> Function for Forecaster<C, H, S, E, G, L, O, K>
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
    type Output = Outcome;
    type Error = HandlerError;

    async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        Forecaster::handle(self, event).await
    }
}

/// When the run is for: the scheduled event's `time`, else now.
fn run_time(event: &Value, now: Timestamp) -> Result<Timestamp, HandlerError> {
    let bad = |message: String| {
        HandlerError::BadEvent(Own {
            kind: "BadEvent",
            retryable: false,
            message,
        })
    };
    if event.get("apptrack").and_then(Value::as_str) == Some(FORECAST_EVENT) {
        return Ok(now);
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let time = event
            .get("time")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Timestamp::parse(time)
            .map_err(|e| bad(format!("a scheduled event with a bad time: {e}")));
    }
    if AlarmEvent::from_value(event).is_ok() {
        return Err(bad(
            "an alarm state change: capacity-forecast runs on a schedule (alarm-scaler takes alarms)".into(),
        ));
    }
    Err(bad(format!(
        "not a forecast schedule event: expected {{\"apptrack\":\"{FORECAST_EVENT}\"}} or an EventBridge Scheduled Event"
    )))
}

/// What to read for each target: the same metric at two resolutions, by its extreme in the
/// direction it runs out (the alarm fires on its own statistic; the extreme is never later).
fn requests(targets: &[ForecastTarget]) -> (Vec<SeriesRequest>, Vec<SeriesRequest>) {
    let of = |i: usize, t: &ForecastTarget, prefix: &str, period_s: u32| SeriesRequest {
        id: format!("{prefix}{i}"),
        metric: t.metric.clone(),
        stat: match t.toward {
            Toward::Above => "Maximum".into(),
            Toward::Below => "Minimum".into(),
        },
        period_s,
    };
    targets
        .iter()
        .enumerate()
        .map(|(i, t)| (of(i, t, "f", FINE.1), of(i, t, "c", COARSE.1)))
        .unzip()
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
    pub async fn handle(&self, event: &Value) -> Result<Outcome, HandlerError> {
        let now = run_time(event, self.clock.now())?;
        let slot = episode::slot(now, self.settings.period);
        let specs = self
            .alarms
            .tagged(
                &self.settings.alarm_prefix,
                FORECAST_TAG,
                Some(FORECAST_TAG_VALUE),
            )
            .await
            .map_err(during("listing the alarms tagged apptrack:forecast=true"))?;
        let (targets, skipped) = targets(&specs);
        let calls_before = self.history.calls();
        let verdicts = self.forecasts(&targets, now).await?;
        let metric_calls = self.history.calls().saturating_sub(calls_before);

        let settled: Vec<(String, Result<TargetOutcome, HandlerError>)> =
            futures_util::stream::iter(verdicts.into_iter().enumerate())
                .map(|(i, v)| {
                    let t = &targets[i];
                    async move { (t.alarm.clone(), self.settle(t, v, now, slot).await) }
                })
                .buffered(AT_ONCE)
                .collect()
                .await;
        let mut outcomes = Vec::with_capacity(settled.len());
        let mut retry = Vec::new();
        for (alarm, r) in settled {
            match r {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    tracing::warn!(alarm, error = %e, retryable = e.is_retryable(), "target failed");
                    if e.is_retryable() {
                        retry.push(format!("{alarm}: {e}"));
                    }
                    outcomes.push(TargetOutcome {
                        alarm,
                        assessment: None,
                        detail: "failed".into(),
                        forecast: None,
                        incident_id: None,
                        incident: None,
                        action: None,
                        error: Some(format!("{} ({})", e, e.error_type())),
                    });
                }
            }
        }
        if !retry.is_empty() {
            // The whole run is retried; every target's steps are idempotent within the slot.
            return Err(HandlerError::Partly(Own {
                kind: "Unavailable",
                retryable: true,
                message: format!(
                    "{} of {} targets failed retryably: {}",
                    retry.len(),
                    outcomes.len(),
                    retry.join("; ")
                ),
            }));
        }
        Ok(Outcome {
            slot: slot.to_rfc3339(),
            targets: outcomes,
            skipped,
            metric_calls,
        })
    }

    /// Reads every target's history (two GetMetricData reads, each split into requests of at
    /// most 500 series) and forecasts each.
    async fn forecasts(
        &self,
        targets: &[ForecastTarget],
        now: Timestamp,
    ) -> Result<Vec<Result<Forecast, NoVerdict>>, HandlerError> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let (fine, coarse) = requests(targets);
        let read = |reqs: Vec<SeriesRequest>, span: Duration| async move {
            self.history
                .read(&reqs, now.saturating_sub(span), now)
                .await
                .map_err(during("reading the metrics' history with GetMetricData"))
        };
        let (mut fine, mut coarse): (BTreeMap<_, _>, BTreeMap<_, _>) =
            tokio::try_join!(read(fine, FINE.0), read(coarse, COARSE.0))?;
        Ok(targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let history = History {
                    fine: fine.remove(&format!("f{i}")).unwrap_or_default(),
                    coarse: coarse.remove(&format!("c{i}")).unwrap_or_default(),
                };
                forecast(&ForecastInput {
                    history: &history,
                    limit: t.limit,
                    toward: t.toward,
                    now,
                    look_ahead: self.settings.horizons.for_target(t).look_ahead(),
                })
            })
            .collect())
    }
}
