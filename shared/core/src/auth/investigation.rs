//! The brute-force incident's investigation summary: per source that failed in the burst,
//! what it did (attempts, accounts tried, first and last seen), whether it ever succeeded,
//! and whether it is familiar to any account. Values in, a summary out.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::state::Counters;
use super::window::{BUCKET_MILLIS, WindowPolicy};
use crate::clock::Timestamp;

/// One source of a burst, as an investigation starts from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSummary {
    pub source: String,
    /// Failures from the source against any account within the window.
    pub attempts: u32,
    /// Distinct accounts it failed against within the window (as far as the per-minute
    /// sets, bounded, recorded them).
    pub accounts_tried: u32,
    /// Starts of the first and last minutes it failed in, of those still stored.
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// It logged in successfully (to any account) while its counter lived.
    pub ever_succeeded: bool,
    /// Its prefix logged in successfully to some account within the familiarity window.
    pub familiar_to_any_account: bool,
    /// A sample of those accounts.
    pub familiar_to: Vec<String>,
}

/// Summarizes `source` from its counter item `c` at `now`; `familiar_to` are the accounts
/// its prefix is familiar to.
pub fn summarize(
    source: IpAddr,
    c: &Counters,
    window: &WindowPolicy,
    now: Timestamp,
    familiar_to: &BTreeSet<String>,
) -> SourceSummary {
    let failing: Vec<i64> = c
        .failure_buckets
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(m, _)| *m)
        .collect();
    let at = |m: i64| Timestamp::from_millis(m.saturating_mul(BUCKET_MILLIS));
    SourceSummary {
        source: source.to_string(),
        attempts: window.failures_in_window(&c.failure_buckets, now),
        accounts_tried: u32::try_from(c.members_from(window.first_minute(now)).len())
            .unwrap_or(u32::MAX),
        first_seen: failing.first().copied().map(at),
        last_seen: failing.last().copied().map(at),
        ever_succeeded: c.successes > 0,
        familiar_to_any_account: !familiar_to.is_empty(),
        familiar_to: familiar_to.iter().take(5).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::minute_of;

    #[test]
    fn a_source_is_summarized_from_its_counter() {
        let now = Timestamp::from_millis(1_795_000_000_000);
        let m = minute_of(now);
        let mut c = Counters {
            successes: 1,
            ..Counters::default()
        };
        c.failure_buckets.insert(m - 30, 7); // outside the 10-minute window
        c.failure_buckets.insert(m - 2, 3);
        c.failure_buckets.insert(m, 2);
        c.member_buckets
            .insert(m - 2, ["a".to_owned(), "b".to_owned()].into());
        c.member_buckets
            .insert(m, ["b".to_owned(), "c".to_owned()].into());
        let fam: BTreeSet<String> = ["carol".to_owned()].into();
        let s = summarize(
            "203.0.113.9".parse().expect("ip"),
            &c,
            &WindowPolicy::default(),
            now,
            &fam,
        );
        assert_eq!((s.attempts, s.accounts_tried), (5, 3));
        assert_eq!(
            s.first_seen,
            Some(Timestamp::from_millis((m - 30) * 60_000))
        );
        assert_eq!(s.last_seen, Some(Timestamp::from_millis(m * 60_000)));
        assert!(s.ever_succeeded && s.familiar_to_any_account);
        assert_eq!(s.familiar_to, vec!["carol"]);
    }
}
