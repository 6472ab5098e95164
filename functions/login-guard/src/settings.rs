//! login-guard's settings, read once at start-up; a malformed value names its variable.

use apptrack_core::auth::GuardPolicy;
use apptrack_core::settings::{SettingsError, StoreSettings, flag};
use apptrack_core::subscription::DecodeLimits;

/// The function's settings, read once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// Every threshold (see `GuardPolicy::from_env` for the variables).
    pub policy: GuardPolicy,
    /// `APPTRACK_DRY_RUN` (default false): audit mode, record what would be locked.
    pub dry_run: bool,
    /// `APPTRACK_MAX_DECOMPRESSED_BYTES` (8 MiB): a payload that inflates past this is rejected.
    pub limits: DecodeLimits,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(Settings {
            store: StoreSettings::from_lookup(&get)?,
            policy: GuardPolicy::from_env(&get)?,
            dry_run: flag(&get, "APPTRACK_DRY_RUN")?,
            limits: DecodeLimits::from_lookup(&get)?,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}
