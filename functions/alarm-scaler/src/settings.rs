//! alarm-scaler's settings, read once at start-up; a malformed value names its variable.

use apptrack_core::alarm::ScalingPolicy;
use apptrack_core::settings::{SettingsError, StoreSettings, flag, parse_or};

/// The function's settings, read once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// `APPTRACK_DRY_RUN` (default false): decide and record, never change capacity.
    pub dry_run: bool,
    /// `APPTRACK_IGNORE_TARGET_TRACKING` (default true): skip `TargetTracking-*` alarms.
    pub ignore_target_tracking: bool,
    /// `APPTRACK_GROUP_BUSY_FRACTION` (default 0.9): an instance's alarm scales its group
    /// when the group's average is at least this fraction of the target; below it, only
    /// the instance is hot.
    pub busy_fraction: f64,
    /// `APPTRACK_TARGET_FRACTION` (default 0.8) and
    /// `APPTRACK_SCALE_IN_STABILIZATION_SECS` (default 300) land here.
    pub policy: ScalingPolicy,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let store = StoreSettings::from_lookup(&get)?;
        let busy_fraction = parse_or(
            &get,
            "APPTRACK_GROUP_BUSY_FRACTION",
            0.9,
            |f: &f64| f.is_finite() && *f > 0.0 && *f <= 1.0,
            "a fraction greater than 0 and at most 1",
        )?;
        let ignore_target_tracking = match get("APPTRACK_IGNORE_TARGET_TRACKING") {
            Some(v) if !v.trim().is_empty() => flag(&get, "APPTRACK_IGNORE_TARGET_TRACKING")?,
            _ => true,
        };
        Ok(Settings {
            store,
            dry_run: flag(&get, "APPTRACK_DRY_RUN")?,
            ignore_target_tracking,
            busy_fraction,
            policy: ScalingPolicy::from_lookup(&get)?,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}
