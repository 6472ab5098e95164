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

use super::stats;
use crate::clock::Timestamp;

pub use crate::scaling::Point;

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

/// Points needed in the series the trend is fitted on.
const MIN_POINTS: usize = 12;
/// Points the level is the median of.
const LEVEL_POINTS: usize = 6;
const HOUR_MS: i64 = 3_600_000;
/// The walk's step, and its count per hour and per day.
const STEP_MS: i64 = 300_000;
const STEPS_PER_HOUR: f64 = 12.0;
const STEPS_PER_DAY: u64 = 288;
/// The coarse series is used (with a daily profile) from this span on.
const SEASONAL_SPAN_MS: i64 = 72 * HOUR_MS;
const FINE: &str = "5-minute maxima";
const COARSE: &str = "hourly maxima";

/// Forecasts when the metric reaches its limit.
pub fn forecast(input: &ForecastInput<'_>) -> Result<Forecast, NoVerdict> {
    if !input.limit.is_finite() {
        return Err(NoVerdict::BadLimit);
    }
    // A metric that runs out downwards is mirrored and read as one that runs out upwards.
    let sign = match input.toward {
        Toward::Above => 1.0,
        Toward::Below => -1.0,
    };
    let limit = sign * input.limit;
    let now = input.now.as_millis();
    let fine = clean(&input.history.fine, sign);
    let coarse = clean(&input.history.coarse, sign);

    let newest = if fine.is_empty() { &coarse } else { &fine };
    let Some(last) = newest.last() else {
        return Err(too_little(&[]));
    };
    let max_age = HOUR_MS.max(median_spacing(newest).saturating_mul(3));
    if now.saturating_sub(last.at.as_millis()) > max_age {
        return Err(NoVerdict::Stale { last: last.at });
    }

    let fine = prepare(fine);
    let mut coarse = prepare(coarse);
    if let Some(reset) = fine.reset_at
        && coarse.reset_at.is_none_or(|c| c < reset)
    {
        coarse.points.retain(|p| p.at >= reset);
        coarse.reset_at = Some(reset);
    }
    let use_coarse =
        coarse.points.len() >= MIN_POINTS && span_ms(&coarse.points) >= SEASONAL_SPAN_MS;
    let (fit, series) = if use_coarse || fine.points.is_empty() {
        (&coarse, COARSE)
    } else {
        (&fine, FINE)
    };
    let points = &fit.points;
    if points.len() < MIN_POINTS
        && let Some(reset_at) = fit.reset_at
    {
        return Err(NoVerdict::SinceReset {
            reset_at,
            points: points.len(),
        });
    }
    if points.len() < MIN_POINTS || span_ms(points) < HOUR_MS {
        return Err(too_little(points));
    }

    let x: Vec<f64> = points
        .iter()
        .map(|p| hours(p.at.as_millis() - now))
        .collect();
    let v: Vec<f64> = points.iter().map(|p| p.value).collect();
    let trend = stats::theil_sen(&x, &v).ok_or_else(|| too_little(points))?;

    // An envelope has one point per tooth, at whatever hour the tooth peaked: its hours
    // of day are not sampled evenly enough for a profile.
    let seasonal = use_coarse && !fit.envelope;
    let profile = seasonal.then(|| daily_profile(points, &trend, now));
    let season = |ms: i64| profile.as_ref().map_or(0.0, |p| p[hour_of_day(ms)]);

    let recent = if fine.points.is_empty() {
        points
    } else {
        &fine.points
    };
    let mut tail: Vec<f64> = recent[recent.len().saturating_sub(LEVEL_POINTS)..]
        .iter()
        .map(|p| p.value - season(p.at.as_millis()))
        .collect();
    let level = stats::median(&mut tail).unwrap_or(trend.intercept);

    let already_past = level + season(now) >= limit;
    let exhaustion = if already_past {
        Exhaustion {
            earliest: Some(Duration::ZERO),
            likely: Some(Duration::ZERO),
            latest: Some(Duration::ZERO),
        }
    } else {
        let walk = Walk {
            level,
            limit,
            profile: profile.as_ref(),
            now,
            look_ahead: input.look_ahead,
        };
        Exhaustion {
            earliest: walk.first_crossing(trend.high),
            likely: walk.first_crossing(trend.slope),
            latest: walk.first_crossing(trend.low),
        }
    };

    // Back to the metric's own sign; mirrored, the interval's edges swap.
    let (slope_low, slope_high) = if sign > 0.0 {
        (trend.low, trend.high)
    } else {
        (-trend.high, -trend.low)
    };
    Ok(Forecast {
        level: sign * level,
        slope_per_hour: sign * trend.slope,
        slope_low,
        slope_high,
        already_past,
        exhaustion,
        method: Method {
            series,
            points: points.len(),
            span: duration_ms(span_ms(points)),
            reset_at: fit.reset_at,
            envelope: fit.envelope || fine.envelope,
            seasonal,
        },
    })
}

