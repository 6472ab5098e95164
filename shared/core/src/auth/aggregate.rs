//! Folding one batch of attempts into one aggregate per account and one per source, so a
//! store makes at most one write per distinct key per batch, whatever the batch size.
//!
//! Each aggregate keeps the event ids it counted and a [`fingerprint`] of them: a store
//! makes counting exact under retries by applying a key's update only if that fingerprint
//! is not already recorded on the item (one conditional `UpdateItem`). Duplicate event ids
//! inside a batch are dropped here.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use super::allow::AllowList;
use super::attempt::{LoginAttempt, Outcome};
use super::window::minute_of;
use crate::clock::Timestamp;

/// Bounds on the lists an aggregate keeps, so an attacker cannot grow a DynamoDB item.
/// Event ids are never bounded: exact counting needs all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateLimits {
    pub sources_per_account: usize,
    pub user_agents_per_account: usize,
    /// Bound on the evidence sample of accounts per source.
    pub accounts_per_source: usize,
    /// Bound on each per-minute account set of a source; must be at least the stuffing
    /// threshold so one batch can reveal stuffing on its own.
    pub accounts_per_source_minute: usize,
}

impl Default for AggregateLimits {
    fn default() -> Self {
        Self {
            sources_per_account: 20,
            user_agents_per_account: 5,
            accounts_per_source: 20,
            accounts_per_source_minute: 64,
        }
    }
}

/// One account's attempts in one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAggregate {
    pub account: String,
    pub failures: u32,
    /// Sorted, distinct.
    pub failure_event_ids: Vec<String>,
    /// Failures per minute (see the window module): what the store `ADD`s.
    pub failure_minutes: BTreeMap<i64, u32>,
    /// Distinct sources that failed against the account (bounded).
    pub sources: BTreeSet<IpAddr>,
    pub user_agents: BTreeSet<String>,
    pub successes: u32,
    /// Sorted, distinct.
    pub success_event_ids: Vec<String>,
    pub last_success_at: Option<Timestamp>,
    pub last_success_source: Option<IpAddr>,
    /// The latest success per source (bounded like `sources`): what familiarity learns.
    pub success_sources: BTreeMap<IpAddr, Timestamp>,
    /// Over counted attempts of either outcome.
    pub first_at: Timestamp,
    pub last_at: Timestamp,
}

/// One source's attempts in one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAggregate {
    pub source: IpAddr,
    pub failures: u32,
    /// Sorted, distinct.
    pub failure_event_ids: Vec<String>,
    pub failure_minutes: BTreeMap<i64, u32>,
    /// Distinct accounts this source failed against in the batch (exact).
    pub distinct_accounts: u32,
    /// A bounded sample of them, for evidence.
    pub accounts: BTreeSet<String>,
    /// Accounts failed against per minute (each set bounded): what the store adds to the
    /// `a<minute>` string sets that stuffing detection reads.
    pub accounts_by_minute: BTreeMap<i64, BTreeSet<String>>,
    pub successes: u32,
    /// Sorted, distinct.
    pub success_event_ids: Vec<String>,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
}

/// How [`BatchAggregate::add`] treated an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Failure,
    Success,
    /// From an allow-listed source: ignored.
    Allowed,
    /// An event id already seen in this batch: ignored.
    Duplicate,
}

/// A batch folded by key. Keys are `BTreeMap`s so writes happen in a stable order.
#[derive(Debug, Clone, Default)]
pub struct BatchAggregate {
    pub accounts: BTreeMap<String, AccountAggregate>,
    pub sources: BTreeMap<IpAddr, SourceAggregate>,
    pub failures: u32,
    pub successes: u32,
    pub allowed: u32,
    pub duplicates: u32,
    limits: AggregateLimits,
    seen_events: HashSet<String>,
    source_accounts: HashMap<IpAddr, HashSet<String>>,
}

impl BatchAggregate {
    pub fn new(limits: AggregateLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Folds a whole batch and sorts the event id lists.
    pub fn from_attempts<'a>(
        attempts: impl IntoIterator<Item = &'a LoginAttempt>,
        allow: &AllowList,
        limits: AggregateLimits,
    ) -> Self {
        let mut agg = Self::new(limits);
        for a in attempts {
            agg.add(a, allow);
        }
        agg.finish();
        agg
    }

