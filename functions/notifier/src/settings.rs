//! notifier's settings, read once at start-up; a malformed value names its variable.

use std::time::Duration;

use apptrack_core::incident::Severity;
use apptrack_core::notify::NotifyPolicy;
use apptrack_core::settings::{SettingsError, StoreSettings, lookup, u32_in};

/// The function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub store: StoreSettings,
    /// `APPTRACK_NOTIFY_TOPIC_ARN` (required): the SNS topic every notification goes to.
    pub topic: String,
    /// `APPTRACK_NOTIFY_TOPIC_<SEVERITY>` (unset: the main topic): a topic of its own for
    /// one severity, e.g. `APPTRACK_NOTIFY_TOPIC_CRITICAL` for the on-call pager.
    pub severity_topics: Vec<(Severity, String)>,
    /// `APPTRACK_NOTIFY_GROUP_MINUTES` (5), `APPTRACK_NOTIFY_REPEAT_MINUTES` (240),
    /// `APPTRACK_NOTIFY_MIN_SEVERITY` (info).
    pub policy: NotifyPolicy,
}

fn minutes(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    max: u32,
) -> Result<Duration, SettingsError> {
    let m = u32_in(get, name, default, 1, max)?;
    Ok(Duration::from_secs(u64::from(m) * 60))
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let topic = lookup(&get, "APPTRACK_NOTIFY_TOPIC_ARN").ok_or_else(|| {
            SettingsError::invalid(
                "APPTRACK_NOTIFY_TOPIC_ARN",
                "",
                "required: the ARN of the SNS topic notifications go to",
            )
        })?;
        let mut severity_topics = Vec::new();
        for severity in Severity::ALL {
            let name = format!(
                "APPTRACK_NOTIFY_TOPIC_{}",
                severity.as_str().to_ascii_uppercase()
            );
            if let Some(arn) = lookup(&get, &name) {
                severity_topics.push((*severity, arn.trim().to_owned()));
            }
        }
        let min_severity = match lookup(&get, "APPTRACK_NOTIFY_MIN_SEVERITY") {
            None => Severity::Info,
            Some(raw) => raw.parse().map_err(|_| {
                SettingsError::invalid(
                    "APPTRACK_NOTIFY_MIN_SEVERITY",
                    &raw,
                    "one of critical, high, medium, low, info",
                )
            })?,
        };
        let policy = NotifyPolicy {
            group_interval: minutes(&get, "APPTRACK_NOTIFY_GROUP_MINUTES", 5, 1440)?,
            repeat_interval: minutes(&get, "APPTRACK_NOTIFY_REPEAT_MINUTES", 240, 10_080)?,
            min_severity,
        };
        Ok(Settings {
            store: StoreSettings::from_lookup(&get)?,
            topic: topic.trim().to_owned(),
            severity_topics,
            policy,
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The topic a notification of this severity goes to.
    pub fn topic_for(&self, severity: Severity) -> &str {
        self.severity_topics
            .iter()
            .find(|(s, _)| *s == severity)
            .map_or(self.topic.as_str(), |(_, arn)| arn.as_str())
    }
}
