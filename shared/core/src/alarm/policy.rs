//! Decides a group's new desired capacity from an alarm's metric value: proportional
//! scale-out with a capped step, gentle scale-in after a stabilization window.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::reason::ReasonData;
use super::timestamp::format_epoch_ms;

/// Which side of its threshold the alarm fires on. The comparison operator is not
/// in the event; the handler reads it from DescribeAlarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Direction {
    /// Too much load: `GreaterThan*`, anomaly upper band.
    High,
    /// Too little load: `LessThan*`, anomaly lower band.
    Low,
    /// `LessThanLowerOrGreaterThanUpperThreshold`: the breached side decides; see [`Direction::resolve`].
    EitherSide,
}

impl Direction {
    /// Maps a CloudWatch `ComparisonOperator`; `None` for one we do not know.
    pub fn from_comparison_operator(op: &str) -> Option<Self> {
        match op {
            "GreaterThanThreshold"
            | "GreaterThanOrEqualToThreshold"
            | "GreaterThanUpperThreshold" => Some(Self::High),
            "LessThanThreshold" | "LessThanOrEqualToThreshold" | "LessThanLowerThreshold" => {
                Some(Self::Low)
            }
            "LessThanLowerOrGreaterThanUpperThreshold" => Some(Self::EitherSide),
            _ => None,
        }
    }

    /// Reads the breached side from an ALARM state's reason text ("… were greater
    /// than the upper thresholds …"). A fallback for band alarms whose reasonData
    /// carries no band edges; `None` when the text names neither or both sides.
    pub fn from_alarm_reason(reason: &str) -> Option<Self> {
        let text = reason.to_ascii_lowercase();
        let asserted = |phrase: &str| {
            text.match_indices(phrase)
                .any(|(at, _)| !text[..at].trim_end().ends_with("not"))
        };
        match (asserted("greater than"), asserted("less than")) {
            (true, false) => Some(Self::High),
            (false, true) => Some(Self::Low),
            _ => None,
        }
    }

    /// Resolves `EitherSide` from the value and the band edges: above the upper
    /// edge is High, below the lower is Low, otherwise unknown. High and Low
    /// resolve to themselves.
    pub fn resolve(self, value: f64, lower: Option<f64>, upper: Option<f64>) -> Option<Self> {
        match self {
            Self::High | Self::Low => Some(self),
            Self::EitherSide => {
                if upper.is_some_and(|u| u.is_finite() && value > u) {
                    Some(Self::High)
                } else if lower.is_some_and(|l| l.is_finite() && value < l) {
                    Some(Self::Low)
                } else {
                    None
                }
            }
        }
    }
}

/// The metric value the policy acts on: the **maximum** of the evaluated window
/// (falling back to `recentDatapoints`), for either direction. For a high alarm
/// the peak avoids under-provisioning; for a low alarm it is the conservative
/// choice, removing the least capacity. The step caps bound any over-reaction.
pub fn representative_value(reason: &ReasonData) -> Option<f64> {
    reason.values().into_iter().reduce(f64::max)
}

/// Where the target value came from, for the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum TargetSource {
    /// The alarm's `apptrack:target` tag.
    Tag,
    /// `threshold × fraction`.
    Threshold { threshold: f64, fraction: f64 },
}

/// The metric value the group should run at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    pub value: f64,
    pub source: TargetSource,
}

/// A side of the group's size range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Bound {
    Min,
    Max,
}

/// What the group looks like now, with AWS's `i32` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GroupCapacity {
    pub min: i32,
    pub max: i32,
    pub desired: i32,
    pub in_service: i32,
    /// Pending or warming instances: capacity already on its way.
    pub pending: i32,
}

impl GroupCapacity {
    /// Capacity running or on its way. When the group reports none (e.g. just
    /// created), its desired size stands in.
    pub fn effective(&self) -> i32 {
        let running = self.in_service.saturating_add(self.pending);
        if running > 0 { running } else { self.desired }
    }

    fn validate(&self) -> Result<(), InvalidInput> {
        let ok = self.min >= 0
            && self.min <= self.max
            && (self.min..=self.max).contains(&self.desired)
            && self.in_service >= 0
            && self.pending >= 0;
        if ok {
            Ok(())
        } else {
            Err(InvalidInput::Capacity(*self))
        }
    }
}

