//! SDK errors, classified once for every adapter: whether a retry can help, and what to tell
//! the operator. Each port's error type is built from this classification.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[cfg(any(feature = "cloudwatch", feature = "autoscaling"))]
use apptrack_core::scaling::ScalingError;

#[cfg(any(feature = "cloudwatch", feature = "autoscaling"))]
/// Maps a CloudWatch or Auto Scaling SDK error to a scaling error.
pub fn scaling_error<E, R>(err: SdkError<E, R>) -> ScalingError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(se) => match se.err().code() {
            Some(
                "AccessDenied"
                | "AccessDeniedException"
                | "UnauthorizedOperation"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch"
                | "MissingAuthenticationToken"
                | "ExpiredToken"
                | "ExpiredTokenException",
            ) => ScalingError::AccessDenied(text),
            Some(
                "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "ResourceContention"
                | "ScalingActivityInProgress"
                | "ServiceUnavailable"
                | "InternalFailure"
                | "InternalServiceError"
                | "InternalServiceFault"
                | "LimitExceeded",
            ) => ScalingError::Unavailable(text),
            _ => ScalingError::Rejected(text),
        },
        _ if text.to_ascii_lowercase().contains("credentials") => ScalingError::AccessDenied(text),
        _ => ScalingError::Unavailable(text),
    }
}
