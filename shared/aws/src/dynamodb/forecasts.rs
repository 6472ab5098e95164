//! The forecast episodes' run counts in DynamoDB (`STATE_TABLE`): one item per episode,
//! counted with one conditional update per run, so a redelivered schedule event counts once.
//!
//! Item: `pk = FORECAST#<alarm>`, `sk = EPISODE#<incident id>`, `last_slot` (epoch ms of the
//! last counted run), `calm_runs`, `earliest_s` (the last run's earliest exhaustion, seconds),
//! `expires_at` (TTL).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::item::{Item, key, millis, n, number};
use super::sdk_error;
use apptrack_core::clock::Timestamp;
use apptrack_core::forecast::{EpisodeLog, EpisodeRun};
use apptrack_core::incident::IncidentId;
use apptrack_core::store::StoreError;

/// An episode's record outlives the episode by a month (long enough to read it back).
const RECORD_TTL: Duration = Duration::from_secs(30 * 86_400);

/// Episode run counts in `STATE_TABLE`.
#[derive(Debug, Clone)]
pub struct DynamoEpisodes {
    client: Client,
    table: String,
}

impl DynamoEpisodes {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        DynamoEpisodes {
            client,
            table: state_table.into(),
        }
    }
}

fn calm_runs(item: Option<&Item>) -> u32 {
    item.and_then(|i| number(i, "calm_runs"))
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0)
}

fn earliest(item: Option<&Item>) -> Option<u64> {
    item.and_then(|i| number(i, "earliest_s"))
        .and_then(|s| u64::try_from(s).ok())
}

impl EpisodeLog for DynamoEpisodes {
    async fn count_run(
        &self,
        alarm: &str,
        episode: &IncidentId,
        slot: Timestamp,
        calm: bool,
        earliest_s: Option<u64>,
    ) -> Result<EpisodeRun, StoreError> {
        let calm_update = if calm {
            "calm_runs = if_not_exists(calm_runs, :zero) + :one"
        } else {
            "calm_runs = :zero"
        };
        let mut update = format!("SET last_slot = :slot, expires_at = :exp, {calm_update}");
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("FORECAST#{alarm}"),
                format!("EPISODE#{episode}"),
            )))
            .condition_expression("attribute_not_exists(last_slot) OR last_slot < :slot")
            .expression_attribute_values(":slot", millis(slot))
            .expression_attribute_values(":exp", n(slot.saturating_add(RECORD_TTL).as_secs()))
            .expression_attribute_values(":zero", n(0))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if calm {
            req = req.expression_attribute_values(":one", n(1));
        }
        match earliest_s {
            Some(e) => {
                update.push_str(", earliest_s = :e");
                req = req.expression_attribute_values(":e", n(e));
            }
            None => update.push_str(" REMOVE earliest_s"),
        }
        match req.update_expression(update).send().await {
            Ok(out) => {
                let old = out.attributes();
                Ok(EpisodeRun {
                    calm_runs: if calm { calm_runs(old) + 1 } else { 0 },
                    previous_earliest_s: earliest(old),
                    counted: true,
                })
            }
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let now = match se.into_err() {
                    UpdateItemError::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                };
                Ok(EpisodeRun {
                    calm_runs: calm_runs(now.as_ref()),
                    previous_earliest_s: earliest(now.as_ref()),
                    counted: false,
                })
            }
            Err(e) => Err(sdk_error(e, &self.table)),
        }
    }
}
