//! The views, for real: `apptrack incidents show` and `report` against DynamoDB Local, then
//! the report and the dashboard widget's HTML rendered by headless Chromium (Debian's
//! package, which `make tools` installs), each with a screenshot under target/tmp/views/.
//! Asserts what a person sees: the content, a `<script>` title shown as text (not run), and
//! the empty states.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use apptrack_core::clock::{Clock, SystemClock, Timestamp};
use apptrack_core::incident::{
    DedupKey, Evidence, IncidentKind, Occurrence, Severity, TimelineEntry, Title,
};
use apptrack_core::store::{Listed, ReadIncidents, RecordIncidents};
use apptrack_core::view::{BoardOptions, render_board};
use apptrack_tests::TestTables;
use common::{apptrack, stdout};

/// A title that, if it ran, would rename the page: the browser test checks it did not.
const HOSTILE: &str = "<script>document.title='pwned'</script> checkout 500s";

fn views_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("views");
    std::fs::create_dir_all(&dir).expect("views dir");
    dir
}

/// An error spike with its per-minute counts (as error-analyzer records them), timeline
/// entries, and optionally resolved.
async fn spike(t: &TestTables, title: &str, at: Timestamp, resolve_after: Option<u64>) -> Listed {
    let store = t.store();
    let key = DedupKey::new(
        "error-analyzer",
        IncidentKind::ErrorSpike,
        "checkout",
        title,
    )
    .expect("key");
    let minute = at.as_millis() / 60_000 * 60_000;
    let per_minute: Vec<[i64; 2]> = [1, 2, 1, 3, 40, 55]
        .iter()
        .enumerate()
        .map(|(i, n)| [minute - (5 - i as i64) * 60_000, *n])
        .collect();
    let occ = Occurrence {
        summary: "Errors rose to 55 in a minute against a baseline of 1.4".into(),
        evidence: vec![Evidence::new(
            at,
            "errors in the minute",
            serde_json::json!({ "per_minute": per_minute }),
        )],
        ..Occurrence::new(
            key,
            IncidentKind::ErrorSpike,
            Severity::High,
            "error-analyzer",
            "checkout",
            "/aws/lambda/checkout",
            Title::truncated(title),
            at,
        )
    };
    let id = store.raise(&occ).await.expect("raise").id;
    let note = TimelineEntry::new(
        at,
        "error-analyzer",
        "noted",
        "dependency payments.example.com",
    );
    store.append_timeline(&id, &note).await.expect("note");
    if let Some(after) = resolve_after {
        let done = TimelineEntry::new(
            at.saturating_add(Duration::from_secs(after)),
            "cli:tester",
            "resolved",
            "",
        );
        store
            .resolve(&id, &done, Duration::from_secs(30 * 86_400))
            .await
            .expect("resolve");
    }
    let now = SystemClock.now();
    Listed {
        incident: store.get(&id, now).await.expect("get"),
        timeline: store.timeline(&id, now).await.expect("timeline"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_draws_a_sparkline_and_report_writes_the_page() {
    let t = TestTables::new().await.expect("tables");
    let now = SystemClock.now();
    let open = spike(&t, HOSTILE, now.plus_millis(-3_600_000), None).await;
    spike(
        &t,
        "Timeouts calling payments",
        now.plus_millis(-2 * 86_400_000),
        Some(1_800),
    )
    .await;

    // Not a terminal (the test reads a pipe): plain numbers, no blocks.
    let show = apptrack(&t, &["incidents", "show", open.incident.id.as_str()]);
    assert!(show.status.success(), "{show:?}");
    let text = stdout(&show);
    assert!(text.contains("errors per minute: 6 points"), "{text}");
    assert!(text.contains("\n  1 2 1 3 40 55\n"), "{text}");
    assert!(!text.contains('▁'), "{text}");
    assert!(
        text.contains(" 1. ") && text.contains("opened by error-analyzer"),
        "{text}"
    );
    assert!(
        text.contains("      dependency payments.example.com"),
        "{text}"
    );

    let page = views_dir().join("report.html");
    let report = apptrack(
        &t,
        &[
            "incidents",
            "report",
            "--since",
            "7d",
            "--html",
            page.to_str().expect("path"),
        ],
    );
    assert!(report.status.success(), "{report:?}");
    assert!(
        stdout(&report).contains("2 incidents"),
        "{}",
        stdout(&report)
    );
    let html = std::fs::read_to_string(&page).expect("report");
    assert!(
        html.contains("&lt;script&gt;") && !html.contains("<script>"),
        "{html}"
    );
    assert!(html.contains("1 still open or acknowledged, 1 resolved; mean time to resolve 30m"));
    let dom = chromium(&page, "report");
    assert!(
        dom.contains("<title>apptrack incidents,"),
        "the script ran: {dom}"
    );
    assert!(
        dom.contains("Incidents per day, by kind") && dom.contains("error-spike"),
        "{dom}"
    );
    assert!(dom.contains("&lt;script&gt;document.title="), "{dom}");

    let empty = TestTables::new().await.expect("tables");
    let page = views_dir().join("report-empty.html");
    let report = apptrack(
        &empty,
        &[
            "incidents",
            "report",
            "--html",
            page.to_str().expect("path"),
        ],
    );
    assert!(report.status.success(), "{report:?}");
    assert!(chromium(&page, "report-empty").contains("No incidents in this period."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_renders_in_a_browser_escaped_and_empty() {
    let t = TestTables::new().await.expect("tables");
    let now = SystemClock.now();
    let items = vec![
        spike(&t, HOSTILE, now.plus_millis(-120_000), None).await,
        spike(
            &t,
            "Timeouts calling payments",
            now.plus_millis(-7_200_000),
            None,
        )
        .await,
    ];
    let opts = BoardOptions {
        endpoint: Some("arn:aws:lambda:eu-west-1:123456789012:function:widget".into()),
        more: false,
    };
    let page = widget_page("widget", &render_board(&items, now, &opts));
    let dom = chromium(&page, "widget");
    assert!(
        dom.contains("<title>apptrack widget</title>"),
        "the script ran: {dom}"
    );
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt; checkout 500s"));
    assert!(
        dom.contains("2 incidents (2 open, 0 acknowledged)"),
        "{dom}"
    );
    assert!(
        dom.contains("noted: dependency payments.example.com"),
        "{dom}"
    );
    assert!(
        dom.find("checkout 500s") < dom.find("Timeouts calling payments"),
        "{dom}"
    );

    let page = widget_page("widget-empty", &render_board(&[], now, &opts));
    assert!(chromium(&page, "widget-empty").contains("No open incidents."));
}

/// The widget's fragment in a page, as the dashboard embeds it.
fn widget_page(name: &str, fragment: &str) -> PathBuf {
    let path = views_dir().join(format!("{name}.html"));
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>apptrack widget</title>\
         </head><body style=\"width:1200px\">{fragment}</body></html>"
    );
    std::fs::write(&path, html).expect("widget page");
    path
}

/// Renders `page` in headless Chromium: saves `<name>.png` beside it and returns the DOM
/// after parsing (and any script running).
fn chromium(page: &Path, name: &str) -> String {
    let png = views_dir().join(format!("{name}.png"));
    let profile = views_dir().join(format!("profile-{name}"));
    let run = |extra: &str| {
        let out = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--hide-scrollbars",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap_or_else(|e| panic!("chromium not found ({e}): run `make tools`"));
        assert!(out.status.success(), "chromium {extra}: {out:?}");
        out
    };
    let _ = std::fs::remove_file(&png);
    run(&format!("--screenshot={}", png.display()));
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 1_000,
        "no screenshot at {} ({size} bytes)",
        png.display()
    );
    String::from_utf8_lossy(&run("--dump-dom").stdout).into_owned()
}
