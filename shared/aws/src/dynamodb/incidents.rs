//! DynamoDB adapter of the incident store: items, conditional writes and index queries.
//! The key layout is documented in README.md ("Incident table"); nothing here scans.
//!
//! Items in `INCIDENTS_TABLE`:
//! - incident: `pk = INCIDENT#<id>`, `sk = INCIDENT`, the incident's fields, its bounded
//!   `timeline` list, `expires_at` (epoch seconds, TTL) once resolved;
//! - dedup pointer: `pk = DEDUP#<dedup key>`, `sk = DEDUP`, `active_id` while an incident
//!   for the problem is open or acknowledged, `last_id` of the newest one.
//!
//! Idempotency records live in `STATE_TABLE`: `pk = IDEM#<key>`, `sk = IDEM`.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::item::{Expr, Item, key as key_of, n, s};
use super::{Cancelled, cancelled};
use apptrack_core::clock::{Clock, SystemClock, Timestamp};
use apptrack_core::incident::{
    DedupKey, Incident, IncidentId, MAX_EVIDENCE, MAX_TIMELINE, Occurrence, RaiseKind, Raised,
    Severity, Status, TimelineEntry, Transition,
};
use apptrack_core::retry::Retry;
use apptrack_core::settings::StoreSettings;
use apptrack_core::store::{
    Listed, Page, PageRequest, ReadIncidents, RecordIncidents, StoreError, TimeRange,
};

pub use crate::sdk::store_error as sdk_error;

mod tally;
pub use tables::{bootstrap_tables, create_table};

const INCIDENT_SK: &str = "INCIDENT";
const DEDUP_SK: &str = "DEDUP";
const IDEM_SK: &str = "IDEM";
/// Idempotency records outlive any redelivery: Lambda retries for at most 6 hours, and
/// EventBridge for 24.
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(14 * 86_400);
/// Attempts of an optimistic write before giving up with a retryable error.
const RETRY: Retry = Retry::CONTENTION;

pub const STATUS_INDEX: &str = "by-status";
pub const SERVICE_INDEX: &str = "by-service";
pub const RESOURCE_INDEX: &str = "by-resource";

/// Incidents in DynamoDB. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct DynamoIncidentStore {
    client: Client,
    incidents_table: String,
    state_table: String,
}

fn incident_pk(id: &IncidentId) -> String {
    format!("INCIDENT#{id}")
}

fn dedup_pk(key: &DedupKey) -> String {
    format!("DEDUP#{key}")
}

fn idem_pk(key: &str) -> String {
    format!("IDEM#{key}")
}

/// How a conditional write ended, when it did not simply fail.
enum Written {
    Ok,
    /// Another writer got in between; try again.
    Conflict,
    /// The condition of write `index` failed; `old` is the item as it was.
    Condition {
        index: usize,
        old: Option<Item>,
    },
}

/// The outcome of one optimistic step of a retry loop.
enum Step<T> {
    Done(T),
    Retry,
}

/// The dedup pointer of a problem.
struct Pointer {
    active: Option<IncidentId>,
    last: Option<IncidentId>,
}

impl DynamoIncidentStore {
    pub fn new(
        client: Client,
        incidents_table: impl Into<String>,
        state_table: impl Into<String>,
    ) -> Self {
        DynamoIncidentStore {
            client,
            incidents_table: incidents_table.into(),
            state_table: state_table.into(),
        }
    }