/// The tunables, with the defaults in [`ScalingPolicy::default`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScalingPolicy {
    /// No change while |value / target − 1| is within this fraction.
    pub tolerance: f64,
    /// Scale-out step cap as a fraction of current capacity …
    pub max_step_pct: f64,
    /// … or this many instances, whichever is larger.
    pub max_step_abs: i32,
    /// Scale-in step as a fraction of desired capacity (rounded down) …
    pub scale_in_pct: f64,
    /// … or this many instances, whichever is larger.
    pub scale_in_abs: i32,
    /// No scale-in this long after a scale-out.
    pub stabilization: Duration,
    /// Target = threshold × this fraction when no `apptrack:target` tag is set.
    pub target_fraction: f64,
}

impl Default for ScalingPolicy {
    fn default() -> Self {
        Self {
            tolerance: 0.10,
            max_step_pct: 1.0,
            max_step_abs: 4,
            scale_in_pct: 0.10,
            scale_in_abs: 1,
            stabilization: Duration::from_secs(300),
            target_fraction: 0.8,
        }
    }
}

impl ScalingPolicy {
    /// The policy every function that scales reads the same way: `APPTRACK_TARGET_FRACTION`
    /// (0.8) and `APPTRACK_SCALE_IN_STABILIZATION_SECS` (300), the rest at their defaults.
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::settings::SettingsError> {
        use crate::settings::parse_or;
        let defaults = ScalingPolicy::default();
        let target_fraction = parse_or(
            get,
            "APPTRACK_TARGET_FRACTION",
            defaults.target_fraction,
            |f: &f64| f.is_finite() && *f > 0.0 && *f <= 1.0,
            "a fraction greater than 0 and at most 1",
        )?;
        let stabilization = parse_or(
            get,
            "APPTRACK_SCALE_IN_STABILIZATION_SECS",
            defaults.stabilization.as_secs(),
            |s: &u64| *s <= 86_400,
            "a whole number of seconds from 0 to 86400",
        )?;
        Ok(ScalingPolicy {
            target_fraction,
            stabilization: Duration::from_secs(stabilization),
            ..defaults
        })
    }
}

/// Everything one decision needs; time is passed in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingInput {
    pub direction: Direction,
    /// Metric name for explanations, e.g. `CPUUtilization`.
    pub metric: String,
    pub value: f64,
    pub target: Option<Target>,
    pub capacity: GroupCapacity,
    /// Epoch ms of the group's last scale-out, from the ledger.
    pub last_scale_out_ms: Option<i64>,
    pub now_ms: i64,
}

/// Why the inputs cannot be acted on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum InvalidInput {
    NonFiniteValue(f64),
    MissingTarget,
    BadTarget(f64),
    Capacity(GroupCapacity),
    /// An `EitherSide` direction that was not resolved to High or Low.
    UnresolvedDirection,
    Policy(&'static str),
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFiniteValue(v) => write!(f, "metric value {v} is not a finite number"),
            Self::MissingTarget => {
                f.write_str("no target: neither an apptrack:target tag nor a threshold")
            }
            Self::BadTarget(t) => write!(f, "target {t} is not a positive finite number"),
            Self::Capacity(c) => write!(
                f,
                "inconsistent group capacity (min {}, max {}, desired {}, in service {}, pending {})",
                c.min, c.max, c.desired, c.in_service, c.pending
            ),
            Self::UnresolvedDirection => {
                f.write_str("the value is inside the anomaly band; no side was breached")
            }
            Self::Policy(what) => write!(f, "invalid scaling policy: {what}"),
        }
    }
}

/// Why a decision left the group alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum NoChangeReason {
    WithinTolerance {
        metric: String,
        value: f64,
        target: f64,
        tolerance: f64,
    },
    /// A high alarm whose value is already under target (e.g. load dropped).
    NotAboveTarget {
        metric: String,
        value: f64,
        target: f64,
    },
    /// A low alarm whose value is already over target.
    NotBelowTarget {
        metric: String,
        value: f64,
        target: f64,
    },
    AtMax {
        max: i32,
    },
    AtMin {
        min: i32,
    },
    /// Desired capacity (including instances on their way) already covers the need.
    AlreadyProvisioned {
        desired: i32,
        needed: i64,
    },
    Stabilizing {
        until_ms: i64,
    },
    InvalidInput(InvalidInput),
}

