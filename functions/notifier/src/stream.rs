//! The incident table's stream: each record is one write to an incident (its image before
//! and after); the domain says what, if anything, people hear about it.

use apptrack_aws::dynamodb::incidents::incident_from_stream_image;
use apptrack_core::clock::{Clock, Timestamp};
use apptrack_core::failure::{Failure, during};
use apptrack_core::incident::Incident;
use apptrack_core::ledger::ActionLedger;
use apptrack_core::notify::{Publisher, Silence, SilenceBook, from_change};
use apptrack_core::store::{IncidentStore, StoreError};
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use serde::Deserialize;
use serde_json::Value;

use crate::error::bad_event;
use crate::handler::{HandlerError, Notifier};
use crate::outcome::{ItemFailure, Outcome};

/// What one record tells: the incident before and after, and when it was written.
struct Change {
    old: Option<Incident>,
    new: Incident,
    at: Timestamp,
}

/// The change a record shows; `None` for a write people do not hear about (a removal, a
/// dedup pointer).
fn read(record: &EventRecord, now: Timestamp) -> Result<Option<Change>, StoreError> {
    if record.event_name == "REMOVE" {
        return Ok(None);
    }
    let Some(new) = incident_from_stream_image(&record.change.new_image)? else {
        return Ok(None);
    };
    let old = incident_from_stream_image(&record.change.old_image)?;
    let ms = record
        .change
        .approximate_creation_date_time
        .timestamp_millis();
    let at = if ms > 0 {
        Timestamp::from_millis(ms)
    } else {
        now
    };
    Ok(Some(Change { old, new, at }))
}

impl<P: Publisher, S: IncidentStore, B: SilenceBook, L: ActionLedger, K: Clock>
    Notifier<P, S, B, L, K>
{
    pub(crate) async fn stream(&self, event: &Value) -> Result<Outcome, HandlerError> {
        let batch = Event::deserialize(event)
            .map_err(|e| bad_event(format!("not a DynamoDB stream batch: {e}")))?;
        let mut outcome = Outcome::default();
        // Read once per batch, and only when a record notifies.
        let mut silences: Option<Vec<Silence>> = None;
        for (i, record) in batch.records.iter().enumerate() {
            match self.record(record, &mut silences, &mut outcome).await {
                Ok(()) => {}
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, event_id = %record.event_id, "retrying from this record");
                    outcome.batch_item_failures = batch.records[i..]
                        .iter()
                        .map(|r| ItemFailure {
                            item_identifier: r
                                .change
                                .sequence_number
                                .clone()
                                .unwrap_or_else(|| r.event_id.clone()),
                        })
                        .collect();
                    return Ok(outcome);
                }
                // Retrying cannot help (a message SNS refuses): it is logged and in the
                // ledger as failed; the incident itself is recorded.
                Err(e) => {
                    tracing::error!(error = %e, event_id = %record.event_id, "not notified");
                    outcome.unreadable.push(format!("{}: {e}", record.event_id));
                }
            }
        }
        Ok(outcome)
    }

    async fn record(
        &self,
        record: &EventRecord,
        silences: &mut Option<Vec<Silence>>,
        outcome: &mut Outcome,
    ) -> Result<(), HandlerError> {
        let (old, new, at) = match read(record, self.clock.now()) {
            Ok(Some(Change { old, new, at })) => (old, new, at),
            Ok(None) => {
                outcome.quiet += 1;
                return Ok(());
            }
            Err(e) => {
                tracing::error!(error = %e, event_id = %record.event_id, "unreadable stream record");
                outcome.unreadable.push(format!("{}: {e}", record.event_id));
                return Ok(());
            }
        };
        let Some(notice) = from_change(old.as_ref(), &new, at, &self.settings.policy) else {
            outcome.quiet += 1;
            return Ok(());
        };
        if silences.is_none() {
            let listed = self
                .silences
                .list()
                .await
                .map_err(during("reading the silences"))?;
            *silences = Some(listed);
        }
        let notified = self
            .deliver(&notice, silences.as_deref().unwrap_or_default())
            .await?;
        outcome.notified.push(notified);
        Ok(())
    }
}
