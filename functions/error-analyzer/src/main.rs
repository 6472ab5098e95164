//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use apptrack_aws::dynamodb::error_counts::DynamoErrorCounts;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;
use error_analyzer::handler::{Analyzer, Settings};
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apptrack_lambda::init_json_logs();

    let settings = Settings::from_env()?;
    let sdk = apptrack_aws::load_sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let analyzer = Analyzer::new(
        DynamoErrorCounts::new(dynamodb.clone(), &settings.store.state_table)
            .with_pattern_memory(settings.pattern_memory),
        DynamoIncidentStore::new(
            dynamodb,
            &settings.store.incidents_table,
            &settings.store.state_table,
        ),
        SystemClock,
        settings,
    );
    tracing::info!("error-analyzer ready");
    apptrack_lambda::serve(&analyzer).await
}
