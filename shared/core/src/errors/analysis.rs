//! Aggregates one subscription batch in memory: error lines grouped by service and pattern,
//! per-minute counts per pattern, dependency and service, with samples and suspected causes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::counts::{CountDelta, CountWrite, PatternKey, Series};
use crate::clock::Timestamp;
use crate::logline::{self, Format, Level, ParsedLine, SuspectedCause};
use crate::pattern::{Fingerprint, PatternMiner, Rename};
use crate::subscription::LogsBatch;

/// Samples kept per pattern or dependency.
pub const MAX_SAMPLES: usize = 5;
/// Bytes per sanitized sample: five of them fit in one incident evidence item.
pub const SAMPLE_BYTES: usize = 240;
/// Distinct patterns counted per batch; the errors of further patterns still count
/// towards their service and dependency, and are reported as overflow. Bounds the writes
/// one pathological batch can cause.
pub const MAX_PATTERNS_PER_BATCH: usize = 500;
/// Longest service name kept, in characters.
const MAX_SERVICE_CHARS: usize = 100;

/// A minute of wall-clock time (minutes since the Unix epoch), the unit of counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Minute(i64);

impl Minute {
    pub fn of(t: Timestamp) -> Self {
        Minute(t.as_millis().div_euclid(60_000))
    }

    pub fn start(self) -> Timestamp {
        Timestamp::from_millis(self.0.saturating_mul(60_000))
    }

    /// `self` minus `n` minutes.
    pub fn back(self, n: u32) -> Self {
        Minute(self.0 - i64::from(n))
    }

    /// Sortable text form, `2026-11-24T03:05`.
    pub fn label(self) -> String {
        let mut s = self.start().to_rfc3339();
        s.truncate(16);
        s
    }

    /// Parses [`Minute::label`] back.
    pub fn parse_label(s: &str) -> Option<Self> {
        Timestamp::parse(&format!("{s}:00Z")).ok().map(Minute::of)
    }
}

impl fmt::Display for Minute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Identity of a delivery: a hash of its log group, stream and event ids. CloudWatch
/// event ids are unique, so a redelivery has the same id and any other batch a different one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BatchId(String);

