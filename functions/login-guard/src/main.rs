//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use apptrack_aws::dynamodb::guard::DynamoGuardStore;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;
use lambda_runtime::Error;
use login_guard::handler::{Guard, Settings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    apptrack_lambda::init_json_logs();

    let settings = Settings::from_env()?;
    let sdk = apptrack_aws::load_sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let guard = Guard::new(
        DynamoGuardStore::new(dynamodb.clone(), &settings.store.state_table),
        DynamoIncidentStore::new(
            dynamodb,
            &settings.store.incidents_table,
            &settings.store.state_table,
        ),
        SystemClock,
        settings,
    );
    tracing::info!(mode = %guard.mode(), "login-guard ready");
    apptrack_lambda::serve(&guard).await
}
