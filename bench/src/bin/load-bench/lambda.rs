//! Lambda as the load test models it: instances that each hold their own handler and
//! DynamoDB client, released together, and the retries Lambda makes of a failed asynchronous
//! invocation (log subscriptions invoke asynchronously).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apptrack_core::failure::Failure;
use apptrack_lambda::Function;
use apptrack_tests::proxy::{DynamoError, Fault, Proxy};
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Barrier;

/// How Lambda retries a failed asynchronous invocation.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// Retries after the first attempt (Lambda's `MaximumRetryAttempts`, 0 to 2, default 2).
    pub retries: u32,
    /// The pause before each retry. Lambda waits about one minute, then two; the bench waits
    /// far less, so its retries meet more of the other instances' traffic than real ones would.
    pub pause: Duration,
}

/// Which DynamoDB client the instances get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// As `apptrack_aws::dynamodb::client` builds it for the functions: `TransactionConflictException`
    /// on single-item writes retried, [`apptrack_aws::dynamodb::client::ATTEMPTS`] attempts.
    Deployed,
    /// The SDK's defaults, as the functions had them before that (3 attempts, conflicts on
    /// single-item writes not retried): to measure what the rule changes.
    SdkDefaults,
}

/// A DynamoDB client of one Lambda instance, reaching DynamoDB Local through `proxy`, with a
/// retry quota of its own, as a separate process has (clients of one process otherwise
/// share one quota, which failures in one instance would drain for all).
pub fn instance_client(
    proxy: &Proxy,
    instance: &str,
    kind: ClientKind,
) -> aws_sdk_dynamodb::Client {
    let sdk = apptrack_tests::sdk_config(proxy.endpoint());
    let builder = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .retry_partition(RetryPartition::new(format!("load-bench-{instance}")));
    let builder = match kind {
        ClientKind::Deployed => apptrack_aws::dynamodb::retry_conflicts(builder).retry_config(
            RetryConfig::standard().with_max_attempts(apptrack_aws::dynamodb::client::ATTEMPTS),
        ),
        ClientKind::SdkDefaults => builder.retry_config(RetryConfig::standard()),
    };
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// Conflicts on `per_mille` in 1000 writes, as real DynamoDB answers them when another
/// transaction holds an item: `TransactionCanceledException` with a `TransactionConflict`
/// reason for a transaction, `TransactionConflictException` for a single-item write.
pub fn conflicts(per_mille: u32, seed: u64) -> Vec<Fault> {
    let conflict = DynamoError::TransactionConflict { index: 0 };
    ["TransactWriteItems", "UpdateItem", "PutItem"]
        .into_iter()
        .zip(seed..)
        .map(|(operation, seed)| {
            Fault::at_rate(per_mille, seed)
                .of(operation)
                .replying(conflict)
        })
        .collect()
}

/// One event's delivery: the invocations it took and how it ended.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub invocations: u32,
    /// The `errorType` of each failed invocation.
    pub errors: Vec<String>,
    /// The last invocation's response as Lambda would serialize it; `None` if every one failed.
    pub output: Option<Value>,
}

/// Invokes `f` with `event`, and again after each failure, `retries.retries` times at most:
/// Lambda retries any function error of an asynchronous invocation, whatever its errorType.
pub async fn deliver<F: Function>(f: &F, event: &Value, retries: Retries) -> Delivered {
    let mut errors = Vec::new();
    for attempt in 0..=retries.retries {
        if attempt > 0 {
            tokio::time::sleep(retries.pause).await;
        }
        match f.handle(event).await {
            Ok(out) => {
                return Delivered {
                    invocations: attempt + 1,
                    errors,
                    // A response that does not serialize is still a success for Lambda.
                    output: Some(serde_json::to_value(out).unwrap_or(Value::Null)),
                };
            }
            Err(e) => errors.push(e.error_type()),
        }
    }
    Delivered {
        invocations: retries.retries + 1,
        errors,
        output: None,
    }
}

/// What one phase (every event delivered once, all at once) did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Phase {
    pub deliveries: usize,
    pub invocations: u64,
    pub lambda_retries: u64,
    /// Deliveries whose every invocation failed.
    pub failed_for_good: usize,
    /// `errorType` → failed invocations.
    pub error_types: BTreeMap<String, u64>,
    /// Requests the proxy received in the phase, by operation.
    pub requests: BTreeMap<String, u64>,
    /// Of those, answered with an injected error.
    pub faulted: u64,
    pub wall_ms: u64,
    /// Deliveries' durations from the release (Lambda retries included): median, 95th centile.
    pub delivery_p50_ms: u64,
    pub delivery_p95_ms: u64,
    #[serde(skip)]
    pub outputs: Vec<Option<Value>>,
}

impl Phase {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// Delivers `events[i]` to `instances[i]`, every one on its own task, all released together
/// by a barrier once every task is ready; the wall time runs from the release to the last
/// delivery's end (its retries included).
pub async fn phase<F: Function + 'static>(
    instances: &[Arc<F>],
    events: &[Arc<Value>],
    retries: Retries,
    proxy: &Proxy,
) -> anyhow::Result<Phase> {
    let barrier = Arc::new(Barrier::new(instances.len() + 1));
    let log_before = proxy.log().len();
    let tasks: Vec<_> = instances
        .iter()
        .zip(events)
        .map(|(f, event)| {
            let (f, event, barrier) = (f.clone(), event.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let started = Instant::now();
                let d = deliver(f.as_ref(), &event, retries).await;
                (d, started.elapsed())
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    let mut out = Phase {
        deliveries: tasks.len(),
        ..Phase::default()
    };
    let mut durations = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (d, took) = task.await?;
        durations.push(millis(took));
        out.invocations += u64::from(d.invocations);
        out.lambda_retries += u64::from(d.invocations - 1);
        out.failed_for_good += usize::from(d.output.is_none());
        for e in d.errors {
            *out.error_types.entry(e).or_default() += 1;
        }
        out.outputs.push(d.output);
    }
    out.wall_ms = millis(started.elapsed());
    durations.sort_unstable();
    out.delivery_p50_ms = centile(&durations, 50);
    out.delivery_p95_ms = centile(&durations, 95);
    for seen in proxy.log().iter().skip(log_before) {
        *out.requests.entry(seen.operation.clone()).or_default() += 1;
        out.faulted += u64::from(seen.fault.is_some());
    }
    Ok(out)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The `p`th centile of sorted `values` (nearest rank); 0 for none.
fn centile(sorted: &[u64], p: usize) -> u64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}
