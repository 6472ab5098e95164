//! Real function bootstraps under the Lambda Runtime API emulator.
//!
//! [`Deployed::start`] starts `cargo lambda watch --only-lambda-apis` on a free port and the
//! function's own bootstrap binary polling it, as Lambda runs it: the same `main`, its
//! settings read from the environment, its AWS clients built from the standard SDK
//! variables. [`Deployed::invoke_file`] sends an event with `cargo lambda invoke
//! --data-file`; [`Deployed::invoke_raw`] posts any bytes (not only UTF-8) to the emulator's
//! Lambda Invoke API, as an AWS SDK client would.
//!
//! Each deployment has its own emulator: cargo-lambda routes invocations by binary name, so
//! two tests sharing one emulator would share the function's queue.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{
    TestTables, free_port, http_status, log_tail, logs_dir, repo_root, spawn_watched, watched,
};

/// The `cargo-lambda` executable: `APPTRACK_CARGO_LAMBDA_BIN`, else the pinned one `make
/// tools` installs, else whatever `PATH` has.
pub fn cargo_lambda_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("APPTRACK_CARGO_LAMBDA_BIN") {
        return PathBuf::from(bin);
    }
    let pinned = repo_root().join(".local/bin/cargo-lambda");
    if pinned.exists() {
        pinned
    } else {
        PathBuf::from("cargo-lambda")
    }
}

/// A workspace binary built next to this test executable (`target/<profile>/NAME`).
///
/// Integration tests of a function's own package should prefer `env!("CARGO_BIN_EXE_…")`;
/// this is for tests in other packages, run after `cargo test --workspace` (or `cargo build
/// --workspace`) has built the binary.
pub fn workspace_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable has no target/<profile> folder")?;
    let bin = dir.join(name);
    if !bin.exists() {
        bail!(
            "{} is not built: run `cargo build --workspace` (make test builds it)",
            bin.display()
        );
    }
    Ok(bin)
}

/// What a deployed function needs to use DynamoDB Local and the test's `tables`: the SDK's
/// standard endpoint, region and credential variables, and `INCIDENTS_TABLE` / `STATE_TABLE`.
pub fn dynamodb_env(tables: &TestTables) -> Vec<(&'static str, String)> {
    vec![
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            crate::dynamodb().endpoint.clone(),
        ),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("INCIDENTS_TABLE", tables.incidents.clone()),
        ("STATE_TABLE", tables.state.clone()),
    ]
}

/// [`dynamodb_env`] plus every other AWS service (CloudWatch, Auto Scaling) at ministack,
/// through `AWS_ENDPOINT_URL` (the DynamoDB-specific variable takes precedence).
pub fn local_stack_env(tables: &TestTables) -> Vec<(&'static str, String)> {
    let mut env = dynamodb_env(tables);
    env.push(("AWS_ENDPOINT_URL", crate::ministack().endpoint.clone()));
    env
}

/// Writes `bytes` to a new event file named `name` (in a fresh folder next to the emulator
/// logs, so tests never overwrite each other's) and returns its absolute path, for
/// [`Deployed::invoke_file`]: how a test sends a sample event it had to change (re-timed to
/// the present, say) still through `cargo lambda invoke --data-file`.
pub fn write_event(name: &str, bytes: &[u8]) -> Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = logs_dir().join(format!(
        "apptrack-events-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// One function, deployed locally: the Runtime API emulator and the bootstrap polling it.
pub struct Deployed {
    /// The function name, which is the binary's name (cargo-lambda routes by it).
    pub name: String,
    /// The emulator's port; its Lambda Invoke API is `http://127.0.0.1:{port}/2015-03-31/…`.
    pub port: u16,
    function_log: PathBuf,
    emulator_log: PathBuf,
    _emulator: Child,
    _function: Child,
}

/// What an invocation returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function's response.
    Response(Value),
    /// The function's error: its `errorType` and `errorMessage`.
    Error { error_type: String, message: String },
}

impl Outcome {
    /// The response, or an error naming the invocation's failure.
    pub fn response(self) -> Result<Value> {
        match self {
            Outcome::Response(v) => Ok(v),
            Outcome::Error {
                error_type,
                message,
            } => bail!("the invocation failed: {error_type}: {message}"),
        }
    }

    /// The `errorType` of a failed invocation.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            Outcome::Response(_) => None,
            Outcome::Error { error_type, .. } => Some(error_type),
        }
    }
}

