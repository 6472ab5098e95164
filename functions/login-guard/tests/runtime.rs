//! login-guard as deployed: its bootstrap under `cargo lambda watch`, invoked with `cargo
//! lambda invoke --data-file` (or raw bytes through the Invoke API), its effects read back
//! from DynamoDB Local.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use apptrack_core::subscription::{DecodeLimits, decode_event, encode_batch};
use apptrack_tests::bad_input::{
    RUNTIME_ERROR, check_broken_samples, event_files, expect_file_rejected, expect_nothing_written,
    expect_rejected, reject_hostile_and_random,
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

/// What login-guard answers to each broken sample: its error type and what the message names.
const BROKEN: [(&str, &str, &str); 14] = [
    (
        "alarm-bad-reasondata.json",
        "Permanent.BadPayload",
        "`awslogs.data`",
    ),
    (
        "alarm-missing-state.json",
        "Permanent.BadPayload",
        "`awslogs.data`",
    ),
    ("alarm-not-json.json", RUNTIME_ERROR, ""),
    (
        "alarm-wrong-detail-type.json",
        "Permanent.BadPayload",
        "`awslogs.data`",
    ),
    (
        "auth-event-missing-timestamp.json",
        "Permanent.BadPayload",
        "`logEvents[0].timestamp`",
    ),
    (
        "auth-gzip-bomb.json",
        "Permanent.BadPayload",
        "decompresses to more than",
    ),
    (
        "auth-missing-data.json",
        "Permanent.BadPayload",
        "`awslogs.data`",
    ),
    (
        "auth-not-base64.json",
        "Permanent.BadPayload",
        "not valid base64",
    ),
    (
        "auth-not-gzip.json",
        "Permanent.BadPayload",
        "not a valid gzip stream",
    ),
    (
        "logs-bad-gzip.json",
        "Permanent.BadPayload",
        "not a valid gzip stream",
    ),
    (
        "logs-gzip-bomb.json",
        "Permanent.BadPayload",
        "decompresses to more than",
    ),
    (
        "logs-invalid-base64.json",
        "Permanent.BadPayload",
        "not valid base64",
    ),
    (
        "logs-missing-data.json",
        "Permanent.BadPayload",
        "`awslogs.data`",
    ),
    (
        "logs-not-json.json",
        "Permanent.BadPayload",
        "not valid JSON",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_permanent_error_and_writes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;

    check_broken_samples(&f, &BROKEN, &[])?;
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
