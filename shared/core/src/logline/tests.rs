//! Examples of every recognized format, one test each, plus properties over arbitrary input.
//! The lines are written to look like what each logger or runtime really prints.

use super::*;
use proptest::prelude::*;

const REQ: &str = "8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69";

fn parsed(s: &str) -> ParsedLine {
    parse_line(s)
}

// ---------- JSON shapes ----------

#[test]
fn powertools_python_with_exception() {
    let l = parsed(
        r#"{"level":"ERROR","location":"charge:42","message":"Payment failed","timestamp":"2024-01-01 00:00:00,123+0000","service":"payments","cold_start":false,"function_name":"charge","function_request_id":"8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69","xray_trace_id":"1-65920080-0a1b2c3d4e5f6a7b8c9d0e1f","exception":"Traceback (most recent call last):\n  File \"/var/task/app.py\", line 40, in charge\n    resp = client.post(url)\nrequests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.payments.example', port=443): Max retries exceeded with url: /v1/charge","exception_name":"ConnectionError"}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Powertools));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "Payment failed");
    assert_eq!(l.service.as_deref(), Some("payments"));
    assert_eq!(l.request_id.as_deref(), Some(REQ));
    assert_eq!(
        l.trace_id.as_deref(),
        Some("1-65920080-0a1b2c3d4e5f6a7b8c9d0e1f")
    );
    assert_eq!(l.error_type.as_deref(), Some("ConnectionError"));
    assert_eq!(l.dependency.as_deref(), Some("api.payments.example:443"));
    assert_eq!(l.cause, SuspectedCause::ExternalApi);
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::Python)
    );
    assert!(l.is_error());
}

