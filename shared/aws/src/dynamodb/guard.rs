//! login-guard's counters and locks in DynamoDB (`STATE_TABLE`): one conditional `UpdateItem`
//! per key per batch, and lock records an application reads with one `GetItem`.
//!
//! Items (every one carries `expires_at`, epoch seconds, the table's TTL attribute):
//! - account counter: `pk = LOGIN#ACCOUNT#<account>`, `sk = WINDOW`;
//!   source counter: `pk = LOGIN#SOURCE#<ip>`, `sk = WINDOW`. Top-level attributes:
//!   `f<minute>` (N, failures in that minute, bumped with `ADD`), `s<minute>` (SS, sources
//!   that failed against an account) or `a<minute>` (SS, accounts a source failed against),
//!   `p<minute>` (SS, batch fingerprints applied, filed under the minute of the key's last
//!   attempt in the batch), `rev` (N, bumped by every applied update), `successes` (N), and
//!   on accounts the mirror of the current lock: `lock_mode`, `lock_at`, `lock_until` (N ms),
//!   `lock_snap` (SS, fingerprints the lock counted), `lock_snap_from` (N, minute),
//!   `lock_incident` (S).
//!   The update is conditioned on `NOT contains(p<minute>, :fingerprint)`: a redelivered batch
//!   fails the condition and reads the item back instead (`ALL_OLD`), so it counts nothing
//!   twice, whether it arrives again later or at the same time. Buckets that left the window
//!   and fingerprint sets older than the redelivery horizon are removed by the same update
//!   (the few minutes that just expired) or, after a key was idle, by one clean-up update.
//! - lock: `pk = LOCKS` (audit mode: `AUDIT_LOCKS`), `sk = <account>`: `account`,
//!   `locked_until_s` (N, epoch seconds: what an application compares with its clock),
//!   `locked_until` and `locked_at` (N, epoch ms), `until` (S, RFC 3339), `reason`,
//!   `sources` and `user_agents` (L of S), `failures`, `first_failure_at`,
//!   `last_failure_at`, `offence_number`, `offences` (L of N, lock starts within the repeat
//!   window), `log_group`, `incident_id`, `unlocked_at`/`unlocked_by`/`unlock_note` after an
//!   unlock, `lrev` (N, revision), `scope` (S, `unfamiliar` or `account`; absent on records
//!   written before scoping: `account`), `familiar` (M, one `true` per familiar prefix,
//!   `"198.51.100.0/24"`, `"2001:db8:1:2::/64"`: a login path projects `familiar.#p` with its
//!   client's prefix), `investigation` (S, JSON: the per-source summary of the incident). Kept until the repeat window after the last offence has
//!   passed, so an expired lock item still exists: a lock is in force only while
//!   `locked_until_s` is in the future.
//!
//! - familiar sources: `pk = LOGIN#ACCOUNT#<account>`, `sk = FAMILIAR`: `d<day>` (SS, the
//!   addresses that logged in successfully that day, epoch days); and the prefix index
//!   `pk = LOGIN#PREFIX#<prefix>`, `sk = FAMILIAR`: `d<day>` (SS, accounts logged in to from
//!   the prefix). `ADD` to a set is idempotent, so a redelivery changes nothing; each day's
//!   set is bounded by a size condition, and days past the window are removed blindly by
//!   later writes (like the counters' minutes) or go with the item's TTL.
//!
//! Locks share one partition so `apptrack locks list` is a `Query`, not a `Scan` (the state
//! table has no index). One partition serves 3,000 strongly consistent reads/s; an
//! application doing more lock checks than that should cache them for a few seconds.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::item::{Expr, Item, key as key_of, millis, n, number, s, time};
use super::{Cancelled, cancelled, condition_held, sdk_error};
use apptrack_core::auth::{
    CounterKey, CounterUpdate, Counters, FamiliarPolicy, FamiliarSources, FamiliarUpdate,
    GuardStore, LockMirror, LockMode, LockRecord, LockScope, LockWrite, SourcePrefix,
};
use apptrack_core::clock::Timestamp;
use apptrack_core::store::StoreError;

