//! apptrack-lambda: the contract every apptrack function's entry point follows: JSON logs,
//! the Lambda loop, and failures reported with a stable `Retryable.<Kind>` / `Permanent.<Kind>`.
//!
//! A function implements [`Function`] on the struct `main` builds once (ports, clock,
//! settings) and hands it to [`serve`]; logging each invocation and mapping its error to
//! Lambda's `errorType` happen here, the same way for every function.

pub mod telemetry;

use std::future::Future;
use std::pin::Pin;

use apptrack_core::failure::Failure;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

pub use telemetry::init_json_logs;

/// One Lambda function: what it does with one event.
pub trait Function: Send + Sync {
    /// What an invocation returns (and logs).
    type Output: Serialize;
    /// Why it failed; its kind and retryability become the `errorType`.
    type Error: Failure;

    /// Handles one event, as Lambda delivered it.
    fn handle(
        &self,
        event: &Value,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// Runs the Lambda loop until the runtime stops, serving each event with `function`.
pub async fn serve<F: Function>(function: &F) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        // Boxed: the runtime's future would otherwise nest every handler's whole state
        // machine, past the compiler's layout depth for the larger functions.
        let handling: Pin<Box<dyn Future<Output = _> + Send + '_>> =
            Box::pin(function.handle(&event.payload));
        report(&event.context.request_id, handling.await)
    }))
    .await
}

/// How much of an invocation's outcome its log line keeps.
pub const MAX_LOGGED_OUTCOME_BYTES: usize = 4_096;

/// Logs an invocation's outcome or failure, and turns the failure into Lambda's diagnostic.
pub fn report<T: Serialize, E: Failure>(
    request_id: &str,
    result: Result<T, E>,
) -> Result<T, Diagnostic> {
    match result {
        Ok(output) => {
            let outcome = serde_json::to_string(&output).unwrap_or_default();
            // A widget's page can be hundreds of KB; the log keeps its start and its size.
            let logged = apptrack_core::text::prefix_within(&outcome, MAX_LOGGED_OUTCOME_BYTES);
            tracing::info!(request_id, outcome = %logged, outcome_bytes = outcome.len(), "handled");
            Ok(output)
        }
        Err(e) => {
            let diagnostic = diagnostic(&e);
            tracing::error!(
                request_id,
                retryable = e.is_retryable(),
                error_type = %diagnostic.error_type,
                error = %diagnostic.error_message,
                "failed"
            );
            Err(diagnostic)
        }
    }
}

/// The `errorType` and message Lambda reports (and on-failure destinations receive).
pub fn diagnostic<E: Failure>(e: &E) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type(),
        error_message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apptrack_core::store::StoreError;

    #[test]
    fn a_failure_is_reported_with_its_class_and_kind() {
        let r: Result<(), _> = report("req-1", Err(StoreError::Unavailable("throttled".into())));
        let d = r.expect_err("a failure");
        assert_eq!(d.error_type, "Retryable.Unavailable");
        assert!(d.error_message.contains("throttled"), "{}", d.error_message);
    }
}
