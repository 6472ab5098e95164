//! The production wiring: the DynamoDB deployment log, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_core::clock::SystemClock;

use crate::handler::{Guard, Settings};

/// The guard as deployed.
pub type Deployed = Guard<DynamoDeploymentLog, SystemClock>;

impl Deployed {
    /// Builds the client once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Guard {
            log: DynamoDeploymentLog::new(dynamodb, &settings.store.state_table),
            clock: SystemClock,
            settings,
        }
    }
}
