//! deploy-guard's domain: deployment markers (what changed, where, from which version to
//! which, when, by whom), decoded from whatever announced them, merged into one record per
//! deployment whatever the number and order of deliveries; and the statistics that judge
//! whether a deployment made a service worse (`stats`).

pub mod correlate;
mod event;
pub mod memory;
pub mod signal;
pub mod stats;
pub mod watch;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::scaling::ScalingError;
use crate::store::StoreError;

pub use event::{Announcement, CUSTOM_SOURCE, DeployEventError, decode};

/// Where a deployment was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploySource {
    CodeDeploy,
    Ecs,
    CloudFormation,
    /// A Lambda API call seen through CloudTrail (UpdateAlias, UpdateFunctionCode, PublishVersion).
    Lambda,
    /// The custom event `apptrack.deploy` (any CI system) or `apptrack deploy mark`.
    Custom,
    /// A rollback deploy-guard made itself (never announced by an event; never judged).
    Apptrack,
}

impl DeploySource {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploySource::CodeDeploy => "codedeploy",
            DeploySource::Ecs => "ecs",
            DeploySource::CloudFormation => "cloudformation",
            DeploySource::Lambda => "lambda",
            DeploySource::Custom => "custom",
            DeploySource::Apptrack => "apptrack",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "codedeploy" => DeploySource::CodeDeploy,
            "ecs" => DeploySource::Ecs,
            "cloudformation" => DeploySource::CloudFormation,
            "lambda" => DeploySource::Lambda,
            "custom" => DeploySource::Custom,
            "apptrack" => DeploySource::Apptrack,
            _ => return None,
        })
    }
}

impl fmt::Display for DeploySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a deployment got. Later states win a merge, whatever the delivery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployState {
    InProgress,
    Succeeded,
    Failed,
    Stopped,
}

impl DeployState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployState::InProgress => "in-progress",
            DeployState::Succeeded => "succeeded",
            DeployState::Failed => "failed",
            DeployState::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in-progress" => DeployState::InProgress,
            "succeeded" => DeployState::Succeeded,
            "failed" => DeployState::Failed,
            "stopped" => DeployState::Stopped,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        self != DeployState::InProgress
    }

    /// Merge order: every end state outranks in progress; among end states a failure or a
    /// stop outranks success (a deployment reported succeeded and then rolled back failed).
    pub fn rank(self) -> u8 {
        match self {
            DeployState::InProgress => 0,
            DeployState::Succeeded => 1,
            DeployState::Failed | DeployState::Stopped => 2,
        }
    }
}

impl fmt::Display for DeployState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One deployment, as far as its announcements have told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Stable for the deployment: every announcement of it carries (or derives) the same id.
    pub id: String,
    /// The service incidents name (`apptrack:service`, else the application, function or stack).
    pub service: String,
    /// What was changed: `function:alias`, a CodeDeploy group, an ECS service, a stack.
    pub target: String,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub state: DeployState,
    pub actor: Option<String>,
    pub source: DeploySource,
}

