//! Familiar sources: per account, the addresses that logged in successfully in the last
//! `days` days and their /24 (IPv4) or /64 (IPv6) prefixes, so a lock can hold against
//! unfamiliar sources only and an attacker cannot lock the owner out (Entra's smart lockout).
//!
//! Storage shape this is designed for: one string set per day of successes, `d<day>`, on
//! the account's familiar item. Adding an address to a set is idempotent and commutative,
//! so a redelivered or concurrent batch changes nothing the second time; a day older than
//! the window never counts again and may be dropped. Each day's set is bounded
//! ([`FamiliarPolicy::max_per_day`]), and what a decision reads is bounded again: the
//! [`FamiliarPolicy::max_prefixes`] most recently seen prefixes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::settings::{self, SettingsError};

/// Width of one familiarity bucket: a day.
pub const DAY_MILLIS: i64 = 86_400_000;

/// The day a timestamp falls in (floor, also before 1970).
pub fn day_of(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(DAY_MILLIS)
}

/// The network a source belongs to for familiarity: its /24 (IPv4) or /64 (IPv6). A home
/// or office address changes within its prefix; a prefix is what a lock exempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourcePrefix(IpNet);

impl SourcePrefix {
    pub const V4_BITS: u8 = 24;
    pub const V6_BITS: u8 = 64;

    /// The prefix of `ip` (an IPv4-mapped IPv6 address is its IPv4 address).
    pub fn of(ip: IpAddr) -> Self {
        let net = match ip.to_canonical() {
            IpAddr::V4(v4) => {
                IpNet::V4(ipnet::Ipv4Net::new(v4, Self::V4_BITS).unwrap_or_else(|_| v4.into()))
            }
            IpAddr::V6(v6) => {
                IpNet::V6(ipnet::Ipv6Net::new(v6, Self::V6_BITS).unwrap_or_else(|_| v6.into()))
            }
        };
        SourcePrefix(net.trunc())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl fmt::Display for SourcePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Only a prefix of the familiar width parses (`198.51.100.0/24`, `2001:db8:1:2::/64`).
impl FromStr for SourcePrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let net: IpNet = s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a CIDR prefix"))?;
        let p = SourcePrefix::of(net.addr());
        if p.0 != net {
            return Err(format!(
                "{s:?} is not a /{} IPv4 or /{} IPv6 network",
                Self::V4_BITS,
                Self::V6_BITS
            ));
        }
        Ok(p)
    }
}

