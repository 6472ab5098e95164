//! Faults: DynamoDB or the Auto Scaling API becomes unreachable in the middle of an
//! invocation. The handler must fail with a retryable error, and once the service is back the
//! retried event must leave exactly the state a clean run leaves: nothing lost, nothing
//! counted twice.
//!
//! Each function's SDK clients reach the emulators through a [`Proxy`]. For every cut point
//! `k`, that is every request a clean run of the event sent through the proxy, a fresh world
//! delivers the event with request `k` and all later ones failing, heals the proxy, delivers it
//! again (Lambda's retry) and once more (a redelivery), and compares both tables (and, for
//! alarm-scaler, the group) with the clean run's. A failing request either never reaches the
//! emulator ([`Effect::Drop`]) or reaches it and loses its answer ([`Effect::LoseAnswer`]: the
//! write happened and the client cannot know).
//!
//! The clients under test keep the SDK's standard retry mode and its 3 attempts, but 1 ms
//! apart and with a retry quota of their own (see [`sdk_retry`], [`own_retry_quota`]): a
//! failing attempt then costs milliseconds, and hundreds of injected failures cannot drain a
//! quota the next test relies on. Handler clocks are [`ManualClock`]s; nothing sleeps.

use apptrack_core::failure::Failure as _;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use alarm_scaler::handler::Scaler;
use apptrack_aws::autoscaling::AutoScalingGroups;
use apptrack_aws::cloudwatch::CloudWatchAlarms;
use apptrack_aws::dynamodb::error_counts::DynamoErrorCounts;
use apptrack_aws::dynamodb::guard::DynamoGuardStore;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::{DynamoActionLedger, DynamoScaleOuts, SCALING_NAMESPACE};
use apptrack_core::alarm::AlarmEvent;
use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::incident::{DedupKey, IncidentKind};
use apptrack_core::subscription::{DecodeLimits, LogEvent, LogsBatch, decode_event, encode_batch};
use apptrack_tests::proxy::{DynamoError, Effect, Fault, Proxy};
use apptrack_tests::scaling::{create_managed_group, put_cpu_alarm_on};
use apptrack_tests::{TestTables, dynamodb, ministack, repo_root};
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use error_analyzer::handler::Analyzer;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use login_guard::handler::Guard;
use regex::Regex;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// SDK clients through the proxy

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "apptrack-tests")
}

/// The standard retry mode's 3 attempts, 1 ms apart instead of up to 20 s.
/// The SDK's retries with `attempts` (the functions' own: 8 for DynamoDB, the SDK's 3 for
/// Auto Scaling), with short pauses so the tests stay fast.
fn sdk_retry(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// A retry quota of the client's own, without limit: by default clients of one service share
/// a quota that failures drain, which would make later retries (and tests) depend on earlier ones.
fn own_retry_quota(name: &str) -> RetryPartition {
    RetryPartition::custom(format!("faults-{name}-{}", ulid::Ulid::new()))
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// A request that hangs fails the test instead of hanging it.
fn sdk_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(10))
        .build()
}

/// A client to DynamoDB through `proxy`, with the functions' own retry rules.
fn dynamodb_via(proxy: &Proxy) -> aws_sdk_dynamodb::Client {
    let conf = apptrack_aws::dynamodb::retry_conflicts(aws_sdk_dynamodb::Config::builder())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(proxy.endpoint())
        .credentials_provider(credentials())
        .http_client(apptrack_aws::https_client())
        .retry_config(sdk_retry(apptrack_aws::dynamodb::client::ATTEMPTS))
        .retry_partition(own_retry_quota("dynamodb"))
        .timeout_config(sdk_timeouts())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

fn autoscaling_at(endpoint: &str) -> aws_sdk_autoscaling::Client {
    let conf = aws_sdk_autoscaling::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .http_client(apptrack_aws::https_client())
        .retry_config(sdk_retry(3))
        .retry_partition(own_retry_quota("autoscaling"))
        .timeout_config(sdk_timeouts())
        .build();
    aws_sdk_autoscaling::Client::from_conf(conf)
}

fn cloudwatch() -> aws_sdk_cloudwatch::Client {
    let conf = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&ministack().endpoint)
        .credentials_provider(credentials())
        .http_client(apptrack_aws::https_client())
        .build();
    aws_sdk_cloudwatch::Client::from_conf(conf)
}

async fn proxy_to(upstream: &str) -> Proxy {
    Proxy::start(upstream).await.expect("starting the proxy")
}

// ---------------------------------------------------------------------------------------
// Snapshots of both tables

/// Everything that may differ between two runs that did the same thing.
#[derive(Debug, Default)]
struct Volatile {
    /// Readings of the handler's clock: a retry runs later than the attempt it repeats.
    clock: Vec<Timestamp>,
    /// Names made unique per run (a group, an alarm, a hash of them), each with its placeholder.
    names: Vec<(String, &'static str)>,
}

impl Volatile {
    /// `<clock>` for an RFC 3339 reading of the clock.
    fn string(&self, s: &str) -> Option<String> {
        self.clock
            .iter()
            .any(|t| t.to_rfc3339() == s)
            .then(|| "<clock>".to_owned())
    }

