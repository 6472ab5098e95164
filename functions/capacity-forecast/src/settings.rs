//! capacity-forecast's settings, read once at start-up; a malformed value names its variable.

use std::time::Duration;

use apptrack_core::alarm::ScalingPolicy;
use apptrack_core::forecast::episode::Horizons;
use apptrack_core::settings::{SettingsError, StoreSettings, flag, parse_or};

/// The function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// `APPTRACK_FORECAST_PERIOD_MINUTES` (15): the schedule's period. Runs within one period
    /// are one run (a redelivered schedule event changes nothing).
    pub period: Duration,
    /// `APPTRACK_FORECAST_WARNING_HOURS` (24), `APPTRACK_FORECAST_CRITICAL_HOURS` (4),
    /// `APPTRACK_FORECAST_CALM_RUNS` (3), `APPTRACK_FORECAST_SCALE_LEAD_HOURS` (4).
    pub horizons: Horizons,
    /// `APPTRACK_FORECAST_ALARM_PREFIX` (empty: every alarm): only alarms whose names start
    /// with it are looked at (DescribeAlarms' own filter; tags are read per alarm).
    pub alarm_prefix: String,
    /// `APPTRACK_DRY_RUN` (false): say what scale-out would be done, do none.
    pub dry_run: bool,
    /// The scaler's own caps: `APPTRACK_TARGET_FRACTION` (0.8) and the step limits.
    pub policy: ScalingPolicy,
}

fn hours(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: f64,
) -> Result<Duration, SettingsError> {
    let h = parse_or(
        get,
        name,
        default,
        |h: &f64| h.is_finite() && (0.25..=720.0).contains(h),
        "a number of hours from 0.25 to 720",
    )?;
    Ok(Duration::from_secs_f64(h * 3600.0))
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let period = parse_or(
            &get,
            "APPTRACK_FORECAST_PERIOD_MINUTES",
            15u64,
            |m| (1..=1440).contains(m),
            "a whole number of minutes from 1 to 1440",
        )?;
        let warning = hours(&get, "APPTRACK_FORECAST_WARNING_HOURS", 24.0)?;
        let critical = hours(&get, "APPTRACK_FORECAST_CRITICAL_HOURS", 4.0)?;
        if critical > warning {
            return Err(SettingsError::invalid(
                "APPTRACK_FORECAST_CRITICAL_HOURS",
                &get("APPTRACK_FORECAST_CRITICAL_HOURS").unwrap_or_default(),
                "must not be longer than APPTRACK_FORECAST_WARNING_HOURS",
            ));
        }
        let calm_runs = parse_or(
            &get,
            "APPTRACK_FORECAST_CALM_RUNS",
            3u32,
            |n| (1..=100).contains(n),
            "a whole number of runs from 1 to 100",
        )?;
        Ok(Settings {
            store: StoreSettings::from_lookup(&get)?,
            period: Duration::from_secs(period * 60),
            horizons: Horizons {
                warning,
                critical,
                calm_runs,
                scale_lead: hours(&get, "APPTRACK_FORECAST_SCALE_LEAD_HOURS", 4.0)?,
                ..Horizons::default()
            },
            alarm_prefix: get("APPTRACK_FORECAST_ALARM_PREFIX")
                .map(|p| p.trim().to_owned())
                .unwrap_or_default(),
            dry_run: flag(&get, "APPTRACK_DRY_RUN")?,
            policy: ScalingPolicy::from_lookup(&get)?,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}
