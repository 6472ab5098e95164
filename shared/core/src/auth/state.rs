//! The login-guard's state port: per-key counters that each batch updates exactly once, and
//! lock records. Values only; adapters: `store::auth_state` (DynamoDB), `store::auth_memory`.
//!
//! Exactly-once, in short (the DynamoDB adapter's module doc has the item layout):
//! - a key's share of a batch carries the [`fingerprint`](super::fingerprint) of its event
//!   ids; [`GuardStore::apply`] adds it only if that fingerprint is not yet recorded on the
//!   key's item (one conditional `UpdateItem`), so a redelivered batch changes nothing and
//!   gets the stored state back with `applied = false`;
//! - every applied update bumps the item's revision `rev`; a lock is written together with
//!   a copy on the account's counter item, in one transaction conditioned on the `rev` the
//!   decision was made from, and that copy lists the fingerprints the lock already counted
//!   (its snapshot). A batch applied later sees the copy and adds its failures to the lock's
//!   incident; a batch in the snapshot does not, however often it is redelivered.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::familiar::{FamiliarSources, FamiliarUpdate, LockScope, SourcePrefix, lock_holds};
use super::investigation::SourceSummary;
use crate::clock::Timestamp;
use crate::store::StoreError;

/// Whether locks are enforced or only recorded (audit mode, `APPTRACK_DRY_RUN=true`).
/// Audit-mode records live apart from enforced ones, so an application's lock check can
/// never see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockMode {
    Enforce,
    Audit,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Enforce => "enforce",
            LockMode::Audit => "audit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enforce" => Some(LockMode::Enforce),
            "audit" => Some(LockMode::Audit),
            _ => None,
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a counter item counts: one account, or one source address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CounterKey {
    Account(String),
    Source(IpAddr),
}

impl fmt::Display for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CounterKey::Account(a) => write!(f, "account {a}"),
            CounterKey::Source(ip) => write!(f, "source {ip}"),
        }
    }
}

/// One key's share of one batch, ready to be applied once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterUpdate {
    pub key: CounterKey,
    /// The key's batch fingerprint: the update applies only if it is not yet recorded.
    pub fingerprint: String,
    /// The minute the fingerprint is filed under (the minute of the key's latest attempt in
    /// the batch): a redelivery computes the same minute, so it checks the same set.
    pub fingerprint_minute: i64,
    /// Failures per minute to `ADD` (minutes before `prune_before` are left out).
    pub failure_minutes: BTreeMap<i64, u32>,
    pub successes: u32,
    /// Per minute: the sources that failed (account keys) or the accounts failed against
    /// (source keys). Bounded per batch by the aggregate.
    pub members_by_minute: BTreeMap<i64, BTreeSet<String>>,
    /// Buckets of minutes before this one can never count again: the store may drop them.
    pub prune_before: i64,
    /// Fingerprint sets of minutes before this one may be dropped (a redelivery older than
    /// this can no longer arrive: see the SAM template's maximum event age).
    pub fingerprints_before: i64,
    /// When the item may expire if nothing touches it again.
    pub expires_at: Timestamp,
}

/// The copy of an account's current lock kept on its counter item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockMirror {
    pub mode: LockMode,
    pub locked_at: Timestamp,
    pub until: Timestamp,
    /// Fingerprints (of minutes from `snapshot_from`) already counted by the lock's incident.
    pub snapshot: BTreeSet<String>,
    pub snapshot_from: i64,
    /// The lock's incident, once raised.
    pub incident_id: Option<String>,
}

/// A counter item as stored, after (or, when `applied` is false, instead of) an update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// False when the update's fingerprint was already recorded (a redelivery) or when the
    /// item was only read.
    pub applied: bool,
    /// Revision: bumped by every applied update.
    pub rev: u64,
    /// Successful logins counted on the item (while it lives).
    pub successes: u64,
    pub failure_buckets: BTreeMap<i64, u32>,
    pub member_buckets: BTreeMap<i64, BTreeSet<String>>,
    pub fingerprints: BTreeMap<i64, BTreeSet<String>>,
    pub lock: Option<LockMirror>,
}

impl Counters {
    /// Fingerprints of minutes from `from` on: what a lock written now has counted.
    pub fn fingerprints_from(&self, from: i64) -> BTreeSet<String> {
        self.fingerprints
            .range(from..)
            .flat_map(|(_, s)| s.iter().cloned())
            .collect()
    }

    /// Members (sources or accounts) of minutes from `from` on.
    pub fn members_from(&self, from: i64) -> BTreeSet<String> {
        self.member_buckets
            .range(from..)
            .flat_map(|(_, s)| s.iter().cloned())
            .collect()
    }
}

