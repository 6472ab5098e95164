//! Credential stuffing: one source failing against many distinct accounts. It raises its
//! own incident about the source and locks nothing by itself, because locking every account
//! a spraying bot touched would lock out their owners for the bot's sake.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::window::{CLOCK_SKEW_MINUTES, WindowPolicy, minute_of};
use crate::clock::Timestamp;

/// Defaults: 20 distinct accounts within 600 s; incidents carry at most 10 of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StuffingPolicy {
    pub distinct_accounts: u32,
    pub find_time: Duration,
    pub sample_size: usize,
}

impl Default for StuffingPolicy {
    fn default() -> Self {
        Self {
            distinct_accounts: 20,
            find_time: Duration::from_secs(600),
            sample_size: 10,
        }
    }
}

/// A source that failed against `distinct_count` accounts within the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuffingDecision {
    pub source: IpAddr,
    /// A bounded, sorted sample of the accounts, for the incident's evidence.
    pub accounts: Vec<String>,
    pub distinct_count: u32,
}

impl StuffingPolicy {
    fn window(&self) -> WindowPolicy {
        WindowPolicy {
            max_failures: self.distinct_accounts,
            find_time: self.find_time,
        }
    }

    /// The distinct accounts in the per-minute account sets that fall in the window
    /// (same bucket rules as [`WindowPolicy`]).
    pub fn accounts_in_window<'a>(
        &self,
        buckets: &'a BTreeMap<i64, BTreeSet<String>>,
        now: Timestamp,
    ) -> BTreeSet<&'a str> {
        let first = self.window().first_minute(now);
        let last = minute_of(now).saturating_add(CLOCK_SKEW_MINUTES);
        if first > last {
            return BTreeSet::new();
        }
        buckets
            .range(first..=last)
            .flat_map(|(_, set)| set.iter().map(String::as_str))
            .collect()
    }

    /// A decision when the source reached the threshold; `None` otherwise. Stateless:
    /// while the source keeps going each batch decides again, and the incident's dedup
    /// key (source + kind) folds those into one incident.
    pub fn detect(
        &self,
        source: IpAddr,
        buckets: &BTreeMap<i64, BTreeSet<String>>,
        now: Timestamp,
    ) -> Option<StuffingDecision> {
        let accounts = self.accounts_in_window(buckets, now);
        let distinct_count = u32::try_from(accounts.len()).unwrap_or(u32::MAX);
        (distinct_count >= self.distinct_accounts).then(|| StuffingDecision {
            source,
            accounts: accounts
                .iter()
                .take(self.sample_size)
                .map(|a| (*a).to_owned())
                .collect(),
            distinct_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_732_416_613_000);

    fn spray(n: usize, at: Timestamp) -> BTreeMap<i64, BTreeSet<String>> {
        let mut b = BTreeMap::new();
        b.insert(
            minute_of(at),
            (0..n).map(|i| format!("user{i:03}@example.com")).collect(),
        );
        b
    }

    #[test]
    fn twenty_distinct_accounts_is_stuffing_nineteen_is_not() {
        let p = StuffingPolicy::default();
        let ip: IpAddr = "203.0.113.50".parse().expect("ip");
        assert_eq!(p.detect(ip, &spray(19, T0), T0), None);
        let d = p.detect(ip, &spray(20, T0), T0).expect("stuffing");
        assert_eq!(d.distinct_count, 20);
        assert_eq!(d.accounts.len(), 10);
        assert_eq!(d.accounts[0], "user000@example.com");
    }

    #[test]
    fn the_same_account_in_several_minutes_counts_once_and_old_minutes_not_at_all() {
        let p = StuffingPolicy::default();
        let mut b = spray(15, T0);
        b.extend(spray(15, T0.plus_millis(60_000)));
        assert_eq!(p.accounts_in_window(&b, T0.plus_millis(60_000)).len(), 15);
        b.extend(spray(30, T0.plus_millis(-(20 * 60_000))));
        assert_eq!(p.accounts_in_window(&b, T0.plus_millis(60_000)).len(), 15);
    }
}
