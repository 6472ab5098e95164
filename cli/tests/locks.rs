//! `apptrack locks` against DynamoDB Local: a burst from `events/auth/` locks an account, then
//! the built binary lists it, checks it (exit 1; with --source, 0 for the owner's familiar
//! prefix and 1 for the attacker's), unlocks it with a note, and checks again (exit 0).

mod common;

use std::process::Command;

use apptrack_aws::dynamodb::guard::DynamoGuardStore;
use apptrack_core::clock::{ManualClock, Timestamp};
use apptrack_core::store::ReadIncidents;
use apptrack_tests::{TestTables, repo_root};
use common::{apptrack, stdout};
use login_guard::handler::{Guard, Settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_check_unlock_a_lock_set_by_login_guard() {
    let t = TestTables::new().await.expect("tables");
    let tables = [
        ("INCIDENTS_TABLE", t.incidents.clone()),
        ("STATE_TABLE", t.state.clone()),
    ];
    let settings =
        Settings::from_lookup(|k| tables.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("settings");
    // Events from the last minutes, so the 15-minute lock is still running now.
    let now = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    );
    let file = std::env::temp_dir().join(format!("apptrack-locks-{}.json", std::process::id()));
    let status = Command::new("python3")
        .arg(repo_root().join("scripts/gen-auth-events.py"))
        .args(["--now", "--only", "burst-one-account", "--out"])
        .arg(&file)
        .status()
        .expect("python3");
    assert!(status.success());
    let guard = Guard::new(
        DynamoGuardStore::new(t.client.clone(), &t.state),
        t.store(),
        ManualClock::new(now),
        settings,
    );
    let body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("payload")).expect("a JSON event");
    let r = guard.handle(&body).await.expect("handled");
    assert_eq!(r.locked.len(), 1, "{r:?}");
    let incident = r.locked[0].incident_id.clone();

    let list = apptrack(&t, &["locks", "list", "--json"]);
    assert!(list.status.success(), "{list:?}");
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(v[0]["account"], "alice@example.com");
    assert_eq!(v[0]["locked"], true);

    let check = apptrack(&t, &["locks", "check", "alice@example.com"]);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    assert!(
        stdout(&check).contains("is locked until"),
        "{}",
        stdout(&check)
    );
    let other = apptrack(&t, &["locks", "check", "bob@example.com"]);
    assert_eq!(other.status.code(), Some(0));
    // alice logged in from 192.0.2.44 during the burst: her /24 is familiar, not locked.
    let home = apptrack(
        &t,
        &[
            "locks",
            "check",
            "alice@example.com",
            "--source",
            "192.0.2.99",
        ],
    );
    assert_eq!(home.status.code(), Some(0), "{home:?}");
    assert!(
        stdout(&home).contains("192.0.2.0/24 is a familiar source"),
        "{}",
        stdout(&home)
    );
    let attacker = apptrack(
        &t,
        &[
            "locks",
            "check",
            "alice@example.com",
            "--source",
            "198.51.100.10:4711",
        ],
    );
    assert_eq!(attacker.status.code(), Some(1), "{attacker:?}");
    assert!(stdout(&attacker).contains("is locked for 198.51.100.10 until"));
    let bad = apptrack(
        &t,
        &[
            "locks",
            "check",
            "alice@example.com",
            "--source",
            "not-an-ip",
        ],
    );
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a usage error, not \"locked\": {bad:?}"
    );

    let unlock = apptrack(
        &t,
        &[
            "locks",
            "unlock",
            "alice@example.com",
            "--note",
            "verified by phone",
        ],
    );
    assert!(unlock.status.success(), "{unlock:?}");
    let check = apptrack(&t, &["locks", "check", "alice@example.com"]);
    assert_eq!(check.status.code(), Some(0), "{check:?}");
    let again = apptrack(&t, &["locks", "unlock", "alice@example.com", "--note", "x"]);
    assert_eq!(again.status.code(), Some(1));

    let id = incident.parse().expect("id");
    let timeline = t.store().timeline(&id, now).await.expect("timeline");
    assert!(
        timeline
            .iter()
            .any(|e| e.action == "unlocked" && e.detail.contains("verified by phone")),
        "{timeline:?}"
    );
    let _ = std::fs::remove_file(file);
}
