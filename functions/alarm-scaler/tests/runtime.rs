//! alarm-scaler as deployed: its bootstrap under `cargo lambda watch`, invoked with `cargo
//! lambda invoke --data-file` (or raw bytes through the Invoke API), against ministack's
//! Auto Scaling and CloudWatch and DynamoDB Local.
//!
//! The sample events name the group `web-asg` and its alarm `web-asg-cpu-high`; both tests
//! create them in this process's ministack and take turns with them (one holds [`WEB_ASG`]
//! at a time), so each sees only its own changes to the group's capacity.

use std::path::Path;

use anyhow::{Context, Result};
use apptrack_tests::bad_input::{
    RUNTIME_ERROR, check_broken_samples, event_files, expect_file_rejected, expect_nothing_written,
    expect_rejected, reject_hostile_and_random,
};
use apptrack_tests::runtime::{Deployed, local_stack_env};
use apptrack_tests::scaling::{create_managed_group, desired_capacity, put_cpu_alarm};
use apptrack_tests::{TestTables, attr, autoscaling_client, cloudwatch_client};
use tokio::sync::{Mutex, MutexGuard};

const GROUP: &str = "web-asg";
const ALARM: &str = "web-asg-cpu-high";

static WEB_ASG: Mutex<bool> = Mutex::const_new(false);

/// The sample alarm's group (desired 2 of 1..=10, managed by apptrack) and its CPU alarm
/// (average above 90 %), as its bench (`functions/alarm-scaler/bench.sh`) creates them; held until the guard
/// drops, with the group back at 2.
async fn web_asg() -> Result<MutexGuard<'static, bool>> {
    let mut created = WEB_ASG.lock().await;
    let asg = autoscaling_client();
    if !*created {
        create_managed_group(&asg, GROUP).await?;
        put_cpu_alarm(&cloudwatch_client(), ALARM, GROUP).await?;
        *created = true;
    }
    asg.set_desired_capacity()
        .auto_scaling_group_name(GROUP)
        .desired_capacity(2)
        .send()
        .await
        .context("SetDesiredCapacity")?;
    Ok(created)
}

/// The group's desired capacity, as ministack has it.
async fn desired() -> Result<i32> {
    desired_capacity(&autoscaling_client(), GROUP).await
}

