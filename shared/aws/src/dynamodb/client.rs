//! The DynamoDB client every function and the CLI use: the SDK's own, plus one retry rule the
//! SDK lacks. Real DynamoDB answers a single-item write (`PutItem`, `UpdateItem`, `DeleteItem`)
//! with `TransactionConflictException` while a transaction holds the item; the SDK's standard
//! classifiers do not know that code, so without this rule the first conflict on a hot key
//! (`ERRCOUNT#<service>#ALL`, an account's counter) failed the whole invocation. The rule
//! makes it a transient error, retried with the client's backoff and attempts like a throttle.
//!
//! Attempts: [`ATTEMPTS`] unless `AWS_MAX_ATTEMPTS` says otherwise. The SDK's default of 3
//! is low for DynamoDB (AWS's Java SDK v1 retried DynamoDB 10 times): a batch of a busy
//! service makes about 200 writes, so at 20 % throttling 3 attempts leave a failed write
//! (and a Lambda retry that makes the same writes) in 4 of 5 invocations; 8 leave one in
//! about 2,000 (arithmetic: 200 × 0.2^8). The retry mode and backoff stay the configuration's.

use std::fmt;
use std::marker::PhantomData;

use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction, RetryConfig};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::{Client, config};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;

use crate::SdkConfig;

/// The error code DynamoDB gives a single-item write that met a running transaction.
pub const CONFLICT_CODE: &str = "TransactionConflictException";

/// Attempts per DynamoDB request when `AWS_MAX_ATTEMPTS` is not set.
pub const ATTEMPTS: u32 = 8;

/// A client built from `sdk` with [`retry_conflicts`] and [`attempts`].
pub fn client(sdk: &SdkConfig) -> Client {
    let retry = sdk
        .retry_config()
        .cloned()
        .unwrap_or_else(RetryConfig::standard)
        .with_max_attempts(attempts(std::env::var("AWS_MAX_ATTEMPTS").ok().as_deref()));
    Client::from_conf(
        retry_conflicts(config::Builder::from(sdk))
            .retry_config(retry)
            .build(),
    )
}

/// The attempts per request: `AWS_MAX_ATTEMPTS` when it is a positive number (aws-config
/// reports a bad value itself), else [`ATTEMPTS`].
pub fn attempts(env: Option<&str>) -> u32 {
    env.and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(ATTEMPTS)
}

/// Adds the conflict rule to a client configuration (tests build theirs with it too, so they
/// exercise the same retries as the functions).
pub fn retry_conflicts(builder: config::Builder) -> config::Builder {
    builder
        .retry_classifier(ConflictIsTransient::<PutItemError>::new())
        .retry_classifier(ConflictIsTransient::<UpdateItemError>::new())
        .retry_classifier(ConflictIsTransient::<DeleteItemError>::new())
}

/// Classifies operation error `E` with code [`CONFLICT_CODE`] as transient; says nothing about
/// any other answer (the SDK's classifiers decide those), nor about other operations' errors.
struct ConflictIsTransient<E>(PhantomData<fn() -> E>);

impl<E> ConflictIsTransient<E> {
    fn new() -> Self {
        ConflictIsTransient(PhantomData)
    }
}

impl<E> fmt::Debug for ConflictIsTransient<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConflictIsTransient")
    }
}

impl<E> ClassifyRetry for ConflictIsTransient<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let code = ctx
            .output_or_error()
            .and_then(|r| r.err())
            .and_then(OrchestratorError::as_operation_error)
            .and_then(|e| e.downcast_ref::<E>())
            .and_then(|e| e.code());
        if code == Some(CONFLICT_CODE) {
            RetryAction::transient_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "apptrack: TransactionConflictException is transient"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
    use aws_sdk_dynamodb::types::error::TransactionConflictException;
    use aws_smithy_runtime_api::client::interceptors::context::{Error, Input};

    fn answered(err: PutItemError) -> InterceptorContext {
        let mut ctx = InterceptorContext::new(Input::doesnt_matter());
        ctx.set_output_or_error(Err(OrchestratorError::operation(Error::erase(err))));
        ctx
    }

    fn conflict() -> PutItemError {
        PutItemError::TransactionConflictException(
            TransactionConflictException::builder()
                .message("Transaction is ongoing for the item")
                .meta(
                    aws_sdk_dynamodb::error::ErrorMetadata::builder()
                        .code(CONFLICT_CODE)
                        .build(),
                )
                .build(),
        )
    }

    #[test]
    fn a_conflict_on_a_single_item_write_is_retried() {
        let c = ConflictIsTransient::<PutItemError>::new();
        assert_eq!(
            c.classify_retry(&answered(conflict())),
            RetryAction::transient_error()
        );
    }

    #[test]
    fn other_answers_and_other_operations_are_left_to_the_sdk() {
        let c = ConflictIsTransient::<PutItemError>::new();
        let other = PutItemError::generic(
            aws_sdk_dynamodb::error::ErrorMetadata::builder()
                .code("ValidationException")
                .build(),
        );
        assert_eq!(
            c.classify_retry(&answered(other)),
            RetryAction::NoActionIndicated
        );
        let update = ConflictIsTransient::<UpdateItemError>::new();
        assert_eq!(
            update.classify_retry(&answered(conflict())),
            RetryAction::NoActionIndicated,
            "a PutItem error is not an UpdateItem error"
        );
    }

    #[test]
    fn attempts_are_eight_unless_the_environment_says_otherwise() {
        assert_eq!(attempts(None), ATTEMPTS);
        assert_eq!(attempts(Some("3")), 3);
        assert_eq!(attempts(Some("0")), ATTEMPTS);
        assert_eq!(attempts(Some("many")), ATTEMPTS);
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let set = std::env::var("AWS_MAX_ATTEMPTS").ok();
        let conf = client(&sdk).config().retry_config().cloned();
        assert_eq!(
            conf.map(|r| r.max_attempts()),
            Some(attempts(set.as_deref()))
        );
    }

    #[test]
    fn every_single_item_write_gets_the_rule() {
        let conf = retry_conflicts(config::Builder::new()).build();
        assert_eq!(conf.retry_classifiers().count(), 3);
    }
}
