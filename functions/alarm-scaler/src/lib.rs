//! alarm-scaler: scales Auto Scaling groups on CloudWatch alarms and records saturation,
//! performance and availability incidents. `main.rs` wires it to AWS and the Lambda runtime.

pub mod handler;
