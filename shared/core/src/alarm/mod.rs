//! The alarm-scaler's pure domain: decoding CloudWatch alarm state changes, deciding
//! capacity changes, and building metric context for incidents. No AWS SDK, no I/O.

mod context;
mod event;
pub mod hot;
pub mod incident;
mod policy;
mod reason;
mod timestamp;

#[cfg(test)]
mod samples;

pub use context::{
    MetricContext, SeveritySuggestion, breach_pct, console_url, metric_context, suggest_severity,
};
pub use event::{
    AlarmEvent, AlarmEventError, AlarmKind, AlarmState, EventOrigin, GROUP_TAG, MathExpression,
    MetricRef,
};
pub use policy::{
    Bound, Direction, GroupCapacity, InvalidInput, NoChangeReason, ScalingDecision, ScalingInput,
    ScalingPolicy, ScalingReason, Target, TargetSource, representative_value,
};
pub use reason::{Datapoint, ReasonData, TriggeringAlarm, alarm_name_from_arn};
pub use timestamp::{format_epoch_ms, parse_epoch_ms};