#[test]
fn powertools_typescript_error_object() {
    let l = parsed(
        r#"{"level":"ERROR","message":"Order lookup failed","sampling_rate":0,"service":"orders","timestamp":"2024-01-01T00:00:00.000Z","xray_trace_id":"1-abc-def","function_request_id":"8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69","error":{"name":"ProvisionedThroughputExceededException","location":"file:///var/task/index.mjs:10","message":"The level of configured provisioned throughput for the table was exceeded.","stack":"ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded.\n    at throwDefaultError (/var/task/node_modules/@smithy/smithy-client/dist-cjs/index.js:840:20)"}}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Powertools));
    assert_eq!(
        l.error_type.as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    assert_eq!(l.dependency.as_deref(), Some("dynamodb"));
    assert_eq!(l.cause, SuspectedCause::AwsService);
}

#[test]
fn pino_numeric_level_and_err_object() {
    let l = parsed(
        r#"{"level":50,"time":1704067200000,"pid":8,"hostname":"169.254.10.1","name":"checkout","msg":"upstream call failed","err":{"type":"Error","message":"connect ECONNREFUSED 10.0.3.7:8080","stack":"Error: connect ECONNREFUSED 10.0.3.7:8080\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)","code":"ECONNREFUSED"}}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Pino));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "upstream call failed");
    assert_eq!(l.service.as_deref(), Some("checkout"));
    assert_eq!(l.error_type.as_deref(), Some("Error"));
    assert_eq!(l.dependency.as_deref(), Some("10.0.3.7:8080"));
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::Node)
    );
}

#[test]
fn bunyan_fatal_level() {
    let l = parsed(
        r#"{"name":"billing","hostname":"ip-10-0-0-1","pid":1,"level":60,"msg":"cannot start: missing STRIPE_KEY","time":"2024-01-01T00:00:00.000Z","v":0}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Pino));
    assert_eq!(l.level, Level::Fatal);
    assert_eq!(l.service.as_deref(), Some("billing"));
}

#[test]
fn zap_production_json() {
    let l = parsed(
        r#"{"level":"error","ts":1704067200.123,"caller":"store/db.go:88","msg":"query failed","service":"inventory","error":"dial tcp 10.0.5.12:5432: connect: connection refused","stacktrace":"main.run\n\t/app/main.go:42\nmain.main\n\t/app/main.go:12"}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Zap));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "query failed");
    assert_eq!(
        l.error_message.as_deref(),
        Some("dial tcp 10.0.5.12:5432: connect: connection refused")
    );
    assert_eq!(l.dependency.as_deref(), Some("10.0.5.12:5432"));
    assert_eq!(l.cause, SuspectedCause::Database);
}

#[test]
fn structlog_json_with_exception() {
    let l = parsed(
        r#"{"event":"failed to load profile","user_id":42,"level":"error","timestamp":"2024-01-01T00:00:00.000000Z","exception":"Traceback (most recent call last):\n  File \"/var/task/profile.py\", line 12, in load\n    return data[\"profile\"]\nKeyError: 'profile'"}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Structlog));
    assert_eq!(l.message, "failed to load profile");
    assert_eq!(l.error_type.as_deref(), Some("KeyError"));
    assert_eq!(l.error_message.as_deref(), Some("'profile'"));
    assert_eq!(l.cause, SuspectedCause::Code);
}

#[test]
fn serilog_compact_json() {
    let l = parsed(
        r#"{"@t":"2024-01-01T00:00:00.1234567Z","@mt":"Payment {PaymentId} failed","@m":"Payment \"p-123\" failed","@l":"Error","@x":"System.Net.Http.HttpRequestException: Connection refused (api.payments.example:443)\n ---> System.Net.Sockets.SocketException (111): Connection refused\n   at System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.ThrowException(SocketError error, CancellationToken cancellationToken)\n   at Payments.Client.ChargeAsync() in /src/Payments/Client.cs:line 42","PaymentId":"p-123","SourceContext":"Payments.Client"}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::SerilogCompact));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "Payment \"p-123\" failed");
    assert_eq!(l.service.as_deref(), Some("Payments.Client"));
    assert_eq!(
        l.error_type.as_deref(),
        Some("System.Net.Http.HttpRequestException")
    );
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::DotNet)
    );
    assert_eq!(l.dependency.as_deref(), Some("api.payments.example:443"));
}

#[test]
fn serilog_compact_without_level_is_information() {
    let l = parsed(r#"{"@t":"2024-01-01T00:00:00Z","@mt":"Started {Count} workers","Count":4}"#);
    assert_eq!(l.level, Level::Info);
    assert_eq!(l.message, "Started {Count} workers");
}

#[test]
fn serilog_json_formatter() {
    let l = parsed(
        r#"{"Timestamp":"2024-01-01T00:00:00.0000000+00:00","Level":"Warning","MessageTemplate":"Retrying {Attempt}","RenderedMessage":"Retrying 3","Properties":{"Attempt":3,"Application":"ledger"}}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Serilog));
    assert_eq!(l.level, Level::Warn);
    assert_eq!(l.message, "Retrying 3");
}

#[test]
fn logstash_logback_json() {
    let l = parsed(
        r#"{"@timestamp":"2024-01-01T00:00:00.123Z","@version":"1","message":"Failed to reserve stock","logger_name":"com.shop.inventory.StockService","thread_name":"http-nio-8080-exec-3","level":"ERROR","level_value":40000,"stack_trace":"java.net.ConnectException: Connection refused\n\tat java.base/sun.nio.ch.Net.connect0(Native Method)\n\tat com.shop.inventory.StockClient.reserve(StockClient.java:57)\n"}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::Logstash));
    assert_eq!(l.level, Level::Error);
    assert_eq!(
        l.service.as_deref(),
        Some("com.shop.inventory.StockService")
    );
    assert_eq!(l.error_type.as_deref(), Some("java.net.ConnectException"));
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::Java)
    );
    assert_eq!(l.cause, SuspectedCause::Network);
}

#[test]
fn lambda_runtime_json_format() {
    let l = parsed(
        r#"{"timestamp":"2024-01-01T00:00:00.000Z","level":"ERROR","requestId":"8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69","message":"upstream 503 from https://api.x.com/v1/charge"}"#,
    );
    assert_eq!(l.format, Format::Json(JsonShape::LambdaRuntime));
    assert_eq!(l.request_id.as_deref(), Some(REQ));
    assert_eq!(l.http_status, Some(503));
    assert_eq!(l.dependency.as_deref(), Some("api.x.com"));
    assert_eq!(l.cause, SuspectedCause::ExternalApi);
}

#[test]
fn lambda_runtime_json_with_error_object_message() {
    let l = parsed(
        r#"{"timestamp":"2024-01-01T00:00:00.000Z","level":"ERROR","requestId":"8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69","message":{"errorType":"TypeError","errorMessage":"order.items.map is not a function","stackTrace":["TypeError: order.items.map is not a function","    at handler (file:///var/task/index.mjs:12:30)"]}}"#,
    );
    assert_eq!(l.error_type.as_deref(), Some("TypeError"));
    assert_eq!(l.message, "order.items.map is not a function");
    assert_eq!(l.cause, SuspectedCause::Code);
}

#[test]
fn lambda_platform_json_report_timeout() {
    let l = parsed(
        r#"{"time":"2024-01-01T00:00:03.000Z","type":"platform.report","record":{"requestId":"8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69","metrics":{"durationMs":3000.0,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":64},"status":"timeout"}}"#,
    );
    assert_eq!(l.format, Format::LambdaPlatform(PlatformKind::Report));
    assert_eq!(l.error_type.as_deref(), Some("Sandbox.Timedout"));
    assert_eq!(l.cause, SuspectedCause::Resource);
    assert!(l.is_error());
}

#[test]
fn node_text_prefix_with_json_payload() {
    let l = parsed(&format!(
        "2024-01-01T00:00:00.000Z\t{REQ}\tERROR\t{{\"msg\":\"charge failed\",\"status\":502,\"url\":\"https://api.stripe.example/v1/charges\"}}"
    ));
    assert_eq!(l.format, Format::Json(JsonShape::Generic));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.request_id.as_deref(), Some(REQ));
    assert_eq!(l.http_status, Some(502));
    assert_eq!(l.dependency.as_deref(), Some("api.stripe.example"));
}

#[test]
fn node_invoke_error() {
    let l = parsed(&format!(
        "2024-01-01T00:00:00.000Z\t{REQ}\tERROR\tInvoke Error \t{{\"errorType\":\"TypeError\",\"errorMessage\":\"Cannot read properties of undefined (reading 'id')\",\"stack\":[\"TypeError: Cannot read properties of undefined (reading 'id')\",\"    at Runtime.handler (/var/task/index.js:5:22)\"]}}"
    ));
    assert_eq!(l.error_type.as_deref(), Some("TypeError"));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.cause, SuspectedCause::Code);
}

// ---------- Lambda text prefixes ----------

#[test]
fn node_text_prefix_plain_message() {
    let l = parsed(&format!(
        "2024-01-01T00:00:00.000Z\t{REQ}\tWARN\tretrying after timeout connecting to db.internal:5432"
    ));
    assert_eq!(l.format, Format::Text(TextShape::LambdaNode));
    assert_eq!(l.level, Level::Warn);
    assert_eq!(
        l.message,
        "retrying after timeout connecting to db.internal:5432"
    );
    assert_eq!(l.dependency.as_deref(), Some("db.internal:5432"));
    assert_eq!(l.cause, SuspectedCause::Database);
}

#[test]
fn python_text_prefix() {
    let l = parsed(&format!(
        "[ERROR]\t2024-01-01T00:00:00.000Z\t{REQ}\tcould not reach api.partner.example: HTTP 502"
    ));
    assert_eq!(l.format, Format::Text(TextShape::LambdaPython));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.request_id.as_deref(), Some(REQ));
    assert_eq!(l.message, "could not reach api.partner.example: HTTP 502");
    assert_eq!(l.http_status, Some(502));
    assert_eq!(l.dependency.as_deref(), Some("api.partner.example"));
}

#[test]
fn python_uncaught_import_error() {
    let l = parsed(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'requests'\nTraceback (most recent call last):",
    );
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.error_type.as_deref(), Some("Runtime.ImportModuleError"));
    assert_eq!(l.cause, SuspectedCause::Code);
}