impl Serialize for SourcePrefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourcePrefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Whom a lock holds against (`APPTRACK_LOCK_SCOPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockScope {
    /// Sources outside the account's familiar prefixes (the default).
    #[default]
    Unfamiliar,
    /// Everyone: the hard lock of before (and of lock records written before scoping).
    Account,
}

impl LockScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LockScope::Unfamiliar => "unfamiliar",
            LockScope::Account => "account",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "unfamiliar" => Some(LockScope::Unfamiliar),
            "account" => Some(LockScope::Account),
            _ => None,
        }
    }
}

impl fmt::Display for LockScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How familiarity is learned and used. Defaults: 30 days, 16 prefixes per account, at
/// most 16 addresses learned per account and day, locks scoped to unfamiliar sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamiliarPolicy {
    /// A source stays familiar this long after its last success (whole days, rounded down).
    pub window: Duration,
    pub max_prefixes: usize,
    pub max_per_day: usize,
    pub scope: LockScope,
}

impl Default for FamiliarPolicy {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(30 * 86_400),
            max_prefixes: 16,
            max_per_day: 16,
            scope: LockScope::Unfamiliar,
        }
    }
}

impl FamiliarPolicy {
    pub const DAYS_VAR: &'static str = "APPTRACK_FAMILIAR_DAYS";
    pub const SCOPE_VAR: &'static str = "APPTRACK_LOCK_SCOPE";

    /// Reads `APPTRACK_FAMILIAR_DAYS` (1..=365) and `APPTRACK_LOCK_SCOPE`
    /// (`unfamiliar` | `account`).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let d = Self::default();
        let days = settings::u32_in(get, Self::DAYS_VAR, d.days_u32(), 1, 365)?;
        let scope = match settings::lookup(get, Self::SCOPE_VAR) {
            None => d.scope,
            Some(raw) => LockScope::parse(&raw).ok_or_else(|| {
                SettingsError::invalid(Self::SCOPE_VAR, &raw, "expected unfamiliar or account")
            })?,
        };
        Ok(Self {
            window: Duration::from_secs(u64::from(days) * 86_400),
            scope,
            ..d
        })
    }

    fn days_u32(&self) -> u32 {
        u32::try_from(self.window.as_secs() / 86_400).unwrap_or(u32::MAX)
    }

    /// Whole days the window spans, at least one.
    pub fn days(&self) -> i64 {
        i64::from(self.days_u32()).max(1)
    }

    /// The oldest day whose successes still make a source familiar at `now`.
    pub fn first_day(&self, now: Timestamp) -> i64 {
        day_of(now).saturating_sub(self.days() - 1)
    }

    /// How long a familiar item must outlive its last write.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.days()).unwrap_or(1) * 86_400_000)
    }
}

/// An account's familiar sources as stored: the addresses that succeeded, by day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamiliarSources {
    pub days: BTreeMap<i64, BTreeSet<IpAddr>>,
}

impl FamiliarSources {
    /// The familiar prefixes at `now`, each with the last day it succeeded: the
    /// `max_prefixes` most recent ones (ties: the lower prefix), days from the future
    /// beyond one (a broken clock) ignored.
    pub fn prefixes(&self, p: &FamiliarPolicy, now: Timestamp) -> BTreeMap<SourcePrefix, i64> {
        let first = p.first_day(now);
        let last = day_of(now).saturating_add(1);
        let mut seen: BTreeMap<SourcePrefix, i64> = BTreeMap::new();
        if first > last {
            return seen;
        }
        for (day, set) in self.days.range(first..=last) {
            for ip in set {
                let e = seen.entry(SourcePrefix::of(*ip)).or_insert(*day);
                *e = (*e).max(*day);
            }
        }
        if seen.len() > p.max_prefixes {
            let mut ranked: Vec<(SourcePrefix, i64)> = seen.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            ranked.truncate(p.max_prefixes);
            seen = ranked.into_iter().collect();
        }
        seen
    }

    /// Whether `ip`'s prefix is familiar at `now`.
    pub fn is_familiar(&self, ip: IpAddr, p: &FamiliarPolicy, now: Timestamp) -> bool {
        self.prefixes(p, now).contains_key(&SourcePrefix::of(ip))
    }

    /// Days that can never count again at `now`: the store may drop them.
    pub fn expired_days(&self, p: &FamiliarPolicy, now: Timestamp) -> Vec<i64> {
        self.days
            .range(..p.first_day(now))
            .map(|(d, _)| *d)
            .collect()
    }

    /// What a store does with an update (the memory adapter, and tests): add, bounded per
    /// day, and drop expired days.
    pub fn apply(&mut self, u: &FamiliarUpdate, p: &FamiliarPolicy) {
        for (day, ips) in &u.additions {
            let set = self.days.entry(*day).or_default();
            if set.len() < p.max_per_day {
                set.extend(ips.iter().copied());
            }
        }
        self.days = self.days.split_off(&u.prune_before);
    }

    /// The update that learns `successes` (source, time) at `now`: only what is not yet
    /// stored, at most `max_per_day` addresses per day (counting those already stored), no
    /// success older than the window. `None` when there is nothing to learn.
    pub fn learn<'a>(
        &self,
        account: &str,
        successes: impl IntoIterator<Item = (&'a IpAddr, &'a Timestamp)>,
        p: &FamiliarPolicy,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Option<FamiliarUpdate> {
        let first = p.first_day(now);
        let mut additions: BTreeMap<i64, BTreeSet<IpAddr>> = BTreeMap::new();
        for (ip, at) in successes {
            let day = day_of(*at);
            if day < first || day > day_of(now).saturating_add(1) {
                continue;
            }
            let stored = self.days.get(&day);
            if stored.is_some_and(|s| s.contains(ip)) {
                continue;
            }
            let room = p
                .max_per_day
                .saturating_sub(stored.map_or(0, BTreeSet::len));
            let adding = additions.entry(day).or_default();
            if adding.len() < room {
                adding.insert(ip.to_canonical());
            }
        }
        additions.retain(|_, s| !s.is_empty());
        (!additions.is_empty()).then(|| FamiliarUpdate {
            account: account.to_owned(),
            additions,
            prune_before: first,
            expires_at,
        })
    }
}

/// Addresses to add to an account's familiar sources, and to each prefix's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamiliarUpdate {
    pub account: String,
    /// By day of the success.
    pub additions: BTreeMap<i64, BTreeSet<IpAddr>>,
    /// Days before this one never count again: the store may drop them.
    pub prune_before: i64,
    pub expires_at: Timestamp,
}

impl FamiliarUpdate {
    /// The prefixes learned, by day: what the prefix index (`familiar to any account`) adds.
    pub fn prefixes(&self) -> BTreeMap<SourcePrefix, BTreeSet<i64>> {
        let mut out: BTreeMap<SourcePrefix, BTreeSet<i64>> = BTreeMap::new();
        for (day, ips) in &self.additions {
            for ip in ips {
                out.entry(SourcePrefix::of(*ip)).or_default().insert(*day);
            }
        }
        out
    }
}

/// Whether a lock of `scope` that exempts `familiar` prefixes holds against `source`
/// (`None`: a caller that passes no source, for whom every lock holds).
pub fn lock_holds(
    scope: LockScope,
    familiar: &BTreeSet<SourcePrefix>,
    source: Option<IpAddr>,
) -> bool {
    match (scope, source) {
        (LockScope::Account, _) | (_, None) => true,
        (LockScope::Unfamiliar, Some(ip)) => !familiar.contains(&SourcePrefix::of(ip)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn learned(p: &FamiliarPolicy, seen: &[(&str, Timestamp)], now: Timestamp) -> FamiliarSources {
        let mut f = FamiliarSources::default();
        let ips: Vec<(IpAddr, Timestamp)> = seen.iter().map(|(s, t)| (ip(s), *t)).collect();
        if let Some(u) = f.learn("bob", ips.iter().map(|(a, b)| (a, b)), p, now, now) {
            f.apply(&u, p);
        }
        f
    }

    #[test]
    fn prefixes_are_slash_24_and_slash_64() {
        assert_eq!(
            SourcePrefix::of(ip("198.51.100.77")).to_string(),
            "198.51.100.0/24"
        );
        assert_eq!(
            SourcePrefix::of(ip("2001:db8:1:2:aaaa::9")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            SourcePrefix::of(ip("::ffff:198.51.100.7")),
            SourcePrefix::of(ip("198.51.100.200"))
        );
        assert!(SourcePrefix::of(ip("2001:db8:1:2::1")).contains(ip("2001:db8:1:2:ffff::1")));
        assert!(!SourcePrefix::of(ip("2001:db8:1:2::1")).contains(ip("2001:db8:1:3::1")));
        let p: SourcePrefix = "198.51.100.0/24".parse().expect("a /24");
        assert_eq!(p, SourcePrefix::of(ip("198.51.100.1")));
        assert!("198.51.100.0/16".parse::<SourcePrefix>().is_err());
        assert!("198.51.100.1/24".parse::<SourcePrefix>().is_err());
        assert!("nonsense".parse::<SourcePrefix>().is_err());
    }

    #[test]
    fn a_success_makes_its_prefix_familiar_for_thirty_days() {
        let p = FamiliarPolicy::default();
        let f = learned(&p, &[("192.0.2.44", T0)], T0);
        assert!(f.is_familiar(ip("192.0.2.200"), &p, T0));
        assert!(!f.is_familiar(ip("192.0.3.1"), &p, T0));
        let day = DAY_MILLIS;
        assert!(f.is_familiar(ip("192.0.2.1"), &p, T0.plus_millis(29 * day)));
        assert!(!f.is_familiar(ip("192.0.2.1"), &p, T0.plus_millis(30 * day)));
        assert_eq!(
            f.expired_days(&p, T0.plus_millis(30 * day)),
            vec![day_of(T0)]
        );
    }

    #[test]
    fn the_window_is_configurable_and_its_setting_checked() {
        let get = |k: &str| (k == "APPTRACK_FAMILIAR_DAYS").then(|| "7".to_owned());
        let p = FamiliarPolicy::from_env(&get).expect("valid");
        assert_eq!(p.days(), 7);
        let f = learned(&p, &[("192.0.2.44", T0)], T0);
        assert!(!f.is_familiar(ip("192.0.2.44"), &p, T0.plus_millis(7 * DAY_MILLIS)));
        for (name, bad) in [
            ("APPTRACK_FAMILIAR_DAYS", "0"),
            ("APPTRACK_FAMILIAR_DAYS", "a month"),
            ("APPTRACK_LOCK_SCOPE", "everyone"),
        ] {
            let get = move |k: &str| (k == name).then(|| bad.to_owned());
            let err = FamiliarPolicy::from_env(&get).expect_err(bad).to_string();
            assert!(err.starts_with(&format!("{name}=")), "{err}");
        }
        let get = |k: &str| (k == "APPTRACK_LOCK_SCOPE").then(|| "Account".to_owned());
        assert_eq!(
            FamiliarPolicy::from_env(&get).expect("valid").scope,
            LockScope::Account
        );
    }

    #[test]
    fn what_is_stored_is_not_learned_again() {
        let p = FamiliarPolicy::default();
        let f = learned(&p, &[("192.0.2.44", T0)], T0);
        let again = [(ip("192.0.2.44"), T0.plus_millis(1000))];
        assert_eq!(
            f.learn("bob", again.iter().map(|(a, b)| (a, b)), &p, T0, T0),
            None
        );
        // An old success (beyond the window) teaches nothing.
        let old = [(ip("203.0.113.1"), T0.plus_millis(-40 * DAY_MILLIS))];
        assert_eq!(
            f.learn("bob", old.iter().map(|(a, b)| (a, b)), &p, T0, T0),
            None
        );
    }

    #[test]
    fn scoped_locks_hold_against_unfamiliar_sources_only() {
        let fam: BTreeSet<SourcePrefix> = [SourcePrefix::of(ip("192.0.2.44"))].into();
        let u = LockScope::Unfamiliar;
        assert!(!lock_holds(u, &fam, Some(ip("192.0.2.9"))));
        assert!(lock_holds(u, &fam, Some(ip("203.0.113.9"))));
        assert!(lock_holds(u, &fam, None), "no source: the lock holds");
        assert!(lock_holds(LockScope::Account, &fam, Some(ip("192.0.2.9"))));
    }

    fn arb_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            (0u8..4, 0u8..4, any::<u8>()).prop_map(|(a, b, c)| IpAddr::from([198, a, b, c])),
            (0u16..4, any::<u16>())
                .prop_map(|(a, b)| IpAddr::from([0x2001, 0xdb8, a, 0, b, 0, 0, 1])),
        ]
    }

    proptest! {
        #[test]
        fn familiarity_is_bounded_and_exact_under_redelivery(
            seen in proptest::collection::vec((arb_ip(), 0i64..45 * DAY_MILLIS), 0..80),
            cut in 0usize..80,
        ) {
            let p = FamiliarPolicy { max_prefixes: 5, max_per_day: 4, ..FamiliarPolicy::default() };
            let now = T0.plus_millis(45 * DAY_MILLIS);
            let all: Vec<(IpAddr, Timestamp)> = seen.iter().map(|(i, t)| (*i, T0.plus_millis(*t))).collect();
            let cut = cut.min(all.len());
            let step = |f: &mut FamiliarSources, batch: &[(IpAddr, Timestamp)]| {
                if let Some(u) = f.learn("a", batch.iter().map(|(a, b)| (a, b)), &p, now, now) {
                    f.apply(&u, &p);
                }
            };
            // Two batches, each delivered twice: the second delivery learns nothing.
            let mut f = FamiliarSources::default();
            step(&mut f, &all[..cut]);
            let once = f.clone();
            step(&mut f, &all[..cut]);
            prop_assert_eq!(&f, &once);
            step(&mut f, &all[cut..]);
            step(&mut f, &all[cut..]);
            // Bounded per day and in what a decision reads.
            prop_assert!(f.days.values().all(|s| s.len() <= p.max_per_day));
            let prefixes = f.prefixes(&p, now);
            prop_assert!(prefixes.len() <= p.max_prefixes);
            // Expired days never count, and nothing familiar is from outside the window.
            prop_assert!(prefixes.values().all(|d| *d >= p.first_day(now)));
            // Every prefix read is one a stored address in the window belongs to.
            for prefix in prefixes.keys() {
                prop_assert!(f.days.range(p.first_day(now)..).any(|(_, s)| s.iter().any(|i| prefix.contains(*i))));
            }
            // A familiar address is familiar whichever address of its prefix asks.
            for (ip, _) in &all {
                let same_net = SourcePrefix::of(*ip);
                prop_assert_eq!(f.is_familiar(*ip, &p, now), prefixes.contains_key(&same_net));
            }
        }
    }
}
