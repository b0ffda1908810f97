//! The one proxy of the tests and the benchmark: in front of DynamoDB Local or of the
//! binary, it passes every request on, keeps what it saw, meters what DynamoDB was
//! asked, and may spoil the requests a [`Spoil`] names.
//!
//! It works at the level of HTTP messages: a request is read whole, sent upstream in
//! a task of its own (so that it lands even when its client has given up), and its
//! answer passed back, or held, delayed, replaced or dropped. The request and the
//! answer are passed on unchanged, but for one addition: a DynamoDB call that can
//! report its capacity is asked to (`ReturnConsumedCapacity = TOTAL`), so that what
//! it costs is metered without the service asking for it. DynamoDB Local checks no
//! signature, and the answer's `x-amz-crc32` still matches its body.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does to a request it spoils.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request goes through at once; its answer is passed back this much later.
    Delay(Duration),
    /// The request goes through (the upstream applies it); its answer never comes.
    LoseTheAnswer,
    /// The request goes through; the connection is closed instead of answered.
    DropTheConnection,
    /// The request is held this long, then sent; the client has given up meanwhile,
    /// and the connection is closed.
    DeliverLate(Duration),
    /// The request is neither passed on nor answered.
    Stall,
    /// The request goes through; the answer is replaced by a `503` problem with
    /// `Retry-After: 1` and the real answer's CORS headers (so a page may read it).
    Unavailable,
    /// The request goes through; the answer's head is sent, its body never.
    HoldTheBody,
}

/// Which requests a [`Spoil`] meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    Every,
    /// The DynamoDB calls of one operation (`TransactWriteItems`, ...).
    Operation(&'static str),
    /// The requests of one method.
    Method(Method),
}

/// A fault, the requests it meets, and how many of them at most (the first ones).
#[derive(Debug, Clone)]
pub struct Spoil {
    pub fault: Fault,
    pub which: Which,
    pub first: usize,
}

impl Spoil {
    /// `fault` on every request that `which` names.
    pub fn every(fault: Fault, which: Which) -> Self {
        Self {
            fault,
            which,
            first: usize::MAX,
        }
    }

    /// `fault` on the first `n` requests that `which` names.
    pub fn first(n: usize, fault: Fault, which: Which) -> Self {
        Self {
            fault,
            which,
            first: n,
        }
    }
}

/// How the proxy serves its clients.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The fault, if any.
    pub spoil: Option<Spoil>,
    /// One request per connection (`Connection: close`), as a simple fronting proxy
    /// does: a browser then never resends a request on a reused connection.
    pub close_each_connection: bool,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub at: Instant,
    pub headers: HeaderMap,
}

impl Seen {
    /// One of the request's headers, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The DynamoDB operation (from `X-Amz-Target`), if it is a DynamoDB call.
    pub fn operation(&self) -> Option<&str> {
        operation_of(&self.headers)
    }
}

/// An answer the upstream gave to a spoiled request (which its client never saw).
#[derive(Debug, Clone)]
pub struct LateAnswer {
    pub status: StatusCode,
    pub body: String,
}

/// What DynamoDB was asked between two [`Proxy::take`]s.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Calls {
    /// Calls by operation (`UpdateItem`, ...) that DynamoDB answered (a refusal such
    /// as `ConditionalCheckFailedException` included: it is billed).
    pub operations: BTreeMap<String, u64>,
    /// Attempts answered with a 5xx, or not at all. The SDK retries them and DynamoDB
    /// bills none, so they are not in `operations`.
    pub failed: u64,
    /// Round trips one after another, every attempt included: calls in parallel
    /// count once.
    pub round_trips: u64,
    /// Capacity units DynamoDB reported; `None` when no answer reported any.
    pub write_units: Option<f64>,
    pub read_units: Option<f64>,
    /// The keys `GetItem` and `BatchGetItem` asked for, counted as DynamoDB bills them
    /// for items under 4 KB: 1 unit each strongly consistent, 0.5 eventually
    /// consistent, found or not (DynamoDB Local reports units for found items only).
    pub key_read_units: f64,
    /// The units DynamoDB reported for `Query` and `Scan` (billed by the size read).
    pub query_units: f64,
    /// Items written by `TransactWriteItems` calls that succeeded. DynamoDB Local
    /// reports 4 units for any transaction; DynamoDB bills 2 per item of up to 1 KB.
    pub transact_items: u64,
}

