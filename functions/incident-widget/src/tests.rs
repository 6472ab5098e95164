//! Unit tests of the handler over the in-memory store: given a sample from `events/widget/`,
//! when handled, then this list, this popup, or this error.

use std::time::Duration;

use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::failure::Failure as _;
use apptrack_core::incident::{DedupKey, IncidentKind, Occurrence, Severity, TimelineEntry, Title};
use apptrack_core::store::RecordIncidents;
use apptrack_core::store::memory::MemoryIncidentStore;
use serde_json::{Value, json};

use crate::handler::*;

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
}

const NOW: &str = "2026-11-24T12:00:00Z";

fn widget(max: Option<&str>) -> Widget<MemoryIncidentStore, ManualClock> {
    let max = max.map(str::to_string);
    let settings = Settings::from_lookup(move |k| match k {
        "INCIDENTS_TABLE" => Some("i".into()),
        "STATE_TABLE" => Some("s".into()),
        "APPTRACK_WIDGET_MAX_INCIDENTS" => max.clone(),
        _ => None,
    })
    .expect("settings");
    Widget {
        incidents: MemoryIncidentStore::new(),
        clock: ManualClock::new(Timestamp::parse(NOW).expect("time")),
        settings,
    }
}

async fn raise(
    w: &Widget<MemoryIncidentStore, ManualClock>,
    title: &str,
    minutes_ago: u64,
) -> String {
    let at = Timestamp::parse(NOW)
        .expect("time")
        .saturating_sub(Duration::from_secs(minutes_ago * 60));
    let key =
        DedupKey::new("alarm-scaler", IncidentKind::Saturation, "web-asg", title).expect("key");
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
    let raised = w.incidents.raise(&occ).await.expect("raise");
    w.incidents
        .append_timeline(
            &raised.id,
            &TimelineEntry::new(at, "alarm-scaler", "scaled", "web-asg desired 4 -> 8"),
        )
        .await
        .expect("timeline");
    raised.id.to_string()
}

#[tokio::test]
async fn lists_open_incidents_newest_first_with_a_popup_per_row() {
    let w = widget(None);
    raise(&w, "CPU high on web-asg", 90).await;
    raise(&w, "Requests surge <script>alert(1)</script>", 3).await;
    let Shown(html) = w.handle(&sample("widget/list.json")).await.expect("list");
    let surge = html.find("Requests surge").expect("newer row");
    let cpu = html.find("CPU high").expect("older row");
    assert!(surge < cpu, "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"));
    assert!(html.contains("scaled: web-asg desired 4 -&gt; 8"), "{html}");
    assert!(
        html.contains("<cwdb-action action=\"call\" display=\"popup\""),
        "{html}"
    );
    assert!(html.contains(">1h 30m<") && html.contains(">3m<"), "{html}");
}

#[tokio::test]
async fn the_popup_shows_one_incident_and_a_gone_one_says_so() {
    let w = widget(None);
    let id = raise(&w, "CPU high on web-asg", 10).await;
    let mut call = sample("widget/list.json");
    call["incident"] = json!(id);
    let Shown(html) = w.handle(&call).await.expect("detail");
    assert!(
        html.contains("<h2>Timeline</h2>") && html.contains("scaled"),
        "{html}"
    );
    assert!(html.contains(&format!("apptrack incidents show {id}")));
    call["incident"] = json!("01JD0000000000000000000000");
    let Shown(gone) = w.handle(&call).await.expect("gone");
    assert!(gone.contains("is not in the table any more"), "{gone}");
}

#[tokio::test]
async fn caps_the_rows_and_says_more_exist() {
    let w = widget(Some("3"));
    for i in 0..5 {
        raise(&w, &format!("incident {i}"), 10 + i).await;
    }
    let Shown(html) = w.handle(&sample("widget/list.json")).await.expect("list");
    assert_eq!(html.matches("<tr><td>").count(), 3, "{html}");
    assert!(html.contains("more exist"));
    // The widget's own limit can only ask for fewer.
    let Shown(html) = w
        .handle(&sample("widget/open-only.json"))
        .await
        .expect("list");
    assert_eq!(html.matches("<tr><td>").count(), 3);
}

#[tokio::test]
async fn empty_describe_and_broken_calls() {
    let w = widget(None);
    let Shown(html) = w.handle(&sample("widget/list.json")).await.expect("list");
    assert!(html.contains("No open incidents"));
    let Shown(doc) = w
        .handle(&sample("widget/describe.json"))
        .await
        .expect("describe");
    assert!(doc.starts_with("## apptrack incidents"));
    for (file, error_type, says) in [
        ("limit-zero.json", "Permanent.BadParam", "`limit`"),
        ("bad-status.json", "Permanent.BadParam", "`status`"),
        ("bad-incident-id.json", "Permanent.BadParam", "`incident`"),
        ("bad-endpoint.json", "Permanent.BadParam", "`endpoint`"),
        (
            "no-widget-context.json",
            "Permanent.BadEvent",
            "widgetContext",
        ),
    ] {
        let err = w
            .handle(&sample(&format!("widget/broken/{file}")))
            .await
            .expect_err(file);
        assert_eq!(err.error_type(), error_type, "{file}");
        assert!(err.to_string().contains(says), "{file}: {err}");
    }
    let err = w
        .handle(&sample("alarm/cpu-high-alarm.json"))
        .await
        .expect_err("alarm");
    assert_eq!(err.error_type(), "Permanent.BadEvent");
}
