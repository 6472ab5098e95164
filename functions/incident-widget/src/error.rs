//! Why an incident-widget invocation failed. Kind and retryability come from the failing part
//! (`core::failure`), as in every other function.

use apptrack_core::failure::During;
use apptrack_core::store::StoreError;
use apptrack_core::view::WidgetRequestError;

/// A bad call never succeeds later; a store outage may.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Request(#[from] WidgetRequestError),
    #[error(transparent)]
    Store(#[from] During<StoreError>),
}

apptrack_core::failure_of_parts!(HandlerError { Request, Store });
