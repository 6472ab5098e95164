//! The detection policy: from a batch and the counts after it, which problems to report
//! (`new-error`, `error-spike`, `dependency-failure`) and when a quiet one is over.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::analysis::{BatchAnalysis, BatchId, Cause, DependencyStats, Minute, PatternStats};
use super::counts::{CountQuery, CountSnapshot, PatternKey, Series};
use crate::clock::Timestamp;
use crate::incident::{
    DedupKey, Evidence, Incident, IncidentError, IncidentKind, MAX_EVIDENCE_BYTES, Occurrence,
    Severity, Tally, Title, truncate_chars,
};
use crate::settings::{SettingsError, parse_or};

/// The `source` of every incident error-analyzer raises.
pub const SOURCE: &str = "error-analyzer";

/// Thresholds of the policy, read from the environment once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorPolicy {
    /// `APPTRACK_NEW_ERROR_MIN_COUNT` (2): errors of a never-seen pattern before it is reported.
    pub new_error_min_count: u64,
    /// `APPTRACK_SPIKE_FACTOR` (5): a minute's count over this many times the baseline is a spike.
    pub spike_factor: f64,
    /// `APPTRACK_SPIKE_MIN_COUNT` (10): fewer errors in a minute are never a spike.
    pub spike_min_count: u64,
    /// `APPTRACK_SPIKE_BASELINE_MINUTES` (30): the minutes before the current one that form
    /// the baseline; a pattern younger than this has no baseline and cannot spike.
    pub spike_baseline_minutes: u32,
    /// `APPTRACK_DEPENDENCY_MIN_COUNT` (5): errors naming a dependency, within the window,
    /// before it counts as failing.
    pub dependency_min_count: u64,
    /// `APPTRACK_DEPENDENCY_MIN_SHARE` (0.5): the dependency's share of the service's errors
    /// within the window.
    pub dependency_min_share: f64,
    /// `APPTRACK_DEPENDENCY_WINDOW_MINUTES` (5): the window, ending at the batch's last minute.
    pub dependency_window_minutes: u32,
    /// `APPTRACK_QUIET_RESOLVE_SECS` (1800): an incident with no occurrence for this long is
    /// resolved by the next quiet sweep.
    pub quiet_resolve: Duration,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy {
            new_error_min_count: 2,
            spike_factor: 5.0,
            spike_min_count: 10,
            spike_baseline_minutes: 30,
            dependency_min_count: 5,
            dependency_min_share: 0.5,
            dependency_window_minutes: 5,
            quiet_resolve: Duration::from_secs(1800),
        }
    }
}

