//! The tests' one helper module: the app in-process, the real binary as a child
//! process, DynamoDB Local; the [`harness`] of the tests that run on both stores; the
//! [`processes`] the fault, load and hostile-input tests start, kill and read. What
//! the benchmark needs too lives in the `testkit` crate; these are its unwrapping
//! forms, and what only the tests need.

mod harness;
mod processes;

pub(crate) use harness::*;
pub use processes::*;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::body::{Body, Bytes};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use jsonschema::Validator;
use serde_json::Value;
use tower::ServiceExt;
use visitor_counter::app::app;
use visitor_counter::config::{AllowedOrigins, TableName};
use visitor_counter::day::{Clock, Day};
use visitor_counter::names::CounterName;
use visitor_counter::store::{
    CounterPage, CounterStore, DynamoDbStore, EmbeddedStore, StoreError, Totals, Visit,
};
use visitor_counter::visitor::Salt;

pub use testkit::dynamodb::{Item, loader as local_loader, local_env as dynamodb_env};
pub use testkit::lambda::LambdaFunction;
pub use testkit::server::LocalServer as TestServer;

pub const ORIGIN: &str = "https://example.com";
pub const FOREIGN_ORIGIN: &str = "https://evil.example.net";

pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

pub fn load_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The contract's schemas, loaded from `contracts/schemas/`.
pub struct Schemas {
    pub get_count: Validator,
    pub post_count: Validator,
    pub problem: Validator,
    pub counter: Validator,
    pub days: Validator,
    pub counters: Validator,
}

pub fn schema(name: &str) -> Validator {
    let schema = load_json(&contracts_dir().join("schemas").join(name));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name} is not a schema: {e}"))
}

pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas {
        get_count: schema("get-count.json"),
        post_count: schema("post-count.json"),
        problem: schema("problem.json"),
        counter: schema("counter.json"),
        days: schema("days.json"),
        counters: schema("counters.json"),
    })
}

pub fn assert_valid(validator: &Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{instance} does not match the schema: {errors:?}"
    );
}

/// A whole answer, read.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Checks a 200 count answer against `schema` and returns the count.
    pub fn count(&self, schema: &Validator) -> u64 {
        self.body(schema)["count"].as_u64().unwrap()
    }

    /// Checks a 200 JSON answer against `schema` and returns its body.
    pub fn body(&self, schema: &Validator) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
        let body = self.json();
        assert_valid(schema, &body);
        body
    }

    /// Checks a 200 counter answer for `name` and returns (views, visitors).
    pub fn totals(&self, name: &str) -> (u64, u64) {
        let body = self.body(&schemas().counter);
        assert_eq!(body["name"], name, "{body}");
        (
            body["views"].as_u64().unwrap(),
            body["visitors"].as_u64().unwrap(),
        )
    }

    /// Checks a problem answer: status, media type, schema, `type`, no-store.
    pub fn assert_problem(&self, status: StatusCode, kind: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        let body = self.json();
        assert_valid(&schemas().problem, &body);
        pretty_assertions::assert_eq!(body["type"], format!("urn:visitor-counter:problem:{kind}"));
        assert_eq!(body["status"], status.as_u16());
    }
}

/// An answer to an origin that may not read it: no `Access-Control-*` header at all.
pub fn assert_no_cors_headers(headers: &HeaderMap, what: &str) {
    assert!(
        headers
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{what}: CORS headers for an origin that may not read the answer: {headers:?}"
    );
}

pub fn request(method: Method, uri: &str) -> http::request::Builder {
    Request::builder().method(method).uri(uri)
}

/// Sends `request` as a person's browser would: with a browser's `User-Agent` unless it
/// has one (without one, a POST is a bot's and counts nothing; [`call_as_is`] sends
/// none).
pub async fn call(app: &Router, mut request: Request<Body>) -> Answer {
    if !request.headers().contains_key("user-agent") {
        request.headers_mut().insert(
            "user-agent",
            http::HeaderValue::from_static(testkit::BROWSER_USER_AGENT),
        );
    }
    call_as_is(app, request).await
}

/// Sends `request` exactly as it is.
pub async fn call_as_is(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub async fn get(app: &Router) -> Answer {
    call(
        app,
        request(Method::GET, "/count").body(Body::empty()).unwrap(),
    )
    .await
}

pub async fn post(app: &Router) -> Answer {
    call(
        app,
        request(Method::POST, "/count").body(Body::empty()).unwrap(),
    )
    .await
}

/// `method` on `path` from a visitor: the client address the server or Lambda would
/// give the app, and a User-Agent.
pub async fn visit_as(
    app: &Router,
    method: Method,
    path: &str,
    address: &str,
    agent: &str,
) -> Answer {
    let mut request = request(method, path)
        .header("user-agent", agent)
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(visitor_counter::visitor::ClientAddress(address.to_owned()));
    call(app, request).await
}

/// `POST /counters/{name}` from a visitor; (views, visitors) of the answer.
pub async fn count_visit(app: &Router, name: &str, address: &str, agent: &str) -> (u64, u64) {
    visit_as(
        app,
        Method::POST,
        &format!("/counters/{name}"),
        address,
        agent,
    )
    .await
    .totals(name)
}

/// `GET` on `path`.
pub async fn get_path(app: &Router, path: &str) -> Answer {
    call(app, request(Method::GET, path).body(Body::empty()).unwrap()).await
}

/// Logs of the app under test, on stderr, when `TEST_LOG` is set.
pub fn init_test_log() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_test_writer()
                .try_init();
        }
    });
}

