//! The bake-window check: for each recent deployment of a Lambda alias, the alias's p99
//! `Duration` after the deployment against the hour before it ([`super::stats`]), and, when
//! the verdict is likely, the `deploy-regression` incident that says so with the numbers and
//! the rollback it advises.

use std::collections::BTreeMap;
use std::time::Duration;

use super::signal::Signal;
use super::stats::{Judgement, RateTest, RegressionTest, Verdict};
use super::{AliasState, DeploySource, DeployState, Deployment};
use crate::alarm::MetricRef;
use crate::clock::Timestamp;
use crate::incident::{
    DedupKey, Evidence, IncidentError, IncidentKind, Occurrence, Severity, Title,
};
use crate::scaling::{Point, SeriesRequest};

/// Who the incidents name.
pub const SOURCE: &str = "deploy-guard";

/// How deployments are watched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatchPolicy {
    /// How long after a deployment it is judged.
    pub bake: Duration,
    /// How much of the time before it is the baseline.
    pub baseline: Duration,
    /// The metric's period in seconds.
    pub period: u32,
    pub test: RegressionTest,
    /// How the error rate (`Errors` / `Invocations`) is judged.
    pub rate: RateTest,
}

impl Default for WatchPolicy {
    fn default() -> Self {
        WatchPolicy {
            bake: Duration::from_secs(60 * 60),
            baseline: Duration::from_secs(60 * 60),
            period: 60,
            test: RegressionTest::default(),
            rate: RateTest::default(),
        }
    }
}

/// A Lambda alias a deployment moved: `(function, alias)` from a `function:alias` target.
pub fn alias_of(d: &Deployment) -> Option<(&str, &str)> {
    let (function, alias) = d.target.split_once(':')?;
    (!function.is_empty() && !alias.is_empty() && alias != "$LATEST" && !alias.contains(':'))
        .then_some((function, alias))
}

/// Whether `d` is judged at `now` on whatever it has: a deployment apptrack did not make
/// itself, that did not fail, inside its bake window, with enough minutes behind it for the
/// test. An alias deployment is judged on its own Lambda metrics ([`due`]); any deployment
/// on the alarms tagged with its service ([`super::signal`]).
pub fn judgeable(d: &Deployment, now: Timestamp, policy: &WatchPolicy) -> bool {
    let age = now.since(d.started_at);
    let enough = Duration::from_secs(u64::from(policy.period) * policy.test.min_points as u64);
    d.source != DeploySource::Apptrack
        && matches!(d.state, DeployState::Succeeded | DeployState::InProgress)
        && d.started_at <= now
        && age >= enough
        && age <= policy.bake
}

/// Whether `d` is a Lambda alias deployment judged at `now` on the alias's own metrics.
pub fn due(d: &Deployment, now: Timestamp, policy: &WatchPolicy) -> bool {
    alias_of(d).is_some() && judgeable(d, now, policy)
}

/// The versions a weighted alias splits between, when `d`'s new and old versions both get
/// invocations now (a canary, or a linear shift): `(new, old)`. Both run in the same minutes,
/// so they are compared side by side (`ExecutedVersion`), not before against after.
pub fn canary<'a>(d: &'a Deployment, alias: &AliasState) -> Option<(&'a str, &'a str)> {
    let (new, old) = (d.to_version.as_deref()?, d.from_version.as_deref()?);
    (!alias.weights.is_empty() && new != old && alias.serves(new) && alias.serves(old))
        .then_some((new, old))
}

/// The three series a side is judged on: p99 `Duration`, and `Errors` and `Invocations`
/// (`Sum`) for the error rate.
const SERIES: [(&str, &str); 3] = [
    ("latency", "Duration"),
    ("errors", "Errors"),
    ("invocations", "Invocations"),
];

/// What one judgement reads, in one GetMetricData: the alias's series from the baseline's
/// start to now, split at the deployment; or, for a canary, each version's series
/// (`ExecutedVersion`) since the deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Reads {
    pub requests: Vec<SeriesRequest>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// `None`: before/after, split at `split_at`; `Some((old, new))`: side by side.
    versions: Option<(String, String)>,
    split_at: Timestamp,
    /// How many tagged alarms' series follow (`signal_0`, `signal_1`, ...).
    signals: usize,
}

/// One side of a comparison: the p99 values, and the error and invocation totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Side {
    pub latency: Vec<f64>,
    pub errors: f64,
    pub invocations: f64,
}

