//! The template registry in DynamoDB (`STATE_TABLE`): per service, one item per frame with the
//! templates seen and the merges learned, written only under a condition on its version.
//!
//! Items (with `expires_at`, epoch seconds, for TTL):
//! - frame: `pk = ERRTEMPLATES#<service>#<frame hash>`, `sk = FRAME`; `version` (number) and
//!   `record` (the templates and merges as JSON). Kept the pattern memory after its last
//!   write; a read in the last half of that time refreshes it, so a frame in use never
//!   expires and costs at most one refresh per half memory.
//! - decision: `pk = ERRBATCH#<batch id>`, `sk = TEMPLATES`; `renames` (JSON), written if
//!   absent and returned as stored, so two attempts of one batch use one decision. Kept
//!   [`BATCH_TTL`] like the batch's other records.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use super::condition_held;
use super::error_counts::{BATCH_TTL, DEFAULT_PATTERN_MEMORY};
use super::item::{key, n, number, s, text};
use super::sdk_error;
use apptrack_core::clock::Timestamp;
use apptrack_core::pattern::{FrameKey, FrameRecord, Rename, TemplateRegistry};
use apptrack_core::store::StoreError;

/// The registry over one client and table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoTemplateRegistry {
    client: Client,
    table: String,
    memory: Duration,
}

fn esc(part: &str) -> String {
    part.replace('%', "%25").replace('#', "%23")
}

fn frame_pk(k: &FrameKey) -> String {
    format!("ERRTEMPLATES#{}#{}", esc(&k.service), k.frame)
}

fn decision_pk(batch: &str) -> String {
    format!("ERRBATCH#{batch}")
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

impl DynamoTemplateRegistry {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        DynamoTemplateRegistry {
            client,
            table: state_table.into(),
            memory: DEFAULT_PATTERN_MEMORY,
        }
    }

    /// How long a frame record lives after its last write (the pattern memory).
    pub fn with_memory(mut self, d: Duration) -> Self {
        self.memory = d;
        self
    }

    fn expiry(&self, now: Timestamp) -> i64 {
        now.saturating_add(self.memory).as_secs()
    }
}

impl TemplateRegistry for DynamoTemplateRegistry {
    async fn read_frame(&self, k: &FrameKey, now: Timestamp) -> Result<FrameRecord, StoreError> {
        let res = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(frame_pk(k), "FRAME")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(e, &self.table))?;
        let Some(item) = res.item else {
            return Ok(FrameRecord::default());
        };
        let mut record: FrameRecord = serde_json::from_str(text(&item, "record").unwrap_or("{}"))
            .map_err(|e| corrupt("template registry record", e))?;
        record.version = number(&item, "version").unwrap_or(0).max(0) as u64;
        let half = (self.memory.as_secs() / 2) as i64;
        if number(&item, "expires_at").is_some_and(|exp| exp - now.as_secs() < half) {
            // Only the expiry moves: the version (and so every writer's condition) stays.
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(frame_pk(k), "FRAME")))
                .update_expression("SET #exp = :exp")
                .condition_expression("attribute_exists(#v)")
                .expression_attribute_names("#exp", "expires_at")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":exp", n(self.expiry(now)))
                .send()
                .await;
            condition_held(res, &self.table)?;
        }
        Ok(record)
    }

    async fn write_frame(
        &self,
        k: &FrameKey,
        expected: u64,
        next: &FrameRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_string(&FrameRecord {
            version: 0,
            ..next.clone()
        })
        .map_err(|e| corrupt("template registry record", e))?;
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(frame_pk(k), "FRAME")))
            .update_expression("SET #v = :next, #r = :r, #svc = :svc, #exp = :exp")
            .expression_attribute_names("#v", "version")
            .expression_attribute_names("#r", "record")
            .expression_attribute_names("#svc", "service")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":next", n(next.version))
            .expression_attribute_values(":r", s(body))
            .expression_attribute_values(":svc", s(&k.service))
            .expression_attribute_values(":exp", n(self.expiry(now)));
        req = if expected == 0 {
            req.condition_expression("attribute_not_exists(#v)")
        } else {
            req.condition_expression("#v = :expected")
                .expression_attribute_values(":expected", n(expected))
        };
        condition_held(req.send().await, &self.table)
    }

    async fn read_decision(&self, batch: &str) -> Result<Option<Vec<Rename>>, StoreError> {
        let res = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(decision_pk(batch), "TEMPLATES")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(e, &self.table))?;
        res.item
            .map(|item| {
                serde_json::from_str(text(&item, "renames").unwrap_or("[]"))
                    .map_err(|e| corrupt("batch template decision", e))
            })
            .transpose()
    }

    async fn keep_decision(
        &self,
        batch: &str,
        renames: &[Rename],
        now: Timestamp,
    ) -> Result<Vec<Rename>, StoreError> {
        let body =
            serde_json::to_string(renames).map_err(|e| corrupt("batch template decision", e))?;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(decision_pk(batch), "TEMPLATES")))
            .update_expression("SET #r = if_not_exists(#r, :r), #exp = if_not_exists(#exp, :exp)")
            .expression_attribute_names("#r", "renames")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":r", s(body))
            .expression_attribute_values(":exp", n(now.saturating_add(BATCH_TTL).as_secs()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error(e, &self.table))?;
        let stored = res
            .attributes
            .as_ref()
            .and_then(|a| text(a, "renames"))
            .unwrap_or("[]");
        serde_json::from_str(stored).map_err(|e| corrupt("batch template decision", e))
    }
}
