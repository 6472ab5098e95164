//! `apptrack silence` against DynamoDB Local: the built binary adds a silence, lists it,
//! refuses a bad one with a clear message, and ends it early.

mod common;

use apptrack_tests::TestTables;
use common::{apptrack, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_list_and_expire_a_silence() {
    let t = TestTables::new().await.expect("tables");
    let added = apptrack(
        &t,
        &[
            "silence",
            "add",
            "--service",
            "checkout",
            "--kind",
            "new-error",
            "--for",
            "2h",
            "--note",
            "planned failover",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let id = stdout(&added)
        .split_whitespace()
        .next()
        .expect("an id")
        .to_owned();
    assert!(
        stdout(&added).contains("silences checkout (new-error) until"),
        "{}",
        stdout(&added)
    );

    let listed = apptrack(&t, &["silence", "list"]);
    assert!(stdout(&listed).contains(&id), "{}", stdout(&listed));
    assert!(stdout(&listed).contains("planned failover"));

    let too_long = apptrack(
        &t,
        &["silence", "add", "--service", "checkout", "--for", "30d"],
    );
    assert!(!too_long.status.success());
    let err = String::from_utf8_lossy(&too_long.stderr);
    assert!(err.contains("from 1 minute to 7 days"), "{err}");
    let bad_kind = apptrack(
        &t,
        &[
            "silence",
            "add",
            "--service",
            "c",
            "--kind",
            "Not A Kind",
            "--for",
            "1h",
        ],
    );
    assert!(!bad_kind.status.success());

    let ended = apptrack(&t, &["silence", "expire", &id]);
    assert!(stdout(&ended).contains("ended"), "{ended:?}");
    let again = apptrack(&t, &["silence", "expire", &id]);
    assert!(stdout(&again).contains("already ended"), "{again:?}");
    let active = apptrack(&t, &["silence", "list"]);
    assert!(
        stdout(&active).contains("no silences"),
        "{}",
        stdout(&active)
    );
    let all = apptrack(&t, &["silence", "list", "--all", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&all)).expect("json");
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    let missing = apptrack(&t, &["silence", "expire", "01NOSUCHSILENCE"]);
    assert!(!missing.status.success());
}
