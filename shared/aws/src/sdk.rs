//! SDK errors, classified once for every adapter: whether a retry can help, and what to tell
//! the operator. Each port's error type is built from this classification.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[cfg(any(
    feature = "cloudwatch",
    feature = "autoscaling",
    feature = "lambda",
    feature = "codedeploy"
))]
use apptrack_core::scaling::ScalingError;
#[cfg(feature = "dynamodb")]
use apptrack_core::store::StoreError;

#[cfg(any(
    feature = "cloudwatch",
    feature = "autoscaling",
    feature = "lambda",
    feature = "codedeploy"
))]
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
                | "LimitExceeded"
                | "TooManyRequestsException"
                | "ServiceException"
                | "ResourceConflictException",
            ) => ScalingError::Unavailable(text),
            _ => ScalingError::Rejected(text),
        },
        _ if text.to_ascii_lowercase().contains("credentials") => ScalingError::AccessDenied(text),
        _ => ScalingError::Unavailable(text),
    }
}

#[cfg(feature = "sns")]
/// Maps an SNS SDK error to a notification error.
pub fn notify_error<E, R>(err: SdkError<E, R>, topic: &str) -> apptrack_core::notify::NotifyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use apptrack_core::notify::NotifyError;
    let text = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(se) => match se.err().code() {
            Some("NotFound" | "NotFoundException") => NotifyError::TopicNotFound(topic.to_owned()),
            Some(
                "AuthorizationError"
                | "AccessDenied"
                | "AccessDeniedException"
                | "KMSAccessDenied"
                | "KMSDisabled"
                | "KMSInvalidState"
                | "KMSNotFound"
                | "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "ExpiredToken"
                | "SignatureDoesNotMatch",
            ) => NotifyError::AccessDenied(text),
            Some(
                "Throttled"
                | "Throttling"
                | "ThrottlingException"
                | "KMSThrottling"
                | "InternalError"
                | "InternalFailure"
                | "ServiceUnavailable",
            ) => NotifyError::Unavailable(text),
            _ => NotifyError::Rejected(text),
        },
        _ if text.to_ascii_lowercase().contains("credentials") => NotifyError::AccessDenied(text),
        _ => NotifyError::Unavailable(text),
    }
}

#[cfg(feature = "dynamodb")]
/// Maps an SDK error to a store error that says whether a retry can help.
pub fn store_error<E, R>(err: SdkError<E, R>, table: &str) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = readable(&DisplayErrorContext(&err).to_string());
    match &err {
        SdkError::ServiceError(se) => match se.err().code() {
            Some("ResourceNotFoundException") => StoreError::TableMissing {
                table: table.to_string(),
            },
            Some(
                "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "MissingAuthenticationTokenException"
                | "ExpiredTokenException",
            ) => StoreError::AccessDenied(text),
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "TransactionConflictException"
                | "TransactionInProgressException",
            ) => StoreError::Unavailable(text),
            _ => StoreError::Rejected(text),
        },
        _ if text.contains("no credentials") || text.contains("CredentialsNotLoaded") => {
            StoreError::NoCredentials(
                "none found in the AWS configuration chain (environment, profile, web identity, \
                 container, instance metadata)"
                    .to_string(),
            )
        }
        _ => StoreError::Unavailable(text),
    }
}

#[cfg(feature = "dynamodb")]
/// The SDK's error chain without the Debug dump it appends in parentheses.
fn readable(text: &str) -> String {
    let variants = [
        " (ServiceError(",
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ConstructionFailure(",
    ];
    let cut = variants
        .iter()
        .filter_map(|v| text.find(v))
        .min()
        .unwrap_or(text.len());
    text[..cut].to_string()
}
