//! A forecast episode's lifecycle: when a forecast opens a `capacity-forecast` incident, when
//! it is only watched, and when the incident resolves (hysteresis: the exhaustion far away on
//! several runs in a row, so a noisy metric does not flap); and the preventive scale-out.

use std::time::Duration;

use serde::Serialize;

use super::Toward;
use super::model::Forecast;
use super::target::ForecastTarget;
use crate::alarm::{Direction, GroupCapacity, ScalingInput, ScalingPolicy};
use crate::clock::Timestamp;
use crate::incident::{
    DedupKey, Evidence, IncidentError, IncidentKind, Occurrence, Severity, Title,
};

/// The function that raises forecast incidents.
pub const SOURCE: &str = "capacity-forecast";

/// The horizons and the hysteresis, with the defaults in [`Horizons::default`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Horizons {
    /// A pessimistic exhaustion within this opens a warning incident …
    pub warning: Duration,
    /// … and within this a critical one.
    pub critical: Duration,
    /// The incident resolves once the exhaustion is beyond `calm_factor × warning` …
    pub calm_factor: u32,
    /// … on this many runs in a row.
    pub calm_runs: u32,
    /// A group is scaled out once the pessimistic exhaustion is within this.
    pub scale_lead: Duration,
}

impl Default for Horizons {
    fn default() -> Self {
        Horizons {
            warning: Duration::from_secs(24 * 3600),
            critical: Duration::from_secs(4 * 3600),
            calm_factor: 2,
            calm_runs: 3,
            scale_lead: Duration::from_secs(4 * 3600),
        }
    }
}

impl Horizons {
    /// The horizons for one target: its own warning horizon, when tagged, with the critical
    /// one kept at most as long.
    pub fn for_target(&self, target: &ForecastTarget) -> Horizons {
        match target.horizon {
            Some(warning) => Horizons {
                warning,
                critical: self.critical.min(warning),
                ..*self
            },
            None => *self,
        }
    }

    /// How far ahead the forecaster must look to tell calm from not.
    pub fn look_ahead(&self) -> Duration {
        self.warning.saturating_mul(self.calm_factor)
    }
}

/// What one run's forecast means for the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assessment {
    /// Exhaustion within the warning horizon: open or update the incident.
    AtRisk(Severity),
    /// Beyond the warning horizon but not far enough to count as calm.
    Watch,
    /// Beyond `calm_factor × warning`, or no exhaustion at all.
    Calm,
}

/// Judges one forecast against the horizons, on its pessimistic (earliest) exhaustion.
pub fn assess(forecast: &Forecast, h: &Horizons) -> Assessment {
    match forecast.exhaustion.earliest {
        Some(d) if d <= h.critical => Assessment::AtRisk(Severity::Critical),
        Some(d) if d <= h.warning => Assessment::AtRisk(Severity::High),
        Some(d) if d <= h.look_ahead() => Assessment::Watch,
        _ => Assessment::Calm,
    }
}

/// The incident identity of a target's forecast: one per alarm.
pub fn dedup_key(target: &ForecastTarget) -> Result<DedupKey, IncidentError> {
    DedupKey::new(
        SOURCE,
        IncidentKind::CapacityForecast,
        &target.alarm,
        "exhaustion",
    )
}

/// `5 h 40 min`, `2 d 3 h`, `12 min`.
pub fn about(d: Duration) -> String {
    let mins = d.as_secs() / 60;
    let (days, hours, mins) = (mins / 1440, (mins / 60) % 24, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, h) if mins == 0 => format!("{h} h"),
        (0, h) => format!("{h} h {mins} min"),
        (d, 0) => format!("{d} d"),
        (d, h) => format!("{d} d {h} h"),
    }
}

fn eta(d: Option<Duration>) -> String {
    d.map_or_else(|| "beyond the look-ahead".to_owned(), about)
}