impl BatchId {
    pub fn of(batch: &LogsBatch) -> Self {
        let mut ids: Vec<&str> = batch.log_events.iter().map(|e| e.id.as_str()).collect();
        // Order-independent: the same events are the same batch.
        ids.sort_unstable();
        let mut h = Sha256::new();
        for part in [batch.log_group.as_str(), batch.log_stream.as_str()]
            .into_iter()
            .chain(ids)
        {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        BatchId(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A stored id, trusted as is.
    pub fn from_stored(s: impl Into<String>) -> Self {
        BatchId(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which kind of thing most likely failed, as incidents and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// A third-party API, an AWS service or the network to them.
    Dependency,
    Database,
    /// A programming error in the function.
    Code,
    /// The function ran out of time, memory or another local resource.
    Resource,
    Unknown,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Dependency => "dependency",
            Cause::Database => "database",
            Cause::Code => "code",
            Cause::Resource => "resource",
            Cause::Unknown => "unknown",
        }
    }
}

impl From<SuspectedCause> for Cause {
    fn from(c: SuspectedCause) -> Self {
        match c {
            SuspectedCause::Database => Cause::Database,
            SuspectedCause::ExternalApi | SuspectedCause::AwsService | SuspectedCause::Network => {
                Cause::Dependency
            }
            SuspectedCause::Resource => Cause::Resource,
            SuspectedCause::Code => Cause::Code,
            SuspectedCause::Unknown => Cause::Unknown,
        }
    }
}

/// Why a cause is suspected, in words, from what the line showed.
fn cause_reason(line: &ParsedLine) -> String {
    let what = match line.cause {
        SuspectedCause::Database => "a database",
        SuspectedCause::ExternalApi => "an external API",
        SuspectedCause::AwsService => "an AWS service",
        SuspectedCause::Network => "a network peer",
        SuspectedCause::Resource => "",
        SuspectedCause::Code => "",
        SuspectedCause::Unknown => "",
    };
    let ty = line.error_type.as_deref().unwrap_or("the error");
    match (line.cause, &line.dependency) {
        (SuspectedCause::Resource, _) => format!("{ty}: the function ran out of a resource"),
        (SuspectedCause::Code, _) => format!("{ty} is a programming error"),
        (_, Some(dep)) if !what.is_empty() => {
            let status = line
                .http_status
                .map(|s| format!(", HTTP {s}"))
                .unwrap_or_default();
            format!("{ty} names {dep}, {what}{status}")
        }
        (_, Some(dep)) => format!("{ty} names {dep}"),
        _ => "no dependency, resource or programming error recognized".to_owned(),
    }
}

/// Counts with the time they span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

impl Seen {
    fn new(at: Timestamp) -> Self {
        Seen {
            count: 0,
            first: at,
            last: at,
        }
    }

    fn add(&mut self, at: Timestamp) {
        self.count += 1;
        self.first = self.first.min(at);
        self.last = self.last.max(at);
    }
}

/// One pattern's errors in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternStats {
    pub key: PatternKey,
    pub template: String,
    pub seen: Seen,
    /// Sanitized, at most [`MAX_SAMPLES`] of [`SAMPLE_BYTES`].
    pub samples: Vec<String>,
    pub error_type: Option<String>,
    /// Whether any line was fatal (or a Lambda platform failure).
    pub fatal: bool,
    pub minutes: BTreeMap<Minute, u64>,
    causes: BTreeMap<Cause, (u64, String)>,
    /// Errors of this pattern per dependency named.
    pub dependencies: BTreeMap<String, u64>,
}

impl PatternStats {
    /// The most frequent cause and the reason given by its first line.
    pub fn cause(&self) -> (Cause, &str) {
        top_cause(&self.causes)
    }

    /// The dependency most of this pattern's errors name, if more than half do.
    pub fn main_dependency(&self) -> Option<&str> {
        self.dependencies
            .iter()
            .max_by_key(|(d, c)| (**c, std::cmp::Reverse(*d)))
            .filter(|(_, c)| **c * 2 > self.seen.count)
            .map(|(d, _)| d.as_str())
    }

    pub fn last_minute(&self) -> Minute {
        Minute::of(self.seen.last)
    }
}

impl PatternStats {
    /// Takes in the errors of another pattern that learning found to be this one.
    fn absorb(&mut self, other: PatternStats) {
        self.seen.count += other.seen.count;
        self.seen.first = self.seen.first.min(other.seen.first);
        self.seen.last = self.seen.last.max(other.seen.last);
        for s in other.samples {
            if self.samples.len() < MAX_SAMPLES {
                self.samples.push(s);
            }
        }
        if self.error_type.is_none() {
            self.error_type = other.error_type;
        }
        self.fatal |= other.fatal;
        for (m, n) in other.minutes {
            *self.minutes.entry(m).or_default() += n;
        }
        for (c, (n, reason)) in other.causes {
            self.causes.entry(c).or_insert((0, reason)).0 += n;
        }
        for (d, n) in other.dependencies {
            *self.dependencies.entry(d).or_default() += n;
        }
    }
}

fn top_cause(causes: &BTreeMap<Cause, (u64, String)>) -> (Cause, &str) {
    causes
        .iter()
        .max_by_key(|(c, (n, _))| (*n, std::cmp::Reverse(**c)))
        .map(|(c, (_, r))| (*c, r.as_str()))
        .unwrap_or((Cause::Unknown, ""))
}

/// Errors naming one dependency in one service, across patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyStats {
    pub service: String,
    pub dependency: String,
    pub seen: Seen,
    pub samples: Vec<String>,
    /// Errors per pattern fingerprint (only patterns counted in the batch).
    pub patterns: BTreeMap<Fingerprint, u64>,
    pub minutes: BTreeMap<Minute, u64>,
    causes: BTreeMap<Cause, (u64, String)>,
}

impl DependencyStats {
    pub fn cause(&self) -> (Cause, &str) {
        top_cause(&self.causes)
    }