/// The reads that judge `d` on `function:alias` at `now` (`canary`: `(new, old)`).
pub fn reads(
    d: &Deployment,
    (function, alias): (&str, &str),
    canary: Option<(&str, &str)>,
    now: Timestamp,
    policy: &WatchPolicy,
) -> Reads {
    let ((b0, _), (a0, a1)) = windows(d, now, policy);
    let request = |id: String, name: &str, version: Option<&str>| {
        let mut dimensions = BTreeMap::from([
            ("FunctionName".to_owned(), function.to_owned()),
            ("Resource".to_owned(), format!("{function}:{alias}")),
        ]);
        if let Some(v) = version {
            dimensions.insert("ExecutedVersion".to_owned(), v.to_owned());
        }
        SeriesRequest {
            id,
            metric: MetricRef {
                id: None,
                namespace: "AWS/Lambda".into(),
                metric_name: name.into(),
                dimensions,
                stat: None,
                period: Some(policy.period),
                return_data: true,
            },
            stat: if name == "Duration" { "p99" } else { "Sum" }.into(),
            period_s: policy.period,
        }
    };
    match canary {
        Some((new, old)) => Reads {
            requests: [("old", old), ("new", new)]
                .iter()
                .flat_map(|(side, v)| {
                    SERIES.map(|(id, name)| request(format!("{id}_{side}"), name, Some(v)))
                })
                .collect(),
            start: a0,
            end: a1,
            versions: Some((old.to_owned(), new.to_owned())),
            split_at: a0,
            signals: 0,
        },
        None => Reads {
            requests: SERIES
                .map(|(id, name)| request(id.to_owned(), name, None))
                .to_vec(),
            start: b0,
            end: a1,
            versions: None,
            split_at: a0,
            signals: 0,
        },
    }
}

/// The reads that judge `d`, a deployment that is not a Lambda alias's, on its service's
/// tagged alarms only: each alarm's series from the baseline's start to now.
pub fn signal_reads(
    d: &Deployment,
    signals: &[Signal],
    now: Timestamp,
    policy: &WatchPolicy,
) -> Reads {
    let ((b0, _), (a0, a1)) = windows(d, now, policy);
    Reads {
        requests: Vec::new(),
        start: b0,
        end: a1,
        versions: None,
        split_at: a0,
        signals: 0,
    }
    .with_signals(signals)
}

impl Reads {
    /// Adds the tagged alarms' series to a before/after read (one GetMetricData still); a
    /// canary's read compares versions, which an alarm's metric does not tell apart, so it
    /// stays as it is.
    pub fn with_signals(mut self, signals: &[Signal]) -> Self {
        if self.versions.is_some() {
            return self;
        }
        for (i, s) in signals.iter().enumerate() {
            self.requests.push(SeriesRequest {
                id: format!("signal_{i}"),
                metric: MetricRef {
                    period: Some(s.period_s),
                    return_data: true,
                    ..s.metric.clone()
                },
                stat: s.stat.clone(),
                period_s: s.period_s,
            });
        }
        self.signals = signals.len();
        self
    }

    /// Each added signal's values `(before, after)`, in the order they were added.
    pub fn signal_sides(&self, got: &BTreeMap<String, Vec<Point>>) -> Vec<(Vec<f64>, Vec<f64>)> {
        (0..self.signals)
            .map(|i| {
                let points = got.get(&format!("signal_{i}")).into_iter().flatten();
                let finite = points.filter(|p| p.value.is_finite());
                let (before, after): (Vec<&Point>, Vec<&Point>) =
                    finite.partition(|p| p.at < self.split_at);
                (
                    before.iter().map(|p| p.value).collect(),
                    after.iter().map(|p| p.value).collect(),
                )
            })
            .collect()
    }

    /// The two sides of the comparison from what the read returned: `(before, after)`, or
    /// `(old version, new version)`.
    pub fn sides(&self, got: &BTreeMap<String, Vec<Point>>) -> (Side, Side) {
        let side = |suffix: &str, keep: &dyn Fn(&Point) -> bool| {
            let values = |id: &str| -> Vec<f64> {
                got.get(&format!("{id}{suffix}"))
                    .into_iter()
                    .flatten()
                    .filter(|p| keep(p) && p.value.is_finite())
                    .map(|p| p.value)
                    .collect()
            };
            Side {
                latency: values("latency"),
                errors: values("errors").iter().sum(),
                invocations: values("invocations").iter().sum(),
            }
        };
        match &self.versions {
            Some(_) => (side("_old", &|_| true), side("_new", &|_| true)),
            None => (
                side("", &|p| p.at < self.split_at),
                side("", &|p| p.at >= self.split_at),
            ),
        }
    }

