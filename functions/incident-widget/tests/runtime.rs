//! incident-widget as deployed: its bootstrap under `cargo lambda watch`, called with the
//! samples of `events/widget/` as a dashboard would, over incidents in DynamoDB Local.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use apptrack_core::clock::{Clock, SystemClock};
use apptrack_core::incident::{DedupKey, IncidentKind, Occurrence, Severity, TimelineEntry, Title};
use apptrack_core::store::RecordIncidents;
use apptrack_tests::TestTables;
use apptrack_tests::bad_input::{
    check_broken_samples_are, event_files, expect_file_rejected, expect_nothing_written,
    reject_hostile_and_random,
};
use apptrack_tests::runtime::{Deployed, dynamodb_env};

fn deploy(tables: &TestTables) -> Result<Deployed> {
    Deployed::start(
        env!("CARGO_BIN_EXE_incident-widget").as_ref(),
        &dynamodb_env(tables),
    )
}

/// The HTML a call answers (Lambda returns it as a JSON string).
fn html(f: &Deployed, path: impl AsRef<Path>) -> Result<String> {
    let out = f.invoke_file(path.as_ref())?.response()?;
    out.as_str()
        .map(str::to_owned)
        .with_context(|| format!("{}: not a string: {out}", path.as_ref().display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_what_is_open_and_opens_one_incident() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;
    ensure!(html(&f, "events/widget/list.json")?.contains("No open incidents"));

    let store = tables.store();
    let now = SystemClock.now();
    let mut ids = Vec::new();
    for (n, title) in [
        "CPU high on web-asg",
        "<script>alert('x')</script> in checkout",
    ]
    .iter()
    .enumerate()
    {
        let at = now.plus_millis(-((n as i64 + 1) * 60_000));
        let key = DedupKey::new("alarm-scaler", IncidentKind::Saturation, "web-asg", title)?;
        let occ = Occurrence::new(
            key,
            IncidentKind::Saturation,
            Severity::High,
            "alarm-scaler",
            "web",
            "web-asg",
            Title::truncated(title),
            at,
        );
        let id = store.raise(&occ).await?.id;
        store
            .append_timeline(
                &id,
                &TimelineEntry::new(at, "alarm-scaler", "scaled", "web-asg desired 4 -> 8"),
            )
            .await?;
        ids.push(id);
    }
    let list = html(&f, "events/widget/list.json")?;
    ensure!(
        list.contains("2 incidents (2 open, 0 acknowledged)"),
        "{list}"
    );
    ensure!(
        list.find("CPU high") < list.find("&lt;script&gt;"),
        "newest first: {list}"
    );
    ensure!(!list.contains("<script>"), "{list}");
    ensure!(list.contains("scaled: web-asg desired 4 -&gt; 8"), "{list}");

    let detail = apptrack_tests::runtime::write_event(
        "detail.json",
        serde_json::json!({"incident": ids[0].to_string(), "widgetContext": {}})
            .to_string()
            .as_bytes(),
    )?;
    let popup = html(&f, &detail)?;
    ensure!(
        popup.contains("CPU high on web-asg") && popup.contains("<h2>Timeline</h2>"),
        "{popup}"
    );
    ensure!(html(&f, "events/widget/describe.json")?.starts_with("## apptrack incidents"));
    ensure!(!f.function_log().contains("panicked"));
    Ok(())
}

const NOT_A_WIDGET: &str = "not a custom widget event";

/// The widget's own broken calls: each names the parameter.
const BROKEN_CALLS: [(&str, &str, &str); 5] = [
    ("bad-endpoint.json", "Permanent.BadParam", "`endpoint`"),
    ("bad-incident-id.json", "Permanent.BadParam", "`incident`"),
    ("bad-status.json", "Permanent.BadParam", "`status`"),
    ("limit-zero.json", "Permanent.BadParam", "`limit`"),
    (
        "no-widget-context.json",
        "Permanent.BadEvent",
        "widgetContext",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_permanent_error_and_changes_nothing() -> Result<()> {
    let tables = TestTables::new().await?;
    let f = deploy(&tables)?;
    check_broken_samples_are(&f, "Permanent.BadEvent", NOT_A_WIDGET, &[])?;
    let calls = event_files("widget/broken")?;
    ensure!(calls.len() == BROKEN_CALLS.len(), "{calls:?}");
    for (file, error_type, says) in BROKEN_CALLS {
        let path = Path::new("events/widget/broken").join(file);
        let out = f.invoke_file(&path)?;
        expect_file_rejected(&path, &out)?;
        let apptrack_tests::runtime::Outcome::Error {
            error_type: got,
            message,
        } = &out
        else {
            anyhow::bail!("{file}: expected an error, got {out:?}");
        };
        ensure!(
            got == error_type && message.contains(says),
            "{file}: expected {error_type} saying {says:?}, got {got}: {message}"
        );
    }
    for path in event_files("alarm")?
        .into_iter()
        .chain(event_files("logs")?)
        .chain(event_files("deploy")?)
    {
        expect_file_rejected(&path, &f.invoke_file(&path)?)?;
    }
    reject_hostile_and_random(&f)?;
    expect_nothing_written(&tables, &f).await?;
    Ok(())
}