impl fmt::Display for NoChangeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WithinTolerance {
                metric,
                value,
                target,
                tolerance,
            } => write!(
                f,
                "{metric} {value:.1} is within {:.0}% of target {target:.1}",
                tolerance * 100.0
            ),
            Self::NotAboveTarget {
                metric,
                value,
                target,
            } => {
                write!(f, "{metric} {value:.1} is already below target {target:.1}")
            }
            Self::NotBelowTarget {
                metric,
                value,
                target,
            } => {
                write!(f, "{metric} {value:.1} is already above target {target:.1}")
            }
            Self::AtMax { max } => write!(f, "the group is already at its maximum of {max}"),
            Self::AtMin { min } => write!(f, "the group is already at its minimum of {min}"),
            Self::AlreadyProvisioned { desired, needed } => write!(
                f,
                "desired capacity {desired} already covers the {needed} needed (instances on their way count)"
            ),
            Self::Stabilizing { until_ms } => write!(
                f,
                "no scale-in until {} (stabilization after the last scale-out)",
                format_epoch_ms(*until_ms)
            ),
            Self::InvalidInput(why) => write!(f, "cannot decide: {why}"),
        }
    }
}

/// The numbers behind a capacity change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingReason {
    pub direction: Direction,
    pub metric: String,
    pub value: f64,
    /// Absent for a low alarm without an `apptrack:target` tag.
    pub target: Option<Target>,
    /// `ceil(current × value / target)` before caps and bounds, when there is a target.
    pub raw_desired: Option<i64>,
    /// The largest step this action was allowed (instances).
    pub step_limit: i32,
    /// The step limit cut the change short.
    pub capped: bool,
    pub clamped: Option<Bound>,
}

/// What to do with the group's desired capacity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ScalingDecision {
    ScaleTo {
        from: i32,
        to: i32,
        reason: ScalingReason,
    },
    NoChange {
        why: NoChangeReason,
    },
}

impl fmt::Display for ScalingDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoChange { why } => write!(f, "no change: {why}"),
            Self::ScaleTo { from, to, reason } => {
                write!(
                    f,
                    "from {from} to {to}: {} {:.1}",
                    reason.metric, reason.value
                )?;
                match reason.target {
                    Some(t) => {
                        write!(f, " vs target {:.1}", t.value)?;
                        match t.source {
                            TargetSource::Tag => f.write_str(" (apptrack:target tag)")?,
                            TargetSource::Threshold {
                                threshold,
                                fraction,
                            } => write!(f, " (threshold {threshold} × {fraction})")?,
                        }
                    }
                    None => f.write_str(" breached the low threshold")?,
                }
                if reason.capped {
                    let sign = if to >= from { '+' } else { '-' };
                    write!(f, "; step capped at {sign}{}", reason.step_limit)?;
                }
                match reason.clamped {
                    Some(Bound::Max) => f.write_str("; clamped to the group maximum")?,
                    Some(Bound::Min) => f.write_str("; clamped to the group minimum")?,
                    None => {}
                }
                Ok(())
            }
        }
    }
}

impl ScalingPolicy {
    /// The target to aim at. High: the `apptrack:target` tag, else threshold ×
    /// `target_fraction`. Low: the tag only, because a fraction of a *low*
    /// threshold means nothing; without a tag a low alarm scales in one gentle step.
    pub fn target(
        &self,
        direction: Direction,
        tag: Option<f64>,
        threshold: Option<f64>,
    ) -> Option<Target> {
        if let Some(value) = tag {
            return Some(Target {
                value,
                source: TargetSource::Tag,
            });
        }
        match direction {
            Direction::High => threshold.map(|threshold| Target {
                value: threshold * self.target_fraction,
                source: TargetSource::Threshold {
                    threshold,
                    fraction: self.target_fraction,
                },
            }),
            Direction::Low | Direction::EitherSide => None,
        }
    }