    /// Folds one attempt. Call [`finish`](Self::finish) after the last one.
    pub fn add(&mut self, a: &LoginAttempt, allow: &AllowList) -> Counted {
        if a.source.is_some_and(|ip| allow.contains(ip)) {
            self.allowed += 1;
            return Counted::Allowed;
        }
        // An empty id cannot identify an event; such attempts are counted, not deduplicated.
        if !a.event_id.is_empty() && !self.seen_events.insert(a.event_id.clone()) {
            self.duplicates += 1;
            return Counted::Duplicate;
        }
        let minute = minute_of(a.at);
        let limits = self.limits;
        // Look up before inserting so the common case (a known key) allocates nothing.
        if !self.accounts.contains_key(&a.account) {
            let fresh = AccountAggregate::empty(&a.account, a.at);
            self.accounts.insert(a.account.clone(), fresh);
        }
        let Some(acc) = self.accounts.get_mut(&a.account) else {
            unreachable!("the account was inserted just above");
        };
        acc.first_at = acc.first_at.min(a.at);
        acc.last_at = acc.last_at.max(a.at);
        if let Some(ua) = &a.user_agent
            && acc.user_agents.len() < limits.user_agents_per_account
        {
            acc.user_agents.insert(ua.clone());
        }
        match a.outcome {
            Outcome::Failure => {
                acc.failures = acc.failures.saturating_add(1);
                acc.failure_event_ids.push(a.event_id.clone());
                bump(&mut acc.failure_minutes, minute);
                if let Some(ip) = a.source
                    && acc.sources.len() < limits.sources_per_account
                {
                    acc.sources.insert(ip);
                }
            }
            Outcome::Success => {
                acc.successes = acc.successes.saturating_add(1);
                acc.success_event_ids.push(a.event_id.clone());
                if acc.last_success_at.is_none_or(|t| a.at >= t) {
                    acc.last_success_at = Some(a.at);
                    acc.last_success_source = a.source;
                }
                if let Some(ip) = a.source {
                    let room = acc.success_sources.len() < limits.sources_per_account;
                    match acc.success_sources.get_mut(&ip) {
                        Some(t) => *t = (*t).max(a.at),
                        None if room => {
                            acc.success_sources.insert(ip, a.at);
                        }
                        None => {}
                    }
                }
            }
        }
        if let Some(ip) = a.source {
            let src = self
                .sources
                .entry(ip)
                .or_insert_with(|| SourceAggregate::empty(ip, a.at));
            src.first_at = src.first_at.min(a.at);
            src.last_at = src.last_at.max(a.at);
            match a.outcome {
                Outcome::Failure => {
                    src.failures = src.failures.saturating_add(1);
                    src.failure_event_ids.push(a.event_id.clone());
                    bump(&mut src.failure_minutes, minute);
                    let seen = self.source_accounts.entry(ip).or_default();
                    if !seen.contains(&a.account) {
                        seen.insert(a.account.clone());
                        src.distinct_accounts = src.distinct_accounts.saturating_add(1);
                        if src.accounts.len() < limits.accounts_per_source {
                            src.accounts.insert(a.account.clone());
                        }
                    }
                    let set = src.accounts_by_minute.entry(minute).or_default();
                    if set.len() < limits.accounts_per_source_minute {
                        set.insert(a.account.clone());
                    }
                }
                Outcome::Success => {
                    src.successes = src.successes.saturating_add(1);
                    src.success_event_ids.push(a.event_id.clone());
                }
            }
        }
        match a.outcome {
            Outcome::Failure => {
                self.failures += 1;
                Counted::Failure
            }
            Outcome::Success => {
                self.successes += 1;
                Counted::Success
            }
        }
    }

    /// Sorts event id lists so fingerprints do not depend on arrival order.
    pub fn finish(&mut self) {
        for a in self.accounts.values_mut() {
            a.failure_event_ids.sort_unstable();
            a.success_event_ids.sort_unstable();
        }
        for s in self.sources.values_mut() {
            s.failure_event_ids.sort_unstable();
            s.success_event_ids.sort_unstable();
        }
    }

    /// Distinct keys = DynamoDB writes this batch needs (one per account, one per source).
    pub fn write_count(&self) -> usize {
        self.accounts.len() + self.sources.len()
    }
}