impl Calls {
    /// The read units DynamoDB would bill for these calls, items under 4 KB: the keys
    /// asked for, and what the queries reported.
    pub fn billed_read_units(&self) -> f64 {
        self.key_read_units + self.query_units
    }

    /// Calls of one operation.
    pub fn calls_of(&self, operation: &str) -> u64 {
        self.operations.get(operation).copied().unwrap_or(0)
    }

    /// Calls of every operation.
    pub fn total_calls(&self) -> u64 {
        self.operations.values().sum()
    }

    /// `UpdateItem x2, GetItem x1`.
    pub fn operations_text(&self) -> String {
        self.operations
            .iter()
            .map(|(op, n)| format!("{op} x{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Default)]
struct Recording {
    calls: Calls,
    in_flight: u64,
    seen: Vec<Seen>,
    late: Vec<LateAnswer>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    spoil: Option<Spoil>,
    spoiling: AtomicBool,
    spoiled: AtomicUsize,
    /// Set when the proxy is dropped.
    closed: AtomicBool,
    recording: Mutex<Recording>,
}

impl Shared {
    fn recording(&self) -> MutexGuard<'_, Recording> {
        // A test that panicked while holding it leaves nothing half-written worth
        // refusing: the counts are plain numbers.
        self.recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The fault for this request, if it meets the spoil while the proxy spoils and
    /// its quota is not used up.
    fn fault_for(&self, method: &Method, headers: &HeaderMap) -> Option<Fault> {
        let spoil = self.spoil.as_ref()?;
        let meets = match &spoil.which {
            Which::Every => true,
            Which::Operation(operation) => operation_of(headers) == Some(*operation),
            Which::Method(wanted) => method == wanted,
        };
        let counted = meets
            && self.spoiling.load(Ordering::SeqCst)
            && self
                .spoiled
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < spoil.first).then_some(n + 1)
                })
                .is_ok();
        counted.then_some(spoil.fault)
    }
}

/// The proxy, serving on a loopback port until dropped, which drops every connection:
/// a request already sent upstream still lands, one held (`DeliverLate`) is never sent.
pub struct Proxy {
    endpoint: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `upstream` (`http://host:port`) that spoils nothing.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        Self::start_with(upstream, Options::default()).await
    }

    /// A proxy to `upstream` that spoils what `spoil` names.
    pub async fn spoiling(upstream: &str, spoil: Spoil) -> std::io::Result<Self> {
        let options = Options {
            spoil: Some(spoil),
            ..Options::default()
        };
        Self::start_with(upstream, options).await
    }

    pub async fn start_with(upstream: &str, options: Options) -> std::io::Result<Self> {
        e2e::install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            // Nothing upstream is slower than this in a test; past it, the client's
            // connection is closed.
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            spoil: options.spoil,
            spoiling: AtomicBool::new(true),
            spoiled: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            recording: Mutex::new(Recording::default()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let keep_alive = !options.close_each_connection;
        let serving = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&serving);
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(Arc::clone(&shared), request));
                    let _ = http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                // Finished connections are let go of as new ones come.
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self {
            endpoint,
            shared,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Stops spoiling: every request from now on goes through as it is.
    pub fn recover(&self) {
        self.shared.spoiling.store(false, Ordering::SeqCst);
    }

    /// How many requests met the fault.
    pub fn spoiled(&self) -> usize {
        self.shared.spoiled.load(Ordering::SeqCst)
    }

    /// The upstream's answers to the spoiled requests that it answered.
    pub fn late_answers(&self) -> Vec<LateAnswer> {
        self.shared.recording().late.clone()
    }

    /// Every request seen so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.recording().seen.clone()
    }

    /// The DynamoDB operations asked so far.
    pub fn operations(&self) -> BTreeSet<String> {
        self.shared
            .recording()
            .seen
            .iter()
            .filter_map(|seen| seen.operation().map(str::to_owned))
            .collect()
    }

