//! login-guard as deployed: its bootstrap under the Lambda Runtime API emulator.

use apptrack_tests::TestTables;
use apptrack_tests::runtime::Deployed;

#[tokio::test]
async fn a_broken_event_is_a_permanent_error_under_the_runtime() -> anyhow::Result<()> {
    let tables = TestTables::new().await?;
    let endpoint = apptrack_tests::dynamodb().endpoint.clone();
    let f = Deployed::start(
        env!("CARGO_BIN_EXE_login-guard").as_ref(),
        &[
            ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("INCIDENTS_TABLE", tables.incidents.as_str()),
            ("STATE_TABLE", tables.state.as_str()),
        ],
    )?;
    let out = f.invoke_file("events/broken/auth-missing-data.json")?;
    assert_eq!(out.error_type(), Some("Permanent.BadPayload"), "{out:?}");
    let out = f.invoke_raw(&[0xff, 0x00, 0x13, 0x37])?;
    println!("{out:?}");
    assert!(out.error_type().is_some());
    Ok(())
}