impl AccountAggregate {
    fn empty(account: &str, at: Timestamp) -> Self {
        Self {
            account: account.to_owned(),
            failures: 0,
            failure_event_ids: Vec::new(),
            failure_minutes: BTreeMap::new(),
            sources: BTreeSet::new(),
            user_agents: BTreeSet::new(),
            successes: 0,
            success_event_ids: Vec::new(),
            last_success_at: None,
            last_success_source: None,
            success_sources: BTreeMap::new(),
            first_at: at,
            last_at: at,
        }
    }

    /// Identifies this key's share of the batch (see [`fingerprint`]).
    pub fn batch_fingerprint(&self) -> String {
        fingerprint(&self.failure_event_ids, &self.success_event_ids)
    }
}

impl SourceAggregate {
    fn empty(source: IpAddr, at: Timestamp) -> Self {
        Self {
            source,
            failures: 0,
            failure_event_ids: Vec::new(),
            failure_minutes: BTreeMap::new(),
            distinct_accounts: 0,
            accounts: BTreeSet::new(),
            accounts_by_minute: BTreeMap::new(),
            successes: 0,
            success_event_ids: Vec::new(),
            first_at: at,
            last_at: at,
        }
    }

    /// Identifies this key's share of the batch (see [`fingerprint`]).
    pub fn batch_fingerprint(&self) -> String {
        fingerprint(&self.failure_event_ids, &self.success_event_ids)
    }
}

fn bump(buckets: &mut BTreeMap<i64, u32>, minute: i64) {
    let n = buckets.entry(minute).or_insert(0);
    *n = n.saturating_add(1);
}