    /// The store over the tables the settings name.
    pub fn from_settings(client: Client, store: &StoreSettings) -> Self {
        Self::new(client, &store.incidents_table, &store.state_table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn incidents_table(&self) -> &str {
        &self.incidents_table
    }

    pub fn state_table(&self) -> &str {
        &self.state_table
    }

    fn err<E, R>(&self, e: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        sdk_error(e, &self.incidents_table)
    }

    async fn read_pointer(&self, key: &DedupKey, now: Timestamp) -> Result<Pointer, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.incidents_table)
            .set_key(Some(key_of(dedup_pk(key), DEDUP_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        let Some(item) = out.item else {
            return Ok(Pointer {
                active: None,
                last: None,
            });
        };
        let id = |name: &str| -> Result<Option<IncidentId>, StoreError> {
            match item.get(name) {
                Some(AttributeValue::S(v)) => v
                    .parse()
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt(format!("{name} {v:?} in pointer {key}"))),
                _ => Ok(None),
            }
        };
        // A pointer past its retention refers to an incident that no longer counts.
        let expired = item
            .get("expires_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|secs| Timestamp::from_secs(secs) <= now);
        Ok(Pointer {
            active: id("active_id")?,
            last: if expired { None } else { id("last_id")? },
        })
    }

    async fn read(
        &self,
        id: &IncidentId,
    ) -> Result<Option<(Incident, Vec<TimelineEntry>)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.incidents_table)
            .set_key(Some(key_of(incident_pk(id), INCIDENT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        out.item.map(decode_incident).transpose()
    }

    async fn read_live(
        &self,
        id: &IncidentId,
        now: Timestamp,
    ) -> Result<(Incident, Vec<TimelineEntry>), StoreError> {
        match self.read(id).await? {
            Some((inc, tl)) if !inc.is_expired(now) => Ok((inc, tl)),
            _ => Err(StoreError::NotFound(id.clone())),
        }
    }

    /// Runs writes atomically: one write as a plain conditional write (no transaction, so
    /// concurrent updates of one item queue instead of conflicting), several as a
    /// transaction.
    async fn write(&self, mut items: Vec<TransactWriteItem>) -> Result<Written, StoreError> {
        if items.len() == 1 {
            let item = items.remove(0);
            if let Some(u) = item.update {
                return self.single_update(u).await;
            }
            if let Some(p) = item.put {
                return self.single_put(p).await;
            }
            return Err(StoreError::Corrupt("empty write".to_string()));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Written::Ok),
            Err(SdkError::ServiceError(se)) => match se.err() {
                TransactWriteItemsError::TransactionCanceledException(tc) => {
                    match cancelled(tc.cancellation_reasons()) {
                        Cancelled::Condition { index, item } => {
                            Ok(Written::Condition { index, old: item })
                        }
                        Cancelled::Contention => Ok(Written::Conflict),
                        Cancelled::Rejected(why) => Err(StoreError::Rejected(why)),
                    }
                }
                TransactWriteItemsError::TransactionInProgressException(_) => Ok(Written::Conflict),
                _ => Err(sdk_error(SdkError::ServiceError(se), &self.incidents_table)),
            },
            Err(e) => Err(self.err(e)),
        }
    }

    async fn single_update(&self, u: Update) -> Result<Written, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(u.table_name)
            .set_key(Some(u.key))
            .update_expression(u.update_expression)
            .set_condition_expression(u.condition_expression)
            .set_expression_attribute_names(u.expression_attribute_names)
            .set_expression_attribute_values(u.expression_attribute_values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(Written::Ok),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let old = match se.into_err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                };
                Ok(Written::Condition { index: 0, old })
            }
            Err(e) => Err(self.err(e)),
        }
    }

