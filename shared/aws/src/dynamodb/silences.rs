//! Silences in DynamoDB (`STATE_TABLE`): one partition, read with one Query (silences are
//! few: a handful at a time), so the notifier reads them once per batch.
//!
//! Item: `pk = SILENCE`, `sk = <silence id>` (a ULID: creation order), the silence's fields
//! (`starts_at`/`ends_at` RFC 3339 text), `expires_at` (TTL, epoch seconds: a day after it
//! ends, so the schedule can still tell the incidents it held).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, key, n, s};
use super::sdk_error;
use apptrack_core::clock::Timestamp;
use apptrack_core::notify::{Silence, SilenceBook};
use apptrack_core::store::StoreError;

const PK: &str = "SILENCE";

/// Silences in `STATE_TABLE`.
#[derive(Debug, Clone)]
pub struct DynamoSilences {
    client: Client,
    table: String,
}

impl DynamoSilences {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        DynamoSilences {
            client,
            table: state_table.into(),
        }
    }
}

fn decode(mut item: Item) -> Result<Silence, StoreError> {
    item.remove("pk");
    item.remove("sk");
    item.remove("expires_at");
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("silence: {e}")))
}

impl SilenceBook for DynamoSilences {
    async fn list(&self) -> Result<Vec<Silence>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(PK))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error(e, &self.table))?;
            for item in page.items().iter().cloned() {
                out.push(decode(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    async fn add(&self, silence: &Silence) -> Result<(), StoreError> {
        let mut item: Item =
            serde_dynamo::to_item(silence).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.extend(key(PK, &silence.id));
        item.insert("expires_at".into(), n(silence.forget_at().as_secs()));
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // The same silence written again (a retried request whose answer was lost).
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                Ok(())
            }
            Err(e) => Err(sdk_error(e, &self.table)),
        }
    }

    async fn expire(&self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let forget = now.saturating_add(apptrack_core::notify::silence::KEEP_ENDED);
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(PK, id)))
            .update_expression("SET ends_at = :now, expires_at = :forget")
            .condition_expression("attribute_exists(pk) AND ends_at > :now")
            .expression_attribute_values(":now", AttributeValue::S(now.to_rfc3339()))
            .expression_attribute_values(":forget", n(forget.as_secs()))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let found = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key(PK, id)))
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, &self.table))?;
                match found.item() {
                    Some(_) => Ok(false),
                    None => Err(StoreError::Rejected(format!("no silence {id}"))),
                }
            }
            Err(e) => Err(sdk_error(e, &self.table)),
        }
    }
}
