//! Auto Scaling adapter: a group's capacity (DescribeAutoScalingGroups) and its desired
//! size (SetDesiredCapacity), with instances still launching counted as pending.

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::SdkError;
use aws_sdk_autoscaling::types::LifecycleState;

use crate::sdk::scaling_error as sdk_error;
use apptrack_core::alarm::GroupCapacity;
use apptrack_core::scaling::{CapacityController, ScalingError};

/// Auto Scaling groups. Cheap to clone: the client is shared.
#[derive(Debug, Clone)]
pub struct AutoScalingGroups {
    client: Client,
}

impl AutoScalingGroups {
    pub fn new(client: Client) -> Self {
        AutoScalingGroups { client }
    }
}

/// Instances that are launching or waiting in a lifecycle hook: capacity on its way.
fn is_pending(state: &LifecycleState) -> bool {
    matches!(
        state,
        LifecycleState::Pending | LifecycleState::PendingWait | LifecycleState::PendingProceed
    )
}

impl CapacityController for AutoScalingGroups {
    async fn capacity(&self, group: &str) -> Result<GroupCapacity, ScalingError> {
        let out = self
            .client
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send()
            .await
            .map_err(sdk_error)?;
        let g = out
            .auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(group))
            .ok_or_else(|| ScalingError::GroupNotFound(group.to_owned()))?;
        let count = |want: fn(&LifecycleState) -> bool| {
            let n = g
                .instances()
                .iter()
                .filter(|i| i.lifecycle_state().is_some_and(want))
                .count();
            i32::try_from(n).unwrap_or(i32::MAX)
        };
        Ok(GroupCapacity {
            min: g.min_size().unwrap_or(0),
            max: g.max_size().unwrap_or(0),
            desired: g.desired_capacity().unwrap_or(0),
            in_service: count(|s| *s == LifecycleState::InService),
            pending: count(is_pending),
        })
    }

    async fn set_desired_capacity(&self, group: &str, desired: i32) -> Result<(), ScalingError> {
        // HonorCooldown stays off: apptrack's own ledger and stabilization window decide.
        match self
            .client
            .set_desired_capacity()
            .auto_scaling_group_name(group)
            .desired_capacity(desired)
            .honor_cooldown(false)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se))
                if se.err().meta().code() == Some("ValidationError")
                    && se
                        .err()
                        .meta()
                        .message()
                        .is_some_and(|m| m.to_ascii_lowercase().contains("not found")) =>
            {
                Err(ScalingError::GroupNotFound(group.to_owned()))
            }
            Err(e) => Err(sdk_error(e)),
        }
    }
}
