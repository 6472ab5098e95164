//! Auto Scaling adapter: a group's capacity and tags (DescribeAutoScalingGroups) and its
//! desired size (SetDesiredCapacity), with instances still launching counted as pending;
//! an instance's group (DescribeAutoScalingInstances) and its health (SetInstanceHealth).

use std::collections::BTreeMap;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::SdkError;
use aws_sdk_autoscaling::operation::set_instance_health::builders::SetInstanceHealthFluentBuilder;
use aws_sdk_autoscaling::types::{AutoScalingGroup, LifecycleState};

use crate::sdk::scaling_error as sdk_error;
use apptrack_core::alarm::GroupCapacity;
use apptrack_core::scaling::{
    CapacityController, InstanceDirectory, InstanceHealth, InstanceMembership, ScalingError,
};

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

impl AutoScalingGroups {
    async fn describe(&self, group: &str) -> Result<AutoScalingGroup, ScalingError> {
        let out = self
            .client
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send()
            .await
            .map_err(sdk_error)?;
        out.auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(group))
            .cloned()
            .ok_or_else(|| ScalingError::GroupNotFound(group.to_owned()))
    }
}

/// The SetInstanceHealth request that has a group replace `instance_id` now: Unhealthy,
/// and the health-check grace period not respected (the instance is past its launch).
pub fn unhealthy_request(client: &Client, instance_id: &str) -> SetInstanceHealthFluentBuilder {
    client
        .set_instance_health()
        .instance_id(instance_id)
        .health_status("Unhealthy")
        .should_respect_grace_period(false)
}

impl InstanceDirectory for AutoScalingGroups {
    async fn locate(&self, instance_id: &str) -> Result<Option<InstanceMembership>, ScalingError> {
        let out = self
            .client
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .auto_scaling_instances()
            .iter()
            .find(|i| i.instance_id() == Some(instance_id))
            .and_then(|i| {
                Some(InstanceMembership {
                    instance_id: instance_id.to_owned(),
                    group: i.auto_scaling_group_name()?.to_owned(),
                    lifecycle_state: i.lifecycle_state().unwrap_or_default().to_owned(),
                    healthy: i
                        .health_status()
                        .is_some_and(|h| h.eq_ignore_ascii_case("healthy")),
                })
            }))
    }

    async fn group_tags(&self, group: &str) -> Result<BTreeMap<String, String>, ScalingError> {
        let g = self.describe(group).await?;
        Ok(g.tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }
}

impl InstanceHealth for AutoScalingGroups {
    async fn mark_unhealthy(&self, instance_id: &str) -> Result<(), ScalingError> {
        unhealthy_request(&self.client, instance_id)
            .send()
            .await
            .map(drop)
            .map_err(sdk_error)
    }
}

impl CapacityController for AutoScalingGroups {
    async fn capacity(&self, group: &str) -> Result<GroupCapacity, ScalingError> {
        let g = self.describe(group).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_health_request_marks_the_instance_unhealthy_at_once() {
        let conf = aws_sdk_autoscaling::Config::builder()
            .behavior_version(aws_sdk_autoscaling::config::BehaviorVersion::latest())
            .region(aws_sdk_autoscaling::config::Region::new("us-east-1"))
            .build();
        let req = unhealthy_request(&Client::from_conf(conf), "i-0abc");
        let input = req.as_input();
        assert_eq!(input.get_instance_id().as_deref(), Some("i-0abc"));
        assert_eq!(input.get_health_status().as_deref(), Some("Unhealthy"));
        assert_eq!(input.get_should_respect_grace_period(), &Some(false));
        let built = input.clone().build().expect("a complete request");
        assert_eq!(built.health_status(), Some("Unhealthy"));
    }
}
