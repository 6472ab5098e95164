//! The action ledger in DynamoDB (`STATE_TABLE`): one conditional claim per action key, so
//! duplicate and concurrent deliveries act once (the protocol is `apptrack_core::ledger`'s);
//! and, for alarm-scaler, each group's last scale-out.
//!
//! Items:
//! - action: `pk = <namespace>#<key>` (alarm-scaler: `SCALE#<transition key>`), `sk = CLAIM`,
//!   `state` (claimed, released, done, failed), `token` of the holder, `lease_until` (epoch
//!   ms), `intent` (what the holder set out to do, JSON), `outcome`, `expires_at` (epoch
//!   seconds, TTL);
//! - group: `pk = SCALEOUT#<group>`, `sk = LAST`, `at_ms` of the last scale-out, `expires_at`.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::item::{Item, key, n, number, s, text};
use super::sdk_error;
use apptrack_core::clock::Timestamp;
use apptrack_core::ledger::{ActionLedger, Claim, Completion, DEFAULT_LEASE, LedgerError};
use apptrack_core::scaling::{ScaleOutLog, ScalingError};
use apptrack_core::store::StoreError;

/// Ledger records outlive any redelivery: Lambda retries for at most 6 hours, EventBridge for 24.
const RECORD_TTL: Duration = Duration::from_secs(14 * 86_400);

/// The namespace of alarm-scaler's claims, one per alarm transition.
pub const SCALING_NAMESPACE: &str = "SCALE";

/// The action ledger in DynamoDB. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct DynamoActionLedger {
    client: Client,
    table: String,
    namespace: String,
    lease: Duration,
}

fn expiry(now: Timestamp) -> AttributeValue {
    n(now.saturating_add(RECORD_TTL).as_secs())
}

fn intent_of<I: DeserializeOwned>(item: &Item) -> Result<Option<I>, LedgerError> {
    text(item, "intent")
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| LedgerError::Store(StoreError::Corrupt(format!("recorded intent: {e}"))))
}

/// Runs an update that is allowed to lose its condition; `Ok(false)` when it did.
async fn update_if(
    client: &Client,
    table: &str,
    key: Item,
    expression: &str,
    condition: &str,
    names: &[(&str, &str)],
    values: Vec<(&str, AttributeValue)>,
) -> Result<bool, StoreError> {
    let mut req = client
        .update_item()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .condition_expression(condition);
    for (k, v) in names {
        req = req.expression_attribute_names(*k, *v);
    }
    for (k, v) in values {
        req = req.expression_attribute_values(k, v);
    }
    match req.send().await {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
            Ok(false)
        }
        Err(e) => Err(sdk_error(e, table)),
    }
}

impl DynamoActionLedger {
    /// Claims of one kind of action (`namespace`: `SCALE`, `ROLLBACK`, `NOTIFY`...).
    pub fn new(client: Client, state_table: impl Into<String>, namespace: &str) -> Self {
        DynamoActionLedger {
            client,
            table: state_table.into(),
            namespace: namespace.to_owned(),
            lease: DEFAULT_LEASE,
        }
    }

    /// A ledger whose claims expire after `lease` (tests use a short one).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    fn key_of(&self, action: &str) -> Item {
        key(format!("{}#{action}", self.namespace), "CLAIM")
    }

    async fn update_if(
        &self,
        action: &str,
        expression: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, LedgerError> {
        Ok(update_if(
            &self.client,
            &self.table,
            self.key_of(action),
            expression,
            condition,
            &[("#token", "token"), ("#state", "state")],
            values,
        )
        .await?)
    }
}

