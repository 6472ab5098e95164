//! `apptrack deploy` against DynamoDB Local: the built binary marks two deployments of one
//! target, the second names the first's version as the one it replaced, and lists them.

mod common;

use apptrack_tests::TestTables;
use common::{apptrack, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_then_list_deployments() {
    let t = TestTables::new().await.expect("tables");
    let first = apptrack(
        &t,
        &[
            "deploy",
            "mark",
            "--service",
            "checkout",
            "--target",
            "checkout:live",
            "--version",
            "41",
            "--actor",
            "ci@example.com",
        ],
    );
    assert!(first.status.success(), "{first:?}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = apptrack(
        &t,
        &[
            "deploy",
            "mark",
            "--service",
            "checkout",
            "--target",
            "checkout:live",
            "--version",
            "42",
        ],
    );
    assert!(second.status.success(), "{second:?}");
    assert!(
        stdout(&second).contains("checkout:live 41 -> 42 by cli:"),
        "{}",
        stdout(&second)
    );
    // Marking the same deployment again changes nothing.
    let again = apptrack(
        &t,
        &[
            "deploy",
            "mark",
            "--service",
            "checkout",
            "--target",
            "checkout:live",
            "--version",
            "42",
        ],
    );
    assert!(again.status.success(), "{again:?}");

    let list = apptrack(&t, &["deploy", "list", "--service", "checkout", "--json"]);
    assert!(list.status.success(), "{list:?}");
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let all = v.as_array().expect("an array");
    assert_eq!(all.len(), 2, "{v:#}");
    assert_eq!(all[0]["to_version"], "42", "newest first: {v:#}");
    assert_eq!(all[0]["from_version"], "41");
    let table = apptrack(&t, &["deploy", "list"]);
    assert!(
        stdout(&table).contains("checkout:live"),
        "{}",
        stdout(&table)
    );
    let none = apptrack(&t, &["deploy", "list", "--service", "billing"]);
    assert!(
        stdout(&none).contains("no deployments"),
        "{}",
        stdout(&none)
    );

    let bad = apptrack(
        &t,
        &[
            "deploy",
            "mark",
            "--service",
            "checkout",
            "--version",
            "43",
            "--state",
            "done",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("detail.state"),
        "{bad:?}"
    );
}