    /// What DynamoDB was asked since the last call, and a fresh start.
    pub fn take(&self) -> Calls {
        std::mem::take(&mut self.shared.recording().calls)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.task.abort();
    }
}

/// Why a connection was closed without an answer.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("the proxy closed the connection")]
    OnPurpose,
    #[error("the request could not be read: {0}")]
    Unreadable(#[from] hyper::Error),
}

/// An answer's body: all of it, or its head alone and a body that never comes.
struct Answer {
    bytes: Option<Bytes>,
    held: bool,
}

impl Answer {
    fn whole(bytes: impl Into<Bytes>) -> Self {
        Self {
            bytes: Some(bytes.into()),
            held: false,
        }
    }
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.held {
            // Never woken: the client waits until it gives up.
            return Poll::Pending;
        }
        Poll::Ready(self.get_mut().bytes.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        !self.held && self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.bytes, self.held) {
            (Some(bytes), false) => SizeHint::with_exact(bytes.len() as u64),
            (None, false) => SizeHint::with_exact(0),
            (_, true) => SizeHint::default(),
        }
    }
}

/// The upstream's answer, as it came.
struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Answer>, Closed> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let fault = shared.fault_for(&parts.method, &parts.headers);
    let operation = operation_of(&parts.headers).map(str::to_owned);
    {
        let mut recording = shared.recording();
        recording.seen.push(Seen {
            method: parts.method.clone(),
            at: Instant::now(),
            headers: parts.headers.clone(),
        });
        // A stalled request is seen, but never sent: nothing is in flight.
        if operation.is_some() && fault != Some(Fault::Stall) {
            if recording.in_flight == 0 {
                recording.calls.round_trips += 1;
            }
            recording.in_flight += 1;
        }
    }
    if fault == Some(Fault::Stall) {
        return std::future::pending().await;
    }
    let Asked {
        body,
        key_read_units,
        transact_items,
    } = match &operation {
        Some(operation) => asked(operation, body),
        None => Asked::nothing(body),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = shared
        .client
        .request(parts.method.clone(), format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) && name != header::HOST && name != header::CONTENT_LENGTH {
            forwarded = forwarded.header(name, value);
        }
    }
    let hold = match fault {
        Some(Fault::DeliverLate(delay)) => delay,
        _ => Duration::ZERO,
    };
    // A task of its own: the request lands and is metered whether or not the client
    // waits for its answer.
    let exchange = tokio::spawn({
        let shared = Arc::clone(&shared);
        async move {
            tokio::time::sleep(hold).await;
            let answer = async {
                // A request held past the proxy's end is never sent.
                if shared.closed.load(Ordering::SeqCst) {
                    return None;
                }
                let response = forwarded.send().await.ok()?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await.ok()?;
                Some(Upstream {
                    status,
                    headers,
                    body,
                })
            }
            .await;
            let mut recording = shared.recording();
            if let Some(operation) = &operation {
                recording.in_flight = recording.in_flight.saturating_sub(1);
                match &answer {
                    Some(answer) if !answer.status.is_server_error() => {
                        let calls = &mut recording.calls;
                        *calls.operations.entry(operation.clone()).or_default() += 1;
                        calls.key_read_units += key_read_units;
                        consumed(calls, operation, transact_items, answer);
                    }
                    _ => recording.calls.failed += 1,
                }
            }
            if let (Some(_), Some(answer)) = (fault, &answer) {
                recording.late.push(LateAnswer {
                    status: answer.status,
                    body: String::from_utf8_lossy(&answer.body).into_owned(),
                });
            }
            answer
        }
    });
    // No answer from upstream: the connection is closed, as the upstream's would be.
    let Ok(Some(upstream)) = exchange.await else {
        return Err(Closed::OnPurpose);
    };
    let head = parts.method == Method::HEAD;
    match fault {
        None | Some(Fault::Stall) => Ok(passed_on(upstream, head, false)),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(passed_on(upstream, head, false))
        }
        Some(Fault::LoseTheAnswer) => std::future::pending().await,
        Some(Fault::DropTheConnection | Fault::DeliverLate(_)) => Err(Closed::OnPurpose),
        Some(Fault::HoldTheBody) => Ok(passed_on(upstream, head, true)),
        Some(Fault::Unavailable) => Ok(unavailable(&upstream.headers)),
    }
}

