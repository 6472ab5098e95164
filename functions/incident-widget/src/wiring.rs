//! The production wiring: the DynamoDB incident store (read only) and the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;

use crate::handler::{Settings, Widget};

/// The widget as deployed.
pub type Deployed = Widget<DynamoIncidentStore, SystemClock>;

impl Deployed {
    /// Builds the client once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = apptrack_aws::dynamodb::client(sdk);
        Widget {
            incidents: DynamoIncidentStore::from_settings(dynamodb, &settings.store),
            clock: SystemClock,
            settings,
        }
    }
}