impl ActionLedger for DynamoActionLedger {
    async fn claim<I: DeserializeOwned + Send>(
        &self,
        action: &str,
        now: Timestamp,
    ) -> Result<Claim<I>, LedgerError> {
        let token = ulid::Ulid::new().to_string();
        let lease_until = now.saturating_add(self.lease).as_millis();
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key_of(action)))
            .update_expression(
                "SET #state = :claimed, #token = :token, lease_until = :lease, expires_at = :exp",
            )
            // The last clause is this very claim: the SDK resends the request when its
            // answer is lost, and the resent one must not find the claim held elsewhere.
            // (The old item it returns is then this claim's own, which kept the previous
            // holder's intent.)
            .condition_expression(
                "attribute_not_exists(pk) OR #state = :released \
                 OR (#state = :claimed AND lease_until < :now) \
                 OR (#state = :claimed AND #token = :token)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":released", s("released"))
            .expression_attribute_values(":token", s(&token))
            .expression_attribute_values(":lease", n(lease_until))
            .expression_attribute_values(":now", n(now.as_millis()))
            .expression_attribute_values(":exp", expiry(now))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => Ok(Claim::Acquired {
                token,
                prior_intent: match out.attributes.as_ref() {
                    Some(old) => intent_of(old)?,
                    None => None,
                },
            }),
            Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
                let old = match se.into_err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item.unwrap_or_default(),
                    _ => Item::new(),
                };
                let outcome = text(&old, "outcome").unwrap_or_default().to_owned();
                Ok(match text(&old, "state") {
                    Some("done") => Claim::Done { outcome },
                    Some("failed") => Claim::Failed { error: outcome },
                    _ => Claim::HeldElsewhere,
                })
            }
            Err(e) => Err(LedgerError::Store(sdk_error(e, &self.table))),
        }
    }

    async fn record_intent<I: Serialize + Sync>(
        &self,
        action: &str,
        token: &str,
        intent: &I,
    ) -> Result<(), LedgerError> {
        let json = serde_json::to_string(intent)
            .map_err(|e| LedgerError::Store(StoreError::Rejected(format!("intent: {e}"))))?;
        let held = self
            .update_if(
                action,
                "SET intent = :intent",
                "#token = :token AND #state = :claimed",
                vec![
                    (":intent", s(json)),
                    (":token", s(token)),
                    (":claimed", s("claimed")),
                ],
            )
            .await?;
        if held {
            Ok(())
        } else {
            // Our lease ran out and another delivery took over: it must act, not us.
            Err(LedgerError::TakenOver(action.to_owned()))
        }
    }

    async fn complete(
        &self,
        action: &str,
        token: &str,
        completion: &Completion,
        now: Timestamp,
    ) -> Result<(), LedgerError> {
        let (state, outcome) = match completion {
            Completion::Done(o) => ("done", o),
            Completion::Failed(o) => ("failed", o),
        };
        let held = self
            .update_if(
                action,
                "SET #state = :state, outcome = :outcome, done_at = :now, expires_at = :exp \
                 REMOVE lease_until",
                "#token = :token",
                vec![
                    (":state", s(state)),
                    (":outcome", s(outcome.as_str())),
                    (":now", n(now.as_millis())),
                    (":exp", expiry(now)),
                    (":token", s(token)),
                ],
            )
            .await?;
        if !held {
            tracing::warn!(
                action,
                "claim was taken over before completion; its new holder completes it"
            );
        }
        Ok(())
    }

    async fn release(&self, action: &str, token: &str) -> Result<(), LedgerError> {
        // A lost condition means someone already took the claim over: nothing to give up.
        self.update_if(
            action,
            "SET #state = :released REMOVE lease_until",
            "#token = :token AND #state = :claimed",
            vec![
                (":released", s("released")),
                (":claimed", s("claimed")),
                (":token", s(token)),
            ],
        )
        .await
        .map(|_| ())
    }
}

/// Each group's last scale-out by apptrack, in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoScaleOuts {
    client: Client,
    table: String,
}

impl DynamoScaleOuts {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        DynamoScaleOuts {
            client,
            table: state_table.into(),
        }
    }
}

fn group_key(group: &str) -> Item {
    key(format!("SCALEOUT#{group}"), "LAST")
}

impl ScaleOutLog for DynamoScaleOuts {
    async fn last_scale_out(&self, group: &str) -> Result<Option<Timestamp>, ScalingError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(group_key(group)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ScalingError::Ledger(sdk_error(e, &self.table)))?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| number(i, "at_ms"))
            .map(Timestamp::from_millis))
    }

    async fn record_scale_out(&self, group: &str, at: Timestamp) -> Result<(), ScalingError> {
        update_if(
            &self.client,
            &self.table,
            group_key(group),
            "SET at_ms = :at, expires_at = :exp",
            "attribute_not_exists(at_ms) OR at_ms < :at",
            &[],
            vec![(":at", n(at.as_millis())), (":exp", expiry(at))],
        )
        .await
        .map(|_| ())
        .map_err(ScalingError::Ledger)
    }
}
