//! All login-guard thresholds in one place, read once at start-up, and the decisions that
//! combine them with what the store holds for an account or a source.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use super::aggregate::AggregateLimits;
use super::allow::AllowList;
use super::familiar::FamiliarPolicy;
use super::lock::{LockDecision, LockPolicy};
use super::parse::AuthParserConfig;
use super::stuffing::{StuffingDecision, StuffingPolicy};
use super::window::WindowPolicy;
use crate::clock::Timestamp;
use crate::settings::{self, SettingsError};

/// What the store holds for one account after this batch's update was applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    /// Failure buckets by minute (`f<minute>` attributes), including this batch's.
    pub failure_buckets: BTreeMap<i64, u32>,
    /// Start times of past locks (offences); older than the repeat window may be pruned.
    pub offences: Vec<Timestamp>,
    /// End of the current lock, if any.
    pub locked_until: Option<Timestamp>,
    /// Sources that failed against the account (bounded), for the decision's evidence.
    pub sources: Vec<IpAddr>,
}

/// What the store holds for one source after this batch's update was applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    /// Accounts failed against, by minute (`a<minute>` string sets).
    pub account_buckets: BTreeMap<i64, BTreeSet<String>>,
}

/// Every threshold of login-guard. `Default` is fail2ban's sshd jail plus loopback allowed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuardPolicy {
    pub window: WindowPolicy,
    pub lock: LockPolicy,
    pub stuffing: StuffingPolicy,
    pub allow: AllowList,
    pub parser: AuthParserConfig,
    pub limits: AggregateLimits,
    /// Familiar sources and whom a lock holds against.
    pub familiar: FamiliarPolicy,
}

const DAY_SECS: u32 = 86_400;

impl GuardPolicy {
    pub const MAX_FAILURES_VAR: &'static str = "APPTRACK_LOCK_MAX_FAILURES";
    pub const FIND_TIME_VAR: &'static str = "APPTRACK_LOCK_FIND_TIME_SECS";
    pub const LOCK_BASE_VAR: &'static str = "APPTRACK_LOCK_BASE_SECS";
    pub const LOCK_CAP_VAR: &'static str = "APPTRACK_LOCK_CAP_SECS";
    pub const REPEAT_WINDOW_VAR: &'static str = "APPTRACK_LOCK_REPEAT_WINDOW_SECS";
    pub const STUFFING_ACCOUNTS_VAR: &'static str = "APPTRACK_STUFFING_ACCOUNTS";
    pub const ALLOW_CIDRS_VAR: &'static str = "APPTRACK_ALLOW_CIDRS";