pub fn origins() -> AllowedOrigins {
    init_test_log();
    AllowedOrigins::parse(&format!("{ORIGIN},http://localhost:8080")).unwrap()
}

/// The app on a fresh embedded store in a temporary directory.
pub struct EmbeddedApp {
    pub app: Router,
    _dir: tempfile::TempDir,
}

pub fn embedded_app() -> EmbeddedApp {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("count.redb")).unwrap();
    EmbeddedApp {
        app: app(Arc::new(store), origins()),
        _dir: dir,
    }
}

/// The counter `site` (`/count`).
pub fn site() -> CounterName {
    CounterName::site()
}

/// A view of `counter` today, from no known visitor (the view counts, no visitor).
pub fn view(counter: &CounterName) -> Visit {
    Visit {
        counter: counter.clone(),
        day: visitor_counter::day::SystemClock.today(),
        marker: None,
        site_marker: None,
        limits: Default::default(),
    }
}

/// A store that always fails in one way, and records whether anything was counted.
pub struct FailingStore {
    pub error: fn() -> StoreError,
    pub increments: AtomicU64,
}

impl CounterStore for FailingStore {
    async fn get(&self, _: &CounterName) -> Result<Totals, StoreError> {
        Err((self.error)())
    }
    async fn record(&self, _: &Visit) -> Result<visitor_counter::store::Once, StoreError> {
        self.increments.fetch_add(1, Ordering::SeqCst);
        Err((self.error)())
    }
    async fn record_once(
        &self,
        _: &Visit,
        _: &visitor_counter::idempotency::IdempotencyKey,
        _: std::time::SystemTime,
    ) -> Result<visitor_counter::store::Once, StoreError> {
        self.increments.fetch_add(1, Ordering::SeqCst);
        Err((self.error)())
    }
    async fn days(
        &self,
        _: &CounterName,
        _: Day,
        _: Day,
    ) -> Result<Vec<visitor_counter::store::DayTotals>, StoreError> {
        Err((self.error)())
    }
    async fn filtered(
        &self,
        _: &CounterName,
        _: Day,
        _: visitor_counter::store::Filter,
    ) -> Result<Totals, StoreError> {
        Err((self.error)())
    }
    async fn site_totals(&self, _: Day) -> Result<visitor_counter::store::SiteTotals, StoreError> {
        Err((self.error)())
    }
    async fn site_days(
        &self,
        _: Day,
        _: Day,
    ) -> Result<Vec<visitor_counter::store::DayTotals>, StoreError> {
        Err((self.error)())
    }
    async fn list(&self, _: Option<&CounterName>, _: usize) -> Result<CounterPage, StoreError> {
        Err((self.error)())
    }
    async fn salt(&self, _: Day) -> Result<Salt, StoreError> {
        Err((self.error)())
    }
}

pub fn failing_app(error: fn() -> StoreError) -> Router {
    let store = FailingStore {
        error,
        increments: AtomicU64::new(0),
    };
    app(Arc::new(store), origins())
}

/// Fires `n` concurrent requests from `make` and returns the answers.
pub async fn concurrently<F, Fut>(n: usize, make: F) -> Vec<Answer>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// Sends `n` concurrent POSTs through `app` (on a fresh store): each must get its own
/// count, together exactly `1..=n`, and a GET afterwards must read `n`.
pub async fn assert_concurrent_posts_count_exactly(app: &Router, n: usize) {
    let shared = app.clone();
    let answers = concurrently(n, move || {
        let app = shared.clone();
        async move { post(&app).await }
    })
    .await;
    let counts = answers
        .iter()
        .map(|a| a.count(&schemas().post_count))
        .collect();
    assert_consecutive(counts, 1);
    assert_eq!(get(app).await.count(&schemas().get_count), n as u64);
}

/// Asserts that `values` are exactly `first..first + len`, in some order.
pub fn assert_consecutive(mut values: Vec<u64>, first: u64) {
    values.sort_unstable();
    let expected: Vec<u64> = (first..first + values.len() as u64).collect();
    pretty_assertions::assert_eq!(values, expected);
}

// ---- DynamoDB Local (testkit::dynamodb) ----------------------------------------

/// The DynamoDB Local that `scripts/test` started. Tests that need it fail,
/// never skip, when it is not there.
pub fn dynamodb_endpoint() -> String {
    testkit::dynamodb::endpoint().unwrap_or_else(|error| panic!("{error}"))
}

pub async fn admin_client() -> aws_sdk_dynamodb::Client {
    testkit::dynamodb::client(&dynamodb_endpoint()).await
}

/// Creates a table of its own for one test, shaped as Terraform makes it.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> TableName {
    unwrapped(testkit::dynamodb::fresh_table(client, "visitor-count").await)
}

