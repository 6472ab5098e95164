//! Why a notifier invocation failed. Kind and retryability come from the failing part
//! (`core::failure`), as in every other function.

use apptrack_core::failure::{During, Own};
use apptrack_core::notify::NotifyError;
use apptrack_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Not a DynamoDB stream batch nor the schedule's event.
    #[error(transparent)]
    BadEvent(#[from] Own),
    #[error(transparent)]
    Store(#[from] During<StoreError>),
    /// SNS or the notification ledger.
    #[error(transparent)]
    Notify(#[from] During<NotifyError>),
}

apptrack_core::failure_of_parts!(HandlerError {
    BadEvent,
    Store,
    Notify
});

pub(crate) fn bad_event(message: String) -> HandlerError {
    HandlerError::BadEvent(Own {
        kind: "BadEvent",
        retryable: false,
        message,
    })
}