    /// Reads every setting through `get` (pass `|k| std::env::var(k).ok()` in `main`, a
    /// closure over a table in tests). Unset or blank variables keep the defaults.
    ///
    /// Bounds: find time 60 s..1 day (whole-minute buckets; a day keeps at most 1,440 of
    /// them per item), lock base 1 s..cap, cap up to 30 days, stuffing threshold ≥ 2.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let d = Self::default();
        let max_failures = settings::u32_in(
            get,
            Self::MAX_FAILURES_VAR,
            d.window.max_failures,
            1,
            1_000_000,
        )?;
        let find_time =
            settings::secs_in(get, Self::FIND_TIME_VAR, d.window.find_time, 60, DAY_SECS)?;
        let cap = settings::secs_in(get, Self::LOCK_CAP_VAR, d.lock.cap, 1, 30 * DAY_SECS)?;
        let base = settings::secs_in(get, Self::LOCK_BASE_VAR, d.lock.base, 1, 30 * DAY_SECS)?;
        if base > cap {
            let raw = base.as_secs().to_string();
            return Err(SettingsError::invalid(
                Self::LOCK_BASE_VAR,
                &raw,
                format!("must not exceed {}={}", Self::LOCK_CAP_VAR, cap.as_secs()),
            ));
        }
        let repeat_window = settings::secs_in(
            get,
            Self::REPEAT_WINDOW_VAR,
            d.lock.repeat_window,
            60,
            30 * DAY_SECS,
        )?;
        let stuffing_accounts = settings::u32_in(
            get,
            Self::STUFFING_ACCOUNTS_VAR,
            d.stuffing.distinct_accounts,
            2,
            10_000,
        )?;
        let allow = match settings::lookup(get, Self::ALLOW_CIDRS_VAR) {
            Some(raw) => AllowList::from_setting(Self::ALLOW_CIDRS_VAR, &raw)?,
            None => d.allow,
        };
        let mut limits = d.limits;
        // One batch alone must be able to show stuffing, so a minute's set holds a threshold.
        limits.accounts_per_source_minute = limits
            .accounts_per_source_minute
            .max(usize::try_from(stuffing_accounts).unwrap_or(usize::MAX));
        Ok(Self {
            window: WindowPolicy {
                max_failures,
                find_time,
            },
            lock: LockPolicy {
                base,
                cap,
                repeat_window,
            },
            stuffing: StuffingPolicy {
                distinct_accounts: stuffing_accounts,
                find_time,
                ..d.stuffing
            },
            allow,
            parser: AuthParserConfig::from_env(get)?,
            limits,
            familiar: FamiliarPolicy::from_env(get)?,
        })
    }

    /// Whether to lock `account` now, given its stored state.
    ///
    /// `now` should be the time of the account's latest attempt in the batch (the
    /// aggregate's `last_at`), so that a batch delivered late is judged by when the
    /// attempts happened. No decision while a lock is still running (one incident per lock
    /// episode); failures at or before the last lock's start do not count again.
    /// Successful logins change nothing here (see the module doc of `auth`).
    pub fn decide_lock(
        &self,
        account: &str,
        state: &AccountState,
        now: Timestamp,
    ) -> Option<LockDecision> {
        if state.locked_until.is_some_and(|until| until > now) {
            return None;
        }
        let last_offence = state.offences.iter().copied().max();
        let failures = self
            .window
            .failures_since(&state.failure_buckets, now, last_offence);
        if failures < self.window.max_failures {
            return None;
        }
        let previous = self.lock.offences_in_window(&state.offences, now);
        let duration = self.lock.lock_duration(previous);
        Some(LockDecision {
            account: account.to_owned(),
            until: LockPolicy::until(now, duration),
            reason: format!(
                "{failures} failed logins within {} s (threshold {}); offence {} within {} h, locked for {} s",
                self.window.find_time.as_secs(),
                self.window.max_failures,
                previous.saturating_add(1),
                self.lock.repeat_window.as_secs() / 3600,
                duration.as_secs(),
            ),
            sources: state
                .sources
                .iter()
                .copied()
                .take(self.limits.sources_per_account)
                .collect(),
            offence_number: previous.saturating_add(1),
        })
    }

    /// Whether `source` is credential stuffing, given its stored per-minute account sets.
    pub fn decide_stuffing(
        &self,
        source: IpAddr,
        state: &SourceState,
        now: Timestamp,
    ) -> Option<StuffingDecision> {
        self.stuffing.detect(source, &state.account_buckets, now)
    }

    /// How long a key's stored state can still matter to a decision: a store can set the
    /// item's TTL this far past its last update.
    pub fn state_ttl(&self) -> Duration {
        self.window
            .find_time
            .max(self.lock.repeat_window)
            .max(self.lock.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthParser, BatchAggregate, Outcome, merge_buckets};

    const T0: Timestamp = Timestamp::from_millis(1_732_416_613_000);
    const MIN: i64 = 60_000;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_are_fail2bans() {
        let p = GuardPolicy::from_env(&|_| None).expect("defaults");
        assert_eq!(p, GuardPolicy::default());
        assert_eq!(p.window.max_failures, 5);
        assert_eq!(p.window.find_time, Duration::from_secs(600));
        assert_eq!(p.lock.base, Duration::from_secs(900));
        assert_eq!(p.lock.cap, Duration::from_secs(86_400));
        assert_eq!(p.stuffing.distinct_accounts, 20);
        assert!(p.allow.contains("127.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn every_setting_is_read() {
        let get = env(&[
            ("APPTRACK_LOCK_MAX_FAILURES", "3"),
            ("APPTRACK_LOCK_FIND_TIME_SECS", "300"),
            ("APPTRACK_LOCK_BASE_SECS", "60"),
            ("APPTRACK_LOCK_CAP_SECS", "3600"),
            ("APPTRACK_STUFFING_ACCOUNTS", "50"),
            ("APPTRACK_ALLOW_CIDRS", "10.0.0.0/8"),
            ("APPTRACK_AUTH_ACCOUNT_FIELDS", "principal, actor.login"),
            ("APPTRACK_AUTH_SOURCE_FIELDS", "peer"),
            ("APPTRACK_AUTH_OUTCOME_FIELDS", "auth_result"),
            (
                "APPTRACK_AUTH_REGEX",
                r"AUTH (?P<outcome>\w+) user=(?P<account>\S+) ip=(?P<ip>\S+)",
            ),
        ]);
        let p = GuardPolicy::from_env(&get).expect("valid");
        assert_eq!(
            p.window,
            WindowPolicy {
                max_failures: 3,
                find_time: Duration::from_secs(300)
            }
        );
        assert_eq!((p.lock.base.as_secs(), p.lock.cap.as_secs()), (60, 3600));
        assert_eq!(p.stuffing.distinct_accounts, 50);
        assert!(p.limits.accounts_per_source_minute >= 50);
        assert!(!p.allow.contains("127.0.0.1".parse().expect("ip")));
        assert_eq!(p.parser.account_fields, vec!["principal", "actor.login"]);
        let parser = AuthParser::new(p.parser);
        let a = parser
            .parse(
                r#"{"auth_result":"DENIED","actor":{"login":"Octo"},"peer":"192.0.2.1:4431"}"#,
                "e1",
                T0,
            )
            .expect("json with configured fields");
        assert_eq!((a.account.as_str(), a.outcome), ("Octo", Outcome::Failure));
        let a = parser
            .parse("AUTH ok user=bob ip=192.0.2.2", "e2", T0)
            .expect("regex");
        assert_eq!(a.outcome, Outcome::Success);
    }

    #[test]
    fn bad_values_name_the_variable_and_value() {
        let cases: &[(&'static str, &'static str)] = &[
            ("APPTRACK_LOCK_MAX_FAILURES", "0"),
            ("APPTRACK_LOCK_MAX_FAILURES", "five"),
            ("APPTRACK_LOCK_FIND_TIME_SECS", "30"),
            ("APPTRACK_LOCK_BASE_SECS", "-1"),
            ("APPTRACK_LOCK_CAP_SECS", "99999999999"),
            ("APPTRACK_STUFFING_ACCOUNTS", "1"),
            ("APPTRACK_ALLOW_CIDRS", "10.0.0.0/8,bogus"),
            ("APPTRACK_AUTH_ACCOUNT_FIELDS", "user,,email"),
            ("APPTRACK_AUTH_REGEX", "(?P<account>unclosed"),
            ("APPTRACK_AUTH_REGEX", "no account group (?P<ip>\\S+)"),
            ("APPTRACK_AUTH_ACCOUNT_CASE", "upper"),
        ];
        for (name, value) in cases {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(vec![(*name, *value)].into_boxed_slice());
            let err = GuardPolicy::from_env(&env(pairs)).expect_err(name);
            let text = err.to_string();
            assert!(text.starts_with(&format!("{name}=")), "{text}");
            assert!(text.contains(&format!("{value:?}")), "{text}");
        }
    }

    #[test]
    fn base_longer_than_cap_is_refused() {
        let get = env(&[
            ("APPTRACK_LOCK_BASE_SECS", "7200"),
            ("APPTRACK_LOCK_CAP_SECS", "3600"),
        ]);
        let err = GuardPolicy::from_env(&get).expect_err("base > cap");
        assert!(
            err.to_string().contains("APPTRACK_LOCK_BASE_SECS=\"7200\""),
            "{err}"
        );
    }

    fn state(failures_at: &[Timestamp]) -> AccountState {
        let mut s = AccountState::default();
        for at in failures_at {
            *s.failure_buckets
                .entry(crate::auth::minute_of(*at))
                .or_insert(0) += 1;
        }
        s
    }

    #[test]
    fn fifth_failure_locks_for_fifteen_minutes_then_doubles() {
        let p = GuardPolicy::default();
        let four = state(&[
            T0,
            T0.plus_millis(MIN),
            T0.plus_millis(2 * MIN),
            T0.plus_millis(3 * MIN),
        ]);
        assert_eq!(p.decide_lock("root", &four, T0.plus_millis(3 * MIN)), None);
        let mut five = four.clone();
        merge_buckets(
            &mut five.failure_buckets,
            &state(&[T0.plus_millis(4 * MIN)]).failure_buckets,
        );
        let first = p
            .decide_lock("root", &five, T0.plus_millis(4 * MIN))
            .expect("locked");
        assert_eq!(
            (first.offence_number, first.until),
            (1, T0.plus_millis(4 * MIN + 15 * MIN))
        );
        assert!(
            first.reason.contains("5 failed logins within 600 s"),
            "{}",
            first.reason
        );

        // While locked: no new decision, however many failures arrive.
        let mut locked = five.clone();
        locked.offences.push(T0.plus_millis(4 * MIN));
        locked.locked_until = Some(first.until);
        merge_buckets(
            &mut locked.failure_buckets,
            &state(&[T0.plus_millis(5 * MIN); 9]).failure_buckets,
        );
        assert_eq!(
            p.decide_lock("root", &locked, T0.plus_millis(5 * MIN)),
            None
        );

        // After it: the failures that caused the first lock do not count again...
        let after = T0.plus_millis(20 * MIN);
        let mut again = locked.clone();
        again.failure_buckets = state(&[
            T0.plus_millis(4 * MIN),
            after.plus_millis(-2 * MIN),
            after.plus_millis(-MIN),
        ])
        .failure_buckets;
        assert_eq!(p.decide_lock("root", &again, after), None);
        // ...and a new burst is a second offence: 30 minutes.
        merge_buckets(
            &mut again.failure_buckets,
            &state(&[after; 3]).failure_buckets,
        );
        let second = p.decide_lock("root", &again, after).expect("second lock");
        assert_eq!(
            (second.offence_number, second.until.since(after).as_millis()),
            (2, 30 * 60_000)
        );
    }

    #[test]
    fn spraying_source_is_stuffing_and_locks_only_accounts_over_their_own_threshold() {
        let p = GuardPolicy::default();
        let parser = AuthParser::default();
        // One bot tries 25 accounts once each, and one of them (carol) six times.
        let mut lines = Vec::new();
        for i in 0..25 {
            lines.push(format!(
                r#"{{"event":"login_failed","email":"user{i:02}@example.com","ip":"203.0.113.77"}}"#
            ));
        }
        for _ in 0..6 {
            lines.push(
                r#"{"event":"login_failed","email":"Carol@Example.com","ip":"203.0.113.77"}"#
                    .to_owned(),
            );
        }
        let attempts: Vec<_> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                parser.parse(
                    l,
                    &format!("ev{i}"),
                    T0.plus_millis(i64::try_from(i).unwrap_or(0) * 1000),
                )
            })
            .collect();
        assert_eq!(attempts.len(), 31);
        let agg = BatchAggregate::from_attempts(&attempts, &p.allow, p.limits);
        assert_eq!(agg.write_count(), 26 + 1);

        let ip: IpAddr = "203.0.113.77".parse().expect("ip");
        let src = SourceState {
            account_buckets: agg.sources[&ip].accounts_by_minute.clone(),
        };
        let stuffing = p
            .decide_stuffing(ip, &src, T0.plus_millis(MIN))
            .expect("stuffing");
        assert_eq!(stuffing.distinct_count, 26);
        assert_eq!(stuffing.accounts.len(), p.stuffing.sample_size);

        let locked: Vec<&str> = agg
            .accounts
            .values()
            .filter_map(|a| {
                let st = AccountState {
                    failure_buckets: a.failure_minutes.clone(),
                    ..AccountState::default()
                };
                p.decide_lock(&a.account, &st, a.last_at)
                    .map(|_| a.account.as_str())
            })
            .collect();
        assert_eq!(locked, vec!["carol@example.com"]);
    }
}
