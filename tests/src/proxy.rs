//! A fault-injecting HTTP/1.1 proxy in front of an emulator.
//!
//! Point an SDK client at [`Proxy::endpoint`] instead of the emulator: every request is
//! forwarded, and logged with its API operation. Told to fail ([`Proxy::inject`]), the proxy
//! closes a request's connection without an answer, so the SDK sees what it sees when a
//! service is unreachable: a connection failure, not an HTTP error. The request either never
//! reaches the emulator ([`Effect::Drop`]) or does and only its answer is lost
//! ([`Effect::LoseAnswer`]). Faults count requests, not connections (the SDK sends many
//! requests over one kept-alive connection), and can be limited to one API operation; several
//! faults, each limited to its own operation, can be armed at once ([`Proxy::inject_all`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, TRANSFER_ENCODING};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

/// Which of the matching requests fail. Requests are numbered from 0 in the order they
/// arrive after the fault was injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strikes {
    /// Request `n` and every later one, until [`Proxy::heal`].
    From(usize),
    /// Request `n` only.
    Only(usize),
    /// About `per_mille` in 1000 requests, chosen by a hash of `seed` and the request's
    /// number: the same requests in every run with the same seed.
    Rate { per_mille: u32, seed: u64 },
}

/// What happens to a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The request never reaches the emulator.
    Drop,
    /// The emulator handles the request, and its answer is lost on the way back.
    LoseAnswer,
    /// The request never reaches the emulator; the proxy answers with this DynamoDB error,
    /// shaped as real DynamoDB shapes it.
    Reply(DynamoError),
}

/// The errors real DynamoDB answers under contention and load, which DynamoDB Local does
/// not produce (it queues conflicting transactions on a lock instead of cancelling them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamoError {
    /// A `TransactWriteItems` cancelled because another transaction holds item `index`
    /// (`TransactionCanceledException` with one reason per item, `TransactionConflict` at
    /// `index`, `None` elsewhere); any other request gets `TransactionConflictException`.
    TransactionConflict {
        index: usize,
    },
    ProvisionedThroughputExceeded,
    Throttling,
    RequestLimitExceeded,
    /// HTTP 500.
    InternalServerError,
}

impl DynamoError {
    /// The status and JSON body DynamoDB answers `operation` (whose request body is `body`) with.
    pub fn answer(self, operation: &str, body: &[u8]) -> (StatusCode, String) {
        let shape = |name: &str, message: &str| {
            serde_json::json!({
                "__type": format!("com.amazonaws.dynamodb.v20120810#{name}"),
                "message": message,
            })
        };
        let (status, v) = match self {
            DynamoError::TransactionConflict { index } if operation == "TransactWriteItems" => {
                let items = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| {
                        v.get("TransactItems")
                            .and_then(|t| t.as_array())
                            .map(Vec::len)
                    })
                    .unwrap_or(index + 1)
                    .max(index + 1);
                let reasons: Vec<serde_json::Value> = (0..items)
                    .map(|i| {
                        if i == index {
                            serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
                        } else {
                            serde_json::json!({"Code": "None"})
                        }
                    })
                    .collect();
                let codes: Vec<&str> = (0..items)
                    .map(|i| {
                        if i == index {
                            "TransactionConflict"
                        } else {
                            "None"
                        }
                    })
                    .collect();
                let mut v = shape(
                    "TransactionCanceledException",
                    &format!(
                        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                        codes.join(", ")
                    ),
                );
                v["CancellationReasons"] = serde_json::Value::Array(reasons);
                (StatusCode::BAD_REQUEST, v)
            }
            DynamoError::TransactionConflict { .. } => (
                StatusCode::BAD_REQUEST,
                shape(
                    "TransactionConflictException",
                    "Transaction is ongoing for the item",
                ),
            ),
            DynamoError::ProvisionedThroughputExceeded => (
                StatusCode::BAD_REQUEST,
                shape(
                    "ProvisionedThroughputExceededException",
                    "The level of configured provisioned throughput for the table was exceeded.",
                ),
            ),
            DynamoError::Throttling => (
                StatusCode::BAD_REQUEST,
                shape(
                    "ThrottlingException",
                    "Rate of requests exceeds the allowed throughput.",
                ),
            ),
            DynamoError::RequestLimitExceeded => (
                StatusCode::BAD_REQUEST,
                shape(
                    "RequestLimitExceeded",
                    "Throughput exceeds the current throughput limit for your account.",
                ),
            ),
            DynamoError::InternalServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                shape("InternalServerError", "Internal server error"),
            ),
        };
        (status, v.to_string())
    }
}

