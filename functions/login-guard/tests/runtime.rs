//! login-guard as deployed: its bootstrap under `cargo lambda watch`, invoked with `cargo
//! lambda invoke --data-file` (or raw bytes through the Invoke API), its effects read back
//! from DynamoDB Local.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use apptrack_core::subscription::{DecodeLimits, decode_event, encode_batch};
use apptrack_tests::bad_input::{
    LOG_SUBSCRIPTION_BROKEN, check_broken_samples, event_files, expect_file_rejected,
    expect_nothing_written, expect_rejected, reject_hostile_and_random,
};
use apptrack_tests::runtime::{Deployed, dynamodb_env, write_event};
use apptrack_tests::{TestTables, attr, repo_root};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

fn deploy(tables: &TestTables) -> Result<Deployed> {
    Deployed::start(
        env!("CARGO_BIN_EXE_login-guard").as_ref(),
        &dynamodb_env(tables),
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A sample subscription event moved in time so its first log event is at `first_at`, as
/// `scripts/gen-auth-events.py --now` does: a lock runs from the failures' own time, so only
/// a recent burst leaves an account locked now.
fn retimed(sample: &str, first_at: i64) -> Result<Vec<u8>> {
    let path = repo_root().join(sample);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut batch = decode_event(&bytes, &DecodeLimits::default())
        .with_context(|| format!("decoding {sample}"))?;
    let start = batch
        .log_events
        .iter()
        .map(|e| e.timestamp)
        .min()
        .with_context(|| format!("{sample} has no log events"))?;
    for e in &mut batch.log_events {
        e.timestamp += first_at - start;
    }
    Ok(encode_batch(&batch).into_bytes())
}

/// The lock check README documents for a login path: `GetItem` of `pk = LOCKS`,
/// `sk = <account>`; locked while `locked_until_s` is in the future. Returns that time.
async fn locked_until_s(tables: &TestTables, account: &str) -> Result<Option<i64>> {
    let out = tables
        .client
        .get_item()
        .table_name(&tables.state)
        .key("pk", AttributeValue::S("LOCKS".into()))
        .key("sk", AttributeValue::S(account.into()))
        .consistent_read(true)
        .send()
        .await
        .context("GetItem of the lock")?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    let n = item
        .get("locked_until_s")
        .and_then(|v| v.as_n().ok())
        .context("the lock item has no locked_until_s")?;
    Ok(Some(n.parse().context("locked_until_s is not a number")?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_burst_locks_the_account_and_a_redelivery_changes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;
    let event = write_event(
        "burst-one-account.json",
        &retimed("events/auth/burst-one-account.json", now_ms() - 120_000)?,
    )?;

    let first = f.invoke_file(&event)?.response()?;
    assert_eq!(first["failures"], 8, "{first}");
    assert_eq!(
        first["locked"][0]["account"], "alice@example.com",
        "{first}"
    );
    let now_s = now_ms() / 1000;
    let until = locked_until_s(&tables, "alice@example.com")
        .await?
        .context("no lock item for alice@example.com")?;
    assert!(
        until > now_s + 10 * 60,
        "a 15-minute lock from the burst's last failure, still running: until {until}, now {now_s}"
    );
    let incidents = tables.incidents().await?;
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(attr(&incidents[0], "kind"), Some("brute-force"));
    assert_eq!(attr(&incidents[0], "resource"), Some("alice@example.com"));
    assert_eq!(attr(&incidents[0], "status"), Some("open"));
    assert_eq!(
        first["locked"][0]["incident_id"].as_str(),
        attr(&incidents[0], "id")
    );

    let before = tables.snapshot().await?;
    let again = f.invoke_file(&event)?.response()?;
    assert_eq!(again["locked"], Value::Array(vec![]), "{again}");
    assert_eq!(again["already_counted"], again["counter_writes"], "{again}");
    assert_eq!(
        tables.snapshot().await?,
        before,
        "a redelivery changed the tables"
    );
    assert!(!f.function_log().contains("panicked"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_permanent_error_and_writes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;

    check_broken_samples(&f, &LOG_SUBSCRIPTION_BROKEN, &[])?;
    // An alarm is not a log batch.
    for path in event_files("alarm")? {
        expect_file_rejected(&path, &f.invoke_file(&path)?)?;
    }
    // Nor is error-analyzer's quiet-resolution schedule event.
    let schedule = br#"{"apptrack":"resolve-quiet"}"#;
    expect_rejected(
        "the resolve-quiet schedule",
        schedule,
        &f.invoke_raw(schedule)?,
    )?;
    reject_hostile_and_random(&f)?;

    expect_nothing_written(&tables, &f).await?;
    // The same process still does real work.
    let after = f
        .invoke_file(Path::new("events/auth/sshd-brute-force.json"))?
        .response()?;
    assert!(after["failures"].as_u64().is_some_and(|n| n > 0), "{after}");
    Ok(())
}

/// A batch of `n` failed JSON logins, about 300 bytes each once decompressed.
fn failed_logins(n: usize, at: i64) -> String {
    use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType};
    encode_batch(&LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/apptrack/test/auth".into(),
        log_stream: "web-1".into(),
        subscription_filters: vec!["login-guard".into()],
        log_events: (0..n)
            .map(|i| LogEvent {
                id: format!("{i:056}"),
                timestamp: at + i as i64,
                message: format!(
                    r#"{{"event":"login_failed","user":"user{i}@example.com","ip":"198.51.100.{}","user_agent":"Mozilla/5.0 (X11; Linux x86_64) test/{i}"}}"#,
                    i % 250 + 1
                ),
            })
            .collect(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honours_the_configured_limit_on_decompressed_bytes() -> Result<()> {
    let tables = TestTables::new().await?;
    let payload = failed_logins(400, now_ms() - 60_000);
    let inflated =
        serde_json::to_vec(&decode_event(payload.as_bytes(), &DecodeLimits::default())?)?;
    assert!(
        inflated.len() > 65_536,
        "the batch must exceed the low limit"
    );
    let event = write_event("large-batch.json", payload.as_bytes())?;

    let mut env = dynamodb_env(&tables);
    env.push(("APPTRACK_MAX_DECOMPRESSED_BYTES", "65536".to_owned()));
    let strict = Deployed::start(env!("CARGO_BIN_EXE_login-guard").as_ref(), &env)?;
    let rejected = strict.invoke_file(&event)?;
    match &rejected {
        apptrack_tests::runtime::Outcome::Error {
            error_type,
            message,
        } => {
            assert_eq!(error_type, "Permanent.TooLarge", "{message}");
            assert!(message.contains("65536"), "{message}");
        }
        other => panic!("expected Permanent.TooLarge, got {other:?}"),
    }
    expect_nothing_written(&tables, &strict).await?;
    drop(strict);

    // The default limit (8 MiB) takes the same batch.
    let f = deploy(&tables)?;
    let handled = f.invoke_file(&event)?.response()?;
    assert_eq!(handled["events"], 400, "{handled}");
    Ok(())
}