/// A stable 64-bit FNV-1a hash of sorted failure and success event ids, as 16 hex digits.
///
/// Hand-written rather than `DefaultHasher` because its algorithm may change between Rust
/// releases, and a retry may run on a newer build than the first try.
pub fn fingerprint(failure_ids: &[String], success_ids: &[String]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for id in failure_ids {
        eat(b"F");
        eat(id.as_bytes());
        eat(b"\n");
    }
    for id in success_ids {
        eat(b"S");
        eat(id.as_bytes());
        eat(b"\n");
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_millis(1_732_416_613_000);

    fn attempt(id: &str, account: &str, ip: &str, outcome: Outcome, at: Timestamp) -> LoginAttempt {
        LoginAttempt {
            account: account.to_owned(),
            source: ip.parse().ok(),
            user_agent: Some("curl/8.5.0".to_owned()),
            outcome,
            at,
            event_id: id.to_owned(),
        }
    }

    #[test]
    fn one_key_per_account_and_source_with_exact_counts() {
        use Outcome::*;
        let batch = vec![
            attempt("e1", "root", "203.0.113.9", Failure, T0),
            attempt("e2", "root", "203.0.113.9", Failure, T0.plus_millis(1_000)),
            attempt(
                "e3",
                "admin",
                "203.0.113.9",
                Failure,
                T0.plus_millis(61_000),
            ),
            attempt(
                "e4",
                "root",
                "198.51.100.4",
                Success,
                T0.plus_millis(70_000),
            ),
            attempt("e2", "root", "203.0.113.9", Failure, T0.plus_millis(1_000)), // duplicate delivery
            attempt("e5", "root", "127.0.0.1", Failure, T0.plus_millis(2_000)),   // health check
            attempt("e6", "root", "no-ip", Failure, T0.plus_millis(3_000)),
        ];
        let agg = BatchAggregate::from_attempts(
            &batch,
            &AllowList::default(),
            AggregateLimits::default(),
        );
        assert_eq!(
            (agg.failures, agg.successes, agg.allowed, agg.duplicates),
            (4, 1, 1, 1)
        );
        assert_eq!(agg.write_count(), 2 + 2);
        let root = &agg.accounts["root"];
        assert_eq!(root.failures, 3);
        assert_eq!(root.failure_event_ids, vec!["e1", "e2", "e6"]);
        assert_eq!(root.failure_minutes.values().sum::<u32>(), 3);
        assert_eq!(root.sources.len(), 1, "only failing sources are listed");
        assert_eq!(root.successes, 1);
        assert_eq!(root.last_success_source, "198.51.100.4".parse().ok());
        let bot = &agg.sources[&"203.0.113.9".parse::<IpAddr>().expect("ip")];
        assert_eq!((bot.failures, bot.distinct_accounts), (3, 2));
        assert_eq!(bot.accounts_by_minute.len(), 2);
    }

    #[test]
    fn success_is_recorded_and_erases_nothing() {
        use Outcome::*;
        let batch = vec![
            attempt("a", "bob@example.com", "203.0.113.9", Failure, T0),
            attempt(
                "b",
                "bob@example.com",
                "198.51.100.4",
                Success,
                T0.plus_millis(1),
            ),
            attempt(
                "c",
                "bob@example.com",
                "203.0.113.9",
                Failure,
                T0.plus_millis(2),
            ),
        ];
        let agg = BatchAggregate::from_attempts(
            &batch,
            &AllowList::default(),
            AggregateLimits::default(),
        );
        let bob = &agg.accounts["bob@example.com"];
        assert_eq!((bob.failures, bob.successes), (2, 1));
    }

    #[test]
    fn fingerprint_ignores_arrival_order_but_not_content() {
        use Outcome::*;
        let a = attempt("x1", "root", "203.0.113.9", Failure, T0);
        let b = attempt("x2", "root", "203.0.113.9", Failure, T0);
        let allow = AllowList::default();
        let l = AggregateLimits::default();
        let ab = BatchAggregate::from_attempts([&a, &b], &allow, l);
        let ba = BatchAggregate::from_attempts([&b, &a], &allow, l);
        let only_a = BatchAggregate::from_attempts([&a], &allow, l);
        let fp = |g: &BatchAggregate| g.accounts["root"].batch_fingerprint();
        assert_eq!(fp(&ab), fp(&ba));
        assert_ne!(fp(&ab), fp(&only_a));
        assert_eq!(fp(&ab).len(), 16);
    }

    #[test]
    fn lists_are_bounded_but_counts_are_not() {
        let limits = AggregateLimits {
            accounts_per_source: 3,
            accounts_per_source_minute: 4,
            ..AggregateLimits::default()
        };
        let batch: Vec<LoginAttempt> = (0..50)
            .map(|i| {
                attempt(
                    &format!("e{i}"),
                    &format!("u{i}"),
                    "203.0.113.9",
                    Outcome::Failure,
                    T0,
                )
            })
            .collect();
        let agg = BatchAggregate::from_attempts(&batch, &AllowList::default(), limits);
        let src = agg.sources.values().next().expect("one source");
        assert_eq!((src.distinct_accounts, src.failures), (50, 50));
        assert_eq!(src.accounts.len(), 3);
        assert_eq!(
            src.accounts_by_minute
                .values()
                .map(BTreeSet::len)
                .sum::<usize>(),
            4
        );
    }

    fn arb_attempt() -> impl Strategy<Value = LoginAttempt> {
        (
            0u8..40,
            0u8..6,
            prop_oneof![
                Just("127.0.0.1"),
                Just("203.0.113.9"),
                Just("198.51.100.4"),
                Just("2001:db8::7"),
                Just("")
            ],
            any::<bool>(),
            0i64..1_800_000,
        )
            .prop_map(|(id, acc, ip, fail, dt)| LoginAttempt {
                account: format!("user{acc}"),
                source: ip.parse().ok(),
                user_agent: None,
                outcome: if fail {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
                at: T0.plus_millis(dt),
                event_id: format!("ev{id}"),
            })
    }

    proptest! {
        #[test]
        fn counts_equal_countable_failures_never_double(batch in proptest::collection::vec(arb_attempt(), 0..120)) {
            let allow = AllowList::default();
            let agg = BatchAggregate::from_attempts(&batch, &allow, AggregateLimits::default());
            // Countable: first occurrence of each event id, from a source not allow-listed.
            let mut seen = HashSet::new();
            let mut want = 0u32;
            let mut want_sourced = 0u32;
            for a in &batch {
                if a.source.is_some_and(|ip| allow.contains(ip)) || !seen.insert(a.event_id.clone()) {
                    continue;
                }
                if a.outcome == Outcome::Failure {
                    want += 1;
                    want_sourced += u32::from(a.source.is_some());
                }
            }
            let by_account: u32 = agg.accounts.values().map(|a| a.failures).sum();
            let in_buckets: u32 = agg.accounts.values().flat_map(|a| a.failure_minutes.values()).sum();
            let ids: usize = agg.accounts.values().map(|a| a.failure_event_ids.len()).sum();
            let by_source: u32 = agg.sources.values().map(|s| s.failures).sum();
            prop_assert_eq!(agg.failures, want);
            prop_assert_eq!(by_account, want);
            prop_assert_eq!(in_buckets, want);
            prop_assert_eq!(ids, want as usize);
            prop_assert_eq!(by_source, want_sourced);
        }
    }
}