fn deploy(tables: &TestTables) -> Result<Deployed> {
    Deployed::start(
        env!("CARGO_BIN_EXE_alarm-scaler").as_ref(),
        &local_stack_env(tables),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_alarm_scales_its_group_once_and_ok_resolves_the_incident() -> Result<()> {
    let _group = web_asg().await?;
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;

    // 97.2 % on 2 instances against a target of 72 % (90 × 0.8): ceil(2 × 1.35) = 3. The
    // decision uses the event's datapoints and the group's capacity, not the clock.
    let alarm = Path::new("events/alarm/cpu-high-alarm.json");
    let scaled = f.invoke_file(alarm)?.response()?;
    assert_eq!(scaled["action"], "scaled", "{scaled}");
    assert_eq!(scaled["desired"], 3, "{scaled}");
    assert_eq!(desired().await?, 3);
    let incidents = tables.incidents().await?;
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(attr(&incidents[0], "kind"), Some("saturation"));
    assert_eq!(attr(&incidents[0], "resource"), Some(GROUP));
    assert_eq!(attr(&incidents[0], "status"), Some("open"));
    let id = attr(&incidents[0], "id").context("the incident has no id")?;
    assert_eq!(scaled["incident_id"].as_str(), Some(id));

    // A redelivery of the same transition: no second scaling, nothing written.
    let before = tables.snapshot().await?;
    let again = f.invoke_file(alarm)?.response()?;
    assert_eq!(again["action"], "duplicate", "{again}");
    assert_eq!(desired().await?, 3, "scaled twice");
    assert_eq!(
        tables.snapshot().await?,
        before,
        "a redelivery changed the tables"
    );

    let ok = f
        .invoke_file(Path::new("events/alarm/cpu-high-ok.json"))?
        .response()?;
    assert_eq!(ok["action"], "resolved", "{ok}");
    assert_eq!(ok["incident_id"].as_str(), Some(id));
    let incidents = tables.incidents().await?;
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(attr(&incidents[0], "status"), Some("resolved"));
    assert_eq!(desired().await?, 3, "OK never scales");

    // The ALARM delivered again after the OK (a late retry): still the same transition.
    let before = tables.snapshot().await?;
    let late = f.invoke_file(alarm)?.response()?;
    assert_eq!(late["action"], "duplicate", "{late}");
    assert_eq!(desired().await?, 3, "scaled twice");
    assert_eq!(
        tables.snapshot().await?,
        before,
        "a redelivery changed the tables"
    );
    assert!(!f.function_log().contains("panicked"));
    Ok(())
}

/// What alarm-scaler answers to each broken sample: its error type and what the message
/// names. `alarm-bad-reasondata.json` ([`LENIENT`]) is not here: its alarm is whole, only
/// the datapoints are unreadable, and alarm-scaler reads them back from CloudWatch instead
/// (see the end of the bad-input test).
const BROKEN: [(&str, &str, &str); 14] = [
    (
        "alarm-missing-state.json",
        "Permanent.BadEvent",
        "missing field detail.state",
    ),
    ("alarm-not-json.json", RUNTIME_ERROR, ""),
    (
        "alarm-wrong-detail-type.json",
        "Permanent.BadEvent",
        "not a CloudWatch alarm event",
    ),
    (
        "auth-event-missing-timestamp.json",
        "Permanent.BadEvent",
        NOT_AN_ALARM,
    ),
    ("auth-gzip-bomb.json", "Permanent.BadEvent", NOT_AN_ALARM),
    (
        "deploy-missing-version.json",
        "Permanent.BadEvent",
        "not a CloudWatch alarm event",
    ),
    ("auth-missing-data.json", "Permanent.BadEvent", NOT_AN_ALARM),
    ("auth-not-base64.json", "Permanent.BadEvent", NOT_AN_ALARM),
    ("auth-not-gzip.json", "Permanent.BadEvent", NOT_AN_ALARM),
    ("logs-bad-gzip.json", "Permanent.BadEvent", NOT_AN_ALARM),
    ("logs-gzip-bomb.json", "Permanent.BadEvent", NOT_AN_ALARM),
    (
        "logs-invalid-base64.json",
        "Permanent.BadEvent",
        NOT_AN_ALARM,
    ),
    ("logs-missing-data.json", "Permanent.BadEvent", NOT_AN_ALARM),
    ("logs-not-json.json", "Permanent.BadEvent", NOT_AN_ALARM),
];
const LENIENT: &str = "alarm-bad-reasondata.json";
const NOT_AN_ALARM: &str = "neither `detail` nor `alarmData` is present";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_permanent_error_and_changes_nothing() -> Result<()> {
    let _group = web_asg().await?;
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;

    check_broken_samples(&f, &BROKEN, &[LENIENT])?;
    // Log batches are not alarms.
    for path in event_files("logs")?.into_iter().chain(event_files("auth")?) {
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

    assert_eq!(desired().await?, 2, "the group was scaled");
    expect_nothing_written(&tables, &f).await?;

    // The same process still answers: an OK with nothing open to resolve...
    let ok = f
        .invoke_file(Path::new("events/alarm/cpu-high-ok.json"))?
        .response()?;
    assert_eq!(ok["action"], "nothing", "{ok}");
    // ...and the alarm with unreadable reasonData, whose datapoints CloudWatch does not have
    // either: recorded, not acted on.
    let lenient = f
        .invoke_file(Path::new("events/broken").join(LENIENT))?
        .response()?;
    assert_eq!(lenient["action"], "no-change", "{lenient}");
    assert_eq!(desired().await?, 2);
    let incidents = tables.incidents().await?;
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(attr(&incidents[0], "kind"), Some("saturation"));
    Ok(())
}
