//! The production wiring: the DynamoDB adapters over one client, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::dynamodb::error_counts::DynamoErrorCounts;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;

use crate::handler::{Analyzer, Settings};

/// The analyzer as deployed.
pub type Deployed = Analyzer<DynamoErrorCounts, DynamoIncidentStore, SystemClock>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Analyzer::new(
            DynamoErrorCounts::new(dynamodb.clone(), &settings.store.state_table)
                .with_pattern_memory(settings.pattern_memory),
            DynamoIncidentStore::from_settings(dynamodb, &settings.store),
            SystemClock,
            settings,
        )
    }
}
