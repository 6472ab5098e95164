//! Wiring only: logging, settings (failing fast), AWS clients built once, the Lambda loop.

use alarm_scaler::handler::{Scaler, Settings};
use apptrack_aws::autoscaling::AutoScalingGroups;
use apptrack_aws::cloudwatch::CloudWatchAlarms;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::{DynamoActionLedger, DynamoScaleOuts, SCALING_NAMESPACE};
use apptrack_core::clock::SystemClock;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    apptrack_lambda::init_json_logs();

    let settings = Settings::from_env()?;
    let sdk = apptrack_aws::load_sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let cloudwatch = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(&sdk));
    let scaler = Scaler {
        alarms: cloudwatch.clone(),
        metrics: cloudwatch,
        groups: AutoScalingGroups::new(aws_sdk_autoscaling::Client::new(&sdk)),
        ledger: DynamoActionLedger::new(
            dynamodb.clone(),
            &settings.store.state_table,
            SCALING_NAMESPACE,
        ),
        scale_outs: DynamoScaleOuts::new(dynamodb.clone(), &settings.store.state_table),
        incidents: DynamoIncidentStore::new(
            dynamodb,
            &settings.store.incidents_table,
            &settings.store.state_table,
        ),
        clock: SystemClock,
        settings,
    };
    tracing::info!(dry_run = scaler.settings.dry_run, "alarm-scaler ready");
    apptrack_lambda::serve(&scaler).await
}
