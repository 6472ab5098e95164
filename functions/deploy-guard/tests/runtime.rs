//! deploy-guard as deployed: its bootstrap under `cargo lambda watch`, invoked with every
//! sample of `events/deploy/` (and again), its markers read back from DynamoDB Local.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use apptrack_tests::TestTables;
use apptrack_tests::bad_input::{
    check_broken_samples_are, event_files, expect_file_rejected, expect_nothing_written,
    reject_hostile_and_random,
};
use apptrack_tests::runtime::{Deployed, dynamodb_env};

fn deploy(tables: &TestTables) -> Result<Deployed> {
    Deployed::start(
        env!("CARGO_BIN_EXE_deploy-guard").as_ref(),
        &dynamodb_env(tables),
    )
}

/// The markers in the state table (partition `DEPLOYS`).
async fn markers(tables: &TestTables) -> Result<Vec<aws_sdk_dynamodb::types::AttributeValue>> {
    let out = tables
        .client
        .query()
        .table_name(&tables.state)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("DEPLOYS".into()),
        )
        .send()
        .await
        .context("Query DEPLOYS")?;
    Ok(out
        .items()
        .iter()
        .map(|i| aws_sdk_dynamodb::types::AttributeValue::M(i.clone()))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_announcement_is_one_marker_and_a_redelivery_changes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;
    let samples = event_files("deploy")?;
    ensure!(samples.len() >= 6, "{samples:?}");
    for path in &samples {
        let out = f.invoke_file(path)?.response()?;
        ensure!(out["action"] == "recorded", "{}: {out}", path.display());
    }
    // CodeDeploy's start and success are one deployment.
    let found = markers(&tables).await?;
    ensure!(found.len() == samples.len() - 1, "{found:#?}");
    let before = tables.snapshot().await?;
    for path in &samples {
        let out = f.invoke_file(path)?.response()?;
        ensure!(out["action"] == "unchanged", "{}: {out}", path.display());
    }
    ensure!(
        tables.snapshot().await? == before,
        "a redelivery changed the tables"
    );

    let alias = f
        .invoke_file(Path::new("events/deploy/lambda-update-alias.json"))?
        .response()?;
    ensure!(
        alias["deployment"]["target"] == "checkout:live"
            && alias["deployment"]["to_version"] == "42",
        "{alias}"
    );
    ensure!(!f.function_log().contains("panicked"));
    Ok(())
}

const NOT_A_DEPLOYMENT: &str = "not a deployment event";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_permanent_error_and_changes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;
    // The custom deployment event without a version names the field; the rest is not a
    // deployment at all.
    check_broken_samples_are(
        &f,
        "Permanent.BadEvent",
        NOT_A_DEPLOYMENT,
        &[(
            "deploy-missing-version.json",
            "Permanent.MissingField",
            "missing field detail.version",
        )],
    )?;
    // Alarms and log batches are not deployments.
    for path in event_files("alarm")?
        .into_iter()
        .chain(event_files("logs")?)
        .chain(event_files("auth")?)
    {
        expect_file_rejected(&path, &f.invoke_file(&path)?)?;
    }
    reject_hostile_and_random(&f)?;
    expect_nothing_written(&tables, &f).await?;
    Ok(())
}