    /// The versions compared side by side, `(old, new)`; `None` for before/after.
    pub fn versions(&self) -> Option<(&str, &str)> {
        self.versions
            .as_ref()
            .map(|(o, n)| (o.as_str(), n.as_str()))
    }
}

/// What a deployment is judged on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Judged {
    Latency,
    ErrorRate,
    /// A tagged alarm's metric, by its label ([`Signal::label`]).
    Alarm(String),
}

impl Judged {
    pub fn label(&self) -> String {
        match self {
            Judged::Latency => "p99 Duration".into(),
            Judged::ErrorRate => "the error rate".into(),
            Judged::Alarm(label) => label.clone(),
        }
    }
}

/// The judgement that decides among a deployment's (in the order given: the alias's
/// latency, its error rate, then the tagged alarms): the first likely one, else the first
/// conclusive one, else the first. `None` when there is nothing to judge on.
pub fn decide(judgements: &[(Judged, Judgement)]) -> Option<&(Judged, Judgement)> {
    judgements
        .iter()
        .find(|(_, j)| j.verdict == Verdict::Likely)
        .or_else(|| {
            judgements
                .iter()
                .find(|(_, j)| j.verdict == Verdict::Unlikely)
        })
        .or_else(|| judgements.first())
}

/// The two windows a deployment is judged on: the baseline before it, and since it.
pub fn windows(
    d: &Deployment,
    now: Timestamp,
    policy: &WatchPolicy,
) -> ((Timestamp, Timestamp), (Timestamp, Timestamp)) {
    let start = d.started_at;
    let after_end = now.min(start.saturating_add(policy.bake));
    (
        (start.saturating_sub(policy.baseline), start),
        (start, after_end),
    )
}

/// The command that undoes `d`, for the incident's advice, when one command does: an alias
/// back to its previous version, a running CodeDeploy deployment stopped with its own
/// rollback, a running CloudFormation update cancelled (which rolls the stack back).
pub fn rollback_command(d: &Deployment) -> Option<String> {
    if let Some((function, alias)) = alias_of(d) {
        let to = d.from_version.as_deref()?;
        return Some(format!(
            "aws lambda update-alias --function-name {function} --name {alias} --function-version {to}"
        ));
    }
    let running = d.state == DeployState::InProgress;
    match d.source {
        DeploySource::CodeDeploy if running => Some(format!(
            "aws deploy stop-deployment --deployment-id {} --auto-rollback-enabled",
            d.id
        )),
        DeploySource::CloudFormation if running => Some(format!(
            "aws cloudformation cancel-update-stack --stack-name {}",
            d.target
        )),
        _ => None,
    }
}

/// What the incident advises: the command when there is one, else the way back for the
/// kind of deployment.
pub fn advice(d: &Deployment) -> String {
    if let Some(cmd) = rollback_command(d) {
        return format!("roll back: {cmd}");
    }
    let previous = d.from_version.as_deref();
    match (d.source, previous) {
        (DeploySource::Ecs, _) => format!(
            "roll back: update ECS service {} to the task definition it ran before deployment {} (aws ecs update-service --service {} --task-definition <previous>), or let the deployment circuit breaker roll it back",
            d.target, d.id, d.target
        ),
        (DeploySource::CloudFormation, _) => format!(
            "roll back: update stack {} with the template and parameters it had before (its update has completed, so cancel-update-stack no longer applies)",
            d.target
        ),
        (DeploySource::CodeDeploy, _) => format!(
            "roll back: redeploy the last revision before {} to {} (aws deploy create-deployment with that revision)",
            d.id, d.target
        ),
        (_, Some(v)) => format!("roll back: redeploy {} {v}", d.target),
        (_, None) => "roll back to the previous version (unknown to apptrack)".to_owned(),
    }
}

