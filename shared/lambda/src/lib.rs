//! apptrack-lambda: the contract every apptrack function's entry point follows: JSON logs,
//! the Lambda loop, and failures reported with a stable `Retryable.<Kind>` / `Permanent.<Kind>`.

pub mod telemetry;

pub use telemetry::init_json_logs;