/// Minutes just before a prune horizon that every update removes blindly (removing an
/// attribute that does not exist is allowed): keys active every few minutes never need a
/// clean-up write.
const BLIND_PRUNE_MINUTES: i64 = 3;
const WINDOW_SK: &str = "WINDOW";
const FAMILIAR_SK: &str = "FAMILIAR";
pub const LOCKS_PK: &str = "LOCKS";
pub const AUDIT_LOCKS_PK: &str = "AUDIT_LOCKS";

/// Counters and locks in DynamoDB. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct DynamoGuardStore {
    client: Client,
    table: String,
}

fn ss(v: impl IntoIterator<Item = String>) -> AttributeValue {
    AttributeValue::Ss(v.into_iter().collect())
}

fn list_s(v: &[String]) -> AttributeValue {
    AttributeValue::L(v.iter().map(|x| s(x.as_str())).collect())
}

/// The partition key of a counter item.
pub fn counter_pk(k: &CounterKey) -> String {
    match k {
        CounterKey::Account(a) => format!("LOGIN#ACCOUNT#{a}"),
        CounterKey::Source(ip) => format!("LOGIN#SOURCE#{ip}"),
    }
}

/// The partition key of a prefix's familiarity index.
pub fn prefix_pk(p: &SourcePrefix) -> String {
    format!("LOGIN#PREFIX#{p}")
}

/// The `d<day>` sets of a familiar item.
fn day_sets(item: &Item) -> impl Iterator<Item = (i64, &Vec<String>)> {
    item.iter().filter_map(|(name, v)| {
        let day = name.strip_prefix('d')?.parse().ok()?;
        match v {
            AttributeValue::Ss(set) => Some((day, set)),
            _ => None,
        }
    })
}

/// The partition key of lock records in `mode`.
pub fn locks_pk(mode: LockMode) -> &'static str {
    match mode {
        LockMode::Enforce => LOCKS_PK,
        LockMode::Audit => AUDIT_LOCKS_PK,
    }
}

fn member_prefix(k: &CounterKey) -> char {
    match k {
        CounterKey::Account(_) => 's',
        CounterKey::Source(_) => 'a',
    }
}

fn epoch_secs(t: Timestamp) -> i64 {
    t.as_secs()
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn strings(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::L(l)) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        Some(AttributeValue::Ss(v)) => v.clone(),
        _ => Vec::new(),
    }
}

/// Splits `f123`/`s123`/`a123`/`p123` into its letter and minute.
fn bucket_name(name: &str) -> Option<(char, i64)> {
    let mut chars = name.chars();
    let c = chars.next()?;
    if !matches!(c, 'f' | 's' | 'a' | 'p') {
        return None;
    }
    chars.as_str().parse().ok().map(|m| (c, m))
}

fn decode_counters(item: &Item, applied: bool) -> Counters {
    let mut c = Counters {
        applied,
        rev: number(item, "rev")
            .and_then(|r| u64::try_from(r).ok())
            .unwrap_or(0),
        successes: number(item, "successes")
            .and_then(|r| u64::try_from(r).ok())
            .unwrap_or(0),
        ..Counters::default()
    };
    for (name, v) in item {
        match (bucket_name(name), v) {
            (Some(('f', m)), AttributeValue::N(x)) => {
                c.failure_buckets.insert(m, x.parse().unwrap_or(0));
            }
            (Some(('s' | 'a', m)), AttributeValue::Ss(set)) => {
                c.member_buckets.insert(m, set.iter().cloned().collect());
            }
            (Some(('p', m)), AttributeValue::Ss(set)) => {
                c.fingerprints.insert(m, set.iter().cloned().collect());
            }
            _ => {}
        }
    }
    let mode = text(item, "lock_mode").as_deref().and_then(LockMode::parse);
    if let (Some(mode), Some(locked_at), Some(until)) =
        (mode, time(item, "lock_at"), time(item, "lock_until"))
    {
        c.lock = Some(LockMirror {
            mode,
            locked_at,
            until,
            snapshot: strings(item, "lock_snap").into_iter().collect(),
            snapshot_from: number(item, "lock_snap_from").unwrap_or(i64::MIN),
            incident_id: text(item, "lock_incident"),
        });
    }
    c
}

