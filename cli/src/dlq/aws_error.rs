//! AWS SDK errors in one readable line, for the per-message report and the error messages.

use apptrack_core::incident::truncate_chars;
// The SQS and Lambda crates re-export the same smithy types; these serve both.
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The service's error code and message (`ResourceNotFoundException: Function not found:
/// ...`); for an answer the SDK could not read as an AWS error, its HTTP status and the start
/// of its body; for any other failure (connection, timeout), the SDK's own description.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let SdkError::ServiceError(service) = err else {
        return DisplayErrorContext(err).to_string();
    };
    let e = service.err();
    if let Some(code) = e.code() {
        return match e.message() {
            Some(message) => format!("{code}: {message}"),
            None => code.to_owned(),
        };
    }
    let raw = service.raw();
    let body = raw
        .body()
        .bytes()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    format!(
        "HTTP {}: {}",
        raw.status().as_u16(),
        truncate_chars(body.trim(), 400)
    )
}