#[test]
fn python_uncaught_exception_with_traceback() {
    let l = parsed(
        "[ERROR] ValueError: invalid literal for int() with base 10: 'abc'\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 8, in handler\n    n = int(event[\"n\"])\nValueError: invalid literal for int() with base 10: 'abc'",
    );
    assert_eq!(l.error_type.as_deref(), Some("ValueError"));
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::Python)
    );
}

// ---------- Lambda platform lines ----------

#[test]
fn task_timed_out() {
    let l = parsed(&format!(
        "2024-01-01T00:00:03.012Z {REQ} Task timed out after 3.00 seconds"
    ));
    assert_eq!(l.format, Format::LambdaPlatform(PlatformKind::Timeout));
    assert_eq!(l.error_type.as_deref(), Some("Sandbox.Timedout"));
    assert_eq!(l.request_id.as_deref(), Some(REQ));
    assert_eq!(l.message, "Task timed out after 3.00 seconds");
    assert_eq!(l.cause, SuspectedCause::Resource);
    assert!(l.is_error());
}

#[test]
fn report_with_error_status() {
    let l = parsed(&format!(
        "REPORT RequestId: {REQ}\tDuration: 1520.33 ms\tBilled Duration: 1521 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.ExitError"
    ));
    assert_eq!(l.format, Format::LambdaPlatform(PlatformKind::Report));
    assert_eq!(l.error_type.as_deref(), Some("Runtime.ExitError"));
    assert_eq!(l.request_id.as_deref(), Some(REQ));
    assert!(l.is_error());
}

