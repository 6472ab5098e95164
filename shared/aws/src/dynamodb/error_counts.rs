//! Error counts in DynamoDB (`STATE_TABLE`): per-minute counters and pattern records, each
//! write applied once per batch on its own. Counters take plain conditional updates, which
//! DynamoDB queues on a hot item instead of cancelling; only a pattern's total is added to
//! in a (two-item) transaction, on one of several shards.
//!
//! Items (every one with `expires_at`, epoch seconds, for TTL):
//! - counter: `pk = ERRCOUNT#<service>#P#<fingerprint>` (pattern), `ERRCOUNT#<service>#D#<dependency>`
//!   (dependency) or `ERRCOUNT#<service>#ALL` (all errors of the service); `sk = MIN#<yyyy-mm-ddThh:mm>`;
//!   `count`, and `batches`: the tags of the batches added (a conditional append: a batch
//!   whose tag is there already adds nothing). Kept [`COUNTER_TTL`]; one minute's batches
//!   bound the set.
//! - pattern: `pk = ERRPATTERN#<service>#<fingerprint>`; `sk = PATTERN` holds `template`,
//!   `service`, `first_seen`, `last_seen` (RFC 3339), written by a plain update; the running
//!   total is split over [`PATTERN_SHARDS`] items `sk = TOTAL#<n>` (a batch adds to the one
//!   its id picks), each added to in a two-item transaction with the batch's marker, so
//!   batches of one busy pattern contend one time in [`PATTERN_SHARDS`]. A `total` on the
//!   `PATTERN` item (the layout before the shards) is still counted. Kept `pattern_memory`
//!   after it was last seen: a pattern whose record expired is new again.
//! - batch: `pk = ERRBATCH#<batch id>`; `sk = SEEN#<pattern pk>` marks the pattern total a
//!   batch added to, `sk = DONE` that its incidents were raised. Kept [`BATCH_TTL`].
//!
//! `#` inside a service or dependency name is escaped as `%23` so keys stay unambiguous.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::item::{Expr, Item, key as key_of, n, s};
use super::templates::DynamoTemplateRegistry;
use super::{Cancelled, cancelled, condition_held, sdk_error};
use apptrack_core::clock::Timestamp;
use apptrack_core::errors::analysis::{BatchId, Minute};
use apptrack_core::errors::counts::{
    Applied, CountDelta, CountQuery, CountSnapshot, CountWrite, PatternKey, PatternRecord,
    ReadErrorCounts, RecordErrorCounts, Series,
};
use apptrack_core::pattern::WithTemplates;
use apptrack_core::retry::Retry;
use apptrack_core::store::StoreError;

/// Counters outlive the longest window read from them (a day of baseline) with margin.
pub const COUNTER_TTL: Duration = Duration::from_secs(3 * 86_400);
/// Batch records outlive any redelivery: Lambda retries asynchronous events for at most 6 hours.
pub const BATCH_TTL: Duration = Duration::from_secs(14 * 86_400);
/// Default time a pattern is remembered after it was last seen.
pub const DEFAULT_PATTERN_MEMORY: Duration = Duration::from_secs(30 * 86_400);
/// Attempts of a conflicting transaction (or of unprocessed keys) before giving up with a
/// retryable error, and the pauses between them.
const RETRY: Retry = Retry::TRANSACTION;
/// Concurrent counter queries, and concurrent writes of one batch.
const QUERY_CONCURRENCY: usize = 16;
/// Items a pattern's running total is split over (DynamoDB's write sharding): two batches
/// of one pattern in flight together pick the same shard one time in this many. Fixed: a reader sums the
/// shards it finds, so the number is no setting any reader must agree on.
pub const PATTERN_SHARDS: u64 = 8;

/// Error counts in DynamoDB. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct DynamoErrorCounts {
    client: Client,
    table: String,
    pattern_memory: Duration,
    /// The template registry, in the same table (`templates.rs`).
    templates: DynamoTemplateRegistry,
}

fn esc(part: &str) -> String {
    part.replace('%', "%25").replace('#', "%23")
}

/// The partition key of a counter series.
pub fn series_pk(series: &Series) -> String {
    match series {
        Series::Pattern {
            service,
            fingerprint,
        } => format!("ERRCOUNT#{}#P#{fingerprint}", esc(service)),
        Series::Dependency {
            service,
            dependency,
        } => format!("ERRCOUNT#{}#D#{}", esc(service), esc(dependency)),
        Series::Service { service } => format!("ERRCOUNT#{}#ALL", esc(service)),
    }
}

fn minute_sk(m: Minute) -> String {
    format!("MIN#{}", m.label())
}