fn too_little(points: &[Point]) -> NoVerdict {
    NoVerdict::TooLittle {
        points: points.len(),
        span: duration_ms(span_ms(points)),
        needed: MIN_POINTS,
    }
}

/// Finite values only, mirrored by `sign`, in time order, one point per timestamp (the
/// largest, after mirroring: the one nearer the limit).
fn clean(points: &[Point], sign: f64) -> Vec<Point> {
    let mut out: Vec<Point> = points
        .iter()
        .filter(|p| p.value.is_finite())
        .map(|p| Point {
            at: p.at,
            value: sign * p.value,
        })
        .collect();
    out.sort_by_key(|p| p.at);
    out.dedup_by(|later, kept| {
        let same = later.at == kept.at;
        if same {
            kept.value = kept.value.max(later.value);
        }
        same
    });
    out
}

fn span_ms(points: &[Point]) -> i64 {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => b.at.as_millis() - a.at.as_millis(),
        _ => 0,
    }
}

fn duration_ms(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn hours(ms: i64) -> f64 {
    ms as f64 / HOUR_MS as f64
}

/// The hour of day (UTC) of epoch milliseconds.
fn hour_of_day(ms: i64) -> usize {
    // In 0..24, so the cast is exact.
    ms.div_euclid(HOUR_MS).rem_euclid(24) as usize
}

/// The median time between consecutive points, in ms (0 with fewer than two points).
fn median_spacing(points: &[Point]) -> i64 {
    let mut gaps: Vec<f64> = points
        .windows(2)
        .map(|w| (w[1].at.as_millis() - w[0].at.as_millis()) as f64)
        .collect();
    stats::median(&mut gaps).map_or(0, |g| g as i64)
}

/// A series after its reset cut or its envelope.
#[derive(Debug)]
struct Prepared {
    points: Vec<Point>,
    reset_at: Option<Timestamp>,
    envelope: bool,
}

/// Cuts the series at its last reset (one or two), or reads a sawtooth (three or more) by
/// its upper envelope.
fn prepare(points: Vec<Point>) -> Prepared {
    let drops = resets(&points);
    match drops.as_slice() {
        [] => Prepared {
            points,
            reset_at: None,
            envelope: false,
        },
        [.., last] if drops.len() <= 2 => {
            let from = last + 1;
            Prepared {
                reset_at: Some(points[from].at),
                points: points[from..].to_vec(),
                envelope: false,
            }
        }
        _ => Prepared {
            points: upper_envelope(&points, &drops),
            reset_at: None,
            envelope: true,
        },
    }
}

/// The indices `i` where the drop from point `i` to point `i + 1` is a reset: larger than
/// max(0.25 × (p95 − p5), 6 × the robust sigma of the first differences), with the median
/// of the next (up to) three points also that far below point `i`.
///
/// One more condition, not in the method's first statement: the median of the (up to)
/// seven points ending at `i` must also be that far above the points after. Without it a
/// spike's return to the normal level reads as a reset (the spike is the "pre-drop value"
/// and the level after stays down from it), and 5 % of spikes made a sawtooth of a plain
/// linear series (`outliers_do_not_move_the_forecast`). Seven points, so a spike has to
/// fill four of them to pass; a tooth of four points or more still does.
fn resets(points: &[Point]) -> Vec<usize> {
    let n = points.len();
    if n < 2 {
        return Vec::new();
    }
    let v: Vec<f64> = points.iter().map(|p| p.value).collect();
    let mut sorted = v.clone();
    let spread = match (
        stats::quantile(&mut sorted, 0.95),
        stats::quantile(&mut sorted, 0.05),
    ) {
        (Some(hi), Some(lo)) => hi - lo,
        _ => return Vec::new(),
    };
    let mut diffs: Vec<f64> = v.windows(2).map(|w| w[1] - w[0]).collect();
    let threshold = (0.25 * spread).max(6.0 * stats::robust_sigma(&mut diffs));
    (0..n - 1)
        // Comparisons with a NaN threshold (infinite values' spread) are false: no reset.
        .filter(|&i| v[i] - v[i + 1] > threshold)
        .filter(|&i| {
            let after = stats::median_of(&v[i + 1..(i + 4).min(n)]).unwrap_or(f64::NAN);
            let before = stats::median_of(&v[i.saturating_sub(6)..=i]).unwrap_or(f64::NAN);
            after < v[i] - threshold && after < before - threshold
        })
        .collect()
}

/// The upper envelope of a sawtooth: the series in windows one tooth long (the median time
/// between drops), aligned on the last drop, each window's largest point.
fn upper_envelope(points: &[Point], drops: &[usize]) -> Vec<Point> {
    let at = |i: usize| points[i].at.as_millis();
    let mut gaps: Vec<f64> = drops
        .windows(2)
        .map(|w| (at(w[1]) - at(w[0])) as f64)
        .collect();
    let tooth = stats::median(&mut gaps).map_or(0, |g| g as i64);
    let Some(anchor) = drops.last().map(|&i| at(i + 1)) else {
        return points.to_vec();
    };
    if tooth <= 0 {
        return points.to_vec();
    }
    let mut out: Vec<Point> = Vec::new();
    let mut window = None;
    for p in points {
        let w = (p.at.as_millis() - anchor).div_euclid(tooth);
        match out.last_mut() {
            Some(top) if window == Some(w) => {
                if p.value > top.value {
                    *top = *p;
                }
            }
            _ => {
                out.push(*p);
                window = Some(w);
            }
        }
    }
    out
}

/// For each hour of day (UTC), the median residual of the series from the trend line.
fn daily_profile(points: &[Point], trend: &stats::Trend, now: i64) -> [f64; 24] {
    let mut by_hour: [Vec<f64>; 24] = Default::default();
    for p in points {
        let ms = p.at.as_millis();
        by_hour[hour_of_day(ms)].push(p.value - trend.at(hours(ms - now)));
    }
    let mut out = [0.0; 24];
    for (o, residuals) in out.iter_mut().zip(by_hour.iter_mut()) {
        *o = stats::median(residuals).unwrap_or(0.0);
    }
    out
}

/// The forecast walked forward from now in steps of five minutes.
struct Walk<'a> {
    level: f64,
    limit: f64,
    profile: Option<&'a [f64; 24]>,
    now: i64,
    look_ahead: Duration,
}

