//! Capacity forecast: when a tagged alarm's metric will reach the alarm's threshold, and what
//! to do about it ahead of time (open a `capacity-forecast` incident, scale a group out).
//!
//! - [`model`]: the forecaster (values in, a forecast with its interval out).
//! - [`target`]: which alarms are watched and how (tags, threshold, direction, group).
//! - [`episode`]: the incident's lifecycle rule (open, update, resolve with hysteresis).
//! - The ports below: the alarm catalogue and the metric history (CloudWatch), and the
//!   per-episode record of calm runs (`STATE_TABLE`). Adapters: `apptrack_aws::cloudwatch`,
//!   `apptrack_aws::dynamodb::forecasts`, and [`memory`] for unit tests.

pub mod episode;
pub mod memory;
pub mod model;
#[cfg(test)]
mod proptests;
mod stats;
pub mod target;

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use crate::alarm::MetricRef;
use crate::clock::Timestamp;
use crate::incident::IncidentId;
use crate::scaling::ScalingError;
use crate::store::StoreError;

pub use crate::scaling::{MetricHistory, Point, SeriesRequest};
pub use model::{Forecast, History, NoVerdict, Toward};

/// A metric alarm as DescribeAlarms and ListTagsForResource show it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AlarmSpec {
    pub name: String,
    pub arn: String,
    /// The alarm's metric; `None` for metric-math and anomaly-band alarms.
    pub metric: Option<MetricRef>,
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// Lists the alarms to forecast.
pub trait AlarmCatalog: Send + Sync {
    /// Every metric alarm whose name starts with `prefix` (empty: every alarm) and whose tag
    /// `key` is `value` (`None`: has the tag, whatever its value), with its tags.
    fn tagged(
        &self,
        prefix: &str,
        key: &str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<Vec<AlarmSpec>, ScalingError>> + Send;
}

/// What the last counted run of an episode said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpisodeRun {
    /// Consecutive runs with the exhaustion far away, up to and including this one.
    pub calm_runs: u32,
    /// The earliest exhaustion the run before this one forecast (seconds from its run), for
    /// telling whether the forecast moved.
    pub previous_earliest_s: Option<u64>,
    /// `false` when this run's slot had been counted already (a redelivered schedule event):
    /// nothing about the episode may change.
    pub counted: bool,
}

/// Per-episode record of the runs that saw it, so that a redelivered schedule event counts
/// once and a resolve needs calm runs in a row.
pub trait EpisodeLog: Send + Sync {
    /// Counts the run of `slot` (a run's start, one per schedule period) for the episode of
    /// incident `episode` of `alarm`: a calm run adds one to the streak, any other resets it.
    /// A slot at or before the last counted one changes nothing (`counted: false`).
    fn count_run(
        &self,
        alarm: &str,
        episode: &IncidentId,
        slot: Timestamp,
        calm: bool,
        earliest_s: Option<u64>,
    ) -> impl Future<Output = Result<EpisodeRun, StoreError>> + Send;
}