/// The key of a pattern record.
pub fn pattern_pk(k: &PatternKey) -> String {
    format!("ERRPATTERN#{}#{}", esc(&k.service), k.fingerprint)
}

fn batch_pk(b: &BatchId) -> String {
    format!("ERRBATCH#{b}")
}

/// A batch's tag in a counter's `batches` set: its id's first 64 bits, so a busy minute's
/// set stays small (two batches of one minute share a tag once in about 2^32 minutes).
fn batch_tag(b: &BatchId) -> &str {
    let id = b.as_str();
    id.get(..16).unwrap_or(id)
}

/// The total shard a batch adds to, picked by its id.
fn shard_of(b: &BatchId) -> u64 {
    u64::from_str_radix(batch_tag(b), 16).unwrap_or(0) % PATTERN_SHARDS
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn time(item: &Item, name: &str) -> Option<Timestamp> {
    Timestamp::parse(item.get(name)?.as_s().ok()?).ok()
}

impl DynamoErrorCounts {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        let table: String = state_table.into();
        DynamoErrorCounts {
            templates: DynamoTemplateRegistry::new(client.clone(), table.clone()),
            client,
            table,
            pattern_memory: DEFAULT_PATTERN_MEMORY,
        }
    }

    /// How long a pattern counts as seen after its last error (`APPTRACK_PATTERN_MEMORY_DAYS`).
    pub fn with_pattern_memory(mut self, d: Duration) -> Self {
        self.pattern_memory = d;
        self.templates = self.templates.with_memory(d);
        self
    }

    /// Adds one batch's errors to one counter, once: the batch's tag goes into the item's
    /// `batches` set in the same update. `Ok(false)`: an earlier delivery added them.
    async fn add_to_counter(
        &self,
        batch: &BatchId,
        series: &Series,
        minute: Minute,
        by: u64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let tag = batch_tag(batch);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(series_pk(series), minute_sk(minute))))
            .update_expression("ADD #c :n, #b :tags SET #exp = :exp")
            .condition_expression("NOT contains(#b, :tag)")
            .expression_attribute_names("#c", "count")
            .expression_attribute_names("#b", "batches")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":n", n(by))
            .expression_attribute_values(":tags", AttributeValue::Ss(vec![tag.to_owned()]))
            .expression_attribute_values(":tag", s(tag))
            .expression_attribute_values(":exp", n(now.saturating_add(COUNTER_TTL).as_secs()))
            .send()
            .await;
        condition_held(res, &self.table)
    }

    /// When a pattern's record expires: `pattern_memory` after the later of its last error
    /// and now.
    fn pattern_expiry(&self, last_seen: Timestamp, now: Timestamp) -> AttributeValue {
        n(last_seen
            .max(now)
            .saturating_add(self.pattern_memory)
            .as_secs())
    }

    /// Writes what a pattern record says besides its total: idempotent, so a plain update.
    /// `first_seen` is the first writer's and never moves, so it names the record's counter.
    async fn remember_pattern(
        &self,
        k: &PatternKey,
        template: &str,
        first_seen: Timestamp,
        last_seen: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = key_of(pattern_pk(k), "PATTERN");
        let exp = self.pattern_expiry(last_seen, now);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression(
                "SET #tpl = if_not_exists(#tpl, :tpl), #svc = if_not_exists(#svc, :svc), \
                 #fs = if_not_exists(#fs, :fs), #ls = :ls, #exp = :exp",
            )
            .condition_expression("attribute_not_exists(#ls) OR #ls <= :ls")
            .expression_attribute_names("#tpl", "template")
            .expression_attribute_names("#svc", "service")
            .expression_attribute_names("#fs", "first_seen")
            .expression_attribute_names("#ls", "last_seen")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":tpl", s(template))
            .expression_attribute_values(":svc", s(k.service.as_str()))
            .expression_attribute_values(":fs", s(first_seen.to_rfc3339()))
            .expression_attribute_values(":ls", s(last_seen.to_rfc3339()))
            .expression_attribute_values(":exp", exp.clone())
            .send()
            .await;
        if !condition_held(res, &self.table)? {
            // A later sighting got there first (a late delivery): only keep the record as
            // long; a failed condition here means it is kept longer already.
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression("SET #exp = :exp")
                .condition_expression("#exp < :exp")
                .expression_attribute_names("#exp", "expires_at")
                .expression_attribute_values(":exp", exp)
                .send()
                .await;
            condition_held(res, &self.table)?;
        }
        Ok(())
    }

    /// Adds one batch's errors of a pattern to the pattern's total, once: the batch's marker
    /// and the shard's increment in one transaction. `Ok(false)`: an earlier delivery did.
    async fn add_to_total(
        &self,
        batch: &BatchId,
        k: &PatternKey,
        count: u64,
        last_seen: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut marker = key_of(batch_pk(batch), format!("SEEN#{}", pattern_pk(k)));
        marker.insert(
            "expires_at".into(),
            n(now.saturating_add(BATCH_TTL).as_secs()),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let mut e = Expr::default();
        e.name_as("#total", "total")
            .name_as("#exp", "expires_at")
            .value_as(":n", n(count))
            .value_as(":exp", self.pattern_expiry(last_seen, now));
        let shard = key_of(pattern_pk(k), format!("TOTAL#{}", shard_of(batch)));
        let items = vec![
            // The marker first: its index (0) tells "already added" apart.
            TransactWriteItem::builder().put(put).build(),
            e.update(&self.table, shard, "ADD #total :n SET #exp = :exp", None)?,
        ];
        for attempt in 0..RETRY.attempts {
            RETRY.pause(attempt).await;
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match res {
                Ok(_) => return Ok(true),
                Err(SdkError::ServiceError(se)) => match se.err() {
                    TransactWriteItemsError::TransactionCanceledException(tc) => {
                        match cancelled(tc.cancellation_reasons()) {
                            Cancelled::Condition { index: 0, .. } => return Ok(false),
                            Cancelled::Contention => {}
                            Cancelled::Condition { index, .. } => {
                                return Err(StoreError::Rejected(format!(
                                    "pattern total transaction cancelled: condition of item {index} failed"
                                )));
                            }
                            Cancelled::Rejected(why) => {
                                return Err(StoreError::Rejected(format!("pattern total {why}")));
                            }
                        }
                    }
                    TransactWriteItemsError::TransactionInProgressException(_) => {}
                    _ => return Err(sdk_error(SdkError::ServiceError(se), &self.table)),
                },
                Err(e) => return Err(sdk_error(e, &self.table)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "the total of {} {} for batch {batch} kept conflicting after {} attempts",
            k.service, k.fingerprint, RETRY.attempts
        )))
    }

    /// Applies one write of a batch; `Ok(false)` when an earlier delivery did.
    async fn apply_one(
        self,
        batch: BatchId,
        w: CountWrite,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        match &w {
            CountWrite::Increment { series, minute, by } => {
                self.add_to_counter(&batch, series, *minute, *by, now).await
            }
            CountWrite::Sighting {
                key: k,
                template,
                count,
                first_seen,
                last_seen,
            } => {
                // The record before its total: a reader never sees a total it cannot date.
                self.remember_pattern(k, template, *first_seen, *last_seen, now)
                    .await?;
                self.add_to_total(&batch, k, *count, *last_seen, now).await
            }
        }
    }

    async fn read_patterns(
        &self,
        keys: &[PatternKey],
    ) -> Result<HashMap<PatternKey, PatternRecord>, StoreError> {
        let found = in_waves(keys, "pattern query", |k| {
            query_pattern(self.client.clone(), self.table.clone(), k.clone())
        })
        .await?;
        Ok(found
            .into_iter()
            .filter_map(|(k, record)| Some((k, record?)))
            .collect())
    }
}