impl Deployed {
    /// Starts the emulator and `bootstrap` (named by its file name) with `env` added to a
    /// clean Lambda-like environment (this process's environment is not passed on, except
    /// `PATH` and `HOME`).
    pub fn start<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        bootstrap: &Path,
        env: &[(K, V)],
    ) -> Result<Self> {
        let name = bootstrap
            .file_name()
            .and_then(|n| n.to_str())
            .context("the bootstrap path has no file name")?
            .to_owned();
        if !bootstrap.exists() {
            bail!("{} does not exist", bootstrap.display());
        }
        let port = free_port()?;
        let tag = format!("{}-{port}", std::process::id());
        let emulator_log = logs_dir().join(format!("watch-{name}-{tag}.log"));
        let function_log = logs_dir().join(format!("function-{name}-{tag}.log"));

        // cargo-lambda reads the workspace (cargo metadata) to know the function names.
        let mut watch = watched(cargo_lambda_bin());
        watch
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-address"])
            .args(["127.0.0.1", "--invoke-port", &port.to_string()])
            .current_dir(repo_root());
        let emulator = spawn_watched(watch, &emulator_log)?;
        wait_for_emulator(port, &emulator_log)?;

        let mut function = watched(bootstrap);
        function
            .env_clear()
            .envs(std::env::var_os("PATH").map(|p| ("PATH", p)))
            .envs(std::env::var_os("HOME").map(|p| ("HOME", p)))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{name}"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(repo_root());
        let function = spawn_watched(function, &function_log)?;
        Ok(Deployed {
            name,
            port,
            function_log,
            emulator_log,
            _emulator: emulator,
            _function: function,
        })
    }

    /// Invokes the function with the event in `path` (relative paths are from the
    /// repository root), through `cargo lambda invoke --data-file`.
    pub fn invoke_file(&self, path: impl AsRef<Path>) -> Result<Outcome> {
        let path = repo_root().join(path.as_ref());
        let mut invoke = Command::new(cargo_lambda_bin());
        invoke
            .args([
                "lambda",
                "invoke",
                &self.name,
                "--invoke-address",
                "127.0.0.1",
            ])
            .args([
                "--invoke-port",
                &self.port.to_string(),
                "--output-format",
                "json",
            ])
            .arg("--data-file")
            .arg(&path)
            .current_dir(repo_root());
        let out = output_within(invoke, INVOKE_TIMEOUT).with_context(|| {
            format!(
                "cargo lambda invoke {} --data-file {}; function log:\n{}",
                self.name,
                path.display(),
                self.function_log()
            )
        })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            let v = serde_json::from_str(stdout.trim())
                .with_context(|| format!("the response of {} is not JSON: {stdout}", self.name))?;
            return Ok(Outcome::Response(v));
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        parse_invoke_error(&stderr).with_context(|| {
            format!(
                "cargo lambda invoke {} --data-file {} failed without a function error:\n\
                 {stderr}\nfunction log:\n{}",
                self.name,
                path.display(),
                self.function_log()
            )
        })
    }

    /// Posts `payload` (any bytes) to the emulator's Lambda Invoke API.
    pub fn invoke_raw(&self, payload: &[u8]) -> Result<Outcome> {
        let (status, body) = crate::http_post(
            self.port,
            &format!("/2015-03-31/functions/{}/invocations", self.name),
            payload,
            INVOKE_TIMEOUT,
        )?;
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        if status == 200 {
            return Ok(Outcome::Response(v));
        }
        match (v.get("errorType"), v.get("errorMessage")) {
            (Some(Value::String(t)), Some(Value::String(m))) => Ok(Outcome::Error {
                error_type: t.clone(),
                message: m.clone(),
            }),
            _ => bail!(
                "the Invoke API answered {status} without a function error: {v}\nfunction log:\n{}",
                self.function_log()
            ),
        }
    }

    /// The function's own log (its JSON lines) so far.
    pub fn function_log(&self) -> String {
        std::fs::read_to_string(&self.function_log).unwrap_or_default()
    }

    /// The emulator's log so far.
    pub fn emulator_log(&self) -> String {
        log_tail(&self.emulator_log)
    }
}

