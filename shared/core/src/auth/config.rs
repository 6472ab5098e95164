//! Reading login-guard settings from environment-like strings, failing fast at start-up
//! with an error that names the variable and the value that was wrong.

use std::time::Duration;

/// A setting that could not be used. Retrying cannot help: the configuration must change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Looks a variable up, treating an empty or blank value as unset: deployment templates
/// commonly pass `""` for an optional parameter, and that should mean "use the default".
pub(crate) fn lookup(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name).filter(|v| !v.trim().is_empty())
}

pub(crate) fn u32_in(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    let Some(raw) = lookup(get, name) else {
        return Ok(default);
    };
    let n: u32 = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError::invalid(name, &raw, "expected a whole number"))?;
    if n < min || n > max {
        return Err(ConfigError::invalid(
            name,
            &raw,
            format!("expected a number from {min} to {max}"),
        ));
    }
    Ok(n)
}

pub(crate) fn secs_in(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
    min_secs: u32,
    max_secs: u32,
) -> Result<Duration, ConfigError> {
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
pub(crate) fn list(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: &[&str],
) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = lookup(get, name) else {
        return Ok(default.iter().map(|s| (*s).to_owned()).collect());
    };
    raw.split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                Err(ConfigError::invalid(name, &raw, "empty entry in the list"))
            } else {
                Ok(item.to_owned())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
