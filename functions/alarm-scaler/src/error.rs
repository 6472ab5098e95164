//! Why an alarm-scaler invocation failed, in the one vocabulary of `Failure`.

use apptrack_core::alarm::AlarmEventError;
use apptrack_core::failure::Failure;
use apptrack_core::incident::IncidentError;
use apptrack_core::scaling::ScalingError;
use apptrack_core::store::StoreError;

/// Why an invocation failed; each variant says whether Lambda should retry it.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad alarm event: {0}")]
    BadEvent(#[from] AlarmEventError),
    #[error("{context}: {source}")]
    Scaling {
        context: String,
        source: ScalingError,
    },
    #[error("{context}: {source}")]
    Store { context: String, source: StoreError },
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
    /// An earlier delivery of this transition failed permanently; this one would too.
    #[error("this alarm transition already failed: {0}")]
    FailedEarlier(String),
}

impl HandlerError {
    pub(crate) fn scaling(context: impl Into<String>) -> impl FnOnce(ScalingError) -> Self {
        let context = context.into();
        move |source| HandlerError::Scaling { context, source }
    }

    pub(crate) fn store(context: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        let context = context.into();
        move |source| HandlerError::Store { context, source }
    }
}

impl Failure for HandlerError {
    fn kind(&self) -> &'static str {
        match self {
            HandlerError::BadEvent(e) => e.kind(),
            HandlerError::Identity(e) => e.kind(),
            HandlerError::FailedEarlier(_) => "FailedEarlier",
            HandlerError::Scaling { source, .. } => source.kind(),
            HandlerError::Store { source, .. } => source.kind(),
        }
    }
    fn is_retryable(&self) -> bool {
        match self {
            HandlerError::Scaling { source, .. } => source.is_retryable(),
            HandlerError::Store { source, .. } => source.is_retryable(),
            HandlerError::BadEvent(_)
            | HandlerError::Identity(_)
            | HandlerError::FailedEarlier(_) => false,
        }
    }
}