/// Reads a pattern's record and sums its total shards: one query.
async fn query_pattern(
    client: Client,
    table: String,
    k: PatternKey,
) -> Result<(PatternKey, Option<PatternRecord>), StoreError> {
    let pk = pattern_pk(&k);
    let mut record: Option<PatternRecord> = None;
    let mut total = 0u64;
    let mut start = None;
    loop {
        let res = client
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk.as_str()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error(e, &table))?;
        for item in res.items.unwrap_or_default() {
            total += number(&item, "total").unwrap_or(0);
            if item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                != Some("PATTERN")
            {
                continue;
            }
            let (Some(first_seen), Some(last_seen)) =
                (time(&item, "first_seen"), time(&item, "last_seen"))
            else {
                return Err(StoreError::Corrupt(format!(
                    "{pk}: missing first_seen/last_seen"
                )));
            };
            record = Some(PatternRecord {
                template: item
                    .get("template")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default(),
                first_seen,
                last_seen,
                total: 0,
            });
        }
        start = res.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    // Shards without their record (it expired first) belong to no pattern anyone can see.
    Ok((k, record.map(|r| PatternRecord { total, ..r })))
}

/// Runs `task` over `items`, [`QUERY_CONCURRENCY`] at a time, and collects the answers.
/// Every task of a wave runs to its end before an error is returned, so a retry of writes
/// finds as many of them done as could be.
async fn in_waves<I, T, F, Fut>(items: &[I], what: &str, task: F) -> Result<Vec<T>, StoreError>
where
    F: Fn(&I) -> Fut,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    let mut out = Vec::with_capacity(items.len());
    for wave in items.chunks(QUERY_CONCURRENCY) {
        let mut tasks = tokio::task::JoinSet::new();
        for item in wave {
            tasks.spawn(task(item));
        }
        let mut first_error = None;
        while let Some(res) = tasks.join_next().await {
            match res.map_err(|e| StoreError::Unavailable(format!("{what} task: {e}"))) {
                Ok(Ok(v)) => out.push(v),
                Ok(Err(e)) | Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    Ok(out)
}

/// Reads one counter series over `[from, to]`.
async fn query_series(
    client: Client,
    table: String,
    series: Series,
    from: Minute,
    to: Minute,
) -> Result<(Series, Vec<(Minute, u64)>), StoreError> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let res = client
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(series_pk(&series)))
            .expression_attribute_values(":from", s(minute_sk(from)))
            .expression_attribute_values(":to", s(minute_sk(to)))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error(e, &table))?;
        for item in res.items.unwrap_or_default() {
            let minute = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.strip_prefix("MIN#"))
                .and_then(Minute::parse_label);
            if let (Some(m), Some(c)) = (minute, number(&item, "count")) {
                out.push((m, c));
            }
        }
        start = res.last_evaluated_key;
        if start.is_none() {
            return Ok((series, out));
        }
    }
}