fn decode_lock(item: &Item) -> Result<LockRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("lock item: missing or bad {what}"));
    let nonneg = |name: &str| {
        number(item, name)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0)
    };
    Ok(LockRecord {
        account: text(item, "account").ok_or_else(|| corrupt("account"))?,
        mode: text(item, "mode")
            .as_deref()
            .and_then(LockMode::parse)
            .ok_or_else(|| corrupt("mode"))?,
        locked_at: time(item, "locked_at").ok_or_else(|| corrupt("locked_at"))?,
        locked_until: time(item, "locked_until").ok_or_else(|| corrupt("locked_until"))?,
        reason: text(item, "reason").unwrap_or_default(),
        sources: strings(item, "sources"),
        user_agents: strings(item, "user_agents"),
        failures: nonneg("failures"),
        first_failure_at: time(item, "first_failure_at").unwrap_or(Timestamp::EPOCH),
        last_failure_at: time(item, "last_failure_at").unwrap_or(Timestamp::EPOCH),
        offence_number: nonneg("offence_number"),
        offences: match item.get("offences") {
            Some(AttributeValue::L(l)) => l
                .iter()
                .filter_map(|v| v.as_n().ok().and_then(|x| x.parse().ok()))
                .map(Timestamp::from_millis)
                .collect(),
            _ => Vec::new(),
        },
        log_group: text(item, "log_group").unwrap_or_default(),
        incident_id: text(item, "incident_id"),
        unlocked_at: time(item, "unlocked_at"),
        unlocked_by: text(item, "unlocked_by"),
        unlock_note: text(item, "unlock_note"),
        rev: number(item, "lrev")
            .and_then(|r| u64::try_from(r).ok())
            .unwrap_or(0),
        scope: match text(item, "scope") {
            None => LockScope::Account,
            Some(raw) => LockScope::parse(&raw).ok_or_else(|| corrupt("scope"))?,
        },
        familiar: match item.get("familiar") {
            Some(AttributeValue::M(m)) => m
                .keys()
                .map(|k| k.parse().map_err(|_| corrupt("familiar prefix")))
                .collect::<Result<_, _>>()?,
            _ => Default::default(),
        },
        investigation: match text(item, "investigation") {
            None => Vec::new(),
            Some(raw) => serde_json::from_str(&raw).map_err(|_| corrupt("investigation"))?,
        },
    })
}

impl DynamoGuardStore {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        Self {
            client,
            table: state_table.into(),
        }
    }

    fn err<E, R>(&self, e: SdkError<E, R>) -> StoreError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        sdk_error(e, &self.table)
    }

    /// Removes attributes that can no longer count, found on an item after an update; only
    /// needed when the key was idle longer than the blind prune range.
    async fn clean_up(&self, k: &CounterKey, stale: Vec<String>) -> Result<(), StoreError> {
        let mut e = Expr::default();
        // At most 100 per request keeps the expression far below DynamoDB's 4 KB limit.
        for chunk in stale.chunks(100) {
            let names: Vec<String> = chunk.iter().map(|a| e.name(a)).collect();
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_of(counter_pk(k), WINDOW_SK)))
                .update_expression(format!("REMOVE {}", names.join(", ")))
                .condition_expression("attribute_exists(pk)")
                .set_expression_attribute_names(Some(std::mem::take(&mut e.names)))
                .send()
                .await
                .map(|_| ())
                .or_else(|err| match &err {
                    SdkError::ServiceError(se)
                        if se.err().is_conditional_check_failed_exception() =>
                    {
                        Ok(())
                    }
                    _ => Err(self.err(err)),
                })?;
        }
        Ok(())
    }
}

