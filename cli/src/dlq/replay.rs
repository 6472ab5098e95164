//! Replaying one event: a synchronous (`RequestResponse`) Lambda invocation whose answer says
//! whether the function succeeded this time.

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::config::interceptors::InterceptorContext;
use aws_sdk_lambda::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::Value;
use serde_json::value::RawValue;

use super::aws_error::describe;
use super::record::FunctionError;

/// Why a replay did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The function ran and failed again.
    #[error("the function failed again: {0}")]
    Function(FunctionError),
    /// The Invoke call itself failed (permissions, unknown function, throttling, network).
    #[error("invoking the function failed: {0}")]
    Invoke(String),
}

/// The Lambda client replays go through: the SDK's configuration and retries, except that a
/// function error is never retried (see [`NoRetryOnFunctionError`]).
pub fn client(conf: &aws_config::SdkConfig) -> aws_sdk_lambda::Client {
    let conf = aws_sdk_lambda::config::Builder::from(conf)
        .retry_classifier(NoRetryOnFunctionError)
        .build();
    aws_sdk_lambda::Client::from_conf(conf)
}

/// A local Invoke API (`cargo lambda watch`) answers a function error with HTTP 500, which
/// the SDK would retry as a server fault, running the event again for nothing. Such an answer
/// is the function's own: not retried. (Lambda itself answers a function error with 200.)
#[derive(Debug)]
struct NoRetryOnFunctionError;

impl ClassifyRetry for NoRetryOnFunctionError {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response().and_then(function_error_answer) {
            Some(_) => RetryAction::RetryForbidden,
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "NoRetryOnFunctionError"
    }
}

/// Invokes `function` (name, ARN or qualified ARN) with `payload` and waits for its answer.
pub async fn replay(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    payload: &RawValue,
) -> Result<(), ReplayError> {
    let sent = lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(payload.get().as_bytes()))
        .send()
        .await;
    match sent {
        // Lambda answers a function error with 200, the `X-Amz-Function-Error` header
        // (`Handled` / `Unhandled`) and the error as the payload.
        Ok(out) => match out.function_error() {
            None => Ok(()),
            Some(kind) => {
                let body = out.payload().map(Blob::as_ref).unwrap_or_default();
                Err(ReplayError::Function(error_from_payload(kind, body)))
            }
        },
        // A local Invoke API answers it with 500 instead; anything else is the call's own
        // failure.
        Err(err) => match err.raw_response().and_then(function_error_answer) {
            Some(e) => Err(ReplayError::Function(e)),
            None => Err(ReplayError::Invoke(describe(&err))),
        },
    }
}

/// The function error in a server-error answer, the way a local Invoke API (`cargo lambda
/// watch`) reports one: HTTP 500 with `{"errorType", "errorMessage"}` as the body.
fn function_error_answer(response: &HttpResponse) -> Option<FunctionError> {
    if !response.status().is_server_error() {
        return None;
    }
    response.body().bytes().and_then(function_error_in)
}

/// The function error in a body of the shape `{"errorType", "errorMessage", ...}`.
fn function_error_in(body: &[u8]) -> Option<FunctionError> {
    let v: Value = serde_json::from_slice(body).ok()?;
    FunctionError::from_json(&v)
}

/// The error a failed invocation returned: `{"errorType", "errorMessage"}` when the payload
/// has that shape, else the `X-Amz-Function-Error` kind with the payload as the message.
fn error_from_payload(kind: &str, payload: &[u8]) -> FunctionError {
    function_error_in(payload).unwrap_or_else(|| FunctionError {
        error_type: kind.to_owned(),
        message: String::from_utf8_lossy(payload).trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_error_payload_gives_its_type_and_message() {
        let e = error_from_payload(
            "Handled",
            br#"{"errorType":"Permanent.BadPayload","errorMessage":"not gzip","stackTrace":[]}"#,
        );
        assert_eq!(e.to_string(), "Permanent.BadPayload: not gzip");
    }

    #[test]
    fn a_payload_of_another_shape_is_reported_under_the_error_kind() {
        let e = error_from_payload("Unhandled", b"RequestId: 1 Error: Runtime exited\n");
        assert_eq!(e.error_type, "Unhandled");
        assert_eq!(e.message, "RequestId: 1 Error: Runtime exited");
    }
}