/// A fault to inject: which requests fail, how, and (optionally) of which operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub strikes: Strikes,
    pub effect: Effect,
    /// Only requests of this API operation are counted and failed (`None`: every request).
    pub operation: Option<String>,
}

impl Fault {
    /// Drops request `n` and every later one.
    pub fn from_request(n: usize) -> Self {
        Fault {
            strikes: Strikes::From(n),
            effect: Effect::Drop,
            operation: None,
        }
    }

    /// Drops request `n` only.
    pub fn only_request(n: usize) -> Self {
        Fault {
            strikes: Strikes::Only(n),
            ..Fault::from_request(n)
        }
    }

    /// Counts and fails only requests of `operation` (`PutItem`, `SetDesiredCapacity`, ...).
    pub fn of(self, operation: &str) -> Self {
        Fault {
            operation: Some(operation.to_owned()),
            ..self
        }
    }

    /// Answers failed requests with a DynamoDB error instead of dropping them.
    pub fn replying(self, error: DynamoError) -> Self {
        Fault {
            effect: Effect::Reply(error),
            ..self
        }
    }

    /// Fails about `per_mille` in 1000 requests, the same ones for the same seed.
    pub fn at_rate(per_mille: u32, seed: u64) -> Self {
        Fault {
            strikes: Strikes::Rate { per_mille, seed },
            ..Fault::from_request(0)
        }
    }

    /// Lets failed requests reach the emulator and loses their answers instead.
    pub fn losing_answers(self) -> Self {
        Fault {
            effect: Effect::LoseAnswer,
            ..self
        }
    }
}

/// An injected fault and the matching requests it has seen.
#[derive(Debug)]
struct Armed {
    fault: Fault,
    seen: usize,
}

impl Armed {
    /// Counts a request of `operation` if the fault applies to it; its effect if it strikes.
    fn strike(&mut self, operation: &str) -> Option<Effect> {
        if self
            .fault
            .operation
            .as_deref()
            .is_some_and(|op| op != operation)
        {
            return None;
        }
        let n = self.seen;
        self.seen += 1;
        let strikes = match self.fault.strikes {
            Strikes::From(first) => n >= first,
            Strikes::Only(only) => n == only,
            Strikes::Rate { per_mille, seed } => {
                // splitmix64 of seed and n: cheap, well mixed, reproducible.
                let mut z = seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                z % 1000 < u64::from(per_mille)
            }
        };
        strikes.then_some(self.fault.effect)
    }
}

/// One request the proxy received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its API operation (see [`operation`]).
    pub operation: String,
    /// How it failed, if it did.
    pub fault: Option<Effect>,
}

#[derive(Debug, Default)]
struct State {
    /// The faults injected, each counting the requests it applies to.
    armed: Vec<Armed>,
    /// Every request received, in arrival order.
    log: Vec<Seen>,
}

/// What the connection tasks share with the handle.
#[derive(Debug)]
struct Shared {
    upstream: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    state: Mutex<State>,
    connections: AtomicUsize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs a request and says whether (and how) it fails.
    fn admit(&self, operation: &str) -> Option<Effect> {
        let mut state = self.state();
        let fault = state
            .armed
            .iter_mut()
            .find_map(|armed| armed.strike(operation));
        state.log.push(Seen {
            operation: operation.to_owned(),
            fault,
        });
        fault
    }
}

/// A running proxy. Clones share it; the listener stops when the last clone is dropped
/// (connections already open are served until the client closes them).
#[derive(Debug, Clone)]
pub struct Proxy {
    endpoint: String,
    shared: Arc<Shared>,
    _listener: Arc<StopOnDrop>,
}

