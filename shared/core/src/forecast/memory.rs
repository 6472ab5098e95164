//! In-memory fakes of the forecast ports, for unit tests of the handler: alarms and series
//! set by hand (a series is keyed by metric name and statistic, and cut to the requested
//! window and period), and the episodes' run counts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{AlarmCatalog, AlarmSpec, EpisodeLog, EpisodeRun, MetricHistory, Point, SeriesRequest};
use crate::clock::Timestamp;
use crate::incident::IncidentId;
use crate::scaling::ScalingError;
use crate::store::StoreError;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Alarms, listed by their tags.
#[derive(Debug, Default)]
pub struct FakeCatalog {
    alarms: Mutex<Vec<AlarmSpec>>,
}

impl FakeCatalog {
    /// Adds the alarm, or replaces the one of the same name.
    pub fn insert(&self, spec: AlarmSpec) {
        let mut alarms = lock(&self.alarms);
        alarms.retain(|a| a.name != spec.name);
        alarms.push(spec);
    }

    /// The alarm named `name` (an empty one when there is none).
    pub fn tagged_for_test(&self, name: &str) -> AlarmSpec {
        lock(&self.alarms)
            .iter()
            .find(|a| a.name == name)
            .cloned()
            .unwrap_or_default()
    }
}

impl AlarmCatalog for FakeCatalog {
    async fn tagged(
        &self,
        prefix: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<AlarmSpec>, ScalingError> {
        Ok(lock(&self.alarms)
            .iter()
            .filter(|a| a.name.starts_with(prefix))
            .filter(|a| {
                a.tags
                    .get(key)
                    .is_some_and(|v| value.is_none_or(|want| v == want))
            })
            .cloned()
            .collect())
    }
}

/// Raw points per metric name; a read buckets them to the requested period with the
/// requested statistic (Maximum or Minimum), as GetMetricData does.
#[derive(Debug, Default)]
pub struct FakeHistory {
    raw: Mutex<HashMap<String, Vec<Point>>>,
    calls: AtomicU64,
    fail: Mutex<Option<ScalingError>>,
}

impl FakeHistory {
    pub fn set(&self, metric_name: &str, points: Vec<Point>) {
        lock(&self.raw).insert(metric_name.to_owned(), points);
    }

    /// The next read fails with `e`.
    pub fn fail_next(&self, e: ScalingError) {
        *lock(&self.fail) = Some(e);
    }
}

impl MetricHistory for FakeHistory {
    async fn read(
        &self,
        requests: &[SeriesRequest],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<BTreeMap<String, Vec<Point>>, ScalingError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = lock(&self.fail).take() {
            return Err(e);
        }
        let raw = lock(&self.raw);
        let mut out = BTreeMap::new();
        for r in requests {
            let period = i64::from(r.period_s.max(1)) * 1000;
            let mut buckets: BTreeMap<i64, f64> = BTreeMap::new();
            for p in raw.get(&r.metric.metric_name).into_iter().flatten() {
                if p.at < start || p.at >= end {
                    continue;
                }
                let b = p.at.as_millis().div_euclid(period) * period;
                let e = buckets.entry(b).or_insert(p.value);
                *e = if r.stat == "Minimum" {
                    e.min(p.value)
                } else {
                    e.max(p.value)
                };
            }
            out.insert(
                r.id.clone(),
                buckets
                    .into_iter()
                    .map(|(at, value)| Point {
                        at: Timestamp::from_millis(at),
                        value,
                    })
                    .collect(),
            );
        }
        Ok(out)
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Default)]
struct Runs {
    last_slot: Option<Timestamp>,
    calm_runs: u32,
    earliest_s: Option<u64>,
}

/// Episode run counts over a map.
#[derive(Debug, Default)]
pub struct MemoryEpisodes {
    runs: Mutex<HashMap<(String, String), Runs>>,
}

impl EpisodeLog for MemoryEpisodes {
    async fn count_run(
        &self,
        alarm: &str,
        episode: &IncidentId,
        slot: Timestamp,
        calm: bool,
        earliest_s: Option<u64>,
    ) -> Result<EpisodeRun, StoreError> {
        let mut runs = lock(&self.runs);
        let r = runs
            .entry((alarm.to_owned(), episode.to_string()))
            .or_default();
        if r.last_slot.is_some_and(|last| slot <= last) {
            return Ok(EpisodeRun {
                calm_runs: r.calm_runs,
                previous_earliest_s: r.earliest_s,
                counted: false,
            });
        }
        let previous = r.earliest_s;
        r.last_slot = Some(slot);
        r.calm_runs = if calm { r.calm_runs + 1 } else { 0 };
        r.earliest_s = earliest_s;
        Ok(EpisodeRun {
            calm_runs: r.calm_runs,
            previous_earliest_s: previous,
            counted: true,
        })
    }
}
