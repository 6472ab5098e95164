//! The production wiring: CloudWatch, Auto Scaling and the DynamoDB adapters, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::autoscaling::AutoScalingGroups;
use apptrack_aws::cloudwatch::CloudWatchAlarms;
use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::{DynamoActionLedger, DynamoScaleOuts, SCALING_NAMESPACE};
use apptrack_core::clock::SystemClock;
use apptrack_core::deploy::correlate::Correlating;

use crate::handler::{Scaler, Settings};

/// Incidents, each new one tied to the deployment that preceded it.
pub type Incidents = Correlating<DynamoIncidentStore, DynamoDeploymentLog>;

/// The scaler as deployed.
pub type Deployed = Scaler<
    CloudWatchAlarms,
    CloudWatchAlarms,
    AutoScalingGroups,
    AutoScalingGroups,
    DynamoActionLedger,
    DynamoScaleOuts,
    Incidents,
    SystemClock,
>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = apptrack_aws::dynamodb::client(sdk);
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
            incidents: Correlating::new(
                DynamoIncidentStore::from_settings(dynamodb.clone(), &settings.store),
                DynamoDeploymentLog::new(dynamodb, &settings.store.state_table),
            ),
            clock: SystemClock,
            settings,
        }
    }
}
