//! An alarm on one instance: is its group busy (add capacity) or is only this instance hot
//! (an imbalance, a stuck process, a noisy neighbour: capacity would not help)? Values in,
//! values out; the handler reads the figures and acts on the verdict.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::GroupCapacity;
use crate::incident::Severity;

/// The metric dimension that names an instance.
pub const INSTANCE_DIMENSION: &str = "InstanceId";

/// Group tag that allows apptrack to have a hot instance replaced (`true`).
pub const REPLACE_HOT_TAG: &str = "apptrack:replace-hot";

/// What the figures say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The group's average is near or over the target: the whole group needs capacity.
    GroupBusy,
    /// The group's average is well under the target: only this instance is hot.
    InstanceHot,
    /// The group's average could not be read (no group metric, no target to judge by).
    Unknown,
}

/// An instance alarm judged against its group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub instance_id: String,
    pub group: String,
    pub metric: String,
    /// The instance's value the alarm fired on.
    pub instance_value: Option<f64>,
    /// The group's average over the alarm's evaluation window.
    pub group_average: Option<f64>,
    /// The value the group should run at (the scaling target).
    pub target: Option<f64>,
    /// The group counts as busy at or above `busy_fraction * target`.
    pub busy_fraction: f64,
    pub verdict: Verdict,
}

impl Assessment {
    pub fn new(
        instance_id: &str,
        group: &str,
        metric: &str,
        instance_value: Option<f64>,
        group_average: Option<f64>,
        target: Option<f64>,
        busy_fraction: f64,
    ) -> Self {
        let verdict = match (group_average, target) {
            (Some(avg), Some(t)) if avg.is_finite() && t.is_finite() => {
                if avg >= busy_fraction * t {
                    Verdict::GroupBusy
                } else {
                    Verdict::InstanceHot
                }
            }
            _ => Verdict::Unknown,
        };
        Assessment {
            instance_id: instance_id.to_owned(),
            group: group.to_owned(),
            metric: metric.to_owned(),
            instance_value,
            group_average,
            target,
            busy_fraction,
            verdict,
        }
    }

    /// The incident title for an instance that runs hot alone.
    pub fn headline(&self) -> (String, Severity) {
        let title = format!(
            "{} hot in {}: {} {} while the group averages {}",
            self.instance_id,
            self.group,
            self.metric,
            figure(self.instance_value),
            figure(self.group_average)
        );
        (title, Severity::Medium)
    }
}

impl fmt::Display for Assessment {
    /// Why the handler does what it does, for the incident's timeline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Assessment {
            instance_id: i,
            group: g,
            metric: m,
            ..
        } = self;
        let iv = figure(self.instance_value);
        let avg = figure(self.group_average);
        let target = figure(self.target);
        match self.verdict {
            Verdict::GroupBusy => write!(
                f,
                "{i} at {m} {iv}; {g} averages {avg}, near or over its target {target}: \
                 the whole group is busy, so it gets more capacity"
            ),
            Verdict::InstanceHot => write!(
                f,
                "{i} at {m} {iv}; {g} averages only {avg} against a target of {target}: \
                 one hot instance (an imbalance, a stuck process or a noisy neighbour), \
                 so no capacity is added"
            ),
            Verdict::Unknown => write!(
                f,
                "{i} at {m} {iv}; {g}'s average {m} could not be read (group metrics off, \
                 or no target to judge by): no capacity is added on one instance's figure"
            ),
        }
    }
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "unknown".to_owned(), |v| format!("{v:.1}"))
}

/// Whether the group's tags allow a hot instance to be replaced.
pub fn replace_allowed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(REPLACE_HOT_TAG)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Whether marking a serving instance unhealthy keeps the group at its minimum in service;
/// `Err` says why not.
pub fn may_replace(capacity: &GroupCapacity, instance_serving: bool) -> Result<(), String> {
    if !instance_serving {
        return Err(
            "the instance is not in service and healthy; the group already acts on it".into(),
        );
    }
    if capacity.in_service - 1 < capacity.min {
        return Err(format!(
            "the group would fall below its minimum of {} in service ({} now)",
            capacity.min, capacity.in_service
        ));
    }
    Ok(())
}

/// The mean of a series' finite values.
pub fn mean(values: &[f64]) -> Option<f64> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return None;
    }
    Some(finite.iter().sum::<f64>() / finite.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assess(avg: Option<f64>, target: Option<f64>) -> Verdict {
        Assessment::new("i-1", "web", "CPUUtilization", Some(97.0), avg, target, 0.9).verdict
    }

    #[test]
    fn a_busy_group_is_near_or_over_its_target() {
        assert_eq!(assess(Some(85.0), Some(72.0)), Verdict::GroupBusy);
        assert_eq!(assess(Some(65.0), Some(72.0)), Verdict::GroupBusy);
        assert_eq!(assess(Some(64.0), Some(72.0)), Verdict::InstanceHot);
        assert_eq!(assess(Some(31.0), Some(72.0)), Verdict::InstanceHot);
        assert_eq!(assess(None, Some(72.0)), Verdict::Unknown);
        assert_eq!(assess(Some(31.0), None), Verdict::Unknown);
        assert_eq!(assess(Some(f64::NAN), Some(72.0)), Verdict::Unknown);
    }

    #[test]
    fn the_reason_names_both_figures() {
        let a = Assessment::new(
            "i-0abc",
            "web",
            "CPUUtilization",
            Some(97.2),
            Some(31.0),
            Some(72.0),
            0.9,
        );
        let why = a.to_string();
        assert!(
            why.contains("97.2") && why.contains("31.0") && why.contains("72.0"),
            "{why}"
        );
        assert!(
            a.headline().0.contains("i-0abc hot in web"),
            "{}",
            a.headline().0
        );
    }

    #[test]
    fn replacement_never_takes_the_group_below_its_minimum() {
        let cap = |min, in_service| GroupCapacity {
            min,
            max: 10,
            desired: in_service,
            in_service,
            pending: 0,
        };
        assert!(may_replace(&cap(1, 2), true).is_ok());
        assert!(may_replace(&cap(2, 2), true).is_err());
        assert!(may_replace(&cap(1, 1), true).is_err());
        assert!(may_replace(&cap(1, 3), false).is_err());
    }

    #[test]
    fn only_a_true_tag_allows_replacement() {
        let tags = |v: &str| BTreeMap::from([(REPLACE_HOT_TAG.to_owned(), v.to_owned())]);
        assert!(replace_allowed(&tags("true")));
        assert!(replace_allowed(&tags(" TRUE ")));
        assert!(!replace_allowed(&tags("yes")));
        assert!(!replace_allowed(&BTreeMap::new()));
    }

    proptest! {
        #[test]
        fn busy_and_hot_split_at_the_fraction_of_the_target(
            avg in 0.0f64..200.0,
            target in 1.0f64..100.0,
            fraction in 0.1f64..1.0,
        ) {
            let v = Assessment::new("i", "g", "m", None, Some(avg), Some(target), fraction).verdict;
            prop_assert_eq!(v == Verdict::GroupBusy, avg >= fraction * target);
            prop_assert!(v != Verdict::Unknown);
        }
    }
}