    /// Decides the group's next desired capacity. Never panics; bad inputs come
    /// back as `NoChange { why: InvalidInput(..) }`.
    pub fn decide(&self, input: &ScalingInput) -> ScalingDecision {
        match self.try_decide(input) {
            Ok(d) => d,
            Err(why) => ScalingDecision::NoChange {
                why: NoChangeReason::InvalidInput(why),
            },
        }
    }

    fn validate(&self) -> Result<(), InvalidInput> {
        let fraction = |x: f64| x.is_finite() && x >= 0.0;
        if !fraction(self.tolerance) {
            return Err(InvalidInput::Policy(
                "tolerance must be a finite non-negative fraction",
            ));
        }
        if !fraction(self.max_step_pct) || !fraction(self.scale_in_pct) {
            return Err(InvalidInput::Policy(
                "step percentages must be finite and non-negative",
            ));
        }
        if self.max_step_abs < 1 || self.scale_in_abs < 1 {
            return Err(InvalidInput::Policy("absolute steps must be at least 1"));
        }
        Ok(())
    }

    fn try_decide(&self, input: &ScalingInput) -> Result<ScalingDecision, InvalidInput> {
        self.validate()?;
        input.capacity.validate()?;
        if !input.value.is_finite() {
            return Err(InvalidInput::NonFiniteValue(input.value));
        }
        if let Some(t) = input.target
            && !(t.value.is_finite() && t.value > 0.0)
        {
            return Err(InvalidInput::BadTarget(t.value));
        }
        match input.direction {
            Direction::High => self.scale_out(input),
            Direction::Low => Ok(self.scale_in(input)),
            Direction::EitherSide => Err(InvalidInput::UnresolvedDirection),
        }
    }

    /// The most a scale-out may add from `current`.
    pub fn scale_out_limit(&self, current: i32) -> i32 {
        let pct = floor_to_i32(f64::from(current) * self.max_step_pct);
        pct.max(self.max_step_abs)
    }

    /// The most a scale-in may remove from `desired`.
    pub fn scale_in_limit(&self, desired: i32) -> i32 {
        let pct = floor_to_i32(f64::from(desired) * self.scale_in_pct);
        pct.max(self.scale_in_abs)
    }

    fn scale_out(&self, input: &ScalingInput) -> Result<ScalingDecision, InvalidInput> {
        let target = input.target.ok_or(InvalidInput::MissingTarget)?;
        let cap = input.capacity;
        let ratio = input.value / target.value;
        if let Some(why) = self.tolerance_check(input, target.value, ratio) {
            return Ok(why);
        }
        if ratio < 1.0 {
            return Ok(no_change(NoChangeReason::NotAboveTarget {
                metric: input.metric.clone(),
                value: input.value,
                target: target.value,
            }));
        }
        if cap.desired >= cap.max {
            return Ok(no_change(NoChangeReason::AtMax { max: cap.max }));
        }
        let current = cap.effective();
        // From zero the metric says nothing per instance; start with one.
        let raw = if current == 0 {
            1
        } else {
            ceil_to_i64(f64::from(current) * ratio)
        };
        let step_limit = self.scale_out_limit(current);
        let ceiling = i64::from(current) + i64::from(step_limit);
        let capped = raw > ceiling;
        let mut to = raw.min(ceiling);
        let mut clamped = None;
        if to > i64::from(cap.max) {
            to = i64::from(cap.max);
            clamped = Some(Bound::Max);
        } else if to < i64::from(cap.min) {
            to = i64::from(cap.min);
            clamped = Some(Bound::Min);
        }
        let to = i32::try_from(to).unwrap_or(cap.max);
        if to <= cap.desired {
            return Ok(no_change(NoChangeReason::AlreadyProvisioned {
                desired: cap.desired,
                needed: raw,
            }));
        }
        Ok(ScalingDecision::ScaleTo {
            from: cap.desired,
            to,
            reason: ScalingReason {
                direction: Direction::High,
                metric: input.metric.clone(),
                value: input.value,
                target: Some(target),
                raw_desired: Some(raw),
                step_limit,
                capped,
                clamped,
            },
        })
    }

