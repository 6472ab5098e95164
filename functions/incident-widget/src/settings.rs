//! incident-widget's settings, read once at start-up; a malformed value names its variable.

use apptrack_core::settings::{SettingsError, StoreSettings, parse_or};

/// The function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// `APPTRACK_WIDGET_MAX_INCIDENTS` (500): the most rows the list shows (a widget's
    /// `limit` parameter can ask for fewer); past it the list says more exist.
    pub max_incidents: usize,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(Settings {
            store: StoreSettings::from_lookup(&get)?,
            max_incidents: parse_or(
                &get,
                "APPTRACK_WIDGET_MAX_INCIDENTS",
                500usize,
                |n| (1..=2_000).contains(n),
                "a whole number from 1 to 2000",
            )?,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}
