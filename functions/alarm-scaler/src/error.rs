//! Why an alarm-scaler invocation failed: the list of what can fail in it. Kind and
//! retryability come from the failing part (`core::failure`), as in every other function.

use apptrack_core::alarm::AlarmEventError;
use apptrack_core::failure::{During, Own};
use apptrack_core::incident::IncidentError;
use apptrack_core::scaling::ScalingError;
use apptrack_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad alarm event: {0}")]
    BadEvent(#[from] AlarmEventError),
    #[error(transparent)]
    Scaling(#[from] During<ScalingError>),
    #[error(transparent)]
    Store(#[from] During<StoreError>),
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
    /// An earlier delivery of this transition failed permanently (`Permanent.FailedEarlier`).
    #[error(transparent)]
    Own(#[from] Own),
}

apptrack_core::failure_of_parts!(HandlerError {
    BadEvent,
    Scaling,
    Store,
    Identity,
    Own
});

/// An earlier delivery of this transition failed permanently; this one would too.
pub(crate) fn failed_earlier(error: String) -> HandlerError {
    HandlerError::Own(Own {
        kind: "FailedEarlier",
        retryable: false,
        message: format!("this alarm transition already failed: {error}"),
    })
}
