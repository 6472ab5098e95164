//! error-analyzer as deployed: its bootstrap under `cargo lambda watch`, invoked with `cargo
//! lambda invoke --data-file` (or raw bytes through the Invoke API), its effects read back
//! from DynamoDB Local.

use std::path::Path;

use anyhow::Result;
use apptrack_tests::bad_input::{
    LOG_SUBSCRIPTION_BROKEN, check_broken_samples, event_files, expect_file_rejected,
    expect_nothing_written, reject_hostile_and_random,
};
use apptrack_tests::runtime::{Deployed, dynamodb_env};
use apptrack_tests::{TestTables, attr};

fn deploy(tables: &TestTables) -> Result<Deployed> {
    Deployed::start(
        env!("CARGO_BIN_EXE_error-analyzer").as_ref(),
        &dynamodb_env(tables),
    )
}

/// The sample burst: 28 of the batch's 29 errors name api.payments.example. Its decisions
/// use the log events' own times, so it needs no re-timing.
const BURST: &str = "events/logs/dependency-failure-burst.json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependency_failure_burst_opens_one_incident_and_a_redelivery_changes_nothing()
-> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;

    let first = f.invoke_file(Path::new(BURST))?.response()?;
    assert_eq!(first["status"], "processed", "{first}");
    let incidents = tables.incidents().await?;
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let incident = &incidents[0];
    assert_eq!(attr(incident, "kind"), Some("dependency-failure"));
    assert_eq!(attr(incident, "resource"), Some("api.payments.example"));
    assert_eq!(attr(incident, "status"), Some("open"));
    assert_eq!(first["incidents"][0]["id"].as_str(), attr(incident, "id"));
    assert_eq!(first["incidents"].as_array().map(Vec::len), Some(1));

    let before = tables.snapshot().await?;
    let again = f.invoke_file(Path::new(BURST))?.response()?;
    assert_eq!(again["status"], "duplicate", "{again}");
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
    // An alarm is not a log batch. (Authentication logs are: they are valid input here.)
    for path in event_files("alarm")? {
        expect_file_rejected(&path, &f.invoke_file(&path)?)?;
    }
    reject_hostile_and_random(&f)?;

    expect_nothing_written(&tables, &f).await?;
    // The same process still does real work.
    let after = f
        .invoke_file(Path::new("events/logs/code-error.json"))?
        .response()?;
    assert_eq!(after["status"], "processed", "{after}");
    assert!(
        after["error_lines"].as_u64().is_some_and(|n| n > 0),
        "{after}"
    );
    Ok(())
}
