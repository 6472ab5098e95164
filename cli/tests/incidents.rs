//! `apptrack incidents` against DynamoDB Local: an incident of a kind this build does not
//! know (written raw, as a newer function would write it) is listed and shown, as a table
//! and as JSON, next to one of a known kind, and can be acknowledged.

mod common;

use apptrack_core::clock::Timestamp;
use apptrack_core::incident::{DedupKey, IncidentKind, Occurrence, Severity, Status, Title};
use apptrack_core::store::{ReadIncidents, RecordIncidents};
use apptrack_tests::TestTables;
use common::{apptrack, stdout};

fn now() -> Timestamp {
    Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_show_an_incident_of_a_kind_this_build_does_not_know() {
    let t = TestTables::new().await.expect("tables");
    let now = now();
    let earlier = Timestamp::from_secs(now.as_secs() - 60);
    let key =
        DedupKey::new("alarm-scaler", IncidentKind::Saturation, "web-asg", "cpu").expect("key");
    let known = t
        .store()
        .raise(&Occurrence::new(
            key,
            IncidentKind::Saturation,
            Severity::High,
            "alarm-scaler",
            "web",
            "web-asg",
            Title::new("CPU above 90 %").expect("title"),
            earlier,
        ))
        .await
        .expect("raise")
        .id;
    let unknown = t
        .put_raw_incident("deployment-regression", "checkout", now)
        .await
        .expect("raw item");

    let list = apptrack(&t, &["incidents", "list"]);
    assert!(list.status.success(), "{list:?}");
    let table = stdout(&list);
    let line = |id: &str| {
        table
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("no line for {id} in\n{table}"))
            .to_string()
    };
    assert!(
        line(unknown.as_str()).contains("deployment-regression"),
        "{table}"
    );
    assert!(line(known.as_str()).contains("saturation"), "{table}");

    let list = apptrack(&t, &["incidents", "list", "--json"]);
    assert!(list.status.success(), "{list:?}");
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let kinds: Vec<(&str, &str)> = v
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            (unknown.as_str(), "deployment-regression"),
            (known.as_str(), "saturation")
        ]
    );

    let show = apptrack(&t, &["incidents", "show", unknown.as_str()]);
    assert!(show.status.success(), "{show:?}");
    let text = stdout(&show);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["kind", "deployment-regression"])),
        "{text}"
    );
    assert!(text.contains("p99 latency up 40 % after v42"), "{text}");
    let show = apptrack(&t, &["incidents", "show", unknown.as_str(), "--json"]);
    assert!(show.status.success(), "{show:?}");
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(v["kind"], "deployment-regression");
    assert_eq!(v["timeline"][0]["action"], "opened");

    let ack = apptrack(
        &t,
        &["incidents", "ack", unknown.as_str(), "--note", "mine"],
    );
    assert!(ack.status.success(), "{ack:?}");
    let inc = t.store().get(&unknown, now).await.expect("get");
    assert_eq!(inc.status, Status::Acknowledged);
    assert_eq!(inc.kind.as_str(), "deployment-regression");
}