/// The `deploy-regression` incident for a likely verdict, once per deployment.
pub fn regression(
    d: &Deployment,
    judged: &Judged,
    j: &Judgement,
    at: Timestamp,
) -> Result<Occurrence, IncidentError> {
    let key = DedupKey::new(SOURCE, IncidentKind::DeployRegression, &d.target, &d.id)?;
    let change = j
        .change
        .filter(|c| c.is_finite())
        .map_or_else(String::new, |c| format!(" ({:+.0} %)", c * 100.0));
    let title = format!("{} made {} worse{change}", d.describe(), judged.label());
    let advice = advice(d);
    let summary = format!("deployment {}: {}; {advice}", d.id, j.why);
    let data = serde_json::json!({
        "deployment": d, "judged": judged, "judgement": j, "advice": advice
    });
    Ok(Occurrence {
        summary: summary.clone(),
        evidence: vec![Evidence::new(at, &summary, data)],
        idempotency_key: Some(format!("verdict:{}", d.id)),
        ..Occurrence::new(
            key,
            IncidentKind::DeployRegression,
            Severity::High,
            SOURCE,
            &d.service,
            &d.target,
            Title::truncated(&title),
            at,
        )
    })
}

/// Function tag that lets deploy-guard roll a regressed alias back itself (`auto`); any
/// other value, or none, only advises.
pub const ROLLBACK_TAG: &str = "apptrack:rollback";

pub fn auto_rollback(tags: &BTreeMap<String, String>) -> bool {
    tags.get(ROLLBACK_TAG)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("auto"))
}

/// What a rollback holder records before it moves the alias, so that whoever takes its
/// claim over can tell whether the alias already moved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RollbackIntent {
    pub function: String,
    pub alias: String,
    /// The regressed version it moves away from, and the one it moves back to.
    pub from: String,
    pub to: String,
}

/// At most one automatic rollback per target in this long.
pub const ROLLBACK_SPACING: Duration = Duration::from_secs(24 * 60 * 60);
/// How far back the rollbacks apptrack made are read for its guard rails.
pub const ROLLBACK_MEMORY: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// A CodeDeploy deployment announced as started and not (yet) as ended counts as running for
/// this long (its end may have been lost: EventBridge delivers at least once, not always).
pub const CODEDEPLOY_RUNNING: Duration = Duration::from_secs(6 * 60 * 60);
/// Who apptrack's own rollback markers name as their actor.
pub const ROLLBACK_ACTOR: &str = "apptrack deploy-guard";

/// The marker of the rollback apptrack made of `d` at `at` (its id derives from `d`'s, so
/// recording it again changes nothing). It keeps the guard rails' memory and shows in
/// `apptrack deploy list`; [`due`] never judges it.
pub fn rollback_marker(d: &Deployment, intent: &RollbackIntent, at: Timestamp) -> Deployment {
    Deployment {
        id: format!("rollback:{}", d.id),
        service: d.service.clone(),
        target: d.target.clone(),
        from_version: Some(intent.from.clone()),
        to_version: Some(intent.to.clone()),
        started_at: at,
        ended_at: Some(at),
        state: DeployState::Succeeded,
        actor: Some(ROLLBACK_ACTOR.to_owned()),
        source: DeploySource::Apptrack,
    }
}

/// The CodeDeploy deployment of the service that is running at `now`, if any: it owns the
/// alias, and stopping it with its own rollback is the way back.
pub fn codedeploy_running(history: &[Deployment], now: Timestamp) -> Option<&Deployment> {
    history.iter().find(|h| {
        h.source == DeploySource::CodeDeploy
            && h.state == DeployState::InProgress
            && h.started_at <= now
            && now.since(h.started_at) < CODEDEPLOY_RUNNING
    })
}

/// Why apptrack must not roll `target` back to `to` at `now`, given the markers of its
/// service (`history`): never while a CodeDeploy deployment of the service runs (CodeDeploy
/// shifts the alias itself; stopping it with its own rollback is the way), at most one
/// automatic rollback per target per
/// [`ROLLBACK_SPACING`] (a second regression so soon needs a person), and never back to a
/// version apptrack rolled away from (that would undo its own judgement). `None`: allowed.
pub fn rollback_refused(
    history: &[Deployment],
    target: &str,
    to: &str,
    now: Timestamp,
) -> Option<String> {
    let own = || {
        history
            .iter()
            .filter(move |h| h.source == DeploySource::Apptrack && h.target == target)
    };
    if let Some(h) = codedeploy_running(history, now) {
        return Some(format!(
            "CodeDeploy deployment {} of {} is in progress and owns the alias; stop it with its own rollback: aws deploy stop-deployment --deployment-id {} --auto-rollback-enabled",
            h.id, h.service, h.id
        ));
    }
    if let Some(h) = own()
        .filter(|h| h.started_at <= now && now.since(h.started_at) < ROLLBACK_SPACING)
        .max_by_key(|h| h.started_at)
    {
        return Some(format!(
            "apptrack rolled {target} back at {} already (at most one automatic rollback per target per 24 h)",
            h.started_at.to_rfc3339()
        ));
    }
    own()
        .find(|h| h.from_version.as_deref() == Some(to))
        .map(|h| {
            format!(
                "apptrack rolled {target} away from {to} at {}; it never goes back to a version it rolled away from",
                h.started_at.to_rfc3339()
            )
        })
}

