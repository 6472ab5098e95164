//! Why a deploy-guard invocation failed. Kind and retryability come from the failing part
//! (`core::failure`), as in every other function.

use apptrack_core::deploy::DeployEventError;
use apptrack_core::failure::During;
use apptrack_core::incident::IncidentError;
use apptrack_core::ledger::LedgerError;
use apptrack_core::scaling::ScalingError;
use apptrack_core::store::StoreError;

/// A bad event never succeeds later; recording is idempotent, so a retried store failure
/// never records twice.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad deployment event: {0}")]
    BadEvent(#[from] DeployEventError),
    #[error(transparent)]
    Store(#[from] During<StoreError>),
    #[error(transparent)]
    /// CloudWatch or Lambda.
    Aws(#[from] During<ScalingError>),
    #[error("incident identity: {0}")]
    Identity(#[from] IncidentError),
}

/// The rollback ledger's failures are the rollback's: retried like an AWS outage.
impl From<LedgerError> for HandlerError {
    fn from(e: LedgerError) -> Self {
        HandlerError::Aws(apptrack_core::failure::during("the rollback ledger")(
            ScalingError::from(e),
        ))
    }
}

apptrack_core::failure_of_parts!(HandlerError {
    BadEvent,
    Store,
    Aws,
    Identity
});