    fn scale_in(&self, input: &ScalingInput) -> ScalingDecision {
        let cap = input.capacity;
        if let Some(last) = input.last_scale_out_ms {
            let window = i64::try_from(self.stabilization.as_millis()).unwrap_or(i64::MAX);
            let until_ms = last.saturating_add(window);
            if input.now_ms < until_ms {
                return no_change(NoChangeReason::Stabilizing { until_ms });
            }
        }
        let raw = match input.target {
            Some(target) => {
                let ratio = input.value / target.value;
                if let Some(why) = self.tolerance_check(input, target.value, ratio) {
                    return why;
                }
                if ratio > 1.0 {
                    return no_change(NoChangeReason::NotBelowTarget {
                        metric: input.metric.clone(),
                        value: input.value,
                        target: target.value,
                    });
                }
                // A negative value (metric math) means "no load": aim for the minimum.
                Some(ceil_to_i64(f64::from(cap.effective()) * ratio.max(0.0)))
            }
            None => None,
        };
        if cap.desired <= cap.min {
            return no_change(NoChangeReason::AtMin { min: cap.min });
        }
        let step_limit = self.scale_in_limit(cap.desired);
        let floor = i64::from(cap.desired) - i64::from(step_limit);
        let capped = raw.is_some_and(|r| r < floor);
        let mut to = raw.map_or(floor, |r| r.max(floor));
        let mut clamped = None;
        if to < i64::from(cap.min) {
            to = i64::from(cap.min);
            clamped = Some(Bound::Min);
        }
        let to = i32::try_from(to).unwrap_or(cap.desired).min(cap.desired);
        if to >= cap.desired {
            return no_change(NoChangeReason::AlreadyProvisioned {
                desired: cap.desired,
                needed: raw.unwrap_or(i64::from(cap.desired)),
            });
        }
        ScalingDecision::ScaleTo {
            from: cap.desired,
            to,
            reason: ScalingReason {
                direction: Direction::Low,
                metric: input.metric.clone(),
                value: input.value,
                target: input.target,
                raw_desired: raw,
                step_limit,
                capped,
                clamped,
            },
        }
    }

    fn tolerance_check(
        &self,
        input: &ScalingInput,
        target: f64,
        ratio: f64,
    ) -> Option<ScalingDecision> {
        // Small epsilon so that exactly-at-the-edge ratios (1.1 from 79.2/72)
        // count as inside despite float rounding.
        ((ratio - 1.0).abs() <= self.tolerance + 1e-9).then(|| {
            no_change(NoChangeReason::WithinTolerance {
                metric: input.metric.clone(),
                value: input.value,
                target,
                tolerance: self.tolerance,
            })
        })
    }
}

fn no_change(why: NoChangeReason) -> ScalingDecision {
    ScalingDecision::NoChange { why }
}

/// `f64 as` casts saturate (and map NaN to 0), which is what we want for
/// capacities: a huge ratio becomes "as much as possible", then capped.
fn ceil_to_i64(x: f64) -> i64 {
    x.ceil() as i64
}

