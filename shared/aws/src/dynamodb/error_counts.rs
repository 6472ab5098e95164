//! Error counts in DynamoDB (`STATE_TABLE`): per-minute counters and pattern records,
//! written in transactions that carry their own idempotency record.
//!
//! Items (every one with `expires_at`, epoch seconds, for TTL):
//! - counter: `pk = ERRCOUNT#<service>#P#<fingerprint>` (pattern), `ERRCOUNT#<service>#D#<dependency>`
//!   (dependency) or `ERRCOUNT#<service>#ALL` (all errors of the service); `sk = MIN#<yyyy-mm-ddThh:mm>`;
//!   `count`. Kept [`COUNTER_TTL`].
//! - pattern: `pk = ERRPATTERN#<service>#<fingerprint>`, `sk = PATTERN`; `template`, `service`,
//!   `first_seen`, `last_seen` (RFC 3339), `total`. Kept `pattern_memory` after it was last seen:
//!   a pattern whose record expired is new again.
//! - batch: `pk = ERRBATCH#<batch id>`, `sk = CHUNK#<n>` for each chunk of counter writes
//!   (written in the chunk's transaction) and `sk = DONE` once the batch's incidents are
//!   raised. Kept [`BATCH_TTL`].
//!
//! `#` inside a service or dependency name is escaped as `%23` so keys stay unambiguous.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};

use super::item::{Expr, Item, key as key_of, n, s};
use super::{Cancelled, cancelled, sdk_error};
use apptrack_core::clock::Timestamp;
use apptrack_core::errors::analysis::{BatchId, Minute};
use apptrack_core::errors::counts::{
    Applied, Chunk, CountDelta, CountQuery, CountSnapshot, CountWrite, PatternKey, PatternRecord,
    ReadErrorCounts, RecordErrorCounts, Series,
};
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
/// Concurrent counter queries.
const QUERY_CONCURRENCY: usize = 16;

/// Error counts in DynamoDB. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct DynamoErrorCounts {
    client: Client,
    table: String,
    pattern_memory: Duration,
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

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn time(item: &Item, name: &str) -> Option<Timestamp> {
    Timestamp::parse(item.get(name)?.as_s().ok()?).ok()
}

