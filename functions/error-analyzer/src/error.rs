//! Why an error-analyzer invocation failed: the list of what can fail in it. Kind and
//! retryability come from the failing part (`core::failure`), as in every other function.

use apptrack_core::failure::During;
use apptrack_core::incident::IncidentError;
use apptrack_core::store::StoreError;
use apptrack_core::subscription::DecodeError;

/// Bad payloads never succeed later; counts are idempotent per batch, so a retried store
/// failure never counts twice.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad subscription payload: {0}")]
    BadPayload(#[from] DecodeError),
    #[error(transparent)]
    Store(#[from] During<StoreError>),
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
}

apptrack_core::failure_of_parts!(HandlerError {
    BadPayload,
    Store,
    Identity
});