    pub fn series(&self) -> Series {
        Series::Dependency {
            service: self.service.clone(),
            dependency: self.dependency.clone(),
        }
    }
}

/// One batch, aggregated: what is counted, and what incidents are decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAnalysis {
    pub id: BatchId,
    pub log_group: String,
    /// Log events in the batch.
    pub lines: u64,
    /// Events recognized as errors.
    pub error_lines: u64,
    /// Events no format was recognized in (counted and skipped).
    pub unparsed: u64,
    /// Error events whose pattern did not fit [`MAX_PATTERNS_PER_BATCH`].
    pub overflow: u64,
    /// Sorted by service and fingerprint.
    pub patterns: Vec<PatternStats>,
    /// Sorted by service and dependency.
    pub dependencies: Vec<DependencyStats>,
    /// All errors per service and minute.
    pub service_minutes: BTreeMap<String, BTreeMap<Minute, u64>>,
    /// Errors per service and cause (for metrics).
    pub errors_by_cause: BTreeMap<(String, Cause), u64>,
}

/// The service a batch's lines belong to when a line names none: the last part of the
/// log group (`/aws/lambda/checkout` → `checkout`).
pub fn service_of_log_group(log_group: &str) -> String {
    let last = log_group
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let name = if last.trim().is_empty() {
        log_group
    } else {
        last
    };
    clean_service(name).unwrap_or_else(|| "unknown".to_owned())
}

fn clean_service(s: &str) -> Option<String> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SERVICE_CHARS)
        .collect();
    (!s.is_empty()).then_some(s)
}

/// The text a line's pattern is mined from: its message, with the error type when the
/// message does not already carry it (`query failed` from a `TimeoutError` and from a
/// `SyntaxError` are different problems).
pub fn pattern_text(line: &ParsedLine) -> String {
    let message = line.message.trim();
    match line.error_type.as_deref() {
        Some(ty) if !message.contains(ty) => {
            if message.is_empty() {
                ty.to_owned()
            } else {
                format!("{message} ({ty})")
            }
        }
        _ if message.is_empty() => "(empty message)".to_owned(),
        _ => message.to_owned(),
    }
}

/// The identity of a dependency: its host, lower-cased, without a port
/// (`api.payments.example:443` and `https://api.payments.example` are one dependency).
pub fn dependency_key(dep: &str) -> String {
    let d = dep.trim().to_ascii_lowercase();
    match d.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host.to_owned()
        }
        _ => d,
    }
}

fn push_sample(samples: &mut Vec<String>, raw: &str) {
    if samples.len() < MAX_SAMPLES {
        samples.push(logline::sanitize_sample(raw.trim(), SAMPLE_BYTES));
    }
}

