//! The sliding window over per-minute failure buckets: how many failures an account had
//! within `find_time`, from counters a store can bump atomically with one `UpdateItem`.
//!
//! Storage shape this is designed for: one top-level numeric attribute per minute,
//! `f<minute>` (see [`failure_bucket_attribute`]), bumped with `ADD f29123456 :n` in the
//! same `UpdateItem` that `REMOVE`s the buckets [`WindowPolicy::expired_buckets`] names.
//! Top-level because `ADD` on a path inside a map fails while the map does not exist yet,
//! and creating the map in the same expression overlaps the path. Buckets a store has not
//! pruned yet are harmless: counting ignores them.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::clock::Timestamp;

/// Width of one bucket.
pub const BUCKET_MILLIS: i64 = 60_000;

/// Buckets this many minutes ahead of `now` still count: event clocks and the handler's
/// clock disagree by seconds, and a failure must not vanish because its host ran ahead.
/// Further ahead is a broken timestamp and is ignored, so it cannot pin an account.
pub const CLOCK_SKEW_MINUTES: i64 = 2;

/// The minute a timestamp falls in (floor, also for times before 1970).
pub fn minute_of(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(BUCKET_MILLIS)
}

/// The attribute name of a failure bucket: `f<minute>`.
pub fn failure_bucket_attribute(minute: i64) -> String {
    format!("f{minute}")
}

/// The attribute name of a per-minute account set of a source: `a<minute>` (stuffing).
pub fn account_bucket_attribute(minute: i64) -> String {
    format!("a{minute}")
}

/// The minute of an `f<minute>` or `a<minute>` attribute; `None` for any other name.
pub fn parse_bucket_attribute(name: &str) -> Option<i64> {
    let digits = name.strip_prefix('f').or_else(|| name.strip_prefix('a'))?;
    digits.parse().ok()
}

/// Adds a batch's buckets into stored ones (what `ADD` does server-side), saturating.
pub fn merge_buckets(into: &mut BTreeMap<i64, u32>, batch: &BTreeMap<i64, u32>) {
    for (minute, n) in batch {
        let slot = into.entry(*minute).or_insert(0);
        *slot = slot.saturating_add(*n);
    }
}

/// fail2ban's `maxretry` within `findtime`. Defaults: 5 failures within 600 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPolicy {
    pub max_failures: u32,
    /// Used in whole minutes, the bucket width, rounded down; at least one minute.
    pub find_time: Duration,
}

impl Default for WindowPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            find_time: Duration::from_secs(600),
        }
    }
}

impl WindowPolicy {
    /// How many whole buckets the window spans.
    pub fn window_minutes(&self) -> i64 {
        // Rounded down so that no counted bucket reaches back past `find_time`.
        let secs = i64::try_from(self.find_time.as_secs()).unwrap_or(i64::MAX / 2);
        (secs / 60).clamp(1, i64::MAX / 2)
    }

    /// The oldest bucket that still counts at `now`. A bucket counts only when all of it
    /// lies inside `(now - find_time, now]`: the count may miss failures up to a minute
    /// old at the window's far edge, but never counts one older than `find_time`.
    pub fn first_minute(&self, now: Timestamp) -> i64 {
        minute_of(now).saturating_sub(self.window_minutes() - 1)
    }

    /// Failures within the window ending at `now`.
    pub fn failures_in_window(&self, buckets: &BTreeMap<i64, u32>, now: Timestamp) -> u32 {
        self.failures_since(buckets, now, None)
    }

    /// Failures within the window, ignoring every bucket at or before the minute of
    /// `since` (the start of the last lock): failures that already caused a lock must not
    /// cause the next one the moment it expires.
    pub fn failures_since(
        &self,
        buckets: &BTreeMap<i64, u32>,
        now: Timestamp,
        since: Option<Timestamp>,
    ) -> u32 {
        let mut first = self.first_minute(now);
        if let Some(since) = since {
            first = first.max(minute_of(since).saturating_add(1));
        }
        let last = minute_of(now).saturating_add(CLOCK_SKEW_MINUTES);
        if first > last {
            return 0;
        }
        buckets
            .range(first..=last)
            .fold(0u32, |acc, (_, n)| acc.saturating_add(*n))
    }

    /// Whether the account has reached `max_failures` within the window.
    pub fn should_lock(&self, buckets: &BTreeMap<i64, u32>, now: Timestamp) -> bool {
        self.failures_in_window(buckets, now) >= self.max_failures
    }