impl DynamoGuardStore {
    /// `ADD`s each day's members to the familiar item `pk`, unless a day's set is already
    /// full (then the update is skipped: the set stays bounded), removing the few days just
    /// past the window.
    async fn add_days(
        &self,
        pk: String,
        sets: std::collections::BTreeMap<i64, Vec<String>>,
        u: &FamiliarUpdate,
        cap: usize,
    ) -> Result<(), StoreError> {
        let mut e = Expr::default();
        let limit = e.value(n(cap));
        let mut adds = Vec::new();
        let mut conditions = Vec::new();
        for (day, members) in &sets {
            let name = e.name(&format!("d{day}"));
            adds.push(format!("{name} {}", e.value(ss(members.iter().cloned()))));
            conditions.push(format!(
                "(attribute_not_exists({name}) OR size({name}) < {limit})"
            ));
        }
        let removes: Vec<String> = ((u.prune_before - BLIND_PRUNE_MINUTES)..u.prune_before)
            .filter(|d| !sets.contains_key(d))
            .map(|d| e.name(&format!("d{d}")))
            .collect();
        let exp = e.value(n(epoch_secs(u.expires_at)));
        let mut update = format!(
            "SET {} = {exp} ADD {}",
            e.name("expires_at"),
            adds.join(", ")
        );
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(pk, FAMILIAR_SK)))
            .update_expression(update)
            .condition_expression(conditions.join(" AND "))
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        // Not held: a day is full; what it holds stays familiar.
        condition_held(res, &self.table).map(drop)
    }
}

/// Attributes of `item` that an update with these horizons may drop, except `keep`.
fn stale_attributes(item: &Item, u: &CounterUpdate, keep: &BTreeSet<String>) -> Vec<String> {
    let mut out: Vec<String> = item
        .keys()
        .filter(|name| !keep.contains(*name))
        .filter(|name| match bucket_name(name) {
            Some(('p', m)) => m < u.fingerprints_before,
            Some((_, m)) => m < u.prune_before,
            None => false,
        })
        .cloned()
        .collect();
    out.sort();
    out
}

