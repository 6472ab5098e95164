//! The one error vocabulary of apptrack's handlers: every failure says whether a retry can
//! help and names a stable kind, reported to Lambda as `Retryable.<Kind>` / `Permanent.<Kind>`.
//!
//! Each error type a port or decoder returns implements [`Failure`] once, here or beside it,
//! so the same bad input or the same outage gets the same `errorType` from every function.

/// An error a handler can report: its kind and whether the same event may succeed later.
pub trait Failure: std::error::Error {
    /// The stable kind, CamelCase (`InvalidGzip`, `Unavailable`, `BadEvent`).
    fn kind(&self) -> &'static str;

    /// Whether the same event may succeed later (throttling, an outage, contention).
    fn is_retryable(&self) -> bool;

    /// `Retryable.<Kind>` or `Permanent.<Kind>`: what Lambda reports as the `errorType`.
    fn error_type(&self) -> String {
        error_type(self.is_retryable(), self.kind())
    }
}

/// A part's failure, and what the handler was doing when it happened.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct During<E> {
    pub context: String,
    #[source]
    pub source: E,
}

/// `.map_err(during("reading batch 42"))?`: the part's error with its context; the kind and
/// retryability stay the part's.
pub fn during<E>(context: impl Into<String>) -> impl FnOnce(E) -> During<E> {
    let context = context.into();
    move |source| During { context, source }
}

impl<E: Failure + 'static> Failure for During<E> {
    fn kind(&self) -> &'static str {
        self.source.kind()
    }
    fn is_retryable(&self) -> bool {
        self.source.is_retryable()
    }
}

/// A failure that is the handler's own (no part failed): its kind, whether a retry helps,
/// and what to tell the operator.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Own {
    pub kind: &'static str,
    pub retryable: bool,
    pub message: String,
}

impl Failure for Own {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// Implements [`Failure`] for an enum whose every variant wraps one failing part, by asking
/// the part: a handler's error is then only the list of what can fail in it.
#[macro_export]
macro_rules! failure_of_parts {
    ($ty:ident { $($variant:ident),+ $(,)? }) => {
        impl $crate::failure::Failure for $ty {
            fn kind(&self) -> &'static str {
                match self {
                    $($ty::$variant(e) => $crate::failure::Failure::kind(e),)+
                }
            }
            fn is_retryable(&self) -> bool {
                match self {
                    $($ty::$variant(e) => $crate::failure::Failure::is_retryable(e),)+
                }
            }
        }
    };
}

/// `Retryable.<kind>` when the same event may succeed later, `Permanent.<kind>` otherwise.
pub fn error_type(retryable: bool, kind: &str) -> String {
    let class = if retryable { "Retryable" } else { "Permanent" };
    format!("{class}.{kind}")
}

impl Failure for crate::settings::SettingsError {
    fn kind(&self) -> &'static str {
        "BadSettings"
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

impl Failure for crate::incident::IncidentError {
    fn kind(&self) -> &'static str {
        "BadIdentity"
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

impl Failure for crate::store::StoreError {
    fn kind(&self) -> &'static str {
        use crate::store::StoreError as E;
        match self {
            E::NotFound(_) => "NotFound",
            E::Invalid(_) => "BadIdentity",
            E::TableMissing { .. } => "TableMissing",
            E::AccessDenied(_) | E::NoCredentials(_) => "AccessDenied",
            E::Unavailable(_) => "Unavailable",
            E::Rejected(_) => "Rejected",
            E::Corrupt(_) => "Corrupt",
            E::BadCursor(_) => "BadCursor",
        }
    }
    fn is_retryable(&self) -> bool {
        crate::store::StoreError::is_retryable(self)
    }
}

impl Failure for crate::scaling::ScalingError {
    fn kind(&self) -> &'static str {
        use crate::scaling::ScalingError as E;
        match self {
            E::GroupNotFound(_) => "GroupNotFound",
            E::AccessDenied(_) => "AccessDenied",
            E::Rejected(_) => "Rejected",
            E::Unavailable(_) => "Unavailable",
            // The ledger is storage: its failures read as every other store failure.
            E::Ledger(e) => e.kind(),
        }
    }
    fn is_retryable(&self) -> bool {
        crate::scaling::ScalingError::is_retryable(self)
    }
}

/// Bad payloads stay bad: a retry cannot help, so callers count and drop them.
impl Failure for crate::subscription::DecodeError {
    fn kind(&self) -> &'static str {
        use crate::subscription::DecodeError as E;
        match self {
            E::NotJson { .. } => "NotJson",
            E::MissingField(_) => "MissingField",
            E::InvalidBase64 { .. } => "InvalidBase64",
            E::InvalidGzip { .. } => "InvalidGzip",
            E::TooLarge { .. } => "TooLarge",
            E::InvalidBatchJson { .. } => "InvalidBatchJson",
            E::WrongType { .. } => "WrongType",
            E::UnsupportedMessage(_) => "UnsupportedMessage",
        }
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

/// A call the incident widget cannot answer stays unanswerable.
impl Failure for crate::view::WidgetRequestError {
    fn kind(&self) -> &'static str {
        use crate::view::WidgetRequestError as E;
        match self {
            E::NotAWidgetEvent(_) => "BadEvent",
            E::BadParam { .. } => "BadParam",
        }
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

impl Failure for crate::alarm::AlarmEventError {
    fn kind(&self) -> &'static str {
        "BadEvent"
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use crate::subscription::DecodeError;

    #[test]
    fn names_the_class_and_kind() {
        assert_eq!(error_type(true, "Store"), "Retryable.Store");
        assert_eq!(error_type(false, "BadPayload"), "Permanent.BadPayload");
    }

    #[test]
    fn a_failure_of_storage_reads_the_same_through_every_port() {
        let store = StoreError::Unavailable("throttled".into());
        assert_eq!(store.error_type(), "Retryable.Unavailable");
        let ledger = crate::scaling::ScalingError::Ledger(StoreError::Unavailable("x".into()));
        assert_eq!(ledger.error_type(), "Retryable.Unavailable");
        let gzip = DecodeError::InvalidGzip { reason: "x".into() };
        assert_eq!(gzip.error_type(), "Permanent.InvalidGzip");
    }
}
