//! The production wiring: the DynamoDB adapters over one client, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::dynamodb::guard::DynamoGuardStore;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;

use crate::handler::{Guard, Settings};

/// The guard as deployed.
pub type Deployed = Guard<DynamoGuardStore, DynamoIncidentStore, SystemClock>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Guard::new(
            DynamoGuardStore::new(dynamodb.clone(), &settings.store.state_table),
            DynamoIncidentStore::from_settings(dynamodb, &settings.store),
            SystemClock,
            settings,
        )
    }
}
