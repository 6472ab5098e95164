//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use apptrack_aws::dynamodb::error_counts::DynamoErrorCounts;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;
use error_analyzer::handler::{Analyzer, Settings, function_handler};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

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
    run(service_fn(|event: LambdaEvent<Value>| {
        function_handler(event, &analyzer)
    }))
    .await
}