/// `upstream`'s answer; its body `held` back (never sent) if asked. Its length is
/// kept where the body sent is not the one it measures: a `HEAD`'s, or a held one
/// (so that the client waits for it).
fn passed_on(upstream: Upstream, head: bool, held: bool) -> Response<Answer> {
    let mut response = Response::new(Answer {
        bytes: Some(upstream.body),
        held,
    });
    *response.status_mut() = upstream.status;
    for (name, value) in &upstream.headers {
        if !hop_by_hop(name) && (head || held || name != header::CONTENT_LENGTH) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// The service's answer when its storage is down, with `upstream`'s CORS headers.
fn unavailable(upstream: &HeaderMap) -> Response<Answer> {
    const BODY: &str = r#"{"type":"urn:visitor-counter:problem:storage-unavailable","title":"Storage unavailable","status":503,"detail":"try again shortly"}"#;
    let mut response = Response::new(Answer::whole(BODY));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    for (name, value) in upstream {
        if name.as_str().starts_with("access-control-") || name == header::VARY {
            headers.append(name, value.clone());
        }
    }
    response
}

/// Headers of one connection, not of the message (RFC 9110, 7.6.1).
fn hop_by_hop(name: &header::HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::TE
        || name == header::UPGRADE
        || matches!(name.as_str(), "keep-alive" | "proxy-connection")
}

/// The DynamoDB operation a request calls, from its `X-Amz-Target`.
fn operation_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|target| target.rsplit('.').next())
}

/// The operations that can report their capacity.
const METERED: [&str; 10] = [
    "BatchGetItem",
    "BatchWriteItem",
    "DeleteItem",
    "GetItem",
    "PutItem",
    "Query",
    "Scan",
    "TransactGetItems",
    "TransactWriteItems",
    "UpdateItem",
];

/// What a DynamoDB request asks, from its body read once.
struct Asked {
    /// The body to send: asking for `ReturnConsumedCapacity = TOTAL` if the
    /// operation can report it and the caller did not ask, as it came otherwise.
    body: Bytes,
    /// See [`key_read_units`].
    key_read_units: f64,
    /// The items of a `TransactWriteItems`.
    transact_items: u64,
}

impl Asked {
    fn nothing(body: Bytes) -> Self {
        Self {
            body,
            key_read_units: 0.0,
            transact_items: 0,
        }
    }
}

fn asked(operation: &str, body: Bytes) -> Asked {
    let Ok(mut request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Asked::nothing(body);
    };
    let key_read_units = key_read_units(operation, &request);
    let transact_items = match operation {
        "TransactWriteItems" => request["TransactItems"].as_array().map_or(0, Vec::len) as u64,
        _ => 0,
    };
    let body = match request.as_object_mut() {
        Some(object)
            if METERED.contains(&operation) && !object.contains_key("ReturnConsumedCapacity") =>
        {
            object.insert("ReturnConsumedCapacity".to_owned(), "TOTAL".into());
            serde_json::to_vec(&request).map_or(body, Bytes::from)
        }
        _ => body,
    };
    Asked {
        body,
        key_read_units,
        transact_items,
    }
}

/// Adds what one answer reported to `calls`: its `ConsumedCapacity` (an object, or a
/// list for batches and transactions), read units for the operations that read,
/// write units for the others; and the `transact_items` of a transaction that
/// succeeded.
fn consumed(calls: &mut Calls, operation: &str, transact_items: u64, answer: &Upstream) {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&answer.body) else {
        return;
    };
    if answer.status == StatusCode::OK {
        calls.transact_items += transact_items;
    }
    let units: f64 = match &body["ConsumedCapacity"] {
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|entry| entry["CapacityUnits"].as_f64())
            .sum(),
        serde_json::Value::Object(entry) => entry
            .get("CapacityUnits")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0),
        _ => return,
    };
    if matches!(operation, "Scan" | "Query") {
        calls.query_units += units;
    }
    let reads = matches!(
        operation,
        "GetItem" | "BatchGetItem" | "Scan" | "Query" | "TransactGetItems"
    );
    let slot = if reads {
        &mut calls.read_units
    } else {
        &mut calls.write_units
    };
    *slot.get_or_insert(0.0) += units;
}

