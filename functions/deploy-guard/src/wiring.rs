//! The production wiring: the DynamoDB deployment log and incidents, CloudWatch metrics,
//! the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::cloudwatch::CloudWatchAlarms;
use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;

use crate::handler::{Guard, Settings};

/// The guard as deployed.
pub type Deployed = Guard<DynamoDeploymentLog, CloudWatchAlarms, DynamoIncidentStore, SystemClock>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Guard {
            log: DynamoDeploymentLog::new(dynamodb.clone(), &settings.store.state_table),
            metrics: CloudWatchAlarms::new(aws_sdk_cloudwatch::Client::new(sdk)),
            incidents: DynamoIncidentStore::from_settings(dynamodb, &settings.store),
            clock: SystemClock,
            settings,
        }
    }
}
