//! `apptrack dlq` against ministack's SQS, DynamoDB Local and the real login-guard bootstrap
//! under the Lambda Runtime API emulator: on-failure records that wrap real events are
//! listed, dry-run, redriven (the lock and the incident land in DynamoDB, the message is
//! deleted), redriven again (nothing changes), and what cannot be redriven stays queued.

use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use apptrack_aws::dynamodb::guard::DynamoGuardStore;
use apptrack_core::auth::{GuardStore, LockMode};
use apptrack_core::clock::Timestamp;
use apptrack_core::incident::{IncidentKind, Status};
use apptrack_core::store::{PageRequest, ReadIncidents};
use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType, encode_batch};
use apptrack_tests::runtime::{Deployed, workspace_binary};
use apptrack_tests::{TestTables, dynamodb, ministack, repo_root};
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

const LOGIN_GUARD_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:apptrack-LoginGuardFunction-1A2B3C:$LATEST";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn sqs() -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&ministack().endpoint)
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "apptrack-tests",
        ))
        .http_client(apptrack_aws::https_client())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// A fresh queue in ministack, holding `bodies`.
async fn queue_with(sqs: &aws_sdk_sqs::Client, name: &str, bodies: &[String]) -> Result<String> {
    let name = format!("{name}-{}", std::process::id());
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .with_context(|| format!("creating queue {name}"))?
        .queue_url
        .context("CreateQueue returned no URL")?;
    for body in bodies {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .context("sending a message")?;
    }
    Ok(url)
}

/// The bodies in the queue, checking that all of them are visible (none left hidden by
/// apptrack); they are visible again afterwards.
async fn visible_bodies(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<Vec<String>> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await?
        .attributes
        .unwrap_or_default();
    let hidden = attrs
        .get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .context("no ApproximateNumberOfMessagesNotVisible attribute")?;
    anyhow::ensure!(hidden == "0", "{hidden} messages were left hidden");
    let mut received = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await?
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            break;
        }
        received.extend(got);
    }
    let mut bodies = Vec::new();
    for m in received {
        if let Some(receipt) = m.receipt_handle {
            sqs.change_message_visibility()
                .queue_url(url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await?;
        }
        bodies.extend(m.body);
    }
    bodies.sort();
    Ok(bodies)
}

/// A CloudWatch Logs subscription payload: `n` failed logins of `user` in the last minute,
/// each from its own address, timed so that login-guard locks the account now.
fn failed_logins(user: &str, n: usize) -> Result<Value> {
    let t0 = now_ms() - 60_000;
    let batch = LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/apptrack/test/auth".into(),
        log_stream: "web-1".into(),
        subscription_filters: vec!["apptrack-login-guard".into()],
        log_events: (0..n)
            .map(|i| LogEvent {
                id: format!("{t0}-{user}-{i}"),
                timestamp: t0 + i as i64 * 1000,
                message: format!(
                    r#"{{"event":"login_failed","user":"{user}","ip":"203.0.113.{}","user_agent":"curl/8.5.0"}}"#,
                    i + 1
                ),
            })
            .collect(),
    };
    serde_json::from_str(&encode_batch(&batch)).context("the encoded batch is not JSON")
}

/// The record Lambda writes to an on-failure queue when it gives up on `event`.
fn on_failure_record(event: Value, error_type: &str, message: &str) -> String {
    json!({
        "version": "1.0",
        "timestamp": Timestamp::from_millis(now_ms()).to_rfc3339(),
        "requestContext": {
            "requestId": format!("req-{}", now_ms()),
            "functionArn": LOGIN_GUARD_ARN,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled"
        },
        "responsePayload": {"errorType": error_type, "errorMessage": message}
    })
    .to_string()
}

fn event_file(name: &str) -> Result<Value> {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Runs the built `apptrack` with SQS at ministack and Lambda at `lambda_endpoint`.
fn apptrack(lambda_endpoint: &str, args: &[&str]) -> Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_apptrack"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL_SQS", &ministack().endpoint)
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda_endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .context("running apptrack")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json_out(o: &Output) -> Result<Value> {
    serde_json::from_slice(&o.stdout).with_context(|| format!("not JSON: {o:?}"))
}