impl Drop for Deployed {
    /// Stops the function and the emulator now rather than when the test process ends (the
    /// watchdog shell stops its program on TERM), so a long test run does not pile them up.
    fn drop(&mut self) {
        for child in [&self._function, &self._emulator] {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
    }
}

/// How long one invocation may take: a function that died would otherwise leave the
/// invocation waiting for an answer that never comes.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` to completion, or kills it after `timeout`, and returns its output.
fn output_within(mut cmd: Command, timeout: Duration) -> Result<std::process::Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawning")?;
    // Drained on their own threads, so a chatty child never blocks on a full pipe.
    let stdout = drain(child.stdout.take().context("no stdout pipe")?);
    let stderr = drain(child.stderr.take().context("no stderr pipe")?);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting")? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("no answer within {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn wait_for_emulator(port: u16, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        // The Invoke API answers a GET at once (405); `/` would wait for a function.
        let req = format!(
            "GET /2015-03-31/functions/_/invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Connection: close\r\n\r\n"
        );
        if http_status(port, &req).is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "cargo lambda watch did not answer on port {port} within 60 s; log:\n{}",
        log_tail(log)
    )
}

/// `cargo lambda invoke` prints a function error as `Error: <errorType>` and then the message
/// under a `×`, wrapped to the terminal width.
fn parse_invoke_error(stderr: &str) -> Option<Outcome> {
    let mut lines = stderr.lines();
    let error_type = lines
        .find_map(|l| l.trim().strip_prefix("Error:"))?
        .trim()
        .to_owned();
    if error_type.is_empty() || error_type.contains(' ') {
        return None; // cargo-lambda's own failure, not the function's
    }
    let mut message = String::new();
    for line in lines {
        let t = line.trim();
        if t.starts_with("Was this behavior unexpected") {
            break;
        }
        let t = t.trim_start_matches(['×', '│']).trim();
        if t.is_empty() {
            continue;
        }
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(t);
    }
    Some(Outcome::Error {
        error_type,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_error_is_read_from_cargo_lambda_output() {
        let stderr = "Error: Permanent.BadPayload\n\n  × bad log subscription payload: the log batch is missing\n  │ the required field `awslogs.data`\n\n  Was this behavior unexpected?\n  Start a thread in https://github.com/cargo-lambda/cargo-lambda/discussions\n";
        assert_eq!(
            parse_invoke_error(stderr),
            Some(Outcome::Error {
                error_type: "Permanent.BadPayload".into(),
                message: "bad log subscription payload: the log batch is missing the required field `awslogs.data`".into(),
            })
        );
    }

    #[test]
    fn a_command_that_does_not_finish_in_time_is_killed() {
        let started = Instant::now();
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let err = output_within(sleep, Duration::from_millis(200)).expect_err("timed out");
        assert!(err.to_string().contains("no answer within"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));

        let mut echo = Command::new("sh");
        echo.args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = output_within(echo, Duration::from_secs(30)).expect("finished");
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    fn cargo_lambdas_own_failure_is_not_a_function_error() {
        let stderr =
            "Error:   × error reading data file\n  ╰─▶ stream did not contain valid UTF-8\n";
        assert_eq!(parse_invoke_error(stderr), None);
    }
}
