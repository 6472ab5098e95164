//! In-memory fakes of the scaling ports, for unit tests of handlers: alarms, metrics and
//! groups set by hand, and a ledger with the DynamoDB one's claim semantics.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::DEFAULT_LEASE;
use super::{
    AlarmDefinition, AlarmReader, CapacityController, Claim, Completion, Intent, MetricQuery,
    MetricReader, ScalingError, ScalingLedger,
};
use crate::alarm::GroupCapacity;
use crate::clock::Timestamp;
use crate::store::StoreError;

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

/// Groups by name; records every SetDesiredCapacity.
#[derive(Debug, Default)]
pub struct FakeGroups {
    groups: Mutex<HashMap<String, GroupCapacity>>,
    calls: Mutex<Vec<(String, i32)>>,
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

    pub fn fail_next(&self, failure: Failure) {
        *lock(&self.fail_next) = Some(failure);
    }
}

impl CapacityController for FakeGroups {
    async fn capacity(&self, group: &str) -> Result<GroupCapacity, ScalingError> {
        self.get(group)
            .ok_or_else(|| ScalingError::GroupNotFound(group.to_owned()))
    }

    async fn set_desired_capacity(&self, group: &str, desired: i32) -> Result<(), ScalingError> {
        let failure = lock(&self.fail_next).take();
        match failure {
            Some(Failure::Unavailable) => {
                return Err(ScalingError::Unavailable("injected throttling".into()));
            }
            Some(Failure::AccessDenied) => {
                return Err(ScalingError::AccessDenied("injected denial".into()));
            }
            _ => {}
        }
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

#[derive(Debug, Clone)]
enum State {
    Claimed { token: String, lease_until: i64 },
    Released,
    Done(String),
    Failed(String),
}

#[derive(Debug, Clone)]
struct Record {
    state: State,
    intent: Option<Intent>,
}

/// The ledger's semantics over a map.
#[derive(Debug)]
pub struct MemoryLedger {
    lease: Duration,
    records: Mutex<HashMap<String, Record>>,
    scale_outs: Mutex<HashMap<String, Timestamp>>,
    fail_next_completion: Mutex<bool>,
}

impl Default for MemoryLedger {
    fn default() -> Self {
        MemoryLedger {
            lease: DEFAULT_LEASE,
            records: Mutex::default(),
            scale_outs: Mutex::default(),
            fail_next_completion: Mutex::default(),
        }
    }
}

impl MemoryLedger {
    /// The recorded outcome of a transition: `Some(Ok(outcome))` when done,
    /// `Some(Err(error))` when failed, `None` otherwise.
    pub fn outcome(&self, transition: &str) -> Option<Result<String, String>> {
        match lock(&self.records).get(transition).map(|r| r.state.clone()) {
            Some(State::Done(o)) => Some(Ok(o)),
            Some(State::Failed(e)) => Some(Err(e)),
            _ => None,
        }
    }

    /// Whether a delivery holds a live or expired claim on the transition.
    pub fn is_claimed(&self, transition: &str) -> bool {
        matches!(
            lock(&self.records).get(transition).map(|r| &r.state),
            Some(State::Claimed { .. })
        )
    }

    /// Makes the next `complete` fail as an unreachable table would.
    pub fn fail_next_completion(&self) {
        *lock(&self.fail_next_completion) = true;
    }

    fn holds(rec: Option<&Record>, token: &str) -> bool {
        matches!(rec, Some(Record { state: State::Claimed { token: t, .. }, .. }) if t == token)
    }
}

impl ScalingLedger for MemoryLedger {
    async fn claim(&self, transition: &str, now: Timestamp) -> Result<Claim, ScalingError> {
        let mut records = lock(&self.records);
        let prior_intent = match records.get(transition) {
            None => None,
            Some(r) => match &r.state {
                State::Released => r.intent.clone(),
                State::Claimed { lease_until, .. } if *lease_until < now.as_millis() => {
                    r.intent.clone()
                }
                State::Claimed { .. } => return Ok(Claim::HeldElsewhere),
                State::Done(o) => return Ok(Claim::Done { outcome: o.clone() }),
                State::Failed(e) => return Ok(Claim::Failed { error: e.clone() }),
            },
        };
        let token = ulid::Ulid::new().to_string();
        records.insert(
            transition.to_owned(),
            Record {
                state: State::Claimed {
                    token: token.clone(),
                    lease_until: now.saturating_add(self.lease).as_millis(),
                },
                intent: prior_intent.clone(),
            },
        );
        Ok(Claim::Acquired {
            token,
            prior_intent,
        })
    }

    async fn record_intent(
        &self,
        transition: &str,
        token: &str,
        intent: &Intent,
    ) -> Result<(), ScalingError> {
        let mut records = lock(&self.records);
        if !Self::holds(records.get(transition), token) {
            return Err(ScalingError::Unavailable(format!(
                "the claim on {transition} was taken over before the change was made"
            )));
        }
        if let Some(r) = records.get_mut(transition) {
            r.intent = Some(intent.clone());
        }
        Ok(())
    }

    async fn complete(
        &self,
        transition: &str,
        token: &str,
        completion: &Completion,
        _now: Timestamp,
    ) -> Result<(), ScalingError> {
        if std::mem::take(&mut *lock(&self.fail_next_completion)) {
            return Err(ScalingError::Ledger(StoreError::Unavailable(format!(
                "injected failure closing the claim on {transition}"
            ))));
        }
        let mut records = lock(&self.records);
        if Self::holds(records.get(transition), token)
            && let Some(r) = records.get_mut(transition)
        {
            r.state = match completion {
                Completion::Done(o) => State::Done(o.clone()),
                Completion::Failed(e) => State::Failed(e.clone()),
            };
        }
        Ok(())
    }

    async fn release(&self, transition: &str, token: &str) -> Result<(), ScalingError> {
        let mut records = lock(&self.records);
        if Self::holds(records.get(transition), token)
            && let Some(r) = records.get_mut(transition)
        {
            r.state = State::Released;
        }
        Ok(())
    }

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
