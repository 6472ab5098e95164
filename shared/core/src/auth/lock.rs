//! How long an account is locked: a base time that doubles with each repeat offence
//! within the repeat window, capped, so a persistent attacker is slowed without a human.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// Defaults: 15 minutes, doubling per offence within 24 h, at most 24 h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Offences older than this are forgiven: the next lock starts from `base` again.
    pub repeat_window: Duration,
}

impl Default for LockPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(15 * 60),
            cap: Duration::from_secs(24 * 60 * 60),
            repeat_window: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl LockPolicy {
    /// `base × 2^previous`, at most `cap`, for any `previous` (no overflow).
    pub fn lock_duration(&self, previous_offences_in_window: u32) -> Duration {
        // 2^n for n ≥ 32 exceeds any cap a u32 multiplier could reach; saturate to the cap.
        let factor = 1u32.checked_shl(previous_offences_in_window).unwrap_or(0);
        let doubled = if factor == 0 {
            None
        } else {
            self.base.checked_mul(factor)
        };
        doubled.map_or(self.cap, |d| d.min(self.cap))
    }

    /// Offences (lock start times) within the repeat window ending at `now`. A future
    /// start (clock skew) counts: it is recent.
    pub fn offences_in_window(&self, offence_starts: &[Timestamp], now: Timestamp) -> u32 {
        let horizon = now.saturating_sub(self.repeat_window);
        let n = offence_starts.iter().filter(|at| **at > horizon).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The end of a lock of `duration` starting at `now`, saturating at the far future.
    pub fn until(now: Timestamp, duration: Duration) -> Timestamp {
        now.saturating_add(duration)
    }
}

/// Lock this account until `until`. One decision is one offence and one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockDecision {
    pub account: String,
    pub until: Timestamp,
    /// Human text for the incident and the lock record.
    pub reason: String,
    /// Sources that failed against the account (bounded sample), for the incident.
    pub sources: Vec<IpAddr>,
    /// 1 for the first offence within the repeat window, 2 for the next, ...
    pub offence_number: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn doubles_from_fifteen_minutes_up_to_a_day() {
        let p = LockPolicy::default();
        let mins: Vec<u64> = (0..9).map(|n| p.lock_duration(n).as_secs() / 60).collect();
        assert_eq!(mins, vec![15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
        assert_eq!(p.lock_duration(u32::MAX), p.cap);
    }

    #[test]
    fn base_above_cap_is_capped() {
        let p = LockPolicy {
            base: 10 * MIN,
            cap: 5 * MIN,
            ..LockPolicy::default()
        };
        assert_eq!(p.lock_duration(0), 5 * MIN);
    }

    #[test]
    fn offences_older_than_a_day_are_forgiven() {
        let p = LockPolicy::default();
        let now = Timestamp::from_millis(1_732_416_613_000);
        let day = 86_400_000;
        let ago = |ms: i64| now.plus_millis(-ms);
        assert_eq!(
            p.offences_in_window(&[ago(day + 1), ago(day - 1), ago(5)], now),
            2
        );
        assert_eq!(LockPolicy::until(now, 15 * MIN), now.plus_millis(900_000));
        let end = Timestamp::from_millis(i64::MAX);
        assert_eq!(LockPolicy::until(end.plus_millis(-1), 15 * MIN), end);
    }

    proptest! {
        #[test]
        fn lock_duration_is_monotone_and_capped(
            base_secs in 0u64..10_000_000,
            cap_secs in 0u64..10_000_000,
            n in any::<u32>(),
        ) {
            let p = LockPolicy {
                base: Duration::from_secs(base_secs),
                cap: Duration::from_secs(cap_secs),
                repeat_window: Duration::from_secs(86_400),
            };
            let d = p.lock_duration(n);
            prop_assert!(d <= p.cap);
            prop_assert!(d <= p.lock_duration(n.saturating_add(1)));
            if n > 0 {
                prop_assert!(p.lock_duration(n - 1) <= d);
            }
        }
    }
}
