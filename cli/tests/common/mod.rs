//! What the CLI's integration tests share: the built `apptrack` binary run against one test's
//! tables in DynamoDB Local, in a clean environment.

use std::process::{Command, Output};

use apptrack_tests::{TestTables, dynamodb};

/// Runs `apptrack ARGS` against `t`'s tables and waits for it.
pub fn apptrack(t: &TestTables, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apptrack"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb().endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("INCIDENTS_TABLE", &t.incidents)
        .env("STATE_TABLE", &t.state)
        .env("USER", "tester")
        .output()
        .expect("running apptrack")
}

/// The command's standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