#[test]
fn report_success_is_info() {
    let l = parsed(&format!(
        "REPORT RequestId: {REQ}\tDuration: 12.10 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 150.00 ms"
    ));
    assert_eq!(l.level, Level::Info);
    assert!(!l.is_error());
}

#[test]
fn runtime_exited_signal_killed() {
    let l = parsed(&format!(
        "RequestId: {REQ} Error: Runtime exited with error: signal: killed\nRuntime.ExitError"
    ));
    assert_eq!(
        l.format,
        Format::LambdaPlatform(PlatformKind::RuntimeExited)
    );
    assert_eq!(l.error_type.as_deref(), Some("Runtime.ExitError"));
    assert_eq!(l.cause, SuspectedCause::Resource);
    assert_eq!(l.request_id.as_deref(), Some(REQ));
}

#[test]
fn runtime_out_of_memory() {
    let l = parsed(&format!(
        "RequestId: {REQ} Error: Runtime exited with error: signal: killed\nRuntime.OutOfMemory"
    ));
    assert_eq!(l.format, Format::LambdaPlatform(PlatformKind::OutOfMemory));
    assert_eq!(l.error_type.as_deref(), Some("Runtime.OutOfMemory"));
    let l = parsed("Error: Runtime exited with error: out of memory");
    assert_eq!(l.error_type.as_deref(), Some("Runtime.OutOfMemory"));
}

#[test]
fn init_report_error() {
    let l = parsed(
        "INIT_REPORT Init Duration: 10008.41 ms\tPhase: init\tStatus: error\tError Type: Runtime.Unknown",
    );
    assert_eq!(l.format, Format::LambdaPlatform(PlatformKind::InitReport));
    assert_eq!(l.error_type.as_deref(), Some("Runtime.Unknown"));
    assert!(l.is_error());
    let l = parsed("INIT_REPORT Init Duration: 3000.00 ms\tPhase: init\tStatus: timeout");
    assert_eq!(l.error_type.as_deref(), Some("Sandbox.Timedout"));
}

