//! deploy-guard's settings, read once at start-up; a malformed value names its variable.

use std::time::Duration;

use apptrack_core::deploy::watch::WatchPolicy;
use apptrack_core::settings::{SettingsError, StoreSettings, flag, parse_or};

/// The function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// `APPTRACK_DEPLOY_LOOKBACK_DAYS` (30): how far back the previous deployment of a
    /// target is looked for, to name the version an announcement moved away from.
    pub lookback: Duration,
    /// `APPTRACK_DEPLOY_BAKE_MINUTES` (60): how long after a deployment its alias is judged
    /// (against the same length of time before it).
    pub watch: WatchPolicy,
    /// `APPTRACK_DRY_RUN` (false): say what rollback would be done, do none.
    pub dry_run: bool,
    /// `APPTRACK_DEPLOY_ALARM_PREFIX` (empty: every alarm): only alarms whose name starts
    /// with it are read for their `apptrack:service` tag.
    pub alarm_prefix: String,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let days = parse_or(
            &get,
            "APPTRACK_DEPLOY_LOOKBACK_DAYS",
            30u64,
            |d| (1..=90).contains(d),
            "a whole number of days from 1 to 90",
        )?;
        let bake = parse_or(
            &get,
            "APPTRACK_DEPLOY_BAKE_MINUTES",
            60u64,
            |m| (10..=1440).contains(m),
            "a whole number of minutes from 10 to 1440",
        )?;
        Ok(Settings {
            store: StoreSettings::from_lookup(&get)?,
            lookback: Duration::from_secs(days * 86_400),
            dry_run: flag(&get, "APPTRACK_DRY_RUN")?,
            alarm_prefix: get("APPTRACK_DEPLOY_ALARM_PREFIX")
                .map(|p| p.trim().to_owned())
                .unwrap_or_default(),
            watch: WatchPolicy {
                bake: Duration::from_secs(bake * 60),
                baseline: Duration::from_secs(bake * 60),
                ..WatchPolicy::default()
            },
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}
