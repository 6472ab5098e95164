//! Exactly-once actions: a claim with a lease per action key, so that duplicate and concurrent
//! deliveries of one event (an alarm transition, a rollback, a notification) act once.
//!
//! The protocol every user follows:
//! 1. [`ActionLedger::claim`] the action's key. Exactly one delivery gets [`Claim::Acquired`];
//!    the others see it held, done or failed. A claim whose lease ran out (its holder died)
//!    is taken over together with the intent the holder recorded.
//! 2. Before acting, [`ActionLedger::record_intent`]: what the holder is about to do, so a
//!    successor can tell whether it already happened (and record it instead of repeating it).
//! 3. After acting, [`ActionLedger::complete`] with the outcome; on a retryable failure,
//!    [`ActionLedger::release`] so Lambda's retry can act without waiting for the lease.
//!
//! The claim accepts its own token, so a request the SDK resends after a lost answer does not
//! find the claim "held elsewhere". Notes written under a claim use idempotency keys
//! ([`note_key`]) so a retry that repeats a step writes nothing twice.
//!
//! Adapters: `apptrack_aws::dynamodb::ledger` (`STATE_TABLE`) and [`memory`] (unit tests).

pub mod memory;

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::Timestamp;
use crate::store::StoreError;

/// How long a claim holder may take before a retry may take the claim over. It must exceed
/// the function timeout (30 s in the template) and stay under Lambda's first retry delay (~1 min).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(45);

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The holder's lease ran out and another delivery took the claim over: that one acts.
    #[error("the claim on {0} was taken over by another delivery")]
    TakenOver(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer to a claim on an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim<I> {
    /// This delivery holds the action and must act (or release it). `prior_intent` is what
    /// an earlier, failed holder set out to do.
    Acquired {
        token: String,
        prior_intent: Option<I>,
    },
    /// Another delivery holds a live claim; it (or its retry) acts.
    HeldElsewhere,
    /// The action was done; `outcome` says how.
    Done { outcome: String },
    /// The action failed permanently; repeating it would fail the same way.
    Failed { error: String },
}

/// How a claim ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Done(String),
    Failed(String),
}

/// Per-action claims. `I` is what a holder records before acting (any serializable value).
pub trait ActionLedger: Send + Sync {
    fn claim<I: DeserializeOwned + Send>(
        &self,
        key: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Claim<I>, LedgerError>> + Send;

    /// Records what is about to be done (only while `token` holds the claim).
    fn record_intent<I: Serialize + Sync>(
        &self,
        key: &str,
        token: &str,
        intent: &I,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Closes the claim for good.
    fn complete(
        &self,
        key: &str,
        token: &str,
        completion: &Completion,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Gives the claim up so a retry can act; the recorded intent is kept.
    fn release(
        &self,
        key: &str,
        token: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

/// The idempotency key of a timeline note written under the claim on `key`.
pub fn note_key(key: &str, action: &str) -> String {
    format!("{key}:{action}")
}

/// How an action claimed with [`once`] stands for this delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled<T> {
    /// This delivery held the claim and acted; `T` is what the act returned.
    Acted(T),
    /// Another delivery holds a live claim on it.
    HeldElsewhere,
    /// It was done before; the recorded outcome.
    Done(String),
    /// It failed for good before; the recorded error.
    Failed(String),
}

/// The whole protocol around one act: claim `key`, record `intent`, `act` (handed the
/// intent an earlier holder recorded, so it can tell whether the act already happened),
/// then complete with the act's outcome text. A retryable failure of the act releases the
/// claim so a retry can act at once; a permanent one closes it as failed. Either way the
/// act's error is returned.
pub async fn once<L, I, T, E, F, Fut>(
    ledger: &L,
    key: &str,
    now: Timestamp,
    intent: &I,
    act: F,
) -> Result<Settled<T>, E>
where
    L: ActionLedger,
    I: Serialize + DeserializeOwned + Send + Sync,
    E: From<LedgerError> + crate::failure::Failure,
    F: FnOnce(Option<I>) -> Fut,
    Fut: Future<Output = Result<(T, String), E>>,
{
    let (token, prior) = match ledger.claim::<I>(key, now).await? {
        Claim::Acquired {
            token,
            prior_intent,
        } => (token, prior_intent),
        Claim::HeldElsewhere => return Ok(Settled::HeldElsewhere),
        Claim::Done { outcome } => return Ok(Settled::Done(outcome)),
        Claim::Failed { error } => return Ok(Settled::Failed(error)),
    };
    ledger.record_intent(key, &token, intent).await?;
    match act(prior).await {
        Ok((value, outcome)) => {
            ledger
                .complete(key, &token, &Completion::Done(outcome), now)
                .await?;
            Ok(Settled::Acted(value))
        }
        Err(e) if e.is_retryable() => {
            if let Err(re) = ledger.release(key, &token).await {
                tracing::warn!(key, error = %re, "could not release the claim; its lease runs out");
            }
            Err(e)
        }
        Err(e) => {
            let failed = Completion::Failed(e.to_string());
            if let Err(ce) = ledger.complete(key, &token, &failed, now).await {
                tracing::warn!(key, error = %ce, "could not record the failure; a retry tries again");
            }
            Err(e)
        }
    }
}