/// One line on a forecast: when, its interval, the level, the method.
pub fn describe(target: &ForecastTarget, f: &Forecast) -> String {
    let what = target.describe();
    let verb = match (
        target.toward,
        f.exhaustion.earliest.is_some() || f.already_past,
    ) {
        (Toward::Above, true) => "reaches",
        (Toward::Below, true) => "falls to",
        (Toward::Above, false) => "does not reach",
        (Toward::Below, false) => "does not fall to",
    };
    let e = &f.exhaustion;
    let when = if f.already_past {
        "already past it".to_owned()
    } else {
        match (e.earliest, e.likely.or(e.earliest)) {
            (None, _) | (_, None) => "within the look-ahead".to_owned(),
            (Some(earliest), Some(likely)) => format!(
                "in about {} (at the earliest {}, at the latest {})",
                about(likely),
                about(earliest),
                eta(e.latest)
            ),
        }
    };
    let mut method = format!(
        "Theil-Sen on {} {} over {}",
        f.method.points,
        f.method.series,
        about(f.method.span)
    );
    if f.method.seasonal {
        method.push_str(", with a daily profile");
    }
    if f.method.envelope {
        method.push_str(", upper envelope of a sawtooth");
    }
    if let Some(r) = f.method.reset_at {
        method.push_str(&format!(", since the reset at {r}"));
    }
    format!(
        "{what} {verb} {} {when}; now {:.2}, trend {:+.3}/h ({:+.3} to {:+.3}); {method}",
        target.limit, f.level, f.slope_per_hour, f.slope_low, f.slope_high
    )
}

/// The occurrence a run at risk reports: counted once per run (`slot`).
pub fn occurrence(
    target: &ForecastTarget,
    forecast: &Forecast,
    severity: Severity,
    now: Timestamp,
    slot: Timestamp,
) -> Result<Occurrence, IncidentError> {
    let earliest = forecast.exhaustion.earliest.unwrap_or_default();
    let title = Title::new(crate::text::prefix_within(
        &format!(
            "Capacity forecast: {} {} {} in about {}",
            target.describe(),
            match target.toward {
                Toward::Above => "reaches",
                Toward::Below => "falls to",
            },
            target.limit,
            about(earliest)
        ),
        200,
    ))?;
    let line = describe(target, forecast);
    let data = serde_json::json!({
        "alarm": target.alarm,
        "limit": target.limit,
        "forecast": forecast,
    });
    Ok(Occurrence {
        summary: format!(
            "{line}. Alarm {} fires when it gets there: act before (add capacity, free space, fix the leak).",
            target.alarm
        ),
        evidence: vec![Evidence::new(now, &line, data)],
        idempotency_key: Some(run_key(&target.alarm, slot)),
        ..Occurrence::new(
            dedup_key(target)?,
            IncidentKind::CapacityForecast,
            severity,
            SOURCE,
            &target.service,
            &target.alarm,
            title,
            now,
        )
    })
}

/// The key of one run's report on one alarm (a redelivered schedule event has the same).
pub fn run_key(alarm: &str, slot: Timestamp) -> String {
    format!("forecast:{alarm}:{}", slot.as_millis())
}

/// The run's slot: its time cut down to the schedule period, so redeliveries of one schedule
/// event share it.
pub fn slot(now: Timestamp, period: Duration) -> Timestamp {
    let p = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
    Timestamp::from_millis(now.as_millis().div_euclid(p) * p)
}

/// Whether the forecast moved enough since the last counted run to say so on the timeline:
/// the earliest exhaustion changed by a quarter and at least 15 minutes.
pub fn moved(previous_s: Option<u64>, now: Option<Duration>) -> bool {
    match (previous_s, now.map(|d| d.as_secs())) {
        (None, None) => false,
        (Some(_), None) | (None, Some(_)) => true,
        (Some(p), Some(n)) => {
            let delta = p.abs_diff(n);
            delta >= 15 * 60 && delta * 4 >= p.max(1)
        }
    }
}