fn floor_to_i32(x: f64) -> i32 {
    x.floor() as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn group(min: i32, max: i32, desired: i32, in_service: i32, pending: i32) -> GroupCapacity {
        GroupCapacity {
            min,
            max,
            desired,
            in_service,
            pending,
        }
    }

    fn high(value: f64, capacity: GroupCapacity) -> ScalingInput {
        let policy = ScalingPolicy::default();
        ScalingInput {
            direction: Direction::High,
            metric: "CPUUtilization".into(),
            value,
            target: policy.target(Direction::High, None, Some(90.0)),
            capacity,
            last_scale_out_ms: None,
            now_ms: 1_795_485_600_000,
        }
    }

    fn low(value: f64, capacity: GroupCapacity, last: Option<i64>, now: i64) -> ScalingInput {
        ScalingInput {
            direction: Direction::Low,
            metric: "CPUUtilization".into(),
            value,
            target: None,
            capacity,
            last_scale_out_ms: last,
            now_ms: now,
        }
    }

    #[test]
    fn cpu_97_on_two_instances_scales_to_three() {
        let d = ScalingPolicy::default().decide(&high(97.0, group(1, 10, 2, 2, 0)));
        let ScalingDecision::ScaleTo {
            from,
            to,
            ref reason,
        } = d
        else {
            panic!("{d}")
        };
        assert_eq!((from, to), (2, 3));
        assert_eq!(reason.raw_desired, Some(3));
        assert!(!reason.capped);
        assert_eq!(
            d.to_string(),
            "from 2 to 3: CPUUtilization 97.0 vs target 72.0 (threshold 90 × 0.8)"
        );
    }

    #[test]
    fn big_surge_is_capped_at_plus_four_or_double() {
        let p = ScalingPolicy::default();
        let d = p.decide(&high(720.0, group(1, 100, 2, 2, 0)));
        assert_eq!(
            d.to_string(),
            "from 2 to 6: CPUUtilization 720.0 vs target 72.0 (threshold 90 × 0.8); step capped at +4"
        );
        let d = p.decide(&high(720.0, group(1, 100, 10, 10, 0)));
        assert!(matches!(d, ScalingDecision::ScaleTo { to: 20, .. }), "{d}");
        let d = p.decide(&high(720.0, group(1, 12, 10, 10, 0)));
        assert_eq!(
            d.to_string(),
            "from 10 to 12: CPUUtilization 720.0 vs target 72.0 (threshold 90 × 0.8); step capped at +10; clamped to the group maximum"
        );
    }

    #[test]
    fn pending_instances_count_as_capacity_already_added() {
        let p = ScalingPolicy::default();
        // 2 running + 2 pending: the surge already has 4 on the way.
        let d = p.decide(&high(97.0, group(1, 10, 4, 2, 2)));
        let ScalingDecision::ScaleTo { from, to, .. } = d else {
            panic!("{d}")
        };
        assert_eq!((from, to), (4, 6));
        // Desired already above what the need works out to.
        let d = p.decide(&high(97.0, group(1, 10, 8, 2, 0)));
        assert!(
            matches!(
                d,
                ScalingDecision::NoChange {
                    why: NoChangeReason::AlreadyProvisioned { .. }
                }
            ),
            "{d}"
        );
    }

    #[test]
    fn within_tolerance_no_change() {
        let d = ScalingPolicy::default().decide(&high(79.0, group(1, 10, 2, 2, 0)));
        assert_eq!(
            d.to_string(),
            "no change: CPUUtilization 79.0 is within 10% of target 72.0"
        );
    }

    #[test]
    fn at_max_and_zero_capacity() {
        let p = ScalingPolicy::default();
        let d = p.decide(&high(97.0, group(1, 4, 4, 4, 0)));
        assert_eq!(
            d.to_string(),
            "no change: the group is already at its maximum of 4"
        );
        let d = p.decide(&high(97.0, group(0, 4, 0, 0, 0)));
        assert!(
            matches!(d, ScalingDecision::ScaleTo { from: 0, to: 1, .. }),
            "{d}"
        );
    }

    #[test]
    fn guards_bad_numbers() {
        let p = ScalingPolicy::default();
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let d = p.decide(&high(v, group(1, 10, 2, 2, 0)));
            assert!(
                matches!(
                    d,
                    ScalingDecision::NoChange {
                        why: NoChangeReason::InvalidInput(_)
                    }
                ),
                "{d}"
            );
        }
        for t in [0.0, -1.0, f64::NAN] {
            let mut i = high(97.0, group(1, 10, 2, 2, 0));
            i.target = Some(Target {
                value: t,
                source: TargetSource::Tag,
            });
            let d = p.decide(&i);
            assert!(
                matches!(
                    d,
                    ScalingDecision::NoChange {
                        why: NoChangeReason::InvalidInput(InvalidInput::BadTarget(_))
                    }
                ),
                "{d}"
            );
        }
        let mut i = high(97.0, group(1, 10, 2, 2, 0));
        i.target = None;
        assert_eq!(
            p.decide(&i).to_string(),
            "no change: cannot decide: no target: neither an apptrack:target tag nor a threshold"
        );
        let d = p.decide(&high(97.0, group(5, 2, 3, 3, 0)));
        assert!(
            matches!(
                d,
                ScalingDecision::NoChange {
                    why: NoChangeReason::InvalidInput(InvalidInput::Capacity(_))
                }
            ),
            "{d}"
        );
        // A tiny target makes an enormous ratio: still a bounded step.
        let mut i = high(1e308, group(1, i32::MAX, 2, 2, 0));
        i.target = Some(Target {
            value: 1e-300,
            source: TargetSource::Tag,
        });
        assert!(matches!(
            p.decide(&i),
            ScalingDecision::ScaleTo { to: 6, .. }
        ));
    }

    #[test]
    fn low_scales_in_gently_after_stabilization() {
        let p = ScalingPolicy::default();
        let now = 1_795_485_600_000;
        let d = p.decide(&low(8.0, group(2, 40, 30, 30, 0), None, now));
        assert_eq!(
            d.to_string(),
            "from 30 to 27: CPUUtilization 8.0 breached the low threshold"
        );
        let d = p.decide(&low(8.0, group(2, 40, 6, 6, 0), Some(now - 120_000), now));
        assert_eq!(
            d.to_string(),
            "no change: no scale-in until 2026-11-24T02:03:00Z (stabilization after the last scale-out)"
        );
        let d = p.decide(&low(8.0, group(2, 40, 6, 6, 0), Some(now - 300_000), now));
        assert!(
            matches!(d, ScalingDecision::ScaleTo { from: 6, to: 5, .. }),
            "{d}"
        );
        let d = p.decide(&low(8.0, group(2, 40, 2, 2, 0), None, now));
        assert_eq!(
            d.to_string(),
            "no change: the group is already at its minimum of 2"
        );
    }

    #[test]
    fn low_with_a_target_stops_at_the_need() {
        let p = ScalingPolicy::default();
        let mut i = low(30.0, group(1, 40, 30, 30, 0), None, 0);
        i.target = p.target(Direction::Low, Some(50.0), Some(20.0));
        // Need ceil(30 × 0.6) = 18, but at most -3 per action.
        let d = p.decide(&i);
        assert_eq!(
            d.to_string(),
            "from 30 to 27: CPUUtilization 30.0 vs target 50.0 (apptrack:target tag); step capped at -3"
        );
        i.value = 52.0;
        assert!(matches!(
            p.decide(&i),
            ScalingDecision::NoChange {
                why: NoChangeReason::WithinTolerance { .. }
            }
        ));
        i.value = 70.0;
        assert!(matches!(
            p.decide(&i),
            ScalingDecision::NoChange {
                why: NoChangeReason::NotBelowTarget { .. }
            }
        ));
    }

    #[test]
    fn comparison_operators() {
        use Direction::*;
        for (op, d) in [
            ("GreaterThanThreshold", Some(High)),
            ("GreaterThanOrEqualToThreshold", Some(High)),
            ("GreaterThanUpperThreshold", Some(High)),
            ("LessThanThreshold", Some(Low)),
            ("LessThanOrEqualToThreshold", Some(Low)),
            ("LessThanLowerThreshold", Some(Low)),
            ("LessThanLowerOrGreaterThanUpperThreshold", Some(EitherSide)),
            ("Sideways", None),
        ] {
            assert_eq!(Direction::from_comparison_operator(op), d, "{op}");
        }
        assert_eq!(EitherSide.resolve(10.0, Some(2.0), Some(8.0)), Some(High));
        assert_eq!(EitherSide.resolve(1.0, Some(2.0), Some(8.0)), Some(Low));
        assert_eq!(EitherSide.resolve(5.0, Some(2.0), Some(8.0)), None);
        assert_eq!(EitherSide.resolve(5.0, None, None), None);
        assert_eq!(Low.resolve(50.0, None, None), Some(Low));
        assert_eq!(
            Direction::from_alarm_reason(
                "1 out of the last 1 datapoints [4.8E8 (24/11/26 02:05:00)] was greater than the upper thresholds [2.3E8]"
            ),
            Some(High)
        );
        assert_eq!(
            Direction::from_alarm_reason("were less than the threshold (20.0)"),
            Some(Low)
        );
        assert_eq!(
            Direction::from_alarm_reason(
                "was not less than the lower thresholds [9.7E7] or not greater than the upper thresholds"
            ),
            None
        );
        assert_eq!(
            Direction::from_alarm_reason("Unchecked: Initial alarm creation"),
            None
        );
        let d = ScalingPolicy::default().decide(&ScalingInput {
            direction: EitherSide,
            ..high(97.0, group(1, 10, 2, 2, 0))
        });
        assert!(matches!(
            d,
            ScalingDecision::NoChange {
                why: NoChangeReason::InvalidInput(InvalidInput::UnresolvedDirection)
            }
        ));
    }

    fn arb_capacity() -> impl Strategy<Value = GroupCapacity> {
        (0i32..50, 0i32..60, 0i32..100, 0i32..20).prop_flat_map(
            |(min, span, in_service, pending)| {
                let max = min + span;
                (min..=max).prop_map(move |desired| GroupCapacity {
                    min,
                    max,
                    desired,
                    in_service,
                    pending,
                })
            },
        )
    }

    fn arb_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => 0.0f64..1000.0,
            1 => prop::num::f64::ANY,
            1 => Just(f64::MAX),
        ]
    }

    fn arb_input() -> impl Strategy<Value = ScalingInput> {
        (
            prop_oneof![Just(Direction::High), Just(Direction::Low)],
            arb_value(),
            prop::option::of(prop_oneof![4 => 1.0f64..200.0, 1 => prop::num::f64::ANY]),
            arb_capacity(),
            prop::option::of(0i64..1_000_000),
            0i64..1_000_000,
        )
            .prop_map(
                |(direction, value, target, capacity, last, now)| ScalingInput {
                    direction,
                    metric: "m".into(),
                    value,
                    target: target.map(|value| Target {
                        value,
                        source: TargetSource::Tag,
                    }),
                    capacity,
                    last_scale_out_ms: last,
                    now_ms: now,
                },
            )
    }

    proptest! {
        #[test]
        fn invariants(input in arb_input()) {
            let p = ScalingPolicy::default();
            let d = p.decide(&input);
            let cap = input.capacity;
            let _ = d.to_string();
            if let ScalingDecision::ScaleTo { from, to, ref reason } = d {
                prop_assert_eq!(from, cap.desired);
                prop_assert!(to >= cap.min && to <= cap.max, "{} outside [{}, {}]", to, cap.min, cap.max);
                prop_assert_ne!(to, from);
                match input.direction {
                    Direction::High => {
                        prop_assert!(to > from);
                        let limit = p.scale_out_limit(cap.effective());
                        prop_assert!(i64::from(to) - i64::from(cap.effective()) <= i64::from(limit));
                    }
                    Direction::Low => {
                        prop_assert!(to < from);
                        prop_assert!(from - to <= p.scale_in_limit(cap.desired));
                        if let Some(last) = input.last_scale_out_ms {
                            prop_assert!(input.now_ms >= last + 300_000);
                        }
                    }
                    Direction::EitherSide => prop_assert!(false),
                }
                prop_assert_eq!(reason.direction, input.direction);
            }
        }

        #[test]
        fn within_tolerance_never_changes(
            capacity in arb_capacity(),
            target in 1.0f64..500.0,
            ratio in 0.9f64..=1.1,
            high in any::<bool>(),
        ) {
            let input = ScalingInput {
                direction: if high { Direction::High } else { Direction::Low },
                metric: "m".into(),
                value: target * ratio,
                target: Some(Target { value: target, source: TargetSource::Tag }),
                capacity,
                last_scale_out_ms: None,
                now_ms: 0,
            };
            let d = ScalingPolicy::default().decide(&input);
            prop_assert!(matches!(d, ScalingDecision::NoChange { .. }), "{}", d);
        }

        #[test]
        fn never_scales_in_while_stabilizing(
            capacity in arb_capacity(),
            value in arb_value(),
            last in 0i64..1_000_000,
            since in 0i64..300_000,
        ) {
            let input = ScalingInput {
                direction: Direction::Low,
                metric: "m".into(),
                value,
                target: None,
                capacity,
                last_scale_out_ms: Some(last),
                now_ms: last + since,
            };
            let d = ScalingPolicy::default().decide(&input);
            prop_assert!(matches!(d, ScalingDecision::NoChange { .. }), "{}", d);
        }
    }
}
