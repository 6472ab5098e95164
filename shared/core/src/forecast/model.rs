//! The forecaster: from a metric's history and its limit (the alarm's threshold), when the
//! metric is expected to reach the limit, with an interval. Pure: values in, a verdict out.
//!
//! Method (see ARCHITECTURE.md, "Capacity forecast"):
//! - the series is cut at its last reset (a drop that stays down: log rotation, a restart, a
//!   deploy that frees memory), so growth before the reset does not count;
//! - a sawtooth (repeated drops, as garbage-collected memory) is read by its upper envelope,
//!   the peaks of each tooth;
//! - the trend is a Theil-Sen slope (median of pairwise slopes) with Sen's rank interval,
//!   robust to outliers and gaps where least squares is not;
//! - the level is the median of the last points, so one spike does not move it;
//! - with at least three days of hourly history, a daily profile (median residual per hour of
//!   day) is added to the trend, so a daily peak ahead is seen and a morning ramp is not read
//!   as growth;
//! - exhaustion times come from walking the forecast forward: `likely` on the slope,
//!   `earliest` on the interval's fast edge (the pessimistic figure that opens incidents),
//!   `latest` on its slow edge.

use std::time::Duration;

use serde::Serialize;

use crate::clock::Timestamp;

/// One datapoint of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub at: Timestamp,
    pub value: f64,
}

/// Which way the metric runs out: up to the limit (disk used, memory, CPU) or down to it
/// (free disk space, free memory). From the alarm's comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Toward {
    Above,
    Below,
}

/// A metric's history at two resolutions, each oldest first (gaps allowed, any order is
/// tolerated, non-finite values are dropped).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct History {
    /// Recent, fine-grained maxima (5-minute maxima over the last 24 h).
    pub fine: Vec<Point>,
    /// Long, coarse maxima (hourly maxima over 14 days), for the trend and the daily profile.
    pub coarse: Vec<Point>,
}

/// What to forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastInput<'a> {
    pub history: &'a History,
    pub limit: f64,
    pub toward: Toward,
    pub now: Timestamp,
    /// How far ahead to look for the crossing; a crossing later than this is "not within".
    pub look_ahead: Duration,
}

/// When the limit is reached, from now; `None`: not within the look-ahead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Exhaustion {
    /// On the fast edge of the slope's interval (the pessimistic figure).
    pub earliest: Option<Duration>,
    /// On the slope itself.
    pub likely: Option<Duration>,
    /// On the slow edge of the interval.
    pub latest: Option<Duration>,
}

/// How the forecast was made, for the incident's evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Method {
    /// The series the trend was fitted on: `"5-minute maxima"` or `"hourly maxima"`.
    pub series: &'static str,
    /// Points the trend was fitted on, and the time they span.
    pub points: usize,
    pub span: Duration,
    /// The last reset the series was cut at.
    pub reset_at: Option<Timestamp>,
    /// The series was read by its upper envelope (a sawtooth).
    pub envelope: bool,
    /// A daily profile was added to the trend.
    pub seasonal: bool,
}

/// A forecast with its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The current level (median of the last points, in the metric's unit).
    pub level: f64,
    /// The trend per hour, and its interval (90 %, two-sided); signs as the metric moves.
    pub slope_per_hour: f64,
    pub slope_low: f64,
    pub slope_high: f64,
    /// The level is already at or past the limit.
    pub already_past: bool,
    pub exhaustion: Exhaustion,
    pub method: Method,
}

/// Why no forecast could be made. Says what was missing, for the run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum NoVerdict {
    #[error(
        "too little history: {points} points over {span:?} (at least {needed} over an hour needed)"
    )]
    TooLittle {
        points: usize,
        span: Duration,
        needed: usize,
    },
    #[error("too little history since the reset at {reset_at}: {points} points")]
    SinceReset { reset_at: Timestamp, points: usize },
    #[error("no data since {last} (stale)")]
    Stale { last: Timestamp },
    #[error("the limit is not a finite number")]
    BadLimit,
}

/// Forecasts when the metric reaches its limit.
pub fn forecast(input: &ForecastInput<'_>) -> Result<Forecast, NoVerdict> {
    let _ = input;
    todo!("the helper writes this")
}