pub async fn dynamodb_store(endpoint: &str, table: &TableName) -> DynamoDbStore {
    unwrapped(testkit::dynamodb::store(endpoint, table).await)
}

/// The counter item as stored, read behind the service's back.
pub async fn stored_item(client: &aws_sdk_dynamodb::Client, table: &TableName) -> Option<Item> {
    unwrapped(testkit::dynamodb::stored_item(client, table).await)
}

/// The count as stored, read behind the service's back (0 without an item).
pub async fn stored_count(client: &aws_sdk_dynamodb::Client, table: &TableName) -> u64 {
    unwrapped(testkit::dynamodb::stored_count(client, table).await)
}

pub async fn store_raw_count(
    client: &aws_sdk_dynamodb::Client,
    table: &TableName,
    value: AttributeValue,
) {
    unwrapped(testkit::dynamodb::put_count_attribute(client, table, value).await);
}

fn unwrapped<T>(result: Result<T, testkit::Error>) -> T {
    result.unwrap_or_else(|error| panic!("{}", visitor_counter::error_chain(&error)))
}

// ---- The real binary (testkit::server) ------------------------------------------

pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_visitor-counter"))
}

/// A command for the binary with a clean slate: nothing inherited but `PATH`.
pub fn service_command() -> Command {
    testkit::server::command(binary())
}

/// A command for the binary on a free port with `env`, stdout piped for its start-up line.
/// The binary with `env`. Many tests here send hundreds of POSTs from one client (one
/// address, one User-Agent): unless `env` says otherwise, the limit per visitor is
/// lifted for them (`VIEWS_PER_VISITOR`); the tests of the limit set their own.
pub fn server_command<K: AsRef<OsStr>, V: AsRef<OsStr>>(env: &[(K, V)]) -> Command {
    let mut command = testkit::server::local_command(binary(), env);
    if !env
        .iter()
        .any(|(name, _)| name.as_ref() == visitor_counter::config::VIEWS_PER_VISITOR)
    {
        command.env(visitor_counter::config::VIEWS_PER_VISITOR, "1000000000");
    }
    command
}

/// Starts the binary with `env` and waits for its start-up line. Its log goes nowhere,
/// or to the test's stderr when `TEST_LOG` is set.
pub fn spawn_server<K: AsRef<OsStr>, V: AsRef<OsStr>>(env: &[(K, V)]) -> TestServer {
    let mut command = server_command(env);
    command.stderr(if std::env::var_os("TEST_LOG").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    });
    unwrapped(TestServer::start(&mut command))
}

/// The binary on a fresh embedded store in a temporary directory (kept as long as the
/// `TempDir` is), with `env` on top.
pub fn embedded_server_with<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    env: &[(K, V)],
) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![(
        OsString::from("COUNTER_DB"),
        dir.path().join("count.redb").into_os_string(),
    )];
    all.extend(
        env.iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())),
    );
    (spawn_server(&all), dir)
}

/// [`embedded_server_with`] nothing more.
pub fn embedded_server() -> (TestServer, tempfile::TempDir) {
    embedded_server_with::<&str, &str>(&[])
}

/// Waits for a child started from [`server_command`] to print its start-up line;
/// `context` adds to the failure message (its log, say).
pub fn wait_for_start(child: Child, context: impl FnOnce() -> String) -> TestServer {
    TestServer::wait_for_banner(child).unwrap_or_else(|error| panic!("{error} {}", context()))
}

/// `GET` and `POST /count` over the wire, checked against the contract.
pub trait CountOverHttp {
    async fn get_count(&self) -> u64;
    async fn post_count(&self) -> u64;
}

impl CountOverHttp for TestServer {
    async fn get_count(&self) -> u64 {
        get_count(&self.base_url).await
    }

    async fn post_count(&self) -> u64 {
        let response = http_client().post(self.url("/count")).send().await.unwrap();
        count_of(response, &schemas().post_count).await
    }
}

/// `GET <base_url>/count` over the wire, checked against the contract.
pub async fn get_count(base_url: &str) -> u64 {
    let response = http_client()
        .get(format!("{base_url}/count"))
        .send()
        .await
        .unwrap();
    count_of(response, &schemas().get_count).await
}

async fn count_of(response: reqwest::Response, schema: &Validator) -> u64 {
    assert_eq!(response.status(), 200, "{}", response.url());
    let body: Value = response.json().await.unwrap();
    assert_valid(schema, &body);
    body["count"].as_u64().unwrap()
}

/// `GET <base_url>/counters/{name}` over the wire, checked against the contract:
/// (views, visitors).
pub async fn totals_over_http(base_url: &str, name: &str) -> (u64, u64) {
    let response = http_client()
        .get(format!("{base_url}/counters/{name}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.url());
    let body: Value = response.json().await.unwrap();
    assert_valid(&schemas().counter, &body);
    (
        body["views"].as_u64().unwrap(),
        body["visitors"].as_u64().unwrap(),
    )
}

pub fn http_client() -> reqwest::Client {
    unwrapped(testkit::http_client())
}