impl DynamoErrorCounts {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        DynamoErrorCounts {
            client,
            table: state_table.into(),
            pattern_memory: DEFAULT_PATTERN_MEMORY,
        }
    }

    /// How long a pattern counts as seen after its last error (`APPTRACK_PATTERN_MEMORY_DAYS`).
    pub fn with_pattern_memory(mut self, d: Duration) -> Self {
        self.pattern_memory = d;
        self
    }

    fn update(
        &self,
        key: Item,
        expr: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut e = Expr::default();
        for (placeholder, attr) in names {
            e.name_as(placeholder, attr);
        }
        for (placeholder, v) in values {
            e.value_as(placeholder, v);
        }
        e.update(&self.table, key, expr, None)
    }

    fn chunk_items(
        &self,
        batch: &BatchId,
        chunk: &Chunk<'_>,
        now: Timestamp,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut record = key_of(batch_pk(batch), format!("CHUNK#{}", chunk.index));
        record.insert("writes".into(), n(chunk.writes.len()));
        record.insert(
            "expires_at".into(),
            n(now.saturating_add(BATCH_TTL).as_secs()),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        // The idempotency record first: its index (0) tells "already applied" apart.
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        let counter_exp = n(now.saturating_add(COUNTER_TTL).as_secs());
        for w in chunk.writes {
            items.push(match w {
                CountWrite::Increment { series, minute, by } => self.update(
                    key_of(series_pk(series), minute_sk(*minute)),
                    "ADD #c :n SET #exp = :exp",
                    &[("#c", "count"), ("#exp", "expires_at")],
                    vec![(":n", n(by)), (":exp", counter_exp.clone())],
                )?,
                CountWrite::Sighting {
                    key: k,
                    template,
                    count,
                    first_seen,
                    last_seen,
                } => self.update(
                    key_of(pattern_pk(k), "PATTERN"),
                    "ADD #total :n SET #tpl = if_not_exists(#tpl, :tpl), \
                     #svc = if_not_exists(#svc, :svc), #fs = if_not_exists(#fs, :fs), \
                     #ls = :ls, #exp = :exp",
                    &[
                        ("#total", "total"),
                        ("#tpl", "template"),
                        ("#svc", "service"),
                        ("#fs", "first_seen"),
                        ("#ls", "last_seen"),
                        ("#exp", "expires_at"),
                    ],
                    vec![
                        (":n", n(count)),
                        (":tpl", s(template.as_str())),
                        (":svc", s(k.service.as_str())),
                        (":fs", s(first_seen.to_rfc3339())),
                        (":ls", s(last_seen.to_rfc3339())),
                        (
                            ":exp",
                            n((*last_seen)
                                .max(now)
                                .saturating_add(self.pattern_memory)
                                .as_secs()),
                        ),
                    ],
                )?,
            });
        }
        Ok(items)
    }

    /// Writes one chunk; `Ok(false)` when an earlier delivery already wrote it.
    async fn write_chunk(
        &self,
        batch: &BatchId,
        chunk: &Chunk<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let items = self.chunk_items(batch, chunk, now)?;
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
                            // The chunk record's own condition: an earlier delivery wrote it.
                            Cancelled::Condition { index: 0, .. } => return Ok(false),
                            Cancelled::Contention => {}
                            Cancelled::Condition { index, .. } => {
                                return Err(StoreError::Rejected(format!(
                                    "counter transaction cancelled: condition of item {index} failed"
                                )));
                            }
                            Cancelled::Rejected(why) => {
                                return Err(StoreError::Rejected(format!("counter {why}")));
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
            "counter chunk {} of batch {batch} kept conflicting after {} attempts",
            chunk.index, RETRY.attempts
        )))
    }

    async fn read_patterns(
        &self,
        keys: &[PatternKey],
    ) -> Result<HashMap<PatternKey, PatternRecord>, StoreError> {
        let mut out = HashMap::new();
        let by_pk: HashMap<String, &PatternKey> = keys.iter().map(|k| (pattern_pk(k), k)).collect();
        let all: Vec<Item> = by_pk
            .keys()
            .map(|pk| key_of(pk.clone(), "PATTERN"))
            .collect();
        for group in all.chunks(100) {
            let mut pending = group.to_vec();
            for attempt in 0..RETRY.attempts {
                if pending.is_empty() {
                    break;
                }
                RETRY.pause(attempt).await;
                let req = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))?;
                let res = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, &self.table))?;
                for item in res
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let Some(pk) = item.get("pk").and_then(|v| v.as_s().ok()) else {
                        continue;
                    };
                    let Some(k) = by_pk.get(pk) else { continue };
                    let (Some(first_seen), Some(last_seen)) =
                        (time(&item, "first_seen"), time(&item, "last_seen"))
                    else {
                        return Err(StoreError::Corrupt(format!(
                            "{pk}: missing first_seen/last_seen"
                        )));
                    };
                    out.insert(
                        (*k).clone(),
                        PatternRecord {
                            template: item
                                .get("template")
                                .and_then(|v| v.as_s().ok())
                                .cloned()
                                .unwrap_or_default(),
                            first_seen,
                            last_seen,
                            total: number(&item, "total").unwrap_or(0),
                        },
                    );
                }
                pending = res
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|ka| ka.keys)
                    .unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(format!(
                    "{} pattern records stayed unprocessed",
                    pending.len()
                )));
            }
        }
        Ok(out)
    }
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
        let mut applied = Applied::default();
        for chunk in delta.chunks() {
            if self.write_chunk(&delta.batch, &chunk, now).await? {
                applied.written += 1;
            } else {
                applied.skipped += 1;
            }
        }
        Ok(applied)
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
        let mut snap = CountSnapshot {
            patterns: self.read_patterns(&query.patterns).await?,
            ..CountSnapshot::default()
        };
        for wave in query.series.chunks(QUERY_CONCURRENCY) {
            let mut tasks = tokio::task::JoinSet::new();
            for (series, from, to) in wave {
                tasks.spawn(query_series(
                    self.client.clone(),
                    self.table.clone(),
                    series.clone(),
                    *from,
                    *to,
                ));
            }
            while let Some(res) = tasks.join_next().await {
                let (series, minutes) =
                    res.map_err(|e| StoreError::Unavailable(format!("counter query task: {e}")))??;
                snap.series.entry(series).or_default().extend(minutes);
            }
        }
        Ok(snap)
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