impl RecordErrorCounts for DynamoErrorCounts {
    async fn apply(&self, delta: &CountDelta, now: Timestamp) -> Result<Applied, StoreError> {
        let done = in_waves(&delta.writes, "counter write", |w| {
            self.clone().apply_one(delta.batch.clone(), w.clone(), now)
        })
        .await?;
        let written = done.iter().filter(|w| **w).count();
        Ok(Applied {
            written,
            skipped: done.len() - written,
        })
    }

    async fn mark_done(&self, batch: &BatchId, now: Timestamp) -> Result<(), StoreError> {
        let mut item = key_of(batch_pk(batch), "DONE");
        item.insert("at".into(), s(now.to_rfc3339()));
        item.insert(
            "expires_at".into(),
            n(now.saturating_add(BATCH_TTL).as_secs()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error(e, &self.table))?;
        Ok(())
    }
}

impl ReadErrorCounts for DynamoErrorCounts {
    async fn is_done(&self, batch: &BatchId) -> Result<bool, StoreError> {
        let res = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(batch_pk(batch), "DONE")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(e, &self.table))?;
        Ok(res.item.is_some())
    }

    async fn snapshot(&self, query: &CountQuery) -> Result<CountSnapshot, StoreError> {
        let read = |(series, from, to): &(Series, Minute, Minute)| {
            query_series(
                self.client.clone(),
                self.table.clone(),
                series.clone(),
                *from,
                *to,
            )
        };
        // The service's totals first, then its parts (dependencies, patterns): a share is a
        // part over its total, and while other batches write, a part read after its total
        // can only be ahead of it (the share errs high, capped at 1), never behind by the
        // seconds between two reads (which judged a failing dependency healthy under 200
        // concurrent batches: BENCHMARKS, the load test).
        let (totals, parts): (Vec<_>, Vec<_>) = query
            .series
            .iter()
            .cloned()
            .partition(|(s, _, _)| matches!(s, Series::Service { .. }));
        let totals = in_waves(&totals, "counter query", read).await?;
        // Pattern records and the parts at once: neither waits on the other.
        let (patterns, parts) = tokio::try_join!(
            self.read_patterns(&query.patterns),
            in_waves(&parts, "counter query", read),
        )?;
        let mut snap = CountSnapshot {
            patterns,
            ..CountSnapshot::default()
        };
        for (series, minutes) in totals.into_iter().chain(parts) {
            snap.series.entry(series).or_default().extend(minutes);
        }
        Ok(snap)
    }
}

/// The registry shares the state table and client (`templates.rs` has the items).
impl WithTemplates for DynamoErrorCounts {
    type Templates = DynamoTemplateRegistry;
    fn templates(&self) -> &DynamoTemplateRegistry {
        &self.templates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_separators() {
        let s = Series::Dependency {
            service: "a#b".into(),
            dependency: "x%y".into(),
        };
        assert_eq!(series_pk(&s), "ERRCOUNT#a%23b#D#x%25y");
        assert_eq!(
            minute_sk(Minute::of(Timestamp::from_secs(60))),
            "MIN#1970-01-01T00:01"
        );
    }
}
