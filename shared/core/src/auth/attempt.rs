//! One recognized login attempt, the unit every later stage counts, and the normalization
//! that makes its account and source stable counting keys whatever log format they came from.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// Longest account kept, in characters: accounts become DynamoDB keys and incident text,
/// and an attacker chooses them, so they are bounded.
pub const MAX_ACCOUNT_CHARS: usize = 128;
/// Longest user agent kept, in characters.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// What the log line says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Failure,
    Success,
}

/// A login attempt recognized in one log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempt {
    /// Normalized account name (see [`AccountCase`]); never empty.
    pub account: String,
    /// Client address; `None` when the line has none or it is not a valid IP (a hostname).
    pub source: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub outcome: Outcome,
    /// Event time as the caller passed it (the CloudWatch event timestamp).
    pub at: Timestamp,
    /// CloudWatch Logs event id: what makes counting exact under retries.
    pub event_id: String,
}

/// How account names are folded before they become counting keys.
///
/// The default folds only e-mail addresses: they are case-insensitive in practice, and
/// folding them stops an attacker from dodging per-account counting with `Bob@X` / `bob@x`.
/// Unix user names are case-sensitive (`Admin` and `admin` are two accounts), so they are
/// kept as written unless the application says its names are case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountCase {
    /// Keep every account as written (after trimming).
    Preserve,
    /// Lowercase accounts that contain `@`; keep others as written.
    #[default]
    LowercaseEmails,
    /// Lowercase every account.
    Lowercase,
}

impl AccountCase {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "preserve" => Some(Self::Preserve),
            "lower-emails" | "lowercase-emails" => Some(Self::LowercaseEmails),
            "lower" | "lowercase" => Some(Self::Lowercase),
            _ => None,
        }
    }
}

/// Turns a raw account as found in a log line into a counting key.
///
/// Trims, drops control characters (they would let an attacker forge incident text),
/// folds case per [`AccountCase`] and bounds the length. Returns `None` when nothing is
/// left: an attempt without an account cannot be counted per account.
pub fn normalize_account(raw: &str, case: AccountCase) -> Option<String> {
    let trimmed = raw.trim();
    let fold = match case {
        AccountCase::Preserve => false,
        AccountCase::LowercaseEmails => trimmed.contains('@'),
        AccountCase::Lowercase => true,
    };
    let mut out = String::with_capacity(trimmed.len().min(MAX_ACCOUNT_CHARS));
    for c in trimmed
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ACCOUNT_CHARS)
    {
        if fold {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    let out = out.trim().to_owned();
    (!out.is_empty()).then_some(out)
}

/// Reads a client address the ways applications write it: `1.2.3.4`, `1.2.3.4:5678`,
/// `[::1]:443`, or an `X-Forwarded-For` list whose first entry is the client.
///
/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is folded to IPv4 so one client is one key and the
/// allow-list's IPv4 ranges apply to it. Anything else (a hostname, garbage) is `None`.
pub fn parse_source(raw: &str) -> Option<IpAddr> {
    let first = raw.split(',').next().unwrap_or(raw).trim();
    let ip = first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            first
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

/// Bounds and cleans a user agent; `None` when empty.
pub(crate) fn clean_user_agent(raw: &str) -> Option<String> {
    let out: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_fold_but_unix_names_keep_their_case() {
        let c = AccountCase::default();
        assert_eq!(
            normalize_account("  Bob@Example.COM ", c).as_deref(),
            Some("bob@example.com")
        );
        assert_eq!(normalize_account("Admin", c).as_deref(), Some("Admin"));
        assert_eq!(
            normalize_account("Admin", AccountCase::Lowercase).as_deref(),
            Some("admin")
        );
        assert_eq!(
            normalize_account("A@B", AccountCase::Preserve).as_deref(),
            Some("A@B")
        );
    }

    #[test]
    fn empty_and_control_only_accounts_are_not_countable() {
        assert_eq!(normalize_account("   ", AccountCase::default()), None);
        assert_eq!(normalize_account("\u{1b}\n", AccountCase::default()), None);
        assert_eq!(
            normalize_account("ro\not", AccountCase::default()).as_deref(),
            Some("root")
        );
    }

    #[test]
    fn long_accounts_are_bounded() {
        let long = "x".repeat(10_000);
        let n = normalize_account(&long, AccountCase::default()).unwrap_or_default();
        assert_eq!(n.chars().count(), MAX_ACCOUNT_CHARS);
    }

    #[test]
    fn sources_in_the_shapes_applications_write() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(parse_source("203.0.113.7"), Some(v4));
        assert_eq!(parse_source("203.0.113.7:51234"), Some(v4));
        assert_eq!(parse_source("203.0.113.7, 10.0.0.1"), Some(v4));
        assert_eq!(parse_source("::ffff:203.0.113.7"), Some(v4));
        assert_eq!(
            parse_source("[2001:db8::1]:443"),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(parse_source("[2001:db8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(parse_source("host.example.com"), None);
        assert_eq!(parse_source("999.1.1.1"), None);
        assert_eq!(parse_source(""), None);
    }
}
