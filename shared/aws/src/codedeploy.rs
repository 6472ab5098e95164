//! CodeDeploy adapter: stopping a deployment with CodeDeploy's own automatic rollback
//! (StopDeployment with `autoRollbackEnabled=true`). ministack has no CodeDeploy: the handler
//! is tested over the port's fake, and the request's shape here against the SDK's own types.

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::error::SdkError;
use aws_sdk_codedeploy::operation::stop_deployment::builders::StopDeploymentFluentBuilder;

use crate::sdk::scaling_error as sdk_error;
use apptrack_core::deploy::CodeDeployControl;
use apptrack_core::scaling::ScalingError;

/// CodeDeploy deployments. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct CodeDeployDeployments {
    client: Client,
}

impl CodeDeployDeployments {
    pub fn new(client: Client) -> Self {
        CodeDeployDeployments { client }
    }
}

/// The StopDeployment request that stops `deployment_id` and has CodeDeploy roll it back.
pub fn stop_request(client: &Client, deployment_id: &str) -> StopDeploymentFluentBuilder {
    client
        .stop_deployment()
        .deployment_id(deployment_id)
        .auto_rollback_enabled(true)
}

impl CodeDeployControl for CodeDeployDeployments {
    async fn stop_with_rollback(&self, deployment_id: &str) -> Result<bool, ScalingError> {
        match stop_request(&self.client, deployment_id).send().await {
            Ok(_) => Ok(true),
            // Stopped already (by an earlier attempt whose answer was lost, or by a person),
            // or finished: nothing left to stop.
            Err(SdkError::ServiceError(se))
                if se.err().is_deployment_already_completed_exception() =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_request_always_asks_for_the_rollback() {
        let conf = aws_sdk_codedeploy::Config::builder()
            .behavior_version(aws_sdk_codedeploy::config::BehaviorVersion::latest())
            .region(aws_sdk_codedeploy::config::Region::new("us-east-1"))
            .build();
        let req = stop_request(&Client::from_conf(conf), "d-ABC123");
        let input = req.as_input();
        assert_eq!(input.get_deployment_id().as_deref(), Some("d-ABC123"));
        assert_eq!(input.get_auto_rollback_enabled(), &Some(true));
        let built = input.clone().build().expect("a complete request");
        assert_eq!(built.auto_rollback_enabled(), Some(true));
    }
}