#[test]
fn start_line_is_info() {
    let l = parsed(&format!("START RequestId: {REQ} Version: $LATEST"));
    assert_eq!(l.format, Format::LambdaPlatform(PlatformKind::Start));
    assert_eq!(l.request_id.as_deref(), Some(REQ));
    assert!(!l.is_error());
}

// ---------- plain text ----------

#[test]
fn iso_timestamp_and_level_word() {
    let l = parsed("2024-01-01T00:00:00.000Z ERROR connection refused to api.payments.example:443");
    assert_eq!(l.format, Format::Text(TextShape::Header));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "connection refused to api.payments.example:443");
    assert_eq!(l.dependency.as_deref(), Some("api.payments.example:443"));
}

#[test]
fn syslog_header() {
    let l = parsed(
        "Nov 24 02:50:13 ip-10-0-1-5 nginx[812]: upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: \"http://10.0.2.8:8080/api\"",
    );
    assert_eq!(l.format, Format::Text(TextShape::Syslog));
    assert!(l.message.starts_with("upstream timed out"));
    assert_eq!(l.dependency.as_deref(), Some("10.0.2.8:8080"));
    assert_eq!(l.cause, SuspectedCause::ExternalApi);
}

#[test]
fn syslog_with_level_word() {
    let l = parsed("Nov 24 02:50:13 web-1 app[77]: ERROR: payment declined for order 991");
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "payment declined for order 991");
}

#[test]
fn comma_millis_timestamp_and_level() {
    let l = parsed("2024-01-01 00:00:00,123 WARNING disk usage at 91%");
    assert_eq!(l.level, Level::Warn);
    assert_eq!(l.message, "disk usage at 91%");
}

#[test]
fn bracketed_timestamp_and_level() {
    let l = parsed("[2024-01-01 00:00:00.123] [ERROR] worker crashed: status code 500");
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "worker crashed: status code 500");
    assert_eq!(l.http_status, Some(500));
}

#[test]
fn klog_error_line() {
    let l = parsed(
        "E0101 12:00:00.000000    1234 controller.go:120] failed to sync: timeout connecting to db.internal:5432",
    );
    assert_eq!(l.format, Format::Text(TextShape::Klog));
    assert_eq!(l.level, Level::Error);
    assert_eq!(
        l.message,
        "failed to sync: timeout connecting to db.internal:5432"
    );
    assert_eq!(l.dependency.as_deref(), Some("db.internal:5432"));
}

#[test]
fn klog_warning_line() {
    let l = parsed("W0101 12:00:00.000000       1 reflector.go:324] watch closed");
    assert_eq!(l.level, Level::Warn);
}

#[test]
fn python_logging_basic_config_default() {
    let l = parsed("ERROR:app.billing:charge failed for customer 77");
    assert_eq!(l.format, Format::Text(TextShape::PythonLogging));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "charge failed for customer 77");
}

#[test]
fn python_logging_asctime_format() {
    let l = parsed("2024-01-01 00:00:00,123 - billing - CRITICAL - ledger out of balance");
    assert_eq!(l.format, Format::Text(TextShape::PythonLogging));
    assert_eq!(l.level, Level::Fatal);
    assert_eq!(l.message, "ledger out of balance");
}

#[test]
fn log4j_default_pattern() {
    let l = parsed(
        "2024-01-01 00:00:00,123 ERROR [main] com.shop.OrderService - Order 42 failed: HTTP 502 from https://api.shipping.example/v2/labels",
    );
    assert_eq!(l.format, Format::Text(TextShape::Log4j));
    assert_eq!(l.level, Level::Error);
    assert_eq!(
        l.message,
        "Order 42 failed: HTTP 502 from https://api.shipping.example/v2/labels"
    );
    assert_eq!(l.http_status, Some(502));
    assert_eq!(l.dependency.as_deref(), Some("api.shipping.example"));
}

#[test]
fn logback_default_pattern() {
    let l = parsed(
        "12:00:00.123 [http-nio-8080-exec-1] WARN  c.s.i.StockService - stock low for sku 991",
    );
    assert_eq!(l.format, Format::Text(TextShape::Log4j));
    assert_eq!(l.level, Level::Warn);
    assert_eq!(l.message, "stock low for sku 991");
}