/// The judgement of a deployment with nothing to judge it on: no Lambda alias of its own,
/// and no alarm tagged with its service.
pub fn nothing_to_judge(d: &Deployment) -> Judgement {
    Judgement {
        verdict: Verdict::Inconclusive,
        before_points: 0,
        after_points: 0,
        before_median: None,
        after_median: None,
        change: None,
        p_value: None,
        longest_excess: 0,
        why: format!(
            "nothing to judge {} on: it moved no Lambda alias, and no single-metric alarm is tagged {}={}",
            d.id,
            crate::alarm::incident::SERVICE_TAG,
            d.service
        ),
    }
}

/// How a verdict reads in a sentence about the deployment.
pub fn verdict_phrase(v: Verdict) -> &'static str {
    match v {
        Verdict::Likely => "is a likely regression",
        Verdict::Unlikely => "is unlikely the cause",
        Verdict::Inconclusive => "cannot be judged yet",
    }
}

/// Whether a judgement opens an incident.
pub fn opens_incident(j: &Judgement) -> bool {
    j.verdict == Verdict::Likely
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::DeploySource;

    #[test]
    fn a_weighted_alias_splitting_old_and_new_is_a_canary() {
        let d = Deployment {
            from_version: Some("41".into()),
            to_version: Some("42".into()),
            ..alias_deployment(0)
        };
        let alias = |version: &str, weights: &[(&str, f64)]| AliasState {
            version: version.into(),
            revision_id: None,
            weights: weights.iter().map(|(v, w)| ((*v).to_owned(), *w)).collect(),
        };
        assert_eq!(canary(&d, &alias("41", &[("42", 0.1)])), Some(("42", "41")));
        assert_eq!(canary(&d, &alias("42", &[("41", 0.5)])), Some(("42", "41")));
        assert_eq!(
            canary(&d, &alias("42", &[])),
            None,
            "all traffic moved: before/after"
        );
        assert_eq!(
            canary(&d, &alias("41", &[("43", 0.1)])),
            None,
            "another version's canary"
        );
        let policy = WatchPolicy::default();
        let now = d.started_at.saturating_add(Duration::from_secs(15 * 60));
        let r = reads(&d, ("checkout", "live"), Some(("42", "41")), now, &policy);
        assert_eq!(r.requests.len(), 6);
        let new_p99 = r
            .requests
            .iter()
            .find(|q| q.id == "latency_new")
            .expect("new p99");
        let dim = |k: &str| new_p99.metric.dimensions.get(k).map(String::as_str);
        assert_eq!(
            (dim("ExecutedVersion"), dim("Resource")),
            (Some("42"), Some("checkout:live"))
        );
        assert_eq!((new_p99.stat.as_str(), r.start), ("p99", d.started_at));
        let point = |min: i64, value: f64| Point {
            at: d.started_at.plus_millis(min * 60_000),
            value,
        };
        let got = BTreeMap::from([
            ("latency_old".to_owned(), vec![point(1, 200.0)]),
            ("latency_new".to_owned(), vec![point(1, 250.0)]),
            ("errors_new".to_owned(), vec![point(1, 2.0), point(2, 3.0)]),
        ]);
        let (old_side, new_side) = r.sides(&got);
        assert_eq!(
            (old_side.latency, new_side.latency),
            (vec![200.0], vec![250.0])
        );
        assert_eq!(new_side.errors, 5.0);

        // Before/after: three series from the baseline's start, split at the deployment.
        let r = reads(&d, ("checkout", "live"), None, now, &policy);
        assert_eq!(r.requests.len(), 3);
        assert!(r.start < d.started_at);
        let got = BTreeMap::from([(
            "latency".to_owned(),
            vec![point(-5, 200.0), point(5, 250.0)],
        )]);
        let (before, after) = r.sides(&got);
        assert_eq!((before.latency, after.latency), (vec![200.0], vec![250.0]));
    }

    fn alias_deployment(start_min: i64) -> Deployment {
        Deployment {
            id: "lambda:checkout:live:rev".into(),
            service: "checkout".into(),
            target: "checkout:live".into(),
            from_version: Some("41".into()),
            to_version: Some("42".into()),
            started_at: Timestamp::from_secs(start_min * 60),
            ended_at: None,
            state: DeployState::Succeeded,
            actor: Some("ci".into()),
            source: DeploySource::Lambda,
        }
    }

    #[test]
    fn only_alias_deployments_inside_the_bake_window_with_enough_minutes_are_due() {
        let p = WatchPolicy::default();
        let d = alias_deployment(0);
        let at = |m: i64| Timestamp::from_secs(m * 60);
        assert!(!due(&d, at(5), &p), "too few minutes");
        assert!(due(&d, at(10), &p));
        assert!(due(&d, at(60), &p));
        assert!(!due(&d, at(61), &p), "baked");
        let latest = Deployment {
            target: "checkout:$LATEST".into(),
            ..d.clone()
        };
        assert!(!due(&latest, at(10), &p));
        let failed = Deployment {
            state: DeployState::Failed,
            ..d
        };
        assert!(!due(&failed, at(10), &p));
    }

    fn rolled(from: &str, to: &str, at_min: i64) -> Deployment {
        let intent = RollbackIntent {
            function: "checkout".into(),
            alias: "live".into(),
            from: from.into(),
            to: to.into(),
        };
        rollback_marker(
            &alias_deployment(0),
            &intent,
            Timestamp::from_secs(at_min * 60),
        )
    }

    #[test]
    fn one_automatic_rollback_per_target_per_day_and_never_back_to_a_rolled_away_version() {
        let at = |m: i64| Timestamp::from_secs(m * 60);
        let history = [rolled("42", "41", 0)];
        let soon = rollback_refused(&history, "checkout:live", "40", at(23 * 60));
        assert!(soon.is_some_and(|w| w.contains("24 h")));
        assert_eq!(
            rollback_refused(&history, "checkout:live", "40", at(24 * 60)),
            None
        );
        let back = rollback_refused(&history, "checkout:live", "42", at(48 * 60));
        assert!(back.is_some_and(|w| w.contains("away from 42")));
        assert_eq!(
            rollback_refused(&history, "checkout:canary", "42", at(10)),
            None,
            "another target"
        );
        let not_ours = Deployment {
            source: DeploySource::Lambda,
            ..rolled("42", "41", 0)
        };
        assert_eq!(
            rollback_refused(&[not_ours], "checkout:live", "42", at(10)),
            None,
            "a person's rollback is no guard rail"
        );
    }

    #[test]
    fn no_rollback_while_a_codedeploy_deployment_of_the_service_runs() {
        let at = |m: i64| Timestamp::from_secs(m * 60);
        let running = Deployment {
            id: "d-ABC123".into(),
            target: "checkout-app/checkout-dg".into(),
            source: DeploySource::CodeDeploy,
            state: DeployState::InProgress,
            started_at: at(0),
            ..alias_deployment(0)
        };
        let why = rollback_refused(
            std::slice::from_ref(&running),
            "checkout:live",
            "41",
            at(10),
        );
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("stop-deployment --deployment-id d-ABC123")),
            "{why:?}"
        );
        let ended = Deployment {
            state: DeployState::Succeeded,
            ..running.clone()
        };
        assert_eq!(
            rollback_refused(&[ended], "checkout:live", "41", at(10)),
            None
        );
        assert_eq!(
            rollback_refused(&[running], "checkout:live", "41", at(7 * 60)),
            None,
            "a start whose end was lost does not block for ever"
        );
    }

    #[test]
    fn apptracks_own_rollback_is_never_judged() {
        let r = rolled("42", "41", 0);
        assert!(!due(
            &r,
            Timestamp::from_secs(15 * 60),
            &WatchPolicy::default()
        ));
        assert_eq!(r.id, "rollback:lambda:checkout:live:rev");
        assert_eq!(r.source.as_str(), "apptrack");
    }

    #[test]
    fn the_query_reads_the_aliass_p99_and_the_advice_names_the_command() {
        let d = alias_deployment(0);
        let r = reads(
            &d,
            ("checkout", "live"),
            None,
            d.started_at,
            &WatchPolicy::default(),
        );
        let q = &r.requests[0];
        assert_eq!(q.metric.dimensions["Resource"], "checkout:live");
        assert_eq!(
            (q.metric.metric_name.as_str(), q.stat.as_str()),
            ("Duration", "p99")
        );
        assert_eq!(
            rollback_command(&alias_deployment(0)).as_deref(),
            Some(
                "aws lambda update-alias --function-name checkout --name live --function-version 41"
            )
        );
    }
}
