//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use alarm_scaler::handler::{Scaler, Settings, function_handler};
use apptrack_core::clock::SystemClock;
use apptrack_core::scaling::autoscaling::AutoScalingGroups;
use apptrack_core::scaling::cloudwatch::CloudWatchAlarms;
use apptrack_core::scaling::ledger::DynamoScalingLedger;
use apptrack_core::store::dynamo::DynamoIncidentStore;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apptrack_core::telemetry::init_json_logs();

    let settings = Settings::from_env()?;
    let sdk = apptrack_core::aws::load_sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let cloudwatch = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(&sdk));
    let scaler = Scaler {
        alarms: cloudwatch.clone(),
        metrics: cloudwatch,
        groups: AutoScalingGroups::new(aws_sdk_autoscaling::Client::new(&sdk)),
        ledger: DynamoScalingLedger::new(dynamodb.clone(), &settings.store.state_table),
        incidents: DynamoIncidentStore::new(
            dynamodb,
            &settings.store.incidents_table,
            &settings.store.state_table,
        ),
        clock: SystemClock,
        settings,
    };
    tracing::info!(dry_run = scaler.settings.dry_run, "alarm-scaler ready");
    run(service_fn(|event: LambdaEvent<Value>| {
        function_handler(event, &scaler)
    }))
    .await
}