#[test]
fn spring_boot_default_pattern() {
    let l = parsed(
        "2024-01-01T00:00:00.000Z ERROR 1 --- [main] c.e.shop.Application : Application run failed",
    );
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "Application run failed");
}

#[test]
fn fatal_and_severe_words() {
    assert_eq!(parsed("FATAL out of file descriptors").level, Level::Fatal);
    assert_eq!(
        parsed("SEVERE: Servlet threw exception").level,
        Level::Error
    );
    assert_eq!(parsed("CRITICAL cluster quorum lost").level, Level::Fatal);
}

#[test]
fn unrecognized_line_keeps_raw_message() {
    let l = parsed("just some words here");
    assert_eq!(l.format, Format::Unrecognized);
    assert_eq!(l.level, Level::Unknown);
    assert_eq!(l.message, "just some words here");
    assert!(!l.is_error());
}

#[test]
fn logfmt_line() {
    let l = parsed(
        r#"time="2024-01-01T00:00:00Z" level=error msg="failed to publish" service=notifier error="dial tcp: lookup nats.internal: no such host""#,
    );
    assert_eq!(l.format, Format::Text(TextShape::Logfmt));
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.message, "failed to publish");
    assert_eq!(l.service.as_deref(), Some("notifier"));
    assert_eq!(l.dependency.as_deref(), Some("nats.internal"));
    assert_eq!(l.cause, SuspectedCause::Network);
}

#[test]
fn exception_name_inside_a_message() {
    let l = parsed(
        "ERROR DynamoDB PutItem failed: ProvisionedThroughputExceededException: Rate of requests exceeds the allowed throughput.",
    );
    assert_eq!(
        l.error_type.as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    assert_eq!(l.dependency.as_deref(), Some("dynamodb"));
}

// ---------- stack traces ----------

#[test]
fn java_exception_in_thread_with_caused_by() {
    let l = parsed(
        "Exception in thread \"main\" java.lang.IllegalStateException: Failed to start\n\tat com.shop.App.main(App.java:21)\nCaused by: java.net.ConnectException: Connection refused\n\tat java.base/sun.nio.ch.Net.connect0(Native Method)\n\t... 3 more",
    );
    assert_eq!(l.format, Format::Text(TextShape::Trace));
    assert_eq!(l.level, Level::Error);
    assert_eq!(
        l.error_type.as_deref(),
        Some("java.lang.IllegalStateException")
    );
    assert_eq!(l.error_message.as_deref(), Some("Failed to start"));
    assert_eq!(
        l.message,
        "java.lang.IllegalStateException: Failed to start"
    );
    let trace = l.stack_trace.as_ref().unwrap();
    assert_eq!(trace.language, TraceLanguage::Java);
    assert!(trace.text.contains("Caused by: java.net.ConnectException"));
    assert_eq!(l.cause, SuspectedCause::Network);
}

#[test]
fn log4j_message_followed_by_java_trace() {
    let l = parsed(
        "2024-01-01 00:00:00,123 ERROR [pool-1] com.shop.Db - query failed\norg.postgresql.util.PSQLException: Connection to db.shop.internal:5432 refused. Check that the hostname and port are correct\n\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:303)",
    );
    assert_eq!(l.message, "query failed");
    assert_eq!(
        l.error_type.as_deref(),
        Some("org.postgresql.util.PSQLException")
    );
    assert_eq!(l.dependency.as_deref(), Some("db.shop.internal:5432"));
    assert_eq!(l.cause, SuspectedCause::Database);
}

#[test]
fn python_traceback() {
    let l = parsed(
        "Traceback (most recent call last):\n  File \"/var/task/app.py\", line 10, in handler\n    conn = psycopg2.connect(DSN)\npsycopg2.OperationalError: could not connect to server: Connection refused\n\tIs the server running on host \"db.orders.internal\" (10.0.0.5) and accepting\n\tTCP/IP connections on port 5432?",
    );
    assert_eq!(l.error_type.as_deref(), Some("psycopg2.OperationalError"));
    assert_eq!(
        l.message,
        "psycopg2.OperationalError: could not connect to server: Connection refused"
    );
    assert_eq!(l.dependency.as_deref(), Some("db.orders.internal:5432"));
    assert_eq!(l.cause, SuspectedCause::Database);
    assert!(l.is_error());
}

#[test]
fn python_logging_exception_with_traceback() {
    let l = parsed(
        "ERROR:root:lookup failed\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 3, in h\n    return d['k']\nKeyError: 'k'",
    );
    assert_eq!(l.message, "lookup failed");
    assert_eq!(l.error_type.as_deref(), Some("KeyError"));
    assert_eq!(l.cause, SuspectedCause::Code);
}

#[test]
fn node_type_error_trace() {
    let l = parsed(
        "TypeError: x is not a function\n    at handler (/var/task/index.js:10:5)\n    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)",
    );
    assert_eq!(l.error_type.as_deref(), Some("TypeError"));
    assert_eq!(l.error_message.as_deref(), Some("x is not a function"));
    assert_eq!(l.message, "TypeError: x is not a function");
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::Node)
    );
    assert_eq!(l.cause, SuspectedCause::Code);
}

