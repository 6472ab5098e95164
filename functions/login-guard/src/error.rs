//! Why a login-guard invocation failed, in the one vocabulary of `Failure`.

use apptrack_core::failure::Failure;
use apptrack_core::incident::IncidentError;
use apptrack_core::store::StoreError;
use apptrack_core::subscription::DecodeError;

/// Why an invocation failed; the kind and retryability come from the failing part, so the
/// same bad payload or outage reads the same as in every other function.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad log subscription payload: {0}")]
    BadPayload(#[from] DecodeError),
    #[error("{context}: {source}")]
    Store { context: String, source: StoreError },
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
    /// Concurrent invocations kept changing the account; the retry will find it settled.
    #[error("lock of {0} kept conflicting with concurrent updates")]
    Contended(String),
}

impl HandlerError {
    pub(crate) fn store(context: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        let context = context.into();
        move |source| HandlerError::Store { context, source }
    }
}

/// Retrying is always safe: every count is conditioned on the batch fingerprint and every
/// incident write has an idempotency key.
impl Failure for HandlerError {
    fn kind(&self) -> &'static str {
        match self {
            HandlerError::BadPayload(e) => e.kind(),
            HandlerError::Store { source, .. } => source.kind(),
            HandlerError::Identity(e) => e.kind(),
            HandlerError::Contended(_) => "Contended",
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::BadPayload(e) => e.is_retryable(),
            HandlerError::Store { source, .. } => source.is_retryable(),
            HandlerError::Identity(e) => e.is_retryable(),
            HandlerError::Contended(_) => true,
        }
    }
}