    async fn single_put(&self, p: Put) -> Result<Written, StoreError> {
        let res = self
            .client
            .put_item()
            .table_name(p.table_name)
            .set_item(Some(p.item))
            .set_condition_expression(p.condition_expression)
            .set_expression_attribute_names(p.expression_attribute_names)
            .set_expression_attribute_values(p.expression_attribute_values)
            .send()
            .await;
        match res {
            Ok(_) => Ok(Written::Ok),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                Ok(Written::Condition {
                    index: 0,
                    old: None,
                })
            }
            Err(e) => Err(self.err(e)),
        }
    }

    /// The idempotency record write that makes a delivery count once.
    ///
    /// It expires [`IDEMPOTENCY_TTL`] after the later of the occurrence's time and the wall
    /// clock: redeliveries come within hours of the *delivery*, and DynamoDB's TTL deletes by
    /// the wall clock, so a record for an old event (CloudWatch Logs takes events up to 14 days
    /// old) must not be born expired, or its redelivery would count again. The wall clock is
    /// read to the day (the record then lives at least 14 days), so the record written for one
    /// occurrence is the same on every retry of that day.
    fn idempotency_put(
        &self,
        key: &str,
        id: &IncidentId,
        at: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key_of(idem_pk(key), IDEM_SK);
        item.insert("incident_id".into(), s(id.as_str()));
        let today = SystemClock.now().as_secs().div_euclid(86_400) * 86_400;
        let from = at.max(Timestamp::from_secs(today));
        item.insert(
            "expires_at".into(),
            n(from.saturating_add(IDEMPOTENCY_TTL).as_secs()),
        );
        put(&self.state_table, item, "attribute_not_exists(pk)")
    }

    async fn duplicate_of(&self, key: &str) -> Result<Raised, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.state_table)
            .set_key(Some(key_of(idem_pk(key), IDEM_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(e, &self.state_table))?;
        let id = out
            .item
            .as_ref()
            .and_then(|i| i.get("incident_id"))
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("idempotency record {key} has no incident_id"))
            })?;
        Ok(Raised {
            id: id.parse().map_err(|_| {
                StoreError::Corrupt(format!("idempotency record {key}: bad id {id:?}"))
            })?,
            kind: RaiseKind::Duplicate,
        })
    }

    /// Adds the occurrence to the active incident `id`.
    async fn add_to(&self, id: &IncidentId, occ: &Occurrence) -> Result<Step<Raised>, StoreError> {
        // First try to move last_seen forward too; an occurrence older than last_seen (an
        // out-of-order delivery) still counts, without moving it back.
        for move_last_seen in [true, false] {
            let mut expr = Expr::default();
            expr.name_as("#count", "count")
                .name_as("#status", "status")
                .value_as(":c", n(occ.count.max(1)))
                .value_as(":open", s(Status::Open.as_str()))
                .value_as(":ack", s(Status::Acknowledged.as_str()));
            let mut update = "ADD #count :c".to_string();
            let mut cond = "#status IN (:open, :ack)".to_string();
            if move_last_seen {
                expr.name_as("#last_seen", "last_seen")
                    .value_as(":at", s(occ.at.to_rfc3339()));
                update.push_str(" SET #last_seen = :at");
                cond.push_str(" AND #last_seen <= :at");
            }
            let mut writes = vec![expr.update(
                &self.incidents_table,
                key_of(incident_pk(id), INCIDENT_SK),
                &update,
                Some(&cond),
            )?];
            if let Some(k) = &occ.idempotency_key {
                writes.push(self.idempotency_put(k, id, occ.at)?);
            }
            match self.write(writes).await? {
                Written::Ok => {
                    if !move_last_seen {
                        self.move_first_seen_back(id, occ.at).await?;
                    }
                    return self.updated(id, occ).await;
                }
                Written::Conflict => return Ok(Step::Retry),
                Written::Condition { index: 1, .. } => {
                    let k = occ.idempotency_key.as_deref().unwrap_or_default();
                    return self.duplicate_of(k).await.map(Step::Done);
                }
                Written::Condition { old, .. } => {
                    let still_active = old
                        .as_ref()
                        .and_then(|o| o.get("status"))
                        .and_then(|v| v.as_s().ok())
                        .and_then(|v| v.parse::<Status>().ok())
                        .is_some_and(Status::is_active);
                    if !still_active {
                        // Resolved between reading the pointer and writing: start over.
                        return Ok(Step::Retry);
                    }
                }
            }
        }
        Ok(Step::Retry)
    }

    /// Finishes adding `occ` to the active incident `id`: its evidence, while there is room.
    async fn updated(&self, id: &IncidentId, occ: &Occurrence) -> Result<Step<Raised>, StoreError> {
        self.add_evidence(id, occ).await?;
        Ok(Step::Done(Raised {
            id: id.clone(),
            kind: RaiseKind::Updated,
        }))
    }

    /// Moves `first_seen` back to `at` when an occurrence older than the incident's start
    /// arrives late (only on the out-of-order path, so it costs nothing in the usual case).
    async fn move_first_seen_back(&self, id: &IncidentId, at: Timestamp) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        expr.name_as("#fs", "first_seen")
            .value_as(":at", s(at.to_rfc3339()));
        let w = expr.update(
            &self.incidents_table,
            key_of(incident_pk(id), INCIDENT_SK),
            "SET #fs = :at",
            Some("#fs > :at"),
        )?;
        // A failed condition means first_seen is already at or before `at`.
        self.write(vec![w]).await.map(|_| ())
    }

    /// Appends evidence while the incident holds fewer than [`MAX_EVIDENCE`] items; the
    /// first items, which show how the problem began, are the ones kept.
    async fn add_evidence(&self, id: &IncidentId, occ: &Occurrence) -> Result<(), StoreError> {
        if occ.evidence.is_empty() {
            return Ok(());
        }
        let room = MAX_EVIDENCE.saturating_sub(occ.evidence.len().min(MAX_EVIDENCE));
        let ev: Vec<_> = occ.evidence.iter().take(MAX_EVIDENCE).collect();
        let mut expr = Expr::default();
        expr.name_as("#ev", "evidence")
            .value_as(":ev", to_av(&ev)?)
            .value_as(":room", n(room));
        let w = expr.update(
            &self.incidents_table,
            key_of(incident_pk(id), INCIDENT_SK),
            "SET #ev = list_append(#ev, :ev)",
            Some("size(#ev) <= :room"),
        )?;
        // A full evidence list is the normal steady state, not an error.
        match self.write(vec![w]).await? {
            Written::Ok | Written::Condition { .. } | Written::Conflict => Ok(()),
        }
    }

    /// Opens a new incident for the occurrence's problem.
    async fn open_new(
        &self,
        occ: &Occurrence,
        last: Option<IncidentId>,
    ) -> Result<Step<Raised>, StoreError> {
        let id = IncidentId::new(occ.at);
        let inc = match (&last, occ.tally) {
            (Some(prev), Some(_)) => {
                let previous = self.tally_taken_in(prev).await?;
                match Incident::reopen(id.clone(), occ, prev.clone(), previous.as_ref()) {
                    Some(inc) => inc,
                    // The resolved incident took this report in already.
                    None => {
                        return Ok(Step::Done(Raised {
                            id: prev.clone(),
                            kind: RaiseKind::Duplicate,
                        }));
                    }
                }
            }
            _ => Incident::open(id.clone(), occ, last.clone()),
        };
        let mut item = incident_item(&inc, &[inc.opening_entry()])?;
        if let Some(t) = &inc.tally {
            item.insert(tally::BASE.into(), tally::base(t, inc.count));
        }

        let mut expr = Expr::default();
        expr.name_as("#active", "active_id")
            .name_as("#last", "last_id")
            .name_as("#exp", "expires_at")
            .value_as(":id", s(id.as_str()));
        let mut writes = vec![
            expr.update(
                &self.incidents_table,
                key_of(dedup_pk(&occ.dedup_key), DEDUP_SK),
                "SET #active = :id, #last = :id REMOVE #exp",
                Some("attribute_not_exists(#active)"),
            )?,
            put(&self.incidents_table, item, "attribute_not_exists(pk)")?,
        ];
        // A tally is its own idempotency: a repeated report finds it taken in.
        if let Some(k) = occ.idempotency_key.as_ref().filter(|_| occ.tally.is_none()) {
            writes.push(self.idempotency_put(k, &id, occ.at)?);
        }
        match self.write(writes).await? {
            Written::Ok => Ok(Step::Done(Raised {
                id,
                kind: if last.is_some() {
                    RaiseKind::Regressed
                } else {
                    RaiseKind::Opened
                },
            })),
            Written::Condition { index: 2, .. } => {
                let k = occ.idempotency_key.as_deref().unwrap_or_default();
                self.duplicate_of(k).await.map(Step::Done)
            }
            // Someone else opened it first (index 0), or an id collision (index 1).
            Written::Condition { .. } | Written::Conflict => Ok(Step::Retry),
        }
    }

    /// Applies a lifecycle transition and its timeline entry, optimistically.
    async fn transition(
        &self,
        id: &IncidentId,
        action: Transition,
        entry: &TimelineEntry,
        retention: Duration,
    ) -> Result<Incident, StoreError> {
        for attempt in 0..RETRY.attempts {
            RETRY.pause(attempt).await;
            let (mut inc, timeline) = self.read_live(id, entry.at).await?;
            let next = inc.status.after(action, id)?;
            let mut expr = Expr::default();
            expr.name_as("#status", "status")
                .value_as(":current", s(inc.status.as_str()))
                .value_as(":next", s(next.as_str()))
                .value_as(":at", s(entry.at.to_rfc3339()));
            let mut sets = vec!["#status = :next".to_string()];
            let mut writes = Vec::new();
            match action {
                Transition::Acknowledge => {
                    expr.name_as("#ack", "acknowledged_at");
                    sets.push("#ack = :at".into());
                    inc.acknowledged_at = Some(entry.at);
                }
                Transition::Resolve => {
                    let exp = entry.at.saturating_add(retention);
                    expr.name_as("#res", "resolved_at")
                        .name_as("#exp", "expires_at")
                        .value_as(":exp", n(exp.as_secs()));
                    sets.push("#res = :at".into());
                    sets.push("#exp = :exp".into());
                    inc.resolved_at = Some(entry.at);
                    inc.expires_at = Some(Timestamp::from_secs(exp.as_secs()));
                    // The pointer lets the next occurrence open a new (regression) incident.
                    let mut pe = Expr::default();
                    pe.name_as("#active", "active_id")
                        .name_as("#exp", "expires_at")
                        .value_as(":id", s(id.as_str()))
                        .value_as(":exp", n(exp.as_secs()));
                    writes.push(pe.update(
                        &self.incidents_table,
                        key_of(dedup_pk(&inc.dedup_key), DEDUP_SK),
                        "REMOVE #active SET #exp = :exp",
                        Some("attribute_not_exists(#active) OR #active = :id"),
                    )?);
                }
            }
            let (tl_set, tl_add) = timeline_append(&mut expr, timeline.len(), entry)?;
            sets.push(tl_set);
            let update = format!("SET {}{}", sets.join(", "), tl_add);
            let cond = "#status = :current AND size(#tl) = :tl_len";
            writes.insert(
                0,
                expr.update(
                    &self.incidents_table,
                    key_of(incident_pk(id), INCIDENT_SK),
                    &update,
                    Some(cond),
                )?,
            );
            match self.write(writes).await? {
                Written::Ok => {
                    inc.status = next;
                    if timeline.len() >= MAX_TIMELINE {
                        inc.timeline_dropped += 1;
                    }
                    return Ok(inc);
                }
                Written::Conflict | Written::Condition { .. } => continue,
            }
        }
        Err(StoreError::Unavailable(format!(
            "{} of {id} kept conflicting after {} attempts",
            action.verb(),
            RETRY.attempts
        )))
    }

    /// Appends `entry` to the timeline, optimistically (the write is conditional on the
    /// timeline's length); with an idempotency key, only if the key is not recorded yet, and
    /// the key's record is written in the same transaction. `Ok(false)`: it was.
    async fn append(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        idempotency_key: Option<&str>,
    ) -> Result<bool, StoreError> {
        for attempt in 0..RETRY.attempts {
            RETRY.pause(attempt).await;
            let Some((_, timeline)) = self.read(id).await? else {
                return Err(StoreError::NotFound(id.clone()));
            };
            let mut expr = Expr::default();
            let (set, add) = timeline_append(&mut expr, timeline.len(), entry)?;
            let mut writes = vec![expr.update(
                &self.incidents_table,
                key_of(incident_pk(id), INCIDENT_SK),
                &format!("SET {set}{add}"),
                Some("size(#tl) = :tl_len"),
            )?];
            if let Some(k) = idempotency_key {
                writes.push(self.idempotency_put(k, id, entry.at)?);
            }
            match self.write(writes).await? {
                Written::Ok => return Ok(true),
                Written::Condition { index: 1, .. } => return Ok(false),
                // The timeline grew in between: read it again.
                Written::Condition { .. } | Written::Conflict => {}
            }
        }
        Err(StoreError::Unavailable(format!(
            "timeline append to {id} kept conflicting after {} attempts",
            RETRY.attempts
        )))
    }

    async fn query_index(
        &self,
        index: &str,
        key_cond: &str,
        expr: Expr,
        page: &PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        let found = self.query_listed(index, key_cond, expr, page).await?;
        Ok(Page {
            items: found.items.into_iter().map(|l| l.incident).collect(),
            next: found.next,
        })
    }

    /// One page of an index, incidents with their timelines (every index projects ALL).
    async fn query_listed(
        &self,
        index: &str,
        key_cond: &str,
        mut expr: Expr,
        page: &PageRequest,
    ) -> Result<Page<Listed>, StoreError> {
        expr.name_as("#exp", "expires_at")
            .value_as(":now", n(page.now.as_secs()));
        let start = page.cursor.as_deref().map(decode_cursor).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.incidents_table)
            .index_name(index)
            .key_condition_expression(key_cond)
            .filter_expression("attribute_not_exists(#exp) OR #exp > :now")
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .scan_index_forward(false)
            .limit(i32::try_from(page.limit.clamp(1, 1000)).unwrap_or(1000))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| decode_incident(i).map(|(incident, timeline)| Listed { incident, timeline }))
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key
            .as_ref()
            .map(encode_cursor)
            .transpose()?;
        Ok(Page { items, next })
    }
}