    /// `<clock s+14d>`, `<clock ms+0d>` for a number that is a clock reading (in seconds or
    /// milliseconds) plus whole days: TTLs (`expires_at`) and times (`at_ms`, `done_at`)
    /// taken from the clock. Counts and event times never look like that.
    fn number(&self, n: &str) -> Option<String> {
        let v: i64 = n.parse().ok()?;
        self.clock.iter().find_map(|t| {
            [
                ("s", t.as_secs(), 86_400),
                ("ms", t.as_millis(), 86_400_000),
            ]
            .into_iter()
            .find_map(|(unit, base, day)| {
                let d = v.checked_sub(base)?;
                (d >= 0 && d % day == 0 && d / day <= 400)
                    .then(|| format!("<clock {unit}+{}d>", d / day))
            })
        })
    }
}

fn canon(v: &AttributeValue, volatile: &Volatile) -> Value {
    match v {
        AttributeValue::S(s) => Value::String(volatile.string(s).unwrap_or_else(|| s.clone())),
        AttributeValue::N(n) => json!({ "N": volatile.number(n).unwrap_or_else(|| n.clone()) }),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(l) => Value::Array(l.iter().map(|v| canon(v, volatile)).collect()),
        AttributeValue::M(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, canon(v, volatile))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        AttributeValue::Ss(items) => json!({ "SS": items.iter().collect::<BTreeSet<_>>() }),
        AttributeValue::Ns(items) => json!({ "NS": items.iter().collect::<BTreeSet<_>>() }),
        other => Value::String(format!("{other:?}")),
    }
}

async fn scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan() // a test table of a few dozen items; product code never scans
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scanning {table}: {e:?}"));
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Both tables' items, one canonical JSON line each, sorted. Values random per run are
/// replaced: the clock's readings and per-run names (see [`Volatile`]), and ULIDs (incident
/// ids, claim tokens) by `<id1>`, `<id2>`, ... in order of first appearance, so an id that
/// appears in several items keeps one placeholder and two different ids stay different.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot(Vec<String>);

impl Snapshot {
    async fn of(tables: &TestTables, volatile: &Volatile) -> Snapshot {
        let ulid = Regex::new(r"\b[0-7][0-9A-HJKMNP-TV-Z]{25}\b").expect("ULID pattern");
        let mut lines = Vec::new();
        for (label, table) in [("incidents", &tables.incidents), ("state", &tables.state)] {
            for item in scan(&tables.client, table).await {
                let sorted: BTreeMap<&String, Value> =
                    item.iter().map(|(k, v)| (k, canon(v, volatile))).collect();
                let mut line = format!("{label} {}", json!(sorted));
                for (name, placeholder) in &volatile.names {
                    line = line.replace(name.as_str(), placeholder);
                }
                lines.push(line);
            }
        }
        // Sorted with the ids masked, so the order does not depend on their random part
        // (items differ in their keys, so the masked lines are distinct).
        lines.sort_by_cached_key(|l| (ulid.replace_all(l, "<id>").into_owned(), l.clone()));
        let mut ids: HashMap<String, String> = HashMap::new();
        let lines = lines
            .iter()
            .map(|l| {
                ulid.replace_all(l, |c: &regex::Captures<'_>| {
                    let next = ids.len() + 1;
                    ids.entry(c[0].to_owned())
                        .or_insert_with(|| format!("<id{next}>"))
                        .clone()
                })
                .into_owned()
            })
            .collect();
        Snapshot(lines)
    }

    fn find(&self, prefix: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|l| l.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }
}