#[derive(Debug)]
struct StopOnDrop(AbortHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Proxy {
    /// Starts a proxy on a random 127.0.0.1 port, on the current Tokio runtime, forwarding to
    /// `upstream` (an emulator endpoint such as `http://127.0.0.1:8000`).
    pub async fn start(upstream: &str) -> Result<Proxy> {
        let upstream: Uri = upstream
            .parse()
            .with_context(|| format!("upstream {upstream:?} is not a URI"))?;
        if upstream.scheme_str() != Some("http") || upstream.authority().is_none() {
            bail!("upstream {upstream} must be an http://host:port endpoint");
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the proxy to a free 127.0.0.1 port")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            client: Client::builder(TokioExecutor::new()).build_http(),
            state: Mutex::default(),
            connections: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy {
            endpoint: format!("http://{addr}"),
            shared,
            _listener: Arc::new(StopOnDrop(accept.abort_handle())),
        })
    }

    /// Where clients should send their requests.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Fails requests as `fault` says, counting from the next request on; replaces any
    /// fault injected before.
    pub fn inject(&self, fault: Fault) {
        self.inject_all([fault]);
    }

    /// Fails requests as any of `faults` says, counting from the next request on; replaces any
    /// fault injected before. Each fault counts the requests of its own operation; a request
    /// that more than one applies to is failed by the first that strikes it (and counted by
    /// the faults up to that one).
    pub fn inject_all(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.state().armed = faults
            .into_iter()
            .map(|fault| Armed { fault, seen: 0 })
            .collect();
    }

    /// Forwards every request again.
    pub fn heal(&self) {
        self.shared.state().armed.clear();
    }

    /// Every request received so far, failed ones included, in arrival order.
    pub fn log(&self) -> Vec<Seen> {
        self.shared.state().log.clone()
    }

    /// The API operation of every request received so far, in arrival order.
    pub fn operations(&self) -> Vec<String> {
        self.shared
            .state()
            .log
            .iter()
            .map(|r| r.operation.clone())
            .collect()
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests failed so far.
    pub fn failed(&self) -> usize {
        self.shared
            .state()
            .log
            .iter()
            .filter(|r| r.fault.is_some())
            .count()
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off rather than spin.
                eprintln!("proxy: accepting a connection failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve(req, shared.clone()));
            // A connection ends with an error whenever a fault closes it; that is the point.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Forwards one request, or fails it. Returning an error makes hyper close the connection
/// without an answer.
async fn serve(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<Full<Bytes>>> {
    let (mut parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .context("reading the request body")?
        .to_bytes();
    let operation = operation(&parts, &body);
    let effect = shared.admit(&operation);
    if effect == Some(Effect::Drop) {
        bail!("fault injected: {operation} dropped before reaching the emulator");
    }
    if let Some(Effect::Reply(error)) = effect {
        let (status, json) = error.answer(&operation, &body);
        let mut answer = Response::new(Full::new(Bytes::from(json)));
        *answer.status_mut() = status;
        answer.headers_mut().insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        answer.headers_mut().insert(
            "x-amzn-requestid",
            hyper::header::HeaderValue::from_static("apptrack-fault-proxy"),
        );
        return Ok(answer);
    }

    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut target = shared.upstream.clone().into_parts();
    target.path_and_query = Some(path.parse().context("request path")?);
    parts.uri = Uri::from_parts(target).context("building the upstream URI")?;
    strip_framing(&mut parts.headers);
    let answer = match shared
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(answer) => answer,
        Err(e) => return bad_gateway(&shared.upstream, &anyhow!(e)),
    };
    let (mut parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad_gateway(&shared.upstream, &anyhow!(e)),
    };
    if effect == Some(Effect::LoseAnswer) {
        bail!("fault injected: the answer to {operation} lost on its way back");
    }
    strip_framing(&mut parts.headers);
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// The emulator itself failed: say so with a 502 (which the SDK also retries).
fn bad_gateway(upstream: &Uri, e: &anyhow::Error) -> Result<Response<Full<Bytes>>> {
    let mut answer = Response::new(Full::new(Bytes::from(format!(
        "proxy: upstream {upstream} failed: {e:#}"
    ))));
    *answer.status_mut() = StatusCode::BAD_GATEWAY;
    Ok(answer)
}

/// Bodies are forwarded whole, so hyper frames them anew on each hop; how the other hop
/// framed them, and whether it keeps its connection, is no business of this one.
fn strip_framing(headers: &mut HeaderMap) {
    for name in [CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION] {
        headers.remove(name);
    }
}

/// The API operation a request calls, in the three protocols the emulators speak: AWS JSON
/// (`X-Amz-Target: DynamoDB_20120810.PutItem`), AWS query (`Action=SetDesiredCapacity` in a
/// form body) and Smithy RPC v2 CBOR (`/service/<service>/operation/<operation>`).
/// `unknown` for anything else.
pub fn operation(parts: &Parts, body: &[u8]) -> String {
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    if let Some((_, op)) = parts.uri.path().rsplit_once("/operation/") {
        return op.to_owned();
    }
    if let Some(op) = lambda_rest(parts.method.as_str(), parts.uri.path()) {
        return op.to_owned();
    }
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if is_form && let Some((_, action)) = form_urlencoded::parse(body).find(|(k, _)| k == "Action")
    {
        return action.into_owned();
    }
    "unknown".to_owned()
}

/// The Lambda REST operations deploy-guard calls, by method and path.
fn lambda_rest(method: &str, path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    Some(match (method, parts.as_slice()) {
        ("PUT", [_, "functions", _, "aliases", _]) => "UpdateAlias",
        ("GET", [_, "functions", _, "aliases", _]) => "GetAlias",
        ("GET", [_, "functions", _]) => "GetFunction",
        ("GET", [_, "functions", _, "versions"]) => "ListVersionsByFunction",
        ("GET", [_, "tags", ..]) => "ListTags",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lambdas_rest_operations() {
        let put = Request::put("/2015-03-31/functions/checkout/aliases/live")
            .body(())
            .expect("a request");
        assert_eq!(operation(&parts(put), b"{}"), "UpdateAlias");
        let get = Request::get("/2015-03-31/functions/checkout?Qualifier=41")
            .body(())
            .expect("a request");
        assert_eq!(operation(&parts(get), b""), "GetFunction");
        let tags = Request::get("/2017-03-31/tags/arn:aws:lambda:us-east-1:1:function:checkout")
            .body(())
            .expect("a request");
        assert_eq!(operation(&parts(tags), b""), "ListTags");
    }

    fn parts(req: Request<()>) -> Parts {
        req.into_parts().0
    }

    #[test]
    fn names_the_operation_in_each_protocol() {
        let json = Request::post("/")
            .header("X-Amz-Target", "DynamoDB_20120810.TransactWriteItems")
            .body(())
            .expect("a request");
        assert_eq!(operation(&parts(json), b"{}"), "TransactWriteItems");

        let query = Request::post("/")
            .header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(())
            .expect("a request");
        let body = b"Version=2011-01-01&Action=SetDesiredCapacity&DesiredCapacity=3";
        assert_eq!(operation(&parts(query), body), "SetDesiredCapacity");

        let cbor = Request::post("/service/GraniteServiceVersion20100801/operation/DescribeAlarms")
            .body(())
            .expect("a request");
        assert_eq!(operation(&parts(cbor), b""), "DescribeAlarms");

        let other = Request::get("/_ministack/ready")
            .body(())
            .expect("a request");
        assert_eq!(operation(&parts(other), b""), "unknown");
    }

    #[test]
    fn faults_armed_together_each_count_their_own_operation() {
        let mut state = State::default();
        let conflict = DynamoError::TransactionConflict { index: 0 };
        state.armed = [
            Fault::only_request(1)
                .of("TransactWriteItems")
                .replying(conflict),
            Fault::only_request(0).of("UpdateItem").replying(conflict),
        ]
        .into_iter()
        .map(|fault| Armed { fault, seen: 0 })
        .collect();
        let strike =
            |state: &mut State, op: &str| state.armed.iter_mut().find_map(|armed| armed.strike(op));
        let reply = Some(Effect::Reply(conflict));
        assert_eq!(strike(&mut state, "TransactWriteItems"), None);
        assert_eq!(strike(&mut state, "GetItem"), None);
        assert_eq!(strike(&mut state, "UpdateItem"), reply);
        assert_eq!(strike(&mut state, "TransactWriteItems"), reply);
        assert_eq!(strike(&mut state, "UpdateItem"), None);
    }
}