/// Parses, mines and aggregates a batch. Pure: the same batch always gives the same analysis.
pub fn analyze(batch: &LogsBatch, miner: &PatternMiner) -> BatchAnalysis {
    let default_service = service_of_log_group(&batch.log_group);
    let mut out = BatchAnalysis {
        id: BatchId::of(batch),
        log_group: batch.log_group.clone(),
        lines: batch.log_events.len() as u64,
        error_lines: 0,
        unparsed: 0,
        overflow: 0,
        patterns: Vec::new(),
        dependencies: Vec::new(),
        service_minutes: BTreeMap::new(),
        errors_by_cause: BTreeMap::new(),
    };
    let mut pattern_index: HashMap<(String, String), usize> = HashMap::new();
    let mut dep_index: HashMap<(String, String), usize> = HashMap::new();
    for event in &batch.log_events {
        // Most lines are not errors; a well-formed JSON line that cannot be one needs no tree.
        if logline::json_line_cannot_be_error(&event.message) {
            continue;
        }
        let line = logline::parse_line(&event.message);
        if matches!(line.format, Format::Unrecognized) && !line.is_error() {
            out.unparsed += 1;
            continue;
        }
        if !line.is_error() {
            continue;
        }
        out.error_lines += 1;
        let at = Timestamp::from_millis(event.timestamp);
        let minute = Minute::of(at);
        let service = line
            .service
            .as_deref()
            .and_then(clean_service)
            .unwrap_or_else(|| default_service.clone());
        let cause = Cause::from(line.cause);
        *out.errors_by_cause
            .entry((service.clone(), cause))
            .or_default() += 1;
        *out.service_minutes
            .entry(service.clone())
            .or_default()
            .entry(minute)
            .or_default() += 1;

        let template = miner.template(&pattern_text(&line));
        let pattern_slot = match pattern_index.get(&(service.clone(), template.clone())) {
            Some(&i) => Some(i),
            None if out.patterns.len() < MAX_PATTERNS_PER_BATCH => {
                let fingerprint = Fingerprint::of_template(&template);
                out.patterns.push(PatternStats {
                    key: PatternKey {
                        service: service.clone(),
                        fingerprint,
                    },
                    template: template.clone(),
                    seen: Seen::new(at),
                    samples: Vec::new(),
                    error_type: line.error_type.clone(),
                    fatal: false,
                    minutes: BTreeMap::new(),
                    causes: BTreeMap::new(),
                    dependencies: BTreeMap::new(),
                });
                pattern_index.insert((service.clone(), template), out.patterns.len() - 1);
                Some(out.patterns.len() - 1)
            }
            None => {
                out.overflow += 1;
                None
            }
        };
        let mut fingerprint = None;
        if let Some(i) = pattern_slot {
            let p = &mut out.patterns[i];
            fingerprint = Some(p.key.fingerprint);
            p.seen.add(at);
            push_sample(&mut p.samples, &event.message);
            p.fatal |=
                line.level == Level::Fatal || matches!(line.format, Format::LambdaPlatform(_));
            *p.minutes.entry(minute).or_default() += 1;
            let c = p
                .causes
                .entry(cause)
                .or_insert_with(|| (0, cause_reason(&line)));
            c.0 += 1;
            if let Some(dep) = line.dependency.as_deref().map(dependency_key) {
                *p.dependencies.entry(dep).or_default() += 1;
            }
        }
        if let Some(dep) = line.dependency.as_deref().map(dependency_key) {
            let i = *dep_index
                .entry((service.clone(), dep.clone()))
                .or_insert_with(|| {
                    out.dependencies.push(DependencyStats {
                        service: service.clone(),
                        dependency: dep.clone(),
                        seen: Seen::new(at),
                        samples: Vec::new(),
                        patterns: BTreeMap::new(),
                        minutes: BTreeMap::new(),
                        causes: BTreeMap::new(),
                    });
                    out.dependencies.len() - 1
                });
            let d = &mut out.dependencies[i];
            d.seen.add(at);
            push_sample(&mut d.samples, &event.message);
            *d.minutes.entry(minute).or_default() += 1;
            if let Some(f) = fingerprint {
                *d.patterns.entry(f).or_default() += 1;
            }
            let c = d
                .causes
                .entry(cause)
                .or_insert_with(|| (0, cause_reason(&line)));
            c.0 += 1;
        }
    }
    out.patterns.sort_by(|a, b| a.key.cmp(&b.key));
    out.dependencies
        .sort_by(|a, b| (&a.service, &a.dependency).cmp(&(&b.service, &b.dependency)));
    out
}

impl BatchAnalysis {
    /// The distinct templates of each service's patterns, as mined.
    pub fn templates_by_service(&self) -> BTreeMap<String, Vec<&str>> {
        let mut out: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for p in &self.patterns {
            out.entry(p.key.service.clone())
                .or_default()
                .push(p.template.as_str());
        }
        out
    }