/// A lock (or, in audit mode, a lock that would have been set), with the account's offence
/// history, which outlives the lock itself so the next offence within the repeat window
/// doubles the lock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub account: String,
    pub mode: LockMode,
    pub locked_at: Timestamp,
    pub locked_until: Timestamp,
    pub reason: String,
    pub sources: Vec<String>,
    pub user_agents: Vec<String>,
    /// Failures within the window when the lock was decided.
    pub failures: u32,
    pub first_failure_at: Timestamp,
    pub last_failure_at: Timestamp,
    pub offence_number: u32,
    /// Start times of offences within the repeat window, this one included.
    pub offences: Vec<Timestamp>,
    /// Log group the deciding batch came from (the incident's service).
    pub log_group: String,
    pub incident_id: Option<String>,
    pub unlocked_at: Option<Timestamp>,
    pub unlocked_by: Option<String>,
    pub unlock_note: Option<String>,
    /// Revision of the lock item: a new lock is conditioned on the one it was decided from.
    pub rev: u64,
    /// Whom the lock holds against; records written before scoping read as `Account`.
    pub scope: LockScope,
    /// The account's familiar prefixes when it was locked: a scoped lock does not hold
    /// against them (a login path reads them in the same `GetItem`).
    pub familiar: BTreeSet<SourcePrefix>,
    /// Per source that failed in the burst, what an investigation starts from.
    pub investigation: Vec<SourceSummary>,
}

impl LockRecord {
    /// Locked at `now` for a caller that passes no source (`locked_until_s` in the future).
    pub fn is_locked(&self, now: Timestamp) -> bool {
        self.locked_until > now
    }

    /// Locked at `now` for a login from `source` (`None`: as [`is_locked`](Self::is_locked)).
    pub fn is_locked_for(&self, now: Timestamp, source: Option<IpAddr>) -> bool {
        self.is_locked(now) && lock_holds(self.scope, &self.familiar, source)
    }
}

/// How a conditional lock write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWrite {
    Written,
    /// The counter item changed since it was read: re-read and decide again.
    CounterChanged,
    /// The lock item changed since it was read (another invocation locked): re-read.
    LockChanged,
}

/// Counters and locks of login-guard.
pub trait GuardStore: Send + Sync {
    /// Applies `update` unless its fingerprint is already recorded; returns the item.
    fn apply(
        &self,
        update: &CounterUpdate,
    ) -> impl Future<Output = Result<Counters, StoreError>> + Send;

    /// Reads a counter item (strongly consistent); `applied` is false.
    fn read_counters(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<Counters, StoreError>> + Send;

    fn get_lock(
        &self,
        mode: LockMode,
        account: &str,
    ) -> impl Future<Output = Result<Option<LockRecord>, StoreError>> + Send;

    /// Writes `lock` and its mirror on the account's counter item, atomically, only if the
    /// counter is still at `counter_rev` and the lock item at `lock_rev` (`None`: absent).
    fn write_lock(
        &self,
        lock: &LockRecord,
        counter_rev: u64,
        lock_rev: Option<u64>,
        mirror: &LockMirror,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<LockWrite, StoreError>> + Send;

    /// Records the lock's incident on the lock item and the mirror, if the lock is still
    /// the one that started at `locked_at`.
    fn set_lock_incident(
        &self,
        mode: LockMode,
        account: &str,
        locked_at: Timestamp,
        incident_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The account's familiar sources (strongly consistent).
    fn familiar(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<FamiliarSources, StoreError>> + Send;

    /// Adds the update's addresses to the account's familiar sources and each learned
    /// prefix's index; adding twice changes nothing. Prefixes first, so a retry after a
    /// partial write finds the account's addresses missing and writes both again.
    fn learn_familiar(
        &self,
        update: &FamiliarUpdate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The accounts (bounded sample) `prefix` logged in to from day `first_day` on.
    fn familiar_to(
        &self,
        prefix: SourcePrefix,
        first_day: i64,
    ) -> impl Future<Output = Result<BTreeSet<String>, StoreError>> + Send;

    /// Every lock record of `mode` (current and past ones still kept for their history).
    fn list_locks(
        &self,
        mode: LockMode,
    ) -> impl Future<Output = Result<Vec<LockRecord>, StoreError>> + Send;

    /// Ends a running lock at `at`; returns the record as it was, `None` when the account
    /// is not locked.
    fn unlock(
        &self,
        mode: LockMode,
        account: &str,
        at: Timestamp,
        by: &str,
        note: &str,
    ) -> impl Future<Output = Result<Option<LockRecord>, StoreError>> + Send;
}