/// A Lambda endpoint where nothing listens: any invocation would fail.
const NO_LAMBDA: &str = "http://127.0.0.1:9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_dry_run_show_the_queue_and_change_nothing() -> Result<()> {
    let sqs = sqs();
    let record = on_failure_record(
        failed_logins("dry@example.com", 6)?,
        "Retryable.Store",
        "DynamoDB throttled the counter update",
    );
    let junk = "not a record".to_string();
    let url = queue_with(&sqs, "dlq-dry-run", &[record.clone(), junk.clone()]).await?;

    let list = apptrack(NO_LAMBDA, &["dlq", "list", "--queue-url", &url])?;
    assert!(list.status.success(), "{list:?}");
    let text = stdout(&list);
    assert!(text.starts_with("MESSAGE"), "{text}");
    assert!(
        text.contains("apptrack-LoginGuardFunction-1A2B3C:$LATEST  RetriesExhausted after 3 attempts: Retryable.Store: DynamoDB throttled the counter update"),
        "{text}"
    );
    assert!(text.contains("the message is not JSON"), "{text}");

    let name = url.rsplit('/').next().context("queue name")?;
    let list = apptrack(NO_LAMBDA, &["dlq", "list", "--queue", name, "--json"])?;
    assert!(list.status.success(), "{list:?}");
    let listed = json_out(&list)?;
    let listed = listed.as_array().context("a JSON array")?;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let rec = listed
        .iter()
        .find(|l| l.get("record").is_some())
        .context("the record")?;
    assert_eq!(rec["record"]["function_arn"], LOGIN_GUARD_ARN);
    assert_eq!(rec["record"]["last_error"]["error_type"], "Retryable.Store");
    assert!(rec["record"]["request_payload"]["awslogs"]["data"].is_string());
    let bad = listed
        .iter()
        .find(|l| l.get("error").is_some())
        .context("the junk")?;
    assert_eq!(bad["body"], "not a record");

    let dry = apptrack(
        NO_LAMBDA,
        &["dlq", "redrive", "--queue-url", &url, "--dry-run", "--json"],
    )?;
    assert_eq!(
        dry.status.code(),
        Some(1),
        "a non-record is not redrivable: {dry:?}"
    );
    let report = json_out(&dry)?;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["summary"]["would_redrive"], 1, "{report}");
    assert_eq!(report["summary"]["not_records"], 1, "{report}");
    assert_eq!(report["summary"]["left_in_queue"], 2, "{report}");

    let one = apptrack(
        NO_LAMBDA,
        &[
            "dlq",
            "redrive",
            "--queue-url",
            &url,
            "--dry-run",
            "--max",
            "1",
            "--json",
        ],
    )?;
    assert_eq!(json_out(&one)?["summary"]["received"], 1, "{one:?}");

    let missing = apptrack(NO_LAMBDA, &["dlq", "list", "--queue", "no-such-queue"])?;
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.starts_with("apptrack: error: looking up the URL of queue no-such-queue: "),
        "{stderr}"
    );

    let mut expected = vec![record, junk];
    expected.sort();
    assert_eq!(visible_bodies(&sqs, &url).await?, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_replays_records_deletes_what_succeeded_and_keeps_the_rest() -> Result<()> {
    let t = TestTables::new().await?;
    let dynamodb_endpoint = dynamodb().endpoint.clone();
    let f = Deployed::start(
        &workspace_binary("login-guard")?,
        &[
            ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("INCIDENTS_TABLE", t.incidents.as_str()),
            ("STATE_TABLE", t.state.as_str()),
        ],
    )?;
    let lambda = format!("http://127.0.0.1:{}", f.port);
    let sqs = sqs();

    let burst = on_failure_record(
        failed_logins("mallory@example.com", 6)?,
        "Retryable.Store",
        "DynamoDB throttled the counter update",
    );
    let broken = on_failure_record(
        event_file("broken/auth-not-gzip.json")?,
        "Permanent.InvalidGzip",
        "not gzip",
    );
    let junk = "{\"hello\": \"world\"}".to_string();
    let url = queue_with(
        &sqs,
        "dlq-redrive",
        &[burst.clone(), broken.clone(), junk.clone()],
    )
    .await?;

    let run = apptrack(
        &lambda,
        &[
            "dlq",
            "redrive",
            "--queue-url",
            &url,
            "--function",
            "login-guard",
        ],
    )?;
    let text = stdout(&run);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{run:?}\nfunction log:\n{}",
        f.function_log()
    );
    let line = |outcome: &str| {
        text.lines()
            .find(|l| l.starts_with(outcome))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(
        line("redriven").ends_with("login-guard  was RetriesExhausted after 3 attempts: Retryable.Store: DynamoDB throttled the counter update"),
        "{text}"
    );
    assert!(
        line("failed").contains("login-guard  the function failed again: Permanent.InvalidGzip: "),
        "{text}"
    );
    assert!(
        line("not a record")
            .ends_with("the message is not a Lambda on-failure record: it has no requestContext"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "3 messages: 1 redriven, 1 failed again, 1 not an on-failure record; 2 left in the queue\n"
        ),
        "{text}"
    );

    // The failing record ran once: a function error is not retried as a server fault.
    let failures = f
        .function_log()
        .lines()
        .filter(|l| l.contains(r#""error_type":"Permanent.InvalidGzip""#))
        .count();
    assert_eq!(failures, 1, "function log:\n{}", f.function_log());

    // The replayed burst locked the account and opened one incident.
    let guard = DynamoGuardStore::new(t.client.clone(), &t.state);
    let lock = guard
        .get_lock(LockMode::Enforce, "mallory@example.com")
        .await?
        .context("mallory is not locked")?;
    assert!(lock.is_locked(Timestamp::from_millis(now_ms())), "{lock:?}");
    assert_eq!((lock.offence_number, lock.failures), (1, 6), "{lock:?}");
    let open = open_incidents(&t).await?;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind, IncidentKind::BruteForce);
    assert_eq!(open[0].count, 6);

    // What failed stays, visible again; the redriven record is gone.
    let mut left = vec![broken.clone(), junk.clone()];
    left.sort();
    assert_eq!(visible_bodies(&sqs, &url).await?, left);

    // The same record again (a duplicate delivery). Without --function the record's own
    // function is invoked, which the emulator does not know by its ARN: the call fails, named,
    // and the message stays.
    let again = queue_with(&sqs, "dlq-redrive-again", std::slice::from_ref(&burst)).await?;
    let run = apptrack(
        &lambda,
        &["dlq", "redrive", "--queue-url", &again, "--json"],
    )?;
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let report = json_out(&run)?;
    let message = &report["messages"][0];
    assert_eq!(message["outcome"], "failed", "{report}");
    assert_eq!(message["function"], LOGIN_GUARD_ARN, "{report}");
    let error = message["error"].as_str().unwrap_or_default();
    // The emulator's answer lists every binary of the workspace before its title, and the
    // report cuts a long error: look for the words that come first.
    assert!(
        error.starts_with("invoking the function failed: HTTP 404: ")
            && error.contains("doesn't exist as a binary"),
        "{report}"
    );
    assert_eq!(visible_bodies(&sqs, &again).await?, vec![burst.clone()]);

    // Redriven to the function, it changes nothing.
    let run = apptrack(
        &lambda,
        &[
            "dlq",
            "redrive",
            "--queue-url",
            &again,
            "--function",
            "login-guard",
            "--json",
        ],
    )?;
    assert!(run.status.success(), "{run:?}");
    let report = json_out(&run)?;
    assert_eq!(report["summary"]["redriven"], 1, "{report}");
    assert_eq!(report["messages"][0]["outcome"], "redriven", "{report}");
    let after = guard
        .get_lock(LockMode::Enforce, "mallory@example.com")
        .await?
        .context("the lock is gone")?;
    assert_eq!(after, lock);
    let open_after = open_incidents(&t).await?;
    assert_eq!(open_after.len(), 1, "{open_after:?}");
    assert_eq!(open_after[0].count, 6);
    assert!(visible_bodies(&sqs, &again).await?.is_empty());
    Ok(())
}

async fn open_incidents(t: &TestTables) -> Result<Vec<apptrack_core::incident::Incident>> {
    let page = PageRequest {
        limit: 100,
        cursor: None,
        now: Timestamp::from_millis(now_ms()),
    };
    Ok(t.store().list_by_status(Status::Open, &page).await?.items)
}
