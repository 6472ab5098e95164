//! Why an error-analyzer invocation failed, in the one vocabulary of `Failure`.

use apptrack_core::failure::Failure;
use apptrack_core::incident::IncidentError;
use apptrack_core::store::StoreError;
use apptrack_core::subscription::DecodeError;

/// Why an invocation failed; the kind and retryability come from the failing part, so the
/// same bad payload or outage reads the same as in every other function.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad subscription payload: {0}")]
    BadPayload(#[from] DecodeError),
    #[error("{context}: {source}")]
    Store { context: String, source: StoreError },
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
}

impl HandlerError {
    pub(crate) fn store(context: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        let context = context.into();
        move |source| HandlerError::Store { context, source }
    }
}

/// Bad payloads never succeed later; counts are idempotent per batch, so a retried store
/// failure never counts twice.
impl Failure for HandlerError {
    fn kind(&self) -> &'static str {
        match self {
            HandlerError::BadPayload(e) => e.kind(),
            HandlerError::Store { source, .. } => source.kind(),
            HandlerError::Identity(e) => e.kind(),
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::BadPayload(e) => e.is_retryable(),
            HandlerError::Store { source, .. } => source.is_retryable(),
            HandlerError::Identity(e) => e.is_retryable(),
        }
    }
}
