//! The DynamoDB adapters: incidents (`INCIDENTS_TABLE`), and in `STATE_TABLE` the error
//! counts and template registry, the login counters and locks, and the action ledger. `item` holds the helpers
//! every adapter builds items with.

pub mod client;
pub mod deployments;
pub mod error_counts;
pub mod forecasts;
pub mod guard;
pub mod incidents;
pub mod item;
pub mod ledger;
pub mod silences;
pub mod templates;

pub use client::{client, retry_conflicts};
pub use error_counts::DynamoErrorCounts;
pub use guard::DynamoGuardStore;
pub use incidents::{DynamoIncidentStore, bootstrap_tables, create_table, sdk_error};
pub use ledger::{DynamoActionLedger, DynamoScaleOuts};
pub use templates::DynamoTemplateRegistry;

use apptrack_core::store::StoreError;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::CancellationReason;

/// A conditional update's answer: `Ok(true)` when it was written, `Ok(false)` when its
/// condition failed (the caller says what that means: already applied, superseded, ...).
pub(crate) fn condition_held<T, R: std::fmt::Debug>(
    res: Result<T, SdkError<UpdateItemError, R>>,
    table: &str,
) -> Result<bool, StoreError> {
    match res {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(se)) if se.err().is_conditional_check_failed_exception() => {
            Ok(false)
        }
        Err(e) => Err(sdk_error(e, table)),
    }
}

/// Why DynamoDB cancelled a transaction, read the same way by every adapter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cancelled {
    /// The condition of item `index` failed; `item` is its old image when it was asked for.
    Condition {
        index: usize,
        item: Option<item::Item>,
    },
    /// Contention (another transaction on the same items, throttling) or no reason given:
    /// trying again can succeed. Real DynamoDB cancels conflicting transactions at once.
    Contention,
    /// Anything else (a validation error, an item too large): the same request fails again.
    Rejected(String),
}

/// Reads a `TransactionCanceledException`'s reasons, one per item of the transaction.
pub(crate) fn cancelled(reasons: &[CancellationReason]) -> Cancelled {
    if let Some((index, r)) = reasons
        .iter()
        .enumerate()
        .find(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
    {
        return Cancelled::Condition {
            index,
            item: r.item().cloned(),
        };
    }
    let contention = reasons.iter().all(|r| {
        matches!(
            r.code(),
            None | Some(
                "None"
                    | "TransactionConflict"
                    | "ThrottlingError"
                    | "ProvisionedThroughputExceeded"
            )
        )
    });
    if contention {
        Cancelled::Contention
    } else {
        let codes: Vec<_> = reasons.iter().filter_map(|r| r.code()).collect();
        Cancelled::Rejected(format!("transaction cancelled: {codes:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .collect()
    }

    #[test]
    fn every_adapter_reads_a_cancellation_the_same_way() {
        assert_eq!(cancelled(&[]), Cancelled::Contention);
        assert_eq!(
            cancelled(&reasons(&["None", "TransactionConflict"])),
            Cancelled::Contention
        );
        assert_eq!(
            cancelled(&reasons(&["None", "ConditionalCheckFailed"])),
            Cancelled::Condition {
                index: 1,
                item: None
            }
        );
        assert!(matches!(
            cancelled(&reasons(&["ValidationError", "TransactionConflict"])),
            Cancelled::Rejected(m) if m.contains("ValidationError")
        ));
    }
}
