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

/// A subscription payload of JSON logins of `user`: (id, time, ip, succeeded).
fn logins(user: &str, events: &[(&str, i64, &str, bool)]) -> Vec<u8> {
    use apptrack_core::subscription::{LogEvent, LogsBatch, MessageType};
    encode_batch(&LogsBatch {
        message_type: MessageType::Data,
        owner: "123456789012".into(),
        log_group: "/apptrack/test/auth".into(),
        log_stream: "web-1".into(),
        subscription_filters: vec!["login-guard".into()],
        log_events: events
            .iter()
            .map(|(id, at, ip, ok)| LogEvent {
                id: (*id).to_owned(),
                timestamp: *at,
                message: format!(
                    r#"{{"event":"{}","user":"{user}","ip":"{ip}","user_agent":"python-requests/2.31.0"}}"#,
                    if *ok { "login_success" } else { "login_failed" }
                ),
            })
            .collect(),
    })
    .into_bytes()
}

/// What a login path reads in its one `GetItem`: locked for `source` while `locked_until_s`
/// is in the future, unless the lock's `scope` is `unfamiliar` and `familiar` has the
/// source's /24 (or /64).
async fn locked_for(tables: &TestTables, account: &str, prefix: &str) -> Result<bool> {
    let out = tables
        .client
        .get_item()
        .table_name(&tables.state)
        .key("pk", AttributeValue::S("LOCKS".into()))
        .key("sk", AttributeValue::S(account.into()))
        .projection_expression("locked_until_s, #s, familiar.#p")
        .expression_attribute_names("#s", "scope")
        .expression_attribute_names("#p", prefix)
        .consistent_read(true)
        .send()
        .await
        .context("GetItem of the lock")?;
    let Some(item) = out.item else {
        return Ok(false);
    };
    let until: i64 = item
        .get("locked_until_s")
        .and_then(|v| v.as_n().ok())
        .context("no locked_until_s")?
        .parse()?;
    let scoped = item
        .get("scope")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        == Some("unfamiliar");
    let familiar = item
        .get("familiar")
        .and_then(|v| v.as_m().ok())
        .is_some_and(|m| m.contains_key(prefix));
    Ok(until > now_ms() / 1000 && !(scoped && familiar))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_keeps_logging_in_while_the_attacker_is_locked_out_and_a_takeover_is_raised_once()
-> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;
    let t = now_ms() - 5 * 60_000;
    // The owner logged in from home yesterday and this morning.
    let home = write_event(
        "home.json",
        &logins(
            "ivy",
            &[
                ("h1", t - 86_400_000, "192.0.2.44", true),
                ("h2", t - 3_600_000, "192.0.2.44", true),
            ],
        ),
    )?;
    f.invoke_file(&home)?.response()?;
    // The attacker's burst from two networks.
    let attack: Vec<(String, i64, String)> = (0..6)
        .map(|i| {
            (
                format!("a{i}"),
                t + i * 1000,
                format!(
                    "{}.{}",
                    if i % 2 == 0 {
                        "203.0.113"
                    } else {
                        "198.51.100"
                    },
                    i + 1
                ),
            )
        })
        .collect();
    let attack: Vec<(&str, i64, &str, bool)> = attack
        .iter()
        .map(|(id, at, ip)| (id.as_str(), *at, ip.as_str(), false))
        .collect();
    let burst = write_event("attack.json", &logins("ivy", &attack))?;
    let r = f.invoke_file(&burst)?.response()?;
    assert_eq!(r["locked"][0]["account"], "ivy", "{r}");
    assert!(
        !locked_for(&tables, "ivy", "192.0.2.0/24").await?,
        "the owner's network"
    );
    assert!(locked_for(&tables, "ivy", "203.0.113.0/24").await?);
    assert!(locked_for(&tables, "ivy", "198.51.100.0/24").await?);

    // One of the failing sources gets in.
    let win = write_event(
        "win.json",
        &logins("ivy", &[("w1", t + 60_000, "203.0.113.3", true)]),
    )?;
    let r = f.invoke_file(&win)?.response()?;
    assert_eq!(r["takeovers"][0], "ivy", "{r}");
    let before = tables.snapshot().await?;
    let again = f.invoke_file(&win)?.response()?;
    assert_eq!(
        tables.snapshot().await?,
        before,
        "a redelivery changed the tables: {again}"
    );
    let incidents = tables.incidents().await?;
    let takeovers: Vec<_> = incidents
        .iter()
        .filter(|i| attr(i, "kind") == Some("account-takeover"))
        .collect();
    assert_eq!(takeovers.len(), 1, "{incidents:#?}");
    assert_eq!(attr(takeovers[0], "severity"), Some("critical"));
    assert!(!f.function_log().contains("panicked"));
    Ok(())
}
