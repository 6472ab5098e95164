//! Settings every function and the CLI read once at start-up from the environment.
//! A missing or malformed value fails fast with the variable's name.

use std::time::Duration;

/// A setting that is missing or does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// Table names and incident retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// `INCIDENTS_TABLE`: incidents and their timelines.
    pub incidents_table: String,
    /// `STATE_TABLE`: counters, locks, ledgers, idempotency records.
    pub state_table: String,
    /// `APPTRACK_INCIDENT_RETENTION_DAYS` (default 90): how long resolved incidents are kept.
    pub retention: Duration,
}

pub const DEFAULT_RETENTION_DAYS: u64 = 90;

impl StoreSettings {
    /// Reads the settings through `get` (`std::env::var` in production, a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(SettingsError::Missing(name))
        };
        let days = parse_or(
            &get,
            "APPTRACK_INCIDENT_RETENTION_DAYS",
            DEFAULT_RETENTION_DAYS,
            |d: &u64| (1..=36_500).contains(d),
            "a whole number of days from 1 to 36500",
        )?;
        Ok(StoreSettings {
            incidents_table: required("INCIDENTS_TABLE")?,
            state_table: required("STATE_TABLE")?,
            retention: Duration::from_secs(days * 86_400),
        })
    }

    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Parses an optional variable, or returns `default` when it is unset or blank.
pub fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    valid: impl Fn(&T) -> bool,
    expected: &str,
) -> Result<T, SettingsError> {
    match get(name) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(x) if valid(&x) => Ok(x),
            _ => Err(SettingsError::Invalid {
                name,
                value: v,
                reason: format!("expected {expected}"),
            }),
        },
    }
}

/// Reads a boolean flag (`true/false/1/0/yes/no`), `false` when unset.
pub fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<bool, SettingsError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) => match v.as_str() {
            "" | "0" | "false" | "no" | "off" => Ok(false),
            "1" | "true" | "yes" | "on" => Ok(true),
            _ => Err(SettingsError::Invalid {
                name,
                value: v,
                reason: "expected true or false".to_string(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn reads_tables_and_default_retention() {
        let s =
            StoreSettings::from_lookup(lookup(&[("INCIDENTS_TABLE", "i"), ("STATE_TABLE", "s")]))
                .unwrap();
        assert_eq!(s.retention, Duration::from_secs(90 * 86_400));
    }

    #[test]
    fn names_the_bad_variable() {
        let err = StoreSettings::from_lookup(lookup(&[("STATE_TABLE", "s")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable INCIDENTS_TABLE is not set"
        );
        let err = StoreSettings::from_lookup(lookup(&[
            ("INCIDENTS_TABLE", "i"),
            ("STATE_TABLE", "s"),
            ("APPTRACK_INCIDENT_RETENTION_DAYS", "-3"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("APPTRACK_INCIDENT_RETENTION_DAYS=\"-3\""),
            "{err}"
        );
        assert!(flag(&lookup(&[("X", "maybe")]), "X").is_err());
        assert!(flag(&lookup(&[("X", "TRUE")]), "X").unwrap());
    }
}
