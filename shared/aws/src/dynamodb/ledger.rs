//! The scaling ledger in DynamoDB (`STATE_TABLE`): one conditional claim per alarm
//! transition, so duplicate and concurrent deliveries act once, and each group's last scale-out.
//!
//! Items:
//! - transition: `pk = SCALE#<transition key>`, `sk = CLAIM`, `state` (claimed, released,
//!   done, failed), `token` of the holder, `lease_until` (epoch ms), `intent_from`/`intent_to`/`intent_detail`,
//!   `outcome`, `expires_at` (epoch seconds, TTL);
//! - group: `pk = SCALEOUT#<group>`, `sk = LAST`, `at_ms` of the last scale-out, `expires_at`.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::item::{Item, key, n, number, s, text};
use super::sdk_error;
use apptrack_core::clock::Timestamp;
use apptrack_core::scaling::{Claim, Completion, Intent, ScalingError, ScalingLedger};

/// Ledger records outlive any redelivery: Lambda retries for at most 6 hours, EventBridge for 24.
const RECORD_TTL: Duration = Duration::from_secs(14 * 86_400);
pub use apptrack_core::scaling::DEFAULT_LEASE;

/// The ledger in DynamoDB. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct DynamoScalingLedger {
    client: Client,
    table: String,
    lease: Duration,
}

fn transition_key(transition: &str) -> Item {
    key(format!("SCALE#{transition}"), "CLAIM")
}

fn group_key(group: &str) -> Item {
    key(format!("SCALEOUT#{group}"), "LAST")
}

fn intent_of(item: &Item) -> Option<Intent> {
    let from = i32::try_from(number(item, "intent_from")?).ok()?;
    let to = i32::try_from(number(item, "intent_to")?).ok()?;
    let detail = match text(item, "intent_detail") {
        Some(d) => d.to_owned(),
        // Written before intents carried their detail.
        None => format!("from {from} to {to}"),
    };
    Some(Intent { from, to, detail })
}

fn expiry(now: Timestamp) -> AttributeValue {
    n(now.saturating_add(RECORD_TTL).as_secs())
}

impl DynamoScalingLedger {
    pub fn new(client: Client, state_table: impl Into<String>) -> Self {
        DynamoScalingLedger {
            client,
            table: state_table.into(),
            lease: DEFAULT_LEASE,
        }
    }

    /// A ledger whose claims expire after `lease` (tests use a short one).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    fn err<E, R>(&self, e: SdkError<E, R>) -> ScalingError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        ScalingError::Ledger(sdk_error(e, &self.table))
    }

    /// Runs an update that is allowed to lose its condition; `Ok(false)` when it did.
    async fn update_if(
        &self,
        key: Item,
        expression: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, ScalingError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
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
            Err(e) => Err(self.err(e)),
        }
    }
}

impl ScalingLedger for DynamoScalingLedger {
    async fn claim(&self, transition: &str, now: Timestamp) -> Result<Claim, ScalingError> {
        let token = ulid::Ulid::new().to_string();
        let lease_until = now.saturating_add(self.lease).as_millis();
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(transition_key(transition)))
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
                prior_intent: out.attributes.as_ref().and_then(intent_of),
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
            Err(e) => Err(self.err(e)),
        }
    }

    async fn record_intent(
        &self,
        transition: &str,
        token: &str,
        intent: &Intent,
    ) -> Result<(), ScalingError> {
        let held = self
            .update_if(
                transition_key(transition),
                "SET intent_from = :from, intent_to = :to, intent_detail = :detail",
                "#token = :token AND #state = :claimed",
                &[("#token", "token"), ("#state", "state")],
                vec![
                    (":from", n(intent.from)),
                    (":to", n(intent.to)),
                    (":detail", s(intent.detail.as_str())),
                    (":token", s(token)),
                    (":claimed", s("claimed")),
                ],
            )
            .await?;
        if held {
            Ok(())
        } else {
            // Our lease ran out and another delivery took over: it must act, not us.
            Err(ScalingError::Unavailable(format!(
                "the claim on {transition} was taken over before the change was made"
            )))
        }
    }

    async fn complete(
        &self,
        transition: &str,
        token: &str,
        completion: &Completion,
        now: Timestamp,
    ) -> Result<(), ScalingError> {
        let (state, outcome) = match completion {
            Completion::Done(o) => ("done", o),
            Completion::Failed(o) => ("failed", o),
        };
        let held = self
            .update_if(
                transition_key(transition),
                "SET #state = :state, outcome = :outcome, done_at = :now, expires_at = :exp \
                 REMOVE lease_until",
                "#token = :token",
                &[("#token", "token"), ("#state", "state")],
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
                transition,
                "claim was taken over before completion; its new holder completes it"
            );
        }
        Ok(())
    }

    async fn release(&self, transition: &str, token: &str) -> Result<(), ScalingError> {
        // A lost condition means someone already took the claim over: nothing to give up.
        self.update_if(
            transition_key(transition),
            "SET #state = :released REMOVE lease_until",
            "#token = :token AND #state = :claimed",
            &[("#token", "token"), ("#state", "state")],
            vec![
                (":released", s("released")),
                (":claimed", s("claimed")),
                (":token", s(token)),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn last_scale_out(&self, group: &str) -> Result<Option<Timestamp>, ScalingError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(group_key(group)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| number(i, "at_ms"))
            .map(Timestamp::from_millis))
    }

    async fn record_scale_out(&self, group: &str, at: Timestamp) -> Result<(), ScalingError> {
        self.update_if(
            group_key(group),
            "SET at_ms = :at, expires_at = :exp",
            "attribute_not_exists(at_ms) OR at_ms < :at",
            &[],
            vec![(":at", n(at.as_millis())), (":exp", expiry(at))],
        )
        .await
        .map(|_| ())
    }
}