impl Walk<'_> {
    fn at_step(&self, slope: f64, k: u64) -> f64 {
        let ms = i64::try_from(k)
            .unwrap_or(i64::MAX)
            .saturating_mul(STEP_MS)
            .saturating_add(self.now);
        let season = self.profile.map_or(0.0, |p| p[hour_of_day(ms)]);
        self.level + slope * (k as f64 / STEPS_PER_HOUR) + season
    }

    /// The first step at which the forecast on `slope` reaches the limit, within the
    /// look-ahead. The same answer as trying every step, in a bounded number of steps:
    /// - rising, no step before the one where level + slope·t + the profile's maximum
    ///   reaches the limit can cross, and from that step on the crossing comes within a
    ///   day (the profile's highest hour comes round);
    /// - flat or falling, a step more than a day ahead is never higher than the step a day
    ///   before it, so a day of steps tells.
    fn first_crossing(&self, slope: f64) -> Option<Duration> {
        let max_steps =
            u64::try_from(self.look_ahead.as_millis() / STEP_MS as u128).unwrap_or(u64::MAX);
        let start = if slope > 0.0 {
            let top = self
                .profile
                .map_or(0.0, |p| p.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            let steps = (self.limit - self.level - top) / slope * STEPS_PER_HOUR;
            if steps > max_steps as f64 {
                return None;
            }
            // One step early, for rounding; a NaN goes to 0.
            (steps.floor().max(0.0) as u64).saturating_sub(1)
        } else {
            0
        };
        let end = max_steps.min(start.saturating_add(STEPS_PER_DAY + 14));
        (start..=end)
            .find(|&k| self.at_step(slope, k) >= self.limit)
            .map(|k| Duration::from_millis(k.saturating_mul(STEP_MS as u64)))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A small deterministic generator (splitmix64), so the noise tests never flake.
    pub struct Rng(pub u64);
    impl Rng {
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        pub fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Standard normal (Box-Muller).
        pub fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.uniform().max(1e-12), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    /// 2026-01-01T00:00:00Z: midnight, so hours from now are hours of day.
    pub const NOW: i64 = 1_767_225_600_000;
    pub const FIVE_MIN: i64 = 300_000;

    /// `count` points `step_ms` apart, the last at `NOW`; `f` gets hours from now (≤ 0).
    pub fn series(step_ms: i64, count: i64, mut f: impl FnMut(f64) -> f64) -> Vec<Point> {
        (0..count)
            .map(|k| {
                let ms = NOW - (count - 1 - k) * step_ms;
                Point {
                    at: Timestamp::from_millis(ms),
                    value: f(hours(ms - NOW)),
                }
            })
            .collect()
    }

    /// 5-minute points over the last 24 h.
    pub fn fine(f: impl FnMut(f64) -> f64) -> Vec<Point> {
        series(FIVE_MIN, 288, f)
    }

    /// Hourly points over 14 days.
    pub fn coarse(f: impl FnMut(f64) -> f64) -> Vec<Point> {
        series(HOUR_MS, 336, f)
    }

    /// The hourly maxima of a series, stamped at the start of their hour.
    pub fn hourly_max(points: &[Point]) -> Vec<Point> {
        let mut out: Vec<Point> = Vec::new();
        for p in points {
            let hour = Timestamp::from_millis(p.at.as_millis().div_euclid(HOUR_MS) * HOUR_MS);
            match out.last_mut() {
                Some(last) if last.at == hour => last.value = last.value.max(p.value),
                _ => out.push(Point {
                    at: hour,
                    value: p.value,
                }),
            }
        }
        out
    }

    pub fn run(
        fine: Vec<Point>,
        coarse: Vec<Point>,
        limit: f64,
        toward: Toward,
        look_ahead_hours: u64,
    ) -> Result<Forecast, NoVerdict> {
        let history = History { fine, coarse };
        forecast(&ForecastInput {
            history: &history,
            limit,
            toward,
            now: Timestamp::from_millis(NOW),
            look_ahead: Duration::from_secs(look_ahead_hours * 3600),
        })
    }

    fn h(d: Option<Duration>) -> f64 {
        d.map_or(f64::NAN, |d| d.as_secs_f64() / 3600.0)
    }

    /// A disk from 40 % 24 h ago rising 1 %/h, noise sd 1: at 64 % now, 90 % in 26 h.
    fn disk(rng: &mut Rng) -> Vec<Point> {
        fine(|t| 64.0 + t + rng.normal())
    }

    fn assert_ordered(e: &Exhaustion) {
        let (a, b, c) = (h(e.earliest), h(e.likely), h(e.latest));
        assert!(a <= b && b <= c, "earliest {a} likely {b} latest {c}");
    }

    #[test]
    fn linear_growth_is_forecast_within_ten_percent() {
        let f = disk(&mut Rng(1));
        let c = hourly_max(&f);
        let out = run(f, c, 90.0, Toward::Above, 7 * 24).unwrap();
        let likely = h(out.exhaustion.likely);
        assert!((likely - 26.0).abs() <= 2.6, "{out:?}");
        assert_ordered(&out.exhaustion);
        assert!(out.slope_low <= out.slope_per_hour && out.slope_per_hour <= out.slope_high);
        assert!((out.slope_per_hour - 1.0).abs() < 0.1, "{out:?}");
        assert_eq!(out.method.series, "5-minute maxima");
        assert!(!out.method.seasonal && !out.method.envelope && out.method.reset_at.is_none());
        assert!(!out.already_past);
    }

    #[test]
    fn flat_noise_never_exhausts() {
        let mut rng = Rng(2);
        let f = fine(|_| 50.0 + 5.0 * rng.normal());
        let c = coarse(|_| 50.0 + 5.0 * rng.normal());
        for coarse in [c, Vec::new()] {
            let out = run(f.clone(), coarse, 90.0, Toward::Above, 48).unwrap();
            let e = out.exhaustion;
            assert_eq!(
                (e.earliest, e.likely, e.latest),
                (None, None, None),
                "{out:?}"
            );
        }
    }

    /// 50 + 15·sin over the day (peak at 06:00 UTC) + `growth` per hour, noise sd 1.
    fn daily(rng: &mut Rng, growth: f64) -> impl FnMut(f64) -> f64 + '_ {
        move |t| {
            50.0 + 15.0 * (2.0 * std::f64::consts::PI * t / 24.0).sin()
                + growth * (t + 336.0)
                + rng.normal()
        }
    }

    /// A 5-minute process over 14 days: its last 24 h, and its hourly maxima.
    fn two_weeks(f: impl FnMut(f64) -> f64) -> (Vec<Point>, Vec<Point>) {
        let all = series(FIVE_MIN, 14 * 288, f);
        (all[all.len() - 288..].to_vec(), hourly_max(&all))
    }

    #[test]
    fn a_daily_peak_ahead_is_seen_and_a_ramp_is_not_growth() {
        let (f, c) = two_weeks(daily(&mut Rng(3), 0.1));
        // Peaks: 99.2 at 06:00 tomorrow, 2.4 more each day; 105.2 is crossed on day 3.
        let out = run(f, c, 105.2, Toward::Above, 7 * 24).unwrap();
        assert!(out.method.seasonal, "{out:?}");
        assert_eq!(out.method.series, "hourly maxima");
        assert!((out.slope_per_hour - 0.1).abs() < 0.03, "{out:?}");
        let likely = out.exhaustion.likely.expect("a crossing");
        let at = NOW + i64::try_from(likely.as_millis()).unwrap();
        let hour = hour_of_day(at);
        assert!((3..=9).contains(&hour), "crossing at hour {hour}: {out:?}");
        assert!(h(Some(likely)) > 48.0 && h(Some(likely)) < 96.0, "{out:?}");
        assert_ordered(&out.exhaustion);

        // No growth, peaks at 65, the limit 10 above them.
        let (f, c) = two_weeks(daily(&mut Rng(4), 0.0));
        let out = run(f, c, 75.0, Toward::Above, 7 * 24).unwrap();
        assert!(out.method.seasonal);
        let e = out.exhaustion;
        assert_eq!(
            (e.earliest, e.likely, e.latest),
            (None, None, None),
            "{out:?}"
        );
    }

    #[test]
    fn growth_before_a_reset_does_not_count() {
        // Flat at 30 for 13 days, then 3/h for 21 h, a restart back to 30 three hours
        // ago, then 2/h; noise sd 0.5.
        let shape = |t: f64| {
            if t < -24.0 {
                30.0
            } else if t < -3.0 {
                30.0 + 3.0 * (t + 24.0)
            } else {
                30.0 + 2.0 * (t + 3.0)
            }
        };
        let mut rng = Rng(5);
        let f = fine(|t| shape(t) + 0.5 * rng.normal());
        let c = coarse(|t| shape(t) + 0.5 * rng.normal());
        let out = run(f, c, 100.0, Toward::Above, 7 * 24).unwrap();
        assert_eq!(
            out.method.reset_at,
            Some(Timestamp::from_millis(NOW - 3 * HOUR_MS)),
            "{out:?}"
        );
        assert!((out.slope_per_hour - 2.0).abs() <= 0.4, "{out:?}");
        assert_eq!(out.method.series, "5-minute maxima");
        assert_eq!(out.method.points, 37);
        // From 36 to 100 at 2/h.
        assert!((h(out.exhaustion.likely) - 32.0).abs() < 3.2, "{out:?}");
    }

    /// Memory: each hour a tooth climbing 2 per 5 minutes from a base that leaks 0.5/h
    /// (so each drop is 21.5), noise sd 0.2.
    fn sawtooth(rng: &mut Rng) -> impl FnMut(f64) -> f64 + '_ {
        move |t| {
            let hour = t.floor();
            let step = ((t - hour) * 12.0).round();
            100.0 + 0.5 * (hour + 336.0) + 2.0 * step + 0.2 * rng.normal()
        }
    }

    #[test]
    fn a_sawtooth_is_read_by_its_peaks() {
        let mut rng = Rng(6);
        let f = fine(sawtooth(&mut rng));
        let out = run(f.clone(), Vec::new(), 1000.0, Toward::Above, 7 * 24).unwrap();
        assert!(out.method.envelope, "{out:?}");
        assert!(out.method.reset_at.is_none());
        assert!((out.slope_per_hour - 0.5).abs() <= 0.15, "{out:?}");
        // The level is the peaks', not the tooth's current value (a fresh tooth, ~268).
        assert!(out.level > 280.0, "{out:?}");

        // With two weeks of hourly maxima (the peaks; the hour in progress not yet out).
        let c: Vec<Point> = coarse(|t| 122.0 + 0.5 * (t + 335.0) + 0.2 * rng.normal())
            .into_iter()
            .map(|p| Point {
                at: Timestamp::from_millis(p.at.as_millis() - HOUR_MS),
                value: p.value,
            })
            .collect();
        let out = run(f, c, 1000.0, Toward::Above, 7 * 24).unwrap();
        assert!(out.method.envelope, "{out:?}");
        assert_eq!(out.method.series, "hourly maxima");
        assert!((out.slope_per_hour - 0.5).abs() <= 0.15, "{out:?}");
    }

    #[test]
    fn gaps_barely_move_the_forecast() {
        let full = disk(&mut Rng(7));
        let base = run(full.clone(), hourly_max(&full), 90.0, Toward::Above, 7 * 24).unwrap();
        let mut rng = Rng(8);
        let gappy: Vec<Point> = full
            .into_iter()
            .filter(|p| {
                let t = hours(p.at.as_millis() - NOW);
                let keep = rng.uniform() >= 0.3;
                keep && !(-10.0..-6.0).contains(&t)
            })
            .collect();
        assert!(gappy.len() < 190);
        let out = run(
            gappy.clone(),
            hourly_max(&gappy),
            90.0,
            Toward::Above,
            7 * 24,
        )
        .unwrap();
        let (a, b) = (h(base.exhaustion.likely), h(out.exhaustion.likely));
        assert!((a - b).abs() <= 0.1 * a, "{a} vs {b}: {out:?}");
        assert!((out.slope_per_hour - base.slope_per_hour).abs() < 0.1);
        assert_ordered(&out.exhaustion);
    }

    #[test]
    fn too_little_history_stale_data_and_bad_limits() {
        let f = disk(&mut Rng(9));
        let five = f[f.len() - 5..].to_vec();
        assert!(matches!(
            run(five, Vec::new(), 90.0, Toward::Above, 48),
            Err(NoVerdict::TooLittle {
                points: 5,
                needed: 12,
                ..
            })
        ));
        let twenty = series(90_000, 20, |t| 50.0 + t);
        assert_eq!(
            run(twenty, Vec::new(), 90.0, Toward::Above, 48),
            Err(NoVerdict::TooLittle {
                points: 20,
                span: Duration::from_millis(19 * 90_000),
                needed: 12
            })
        );
        assert!(matches!(
            run(Vec::new(), Vec::new(), 90.0, Toward::Above, 48),
            Err(NoVerdict::TooLittle { points: 0, .. })
        ));
        // Three hours without data.
        let history = History {
            fine: f.clone(),
            coarse: Vec::new(),
        };
        let input = ForecastInput {
            history: &history,
            limit: 90.0,
            toward: Toward::Above,
            now: Timestamp::from_millis(NOW + 3 * HOUR_MS),
            look_ahead: Duration::from_secs(48 * 3600),
        };
        assert_eq!(
            forecast(&input),
            Err(NoVerdict::Stale {
                last: Timestamp::from_millis(NOW)
            })
        );
        for limit in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                run(f.clone(), Vec::new(), limit, Toward::Above, 48),
                Err(NoVerdict::BadLimit)
            );
        }
        // A restart 25 minutes ago: 6 points since.
        let restarted = fine(|t| if t < -25.0 / 60.0 { 80.0 + t } else { 20.0 });
        assert_eq!(
            run(restarted, Vec::new(), 90.0, Toward::Above, 48),
            Err(NoVerdict::SinceReset {
                reset_at: Timestamp::from_millis(NOW - 25 * 60_000),
                points: 6
            })
        );
    }

    #[test]
    fn free_space_falling_toward_a_low_limit() {
        // 60 GB free 24 h ago, 1 GB/h less: 36 now, 10 in 26 h.
        let mut rng = Rng(10);
        let f = fine(|t| 36.0 - t + rng.normal());
        let out = run(f.clone(), hourly_max(&f), 10.0, Toward::Below, 7 * 24).unwrap();
        assert!(out.slope_per_hour < 0.0, "{out:?}");
        assert!((out.slope_per_hour + 1.0).abs() < 0.1, "{out:?}");
        assert!(out.slope_low <= out.slope_per_hour && out.slope_per_hour <= out.slope_high);
        assert!((out.level - 36.0).abs() < 1.5, "{out:?}");
        assert!((h(out.exhaustion.likely) - 26.0).abs() <= 2.6, "{out:?}");
        assert_ordered(&out.exhaustion);
        // Already below the limit.
        let out = run(f, Vec::new(), 40.0, Toward::Below, 48).unwrap();
        assert!(out.already_past);
        assert_eq!(out.exhaustion.likely, Some(Duration::ZERO));
    }

    #[test]
    fn outliers_do_not_move_the_forecast() {
        let clean = disk(&mut Rng(11));
        let base = run(clean.clone(), Vec::new(), 90.0, Toward::Above, 7 * 24).unwrap();
        let mut rng = Rng(12);
        let spiked: Vec<Point> = clean
            .into_iter()
            .map(|p| Point {
                value: if rng.uniform() < 0.05 {
                    p.value * 3.0
                } else {
                    p.value
                },
                ..p
            })
            .collect();
        let out = run(spiked, Vec::new(), 90.0, Toward::Above, 7 * 24).unwrap();
        assert!(
            !out.method.envelope && out.method.reset_at.is_none(),
            "{out:?}"
        );
        let (a, b) = (h(base.exhaustion.likely), h(out.exhaustion.likely));
        assert!((a - b).abs() <= 0.15 * a, "{a} vs {b}: {out:?}");
    }

    #[test]
    fn unsorted_duplicated_and_non_finite_points_are_cleaned() {
        let f = disk(&mut Rng(13));
        let base = run(f.clone(), Vec::new(), 90.0, Toward::Above, 7 * 24).unwrap();
        let mut messy = f.clone();
        messy.reverse();
        // Lower duplicates (the maximum is kept) and non-finite values (dropped).
        messy.extend(f.iter().map(|p| Point {
            value: p.value - 10.0,
            ..*p
        }));
        messy.push(Point {
            at: Timestamp::from_millis(NOW - HOUR_MS),
            value: f64::NAN,
        });
        messy.push(Point {
            at: Timestamp::from_millis(NOW),
            value: f64::INFINITY,
        });
        let out = run(messy, Vec::new(), 90.0, Toward::Above, 7 * 24).unwrap();
        assert_eq!(out, base);
    }
}
