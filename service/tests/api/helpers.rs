//! The harness: the app in-process, the real binary as a child process, DynamoDB Local.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use axum::Router;
use axum::body::{Body, Bytes};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use jsonschema::Validator;
use serde_json::Value;
use tower::ServiceExt;
use visitor_counter::app::app;
use visitor_counter::config::{AllowedOrigins, TableName};
use visitor_counter::store::dynamodb::{COUNT_ATTRIBUTE, COUNTER_ID, HASH_KEY};
use visitor_counter::store::{CounterStore, DynamoDbStore, EmbeddedStore, StoreError};

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
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
        let body = self.json();
        assert_valid(schema, &body);
        body["count"].as_u64().unwrap()
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

pub fn request(method: Method, uri: &str) -> http::request::Builder {
    Request::builder().method(method).uri(uri)
}

pub async fn call(app: &Router, request: Request<Body>) -> Answer {
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

/// A store that always fails in one way, and records whether anything was counted.
pub struct FailingStore {
    pub error: fn() -> StoreError,
    pub increments: AtomicU64,
}

impl CounterStore for FailingStore {
    async fn get(&self) -> Result<u64, StoreError> {
        Err((self.error)())
    }
    async fn increment(&self) -> Result<u64, StoreError> {
        self.increments.fetch_add(1, Ordering::SeqCst);
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

// ---- DynamoDB Local -------------------------------------------------------

/// The DynamoDB Local that `scripts/test` started. Tests that need it fail,
/// never skip, when it is not there.
pub fn dynamodb_endpoint() -> String {
    std::env::var("DYNAMODB_LOCAL_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMODB_LOCAL_ENDPOINT is not set: run the tests with scripts/test, \
             which installs and starts DynamoDB Local"
        )
    })
}

/// An SDK config loader for DynamoDB Local at `endpoint`, with dummy credentials.
pub fn local_loader(endpoint: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(visitor_counter::store::dynamodb::http_client())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
}

pub async fn admin_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_loader(&dynamodb_endpoint()).load().await)
}

/// Creates a table of its own for one test, shaped as Terraform makes it.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> TableName {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "visitor-count-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(HASH_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(HASH_KEY)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot create table {name} in DynamoDB Local: {e:?}"));
    TableName::parse(&name).unwrap()
}

pub async fn dynamodb_store(endpoint: &str, table: &TableName) -> DynamoDbStore {
    DynamoDbStore::connect_with(local_loader(endpoint), table)
        .await
        .unwrap()
}

/// The counter item as stored, read behind the service's back.
pub async fn stored_item(
    client: &aws_sdk_dynamodb::Client,
    table: &TableName,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name(table.as_str())
        .key(HASH_KEY, AttributeValue::S(COUNTER_ID.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

pub async fn store_raw_count(
    client: &aws_sdk_dynamodb::Client,
    table: &TableName,
    value: AttributeValue,
) {
    client
        .put_item()
        .table_name(table.as_str())
        .item(HASH_KEY, AttributeValue::S(COUNTER_ID.into()))
        .item(COUNT_ATTRIBUTE, value)
        .send()
        .await
        .unwrap();
}

// ---- The real binary ------------------------------------------------------

/// The `visitor-counter` binary running in local mode; killed when dropped.
pub struct TestServer {
    pub child: Child,
    pub base_url: String,
    /// The line it printed on start.
    pub banner: String,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET /count` over the wire, checked against the contract.
    pub async fn get_count(&self) -> u64 {
        self.count_answer(http_client().get(self.url("/count")), &schemas().get_count)
            .await
    }

    /// `POST /count` over the wire, checked against the contract.
    pub async fn post_count(&self) -> u64 {
        self.count_answer(
            http_client().post(self.url("/count")),
            &schemas().post_count,
        )
        .await
    }

    async fn count_answer(&self, request: reqwest::RequestBuilder, schema: &Validator) -> u64 {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", self.base_url);
        let body: Value = response.json().await.unwrap();
        assert_valid(schema, &body);
        body["count"].as_u64().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command for the binary with a clean slate: none of the service's variables inherited.
pub fn service_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_visitor-counter"));
    for variable in [
        "COUNTER_TABLE",
        "COUNTER_DB",
        "ALLOWED_ORIGINS",
        "LISTEN_ADDR",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_PROFILE",
    ] {
        command.env_remove(variable);
    }
    command
}

/// A command for the binary on a free port with `env`, stdout piped for its start-up line.
pub fn server_command<K: AsRef<OsStr>, V: AsRef<OsStr>>(env: &[(K, V)]) -> Command {
    let mut command = service_command();
    command
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
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
    wait_for_start(command.spawn().unwrap(), String::new)
}

/// Waits for a child started from [`server_command`] to print its start-up line;
/// `context` adds to the failure message (its log, say).
pub fn wait_for_start(mut child: Child, context: impl FnOnce() -> String) -> TestServer {
    let stdout = child.stdout.take().unwrap();
    let (lines, banner) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = lines.send(line);
        // Keep draining so the server never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let banner = banner
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("no start-up line within 20 s {}", context()));
    let base_url = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in the start-up line {banner:?}"))
        .to_owned();
    TestServer {
        child,
        base_url,
        banner: banner.trim().to_owned(),
    }
}

/// Environment for the binary on DynamoDB Local.
pub fn dynamodb_env(endpoint: &str, table: &TableName) -> Vec<(String, String)> {
    vec![
        ("COUNTER_TABLE".into(), table.as_str().into()),
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "local".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "local".into()),
    ]
}

pub fn http_client() -> reqwest::Client {
    // reqwest's TLS comes without a crypto provider in this workspace (see e2e).
    e2e::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