impl RecordIncidents for DynamoIncidentStore {
    async fn raise(&self, occ: &Occurrence) -> Result<Raised, StoreError> {
        occ.validate()?;
        for attempt in 0..RETRY.attempts {
            RETRY.pause(attempt).await;
            let ptr = self.read_pointer(&occ.dedup_key, occ.at).await?;
            let step = match (ptr.active, occ.tally) {
                (Some(id), Some(t)) => self.add_tally_to(&id, occ, t).await?,
                (Some(id), None) => self.add_to(&id, occ).await?,
                (None, _) => self.open_new(occ, ptr.last).await?,
            };
            if let Step::Done(r) = step {
                return Ok(r);
            }
        }
        Err(StoreError::Unavailable(format!(
            "raise for {} kept conflicting after {} attempts",
            occ.dedup_key, RETRY.attempts
        )))
    }

    async fn append_timeline(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> Result<(), StoreError> {
        self.append(id, entry, None).await.map(drop)
    }

    async fn append_timeline_once(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        idempotency_key: &str,
    ) -> Result<bool, StoreError> {
        self.append(id, entry, Some(idempotency_key)).await
    }

    /// One conditional UpdateItem: the severity and the timeline entry together, only while
    /// the incident is active, less urgent, and its timeline as read (else read again).
    async fn escalate(
        &self,
        id: &IncidentId,
        severity: Severity,
        entry: &TimelineEntry,
    ) -> Result<bool, StoreError> {
        for attempt in 0..RETRY.attempts {
            RETRY.pause(attempt).await;
            let Some((inc, timeline)) = self.read(id).await? else {
                return Err(StoreError::NotFound(id.clone()));
            };
            // Severities are ordered most urgent first.
            if !inc.status.is_active() || severity >= inc.severity {
                return Ok(false);
            }
            let mut expr = Expr::default();
            let (set, add) = timeline_append(&mut expr, timeline.len(), entry)?;
            expr.name_as("#sev", "severity")
                .name_as("#status", "status")
                .value_as(":sev", s(severity.as_str()))
                .value_as(":was", s(inc.severity.as_str()))
                .value_as(":open", s(Status::Open.as_str()))
                .value_as(":ack", s(Status::Acknowledged.as_str()));
            let update = expr.update(
                &self.incidents_table,
                key_of(incident_pk(id), INCIDENT_SK),
                &format!("SET #sev = :sev, {set}{add}"),
                Some("#sev = :was AND #status IN (:open, :ack) AND size(#tl) = :tl_len"),
            )?;
            match self.write(vec![update]).await? {
                Written::Ok => return Ok(true),
                // Changed in between (another escalation, a resolve, a timeline entry).
                Written::Condition { .. } | Written::Conflict => {}
            }
        }
        Err(StoreError::Unavailable(format!(
            "escalating {id} kept conflicting after {} attempts",
            RETRY.attempts
        )))
    }

    async fn acknowledge(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
    ) -> Result<Incident, StoreError> {
        self.transition(id, Transition::Acknowledge, entry, Duration::ZERO)
            .await
    }

    async fn resolve(
        &self,
        id: &IncidentId,
        entry: &TimelineEntry,
        retention: Duration,
    ) -> Result<Incident, StoreError> {
        self.transition(id, Transition::Resolve, entry, retention)
            .await
    }
}

impl ReadIncidents for DynamoIncidentStore {
    async fn get(&self, id: &IncidentId, now: Timestamp) -> Result<Incident, StoreError> {
        self.read_live(id, now).await.map(|(inc, _)| inc)
    }

