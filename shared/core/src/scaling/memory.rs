//! In-memory fakes of the scaling ports, for unit tests of handlers: alarms, metrics and
//! groups set by hand, and the groups' scale-out log. (The action ledger's is `ledger::memory`.)

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{
    AlarmDefinition, AlarmReader, CapacityController, InstanceDirectory, InstanceHealth,
    InstanceMembership, MetricQuery, MetricReader, ScaleOutLog, ScalingError,
};
use crate::alarm::GroupCapacity;
use crate::clock::Timestamp;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A test that panicked while holding the lock already failed; keep the data usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Alarms by name.
#[derive(Debug, Default)]
pub struct FakeAlarms {
    alarms: Mutex<HashMap<String, AlarmDefinition>>,
}

impl FakeAlarms {
    pub fn insert(&self, def: AlarmDefinition) {
        lock(&self.alarms).insert(def.name.clone(), def);
    }
}

impl AlarmReader for FakeAlarms {
    async fn describe_alarm(&self, name: &str) -> Result<Option<AlarmDefinition>, ScalingError> {
        Ok(lock(&self.alarms).get(name).cloned())
    }
}

/// The same values for every query; counts the queries.
#[derive(Debug, Default)]
pub struct FakeMetrics {
    values: Mutex<Vec<f64>>,
    queries: Mutex<Vec<MetricQuery>>,
}

impl FakeMetrics {
    pub fn set(&self, values: Vec<f64>) {
        *lock(&self.values) = values;
    }

    pub fn queries(&self) -> Vec<MetricQuery> {
        lock(&self.queries).clone()
    }
}

impl MetricReader for FakeMetrics {
    async fn recent_values(
        &self,
        query: &MetricQuery,
        _start: Timestamp,
        _end: Timestamp,
    ) -> Result<Vec<f64>, ScalingError> {
        lock(&self.queries).push(query.clone());
        Ok(lock(&self.values).clone())
    }
}

/// A failure to inject into the next SetDesiredCapacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Unavailable,
    AccessDenied,
    /// The call reaches AWS and changes the group, but its answer is lost (a timeout).
    AppliedThenUnavailable,
}

/// Groups by name, with their tags and instances; records every SetDesiredCapacity and
/// SetInstanceHealth.
#[derive(Debug, Default)]
pub struct FakeGroups {
    groups: Mutex<HashMap<String, GroupCapacity>>,
    tags: Mutex<HashMap<String, BTreeMap<String, String>>>,
    instances: Mutex<HashMap<String, InstanceMembership>>,
    calls: Mutex<Vec<(String, i32)>>,
    health_calls: Mutex<Vec<String>>,
    fail_next: Mutex<Option<Failure>>,
}

impl FakeGroups {
    pub fn insert(&self, name: &str, capacity: GroupCapacity) {
        lock(&self.groups).insert(name.to_owned(), capacity);
    }

    pub fn get(&self, name: &str) -> Option<GroupCapacity> {
        lock(&self.groups).get(name).copied()
    }

    /// Every SetDesiredCapacity call that reached the group, in order.
    pub fn calls(&self) -> Vec<(String, i32)> {
        lock(&self.calls).clone()
    }

    /// Fails the next SetDesiredCapacity or SetInstanceHealth, whichever comes first.
    pub fn fail_next(&self, failure: Failure) {
        *lock(&self.fail_next) = Some(failure);
    }

    pub fn tag(&self, group: &str, key: &str, value: &str) {
        lock(&self.tags)
            .entry(group.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }

    /// Puts an in-service, healthy instance into `group`.
    pub fn add_instance(&self, group: &str, instance_id: &str) {
        lock(&self.instances).insert(
            instance_id.to_owned(),
            InstanceMembership {
                instance_id: instance_id.to_owned(),
                group: group.to_owned(),
                lifecycle_state: "InService".into(),
                healthy: true,
            },
        );
    }

    /// Every SetInstanceHealth call that reached Auto Scaling, in order.
    pub fn health_calls(&self) -> Vec<String> {
        lock(&self.health_calls).clone()
    }

    fn injected(&self) -> Result<Option<Failure>, ScalingError> {
        match lock(&self.fail_next).take() {
            Some(Failure::Unavailable) => {
                Err(ScalingError::Unavailable("injected throttling".into()))
            }
            Some(Failure::AccessDenied) => {
                Err(ScalingError::AccessDenied("injected denial".into()))
            }
            other => Ok(other),
        }
    }
}

impl InstanceDirectory for FakeGroups {
    async fn locate(&self, instance_id: &str) -> Result<Option<InstanceMembership>, ScalingError> {
        Ok(lock(&self.instances).get(instance_id).cloned())
    }

    async fn group_tags(&self, group: &str) -> Result<BTreeMap<String, String>, ScalingError> {
        Ok(lock(&self.tags).get(group).cloned().unwrap_or_default())
    }
}

impl InstanceHealth for FakeGroups {
    async fn mark_unhealthy(&self, instance_id: &str) -> Result<(), ScalingError> {
        let failure = self.injected()?;
        let mut instances = lock(&self.instances);
        let Some(i) = instances.get_mut(instance_id) else {
            return Err(ScalingError::Rejected(format!(
                "instance {instance_id} is not in an Auto Scaling group"
            )));
        };
        i.healthy = false;
        lock(&self.health_calls).push(instance_id.to_owned());
        if failure == Some(Failure::AppliedThenUnavailable) {
            return Err(ScalingError::Unavailable("injected timeout".into()));
        }
        Ok(())
    }
}

impl CapacityController for FakeGroups {
    async fn capacity(&self, group: &str) -> Result<GroupCapacity, ScalingError> {
        self.get(group)
            .ok_or_else(|| ScalingError::GroupNotFound(group.to_owned()))
    }

    async fn set_desired_capacity(&self, group: &str, desired: i32) -> Result<(), ScalingError> {
        let failure = self.injected()?;
        let mut groups = lock(&self.groups);
        let g = groups
            .get_mut(group)
            .ok_or_else(|| ScalingError::GroupNotFound(group.to_owned()))?;
        if !(g.min..=g.max).contains(&desired) {
            return Err(ScalingError::Rejected(format!(
                "desired {desired} outside {}..={}",
                g.min, g.max
            )));
        }
        g.desired = desired;
        g.in_service = desired;
        g.pending = 0;
        lock(&self.calls).push((group.to_owned(), desired));
        if failure == Some(Failure::AppliedThenUnavailable) {
            return Err(ScalingError::Unavailable("injected timeout".into()));
        }
        Ok(())
    }
}

/// Each group's last scale-out, over a map.
#[derive(Debug, Default)]
pub struct MemoryScaleOuts {
    scale_outs: Mutex<HashMap<String, Timestamp>>,
}

impl ScaleOutLog for MemoryScaleOuts {
    async fn last_scale_out(&self, group: &str) -> Result<Option<Timestamp>, ScalingError> {
        Ok(lock(&self.scale_outs).get(group).copied())
    }

    async fn record_scale_out(&self, group: &str, at: Timestamp) -> Result<(), ScalingError> {
        let mut m = lock(&self.scale_outs);
        let e = m.entry(group.to_owned()).or_insert(at);
        *e = (*e).max(at);
        Ok(())
    }
}