    /// Applies a batch's decision from the template registry
    /// ([`crate::pattern::renames_for_batch`]).
    pub fn apply_renames(&mut self, renames: &[Rename]) {
        let map: HashMap<(&str, &str), (&str, Fingerprint)> = renames
            .iter()
            .map(|r| {
                (
                    (r.service.as_str(), r.from.as_str()),
                    (r.template.as_str(), r.fingerprint),
                )
            })
            .collect();
        self.rename_patterns(|service, template| {
            map.get(&(service, template))
                .map(|(t, f)| ((*t).to_owned(), *f))
        });
    }

    /// Gives each pattern that `rename` maps (by service and template) the template and
    /// fingerprint it returns, and joins the patterns of a service that then share a
    /// fingerprint: counts add up, samples fill up to [`MAX_SAMPLES`], each dependency's
    /// per-pattern counts follow. Keeps the patterns sorted.
    pub fn rename_patterns(
        &mut self,
        rename: impl Fn(&str, &str) -> Option<(String, Fingerprint)>,
    ) {
        let mut moved: HashMap<(String, Fingerprint), Fingerprint> = HashMap::new();
        for p in &mut self.patterns {
            if let Some((template, fingerprint)) = rename(&p.key.service, &p.template) {
                if fingerprint != p.key.fingerprint {
                    moved.insert((p.key.service.clone(), p.key.fingerprint), fingerprint);
                }
                p.template = template;
                p.key.fingerprint = fingerprint;
            }
        }
        if moved.is_empty() {
            return;
        }
        let mut joined: Vec<PatternStats> = Vec::with_capacity(self.patterns.len());
        let mut at: HashMap<PatternKey, usize> = HashMap::new();
        for p in std::mem::take(&mut self.patterns) {
            match at.get(&p.key) {
                Some(&i) => joined[i].absorb(p),
                None => {
                    at.insert(p.key.clone(), joined.len());
                    joined.push(p);
                }
            }
        }
        joined.sort_by(|a, b| a.key.cmp(&b.key));
        self.patterns = joined;
        for d in &mut self.dependencies {
            let old = std::mem::take(&mut d.patterns);
            for (f, n) in old {
                let f = moved.get(&(d.service.clone(), f)).copied().unwrap_or(f);
                *d.patterns.entry(f).or_default() += n;
            }
        }
    }

    /// The counter writes of this batch: one per (series, minute) and one per pattern,
    /// in a fixed order.
    pub fn delta(&self) -> CountDelta {
        let mut increments: BTreeMap<(Series, Minute), u64> = BTreeMap::new();
        for p in &self.patterns {
            let series = Series::Pattern {
                service: p.key.service.clone(),
                fingerprint: p.key.fingerprint,
            };
            for (m, c) in &p.minutes {
                *increments.entry((series.clone(), *m)).or_default() += c;
            }
        }
        for d in &self.dependencies {
            for (m, c) in &d.minutes {
                *increments.entry((d.series(), *m)).or_default() += c;
            }
        }
        for (service, minutes) in &self.service_minutes {
            let series = Series::Service {
                service: service.clone(),
            };
            for (m, c) in minutes {
                *increments.entry((series.clone(), *m)).or_default() += c;
            }
        }
        let mut writes: Vec<CountWrite> = increments
            .into_iter()
            .map(|((series, minute), by)| CountWrite::Increment { series, minute, by })
            .collect();
        writes.extend(self.patterns.iter().map(|p| CountWrite::Sighting {
            key: p.key.clone(),
            template: p.template.clone(),
            count: p.seen.count,
            first_seen: p.seen.first,
            last_seen: p.seen.last,
        }));
        CountDelta {
            batch: self.id.clone(),
            writes,
        }
    }