    /// Buckets that can never count again at or after `now`: safe for the store to remove.
    pub fn expired_buckets<V>(&self, buckets: &BTreeMap<i64, V>, now: Timestamp) -> Vec<i64> {
        buckets
            .range(..self.first_minute(now))
            .map(|(m, _)| *m)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_millis(1_732_416_613_000); // 2024-11-24T02:50:13Z

    fn buckets(pairs: &[(Timestamp, u32)]) -> BTreeMap<i64, u32> {
        let mut b = BTreeMap::new();
        for (at, n) in pairs {
            *b.entry(minute_of(*at)).or_insert(0) += n;
        }
        b
    }

    #[test]
    fn five_failures_in_ten_minutes_lock_four_do_not() {
        let p = WindowPolicy::default();
        let four = buckets(&[
            (T0, 2),
            (T0.plus_millis(60_000), 1),
            (T0.plus_millis(120_000), 1),
        ]);
        assert!(!p.should_lock(&four, T0.plus_millis(180_000)));
        let mut five = four.clone();
        merge_buckets(&mut five, &buckets(&[(T0.plus_millis(170_000), 1)]));
        assert!(p.should_lock(&five, T0.plus_millis(180_000)));
    }

    #[test]
    fn failures_older_than_find_time_do_not_count() {
        let p = WindowPolicy::default();
        let b = buckets(&[(T0, 4), (T0.plus_millis(11 * 60_000), 1)]);
        assert_eq!(p.failures_in_window(&b, T0.plus_millis(11 * 60_000)), 1);
        assert_eq!(
            p.expired_buckets(&b, T0.plus_millis(11 * 60_000)),
            vec![minute_of(T0)]
        );
    }

    #[test]
    fn failures_before_the_last_lock_do_not_count_again() {
        let p = WindowPolicy::default();
        let b = buckets(&[(T0, 5), (T0.plus_millis(120_000), 2)]);
        assert_eq!(
            p.failures_since(&b, T0.plus_millis(180_000), Some(T0.plus_millis(10_000))),
            2
        );
    }

    #[test]
    fn future_buckets_count_only_within_clock_skew() {
        let p = WindowPolicy::default();
        let b = buckets(&[(T0.plus_millis(60_000), 1), (T0.plus_millis(3_600_000), 9)]);
        assert_eq!(p.failures_in_window(&b, T0), 1);
    }

    #[test]
    fn find_time_is_used_in_whole_minutes() {
        let w = |s| {
            WindowPolicy {
                max_failures: 1,
                find_time: Duration::from_secs(s),
            }
            .window_minutes()
        };
        assert_eq!((w(0), w(60), w(119), w(120), w(600)), (1, 1, 1, 2, 10));
    }

    #[test]
    fn bucket_attribute_names_round_trip() {
        assert_eq!(
            parse_bucket_attribute(&failure_bucket_attribute(28_873_610)),
            Some(28_873_610)
        );
        assert_eq!(
            parse_bucket_attribute(&account_bucket_attribute(-3)),
            Some(-3)
        );
        assert_eq!(parse_bucket_attribute("pk"), None);
        assert_eq!(parse_bucket_attribute("f"), None);
    }

    fn saturating_sum<'a>(it: impl Iterator<Item = (&'a i64, &'a u32)>) -> u32 {
        it.fold(0u32, |a, (_, n)| a.saturating_add(*n))
    }

    proptest! {
        #[test]
        fn window_count_is_bounded_and_ignores_old_buckets(
            raw in proptest::collection::btree_map(-100_000i64..100_000, any::<u32>(), 0..40),
            now in -6_000_000_000i64..6_000_000_000,
            find_secs in 60u64..100_000,
        ) {
            let p = WindowPolicy { max_failures: 5, find_time: Duration::from_secs(find_secs) };
            let at = Timestamp::from_millis(now);
            let count = p.failures_in_window(&raw, at);
            prop_assert!(count <= saturating_sum(raw.iter()));
            // Buckets that start at or before `now - find_time` never count.
            let horizon = now - i64::try_from(find_secs).unwrap_or(0) * 1000;
            let recent: BTreeMap<i64, u32> = raw
                .iter()
                .filter(|(m, _)| **m * BUCKET_MILLIS > horizon)
                .map(|(m, n)| (*m, *n))
                .collect();
            prop_assert_eq!(count, p.failures_in_window(&recent, at));
            // Buckets wholly inside the window always count.
            let inside = raw
                .iter()
                .filter(|(m, _)| **m * BUCKET_MILLIS - BUCKET_MILLIS >= horizon && **m <= minute_of(at));
            prop_assert!(count >= saturating_sum(inside));
            // Expired buckets are exactly ones that can never count again.
            let mut pruned = raw.clone();
            for m in p.expired_buckets(&raw, at) {
                pruned.remove(&m);
            }
            prop_assert_eq!(count, p.failures_in_window(&pruned, at));
        }
    }
}
