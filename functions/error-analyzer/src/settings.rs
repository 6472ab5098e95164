//! error-analyzer's settings, read once at start-up; a malformed value names its variable.

use std::time::Duration;

use apptrack_core::errors::ErrorPolicy;
use apptrack_core::settings::{SettingsError, StoreSettings, parse_or};
use apptrack_core::subscription::DecodeLimits;

/// The function's settings, read once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    pub policy: ErrorPolicy,
    /// `APPTRACK_MAX_DECOMPRESSED_BYTES` (8 MiB): a payload that inflates past this is rejected.
    pub limits: DecodeLimits,
    /// `APPTRACK_PATTERN_MEMORY_DAYS` (30): a pattern unseen this long is new again.
    pub pattern_memory: Duration,
    /// `APPTRACK_METRICS_NAMESPACE` (`apptrack`): the EMF namespace.
    pub metrics_namespace: String,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let store = StoreSettings::from_lookup(&get)?;
        let policy = ErrorPolicy::from_lookup(&get)?;
        let days = parse_or(
            &get,
            "APPTRACK_PATTERN_MEMORY_DAYS",
            30u64,
            |d| (1..=365).contains(d),
            "a whole number of days from 1 to 365",
        )?;
        let metrics_namespace = get("APPTRACK_METRICS_NAMESPACE")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "apptrack".to_owned());
        Ok(Settings {
            store,
            policy,
            limits: DecodeLimits::from_lookup(&get)?,
            pattern_memory: Duration::from_secs(days * 86_400),
            metrics_namespace,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}
