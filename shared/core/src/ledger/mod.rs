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
