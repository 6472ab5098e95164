//! Logging set-up shared by every function: JSON lines on stdout.
//!
//! The level comes from `RUST_LOG` when set (any `tracing` filter), else from the function's
//! `LoggingConfig.ApplicationLogLevel` (Lambda passes it as `AWS_LAMBDA_LOG_LEVEL`), else
//! `info`. Lambda adds the timestamp and request id itself, so the lines carry neither.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber. Call once, first thing in `main`.
pub fn init_json_logs() {
    let directive = filter_directive(
        std::env::var("RUST_LOG").ok(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok(),
    );
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}

/// The filter to install: `RUST_LOG` if it is set, else Lambda's application log level
/// (`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`), else `info`.
fn filter_directive(rust_log: Option<String>, lambda_level: Option<String>) -> String {
    if let Some(filter) = rust_log.filter(|f| !f.trim().is_empty()) {
        return filter;
    }
    let level = lambda_level.map(|l| l.trim().to_ascii_lowercase());
    match level.as_deref() {
        Some(l @ ("trace" | "debug" | "info" | "warn" | "error")) => l.to_owned(),
        Some("fatal") => "error".to_owned(),
        _ => "info".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::filter_directive;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn rust_log_wins_then_lambdas_level_then_info() {
        assert_eq!(
            filter_directive(s("debug,hyper=warn"), s("ERROR")),
            "debug,hyper=warn"
        );
        assert_eq!(filter_directive(s("  "), s("WARN")), "warn");
        assert_eq!(filter_directive(None, s("FATAL")), "error");
        assert_eq!(filter_directive(None, s("loud")), "info");
        assert_eq!(filter_directive(None, None), "info");
    }
}