impl ErrorPolicy {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let d = ErrorPolicy::default();
        Ok(ErrorPolicy {
            new_error_min_count: parse_or(
                get,
                "APPTRACK_NEW_ERROR_MIN_COUNT",
                d.new_error_min_count,
                |n| *n >= 1,
                "a whole number of at least 1",
            )?,
            spike_factor: parse_or(
                get,
                "APPTRACK_SPIKE_FACTOR",
                d.spike_factor,
                |f: &f64| f.is_finite() && *f > 1.0,
                "a number greater than 1",
            )?,
            spike_min_count: parse_or(
                get,
                "APPTRACK_SPIKE_MIN_COUNT",
                d.spike_min_count,
                |n| *n >= 1,
                "a whole number of at least 1",
            )?,
            spike_baseline_minutes: parse_or(
                get,
                "APPTRACK_SPIKE_BASELINE_MINUTES",
                d.spike_baseline_minutes,
                |n| (1..=1440).contains(n),
                "a whole number of minutes from 1 to 1440",
            )?,
            dependency_min_count: parse_or(
                get,
                "APPTRACK_DEPENDENCY_MIN_COUNT",
                d.dependency_min_count,
                |n| *n >= 1,
                "a whole number of at least 1",
            )?,
            dependency_min_share: parse_or(
                get,
                "APPTRACK_DEPENDENCY_MIN_SHARE",
                d.dependency_min_share,
                |f: &f64| *f > 0.0 && *f <= 1.0,
                "a fraction above 0 and at most 1",
            )?,
            dependency_window_minutes: parse_or(
                get,
                "APPTRACK_DEPENDENCY_WINDOW_MINUTES",
                d.dependency_window_minutes,
                |n| (1..=1440).contains(n),
                "a whole number of minutes from 1 to 1440",
            )?,
            quiet_resolve: Duration::from_secs(parse_or(
                get,
                "APPTRACK_QUIET_RESOLVE_SECS",
                d.quiet_resolve.as_secs(),
                |n| *n >= 60,
                "a whole number of seconds, at least 60",
            )?),
        })
    }

    /// What to read back after the batch's counts are applied.
    pub fn query_for(&self, a: &BatchAnalysis) -> CountQuery {
        let mut q = CountQuery::default();
        for p in &a.patterns {
            q.patterns.push(p.key.clone());
            let (first, last) = minute_span(p);
            q.series.push((
                pattern_series(&p.key),
                first.back(self.spike_baseline_minutes),
                last,
            ));
        }
        let mut services = BTreeSet::new();
        for d in &a.dependencies {
            let (from, to) = self.dependency_window(d);
            q.series.push((d.series(), from, to));
            services.insert((d.service.clone(), from, to));
        }
        for (service, from, to) in services {
            q.series.push((Series::Service { service }, from, to));
        }
        q
    }

    fn dependency_window(&self, d: &DependencyStats) -> (Minute, Minute) {
        let to = Minute::of(d.seen.last);
        (
            to.back(self.dependency_window_minutes.saturating_sub(1)),
            to,
        )
    }

    /// The problems this batch shows, given the counts after it. Patterns whose errors
    /// mostly name a failing dependency are reported inside that dependency's incident, not
    /// on their own: one incident per problem.
    pub fn decide(&self, a: &BatchAnalysis, snap: &CountSnapshot) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut failing = BTreeSet::new();
        for d in &a.dependencies {
            if let Some(f) = self.dependency_failure(a, d, snap) {
                failing.insert((d.service.as_str(), d.dependency.as_str()));
                findings.push(f);
            }
        }
        for p in &a.patterns {
            let explained = p
                .main_dependency()
                .is_some_and(|dep| failing.contains(&(p.key.service.as_str(), dep)));
            if explained {
                continue;
            }
            if let Some(f) = self.new_error(a, p, snap) {
                findings.push(f);
            }
            if let Some(f) = self.spike(a, p, snap) {
                findings.push(f);
            }
        }
        findings
    }

    fn new_error(
        &self,
        a: &BatchAnalysis,
        p: &PatternStats,
        snap: &CountSnapshot,
    ) -> Option<Finding> {
        // The record's own first sighting names its counter: every batch reports the same.
        let (total, since) = match snap.patterns.get(&p.key) {
            Some(r) => (r.total.max(p.seen.count), r.first_seen),
            None => (p.seen.count, p.seen.first),
        };
        if total < self.new_error_min_count {
            return None;
        }
        let first_seen = since.min(p.seen.first);
        // The running total, not this batch's count: the incident takes in what it adds, so
        // the errors that led up to the threshold count too, and no error counts twice
        // whichever batches cross it, in whatever order, however often retried.
        let tally = Tally { since, total };
        let (cause, reason) = p.cause();
        let service = &p.key.service;
        let template = truncate_chars(&p.template, 160);
        let summary = format!(
            "A new error pattern in {service}: \"{template}\". {total} errors since it was first \
             seen at {first_seen} ({} in this batch, last at {}). Suspected cause: {} ({reason}).",
            p.seen.count,
            p.seen.last,
            cause.as_str(),
        );
        let data = json!({
            "pattern": template,
            "fingerprint": p.key.fingerprint.to_string(),
            "errors_in_batch": p.seen.count,
            "errors_total": total,
            "threshold": self.new_error_min_count,
            "first_seen": first_seen.to_rfc3339(),
            "last_seen": p.seen.last.to_rfc3339(),
            "error_type": p.error_type,
            "cause": cause.as_str(),
            "cause_reason": reason,
            "dependency": p.main_dependency(),
            "log_group": a.log_group,
            "per_minute": per_minute(p.minutes.iter().map(|(m, n)| (*m, *n))),
        });
        Some(Finding {
            kind: IncidentKind::NewError,
            severity: if p.fatal {
                Severity::High
            } else {
                Severity::Medium
            },
            service: service.clone(),
            resource: a.log_group.clone(),
            identity: p.key.fingerprint.to_string(),
            title: Title::truncated(&format!("New error in {service}: {}", p.template)),
            summary,
            at: p.seen.last,
            count: p.seen.count,
            tally: Some(tally),
            evidence_text: format!("{} errors of a new pattern in {service}", p.seen.count),
            data,
            samples: p.samples.clone(),
        })
    }

    fn spike(&self, a: &BatchAnalysis, p: &PatternStats, snap: &CountSnapshot) -> Option<Finding> {
        let record = snap.patterns.get(&p.key)?;
        let series = pattern_series(&p.key);
        let w = self.spike_baseline_minutes;
        let mut best: Option<(Minute, u64, f64)> = None;
        for &m in p.minutes.keys() {
            // A pattern younger than the baseline window has no baseline yet: new-error covers it.
            if record.first_seen > m.back(w).start() {
                continue;
            }
            let current = snap.at(&series, m).max(p.minutes[&m]);
            let baseline = snap.sum(&series, m.back(w), m.back(1)) as f64 / f64::from(w);
            let spiking = current >= self.spike_min_count
                && current as f64 >= self.spike_factor * baseline.max(1.0);
            let ratio = current as f64 / baseline.max(1.0);
            if spiking && best.is_none_or(|(_, _, r)| ratio > r) {
                best = Some((m, current, baseline));
            }
        }
        let (minute, current, baseline) = best?;
        let (cause, reason) = p.cause();
        let service = &p.key.service;
        let template = truncate_chars(&p.template, 160);
        let summary = format!(
            "Errors of \"{template}\" in {service} rose to {current} in the minute from {} \
             against a baseline of {baseline:.1} per minute over the {w} minutes before \
             (at least {}x and {} needed). Suspected cause: {} ({reason}).",
            minute.start(),
            self.spike_factor,
            self.spike_min_count,
            cause.as_str(),
        );
        let data = json!({
            "pattern": template,
            "fingerprint": p.key.fingerprint.to_string(),
            "minute": minute.label(),
            "errors_in_minute": current,
            "baseline_per_minute": (baseline * 10.0).round() / 10.0,
            "baseline_minutes": w,
            "errors_in_batch": p.seen.count,
            "errors_total": record.total,
            "first_seen": record.first_seen.to_rfc3339(),
            "last_seen": p.seen.last.to_rfc3339(),
            "cause": cause.as_str(),
            "cause_reason": reason,
            "log_group": a.log_group,
            // The baseline's minutes and the spiking one, so a reader sees the jump.
            "per_minute": per_minute((0..=w.min(SPIKE_SERIES_MINUTES)).rev().map(|back| {
                let m = minute.back(back);
                (m, snap.at(&series, m).max(p.minutes.get(&m).copied().unwrap_or(0)))
            })),
        });
        Some(Finding {
            kind: IncidentKind::ErrorSpike,
            severity: Severity::High,
            service: service.clone(),
            resource: a.log_group.clone(),
            identity: p.key.fingerprint.to_string(),
            title: Title::truncated(&format!("Error spike in {service}: {}", p.template)),
            summary,
            at: p.seen.last,
            count: p.seen.count,
            tally: None,
            evidence_text: format!("{current} errors/min against a baseline of {baseline:.1}/min"),
            data,
            samples: p.samples.clone(),
        })
    }

    fn dependency_failure(
        &self,
        a: &BatchAnalysis,
        d: &DependencyStats,
        snap: &CountSnapshot,
    ) -> Option<Finding> {
        let (from, to) = self.dependency_window(d);
        let errors = snap.sum(&d.series(), from, to).max(d.seen.count);
        let service_series = Series::Service {
            service: d.service.clone(),
        };
        let total = snap.sum(&service_series, from, to).max(errors);
        let share = errors as f64 / total as f64;
        if errors < self.dependency_min_count || share < self.dependency_min_share {
            return None;
        }
        let (cause, reason) = d.cause();
        let patterns: Vec<_> = d
            .patterns
            .iter()
            .filter_map(|(fp, n)| {
                a.patterns
                    .iter()
                    .find(|p| p.key.service == d.service && p.key.fingerprint == *fp)
                    .map(|p| (truncate_chars(&p.template, 120), fp, *n))
            })
            .collect();
        let listed: Vec<String> = patterns
            .iter()
            .take(5)
            .map(|(t, _, n)| format!("\"{t}\" ({n})"))
            .collect();
        let pct = (share * 1000.0).round() / 10.0;
        let service = &d.service;
        let dep = &d.dependency;
        let summary = format!(
            "{dep} is failing for {service}: {errors} of {total} errors ({pct}%) between {} and \
             {} name it, across {} pattern(s): {}. Suspected cause: {} ({reason}).",
            from.start(),
            to.start().saturating_add(Duration::from_secs(60)),
            patterns.len(),
            listed.join(", "),
            if cause == Cause::Unknown {
                Cause::Dependency.as_str()
            } else {
                cause.as_str()
            },
        );
        let data = json!({
            "dependency": dep,
            "share": (share * 1000.0).round() / 1000.0,
            "errors": errors,
            "errors_total": total,
            "window_start": from.start().to_rfc3339(),
            "window_end": to.start().saturating_add(Duration::from_secs(60)).to_rfc3339(),
            "errors_in_batch": d.seen.count,
            "first_seen": d.seen.first.to_rfc3339(),
            "last_seen": d.seen.last.to_rfc3339(),
            "patterns": patterns.iter().take(5).map(|(t, fp, n)| json!({
                "pattern": t, "fingerprint": fp.to_string(), "errors": n
            })).collect::<Vec<_>>(),
            "cause": cause.as_str(),
            "cause_reason": reason,
            "log_group": a.log_group,
        });
        Some(Finding {
            kind: IncidentKind::DependencyFailure,
            severity: Severity::High,
            service: service.clone(),
            resource: dep.clone(),
            identity: dep.clone(),
            title: Title::truncated(&format!(
                "Dependency {dep} failing for {service} ({pct}% of errors)"
            )),
            summary,
            at: d.seen.last,
            count: d.seen.count,
            tally: None,
            evidence_text: format!("{errors} of {total} errors in {service} name {dep}"),
            data,
            samples: d.samples.clone(),
        })
    }

    /// Whether an incident error-analyzer raised has been quiet long enough to resolve.
    pub fn is_quiet(&self, inc: &Incident, now: Timestamp) -> bool {
        inc.source == SOURCE
            && inc.status.is_active()
            && matches!(
                inc.kind,
                IncidentKind::NewError | IncidentKind::ErrorSpike | IncidentKind::DependencyFailure
            )
            && now.since(inc.last_seen) >= self.quiet_resolve
    }
}

