//! The production wiring: CloudWatch alarms and history, Auto Scaling, the DynamoDB incidents,
//! episodes and ledger, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::autoscaling::AutoScalingGroups;
use apptrack_aws::cloudwatch::{CloudWatchAlarms, CloudWatchHistory};
use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_aws::dynamodb::forecasts::DynamoEpisodes;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::{DynamoActionLedger, DynamoScaleOuts};
use apptrack_core::clock::SystemClock;
use apptrack_core::deploy::correlate::Correlating;

use crate::handler::{Forecaster, Settings};
use crate::prevent::PREVENT_NAMESPACE;

/// Incidents, each new one tied to the deployment that preceded it (a leak a deploy brought).
pub type Incidents = Correlating<DynamoIncidentStore, DynamoDeploymentLog>;

/// The forecaster as deployed.
pub type Deployed = Forecaster<
    CloudWatchAlarms,
    CloudWatchHistory,
    Incidents,
    DynamoEpisodes,
    AutoScalingGroups,
    DynamoActionLedger,
    DynamoScaleOuts,
    SystemClock,
>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = apptrack_aws::dynamodb::client(sdk);
        let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk);
        let state = &settings.store.state_table;
        Forecaster {
            alarms: CloudWatchAlarms::new(cloudwatch.clone()),
            history: CloudWatchHistory::new(cloudwatch),
            incidents: Correlating::new(
                DynamoIncidentStore::from_settings(dynamodb.clone(), &settings.store),
                DynamoDeploymentLog::new(dynamodb.clone(), state),
            ),
            episodes: DynamoEpisodes::new(dynamodb.clone(), state),
            groups: AutoScalingGroups::new(aws_sdk_autoscaling::Client::new(sdk)),
            ledger: DynamoActionLedger::new(dynamodb.clone(), state, PREVENT_NAMESPACE),
            scale_outs: DynamoScaleOuts::new(dynamodb, state),
            clock: SystemClock,
            settings,
        }
    }
}
