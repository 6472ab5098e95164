//! Why a login-guard invocation failed: the list of what can fail in it. Kind and
//! retryability come from the failing part (`core::failure`), as in every other function.

use apptrack_core::failure::{During, Own};
use apptrack_core::incident::IncidentError;
use apptrack_core::store::StoreError;
use apptrack_core::subscription::DecodeError;

/// Retrying is always safe: every count is conditioned on the batch fingerprint and every
/// incident write has an idempotency key.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad log subscription payload: {0}")]
    BadPayload(#[from] DecodeError),
    #[error(transparent)]
    Store(#[from] During<StoreError>),
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
    /// Concurrent invocations kept changing the account (`Retryable.Contended`).
    #[error(transparent)]
    Own(#[from] Own),
}

apptrack_core::failure_of_parts!(HandlerError {
    BadPayload,
    Store,
    Identity,
    Own
});

/// Concurrent invocations kept changing the account; the retry will find it settled.
pub(crate) fn contended(account: &str) -> HandlerError {
    HandlerError::Own(Own {
        kind: "Contended",
        retryable: true,
        message: format!("lock of {account} kept conflicting with concurrent updates"),
    })
}