fn pattern_series(key: &PatternKey) -> Series {
    Series::Pattern {
        service: key.service.clone(),
        fingerprint: key.fingerprint,
    }
}

/// Minutes of an error-spike's evidence series before the spiking one (its evidence stays
/// within `MAX_EVIDENCE_BYTES` with the samples).
const SPIKE_SERIES_MINUTES: u32 = 30;

/// Per-minute error counts as evidence: `[[minute start, epoch ms], count]` pairs, oldest
/// first, which the views draw as a sparkline (`core::view::series`).
fn per_minute(minutes: impl Iterator<Item = (Minute, u64)>) -> Value {
    Value::Array(
        minutes
            .map(|(m, n)| json!([m.start().as_millis(), n]))
            .collect(),
    )
}

fn minute_span(p: &PatternStats) -> (Minute, Minute) {
    (Minute::of(p.seen.first), Minute::of(p.seen.last))
}

/// A problem to report: everything an [`Occurrence`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: IncidentKind,
    pub severity: Severity,
    pub service: String,
    /// The log group for pattern problems, the dependency for dependency failures.
    pub resource: String,
    /// What makes the problem distinct within its kind and service: the pattern's
    /// fingerprint or the dependency.
    pub identity: String,
    pub title: Title,
    pub summary: String,
    pub at: Timestamp,
    /// This batch's own count; a problem with a running total reports it as `tally`.
    pub count: u64,
    pub tally: Option<Tally>,
    pub evidence_text: String,
    pub data: serde_json::Value,
    /// Sanitized samples.
    pub samples: Vec<String>,
}