    async fn active_for_key(&self, key: &DedupKey) -> Result<Option<Incident>, StoreError> {
        let ptr = self.read_pointer(key, Timestamp::EPOCH).await?;
        let Some(id) = ptr.active else {
            return Ok(None);
        };
        Ok(self
            .read(&id)
            .await?
            .map(|(inc, _)| inc)
            .filter(|i| i.status.is_active()))
    }

    async fn list_by_status(
        &self,
        status: Status,
        page: &PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        let mut expr = Expr::default();
        expr.name_as("#status", "status")
            .value_as(":s", s(status.as_str()));
        self.query_index(STATUS_INDEX, "#status = :s", expr, page)
            .await
    }

    async fn list_with_timelines(
        &self,
        status: Status,
        page: &PageRequest,
    ) -> Result<Page<Listed>, StoreError> {
        let mut expr = Expr::default();
        expr.name_as("#status", "status")
            .value_as(":s", s(status.as_str()));
        self.query_listed(STATUS_INDEX, "#status = :s", expr, page)
            .await
    }

    async fn list_by_service(
        &self,
        service: &str,
        range: TimeRange,
        page: &PageRequest,
    ) -> Result<Page<Incident>, StoreError> {
        let mut expr = Expr::default();
        let to = Timestamp::from_millis(range.to.as_millis().saturating_sub(1));
        expr.name_as("#svc", "service")
            .name_as("#fs", "first_seen")
            .value_as(":svc", s(service))
            .value_as(":from", s(range.from.to_rfc3339()))
            .value_as(":to", s(to.to_rfc3339()));
        self.query_index(
            SERVICE_INDEX,
            "#svc = :svc AND #fs BETWEEN :from AND :to",
            expr,
            page,
        )
        .await
    }

