//! Raising by tally (`Occurrence::tally`): the incident's count follows a running total, in
//! one plain conditional update per report, so concurrent reports of a busy problem queue
//! on the item instead of cancelling one another's transactions, and a repeated report
//! changes nothing without an idempotency record.
//!
//! The item keeps `tally` (the total taken in, with its counter's `since`) and, for the
//! update to compute the count by itself, `tally_base` = total - count.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{DynamoIncidentStore, INCIDENT_SK, Step, Written, incident_pk, to_av};
use crate::dynamodb::item::{Expr, Item, key as key_of, n, number, s};
use apptrack_core::clock::Timestamp;
use apptrack_core::incident::{IncidentId, Occurrence, RaiseKind, Raised, Status, Tally};
use apptrack_core::store::StoreError;

pub(super) const BASE: &str = "tally_base";

/// The tally an item has taken in, if any.
pub(super) fn tally_of(item: &Item) -> Option<Tally> {
    serde_dynamo::from_attribute_value(item.get("tally")?.clone()).ok()
}

/// `tally_base` for an incident written whole.
pub(super) fn base(tally: &Tally, count: u64) -> AttributeValue {
    n(i128::from(tally.total) - i128::from(count))
}

impl DynamoIncidentStore {
    /// Adds what the occurrence's tally brings to the active incident `id`.
    pub(super) async fn add_tally_to(
        &self,
        id: &IncidentId,
        occ: &Occurrence,
        t: Tally,
    ) -> Result<Step<Raised>, StoreError> {
        // First try to move last_seen forward too, as an occurrence with a count does.
        for move_last_seen in [true, false] {
            let mut expr = Expr::default();
            self.tally_names(&mut expr, &t)?;
            expr.name_as("#base", BASE);
            let mut update = "SET #count = :total - #base, #tally = :tally".to_string();
            let mut cond = "#status IN (:open, :ack) AND #tally.#since = :since \
                            AND #tally.#total < :total"
                .to_string();
            if move_last_seen {
                expr.name_as("#last_seen", "last_seen")
                    .value_as(":at", s(occ.at.to_rfc3339()));
                update.push_str(", #last_seen = :at");
                cond.push_str(" AND #last_seen <= :at");
            }
            let w = expr.update(
                &self.incidents_table,
                key_of(incident_pk(id), INCIDENT_SK),
                &update,
                Some(&cond),
            )?;
            match self.write(vec![w]).await? {
                Written::Ok => {
                    // As a counted occurrence does: a late report still dates the start.
                    if !move_last_seen {
                        self.move_first_seen_back(id, occ.at).await?;
                    }
                    return self.updated(id, occ).await;
                }
                Written::Conflict => return Ok(Step::Retry),
                Written::Condition { old, .. } => {
                    let old = old.unwrap_or_default();
                    let active = old
                        .get("status")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|v| v.parse::<Status>().ok())
                        .is_some_and(Status::is_active);
                    if !active {
                        // Resolved (or gone) since the pointer was read: start over.
                        return Ok(Step::Retry);
                    }
                    match tally_of(&old) {
                        Some(seen) if seen.since == t.since => {
                            if t.news_since(Some(&seen)) == 0 {
                                return Ok(Step::Done(Raised {
                                    id: id.clone(),
                                    kind: RaiseKind::Duplicate,
                                }));
                            }
                            // Only last_seen stood in the way: the next pass leaves it.
                        }
                        // No tally yet, or a new counter: everything it says is news.
                        _ => return self.restart_tally(id, occ, t, &old).await,
                    }
                }
            }
        }
        Ok(Step::Retry)
    }

    /// Moves an incident onto a new counter: its count grows by the whole total, written
    /// against the count read, so a concurrent report makes this one start over.
    async fn restart_tally(
        &self,
        id: &IncidentId,
        occ: &Occurrence,
        t: Tally,
        old: &Item,
    ) -> Result<Step<Raised>, StoreError> {
        let count = number(old, "count")
            .and_then(|c| u64::try_from(c).ok())
            .unwrap_or(0);
        let next = count.saturating_add(t.total);
        let last_seen = old
            .get("last_seen")
            .and_then(|v| v.as_s().ok())
            .and_then(|v| Timestamp::parse(v).ok())
            .map_or(occ.at, |l| l.max(occ.at));
        let mut expr = Expr::default();
        self.tally_names(&mut expr, &t)?;
        expr.name_as("#base", BASE)
            .name_as("#last_seen", "last_seen")
            .value_as(":count", n(count))
            .value_as(":next", n(next))
            .value_as(":base", base(&t, next))
            .value_as(":at", s(last_seen.to_rfc3339()));
        let w = expr.update(
            &self.incidents_table,
            key_of(incident_pk(id), INCIDENT_SK),
            "SET #count = :next, #tally = :tally, #base = :base, #last_seen = :at",
            Some("#status IN (:open, :ack) AND #count = :count"),
        )?;
        match self.write(vec![w]).await? {
            Written::Ok => self.updated(id, occ).await,
            Written::Conflict | Written::Condition { .. } => Ok(Step::Retry),
        }
    }

    /// The tally a resolved incident `id` had taken in, for the regression that follows it.
    pub(super) async fn tally_taken_in(
        &self,
        id: &IncidentId,
    ) -> Result<Option<Tally>, StoreError> {
        Ok(self.read(id).await?.and_then(|(inc, _)| inc.tally))
    }

    fn tally_names(&self, expr: &mut Expr, t: &Tally) -> Result<(), StoreError> {
        expr.name_as("#count", "count")
            .name_as("#status", "status")
            .name_as("#tally", "tally")
            .name_as("#since", "since")
            .name_as("#total", "total")
            .value_as(":tally", to_av(t)?)
            .value_as(":since", to_av(&t.since)?)
            .value_as(":total", n(t.total))
            .value_as(":open", s(Status::Open.as_str()))
            .value_as(":ack", s(Status::Acknowledged.as_str()));
        Ok(())
    }
}