impl Finding {
    pub fn dedup_key(&self) -> Result<DedupKey, IncidentError> {
        let problem = format!("{}|{}", self.service, self.identity);
        DedupKey::new(SOURCE, self.kind, &self.service, &problem)
    }

    /// The occurrence to raise; its idempotency key ties it to the batch, so a redelivery
    /// changes nothing.
    pub fn occurrence(&self, batch: &BatchId) -> Result<Occurrence, IncidentError> {
        let key = self.dedup_key()?;
        let mut occ = Occurrence::new(
            key.clone(),
            self.kind,
            self.severity,
            SOURCE,
            &self.service,
            &self.resource,
            self.title.clone(),
            self.at,
        );
        occ.summary = self.summary.clone();
        occ.count = self.count.max(1);
        occ.tally = self.tally;
        occ.evidence = vec![self.evidence()];
        occ.idempotency_key = Some(format!("{SOURCE}:{batch}:{key}"));
        Ok(occ)
    }

    /// One evidence item with as many samples as fit its size cap.
    fn evidence(&self) -> Evidence {
        let mut samples = self.samples.clone();
        loop {
            let mut data = self.data.clone();
            if let Some(o) = data.as_object_mut() {
                o.insert("samples".into(), json!(samples));
            }
            let size = self.evidence_text.len() + data.to_string().len();
            if size <= MAX_EVIDENCE_BYTES || samples.is_empty() {
                return Evidence::new(self.at, &self.evidence_text, data);
            }
            samples.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::analysis::analyze;
    use crate::pattern::PatternMiner;
    use crate::subscription::{LogEvent, LogsBatch, MessageType};
    use std::collections::HashMap;

    const T: i64 = 1_795_000_020_000;

    fn batch(lines: &[(i64, String)]) -> LogsBatch {
        LogsBatch {
            message_type: MessageType::Data,
            owner: "1".into(),
            log_group: "/aws/lambda/checkout".into(),
            log_stream: "s".into(),
            subscription_filters: vec![],
            log_events: lines
                .iter()
                .enumerate()
                .map(|(i, (t, m))| LogEvent {
                    id: format!("{i}"),
                    timestamp: *t,
                    message: m.clone(),
                })
                .collect(),
        }
    }

    /// The snapshot a store would return if this batch were the only one ever seen.
    fn alone(a: &BatchAnalysis) -> CountSnapshot {
        let mut snap = CountSnapshot::default();
        for w in &a.delta().writes {
            snap.add(w);
        }
        snap
    }

    fn lines(n: i64, f: impl Fn(i64) -> String) -> Vec<(i64, String)> {
        (0..n).map(|i| (T + i * 100, f(i))).collect()
    }

    #[test]
    fn a_burst_against_one_host_is_one_dependency_failure() {
        let mut l = lines(8, |i| {
            format!("ERROR connection refused to api.payments.example:443 order {i}")
        });
        l.extend(lines(4, |i| {
            format!("ERROR upstream 503 from https://api.payments.example/v1/charge/{i}")
        }));
        l.push((T, "ERROR ledger out of balance".into()));
        l.push((T + 1, "ERROR ledger out of balance".into()));
        let a = analyze(&batch(&l), &PatternMiner::default());
        let f = ErrorPolicy::default().decide(&a, &alone(&a));
        let kinds: Vec<_> = f.iter().map(|f| (f.kind, f.resource.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (IncidentKind::DependencyFailure, "api.payments.example"),
                (IncidentKind::NewError, "/aws/lambda/checkout")
            ],
            "the ledger error is its own problem; the payment errors are the dependency's"
        );
        assert_eq!(f[0].data["errors"], 12);
        assert_eq!(f[0].data["share"], 0.857);
        assert!(f[0].summary.contains("2 pattern(s)"), "{}", f[0].summary);
    }

    #[test]
    fn a_pattern_is_new_once_it_reaches_the_threshold() {
        let a = analyze(
            &batch(&lines(1, |_| "ERROR KeyError: 'sku'".into())),
            &PatternMiner::default(),
        );
        let p = ErrorPolicy::default();
        assert!(
            p.decide(&a, &alone(&a)).is_empty(),
            "one error is below the default of 2"
        );
        let mut snap = alone(&a);
        snap.patterns.values_mut().for_each(|r| r.total = 2);
        let f = p.decide(&a, &snap);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, IncidentKind::NewError);
        assert_eq!(
            f[0].tally.map(|t| t.total),
            Some(2),
            "the crossing batch reports the running total: the earlier error too"
        );
        let occ = f[0].occurrence(&a.id).unwrap();
        assert_eq!(occ.news(None), 2);
        assert!(occ.idempotency_key.unwrap().contains(a.id.as_str()));
        assert!(
            occ.evidence[0].data["samples"][0]
                .as_str()
                .unwrap()
                .contains("KeyError")
        );
    }

    #[test]
    fn a_known_pattern_spikes_over_its_baseline() {
        let a = analyze(
            &batch(&lines(30, |i| format!("ERROR timeout reading cart {i}"))),
            &PatternMiner::default(),
        );
        let mut snap = alone(&a);
        let p = &a.patterns[0];
        let series = pattern_series(&p.key);
        let m = Minute::of(p.seen.last);
        snap.patterns.get_mut(&p.key).unwrap().first_seen = m.back(60).start();
        snap.patterns.get_mut(&p.key).unwrap().total = 500;
        let policy = ErrorPolicy::default();
        let kinds = |snap: &CountSnapshot| -> Vec<IncidentKind> {
            policy.decide(&a, snap).iter().map(|f| f.kind).collect()
        };
        // Two a minute before: 30 is well over 5x.
        for back in 1..=30 {
            snap.series
                .get_mut(&series)
                .unwrap()
                .insert(m.back(back), 2);
        }
        assert_eq!(
            kinds(&snap),
            [IncidentKind::NewError, IncidentKind::ErrorSpike]
        );
        // Ten a minute before: 30 is only 3x.
        for back in 1..=30 {
            snap.series
                .get_mut(&series)
                .unwrap()
                .insert(m.back(back), 10);
        }
        assert_eq!(kinds(&snap), [IncidentKind::NewError]);
    }

    #[test]
    fn quiet_incidents_of_this_function_only() {
        let a = analyze(
            &batch(&lines(3, |_| "ERROR boom".into())),
            &PatternMiner::default(),
        );
        let f = &ErrorPolicy::default().decide(&a, &alone(&a))[0];
        let occ = f.occurrence(&a.id).unwrap();
        let mut inc = Incident::open(crate::incident::IncidentId::new(occ.at), &occ, None);
        let p = ErrorPolicy::default();
        assert!(!p.is_quiet(&inc, occ.at.saturating_add(Duration::from_secs(1799))));
        assert!(p.is_quiet(&inc, occ.at.saturating_add(Duration::from_secs(1800))));
        inc.source = "alarm-scaler".into();
        assert!(!p.is_quiet(&inc, occ.at.saturating_add(Duration::from_secs(9999))));
    }

    #[test]
    fn settings_have_defaults_and_name_bad_values() {
        let none = |_: &str| None;
        assert_eq!(
            ErrorPolicy::from_lookup(&none).unwrap(),
            ErrorPolicy::default()
        );
        let m: HashMap<&str, &str> = HashMap::from([("APPTRACK_SPIKE_FACTOR", "0.5")]);
        let err = ErrorPolicy::from_lookup(&|k: &str| m.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(err.to_string().contains("APPTRACK_SPIKE_FACTOR"), "{err}");
    }
}
