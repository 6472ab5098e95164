//! notifier as deployed: its bootstrap under `cargo lambda watch`, fed the incident table's
//! stream (read from DynamoDB Local with the Streams API, as the event source mapping
//! would) after the other functions' own bootstraps recorded incidents; what an SQS
//! subscriber of the SNS topic (ministack) receives.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, ensure};
use apptrack_tests::TestTables;
use apptrack_tests::bad_input::{
    check_broken_samples_are, event_files, expect_file_rejected, expect_nothing_written,
    reject_hostile_and_random,
};
use apptrack_tests::runtime::{
    Deployed, dynamodb_env, local_stack_env, workspace_binary, write_event,
};
use apptrack_tests::stream::{StreamReader, Topic};
use serde_json::json;

fn deploy(tables: &TestTables, topic: &str) -> Result<Deployed> {
    let mut env = local_stack_env(tables);
    env.push(("APPTRACK_NOTIFY_TOPIC_ARN", topic.to_owned()));
    Deployed::start(env!("CARGO_BIN_EXE_notifier").as_ref(), &env)
}

/// Each existing function's bootstrap and a sample that makes it record an incident.
const PRODUCERS: [(&str, &str); 3] = [
    (
        "error-analyzer",
        "events/logs/dependency-failure-burst.json",
    ),
    ("login-guard", "events/auth/burst-one-account.json"),
    ("alarm-scaler", "events/alarm/latency-p99-alarm.json"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_from_every_function_reach_the_subscriber_once() -> Result<()> {
    let tables = TestTables::new().await?;
    let topic = Topic::new("apptrack").await?;
    let subscriber = topic.subscribe(None).await?;
    let mut stream = StreamReader::incidents(&tables).await?;
    for (bin, sample) in PRODUCERS {
        let env = if bin == "alarm-scaler" {
            local_stack_env(&tables)
        } else {
            dynamodb_env(&tables)
        };
        let f = Deployed::start(&workspace_binary(bin)?, &env)?;
        f.invoke_file(Path::new(sample))?.response()?;
    }
    let opened: BTreeSet<String> = tables
        .incidents()
        .await?
        .iter()
        .filter_map(|i| apptrack_tests::attr(i, "source").map(str::to_owned))
        .collect();
    ensure!(
        opened.len() == PRODUCERS.len(),
        "sources with incidents: {opened:?}"
    );

    let notifier = deploy(&tables, &topic.arn)?;
    let records = stream.next_batch().await?;
    let event = write_event(
        "stream.json",
        json!({ "Records": records }).to_string().as_bytes(),
    )?;
    let out = notifier.invoke_file(&event)?.response()?;
    ensure!(out["batchItemFailures"] == json!([]), "{out}");
    let got = subscriber.drain().await?;
    let incidents = tables.incidents().await?;
    ensure!(
        got.len() == incidents.len() && got.iter().all(|m| m.attr("change") == "opened"),
        "{} incidents, messages: {:?}",
        incidents.len(),
        got.iter()
            .map(|m| (m.attr("change"), m.attr("kind")))
            .collect::<Vec<_>>()
    );
    for m in &got {
        ensure!(
            m.body["source"] == "custom" && m.body["version"] == "1.0",
            "{}",
            m.body
        );
        ensure!(m.body["metadata"]["threadId"] == m.attr("incident_id"));
        ensure!(!m.subject.is_empty() && m.subject.is_ascii());
    }

    // The event source mapping retries a batch whose answer it lost: nothing new.
    let again = notifier.invoke_file(&event)?.response()?;
    ensure!(again["batchItemFailures"] == json!([]), "{again}");
    ensure!(
        subscriber.drain().await?.is_empty(),
        "a redelivered batch notified again"
    );
    ensure!(!notifier.function_log().contains("panicked"));
    Ok(())
}

const NOT_A_BATCH: &str = "expected a DynamoDB stream batch";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_permanent_error_and_changes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let topic = Topic::new("apptrack").await?;
    let subscriber = topic.subscribe(None).await?;
    let f = deploy(&tables, &topic.arn)?;
    check_broken_samples_are(&f, "Permanent.BadEvent", NOT_A_BATCH, &[])?;
    for path in event_files("alarm")?
        .into_iter()
        .chain(event_files("logs")?)
        .chain(event_files("auth")?)
        .chain(event_files("deploy")?)
    {
        expect_file_rejected(&path, &f.invoke_file(&path)?)?;
    }
    reject_hostile_and_random(&f)?;
    expect_nothing_written(&tables, &f).await?;
    ensure!(subscriber.drain().await?.is_empty(), "bad input notified");
    Ok(())
}
