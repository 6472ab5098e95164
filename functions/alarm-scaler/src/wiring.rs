//! The production wiring: CloudWatch, Auto Scaling and the DynamoDB adapters, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::autoscaling::AutoScalingGroups;
use apptrack_aws::cloudwatch::CloudWatchAlarms;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::{DynamoActionLedger, DynamoScaleOuts, SCALING_NAMESPACE};
use apptrack_core::clock::SystemClock;

use crate::handler::{Scaler, Settings};

/// The scaler as deployed.
pub type Deployed = Scaler<
    CloudWatchAlarms,
    CloudWatchAlarms,
    AutoScalingGroups,
    AutoScalingGroups,
    DynamoActionLedger,
    DynamoScaleOuts,
    DynamoIncidentStore,
    SystemClock,
>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let cloudwatch = CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(sdk));
        let groups = AutoScalingGroups::new(aws_sdk_autoscaling::Client::new(sdk));
        let state = &settings.store.state_table;
        Scaler {
            alarms: cloudwatch.clone(),
            metrics: cloudwatch,
            groups: groups.clone(),
            health: groups,
            ledger: DynamoActionLedger::new(dynamodb.clone(), state, SCALING_NAMESPACE),
            scale_outs: DynamoScaleOuts::new(dynamodb.clone(), state),
            incidents: DynamoIncidentStore::from_settings(dynamodb, &settings.store),
            clock: SystemClock,
            settings,
        }
    }
}