impl GuardStore for DynamoGuardStore {
    async fn apply(&self, u: &CounterUpdate) -> Result<Counters, StoreError> {
        let mut e = Expr::default();
        let mut adds = Vec::new();
        let mut touched = BTreeSet::new();
        let one = e.value(n(1));
        adds.push(format!("{} {one}", e.name("rev")));
        for (m, count) in u.failure_minutes.range(u.prune_before..) {
            let attr = format!("f{m}");
            adds.push(format!("{} {}", e.name(&attr), e.value(n(*count))));
            touched.insert(attr);
        }
        if u.successes > 0 {
            adds.push(format!(
                "{} {}",
                e.name("successes"),
                e.value(n(u.successes))
            ));
        }
        let prefix = member_prefix(&u.key);
        for (m, set) in u.members_by_minute.range(u.prune_before..) {
            if set.is_empty() {
                continue;
            }
            let attr = format!("{prefix}{m}");
            adds.push(format!(
                "{} {}",
                e.name(&attr),
                e.value(ss(set.iter().cloned()))
            ));
            touched.insert(attr);
        }
        let fp_attr = format!("p{}", u.fingerprint_minute);
        let fp_name = e.name(&fp_attr);
        adds.push(format!(
            "{fp_name} {}",
            e.value(ss([u.fingerprint.clone()]))
        ));
        touched.insert(fp_attr);

        let mut removes = Vec::new();
        for m in (u.prune_before - BLIND_PRUNE_MINUTES)..u.prune_before {
            for attr in [format!("f{m}"), format!("{prefix}{m}")] {
                if !touched.contains(&attr) {
                    removes.push(e.name(&attr));
                }
            }
        }
        for m in (u.fingerprints_before - BLIND_PRUNE_MINUTES)..u.fingerprints_before {
            let attr = format!("p{m}");
            if !touched.contains(&attr) {
                removes.push(e.name(&attr));
            }
        }
        let exp = e.value(n(epoch_secs(u.expires_at)));
        let mut update = format!(
            "SET {} = {exp} ADD {}",
            e.name("expires_at"),
            adds.join(", ")
        );
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let fp = e.value(s(u.fingerprint.as_str()));
        let condition = format!("attribute_not_exists({fp_name}) OR NOT contains({fp_name}, {fp})");
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(counter_pk(&u.key), WINDOW_SK)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let (item, applied) = match res {
            Ok(out) => (out.attributes.unwrap_or_default(), true),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let old = match se.into_err() {
                    UpdateItemError::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                };
                (old.unwrap_or_default(), false)
            }
            Err(err) => return Err(self.err(err)),
        };
        let stale = stale_attributes(&item, u, &touched);
        if !stale.is_empty() {
            self.clean_up(&u.key, stale.clone()).await?;
        }
        let mut c = decode_counters(&item, applied);
        for name in &stale {
            match bucket_name(name) {
                Some(('f', m)) => {
                    c.failure_buckets.remove(&m);
                }
                Some(('p', m)) => {
                    c.fingerprints.remove(&m);
                }
                Some((_, m)) => {
                    c.member_buckets.remove(&m);
                }
                None => {}
            }
        }
        Ok(c)
    }

    async fn read_counters(&self, k: &CounterKey) -> Result<Counters, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(counter_pk(k), WINDOW_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        Ok(out
            .item
            .map(|i| decode_counters(&i, false))
            .unwrap_or_default())
    }

    async fn get_lock(
        &self,
        mode: LockMode,
        account: &str,
    ) -> Result<Option<LockRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(locks_pk(mode).to_owned(), account)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        out.item.as_ref().map(decode_lock).transpose()
    }

    async fn write_lock(
        &self,
        lock: &LockRecord,
        counter_rev: u64,
        lock_rev: Option<u64>,
        mirror: &LockMirror,
        expires_at: Timestamp,
    ) -> Result<LockWrite, StoreError> {
        // The lock item.
        let mut e = Expr::default();
        let exp = n(epoch_secs(expires_at));
        let fields: Vec<(&str, AttributeValue)> = vec![
            ("account", s(lock.account.as_str())),
            ("mode", s(lock.mode.as_str())),
            ("locked_at", millis(lock.locked_at)),
            ("locked_until", millis(lock.locked_until)),
            ("locked_until_s", n(epoch_secs(lock.locked_until))),
            ("until", s(lock.locked_until.to_rfc3339())),
            ("reason", s(lock.reason.as_str())),
            ("sources", list_s(&lock.sources)),
            ("user_agents", list_s(&lock.user_agents)),
            ("failures", n(lock.failures)),
            ("first_failure_at", millis(lock.first_failure_at)),
            ("last_failure_at", millis(lock.last_failure_at)),
            ("offence_number", n(lock.offence_number)),
            (
                "offences",
                AttributeValue::L(lock.offences.iter().map(|o| millis(*o)).collect()),
            ),
            ("log_group", s(lock.log_group.as_str())),
            ("scope", s(lock.scope.as_str())),
            (
                "familiar",
                AttributeValue::M(
                    lock.familiar
                        .iter()
                        .map(|p| (p.to_string(), AttributeValue::Bool(true)))
                        .collect(),
                ),
            ),
            (
                "investigation",
                s(serde_json::to_string(&lock.investigation)
                    .map_err(|e| StoreError::Rejected(format!("lock investigation: {e}")))?),
            ),
            ("lrev", n(lock_rev.unwrap_or(0) + 1)),
            ("expires_at", exp.clone()),
        ];
        let sets: Vec<String> = fields
            .into_iter()
            .map(|(a, v)| format!("{} = {}", e.name(a), e.value(v)))
            .collect();
        let removes: Vec<String> = ["incident_id", "unlocked_at", "unlocked_by", "unlock_note"]
            .iter()
            .map(|a| e.name(a))
            .collect();
        let condition = match lock_rev {
            Some(r) => format!("{} = {}", e.name("lrev"), e.value(n(r))),
            None => "attribute_not_exists(pk)".to_owned(),
        };
        let lock_update = e.update(
            &self.table,
            key_of(locks_pk(lock.mode).to_owned(), &lock.account),
            &format!("SET {} REMOVE {}", sets.join(", "), removes.join(", ")),
            Some(&condition),
        )?;

        // Its mirror on the counter item, conditioned on the revision decided from.
        let mut e = Expr::default();
        let mut sets = vec![
            format!(
                "{} = {}",
                e.name("lock_mode"),
                e.value(s(mirror.mode.as_str()))
            ),
            format!(
                "{} = {}",
                e.name("lock_at"),
                e.value(millis(mirror.locked_at))
            ),
            format!(
                "{} = {}",
                e.name("lock_until"),
                e.value(millis(mirror.until))
            ),
            format!(
                "{} = {}",
                e.name("lock_snap_from"),
                e.value(n(mirror.snapshot_from))
            ),
        ];
        let mut removes = vec![e.name("lock_incident")];
        if mirror.snapshot.is_empty() {
            removes.push(e.name("lock_snap"));
        } else {
            sets.push(format!(
                "{} = {}",
                e.name("lock_snap"),
                e.value(ss(mirror.snapshot.iter().cloned()))
            ));
        }
        let rev = e.name("rev");
        let condition = if counter_rev == 0 {
            format!("attribute_not_exists({rev})")
        } else {
            let v = e.value(n(counter_rev));
            format!("{rev} = {v}")
        };
        let counter_update = e.update(
            &self.table,
            key_of(
                counter_pk(&CounterKey::Account(lock.account.clone())),
                WINDOW_SK,
            ),
            &format!("SET {} REMOVE {}", sets.join(", "), removes.join(", ")),
            Some(&condition),
        )?;

        let res = self
            .client
            .transact_write_items()
            .transact_items(lock_update)
            .transact_items(counter_update)
            .send()
            .await;
        match res {
            Ok(_) => Ok(LockWrite::Written),
            Err(SdkError::ServiceError(se)) => match se.err() {
                TransactWriteItemsError::TransactionCanceledException(tc) => {
                    match cancelled(tc.cancellation_reasons()) {
                        Cancelled::Condition { index: 0, .. } => Ok(LockWrite::LockChanged),
                        // The counter's condition, or a concurrent counter update that
                        // touched the item mid-transaction.
                        Cancelled::Condition { .. } | Cancelled::Contention => {
                            Ok(LockWrite::CounterChanged)
                        }
                        Cancelled::Rejected(why) => {
                            Err(StoreError::Rejected(format!("lock {why}")))
                        }
                    }
                }
                TransactWriteItemsError::TransactionInProgressException(_) => {
                    Ok(LockWrite::CounterChanged)
                }
                _ => Err(sdk_error(SdkError::ServiceError(se), &self.table)),
            },
            Err(err) => Err(self.err(err)),
        }
    }

    async fn set_lock_incident(
        &self,
        mode: LockMode,
        account: &str,
        locked_at: Timestamp,
        incident_id: &str,
    ) -> Result<(), StoreError> {
        let targets = [
            (
                key_of(locks_pk(mode).to_owned(), account),
                "incident_id",
                "locked_at",
            ),
            (
                key_of(
                    counter_pk(&CounterKey::Account(account.to_owned())),
                    WINDOW_SK,
                ),
                "lock_incident",
                "lock_at",
            ),
        ];
        for (k, attr, at_attr) in targets {
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(k))
                .update_expression("SET #i = :i")
                .condition_expression("#a = :a")
                .expression_attribute_names("#i", attr)
                .expression_attribute_names("#a", at_attr)
                .expression_attribute_values(":i", s(incident_id))
                .expression_attribute_values(":a", millis(locked_at))
                .send()
                .await;
            // Not held: a newer lock replaced this one, and it records its own incident.
            condition_held(res, &self.table)?;
        }
        Ok(())
    }

    async fn familiar(&self, account: &str) -> Result<FamiliarSources, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(
                counter_pk(&CounterKey::Account(account.to_owned())),
                FAMILIAR_SK,
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        let mut f = FamiliarSources::default();
        if let Some(item) = &out.item {
            for (day, set) in day_sets(item) {
                // An address that does not parse teaches nothing; it cannot be one we wrote.
                f.days
                    .insert(day, set.iter().filter_map(|a| a.parse().ok()).collect());
            }
        }
        Ok(f)
    }

    async fn learn_familiar(&self, u: &FamiliarUpdate) -> Result<(), StoreError> {
        let cap = FamiliarPolicy::default().max_per_day;
        for (prefix, days) in u.prefixes() {
            let sets = days.iter().map(|d| (*d, vec![u.account.clone()])).collect();
            self.add_days(prefix_pk(&prefix), sets, u, cap).await?;
        }
        let sets = u
            .additions
            .iter()
            .map(|(d, ips)| (*d, ips.iter().map(ToString::to_string).collect()))
            .collect();
        self.add_days(
            counter_pk(&CounterKey::Account(u.account.clone())),
            sets,
            u,
            cap,
        )
        .await
    }

    async fn familiar_to(
        &self,
        prefix: SourcePrefix,
        first_day: i64,
    ) -> Result<BTreeSet<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(prefix_pk(&prefix), FAMILIAR_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        Ok(out
            .item
            .iter()
            .flat_map(|i| day_sets(i).filter(|(d, _)| *d >= first_day))
            .flat_map(|(_, set)| set.iter().cloned())
            .collect())
    }

    async fn list_locks(&self, mode: LockMode) -> Result<Vec<LockRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(locks_pk(mode)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err(e))?;
            for item in page.items() {
                out.push(decode_lock(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn unlock(
        &self,
        mode: LockMode,
        account: &str,
        at: Timestamp,
        by: &str,
        note: &str,
    ) -> Result<Option<LockRecord>, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(locks_pk(mode).to_owned(), account)))
            .update_expression(
                "SET locked_until = :at, locked_until_s = :ats, #until = :iso, unlocked_at = :at, \
                 unlocked_by = :by, unlock_note = :note ADD lrev :one",
            )
            .condition_expression("locked_until > :at")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":at", millis(at))
            .expression_attribute_values(":ats", n(epoch_secs(at)))
            .expression_attribute_values(":iso", s(at.to_rfc3339()))
            .expression_attribute_values(":by", s(by))
            .expression_attribute_values(":note", s(note))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let before = match res {
            Ok(out) => out.attributes.map(|i| decode_lock(&i)).transpose()?,
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                return Ok(None);
            }
            Err(err) => return Err(self.err(err)),
        };
        // The mirror: later failures no longer belong to this lock's episode.
        if let Some(b) = &before {
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_of(
                    counter_pk(&CounterKey::Account(account.to_owned())),
                    WINDOW_SK,
                )))
                .update_expression("SET lock_until = :at")
                .condition_expression("lock_at = :locked_at AND lock_until > :at")
                .expression_attribute_values(":at", millis(at))
                .expression_attribute_values(":locked_at", millis(b.locked_at))
                .send()
                .await;
            match res {
                Ok(_) => {}
                Err(SdkError::ServiceError(se))
                    if se.err().is_conditional_check_failed_exception() => {}
                Err(err) => return Err(self.err(err)),
            }
        }
        Ok(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_parse() {
        assert_eq!(bucket_name("f29000000"), Some(('f', 29_000_000)));
        assert_eq!(bucket_name("p-3"), Some(('p', -3)));
        assert_eq!(bucket_name("pk"), None);
        assert_eq!(bucket_name("successes"), None);
        assert_eq!(bucket_name("lock_at"), None);
    }

    #[test]
    fn keys_are_stable() {
        assert_eq!(
            counter_pk(&CounterKey::Account("root".into())),
            "LOGIN#ACCOUNT#root"
        );
        assert_eq!(
            counter_pk(&CounterKey::Source("203.0.113.9".parse().expect("ip"))),
            "LOGIN#SOURCE#203.0.113.9"
        );
        assert_eq!(locks_pk(LockMode::Audit), "AUDIT_LOCKS");
    }
}