    async fn timeline(
        &self,
        id: &IncidentId,
        now: Timestamp,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.read_live(id, now).await.map(|(_, tl)| tl)
    }
}

fn put(table: &str, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
    let p = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .map_err(|e| StoreError::Rejected(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(p).build())
}

/// The expression parts that add `entry` to a timeline of `len` entries: appended while
/// there is room, else written over the last slot with the drop counted.
fn timeline_append(
    expr: &mut Expr,
    len: usize,
    entry: &TimelineEntry,
) -> Result<(String, String), StoreError> {
    expr.name_as("#tl", "timeline").value_as(":tl_len", n(len));
    if len < MAX_TIMELINE {
        expr.value_as(":tl_entry", to_av(&[entry])?);
        Ok(("#tl = list_append(#tl, :tl_entry)".into(), String::new()))
    } else {
        expr.name_as("#dropped", "timeline_dropped")
            .value_as(":one", n(1))
            .value_as(":tl_last", to_av(entry)?);
        Ok((
            format!("#tl[{}] = :tl_last", MAX_TIMELINE - 1),
            " ADD #dropped :one".into(),
        ))
    }
}

fn to_av<T: serde::Serialize + ?Sized>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn incident_item(inc: &Incident, timeline: &[TimelineEntry]) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(inc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert("pk".into(), s(incident_pk(&inc.id)));
    item.insert("sk".into(), s(INCIDENT_SK));
    item.insert("timeline".into(), to_av(timeline)?);
    // TTL needs epoch seconds as a number, not the RFC 3339 text the struct carries.
    match inc.expires_at {
        Some(t) => item.insert("expires_at".into(), n(t.as_secs())),
        None => item.remove("expires_at"),
    };
    Ok(item)
}

/// The incident a stream record's image shows (`aws_lambda_events` hands images over as
/// `serde_dynamo` items), or `None` for an empty image and the table's other items: the one
/// reading of the incident table's stream for every function that consumes it.
pub fn incident_from_stream_image(
    image: &serde_dynamo::Item,
) -> Result<Option<Incident>, StoreError> {
    if image.is_empty() {
        return Ok(None);
    }
    incident_from_image(Item::from(image.clone()))
}

/// The incident an item of the incident table's stream shows (its new or old image), or
/// `None` for the table's other items (dedup pointers) and empty images.
pub fn incident_from_image(item: Item) -> Result<Option<Incident>, StoreError> {
    if item
        .get("sk")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        != Some(INCIDENT_SK)
    {
        return Ok(None);
    }
    decode_incident(item).map(|(inc, _)| Some(inc))
}

fn decode_incident(mut item: Item) -> Result<(Incident, Vec<TimelineEntry>), StoreError> {
    let pk = item
        .remove("pk")
        .and_then(|v| v.as_s().ok().cloned())
        .unwrap_or_default();
    let corrupt = |what: String| StoreError::Corrupt(format!("{pk}: {what}"));
    let expires_at = match item.remove("expires_at") {
        Some(AttributeValue::N(v)) => {
            Some(Timestamp::from_secs(v.parse::<i64>().map_err(|_| {
                corrupt(format!("expires_at {v:?} is not a number"))
            })?))
        }
        _ => None,
    };
    let timeline: Vec<TimelineEntry> = match item.remove("timeline") {
        Some(v) => {
            serde_dynamo::from_attribute_value(v).map_err(|e| corrupt(format!("timeline: {e}")))?
        }
        None => Vec::new(),
    };
    item.remove("sk");
    let mut inc: Incident = serde_dynamo::from_item(item).map_err(|e| corrupt(e.to_string()))?;
    inc.expires_at = expires_at;
    Ok((inc, timeline))
}

/// A page cursor: the query's LastEvaluatedKey (all string attributes) as JSON.
fn encode_cursor(key: &Item) -> Result<String, StoreError> {
    let mut m = serde_json::Map::new();
    for (k, v) in key {
        let v = v
            .as_s()
            .map_err(|_| StoreError::Corrupt(format!("non-string key attribute {k}")))?;
        m.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    Ok(serde_json::Value::Object(m).to_string())
}

fn decode_cursor(c: &str) -> Result<Item, StoreError> {
    let m: HashMap<String, String> =
        serde_json::from_str(c).map_err(|e| StoreError::BadCursor(format!("{c:?}: {e}")))?;
    if m.is_empty() {
        return Err(StoreError::BadCursor(format!("{c:?}: empty")));
    }
    Ok(m.into_iter().map(|(k, v)| (k, s(v))).collect())
}

mod tables {
    //! Creates tables from the template's definitions (local stack and tests).

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::client::Waiters;
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
        TimeToLiveSpecification,
    };

    use super::sdk_error;
    use apptrack_core::store::StoreError;
    use apptrack_core::tables::{self, TableSpec};

    fn key_schema(keys: &[tables::KeyElement]) -> Result<Vec<KeySchemaElement>, StoreError> {
        keys.iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(&k.attribute_name)
                    .key_type(match k.key_type {
                        tables::KeyType::Hash => KeyType::Hash,
                        tables::KeyType::Range => KeyType::Range,
                    })
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))
            })
            .collect()
    }

    /// Creates table `name` as `spec` defines it, with TTL; `Ok(false)` if it already exists.
    pub async fn create_table(
        client: &Client,
        name: &str,
        spec: &TableSpec,
    ) -> Result<bool, StoreError> {
        let attrs = spec
            .attribute_definitions
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(match a.attribute_type {
                        tables::AttributeType::S => ScalarAttributeType::S,
                        tables::AttributeType::N => ScalarAttributeType::N,
                        tables::AttributeType::B => ScalarAttributeType::B,
                    })
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let gsis = spec
            .global_secondary_indexes
            .iter()
            .map(|i| {
                let keys = key_schema(&i.key_schema)?;
                GlobalSecondaryIndex::builder()
                    .index_name(&i.index_name)
                    .set_key_schema(Some(keys))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(
                                i.projection.projection_type.as_str(),
                            ))
                            .set_non_key_attributes(
                                (!i.projection.non_key_attributes.is_empty())
                                    .then(|| i.projection.non_key_attributes.clone()),
                            )
                            .build(),
                    )
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let stream = spec
            .stream_specification
            .as_ref()
            .map(|st| {
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(st.stream_view_type.as_str()))
                    .build()
                    .map_err(|e| StoreError::Rejected(e.to_string()))
            })
            .transpose()?;
        let res = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(attrs))
            .set_key_schema(Some(key_schema(&spec.key_schema)?))
            .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
            .set_stream_specification(stream)
            .send()
            .await;
        match res {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(sdk_error(e, name)),
        }
        client
            .wait_until_table_exists()
            .table_name(name)
            .wait(std::time::Duration::from_secs(120))
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("table {name} did not become active: {e}"))
            })?;
        if let Some(attr) = spec.ttl_attribute() {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(|e| StoreError::Rejected(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| sdk_error(e, name))?;
        }
        Ok(true)
    }

    /// Creates both apptrack tables under the given names; returns which were new.
    pub async fn bootstrap_tables(
        client: &Client,
        incidents: &str,
        state: &str,
    ) -> Result<[(String, bool); 2], StoreError> {
        let (inc_spec, state_spec) =
            tables::apptrack_tables().map_err(|e| StoreError::Rejected(e.to_string()))?;
        let a = create_table(client, incidents, &inc_spec).await?;
        let b = create_table(client, state, &state_spec).await?;
        Ok([(incidents.to_string(), a), (state.to_string(), b)])
    }
}