/// Fails with the items only one of the two snapshots has.
fn assert_same(got: &Snapshot, want: &Snapshot, context: &str) {
    if got == want {
        return;
    }
    let only = |a: &Snapshot, b: &Snapshot| -> Vec<String> {
        a.0.iter().filter(|l| !b.0.contains(l)).cloned().collect()
    };
    panic!(
        "{context}: the tables differ from the clean run's\n\
         only after the fault:\n  {}\nonly in the clean run:\n  {}",
        only(got, want).join("\n  "),
        only(want, got).join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------
// The cut-point drill, for any function

/// How an invocation failed, whatever the function.
#[derive(Debug)]
struct Failure {
    error_type: String,
    retryable: bool,
    message: String,
}

impl Failure {
    fn of<E: std::fmt::Display>(e: &E, error_type: String, retryable: bool) -> Failure {
        Failure {
            error_type,
            retryable,
            message: e.to_string(),
        }
    }
}

/// One fresh world (tables, proxies, handler) with one event to deliver.
trait World {
    fn deliver(&self) -> impl Future<Output = Result<(), Failure>>;
    /// The proxy in front of DynamoDB.
    fn dynamodb(&self) -> &Proxy;
    fn snapshot(&self) -> impl Future<Output = Snapshot>;
    /// What happens between a failed delivery and Lambda's retry of it.
    fn before_retry(&self) {}
}

async fn delivered(w: &impl World, context: &str) {
    if let Err(f) = w.deliver().await {
        panic!("{context}: failed with {}: {}", f.error_type, f.message);
    }
}

/// A delivery that must fail, and fail retryably.
async fn fails_retryably(w: &impl World, context: &str) -> Failure {
    let failure = w
        .deliver()
        .await
        .err()
        .unwrap_or_else(|| panic!("{context}: the delivery succeeded"));
    assert!(
        failure.retryable && failure.error_type.starts_with("Retryable."),
        "{context}: {} is not retryable: {}",
        failure.error_type,
        failure.message
    );
    failure
}

/// Lambda's retry and a redelivery after it: both succeed, and leave the clean run's state.
async fn retries_to_the_clean_state(w: &impl World, clean: &Snapshot, context: &str) {
    w.before_retry();
    delivered(w, &format!("{context}, the retry")).await;
    assert_same(
        &w.snapshot().await,
        clean,
        &format!("{context}, after the retry"),
    );
    delivered(w, &format!("{context}, a second retry")).await;
    assert_same(
        &w.snapshot().await,
        clean,
        &format!("{context}, after a second retry"),
    );
}

/// Runs the event cleanly, then once per cut point: in a fresh world, `fault(k)` is injected
/// in the proxy `through` picks, for each request `k` the clean run sent through it. Returns
/// the clean run's operations through that proxy.
async fn every_cut_point<W: World, F: Future<Output = W>>(
    new_world: impl Fn() -> F,
    through: impl Fn(&W) -> &Proxy,
    fault: impl Fn(usize) -> Fault,
) -> Vec<String> {
    let clean_world = new_world().await;
    delivered(&clean_world, "the clean run").await;
    let clean = clean_world.snapshot().await;
    let operations = through(&clean_world).operations();
    assert!(!operations.is_empty(), "the clean run sent no request");

    for (k, operation) in operations.iter().enumerate() {
        let fault = fault(k);
        let context = format!("{fault:?}, cut at request {k} ({operation})");
        let w = new_world().await;
        through(&w).inject(fault);
        fails_retryably(&w, &context).await;
        through(&w).heal();
        retries_to_the_clean_state(&w, &clean, &context).await;
    }
    eprintln!(
        "{} cut points, at {}",
        operations.len(),
        operations.join(" ")
    );
    operations
}

/// One failed request (`fault(k)`, for each request `k` of a clean run) is absorbed by the
/// SDK's retry: the delivery succeeds and leaves the clean run's state.
async fn every_single_failure_is_absorbed<W: World, F: Future<Output = W>>(
    new_world: impl Fn() -> F,
    fault: impl Fn(usize) -> Fault,
) -> usize {
    let clean_world = new_world().await;
    delivered(&clean_world, "the clean run").await;
    let clean = clean_world.snapshot().await;
    let requests = clean_world.dynamodb().operations().len();
    for k in 0..requests {
        let fault = fault(k);
        let context = format!("{fault:?}");
        let w = new_world().await;
        w.dynamodb().inject(fault);
        delivered(&w, &context).await;
        assert_eq!(w.dynamodb().failed(), 1, "{context}: one request failed");
        assert_same(&w.snapshot().await, &clean, &context);
    }
    requests
}

/// The real time, read once per test: DynamoDB Local expires items by their TTL attribute,
/// so the handlers' clocks stay near it, and all worlds of one test share the reading.
fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn sample(name: &str) -> Vec<u8> {
    let path = repo_root().join("events").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn drop_from(k: usize) -> Fault {
    Fault::from_request(k)
}

fn lose_from(k: usize) -> Fault {
    Fault::from_request(k).losing_answers()
}

// ---------------------------------------------------------------------------------------
// error-analyzer

struct AnalyzerWorld {
    tables: TestTables,
    dynamodb: Proxy,
    analyzer: Analyzer<DynamoErrorCounts, DynamoIncidentStore, ManualClock>,
    payload: Value,
}

impl AnalyzerWorld {
    async fn new(clock: Timestamp, payload: &Value) -> Self {
        let tables = TestTables::new().await.expect("tables");
        let dynamodb = proxy_to(&dynamodb().endpoint).await;
        let client = dynamodb_via(&dynamodb);
        let settings =
            error_analyzer::handler::Settings::from_lookup(tables.lookup()).expect("settings");
        let analyzer = Analyzer::new(
            DynamoErrorCounts::new(client.clone(), &tables.state),
            DynamoIncidentStore::new(client, &tables.incidents, &tables.state),
            ManualClock::new(clock),
            settings,
        );
        AnalyzerWorld {
            tables,
            dynamodb,
            analyzer,
            payload: payload.clone(),
        }
    }
}

impl World for AnalyzerWorld {
    async fn deliver(&self) -> Result<(), Failure> {
        self.analyzer
            .handle(&self.payload)
            .await
            .map(drop)
            .map_err(|e| Failure::of(&e, e.error_type(), e.is_retryable()))
    }

    fn dynamodb(&self) -> &Proxy {
        &self.dynamodb
    }

    async fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.tables, &Volatile::default()).await
    }
}

/// The dependency-failure sample's first 10 lines (every kind of error in it), repeated
/// over 40 consecutive minutes: a counter write per series and minute, so the batch's writes
/// span several transactions.
fn dependency_failure_batch() -> Value {
    let sample = decode_event(
        &sample("logs/dependency-failure-burst.json"),
        &DecodeLimits::default(),
    )
    .expect("the sample decodes");
    let log_events = (0..40)
        .flat_map(|minute| {
            sample.log_events.iter().take(10).map(move |e| LogEvent {
                id: format!("{}-{minute}", e.id),
                timestamp: e.timestamp + minute * 60_000,
                message: e.message.clone(),
            })
        })
        .collect();
    let batch = LogsBatch {
        log_events,
        ..sample
    };
    serde_json::from_str(&encode_batch(&batch)).expect("an encoded batch is JSON")
}

/// The batch's counter transactions and its incident's.
fn assert_spans_several_transactions(operations: &[String]) {
    let transactions = operations
        .iter()
        .filter(|op| *op == "TransactWriteItems")
        .count();
    assert!(transactions >= 4, "{operations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_analyzer_recovers_when_dynamodb_drops_any_request() {
    let (payload, clock) = (dependency_failure_batch(), now());
    let world = || AnalyzerWorld::new(clock, &payload);
    let operations = every_cut_point(world, World::dynamodb, drop_from).await;
    assert_spans_several_transactions(&operations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_analyzer_recovers_when_any_dynamodb_answer_is_lost() {
    let (payload, clock) = (dependency_failure_batch(), now());
    let world = || AnalyzerWorld::new(clock, &payload);
    let operations = every_cut_point(world, World::dynamodb, lose_from).await;
    assert_spans_several_transactions(&operations);
}

// ---------------------------------------------------------------------------------------
// DynamoDB's own error shapes, which DynamoDB Local never answers: it queues conflicting
// transactions on a lock where real DynamoDB cancels them at once, and it never throttles.

/// The clean run's tables for the dependency-failure batch.
async fn clean_analyzer_run(clock: Timestamp, payload: &Value) -> Snapshot {
    let w = AnalyzerWorld::new(clock, payload).await;
    delivered(&w, "the clean run").await;
    w.snapshot().await
}

/// A transaction cancelled for a conflict on any of its items, once: the adapter tries
/// again, the invocation succeeds, and the tables are the clean run's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_analyzer_absorbs_a_transaction_cancelled_for_a_conflict() {
    let (payload, clock) = (dependency_failure_batch(), now());
    let clean = clean_analyzer_run(clock, &payload).await;
    for (nth, index) in [(0, 0), (0, 1), (1, 1), (2, 0)] {
        let context = format!("transaction {nth} cancelled, conflict on item {index}");
        let w = AnalyzerWorld::new(clock, &payload).await;
        w.dynamodb.inject(
            Fault::only_request(nth)
                .of("TransactWriteItems")
                .replying(DynamoError::TransactionConflict { index }),
        );
        delivered(&w, &context).await;
        assert_eq!(w.dynamodb.failed(), 1, "{context}");
        assert_same(&w.snapshot().await, &clean, &context);
    }
}

/// A conflict that never clears: a bounded number of attempts, then a retryable error; once
/// it clears, Lambda's retry leaves the clean run's tables (nothing lost, nothing doubled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_that_never_clears_is_retryable_after_bounded_attempts() {
    let (payload, clock) = (dependency_failure_batch(), now());
    let clean = clean_analyzer_run(clock, &payload).await;
    let w = AnalyzerWorld::new(clock, &payload).await;
    w.dynamodb.inject(
        Fault::from_request(0)
            .of("TransactWriteItems")
            .replying(DynamoError::TransactionConflict { index: 1 }),
    );
    let failure = fails_retryably(&w, "every transaction cancelled").await;
    assert_eq!(
        failure.error_type, "Retryable.Unavailable",
        "{}",
        failure.message
    );
    let attempts = w
        .dynamodb
        .log()
        .iter()
        .filter(|r| r.operation == "TransactWriteItems")
        .count();
    let bound = apptrack_core::retry::Retry::TRANSACTION.attempts as usize * 3;
    assert!(
        (1..=bound).contains(&attempts),
        "{attempts} transactions tried (bound {bound})"
    );
    w.dynamodb.heal();
    retries_to_the_clean_state(&w, &clean, "every transaction cancelled").await;
}

/// Throttling in each shape DynamoDB answers it, on a fifth of all requests (the same ones
/// for the same seed), cancellations on a fifth of the transactions, and conflicts on a fifth
/// of the single-item writes (`TransactionConflictException`, which real DynamoDB answers while
/// a transaction holds the item and which the SDK alone does not retry): Lambda's retries end
/// in the clean run's tables, for every function.
async fn throttled_to_the_clean_state<W: World, F: Future<Output = W>>(new_world: impl Fn() -> F) {
    let clean_world = new_world().await;
    delivered(&clean_world, "the clean run").await;
    let clean = clean_world.snapshot().await;
    let used = clean_world.dynamodb().operations();
    for (seed, error, operation) in [
        (11, DynamoError::ProvisionedThroughputExceeded, None),
        (12, DynamoError::Throttling, None),
        (13, DynamoError::RequestLimitExceeded, None),
        (14, DynamoError::InternalServerError, None),
        (
            15,
            DynamoError::TransactionConflict { index: 0 },
            Some("TransactWriteItems"),
        ),
        (
            16,
            DynamoError::TransactionConflict { index: 0 },
            Some("UpdateItem"),
        ),
        (
            17,
            DynamoError::TransactionConflict { index: 0 },
            Some("PutItem"),
        ),
    ] {
        if operation.is_some_and(|op| !used.iter().any(|u| u == op)) {
            continue;
        }
        let context = format!("{error:?} on 20 % of the requests");
        let w = new_world().await;
        let fault = Fault::at_rate(200, seed).replying(error);
        let (fault, context) = match operation {
            Some(op) => (fault.of(op), format!("{context} of {op}")),
            None => (fault, context),
        };
        w.dynamodb().inject(fault);
        let mut failures = Vec::new();
        let mut seen = 0;
        loop {
            match w.deliver().await {
                Ok(()) => break,
                Err(f) => {
                    assert!(
                        f.retryable && f.error_type.starts_with("Retryable."),
                        "{context}: {} {}",
                        f.error_type,
                        f.message
                    );
                    let log = w.dynamodb().log();
                    let tail: Vec<String> = log[seen..]
                        .iter()
                        .map(|r| {
                            format!(
                                "{}{}",
                                r.operation,
                                if r.fault.is_some() { "!" } else { "" }
                            )
                        })
                        .collect();
                    seen = log.len();
                    failures.push(format!("{}: {} after {tail:?}", f.error_type, f.message));
                    w.before_retry();
                }
            }
            assert!(
                failures.len() < 10,
                "{context}: still failing after {} deliveries: {failures:#?}",
                failures.len()
            );
        }
        assert!(w.dynamodb().failed() > 0, "{context}: no fault struck");
        w.dynamodb().heal();
        delivered(&w, &format!("{context}, redelivered")).await;
        assert_same(&w.snapshot().await, &clean, &context);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_on_a_fifth_of_the_requests_loses_and_doubles_nothing() {
    let (payload, clock) = (dependency_failure_batch(), now());
    throttled_to_the_clean_state(|| AnalyzerWorld::new(clock, &payload)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guard_under_throttling_loses_and_doubles_nothing() {
    let (payload, clock) = (burst_against_one_account(), now());
    throttled_to_the_clean_state(|| GuardWorld::new(clock, &payload)).await;
}

#[test]
fn the_proxy_shapes_a_cancelled_transaction_as_dynamodb_does() {
    let body = br#"{"TransactItems":[{"Put":{}},{"Update":{}},{"Update":{}}]}"#;
    let (status, json) =
        DynamoError::TransactionConflict { index: 1 }.answer("TransactWriteItems", body);
    assert_eq!(status.as_u16(), 400);
    let v: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        v["__type"],
        "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
    );
    let codes: Vec<&str> = v["CancellationReasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["Code"].as_str())
        .collect();
    assert_eq!(codes, ["None", "TransactionConflict", "None"]);
    let (status, json) = DynamoError::InternalServerError.answer("PutItem", b"{}");
    assert_eq!(status.as_u16(), 500);
    assert!(json.contains("#InternalServerError"), "{json}");
}

// ---------------------------------------------------------------------------------------
// login-guard

struct GuardWorld {
    tables: TestTables,
    dynamodb: Proxy,
    guard: Guard<DynamoGuardStore, DynamoIncidentStore, ManualClock>,
    payload: Vec<u8>,
}

impl GuardWorld {
    async fn new(clock: Timestamp, payload: &[u8]) -> Self {
        let tables = TestTables::new().await.expect("tables");
        let dynamodb = proxy_to(&dynamodb().endpoint).await;
        let client = dynamodb_via(&dynamodb);
        let settings =
            login_guard::handler::Settings::from_lookup(tables.lookup()).expect("settings");
        let guard = Guard::new(
            DynamoGuardStore::new(client.clone(), &tables.state),
            DynamoIncidentStore::new(client, &tables.incidents, &tables.state),
            ManualClock::new(clock),
            settings,
        );
        GuardWorld {
            tables,
            dynamodb,
            guard,
            payload: payload.to_vec(),
        }
    }
}

impl World for GuardWorld {
    async fn deliver(&self) -> Result<(), Failure> {
        self.guard
            .handle(&serde_json::from_slice(&self.payload).expect("a JSON event"))
            .await
            .map(drop)
            .map_err(|e| Failure::of(&e, e.error_type(), e.is_retryable()))
    }

    fn dynamodb(&self) -> &Proxy {
        &self.dynamodb
    }

    async fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.tables, &Volatile::default()).await
    }
}

/// A burst that locks an account: counters, the lock, its incident, eight sources.
fn burst_against_one_account() -> Vec<u8> {
    sample("auth/burst-one-account.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guard_recovers_when_dynamodb_drops_any_request() {
    let (payload, clock) = (burst_against_one_account(), now());
    let world = || GuardWorld::new(clock, &payload);
    let operations = every_cut_point(world, World::dynamodb, drop_from).await;
    assert!(operations.len() >= 10, "{operations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guard_recovers_when_any_dynamodb_answer_is_lost() {
    let (payload, clock) = (burst_against_one_account(), now());
    let world = || GuardWorld::new(clock, &payload);
    let operations = every_cut_point(world, World::dynamodb, lose_from).await;
    assert!(operations.len() >= 10, "{operations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guard_absorbs_any_single_dropped_request() {
    let (payload, clock) = (burst_against_one_account(), now());
    let world = || GuardWorld::new(clock, &payload);
    let requests = every_single_failure_is_absorbed(world, Fault::only_request).await;
    assert!(requests >= 10, "{requests} requests");
}

/// The burst, then a success for the locked account from one of its failing sources (an
/// account takeover) and another account's ordinary success (a familiar source learned): the
/// takeover incident, the familiar-source items and the lock's familiar prefixes are written
/// too.
fn burst_then_successes() -> Value {
    let sample = decode_event(
        &sample("auth/burst-one-account.json"),
        &DecodeLimits::default(),
    )
    .expect("the sample decodes");
    let last = sample.log_events.last().expect("events").timestamp;
    let success = |n: i64, user: &str, ip: &str| LogEvent {
        id: format!("success-{n}"),
        timestamp: last + n * 15_000,
        message: format!(
            r#"{{"level":"info","service":"accounts","event":"login_success","user":"{user}","ip":"{ip}","user_agent":"python-requests/2.31.0"}}"#
        ),
    };
    let mut log_events = sample.log_events.clone();
    log_events.push(success(1, "alice@example.com", "198.51.100.17"));
    log_events.push(success(2, "bob@example.com", "192.0.2.7"));
    let batch = LogsBatch {
        log_events,
        ..sample
    };
    serde_json::from_str(&encode_batch(&batch)).expect("an encoded batch is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guard_with_successes_recovers_at_every_cut_point() {
    let payload = serde_json::to_vec(&burst_then_successes()).expect("bytes");
    let clock = now();
    let world = || GuardWorld::new(clock, &payload);
    let clean = world().await;
    delivered(&clean, "the clean run").await;
    let items = clean.snapshot().await;
    assert!(
        items.0.iter().any(|l| l.contains("account-takeover")),
        "the batch opens a takeover: {items:#?}"
    );
    assert!(
        items.0.iter().any(|l| l.contains("FAMILIAR")),
        "the batch learns a familiar source: {items:#?}"
    );
    for fault in [drop_from as fn(usize) -> Fault, lose_from] {
        let operations = every_cut_point(world, World::dynamodb, fault).await;
        assert!(operations.len() >= 12, "{operations:?}");
    }
}

// ---------------------------------------------------------------------------------------
// alarm-scaler

type LiveScaler = Scaler<
    CloudWatchAlarms,
    CloudWatchAlarms,
    AutoScalingGroups,
    AutoScalingGroups,
    DynamoActionLedger,
    DynamoScaleOuts,
    DynamoIncidentStore,
    ManualClock,
>;

/// Lambda retries a failed asynchronous invocation after about a minute: by then the claim
/// a failed attempt could not release has run out of lease.
const LAMBDA_RETRY_DELAY: Duration = Duration::from_secs(60);

/// A group at 2 of 1..=10 with a CPU alarm on it, fresh tables, and alarm-scaler reaching
/// DynamoDB and Auto Scaling through proxies (CloudWatch directly).
struct AlarmWorld {
    tables: TestTables,
    dynamodb: Proxy,
    autoscaling: Proxy,
    /// Straight to ministack, to read the group back.
    groups: aws_sdk_autoscaling::Client,
    group: String,
    tag: String,
    dedup_key: String,
    /// The instance the alarm watches (`<none>` for the group's own alarm).
    instance: String,
    scaler: LiveScaler,
    event: Value,
    delivered_at: Timestamp,
}

impl AlarmWorld {
    async fn new() -> Self {
        Self::with_alarm("alarm/cpu-high-alarm.json").await
    }

    /// The instance sample on one of the group's instances, with the group busy (an
    /// average of 85 against a target of 72 in the alarm's window): the instance is found
    /// with DescribeAutoScalingInstances, then the group is scaled as for its own alarm.
    async fn on_a_busy_groups_instance() -> Self {
        Self::with_alarm("alarm/instance-cpu-high-alarm.json").await
    }

    async fn with_alarm(sample_file: &str) -> Self {
        let tag = ulid::Ulid::new().to_string().to_lowercase();
        let group = format!("asg-{tag}");
        let alarm = format!("{group}-cpu-high");
        let tables = TestTables::new().await.expect("tables");
        let groups = autoscaling_at(&ministack().endpoint);
        create_managed_group(&groups, &group)
            .await
            .expect("the managed group");
        let cw = cloudwatch();

        // The sample, renamed to this world's alarm and group.
        let mut event: Value = serde_json::from_slice(&sample(sample_file)).expect("JSON sample");
        event["resources"] = json!([format!(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"
        )]);
        event["detail"]["alarmName"] = json!(alarm);
        let dimensions = &mut event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
            ["dimensions"];
        let (watched, instance) = if dimensions.get("InstanceId").is_some() {
            let instance = first_instance(&groups, &group).await;
            (("InstanceId", instance.clone()), instance)
        } else {
            (("AutoScalingGroupName", group.clone()), "<none>".to_owned())
        };
        dimensions[watched.0] = json!(watched.1);
        put_cpu_alarm_on(&cw, &alarm, (watched.0, &watched.1))
            .await
            .expect("the CPU alarm");
        let transition = AlarmEvent::from_value(&event).expect("the sample decodes");
        apptrack_tests::scaling::group_average_before(
            &cw,
            &group,
            transition.transition_time,
            85.0,
        )
        .await
        .expect("PutMetricData");
        let delivered_at = Timestamp::from_millis(transition.transition_time + 30_000);

        let dynamodb = proxy_to(&dynamodb().endpoint).await;
        let autoscaling = proxy_to(&ministack().endpoint).await;
        let client = dynamodb_via(&dynamodb);
        let settings =
            alarm_scaler::handler::Settings::from_lookup(tables.lookup()).expect("settings");
        let through_proxy = AutoScalingGroups::new(autoscaling_at(autoscaling.endpoint()));
        let scaler = Scaler {
            alarms: CloudWatchAlarms::new(cw.clone()),
            metrics: CloudWatchAlarms::new(cw),
            groups: through_proxy.clone(),
            // Never called for a busy group (ministack has no SetInstanceHealth).
            health: through_proxy,
            ledger: DynamoActionLedger::new(client.clone(), &tables.state, SCALING_NAMESPACE),
            scale_outs: DynamoScaleOuts::new(client.clone(), &tables.state),
            incidents: DynamoIncidentStore::new(client, &tables.incidents, &tables.state),
            clock: ManualClock::new(delivered_at),
            settings,
        };
        let dedup_key = DedupKey::new("alarm-scaler", IncidentKind::Saturation, &group, &alarm)
            .expect("a dedup key")
            .to_string();
        AlarmWorld {
            tables,
            dynamodb,
            autoscaling,
            groups,
            group,
            tag,
            dedup_key,
            instance,
            scaler,
            event,
            delivered_at,
        }
    }

    fn autoscaling(&self) -> &Proxy {
        &self.autoscaling
    }

    async fn desired(&self) -> i32 {
        apptrack_tests::scaling::desired_capacity(&self.groups, &self.group)
            .await
            .expect("the group's desired capacity")
    }

    /// SetDesiredCapacity requests that reached Auto Scaling (answered or not).
    fn capacity_changes(&self) -> usize {
        self.autoscaling
            .log()
            .iter()
            .filter(|r| r.operation == "SetDesiredCapacity" && r.fault != Some(Effect::Drop))
            .count()
    }
}

async fn first_instance(groups: &aws_sdk_autoscaling::Client, group: &str) -> String {
    let out = groups
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .expect("DescribeAutoScalingGroups");
    out.auto_scaling_groups()[0].instances()[0]
        .instance_id()
        .expect("an instance id")
        .to_owned()
}

/// The line of an alarm world's snapshot that describes its group.
const GROUP: &str = "group ";

impl World for AlarmWorld {
    async fn deliver(&self) -> Result<(), Failure> {
        self.scaler
            .handle(&self.event)
            .await
            .map(drop)
            .map_err(|e| Failure::of(&e, e.error_type(), e.is_retryable()))
    }

    fn dynamodb(&self) -> &Proxy {
        &self.dynamodb
    }

    /// Both tables, and the group: its desired capacity, and how many SetDesiredCapacity
    /// requests reached it (the clean run's one: the group was scaled exactly once).
    async fn snapshot(&self) -> Snapshot {
        let volatile = Volatile {
            clock: vec![
                self.delivered_at,
                self.delivered_at.saturating_add(LAMBDA_RETRY_DELAY),
            ],
            names: vec![
                (self.dedup_key.clone(), "<dedup key>"),
                (self.tag.clone(), "<tag>"),
                (self.instance.clone(), "<instance>"),
            ],
        };
        let mut snapshot = Snapshot::of(&self.tables, &volatile).await;
        snapshot.0.push(format!(
            "{GROUP}desired={} set={}",
            self.desired().await,
            self.capacity_changes()
        ));
        snapshot
    }

    fn before_retry(&self) {
        self.scaler.clock.advance(LAMBDA_RETRY_DELAY);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_scaler_under_throttling_scales_once_and_loses_nothing() {
    throttled_to_the_clean_state(AlarmWorld::new).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_scaler_recovers_when_dynamodb_drops_any_request() {
    let operations = every_cut_point(AlarmWorld::new, World::dynamodb, drop_from).await;
    assert!(operations.len() >= 6, "{operations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_scaler_recovers_when_any_dynamodb_answer_is_lost() {
    let operations = every_cut_point(AlarmWorld::new, World::dynamodb, lose_from).await;
    assert!(operations.len() >= 6, "{operations:?}");
}

/// The claim's answer lost once (the SDK resends it) used to read as "another delivery
/// holds this transition": the invocation succeeded and nothing was scaled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_scaler_absorbs_any_single_lost_dynamodb_answer() {
    let lose_only = |k| Fault::only_request(k).losing_answers();
    let requests = every_single_failure_is_absorbed(AlarmWorld::new, lose_only).await;
    assert!(requests >= 6, "{requests} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_scaler_recovers_when_auto_scaling_drops_any_request() {
    let operations = every_cut_point(AlarmWorld::new, AlarmWorld::autoscaling, drop_from).await;
    assert_eq!(
        operations,
        ["DescribeAutoScalingGroups", "SetDesiredCapacity"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_alarm_recovers_when_auto_scaling_drops_any_request() {
    let operations = every_cut_point(
        AlarmWorld::on_a_busy_groups_instance,
        AlarmWorld::autoscaling,
        drop_from,
    )
    .await;
    assert_eq!(
        operations,
        [
            "DescribeAutoScalingInstances",
            "DescribeAutoScalingGroups",
            "SetDesiredCapacity"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_alarm_recovers_when_any_dynamodb_answer_is_lost() {
    let operations = every_cut_point(
        AlarmWorld::on_a_busy_groups_instance,
        World::dynamodb,
        lose_from,
    )
    .await;
    assert!(operations.len() >= 6, "{operations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_set_desired_capacity_releases_the_claim_and_the_retry_scales_once() {
    let clean_world = AlarmWorld::new().await;
    delivered(&clean_world, "the clean run").await;
    let clean = clean_world.snapshot().await;

    let w = AlarmWorld::new().await;
    w.autoscaling
        .inject(Fault::from_request(0).of("SetDesiredCapacity"));
    let failure = fails_retryably(&w, "SetDesiredCapacity unreachable").await;
    assert_eq!(failure.error_type, "Retryable.Unavailable");
    assert!(
        failure.message.contains("setting the desired capacity"),
        "{}",
        failure.message
    );
    let failed = w.snapshot().await;
    assert_eq!(failed.find(GROUP), ["group desired=2 set=0"]);
    let claim = failed.find("state {\"expires_at\"");
    assert!(
        claim.iter().any(|c| c.contains(r#""state":"released""#)),
        "the claim is released for the retry: {claim:?}"
    );

    w.autoscaling.heal();
    retries_to_the_clean_state(&w, &clean, "SetDesiredCapacity unreachable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capacity_change_whose_answer_was_lost_is_not_repeated() {
    let clean_world = AlarmWorld::new().await;
    delivered(&clean_world, "the clean run").await;
    let clean = clean_world.snapshot().await;

    let w = AlarmWorld::new().await;
    w.autoscaling.inject(
        Fault::from_request(0)
            .of("SetDesiredCapacity")
            .losing_answers(),
    );
    fails_retryably(&w, "SetDesiredCapacity's answers lost").await;
    assert_eq!(w.desired().await, 3, "the change was made");
    let sent = w.capacity_changes();
    w.autoscaling.heal();
    w.before_retry();
    delivered(&w, "the retry").await;
    assert_eq!(
        w.capacity_changes(),
        sent,
        "the retry found the change made and did not make it again (3 → 5)"
    );
    let without_group = |s: Snapshot| -> Vec<String> {
        s.0.into_iter().filter(|l| !l.starts_with(GROUP)).collect()
    };
    let after = w.snapshot().await;
    assert_eq!(after.find(GROUP), [format!("{GROUP}desired=3 set={sent}")]);
    assert_same(
        &Snapshot(without_group(after)),
        &Snapshot(without_group(clean)),
        "SetDesiredCapacity's answers lost, after the retry",
    );
}

// ---------------------------------------------------------------------------------------
// The proxy itself

/// What the SDK sees of a dropped request: a connection failure, not an HTTP error. The
/// requests around it, and those of other operations, are forwarded and answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_is_a_connection_failure_for_the_sdk() {
    let proxy = proxy_to(&dynamodb().endpoint).await;
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(proxy.endpoint())
        .credentials_provider(credentials())
        .http_client(apptrack_aws::https_client())
        .retry_config(RetryConfig::disabled())
        .timeout_config(sdk_timeouts())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    proxy.inject(Fault::only_request(1).of("ListTables"));

    client.list_tables().send().await.expect("ListTables 0");
    let missing = client
        .describe_table()
        .table_name("no-such-table")
        .send()
        .await;
    assert!(
        matches!(missing, Err(SdkError::ServiceError(_))),
        "other operations are not counted, and answered: {missing:?}"
    );
    let dropped = client.list_tables().send().await;
    assert!(
        matches!(dropped, Err(SdkError::DispatchFailure(_))),
        "a dropped request is a connection failure: {dropped:?}"
    );
    client.list_tables().send().await.expect("ListTables 2");

    assert_eq!(
        proxy.operations(),
        ["ListTables", "DescribeTable", "ListTables", "ListTables"]
    );
    assert_eq!(proxy.failed(), 1);
}

/// Faults hit requests, not connections: on one kept-alive connection the first request is
/// answered, and the second is dropped by closing the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_fails_one_request_of_a_kept_alive_connection() {
    let proxy = proxy_to(&dynamodb().endpoint).await;
    proxy.inject(Fault::only_request(1));
    let address = proxy.endpoint().trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connecting to the proxy");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/1.1 connection");
    let connection = tokio::spawn(connection);
    // What DynamoDB Local accepts: it checks that a signature is there, not that it is right.
    let list_tables = || {
        hyper::Request::post("/")
            .header("host", &address)
            .header("x-amz-target", "DynamoDB_20120810.ListTables")
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("a request")
    };

    sender
        .ready()
        .await
        .expect("the connection takes a request");
    let answer = sender
        .send_request(list_tables())
        .await
        .expect("request 0 is forwarded");
    assert_eq!(answer.status(), 200);
    answer
        .into_body()
        .collect()
        .await
        .expect("the answer's body");
    // Sent on the same connection, once it is idle again.
    sender
        .ready()
        .await
        .expect("the connection takes another request");
    let dropped = sender.send_request(list_tables()).await;
    assert!(dropped.is_err(), "request 1 is dropped: {dropped:?}");
    let ended = tokio::time::timeout(Duration::from_secs(10), connection).await;
    assert!(
        ended.is_ok() && sender.is_closed(),
        "the proxy closed the connection"
    );
    assert_eq!(proxy.operations(), ["ListTables", "ListTables"]);
    assert_eq!((proxy.connections(), proxy.failed()), (1, 1));
}

// ---------------------------------------------------------------------------------------
// capacity-forecast

type LiveForecaster = capacity_forecast::handler::Forecaster<
    CloudWatchAlarms,
    apptrack_aws::cloudwatch::CloudWatchHistory,
    DynamoIncidentStore,
    apptrack_aws::dynamodb::forecasts::DynamoEpisodes,
    AutoScalingGroups,
    DynamoActionLedger,
    DynamoScaleOuts,
    ManualClock,
>;

/// A managed group (2 of 1..=10) whose CPU climbs toward its tagged alarm's 80 (critical:
/// the group is scaled out ahead), fresh tables, and capacity-forecast reaching DynamoDB and
/// Auto Scaling through proxies. The event is the EventBridge envelope, whose `time` a
/// retry keeps, so every delivery forecasts the same run.
struct ForecastWorld {
    tables: TestTables,
    dynamodb: Proxy,
    autoscaling: Proxy,
    groups: aws_sdk_autoscaling::Client,
    group: String,
    tag: String,
    dedup_key: String,
    forecaster: LiveForecaster,
    event: Value,
    delivered_at: Timestamp,
}

impl ForecastWorld {
    async fn new() -> Self {
        let tag = ulid::Ulid::new().to_string().to_lowercase();
        let group = format!("asg-{tag}");
        let prefix = format!("fc-{tag}");
        let alarm = format!("{prefix}-cpu");
        let tables = TestTables::new().await.expect("tables");
        let groups = autoscaling_at(&ministack().endpoint);
        create_managed_group(&groups, &group)
            .await
            .expect("the managed group");
        // The run's time: the start of the current 15-minute period, so no retry of this
        // test crosses into the next one.
        let period = 15 * 60_000;
        let run = Timestamp::from_millis(now().as_millis() / period * period);
        let cw = cloudwatch();
        let metric = ("CWAgent", "CPUUtilization");
        let at = ("AutoScalingGroupName", group.as_str());
        apptrack_tests::forecast::put_history(
            &cw,
            metric,
            at,
            &apptrack_tests::forecast::climb(run.as_millis() - 60_000, 6, 50.0, 5.0),
        )
        .await
        .expect("PutMetricData");
        apptrack_tests::forecast::put_forecast_alarm(&cw, &alarm, metric, at, 80.0, &[])
            .await
            .expect("the tagged alarm");

        let dynamodb = proxy_to(&dynamodb().endpoint).await;
        let autoscaling = proxy_to(&ministack().endpoint).await;
        let client = dynamodb_via(&dynamodb);
        let lookup = tables.lookup();
        let settings = capacity_forecast::handler::Settings::from_lookup(|k| match k {
            "APPTRACK_FORECAST_ALARM_PREFIX" => Some(prefix.clone()),
            _ => lookup(k),
        })
        .expect("settings");
        let delivered_at = run.saturating_add(Duration::from_secs(30));
        let forecaster = capacity_forecast::handler::Forecaster {
            alarms: CloudWatchAlarms::new(cw.clone()),
            history: apptrack_aws::cloudwatch::CloudWatchHistory::new(cw),
            incidents: DynamoIncidentStore::new(client.clone(), &tables.incidents, &tables.state),
            episodes: apptrack_aws::dynamodb::forecasts::DynamoEpisodes::new(
                client.clone(),
                &tables.state,
            ),
            groups: AutoScalingGroups::new(autoscaling_at(autoscaling.endpoint())),
            ledger: DynamoActionLedger::new(
                client.clone(),
                &tables.state,
                capacity_forecast::handler::PREVENT_NAMESPACE,
            ),
            scale_outs: DynamoScaleOuts::new(client, &tables.state),
            clock: ManualClock::new(delivered_at),
            settings,
        };
        let dedup_key = DedupKey::new(
            "capacity-forecast",
            IncidentKind::CapacityForecast,
            &alarm,
            "exhaustion",
        )
        .expect("a dedup key")
        .to_string();
        let event = json!({
            "version": "0",
            "id": tag,
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": run.to_rfc3339(),
            "detail": {}
        });
        ForecastWorld {
            tables,
            dynamodb,
            autoscaling,
            groups,
            group,
            tag,
            dedup_key,
            forecaster,
            event,
            delivered_at,
        }
    }

    async fn desired(&self) -> i32 {
        apptrack_tests::scaling::desired_capacity(&self.groups, &self.group)
            .await
            .expect("the group's desired capacity")
    }
}

impl World for ForecastWorld {
    async fn deliver(&self) -> Result<(), Failure> {
        self.forecaster
            .handle(&self.event)
            .await
            .map(drop)
            .map_err(|e| Failure::of(&e, e.error_type(), e.is_retryable()))
    }

    fn dynamodb(&self) -> &Proxy {
        &self.dynamodb
    }

    /// Both tables, and the group: its desired capacity and the SetDesiredCapacity requests
    /// that reached it (the clean run's one).
    async fn snapshot(&self) -> Snapshot {
        let volatile = Volatile {
            // Up to a dozen retries, a minute apart.
            clock: (0..12)
                .map(|k| self.delivered_at.saturating_add(LAMBDA_RETRY_DELAY * k))
                .collect(),
            names: vec![
                (self.dedup_key.clone(), "<dedup key>"),
                (self.tag.clone(), "<tag>"),
            ],
        };
        let mut snapshot = Snapshot::of(&self.tables, &volatile).await;
        let set = self
            .autoscaling
            .log()
            .iter()
            .filter(|r| r.operation == "SetDesiredCapacity" && r.fault != Some(Effect::Drop))
            .count();
        snapshot
            .0
            .push(format!("{GROUP}desired={} set={set}", self.desired().await));
        snapshot
    }

    fn before_retry(&self) {
        self.forecaster.clock.advance(LAMBDA_RETRY_DELAY);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_forecast_under_throttling_scales_once_and_loses_nothing() {
    throttled_to_the_clean_state(ForecastWorld::new).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_forecast_recovers_when_dynamodb_drops_any_request() {
    let operations = every_cut_point(ForecastWorld::new, World::dynamodb, drop_from).await;
    assert!(operations.len() >= 6, "{operations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_forecast_recovers_when_any_dynamodb_answer_is_lost() {
    let operations = every_cut_point(ForecastWorld::new, World::dynamodb, lose_from).await;
    assert!(operations.len() >= 6, "{operations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_forecast_does_not_repeat_a_scale_out_whose_answer_was_lost() {
    let clean_world = ForecastWorld::new().await;
    delivered(&clean_world, "the clean run").await;
    let clean = clean_world.snapshot().await;
    assert_eq!(clean.find(GROUP), [format!("{GROUP}desired=3 set=1")]);

    let w = ForecastWorld::new().await;
    w.autoscaling.inject(
        Fault::from_request(0)
            .of("SetDesiredCapacity")
            .losing_answers(),
    );
    fails_retryably(&w, "SetDesiredCapacity's answers lost").await;
    assert_eq!(w.desired().await, 3, "the change was made");
    let sent = w.snapshot().await.find(GROUP)[0].to_owned();
    w.autoscaling.heal();
    w.before_retry();
    delivered(&w, "the retry").await;
    let after = w.snapshot().await;
    assert_eq!(
        after.find(GROUP),
        [sent.as_str()],
        "the retry found the change made and did not make it again (3 -> 4)"
    );
    let without_group = |s: Snapshot| -> Vec<String> {
        s.0.into_iter().filter(|l| !l.starts_with(GROUP)).collect()
    };
    assert_same(
        &Snapshot(without_group(after)),
        &Snapshot(without_group(clean)),
        "SetDesiredCapacity's answers lost, after the retry",
    );
}
