//! capacity-forecast as deployed: its bootstrap under `cargo lambda watch`, invoked with the
//! schedule's payload, against ministack's CloudWatch and Auto Scaling and DynamoDB Local.
//!
//! ministack keeps two weeks of metrics by its own clock, so the history is written relative
//! to now; each test's alarms carry a unique name prefix, which the function is told
//! (`APPTRACK_FORECAST_ALARM_PREFIX`), so tests running at once never see each other's.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use apptrack_tests::bad_input::{
    check_broken_samples_are, event_files, expect_file_rejected, expect_nothing_written,
    reject_hostile_and_random,
};
use apptrack_tests::forecast::{climb, put_forecast_alarm, put_history};
use apptrack_tests::runtime::{Deployed, local_stack_env};
use apptrack_tests::scaling::{create_managed_group, desired_capacity};
use apptrack_tests::{TestTables, attr, autoscaling_client, cloudwatch_client};

fn deploy(tables: &TestTables, prefix: &str) -> Result<Deployed> {
    let mut env = local_stack_env(tables);
    env.push(("APPTRACK_FORECAST_ALARM_PREFIX", prefix.to_owned()));
    Deployed::start(env!("CARGO_BIN_EXE_capacity-forecast").as_ref(), &env)
}

fn unique(what: &str) -> String {
    format!("{what}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default(),
    )
    .unwrap_or(i64::MAX)
}

async fn desired(group: &str) -> Result<i32> {
    desired_capacity(&autoscaling_client(), group).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_climbing_metric_opens_one_incident_and_scales_its_group_once() -> Result<()> {
    let tables = TestTables::new().await?;
    let prefix = unique("fc");
    let cw = cloudwatch_client();
    let now = now_ms();

    // A group's CPU climbing 5 points an hour from 60: 80 in about 4 h from the 6 h of history
    // (critical, and within the scale lead); a disk on a database host filling 1 % an hour
    // from 70 %: 90 % in about 14 h (a warning, no group); a flat memory metric far from its
    // limit: nothing.
    let group = unique("fc-asg");
    create_managed_group(&autoscaling_client(), &group).await?;
    let cpu = format!("{prefix}-cpu");
    put_history(
        &cw,
        ("AWS/EC2", "CPUUtilization"),
        ("AutoScalingGroupName", &group),
        &climb(now - 60_000, 6, 50.0, 5.0),
    )
    .await?;
    put_forecast_alarm(
        &cw,
        &cpu,
        ("AWS/EC2", "CPUUtilization"),
        ("AutoScalingGroupName", &group),
        80.0,
        &[],
    )
    .await?;
    let host = unique("db");
    let disk = format!("{prefix}-disk");
    put_history(
        &cw,
        ("CWAgent", "disk_used_percent"),
        ("host", &host),
        &climb(now - 60_000, 6, 64.0, 1.0),
    )
    .await?;
    put_forecast_alarm(
        &cw,
        &disk,
        ("CWAgent", "disk_used_percent"),
        ("host", &host),
        90.0,
        &[("apptrack:service", "orders-db")],
    )
    .await?;
    let mem = format!("{prefix}-mem");
    put_history(
        &cw,
        ("CWAgent", "mem_used_percent"),
        ("host", &host),
        &climb(now - 60_000, 6, 40.0, 0.0),
    )
    .await?;
    put_forecast_alarm(
        &cw,
        &mem,
        ("CWAgent", "mem_used_percent"),
        ("host", &host),
        90.0,
        &[],
    )
    .await?;

    let f = deploy(&tables, &prefix)?;
    let schedule = Path::new("events/forecast/schedule.json");
    let out = f.invoke_file(schedule)?.response()?;
    let targets = out["targets"].as_array().context("targets")?;
    ensure!(targets.len() == 3, "{out:#}");
    let of = |alarm: &str| {
        targets
            .iter()
            .find(|t| t["alarm"] == alarm)
            .cloned()
            .unwrap_or_default()
    };
    ensure!(of(&cpu)["assessment"]["at-risk"] == "critical", "{out:#}");
    ensure!(of(&cpu)["incident"] == "opened", "{out:#}");
    ensure!(of(&disk)["assessment"]["at-risk"] == "high", "{out:#}");
    ensure!(of(&mem)["assessment"] == "calm", "{out:#}");
    ensure!(
        out["metric_calls"].as_u64().is_some_and(|c| c >= 2),
        "{out:#}"
    );
    // 2 instances at 80 against a target of 64 (80 × 0.8): ceil(2 × 1.25) = 3.
    ensure!(desired(&group).await? == 3, "{out:#}");
    ensure!(
        of(&cpu)["action"]
            .as_str()
            .is_some_and(|a| a.starts_with("scaled")),
        "{out:#}"
    );

    let incidents = tables.incidents().await?;
    ensure!(incidents.len() == 2, "{incidents:#?}");
    ensure!(
        incidents
            .iter()
            .all(|i| attr(i, "kind") == Some("capacity-forecast"))
    );
    let db = incidents
        .iter()
        .find(|i| attr(i, "service") == Some("orders-db"))
        .context("the disk's incident")?;
    ensure!(attr(db, "severity") == Some("high"), "{db:#?}");
    ensure!(
        attr(db, "title").is_some_and(|t| t.contains("disk_used_percent") && t.contains("90")),
        "{db:#?}"
    );

    // The schedule event delivered again (Lambda's async retry) changes nothing.
    let before = tables.snapshot().await?;
    let again = f.invoke_file(schedule)?.response()?;
    ensure!(
        tables.snapshot().await? == before,
        "a redelivery changed the tables: {again:#}"
    );
    ensure!(desired(&group).await? == 3, "scaled twice: {again:#}");
    ensure!(!f.function_log().contains("panicked"));
    Ok(())
}

const NOT_A_SCHEDULE: &str = "schedule";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_permanent_error_and_changes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables, &unique("none"))?;
    check_broken_samples_are(&f, "Permanent.BadEvent", NOT_A_SCHEDULE, &[])?;
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
    Ok(())
}
