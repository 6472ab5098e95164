//! The deployment log and Lambda aliases over maps, for unit tests of handlers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::{AliasControl, AliasState, CodeDeployControl, Deployment, DeploymentLog, coalesce};
use crate::clock::Timestamp;
use crate::scaling::ScalingError;
use crate::store::StoreError;

/// Markers by id.
#[derive(Debug, Default)]
pub struct MemoryDeploymentLog {
    markers: Mutex<BTreeMap<String, Deployment>>,
}

impl DeploymentLog for MemoryDeploymentLog {
    async fn record(&self, announced: &Deployment) -> Result<(Deployment, bool), StoreError> {
        let mut markers = self.markers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(m) = markers.get_mut(&announced.id) else {
            markers.insert(announced.id.clone(), announced.clone());
            return Ok((announced.clone(), true));
        };
        let before = m.clone();
        m.merge(announced);
        Ok((m.clone(), *m != before))
    }

    async fn list(
        &self,
        service: Option<&str>,
        since: Timestamp,
    ) -> Result<Vec<Deployment>, StoreError> {
        let markers = self.markers.lock().unwrap_or_else(|e| e.into_inner());
        let found: Vec<Deployment> = markers
            .values()
            .filter(|d| service.is_none_or(|s| d.service == s) && d.started_at >= since)
            .cloned()
            .collect();
        Ok(coalesce(found))
    }
}

/// Functions' versions, aliases and tags; records every alias update.
#[derive(Debug, Default)]
pub struct FakeAliases {
    versions: Mutex<BTreeSet<(String, String)>>,
    aliases: Mutex<BTreeMap<(String, String), (String, u64)>>,
    weights: Mutex<BTreeMap<(String, String), BTreeMap<String, f64>>>,
    tags: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    updates: Mutex<Vec<(String, String, String)>>,
    lose_next_answer: Mutex<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeAliases {
    /// `function` with versions `versions` and `alias` at `at`.
    pub fn function(&self, function: &str, versions: &[&str], alias: &str, at: &str) {
        for v in versions {
            lock(&self.versions).insert((function.to_owned(), (*v).to_owned()));
        }
        lock(&self.aliases).insert((function.to_owned(), alias.to_owned()), (at.to_owned(), 1));
    }

    /// The alias sends `weight` of its invocations to `version` (a canary).
    pub fn route(&self, function: &str, alias: &str, version: &str, weight: f64) {
        lock(&self.weights)
            .entry((function.to_owned(), alias.to_owned()))
            .or_default()
            .insert(version.to_owned(), weight);
    }

    pub fn tag(&self, function: &str, key: &str, value: &str) {
        lock(&self.tags)
            .entry(function.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }

    /// Every UpdateAlias that reached Lambda: (function, alias, version).
    pub fn updates(&self) -> Vec<(String, String, String)> {
        lock(&self.updates).clone()
    }

    /// The next UpdateAlias is applied and its answer lost (a timeout).
    pub fn lose_next_answer(&self) {
        *lock(&self.lose_next_answer) = true;
    }
}

impl AliasControl for FakeAliases {
    async fn alias(&self, function: &str, alias: &str) -> Result<Option<AliasState>, ScalingError> {
        Ok(lock(&self.aliases)
            .get(&(function.to_owned(), alias.to_owned()))
            .map(|(v, rev)| AliasState {
                version: v.clone(),
                revision_id: Some(format!("rev-{rev}")),
                weights: lock(&self.weights)
                    .get(&(function.to_owned(), alias.to_owned()))
                    .cloned()
                    .unwrap_or_default(),
            }))
    }

    async fn version_exists(&self, function: &str, version: &str) -> Result<bool, ScalingError> {
        Ok(lock(&self.versions).contains(&(function.to_owned(), version.to_owned())))
    }

    async fn tags(&self, function: &str) -> Result<BTreeMap<String, String>, ScalingError> {
        Ok(lock(&self.tags).get(function).cloned().unwrap_or_default())
    }

    async fn point(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        revision_id: Option<&str>,
    ) -> Result<(), ScalingError> {
        let mut aliases = lock(&self.aliases);
        let entry = aliases
            .get_mut(&(function.to_owned(), alias.to_owned()))
            .ok_or_else(|| ScalingError::Rejected(format!("alias {function}:{alias} not found")))?;
        if revision_id.is_some_and(|r| r != format!("rev-{}", entry.1)) {
            return Err(ScalingError::Rejected(
                "PreconditionFailedException: revision changed".into(),
            ));
        }
        *entry = (version.to_owned(), entry.1 + 1);
        lock(&self.weights).remove(&(function.to_owned(), alias.to_owned()));
        lock(&self.updates).push((function.to_owned(), alias.to_owned(), version.to_owned()));
        if std::mem::take(&mut *lock(&self.lose_next_answer)) {
            return Err(ScalingError::Unavailable("injected timeout".into()));
        }
        Ok(())
    }
}

/// CodeDeploy deployments that can be stopped; records every StopDeployment.
#[derive(Debug, Default)]
pub struct FakeCodeDeploy {
    ended: Mutex<BTreeSet<String>>,
    stops: Mutex<Vec<String>>,
    lose_next_answer: Mutex<bool>,
}

impl FakeCodeDeploy {
    /// Every StopDeployment that reached CodeDeploy.
    pub fn stops(&self) -> Vec<String> {
        lock(&self.stops).clone()
    }

    /// The next StopDeployment is applied and its answer lost.
    pub fn lose_next_answer(&self) {
        *lock(&self.lose_next_answer) = true;
    }
}

impl CodeDeployControl for FakeCodeDeploy {
    async fn stop_with_rollback(&self, deployment_id: &str) -> Result<bool, ScalingError> {
        lock(&self.stops).push(deployment_id.to_owned());
        let stopped = lock(&self.ended).insert(deployment_id.to_owned());
        if std::mem::take(&mut *lock(&self.lose_next_answer)) {
            return Err(ScalingError::Unavailable("the answer was lost".into()));
        }
        Ok(stopped)
    }
}