/// The scaling decision input for a preventive scale-out: act now as the alarm-scaler would
/// when the alarm fires at its threshold, so the group runs at its target at the crossing.
/// `None` when no scale-out applies: not a rising metric, not within the scale lead.
pub fn preventive_input(
    target: &ForecastTarget,
    forecast: &Forecast,
    h: &Horizons,
    policy: &ScalingPolicy,
    capacity: GroupCapacity,
    now: Timestamp,
) -> Option<ScalingInput> {
    if target.toward != Toward::Above {
        return None;
    }
    let earliest = forecast.exhaustion.earliest?;
    if earliest > h.scale_lead {
        return None;
    }
    Some(ScalingInput {
        direction: Direction::High,
        metric: target.metric.metric_name.clone(),
        value: target.limit.max(forecast.level),
        target: policy.target(Direction::High, target.scaling_target, Some(target.limit)),
        capacity,
        last_scale_out_ms: None,
        now_ms: now.as_millis(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::model::{Exhaustion, Method};

    fn forecast(earliest_h: Option<f64>) -> Forecast {
        let d = earliest_h.map(|h| Duration::from_secs_f64(h * 3600.0));
        Forecast {
            level: 70.0,
            slope_per_hour: 1.0,
            slope_low: 0.8,
            slope_high: 1.2,
            already_past: false,
            exhaustion: Exhaustion {
                earliest: d,
                likely: d,
                latest: d,
            },
            method: Method {
                series: "5-minute maxima",
                points: 288,
                span: Duration::from_secs(86_400),
                reset_at: None,
                envelope: false,
                seasonal: false,
            },
        }
    }

    #[test]
    fn the_pessimistic_exhaustion_sets_the_severity() {
        let h = Horizons::default();
        assert_eq!(
            assess(&forecast(Some(3.0)), &h),
            Assessment::AtRisk(Severity::Critical)
        );
        assert_eq!(
            assess(&forecast(Some(20.0)), &h),
            Assessment::AtRisk(Severity::High)
        );
        assert_eq!(assess(&forecast(Some(30.0)), &h), Assessment::Watch);
        assert_eq!(assess(&forecast(Some(49.0)), &h), Assessment::Calm);
        assert_eq!(assess(&forecast(None), &h), Assessment::Calm);
    }

    #[test]
    fn slots_share_one_schedule_period() {
        let p = Duration::from_secs(900);
        let a = slot(Timestamp::from_secs(1_800_000_100), p);
        assert_eq!(a, slot(Timestamp::from_secs(1_800_000_899 - 100), p));
        assert_eq!(a.as_millis() % 900_000, 0);
    }

    #[test]
    fn a_forecast_moves_by_a_quarter_and_a_quarter_hour() {
        let h = |x: f64| Some(Duration::from_secs_f64(x * 3600.0));
        assert!(!moved(Some(6 * 3600), h(5.0)));
        assert!(moved(Some(6 * 3600), h(4.0)));
        assert!(!moved(Some(1800), h(0.3)));
        assert!(moved(None, h(3.0)));
        assert!(!moved(None, None));
    }

    #[test]
    fn a_forecast_line_says_when_or_that_it_does_not() {
        let t = crate::forecast::target::ForecastTarget {
            alarm: "db-disk".into(),
            metric: crate::alarm::MetricRef {
                id: None,
                namespace: "CWAgent".into(),
                metric_name: "disk_used_percent".into(),
                dimensions: [("host".to_owned(), "db-1".to_owned())].into(),
                stat: None,
                period: None,
                return_data: true,
            },
            limit: 90.0,
            toward: Toward::Above,
            horizon: None,
            group: None,
            service: "db".into(),
            scaling_target: None,
        };
        let soon = describe(&t, &forecast(Some(6.0)));
        assert!(
            soon.starts_with(
                "disk_used_percent of db-1 reaches 90 in about 6 h (at the earliest 6 h"
            ),
            "{soon}"
        );
        let never = describe(&t, &forecast(None));
        assert!(
            never.starts_with("disk_used_percent of db-1 does not reach 90 within the look-ahead"),
            "{never}"
        );
    }

    #[test]
    fn durations_read_like_a_person_says_them() {
        assert_eq!(about(Duration::from_secs(340 * 60)), "5 h 40 min");
        assert_eq!(about(Duration::from_secs(12 * 60)), "12 min");
        assert_eq!(about(Duration::from_secs(51 * 3600)), "2 d 3 h");
        assert_eq!(about(Duration::from_secs(3 * 3600)), "3 h");
    }
}