    /// Errors per service in the batch.
    pub fn errors_per_service(&self) -> BTreeMap<&str, u64> {
        let mut out = BTreeMap::new();
        for (service, minutes) in &self.service_minutes {
            out.insert(service.as_str(), minutes.values().sum());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscription::{LogEvent, MessageType};

    pub(crate) fn batch(lines: &[(i64, &str)]) -> LogsBatch {
        LogsBatch {
            message_type: MessageType::Data,
            owner: "123456789012".into(),
            log_group: "/aws/lambda/checkout".into(),
            log_stream: "2026/11/24/[$LATEST]abc".into(),
            subscription_filters: vec!["apptrack".into()],
            log_events: lines
                .iter()
                .enumerate()
                .map(|(i, (t, m))| LogEvent {
                    id: format!("{i:056}"),
                    timestamp: *t,
                    message: (*m).to_owned(),
                })
                .collect(),
        }
    }

    const T: i64 = 1_795_000_000_000;

    #[test]
    fn groups_errors_by_pattern_and_dependency_and_skips_the_rest() {
        let b = batch(&[
            (T, "2026-11-18T00:00:00.000Z\tabc\tINFO\tcharging order 7"),
            (
                T + 1,
                "2026-11-18T00:00:00.000Z\tabc\tERROR\tconnection refused to api.payments.example:443",
            ),
            (
                T + 2,
                "2026-11-18T00:00:00.000Z\tabc\tERROR\tconnection refused to api.payments.example:443",
            ),
            (
                T + 61_000,
                "[ERROR]\t2026-11-18T00:01:00.000Z\tabc\tcould not reach api.payments.example: HTTP 502",
            ),
            (T + 3, "\u{1}\u{2}"),
        ]);
        let a = analyze(&b, &PatternMiner::default());
        assert_eq!((a.lines, a.error_lines, a.unparsed), (5, 3, 1));
        assert_eq!(a.patterns.len(), 2);
        assert!(a.patterns.iter().all(|p| p.key.service == "checkout"));
        let refused = a.patterns.iter().find(|p| p.seen.count == 2).unwrap();
        // The host is a variable (three labels), the dependency still names it.
        assert_eq!(refused.template, "connection refused to <*>");
        assert_eq!(refused.main_dependency(), Some("api.payments.example"));
        assert_eq!(refused.cause().0, Cause::Dependency);
        assert_eq!(refused.samples.len(), 2);
        assert_eq!(
            a.dependencies.len(),
            1,
            "host:port and host are one dependency"
        );
        assert_eq!(a.dependencies[0].seen.count, 3);
        assert_eq!(a.dependencies[0].patterns.len(), 2);
        assert_eq!(a.service_minutes["checkout"].values().sum::<u64>(), 3);
    }

    #[test]
    fn the_delta_has_one_write_per_counter_and_pattern() {
        let lines: Vec<(i64, String)> = (0..50)
            .map(|i| {
                (
                    T - T % 60_000 + i * 1000,
                    format!("ERROR user {i} not found"),
                )
            })
            .collect();
        let refs: Vec<(i64, &str)> = lines.iter().map(|(t, m)| (*t, m.as_str())).collect();
        let a = analyze(&batch(&refs), &PatternMiner::default());
        let d = a.delta();
        // Pattern and service counters for minute 0, plus the pattern record.
        assert_eq!(d.writes.len(), 3, "{:#?}", d.writes);
        assert!(matches!(d.writes[0], CountWrite::Increment { by: 50, .. }));
    }

    #[test]
    fn batch_id_ignores_event_order_but_not_content() {
        let a = batch(&[(T, "ERROR a"), (T, "ERROR b")]);
        let mut b = a.clone();
        b.log_events.reverse();
        assert_eq!(BatchId::of(&a), BatchId::of(&b));
        b.log_events.pop();
        assert_ne!(BatchId::of(&a), BatchId::of(&b));
    }

    #[test]
    fn minute_labels_sort_and_parse_back() {
        let m = Minute::of(Timestamp::from_millis(T + 59_999));
        assert_eq!(m.label(), "2026-11-18T11:07");
        assert_eq!(Minute::parse_label(&m.label()), Some(m));
        assert!(m.back(1).label() < m.label());
    }

    #[test]
    fn service_falls_back_to_the_log_group() {
        assert_eq!(service_of_log_group("/aws/lambda/checkout"), "checkout");
        assert_eq!(service_of_log_group("/ecs/orders/"), "orders");
        assert_eq!(service_of_log_group(""), "unknown");
    }
}
