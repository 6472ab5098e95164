//! Why a capacity-forecast run failed. Kind and retryability come from the failing part
//! (`core::failure`), as in every other function.

use apptrack_core::failure::{During, Own};
use apptrack_core::incident::IncidentError;
use apptrack_core::scaling::ScalingError;
use apptrack_core::store::StoreError;

/// A run is idempotent per schedule period, so a retried failure never counts twice.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    BadEvent(Own),
    #[error(transparent)]
    Store(#[from] During<StoreError>),
    /// CloudWatch or Auto Scaling.
    #[error(transparent)]
    Aws(#[from] During<ScalingError>),
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
    /// Some targets failed retryably; the others were done (the retry redoes nothing twice).
    #[error(transparent)]
    Partly(Own),
}

apptrack_core::failure_of_parts!(HandlerError {
    BadEvent,
    Store,
    Aws,
    Identity,
    Partly
});
