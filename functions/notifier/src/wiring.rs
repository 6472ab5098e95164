//! The production wiring: SNS, the DynamoDB incident store, silences and notification
//! ledger, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::DynamoActionLedger;
use apptrack_aws::dynamodb::silences::DynamoSilences;
use apptrack_aws::sns::SnsPublisher;
use apptrack_core::clock::SystemClock;
use apptrack_core::notify::NOTIFY_NAMESPACE;

use crate::handler::{Notifier, Settings};

/// The notifier as deployed.
pub type Deployed =
    Notifier<SnsPublisher, DynamoIncidentStore, DynamoSilences, DynamoActionLedger, SystemClock>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = apptrack_aws::dynamodb::client(sdk);
        let state = &settings.store.state_table;
        Notifier {
            publisher: SnsPublisher::new(aws_sdk_sns::Client::new(sdk)),
            silences: DynamoSilences::new(dynamodb.clone(), state),
            ledger: DynamoActionLedger::new(dynamodb.clone(), state, NOTIFY_NAMESPACE),
            incidents: DynamoIncidentStore::from_settings(dynamodb, &settings.store),
            clock: SystemClock,
            settings,
        }
    }
}
