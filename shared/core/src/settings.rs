//! Settings every function and the CLI read once at start-up from the environment.
//! A missing or malformed value fails fast with the variable's name.

use std::time::Duration;

/// A setting that is missing or does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl SettingsError {
    pub fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
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
    get: &dyn Fn(&str) -> Option<String>,
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
    get: &dyn Fn(&str) -> Option<String>,
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

/// Looks a variable up, treating an empty or blank value as unset: deployment templates
/// commonly pass `""` for an optional parameter, and that should mean "use the default".
pub fn lookup(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name).filter(|v| !v.trim().is_empty())
}

pub fn u32_in(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, SettingsError> {
    let Some(raw) = lookup(get, name) else {
        return Ok(default);
    };
    let n: u32 = raw
        .trim()
        .parse()
        .map_err(|_| SettingsError::invalid(name, &raw, "expected a whole number"))?;
    if n < min || n > max {
        return Err(SettingsError::invalid(
            name,
            &raw,
            format!("expected a number from {min} to {max}"),
        ));
    }
    Ok(n)
}

pub fn secs_in(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
    min_secs: u32,
    max_secs: u32,
) -> Result<Duration, SettingsError> {
    let d = u32_in(
        get,
        name,
        u32::try_from(default.as_secs()).unwrap_or(u32::MAX),
        min_secs,
        max_secs,
    )?;
    Ok(Duration::from_secs(u64::from(d)))
}

/// A comma-separated list; entries are trimmed and an empty entry (`a,,b`) is an error
/// because it is almost always a typo that would otherwise silently drop a field.
pub fn list(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: &[&str],
) -> Result<Vec<String>, SettingsError> {
    let Some(raw) = lookup(get, name) else {
        return Ok(default.iter().map(|s| (*s).to_owned()).collect());
    };
    raw.split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                Err(SettingsError::invalid(
                    name,
                    &raw,
                    "empty entry in the list",
                ))
            } else {
                Ok(item.to_owned())
            }
        })
        .collect()
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

#[cfg(test)]
mod list_tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn unset_and_blank_mean_default() {
        let get = env(&[("B", "  ")]);
        assert_eq!(u32_in(&get, "A", 5, 1, 10), Ok(5));
        assert_eq!(u32_in(&get, "B", 5, 1, 10), Ok(5));
    }

    #[test]
    fn errors_name_the_variable_and_value() {
        let get = env(&[("A", "five"), ("B", "0"), ("C", "a,,b")]);
        let e = u32_in(&get, "A", 5, 1, 10).expect_err("not a number");
        assert!(e.to_string().contains("A=\"five\""), "{e}");
        let e = u32_in(&get, "B", 5, 1, 10).expect_err("below min");
        assert!(e.to_string().contains("from 1 to 10"), "{e}");
        let e = list(&get, "C", &[]).expect_err("empty entry");
        assert!(e.to_string().contains("C=\"a,,b\""), "{e}");
    }
}
