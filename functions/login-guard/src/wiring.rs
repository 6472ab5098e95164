//! The production wiring: the DynamoDB adapters over one client, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_aws::dynamodb::guard::DynamoGuardStore;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_core::clock::SystemClock;
use apptrack_core::deploy::correlate::Correlating;

use crate::handler::{Guard, Settings};

/// Incidents, each new one tied to the deployment that preceded it.
pub type Incidents = Correlating<DynamoIncidentStore, DynamoDeploymentLog>;

/// The guard as deployed.
pub type Deployed = Guard<DynamoGuardStore, Incidents, SystemClock>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        Self::from_client(apptrack_aws::dynamodb::client(sdk), settings)
    }

    /// The adapters over one DynamoDB client (the load bench gives each instance its own).
    pub fn from_client(dynamodb: aws_sdk_dynamodb::Client, settings: Settings) -> Self {
        Guard::new(
            DynamoGuardStore::new(dynamodb.clone(), &settings.store.state_table),
            Correlating::new(
                DynamoIncidentStore::from_settings(dynamodb.clone(), &settings.store),
                DynamoDeploymentLog::new(dynamodb, &settings.store.state_table),
            ),
            SystemClock,
            settings,
        )
    }
}
