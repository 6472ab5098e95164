//! The production wiring: the DynamoDB deployment log, incidents and rollback ledger,
//! CloudWatch metrics, Lambda aliases, CodeDeploy, the system clock.

use apptrack_aws::SdkConfig;
use apptrack_aws::cloudwatch::{CloudWatchAlarms, CloudWatchHistory};
use apptrack_aws::codedeploy::CodeDeployDeployments;
use apptrack_aws::dynamodb::deployments::DynamoDeploymentLog;
use apptrack_aws::dynamodb::incidents::DynamoIncidentStore;
use apptrack_aws::dynamodb::ledger::DynamoActionLedger;
use apptrack_aws::lambda::LambdaAliases;
use apptrack_core::clock::SystemClock;

use crate::handler::{Guard, Settings};
use crate::rollback::ROLLBACK_NAMESPACE;

/// The guard as deployed.
pub type Deployed = Guard<
    DynamoDeploymentLog,
    CloudWatchHistory,
    CloudWatchAlarms,
    DynamoIncidentStore,
    LambdaAliases,
    CodeDeployDeployments,
    DynamoActionLedger,
    SystemClock,
>;

impl Deployed {
    /// Builds the clients once per cold start, from the SDK's configuration.
    pub fn from_sdk(sdk: &SdkConfig, settings: Settings) -> Self {
        let dynamodb = apptrack_aws::dynamodb::client(sdk);
        let state = &settings.store.state_table;
        let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk);
        Guard {
            log: DynamoDeploymentLog::new(dynamodb.clone(), state),
            metrics: CloudWatchHistory::new(cloudwatch.clone()),
            alarms: CloudWatchAlarms::new(cloudwatch),
            aliases: LambdaAliases::new(aws_sdk_lambda::Client::new(sdk)),
            codedeploy: CodeDeployDeployments::new(aws_sdk_codedeploy::Client::new(sdk)),
            ledger: DynamoActionLedger::new(dynamodb.clone(), state, ROLLBACK_NAMESPACE),
            incidents: DynamoIncidentStore::from_settings(dynamodb, &settings.store),
            clock: SystemClock,
            settings,
        }
    }
}