/// The units the keys of a `GetItem` or `BatchGetItem` request are billed, whether or
/// not their items exist: 1 a key strongly consistent, 0.5 eventually consistent (items
/// under 4 KB).
fn key_read_units(operation: &str, request: &serde_json::Value) -> f64 {
    let unit = |consistent: &serde_json::Value| {
        if consistent.as_bool() == Some(true) {
            1.0
        } else {
            0.5
        }
    };
    match operation {
        "GetItem" => unit(&request["ConsistentRead"]),
        "BatchGetItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, table)| {
                let keys = table["Keys"].as_array().map_or(0, Vec::len);
                keys as f64 * unit(&table["ConsistentRead"])
            })
            .sum(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers `hello` with its length, except a DynamoDB call of
    /// `UpdateItem`, which gets a 500 (as DynamoDB Local's `InternalFailure`); and
    /// counts what reached it.
    async fn upstream() -> (String, Arc<AtomicUsize>) {
        let reached = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reached);
        let app = axum::Router::new().fallback(move |headers: HeaderMap| {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                if operation_of(&headers) == Some("UpdateItem") {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "{}");
                }
                (StatusCode::OK, "hello")
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}"), reached)
    }

    async fn through(fault: Fault) -> (Proxy, Arc<AtomicUsize>) {
        let (upstream, reached) = upstream().await;
        let spoil = Spoil::every(fault, Which::Method(Method::POST));
        (Proxy::spoiling(&upstream, spoil).await.unwrap(), reached)
    }

    fn client() -> reqwest::Client {
        e2e::install_tls_provider();
        reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn what_is_not_spoiled_passes_as_it_is_and_is_seen() {
        let (proxy, reached) = through(Fault::DropTheConnection).await;
        let answer = client()
            .get(format!("{}/a?b=c", proxy.endpoint()))
            .header("x-test", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.text().await.unwrap(), "hello");
        assert_eq!(reached.load(Ordering::SeqCst), 1);
        let seen = proxy.seen();
        assert_eq!((seen.len(), seen[0].header("x-test")), (1, Some("1")));
        assert_eq!(proxy.spoiled(), 0);
    }

    #[tokio::test]
    async fn a_dropped_connection_is_an_error_after_the_request_landed() {
        let (proxy, reached) = through(Fault::DropTheConnection).await;
        let sent = client().post(proxy.endpoint()).send().await;
        assert!(sent.is_err(), "{sent:?}");
        assert_eq!(reached.load(Ordering::SeqCst), 1);
        assert_eq!(proxy.spoiled(), 1);
        assert_eq!(proxy.late_answers()[0].body, "hello");
        // Recovered: the next one passes.
        proxy.recover();
        let answer = client().post(proxy.endpoint()).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_stalled_request_never_reaches_the_upstream_nor_is_answered() {
        let (proxy, reached) = through(Fault::Stall).await;
        let sent = client().post(proxy.endpoint()).send().await;
        assert!(sent.is_err_and(|e| e.is_timeout()));
        assert_eq!(reached.load(Ordering::SeqCst), 0);
        assert_eq!(proxy.seen().len(), 1);
    }

    #[tokio::test]
    async fn a_held_body_keeps_its_length_and_never_comes() {
        let (proxy, reached) = through(Fault::HoldTheBody).await;
        let answer = client().post(proxy.endpoint()).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.content_length(), Some(5));
        assert!(answer.bytes().await.is_err_and(|e| e.is_timeout()));
        assert_eq!(reached.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unavailable_answer_is_a_503_problem_after_the_request_landed() {
        let (proxy, reached) = through(Fault::Unavailable).await;
        let answer = client().post(proxy.endpoint()).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()["retry-after"], "1");
        assert!(answer.text().await.unwrap().contains("storage-unavailable"));
        assert_eq!(reached.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_call_answered_5xx_is_failed_not_an_operation() {
        let (upstream, _) = upstream().await;
        let proxy = Proxy::start(&upstream).await.unwrap();
        for operation in ["UpdateItem", "GetItem"] {
            client()
                .post(proxy.endpoint())
                .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
                .body(r#"{"TableName":"t","Key":{},"ConsistentRead":true}"#)
                .send()
                .await
                .unwrap();
        }
        let calls = proxy.take();
        assert_eq!(calls.operations_text(), "GetItem x1");
        assert_eq!((calls.failed, calls.round_trips), (1, 2));
        assert_eq!(calls.key_read_units, 1.0);
        assert_eq!(proxy.take(), Calls::default());
    }

    fn asked_of(operation: &str, body: &'static str) -> Asked {
        asked(operation, Bytes::from_static(body.as_bytes()))
    }

    #[test]
    fn keys_are_billed_found_or_not_strongly_consistent_at_one_unit() {
        let get = r#"{"TableName":"t","Key":{"id":{"S":"a"}},"ConsistentRead":true}"#;
        assert_eq!(asked_of("GetItem", get).key_read_units, 1.0);
        let eventual = r#"{"TableName":"t","Key":{"id":{"S":"a"}}}"#;
        assert_eq!(asked_of("GetItem", eventual).key_read_units, 0.5);
        let batch = r#"{"RequestItems":{"t":{"Keys":[{"id":{"S":"a"}},{"id":{"S":"b"}},{"id":{"S":"c"}}],"ConsistentRead":true},"u":{"Keys":[{"id":{"S":"d"}}]}}}"#;
        assert_eq!(asked_of("BatchGetItem", batch).key_read_units, 3.5);
        assert_eq!(asked_of("Query", batch).key_read_units, 0.0);
    }

    #[test]
    fn a_transaction_s_items_are_read_from_its_request() {
        let transaction = r#"{"TransactItems":[{"Update":{}},{"Put":{}},{"Update":{}}]}"#;
        assert_eq!(
            asked_of("TransactWriteItems", transaction).transact_items,
            3
        );
        assert_eq!(asked_of("BatchWriteItem", transaction).transact_items, 0);
    }

    fn answer(status: StatusCode, body: &'static str) -> Upstream {
        Upstream {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn query_units_are_kept_apart_from_the_keys() {
        let mut calls = Calls::default();
        let query = r#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":2.5}}"#;
        consumed(&mut calls, "Query", 0, &answer(StatusCode::OK, query));
        let batch = r#"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":3.0}]}"#;
        consumed(
            &mut calls,
            "BatchGetItem",
            0,
            &answer(StatusCode::OK, batch),
        );
        assert_eq!(calls.query_units, 2.5);
        assert_eq!(calls.read_units, Some(5.5));
        assert_eq!(calls.write_units, None);
    }

    #[test]
    fn a_transaction_s_items_count_when_it_succeeds() {
        let mut calls = Calls::default();
        let done = r#"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":4.0}]}"#;
        consumed(
            &mut calls,
            "TransactWriteItems",
            5,
            &answer(StatusCode::OK, done),
        );
        let refused = r#"{"__type":"TransactionCanceledException"}"#;
        let refused = answer(StatusCode::BAD_REQUEST, refused);
        consumed(&mut calls, "TransactWriteItems", 6, &refused);
        assert_eq!((calls.transact_items, calls.write_units), (5, Some(4.0)));
    }

    #[test]
    fn a_metered_call_is_asked_for_its_capacity_and_nothing_else_changes() {
        let asked: serde_json::Value =
            serde_json::from_slice(&asked_of("GetItem", r#"{"TableName":"t"}"#).body).unwrap();
        assert_eq!(
            asked,
            serde_json::json!({"TableName": "t", "ReturnConsumedCapacity": "TOTAL"})
        );
        for (operation, body) in [
            (
                "GetItem",
                r#"{"TableName":"t","ReturnConsumedCapacity":"NONE"}"#,
            ),
            ("CreateTable", r#"{"TableName":"t"}"#),
            ("GetItem", "not json"),
        ] {
            assert_eq!(asked_of(operation, body).body, body.as_bytes());
        }
    }
}