impl Deployment {
    /// Folds a later (or earlier) announcement of the same deployment in: the earliest
    /// start, the latest end, the state of highest rank, and any field still unknown.
    /// Commutative and idempotent, so deliveries in any order and number agree.
    pub fn merge(&mut self, other: &Deployment) {
        self.started_at = self.started_at.min(other.started_at);
        self.ended_at = match (self.ended_at, other.ended_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if other.state.rank() > self.state.rank()
            || (other.state.rank() == self.state.rank() && other.state > self.state)
        {
            self.state = other.state;
        }
        fill(&mut self.from_version, &other.from_version);
        fill(&mut self.to_version, &other.to_version);
        fill(&mut self.actor, &other.actor);
    }

    /// `checkout:live v41 -> v42 by ci@example`.
    pub fn describe(&self) -> String {
        let mut s = self.target.clone();
        match (&self.from_version, &self.to_version) {
            (Some(f), Some(t)) => s.push_str(&format!(" {f} -> {t}")),
            (None, Some(t)) => s.push_str(&format!(" -> {t}")),
            _ => {}
        }
        if let Some(a) = &self.actor {
            s.push_str(&format!(" by {a}"));
        }
        s
    }
}

/// The version `marker`'s target ran before it: the newest earlier deployment of the same
/// target to another version among `recent` (an alias update says only where it went; a
/// CI system's announcement of the same change is no earlier version).
pub fn previous_version(recent: &[Deployment], marker: &Deployment) -> Option<String> {
    recent
        .iter()
        .filter(|d| d.target == marker.target && d.id != marker.id)
        .filter(|d| d.to_version.is_none() || d.to_version != marker.to_version)
        .filter(|d| d.started_at < marker.started_at)
        .max_by_key(|d| d.started_at)
        .and_then(|d| d.to_version.clone())
}

/// How far apart two announcements of one change may start: a CI system's event at the
/// start of a deployment and CloudTrail's record of the `UpdateAlias` it made.
pub const SAME_CHANGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Markers as a reader should see them, newest first: announcements of the same change from
/// different sources (same service, target and new version, starting within
/// [`SAME_CHANGE`] of each other; e.g. `apptrack.deploy` from CI and CloudTrail's
/// `UpdateAlias`) read as one deployment. Each is stored under its own id, so concurrent
/// deliveries from two sources cannot race; they are folded here, on every read. The one
/// that names the folded marker is apptrack's own rollback if one is there, else the
/// earliest started (then the smallest id), so the name stays put as later announcements
/// arrive (the bake-window check waits 10 minutes before it judges, and claims by that name).
pub fn coalesce(mut markers: Vec<Deployment>) -> Vec<Deployment> {
    markers.sort_by(|a, b| {
        (b.source == DeploySource::Apptrack)
            .cmp(&(a.source == DeploySource::Apptrack))
            .then(a.started_at.cmp(&b.started_at))
            .then(a.id.cmp(&b.id))
    });
    let mut out: Vec<Deployment> = Vec::with_capacity(markers.len());
    for m in markers {
        let same = out.iter_mut().find(|o| {
            o.service == m.service
                && o.target == m.target
                && o.to_version.is_some()
                && o.to_version == m.to_version
                && o.started_at
                    .max(m.started_at)
                    .since(o.started_at.min(m.started_at))
                    <= SAME_CHANGE
        });
        match same {
            Some(o) => o.merge(&m),
            None => out.push(m),
        }
    }
    out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
    out
}

fn fill(into: &mut Option<String>, from: &Option<String>) {
    if into.is_none() {
        into.clone_from(from);
    }
}

/// Where a Lambda alias points now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasState {
    pub version: String,
    /// The alias's revision: an update conditioned on it fails if the alias moved meanwhile.
    pub revision_id: Option<String>,
    /// Weighted routing: each additional version and the share of invocations it gets (a
    /// canary); empty when the alias sends everything to `version`.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
}

impl AliasState {
    /// Whether the alias sends any invocations to `version`.
    pub fn serves(&self, version: &str) -> bool {
        self.version == version || self.weights.get(version).is_some_and(|w| *w > 0.0)
    }
}

