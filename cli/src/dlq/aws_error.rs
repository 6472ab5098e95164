//! AWS SDK errors in one readable line, for the per-message report and the error messages.

use apptrack_core::incident::truncate_chars;
// The SQS and Lambda crates re-export the same smithy types; these serve both.
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

/// The service's error code and message (`ResourceNotFoundException: Function not found:
/// ...`); for an answer the SDK could not read as an AWS error, its HTTP status and the start
/// of its body; for any other failure (connection, timeout), the chain of causes.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let SdkError::ServiceError(service) = err else {
        return causes(err);
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

/// `error: cause: cause ...`, each level's own message once.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