#[test]
fn node_econnreset_with_host() {
    let l = parsed(
        "Error: read ECONNRESET\n    at TLSWrap.onStreamRead (node:internal/stream_base_commons:217:20) {\n  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read',\n  host: 'hooks.partner.example'\n}",
    );
    assert_eq!(l.error_type.as_deref(), Some("Error"));
    assert_eq!(l.dependency.as_deref(), Some("hooks.partner.example"));
    assert_eq!(l.cause, SuspectedCause::Network);
}

#[test]
fn rust_panic_new_format() {
    let l = parsed(
        "thread 'main' panicked at src/handler.rs:41:18:\ncalled `Option::unwrap()` on a `None` value\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
    );
    assert_eq!(l.error_type.as_deref(), Some("panic"));
    assert_eq!(
        l.error_message.as_deref(),
        Some("called `Option::unwrap()` on a `None` value")
    );
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::Rust)
    );
    assert_eq!(l.cause, SuspectedCause::Code);
}

#[test]
fn rust_panic_old_format() {
    let l = parsed(
        "thread 'tokio-runtime-worker' panicked at 'index out of bounds: the len is 0 but the index is 0', src/lib.rs:12:5",
    );
    assert_eq!(
        l.error_message.as_deref(),
        Some("index out of bounds: the len is 0 but the index is 0")
    );
}

#[test]
fn go_panic() {
    let l = parsed(
        "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]\n\ngoroutine 1 [running]:\nmain.handler()\n\t/app/main.go:22 +0x1c",
    );
    assert_eq!(l.error_type.as_deref(), Some("panic"));
    assert_eq!(
        l.stack_trace.as_ref().map(|t| t.language),
        Some(TraceLanguage::Go)
    );
    assert_eq!(l.cause, SuspectedCause::Code);
}

#[test]
fn lone_exception_line() {
    let l = parsed("java.net.SocketTimeoutException: Read timed out");
    assert_eq!(l.level, Level::Error);
    assert_eq!(
        l.error_type.as_deref(),
        Some("java.net.SocketTimeoutException")
    );
    assert_eq!(l.cause, SuspectedCause::Network);
}

// ---------- dependencies ----------

#[test]
fn botocore_client_error_names_dynamodb() {
    let l = parsed(
        "[ERROR]\t2024-01-01T00:00:00.000Z\t8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69\tbotocore.exceptions.ClientError: An error occurred (ThrottlingException) when calling the PutItem operation (reached max retries: 4): Rate exceeded",
    );
    assert_eq!(l.dependency.as_deref(), Some("dynamodb"));
    assert_eq!(l.cause, SuspectedCause::AwsService);
}