/// Reads and moves Lambda aliases (GetAlias, GetFunction, ListTags, UpdateAlias).
pub trait AliasControl: Send + Sync {
    /// The alias, or `None` when it (or its function) no longer exists.
    fn alias(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = Result<Option<AliasState>, ScalingError>> + Send;

    fn version_exists(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<bool, ScalingError>> + Send;

    /// The function's tags (`apptrack:rollback=auto` opts it in).
    fn tags(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, ScalingError>> + Send;

    /// Points the alias at `version` with every invocation (any weighted routing cleared),
    /// only if it is still at `revision_id`.
    fn point(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<(), ScalingError>> + Send;
}

/// Stops a CodeDeploy deployment with CodeDeploy's own automatic rollback (StopDeployment
/// with `autoRollbackEnabled=true`, never without: stopping alone would leave the traffic
/// split where it is).
pub trait CodeDeployControl: Send + Sync {
    /// `Ok(true)` when the stop was accepted, `Ok(false)` when the deployment had already
    /// ended (so a retry after a lost answer is not an error).
    fn stop_with_rollback(
        &self,
        deployment_id: &str,
    ) -> impl Future<Output = Result<bool, ScalingError>> + Send;
}

/// Where deployment markers are kept (`STATE_TABLE`, partition `DEPLOYS`).
pub trait DeploymentLog: Send + Sync {
    /// Records an announcement: the first creates the marker, later ones merge into it
    /// ([`Deployment::merge`]); a redelivery changes nothing. Returns the merged marker and
    /// whether this announcement changed it.
    fn record(
        &self,
        announced: &Deployment,
    ) -> impl Future<Output = Result<(Deployment, bool), StoreError>> + Send;

    /// Deployments started at or after `since`, newest first; one service's, or all.
    fn list(
        &self,
        service: Option<&str>,
        since: Timestamp,
    ) -> impl Future<Output = Result<Vec<Deployment>, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    fn marker(state: DeployState, start: i64, end: Option<i64>, to: Option<&str>) -> Deployment {
        Deployment {
            id: "d-1".into(),
            service: "checkout".into(),
            target: "checkout:live".into(),
            from_version: None,
            to_version: to.map(str::to_owned),
            started_at: at(start),
            ended_at: end.map(at),
            state,
            actor: None,
            source: DeploySource::Custom,
        }
    }

    #[test]
    fn a_late_start_does_not_undo_the_end() {
        let mut m = marker(DeployState::Succeeded, 120, Some(120), Some("42"));
        m.merge(&marker(DeployState::InProgress, 100, None, None));
        assert_eq!(m.state, DeployState::Succeeded);
        assert_eq!(m.started_at, at(100));
        assert_eq!(m.ended_at, Some(at(120)));
        assert_eq!(m.to_version.as_deref(), Some("42"));
    }

    #[test]
    fn the_description_names_versions_and_actor() {
        let mut m = marker(DeployState::Succeeded, 0, None, Some("42"));
        m.from_version = Some("41".into());
        m.actor = Some("ci@example".into());
        assert_eq!(m.describe(), "checkout:live 41 -> 42 by ci@example");
    }

    #[test]
    fn two_sources_announcing_one_change_read_as_one_deployment() {
        let mut ci = marker(DeployState::InProgress, 100, None, Some("42"));
        ci.id = "ci-run-7".into();
        ci.actor = Some("ci@example".into());
        let mut trail = marker(DeployState::Succeeded, 160, Some(160), Some("42"));
        trail.id = "lambda:checkout:live:rev-42".into();
        trail.source = DeploySource::Lambda;
        trail.from_version = Some("41".into());
        let mut later = marker(DeployState::Succeeded, 100 + 3600, None, Some("42"));
        later.id = "ci-run-9".into();
        let mut other = marker(DeployState::Succeeded, 120, None, Some("43"));
        other.id = "ci-run-8".into();
        other.target = "checkout:canary".into();
        for order in [
            vec![ci.clone(), trail.clone(), later.clone(), other.clone()],
            vec![other.clone(), later.clone(), trail.clone(), ci.clone()],
        ] {
            let read = coalesce(order);
            assert_eq!(read.len(), 3, "{read:#?}");
            let one = read
                .iter()
                .find(|d| d.id == "ci-run-7")
                .expect("named by the earliest");
            assert_eq!(
                one.from_version.as_deref(),
                Some("41"),
                "filled from CloudTrail"
            );
            assert_eq!(one.actor.as_deref(), Some("ci@example"));
            assert_eq!(one.state, DeployState::Succeeded);
            assert_eq!(one.ended_at, Some(at(160)));
            assert_eq!(
                read[0].id, "ci-run-9",
                "newest first; an hour later is another change"
            );
        }
        assert_eq!(
            previous_version(&[ci.clone()], &trail),
            None,
            "the CI announcement of the same change is no earlier version"
        );
    }

    fn any_marker() -> impl Strategy<Value = Deployment> {
        (
            prop_oneof![
                Just(DeployState::InProgress),
                Just(DeployState::Succeeded),
                Just(DeployState::Failed),
                Just(DeployState::Stopped)
            ],
            0i64..1000,
            proptest::option::of(0i64..1000),
            proptest::option::of("[a-z0-9]{1,3}"),
        )
            .prop_map(|(s, start, end, to)| marker(s, start, end, to.as_deref()))
    }

    proptest! {
        #[test]
        fn merging_is_order_independent_and_idempotent(
            parts in proptest::collection::vec(any_marker(), 1..6),
            seed in any::<u64>(),
        ) {
            let fold = |order: &[Deployment]| {
                let mut m = order[0].clone();
                for p in order {
                    m.merge(p);
                }
                m
            };
            let forward = fold(&parts);
            let mut shuffled = parts.clone();
            // A deterministic shuffle from the seed.
            let n = shuffled.len();
            for i in 0..n {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % n as u64) as usize;
                shuffled.swap(i, j);
            }
            let other = fold(&shuffled);
            // Versions fill first-come; everything else agrees whatever the order.
            prop_assert_eq!(forward.state, other.state);
            prop_assert_eq!(forward.started_at, other.started_at);
            prop_assert_eq!(forward.ended_at, other.ended_at);
            let mut twice = forward.clone();
            for p in &parts {
                twice.merge(p);
            }
            prop_assert_eq!(twice, forward);
        }
    }
}
