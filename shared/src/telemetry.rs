//! Logging set-up shared by every function: JSON lines on stdout, filtered by `RUST_LOG`.
//! Lambda adds the timestamp and request id itself, so the lines carry neither.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber (`RUST_LOG`, default `info`). Call once, first thing in `main`.
pub fn init_json_logs() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}
