//! Account takeover: a successful login right after a burst of failed ones, from a source
//! that failed in the burst, or from any source the account's lock holds against. The most
//! important signal of a password-guessing attack, and where an investigation starts.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::familiar::{FamiliarPolicy, FamiliarSources};
use super::state::{Counters, LockMode, LockRecord};
use super::window::{CLOCK_SKEW_MINUTES, WindowPolicy, minute_of};
use crate::clock::Timestamp;

/// Why a success is a likely takeover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TakeoverCause {
    /// The source failed in the burst, is not familiar, and then got in.
    FailedInBurst,
    /// The account was locked for this source when it got in (the login path did not
    /// check the lock, or the check was bypassed).
    WhileLocked,
}

impl TakeoverCause {
    pub fn as_str(self) -> &'static str {
        match self {
            TakeoverCause::FailedInBurst => "failed-in-burst",
            TakeoverCause::WhileLocked => "while-locked",
        }
    }
}

/// Judges one success (`source` at `at`) against the account's latest lock `lock` (whose
/// episode it would belong to), its counter `c` and its familiar sources before this batch.
///
/// A success belongs to the lock's episode when it comes within the find window before the
/// lock (the burst that caused it) or before the later of the lock's end and a find window
/// after its start. Then it is a takeover when its source failed in the burst (from the
/// lock's window on, per-minute granularity) and is not familiar, or when the lock held
/// against it. A familiar source that failed and then succeeded is the owner who mistyped.
pub fn judge_success(
    window: &WindowPolicy,
    familiar_policy: &FamiliarPolicy,
    lock: &LockRecord,
    c: &Counters,
    familiar: &FamiliarSources,
    source: IpAddr,
    at: Timestamp,
) -> Option<TakeoverCause> {
    let starts = lock.locked_at.saturating_sub(window.find_time);
    let ends = lock
        .locked_until
        .max(lock.locked_at.saturating_add(window.find_time));
    if at < starts || at >= ends {
        return None;
    }
    // An audit-mode lock is enforced nowhere: a login it would have refused is expected.
    let enforced = lock.mode == LockMode::Enforce;
    if enforced && at >= lock.locked_at && lock.is_locked_for(at, Some(source)) {
        return Some(TakeoverCause::WhileLocked);
    }
    let from = window.first_minute(lock.locked_at.min(at)) - CLOCK_SKEW_MINUTES;
    let to = minute_of(at);
    let ip = source.to_string();
    let failed = from <= to
        && c.member_buckets
            .range(from..=to)
            .any(|(_, set)| set.contains(&ip));
    let burst_before = at >= lock.locked_at
        || window.failures_in_window(&c.failure_buckets, at) >= window.max_failures;
    (failed && burst_before && !familiar.is_familiar(source, familiar_policy, at))
        .then_some(TakeoverCause::FailedInBurst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{FamiliarPolicy, LockScope, SourcePrefix};
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);
    const MIN: i64 = 60_000;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn lock(at: Timestamp, scope: LockScope, familiar: &[&str]) -> LockRecord {
        LockRecord {
            account: "alice".into(),
            mode: LockMode::Enforce,
            locked_at: at,
            locked_until: at.plus_millis(15 * MIN),
            reason: String::new(),
            sources: vec![],
            user_agents: vec![],
            failures: 5,
            first_failure_at: T0,
            last_failure_at: at,
            offence_number: 1,
            offences: vec![at],
            log_group: "/x/auth".into(),
            incident_id: None,
            unlocked_at: None,
            unlocked_by: None,
            unlock_note: None,
            rev: 1,
            scope,
            familiar: familiar.iter().map(|s| SourcePrefix::of(ip(s))).collect(),
            investigation: vec![],
        }
    }

    /// Five failures from `attacker`, one a minute from T0.
    fn burst(attacker: &str) -> Counters {
        let mut c = Counters::default();
        for i in 0..5 {
            c.failure_buckets.insert(minute_of(T0) + i, 1);
            c.member_buckets
                .insert(minute_of(T0) + i, [attacker.to_owned()].into());
        }
        c
    }

    fn judge(
        l: &LockRecord,
        c: &Counters,
        f: &FamiliarSources,
        src: &str,
        at: Timestamp,
    ) -> Option<TakeoverCause> {
        judge_success(
            &WindowPolicy::default(),
            &FamiliarPolicy::default(),
            l,
            c,
            f,
            ip(src),
            at,
        )
    }

    #[test]
    fn a_failing_source_that_gets_in_after_the_burst_is_a_takeover() {
        let locked_at = T0.plus_millis(4 * MIN);
        let l = lock(locked_at, LockScope::Unfamiliar, &["192.0.2.44"]);
        let c = burst("203.0.113.9");
        let f = FamiliarSources::default();
        // Right after the lock: it holds against the attacker.
        assert_eq!(
            judge(&l, &c, &f, "203.0.113.9", locked_at.plus_millis(MIN)),
            Some(TakeoverCause::WhileLocked)
        );
        // The owner from a familiar address: not locked, never failed.
        assert_eq!(
            judge(&l, &c, &f, "192.0.2.50", locked_at.plus_millis(MIN)),
            None
        );
        // A stranger while locked for strangers.
        assert_eq!(
            judge(&l, &c, &f, "198.51.100.1", locked_at.plus_millis(MIN)),
            Some(TakeoverCause::WhileLocked)
        );
        // After the lock, within a find window of it: the failing source only.
        let after = locked_at.plus_millis(16 * MIN);
        let mut short = l.clone();
        short.locked_until = locked_at.plus_millis(MIN);
        assert_eq!(
            judge(
                &short,
                &c,
                &f,
                "203.0.113.9",
                locked_at.plus_millis(5 * MIN)
            ),
            Some(TakeoverCause::FailedInBurst)
        );
        assert_eq!(
            judge(
                &short,
                &c,
                &f,
                "198.51.100.1",
                locked_at.plus_millis(5 * MIN)
            ),
            None
        );
        // Long after: another episode's business.
        assert_eq!(judge(&l, &c, &f, "203.0.113.9", after), None);
        // A success before the burst was complete is not after a burst.
        assert_eq!(judge(&l, &c, &f, "203.0.113.9", T0.plus_millis(MIN)), None);
    }

    #[test]
    fn a_familiar_source_that_mistyped_is_the_owner() {
        let locked_at = T0.plus_millis(4 * MIN);
        let l = lock(locked_at, LockScope::Unfamiliar, &["192.0.2.44"]);
        let c = burst("192.0.2.44");
        let mut f = FamiliarSources::default();
        f.days
            .insert(crate::auth::day_of(T0), [ip("192.0.2.44")].into());
        assert_eq!(
            judge(&l, &c, &f, "192.0.2.44", locked_at.plus_millis(MIN)),
            None
        );
        // With the hard lock of before, every success during the lock is suspect.
        let hard = lock(locked_at, LockScope::Account, &[]);
        assert_eq!(
            judge(&hard, &c, &f, "192.0.2.44", locked_at.plus_millis(MIN)),
            Some(TakeoverCause::WhileLocked)
        );
    }

    proptest! {
        #[test]
        fn familiar_sources_are_never_judged_under_a_scoped_lock(
            offset in -30i64..60,
            last in 0u8..255,
        ) {
            let locked_at = T0.plus_millis(4 * MIN);
            let l = lock(locked_at, LockScope::Unfamiliar, &["192.0.2.1"]);
            let owner = format!("192.0.2.{last}");
            let c = burst(&owner);
            let mut f = FamiliarSources::default();
            f.days.insert(crate::auth::day_of(T0), [ip("192.0.2.1")].into());
            prop_assert_eq!(judge(&l, &c, &f, &owner, locked_at.plus_millis(offset * MIN)), None);
        }
    }
}
