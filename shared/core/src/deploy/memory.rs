//! The deployment log over a map, for unit tests of handlers.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Deployment, DeploymentLog};
use crate::clock::Timestamp;
use crate::store::StoreError;

/// Markers by id.
#[derive(Debug, Default)]
pub struct MemoryDeploymentLog {
    markers: Mutex<BTreeMap<String, Deployment>>,
}

impl DeploymentLog for MemoryDeploymentLog {
    async fn record(&self, announced: &Deployment) -> Result<Deployment, StoreError> {
        let mut markers = self.markers.lock().unwrap_or_else(|e| e.into_inner());
        let m = markers
            .entry(announced.id.clone())
            .or_insert_with(|| announced.clone());
        m.merge(announced);
        Ok(m.clone())
    }

    async fn list(
        &self,
        service: Option<&str>,
        since: Timestamp,
    ) -> Result<Vec<Deployment>, StoreError> {
        let markers = self.markers.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<Deployment> = markers
            .values()
            .filter(|d| service.is_none_or(|s| d.service == s) && d.started_at >= since)
            .cloned()
            .collect();
        found.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
        Ok(found)
    }
}