#[test]
fn aws_endpoint_url_names_the_service() {
    let l = parsed(
        "ERROR Could not connect to the endpoint URL: \"https://sqs.eu-west-1.amazonaws.com/\"",
    );
    assert_eq!(l.dependency.as_deref(), Some("sqs"));
    assert_eq!(l.cause, SuspectedCause::AwsService);
}

#[test]
fn mysql_communications_link_failure() {
    let l = parsed(
        "ERROR com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure",
    );
    assert_eq!(l.dependency.as_deref(), Some("mysql"));
    assert_eq!(l.cause, SuspectedCause::Database);
    let l = parsed("ERROR query failed: ER_LOCK_DEADLOCK: Deadlock found when trying to get lock");
    assert_eq!(l.cause, SuspectedCause::Database);
}

#[test]
fn http_status_forms() {
    assert_eq!(parsed("ERROR upstream 503").http_status, Some(503));
    assert_eq!(
        parsed("ERROR Request failed with status code 429").http_status,
        Some(429)
    );
    assert_eq!(
        parsed("ERROR got 502 Bad Gateway from edge").http_status,
        Some(502)
    );
    assert_eq!(
        parsed("10.0.0.1 - - [24/Nov/2026:02:50:13 +0000] \"GET /x HTTP/1.1\" 504 157").http_status,
        Some(504)
    );
}

#[test]
fn info_lines_skip_dependency_analysis() {
    let l = parsed("2024-01-01T00:00:00Z INFO calling https://api.x.com/v1");
    assert_eq!(l.dependency, None);
    assert_eq!(l.cause, SuspectedCause::Unknown);
}

// ---------- limits and sanitizing ----------

#[test]
fn huge_lines_are_capped() {
    let big = format!("ERROR {}", "é".repeat(100_000));
    let l = parsed(&big);
    assert!(l.truncated);
    assert!(l.message.len() <= MAX_EXAMINED_BYTES);
    assert_eq!(l.level, Level::Error);
}

#[test]
fn sanitize_escapes_and_caps() {
    assert_eq!(
        sanitize_sample("a\nb\tc\u{1b}[31m", 100),
        "a\\nb\\tc\\u{1b}[31m"
    );
    assert_eq!(sanitize_sample("héllo wörld", 8), "héll…");
    assert_eq!(sanitize_sample("héllo wörld", 9), "héllo…");
    assert_eq!(sanitize_sample("abc", 3), "abc");
    assert_eq!(sanitize_sample("abcd", 2), "");
    assert_eq!(sanitize_sample("\u{202e}evil", 100), "\\u{202e}evil");
}

proptest! {
    #[test]
    fn any_string_parses_without_panic(s in any::<String>()) {
        let l = parse_line(&s);
        prop_assert!(l.message.len() <= s.len().max(MAX_EXAMINED_BYTES));
    }

    #[test]
    fn log_like_strings_parse_without_panic(
        s in "[\\[\\]{}\"':0-9a-zA-Z .\\t\\n=/@-]{0,200}",
        prefix in prop::sample::select(vec![
            "", "2024-01-01T00:00:00.000Z\t8f507cfc-5c2e-4b4a-9c3e-1f2d3c4b5a69\tERROR\t",
            "[ERROR]\t2024-01-01T00:00:00.000Z\tx\t", "Nov 24 02:50:13 h p[1]: ", "E0101 12:00:00.000000 1 a.go:1] ",
            "Traceback (most recent call last):\n", "thread 'main' panicked at ", "REPORT RequestId: ",
            "{\"level\":50,\"msg\":", "ERROR:root:", "http://",
        ]),
    ) {
        let _ = parse_line(&format!("{prefix}{s}"));
    }

    #[test]
    fn sanitize_respects_cap_and_escapes_controls(s in any::<String>(), cap in 0usize..300) {
        let out = sanitize_sample(&s, cap);
        prop_assert!(out.len() <= cap);
        prop_assert!(!out.chars().any(char::is_control));
    }
}
