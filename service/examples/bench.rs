//! The benchmark behind `scripts/bench`: one run, on DynamoDB Local, side by side.
//!
//! 1. the floor: the Rust SDK's own `GetItem`/`UpdateItem`, as the service sends them,
//!    each call right after the same request through the Lambda function;
//! 2. the release binary in local mode, on DynamoDB and on the embedded store, loaded
//!    with the e2e load generator at concurrency 1 and 32;
//! 3. the release binary as a Lambda function under the runtime emulator: init time,
//!    first invocation, warm latency, peak RSS;
//! 4. the binary's and the deployment zip's sizes;
//!
//! and the issue's targets against what was measured. `scripts/bench` builds the binary,
//! starts DynamoDB Local and runs this; run by hand:
//!
//! ```text
//! cargo run --release -p visitor-counter --example bench -- \
//!     --binary target/release/visitor-counter --endpoint http://127.0.0.1:8000 --out target/bench
//! ```
//!
//! It is an example of the service crate (not a `[[bench]]`, which nextest would try to
//! run as a test suite) so it can reuse the runtime emulator of the test suite.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType,
};
use e2e::load::{LoadOptions, LoadReport, Mix};
use serde_json::{Value, json};
use visitor_counter::store::dynamodb::{
    self, COUNT_ATTRIBUTE, COUNTER_ID, HASH_KEY, OPERATION_TIMEOUT,
};

use testkit::lambda::{self as lambda_emulator, LambdaFunction};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

const REGION: &str = "us-east-1";
/// How many of everything one run measures.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Calls of each kind sent to DynamoDB Local, and thrown away, before anything is
    /// timed: its JVM compiles the hot paths during the first few hundred.
    jvm_warm_up: usize,
    /// Cold starts of the Lambda function; init and first invocation are their medians.
    cold_starts: usize,
    /// Warm invocations after each cold start (half GET, half POST), each followed by
    /// the same call from the floor's SDK client.
    warm_per_start: usize,
    /// Requests per local-mode run.
    local_c1: u64,
    dynamodb_c32: u64,
    embedded_c32: u64,
}

impl Plan {
    const FULL: Self = Self {
        jvm_warm_up: 1000,
        cold_starts: 20,
        warm_per_start: 100,
        local_c1: 1000,
        dynamodb_c32: 8000,
        embedded_c32: 20_000,
    };

    fn quick() -> Self {
        let full = Self::FULL;
        Self {
            jvm_warm_up: full.jvm_warm_up / 10,
            cold_starts: 3,
            warm_per_start: full.warm_per_start / 10,
            local_c1: full.local_c1 / 10,
            dynamodb_c32: full.dynamodb_c32 / 10,
            embedded_c32: full.embedded_c32 / 10,
        }
    }
}

struct Args {
    binary: PathBuf,
    endpoint: String,
    out: PathBuf,
    zip: Option<PathBuf>,
    zip_label: String,
    zip_is_arm64: bool,
    /// A tenth of the samples: to try the benchmark out, not to quote.
    quick: bool,
    /// The floor, Lambda mode and sizes only.
    lambda_only: bool,
    /// Extra environment for the Lambda function (`--function-env NAME=VALUE`), for
    /// experiments.
    function_env: Vec<(String, String)>,
}

fn parse_args() -> Result<Args> {
    let mut binary = None;
    let mut endpoint = std::env::var("DYNAMODB_LOCAL_ENDPOINT").ok();
    let mut out = PathBuf::from("target/bench");
    let mut zip = None;
    let mut zip_label = "deployment zip".to_owned();
    let mut zip_is_arm64 = false;
    let mut quick = false;
    let mut lambda_only = false;
    let mut function_env = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--binary" => binary = Some(PathBuf::from(value()?)),
            "--endpoint" => endpoint = Some(value()?),
            "--out" => out = PathBuf::from(value()?),
            "--zip" => zip = Some(PathBuf::from(value()?)),
            "--zip-label" => zip_label = value()?,
            "--zip-arm64" => zip_is_arm64 = true,
            "--quick" => quick = true,
            "--lambda-only" => lambda_only = true,
            "--function-env" => {
                let pair = value()?;
                let (name, value) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--function-env {pair:?}: expected NAME=VALUE"))?;
                function_env.push((name.to_owned(), value.to_owned()));
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: bench --binary PATH [--endpoint URL] \
                     [--out DIR] [--zip PATH --zip-label TEXT [--zip-arm64]] [--quick] [--lambda-only] [--function-env NAME=VALUE]..."
                )
                .into());
            }
        }
    }
    Ok(Args {
        binary: binary.ok_or("--binary PATH (the release visitor-counter) is required")?,
        endpoint: endpoint.ok_or("--endpoint URL or DYNAMODB_LOCAL_ENDPOINT is required")?,
        out,
        zip,
        zip_label,
        zip_is_arm64,
        quick,
        lambda_only,
        function_env,
    })
}

fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let result = runtime
        .map_err(BoxError::from)
        .and_then(|runtime| runtime.block_on(run()));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let mut line = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                line = format!("{line}: {cause}");
                source = cause.source();
            }
            eprintln!("bench: {line}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let args = parse_args()?;
    let load_at_start = load_average();
    let binary = std::path::absolute(&args.binary)?;
    // Tables are made and counts read with a patient client; the floor uses the
    // service's timeouts.
    let admin = sdk_client(&args.endpoint, false).await;
    let floor_client = sdk_client(&args.endpoint, true).await;
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::FULL
    };
    let mut report = Report {
        warm_per_start: plan.warm_per_start,
        ..Report::default()
    };

    let floor = FloorWorker::start(floor_client)?;
    say("warming up DynamoDB Local's JVM");
    let warm_table = fresh_table(&admin).await?;
    for _ in 0..plan.jvm_warm_up {
        floor.call(FloorCall::UpdateItem, &warm_table).await?;
        floor.call(FloorCall::GetItem, &warm_table).await?;
    }

    say("1-2/4 Lambda mode under the runtime emulator, and the SDK floor");
    let (lambda, floor_get, floor_update) = lambda_mode(
        &admin,
        &floor,
        &binary,
        &args.endpoint,
        &args.function_env,
        plan,
    )
    .await?;
    report.lambda = Some(lambda);
    report.floor_get = Some(floor_get);
    report.floor_update = Some(floor_update);

    if args.lambda_only {
        say("skipping local mode (--lambda-only)");
    } else {
        say("3/4 local mode: DynamoDB and the embedded store");
        for store in [Store::DynamoDb, Store::Embedded] {
            for concurrency in [1, 32] {
                for mix in [Mix::GET_ONLY, Mix::POST_ONLY] {
                    let requests = match (store, concurrency) {
                        (_, 1) => plan.local_c1,
                        (Store::DynamoDb, _) => plan.dynamodb_c32,
                        (Store::Embedded, _) => plan.embedded_c32,
                    };
                    let run = local_mode(
                        &admin,
                        &floor,
                        &binary,
                        &args.endpoint,
                        store,
                        concurrency,
                        mix,
                        requests,
                    )
                    .await?;
                    report.local.push(run);
                }
            }
        }
    }

    say("4/4 sizes");
    report.binary_bytes = std::fs::metadata(&binary)?.len();
    if let Some(zip) = &args.zip {
        report.zip = Some((args.zip_label.clone(), std::fs::metadata(zip)?.len()));
        report.zip_is_arm64 = args.zip_is_arm64;
    }

    report.machine = Machine {
        load_at_start,
        ..machine()
    };
    report.binary = binary.display().to_string();
    let markdown = report.markdown();
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("report.md"), &markdown)?;
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&report.json())?,
    )?;
    print!("{markdown}");
    say(&format!(
        "wrote {} and report.json",
        args.out.join("report.md").display()
    ));
    Ok(())
}

fn say(line: &str) {
    eprintln!("==> {line}");
}

// ---- measurements ---------------------------------------------------------

/// Durations, sorted on demand.
#[derive(Debug, Clone, Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn push(&mut self, sample: Duration) {
        self.0.push(sample);
    }

    /// Nearest-rank percentile, in milliseconds.
    fn percentile_ms(&self, percentile: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, sorted.len()) - 1;
        sorted[index].as_secs_f64() * 1000.0
    }

    fn p50(&self) -> f64 {
        self.percentile_ms(50.0)
    }

    fn p99(&self) -> f64 {
        self.percentile_ms(99.0)
    }

    fn min_ms(&self) -> f64 {
        self.percentile_ms(0.0)
    }

    fn max_ms(&self) -> f64 {
        self.percentile_ms(100.0)
    }

    fn json(&self) -> Value {
        json!({
            "samples": self.0.len(),
            "p50_ms": round3(self.p50()),
            "p90_ms": round3(self.percentile_ms(90.0)),
            "p99_ms": round3(self.p99()),
            "min_ms": round3(self.min_ms()),
            "max_ms": round3(self.max_ms()),
        })
    }
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// An SDK client with the service's HTTP client and, if `service_timeouts`, its
/// timeouts as well.
async fn sdk_client(endpoint: &str, service_timeouts: bool) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if service_timeouts {
        loader = loader.timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(dynamodb::CONNECT_TIMEOUT)
                .operation_attempt_timeout(dynamodb::READ_ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    }
    let config = loader
        .http_client(dynamodb::http_client())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .load()
        .await;
    Client::new(&config)
}

async fn fresh_table(client: &Client) -> Result<String> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "bench-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(HASH_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(HASH_KEY)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .send()
        .await?;
    Ok(name)
}

#[derive(Debug, Clone, Copy)]
enum FloorCall {
    GetItem,
    UpdateItem,
}

/// Makes the floor's SDK calls on a thread of its own with a single-threaded runtime,
/// as the function makes them, so the benchmark's own work never delays them.
struct FloorWorker {
    calls: std::sync::mpsc::Sender<(
        FloorCall,
        String,
        tokio::sync::oneshot::Sender<Result<Duration>>,
    )>,
}

impl FloorWorker {
    fn start(client: Client) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (calls, queue) = std::sync::mpsc::channel::<(
            FloorCall,
            String,
            tokio::sync::oneshot::Sender<Result<Duration>>,
        )>();
        std::thread::spawn(move || {
            while let Ok((call, table, reply)) = queue.recv() {
                let _ = reply.send(runtime.block_on(floor_call(&client, call, &table)));
            }
        });
        Ok(Self { calls })
    }

    /// How long one call took.
    async fn call(&self, call: FloorCall, table: &str) -> Result<Duration> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.calls
            .send((call, table.to_owned(), reply))
            .map_err(|_| "the floor's thread has stopped")?;
        answer.await.map_err(|_| "the floor's thread has stopped")?
    }
}

/// One call, exactly as the service's store sends it (see `store/dynamodb.rs`).
async fn floor_call(client: &Client, call: FloorCall, table: &str) -> Result<Duration> {
    let started = Instant::now();
    match call {
        FloorCall::UpdateItem => {
            client
                .update_item()
                .table_name(table)
                .key(HASH_KEY, AttributeValue::S(COUNTER_ID.to_owned()))
                .update_expression("ADD #count :one")
                .condition_expression(
                    "attribute_not_exists(#count) OR (attribute_type(#count, :number) AND #count >= :zero)",
                )
                .expression_attribute_names("#count", COUNT_ATTRIBUTE)
                .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
                .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
                .expression_attribute_values(":number", AttributeValue::S("N".to_owned()))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await?;
        }
        FloorCall::GetItem => {
            client
                .get_item()
                .table_name(table)
                .key(HASH_KEY, AttributeValue::S(COUNTER_ID.to_owned()))
                .consistent_read(true)
                .projection_expression("#count")
                .expression_attribute_names("#count", COUNT_ATTRIBUTE)
                .send()
                .await?;
        }
    }
    Ok(started.elapsed())
}

async fn read_count(client: &Client, table: &str) -> Result<u64> {
    let item = client
        .get_item()
        .table_name(table)
        .key(HASH_KEY, AttributeValue::S(COUNTER_ID.to_owned()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    match item.as_ref().and_then(|item| item.get(COUNT_ATTRIBUTE)) {
        None => Ok(0),
        Some(AttributeValue::N(number)) => Ok(number.parse()?),
        Some(other) => Err(format!("the stored count is {other:?}").into()),
    }
}

// ---- Lambda mode ------------------------------------------------------------

const GET_EVENT: &str = include_str!("../tests/data/apigw-get-count.json");
const POST_EVENT: &str = include_str!("../tests/data/apigw-post-count-on-stage-with-origin.json");
/// Answered by the app without touching the store: the cost of the Lambda path alone.
const NOT_FOUND_EVENT: &str = include_str!("../tests/data/apigw-get-unknown-path.json");
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct LambdaFigures {
    init: Samples,
    /// CPU time used by the process during init.
    init_cpu: Samples,
    /// Init with `SSL_CERT_FILE` naming this bundle, and its CPU time.
    bundle_file: Option<String>,
    init_bundle_only: Samples,
    init_cpu_bundle_only: Samples,
    /// CPU time per warm invocation, averaged over each cold start's warm loop.
    warm_cpu: Samples,
    first_post: Samples,
    warm_get: Samples,
    warm_post: Samples,
    /// `GET /nothing-here`: runtime API, event and response handling, no storage.
    warm_not_found: Samples,
    peak_rss_kib: Vec<u64>,
    /// At the end of each cold start's invocations: anonymous and file-backed RSS.
    rss_anon_file_kib: Vec<(u64, u64)>,
    log_bytes: usize,
    invocations: usize,
    count_moved: u64,
    posts_answered: u64,
}

/// Cold starts of the function, each followed by warm invocations; between
/// invocations, the same call from the floor's SDK client on the same table, so that
/// both see DynamoDB Local in the same state.
async fn lambda_mode(
    admin: &Client,
    floor: &FloorWorker,
    binary: &Path,
    endpoint: &str,
    extra_env: &[(String, String)],
    plan: Plan,
) -> Result<(LambdaFigures, Samples, Samples)> {
    let table = fresh_table(admin).await?;
    let mut env = vec![
        ("COUNTER_TABLE".to_owned(), table.clone()),
        (
            "ALLOWED_ORIGINS".to_owned(),
            "https://example.com".to_owned(),
        ),
        ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), endpoint.to_owned()),
    ];
    env.extend_from_slice(extra_env);
    let mut figures = LambdaFigures::default();
    let mut floor_get = Samples::default();
    let mut floor_update = Samples::default();
    let mut floor_updates = 0;
    let before = read_count(admin, &table).await?;
    for _ in 0..plan.cold_starts {
        let function = LambdaFunction::start(binary, REGION, &env).await?;
        let init = match function.wait_ready(Duration::from_secs(20)).await {
            Ok(init) => init,
            Err(error) => {
                return Err(format!("{error}; its log:\n{}", function.logs().join("\n")).into());
            }
        };
        figures.init.push(init);
        figures
            .init_cpu
            .push(function.cpu_time().ok_or("cannot read schedstat")?);
        let logs_at_ready: usize = function.logs().iter().map(|l| l.len() + 1).sum();

        // A visit is a POST: the first one is what a cold visitor waits for.
        let first = function.invoke(POST_EVENT, INVOCATION_TIMEOUT).await?;
        check_answer(&first, 200)?;
        function.wait_idle(INVOCATION_TIMEOUT).await?;
        figures.first_post.push(first.duration);
        figures.posts_answered += 1;
        let cpu_before = function.cpu_time().ok_or("cannot read schedstat")?;
        for i in 0..plan.warm_per_start {
            let post = i % 2 == 1;
            let event = if post { POST_EVENT } else { GET_EVENT };
            let invocation = function.invoke(event, INVOCATION_TIMEOUT).await?;
            check_answer(&invocation, 200)?;
            // The function back in `/next` before the floor's call, so the two
            // never compete for the CPU.
            function.wait_idle(INVOCATION_TIMEOUT).await?;
            if post {
                figures.warm_post.push(invocation.duration);
                figures.posts_answered += 1;
                floor_update.push(floor.call(FloorCall::UpdateItem, &table).await?);
                floor_updates += 1;
            } else {
                figures.warm_get.push(invocation.duration);
                floor_get.push(floor.call(FloorCall::GetItem, &table).await?);
            }
        }
        let cpu_after = function.cpu_time().ok_or("cannot read schedstat")?;
        figures.warm_cpu.push(
            cpu_after.saturating_sub(cpu_before) / u32::try_from(plan.warm_per_start.max(1))?,
        );
        for _ in 0..plan.warm_per_start / 5 {
            let invocation = function.invoke(NOT_FOUND_EVENT, INVOCATION_TIMEOUT).await?;
            check_answer(&invocation, 404)?;
            figures.warm_not_found.push(invocation.duration);
            function.wait_idle(INVOCATION_TIMEOUT).await?;
        }
        figures.invocations += 1 + plan.warm_per_start + plan.warm_per_start / 5;
        let logs: usize = function.logs().iter().map(|l| l.len() + 1).sum();
        figures.log_bytes += logs - logs_at_ready;
        figures
            .peak_rss_kib
            .push(function.peak_rss_kib().ok_or("cannot read VmHWM")?);
        figures.rss_anon_file_kib.push(
            function
                .rss_anon_and_file_kib()
                .ok_or("cannot read RssAnon/RssFile")?,
        );
    }
    figures.count_moved = read_count(admin, &table).await? - before - floor_updates;

    // The same init with the system's certificate bundle named in SSL_CERT_FILE, so
    // only that one file is read. Without it, the native-roots loader also reads every
    // file of the certificate directory, which on Debian and Ubuntu holds each root
    // again as a file of its own; AL2023 (Lambda's provided.al2023) has no such files.
    if let Some(bundle) = BUNDLE_FILES.iter().find(|path| Path::new(path).is_file()) {
        let mut env = env.clone();
        env.push(("SSL_CERT_FILE".to_owned(), (*bundle).to_owned()));
        figures.bundle_file = Some((*bundle).to_owned());
        for _ in 0..plan.cold_starts / 2 {
            let function = LambdaFunction::start(binary, REGION, &env).await?;
            figures
                .init_bundle_only
                .push(function.wait_ready(Duration::from_secs(20)).await?);
            figures
                .init_cpu_bundle_only
                .push(function.cpu_time().ok_or("cannot read schedstat")?);
        }
    }
    Ok((figures, floor_get, floor_update))
}

/// Where Linux distributions keep the bundle of trusted roots (as openssl-probe looks).
const BUNDLE_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn check_answer(invocation: &lambda_emulator::Invocation, status: u64) -> Result<()> {
    if invocation.is_error || invocation.response["statusCode"].as_u64() != Some(status) {
        return Err(format!("unexpected answer: {}", invocation.response).into());
    }
    Ok(())
}

// ---- local mode -------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    DynamoDb,
    Embedded,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Store::DynamoDb => "DynamoDB Local",
            Store::Embedded => "embedded (redb)",
        }
    }
}

#[derive(Debug)]
struct LocalRun {
    store: Store,
    concurrency: usize,
    mix: Mix,
    load: LoadReport,
    /// The count as the store holds it moved by this much (DynamoDB only: read
    /// behind the service's back).
    stored_moved: Option<u64>,
    /// On DynamoDB at concurrency 1: the same call from the floor's SDK client, half
    /// just before the run and half just after, on the same table.
    floor: Option<Samples>,
}

/// The release binary serving on a free port; killed when dropped.
struct LocalServer {
    child: Child,
    base_url: String,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_local(binary: &Path, env: &[(&str, String)]) -> Result<LocalServer> {
    let mut child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut banner = String::new();
    reader.read_line(&mut banner)?;
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let base_url = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .ok_or_else(|| format!("no URL in the start-up line {banner:?}"))?
        .to_owned();
    Ok(LocalServer { child, base_url })
}

#[allow(clippy::too_many_arguments)]
async fn local_mode(
    admin: &Client,
    floor: &FloorWorker,
    binary: &Path,
    endpoint: &str,
    store: Store,
    concurrency: usize,
    mix: Mix,
    requests: u64,
) -> Result<LocalRun> {
    let dir = tempfile::tempdir()?;
    let (env, table) = match store {
        Store::DynamoDb => {
            let table = fresh_table(admin).await?;
            let env = vec![
                ("COUNTER_TABLE", table.clone()),
                ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.to_owned()),
                ("AWS_REGION", REGION.to_owned()),
                ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
            ];
            (env, Some(table))
        }
        Store::Embedded => {
            let db = dir.path().join("count.redb");
            (vec![("COUNTER_DB", db.display().to_string())], None)
        }
    };
    let server = spawn_local(binary, &env)?;
    // Prime the counter so GET-only runs read an item that exists, as in production.
    let options = LoadOptions {
        requests: 1,
        concurrency: 1,
        mix: Mix::POST_ONLY,
        ..LoadOptions::default()
    };
    e2e::load::run(&server.base_url, &options).await?;
    let floor_call = if mix.post() == 0 {
        FloorCall::GetItem
    } else {
        FloorCall::UpdateItem
    };
    let floor_table = table.as_ref().filter(|_| concurrency == 1);
    let mut floor_samples = Samples::default();
    if let Some(table) = floor_table {
        for _ in 0..requests / 2 {
            floor_samples.push(floor.call(floor_call, table).await?);
        }
    }
    let stored_before = match &table {
        Some(table) => Some(read_count(admin, table).await?),
        None => None,
    };
    let options = LoadOptions {
        requests,
        concurrency,
        mix,
        ..LoadOptions::default()
    };
    let load = e2e::load::run(&server.base_url, &options).await?;
    let stored_moved = match (&table, stored_before) {
        (Some(table), Some(before)) => Some(read_count(admin, table).await? - before),
        _ => None,
    };
    if let Some(table) = floor_table {
        for _ in 0..requests / 2 {
            floor_samples.push(floor.call(floor_call, table).await?);
        }
    }
    say(&format!(
        "   {} c{concurrency} {}: {:.0}/s, p50 {:.3} ms, {}",
        store.name(),
        mix_name(mix),
        load.throughput_per_sec,
        load.latency.map_or(f64::NAN, |l| l.p50_ms),
        if load.passed { "passed" } else { "FAILED" }
    ));
    drop(server);
    Ok(LocalRun {
        store,
        concurrency,
        mix,
        load,
        stored_moved,
        floor: floor_table.map(|_| floor_samples),
    })
}

fn mix_name(mix: Mix) -> &'static str {
    if mix.post() == 0 {
        "GET"
    } else if mix.get() == 0 {
        "POST"
    } else {
        "GET+POST"
    }
}

// ---- the report -------------------------------------------------------------

#[derive(Debug, Default)]
struct Report {
    warm_per_start: usize,
    machine: Machine,
    binary: String,
    floor_get: Option<Samples>,
    floor_update: Option<Samples>,
    lambda: Option<LambdaFigures>,
    local: Vec<LocalRun>,
    binary_bytes: u64,
    zip: Option<(String, u64)>,
    /// Whether the zip is cargo lambda's arm64 build (the one the target is about).
    zip_is_arm64: bool,
}

#[derive(Debug, Default)]
struct Machine {
    /// `/proc/loadavg`'s 1-minute figure when the run started and when it ended: other
    /// work on the machine moves every figure.
    load_at_start: String,
    load_at_end: String,
    cpus: usize,
    cpu_model: String,
    memory_mib: u64,
    kernel: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |text: &str, name: &str| {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_once(':'))
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    Machine {
        load_at_start: String::new(),
        load_at_end: load_average(),
        cpus: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        cpu_model: field(&cpuinfo, "model name"),
        memory_mib: field(&meminfo, "MemTotal")
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .map_or(0, |kib| kib / 1024),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

struct Target {
    figure: &'static str,
    target: &'static str,
    measured: String,
    /// `None`: what was measured is not what the target is about.
    met: Option<bool>,
}

impl Report {
    fn local_run(&self, store: Store, concurrency: usize, post: bool) -> Option<&LocalRun> {
        self.local.iter().find(|run| {
            run.store == store && run.concurrency == concurrency && (run.mix.post() > 0) == post
        })
    }

    fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        if let Some(lambda) = &self.lambda {
            let init = lambda.init.p50();
            targets.push(Target {
                figure: "Lambda init, process start to first /next (median of cold starts)",
                target: "<= 15 ms",
                measured: format!("{init:.2} ms"),
                met: Some(init <= 15.0),
            });
            let ratio = lambda.first_post.p50() / lambda.warm_post.p50();
            targets.push(Target {
                figure: "first invocation / warm invocation (POST, p50)",
                target: "<= 2x",
                measured: format!(
                    "{ratio:.2}x ({:.2} / {:.2} ms)",
                    lambda.first_post.p50(),
                    lambda.warm_post.p50()
                ),
                met: Some(ratio <= 2.0),
            });
            for (name, warm, floor) in [
                ("GET", &lambda.warm_get, &self.floor_get),
                ("POST", &lambda.warm_post, &self.floor_update),
            ] {
                if let Some(floor) = floor {
                    let ratio = warm.p50() / floor.p50();
                    targets.push(Target {
                        figure: if name == "GET" {
                            "warm Lambda GET p50 / SDK GetItem p50"
                        } else {
                            "warm Lambda POST p50 / SDK UpdateItem p50"
                        },
                        target: "<= 1.10",
                        measured: format!("{ratio:.3} ({:.3} / {:.3} ms)", warm.p50(), floor.p50()),
                        met: Some(ratio <= 1.10),
                    });
                }
            }
            for post in [false, true] {
                let Some(run) = self.local_run(Store::DynamoDb, 1, post) else {
                    continue;
                };
                let (Some(latency), Some(floor)) = (run.load.latency, &run.floor) else {
                    continue;
                };
                let ratio = latency.p50_ms / floor.p50();
                targets.push(Target {
                    figure: if post {
                        "local mode POST p50 (HTTP, concurrency 1) / SDK UpdateItem p50"
                    } else {
                        "local mode GET p50 (HTTP, concurrency 1) / SDK GetItem p50"
                    },
                    target: "<= 1.10",
                    measured: format!("{ratio:.3} ({:.3} / {:.3} ms)", latency.p50_ms, floor.p50()),
                    met: Some(ratio <= 1.10),
                });
            }
            let peak = lambda.peak_rss_kib.iter().copied().max().unwrap_or(0);
            targets.push(Target {
                figure: "peak RSS in Lambda mode (VmHWM, worst cold start)",
                target: "<= 10 MB",
                measured: format!("{:.1} MB ({peak} KiB)", kib_to_mb(peak)),
                met: Some(kib_to_mb(peak) <= 10.0),
            });
        }
        targets.push(Target {
            figure: "release binary",
            target: "<= 8 MB",
            measured: mb(self.binary_bytes),
            met: Some(self.binary_bytes <= 8_000_000),
        });
        if let Some((label, bytes)) = &self.zip {
            targets.push(Target {
                figure: "arm64 deployment zip",
                target: "<= 5 MB",
                measured: format!("{} ({label})", mb(*bytes)),
                met: self.zip_is_arm64.then_some(*bytes <= 5_000_000),
            });
        }
        if let Some(run) = self.local_run(Store::Embedded, 32, true) {
            targets.push(Target {
                figure: "local mode, embedded store, concurrency 32, POST",
                target: ">= 5,000 POST/s, no lost increment",
                measured: format!(
                    "{:.0} POST/s, integrity {}",
                    run.load.throughput_per_sec,
                    if run.load.integrity_holds {
                        "holds"
                    } else {
                        "BROKEN"
                    }
                ),
                met: Some(run.load.throughput_per_sec >= 5000.0 && run.load.passed),
            });
        }
        targets
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# visitor-counter benchmark\n");
        let _ = writeln!(
            md,
            "Machine: {} CPUs ({}), {} MiB memory, Linux {}; load average {} at the start, {} at the end. \
             DynamoDB Local in memory on the same machine. Binary: `{}`.\n",
            m.cpus,
            m.cpu_model,
            m.memory_mib,
            m.kernel,
            m.load_at_start,
            m.load_at_end,
            self.binary
        );

        let _ = writeln!(md, "## Targets\n");
        let _ = writeln!(md, "| figure | target | measured | met? |");
        let _ = writeln!(md, "| --- | --- | --- | --- |");
        for t in self.targets() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                t.figure,
                t.target,
                t.measured,
                match t.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "not measured",
                }
            );
        }

        let _ = writeln!(
            md,
            "\n## 1. The floor: the SDK alone, one call at a time on a single-threaded runtime, \
             interleaved with the warm Lambda invocations on the same table\n"
        );
        let _ = writeln!(md, "| call | samples | p50 ms | p90 ms | p99 ms |");
        let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: |");
        for (name, samples) in [
            ("GetItem (consistent)", &self.floor_get),
            ("UpdateItem (ADD, UPDATED_NEW)", &self.floor_update),
        ] {
            if let Some(s) = samples {
                let _ = writeln!(
                    md,
                    "| {name} | {} | {:.3} | {:.3} | {:.3} |",
                    s.0.len(),
                    s.p50(),
                    s.percentile_ms(90.0),
                    s.p99()
                );
            }
        }

        if let Some(l) = &self.lambda {
            let _ = writeln!(md, "\n## 2. Lambda mode, under the runtime emulator\n");
            let _ = writeln!(md, "| figure | p50 | p99 | min | max | samples |");
            let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for (name, s) in [
                (
                    "init: process start to first `/next` (incl. DynamoDB warm-up), ms",
                    &l.init,
                ),
                ("first invocation (POST), ms", &l.first_post),
                ("warm GET, ms", &l.warm_get),
                ("warm POST, ms", &l.warm_post),
                (
                    "warm 404 (no storage call: the Lambda path's own cost), ms",
                    &l.warm_not_found,
                ),
                ("CPU time of the process during init, ms", &l.init_cpu),
                (
                    "init with only the certificate bundle file read (SSL_CERT_FILE, as on AL2023), ms",
                    &l.init_bundle_only,
                ),
                ("CPU time during that init, ms", &l.init_cpu_bundle_only),
                (
                    "CPU time per warm invocation (mean of each cold start's GET/POST loop), ms",
                    &l.warm_cpu,
                ),
            ] {
                if s.0.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    md,
                    "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                    s.p50(),
                    s.p99(),
                    s.min_ms(),
                    s.max_ms(),
                    s.0.len()
                );
            }
            let peak = l.peak_rss_kib.iter().copied().max().unwrap_or(0);
            let least = l.peak_rss_kib.iter().copied().min().unwrap_or(0);
            let _ = writeln!(
                md,
                "\nPeak RSS (VmHWM after {} invocations): {:.1} MB worst, {:.1} MB best of {} cold starts; \
                 at the end, {:.1} MB anonymous (heap, stacks) + {:.1} MB file-backed (code and data \
                 pages of the binary and libc). \
                 Log output: {:.0} bytes per invocation. \
                 The count moved by {} for {} POSTs answered.",
                1 + self.warm_per_start + self.warm_per_start / 5,
                kib_to_mb(peak),
                kib_to_mb(least),
                l.peak_rss_kib.len(),
                kib_to_mb(
                    l.rss_anon_file_kib
                        .iter()
                        .map(|(anon, _)| *anon)
                        .max()
                        .unwrap_or(0)
                ),
                kib_to_mb(
                    l.rss_anon_file_kib
                        .iter()
                        .map(|(_, file)| *file)
                        .max()
                        .unwrap_or(0)
                ),
                l.log_bytes as f64 / l.invocations.max(1) as f64,
                l.count_moved,
                l.posts_answered
            );
        }

        let _ = writeln!(
            md,
            "\n## 3. Local mode (e2e load generator, over loopback HTTP/1.1)\n"
        );
        let _ = writeln!(
            md,
            "| store | request | concurrency | requests | p50 ms | p90 ms | p99 ms | throughput /s | errors | integrity |"
        );
        let _ = writeln!(
            md,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
        );
        for run in &self.local {
            let latency = run.load.latency;
            let integrity = if run.mix.post() == 0 {
                if run.load.passed {
                    "n/a (reads)"
                } else {
                    "FAILED"
                }
            } else if run.load.integrity_holds
                && run.load.passed
                && run
                    .stored_moved
                    .is_none_or(|moved| moved == run.load.posts_answered_200)
            {
                "holds"
            } else {
                "**BROKEN**"
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.0} | {} | {} |",
                run.store.name(),
                mix_name(run.mix),
                run.concurrency,
                run.load.sent,
                latency.map_or(f64::NAN, |l| l.p50_ms),
                latency.map_or(f64::NAN, |l| l.p90_ms),
                latency.map_or(f64::NAN, |l| l.p99_ms),
                run.load.throughput_per_sec,
                run.load.errors + run.load.server_errors,
                integrity
            );
        }

        let _ = writeln!(md, "\n## 4. Size\n");
        let _ = writeln!(md, "| artefact | size |");
        let _ = writeln!(md, "| --- | ---: |");
        let _ = writeln!(
            md,
            "| release binary (x86_64, stripped) | {} |",
            mb(self.binary_bytes)
        );
        if let Some((label, bytes)) = &self.zip {
            let _ = writeln!(md, "| {label} | {} |", mb(*bytes));
        }
        md
    }

    fn json(&self) -> Value {
        let m = &self.machine;
        json!({
            "machine": {
                "cpus": m.cpus,
                "cpu_model": m.cpu_model,
                "memory_mib": m.memory_mib,
                "kernel": m.kernel,
                "load_at_start": m.load_at_start,
                "load_at_end": m.load_at_end,
            },
            "binary": self.binary,
            "floor": {
                "get_item": self.floor_get.as_ref().map(Samples::json),
                "update_item": self.floor_update.as_ref().map(Samples::json),
            },
            "lambda": self.lambda.as_ref().map(|l| json!({
                "init": l.init.json(),
                "init_cpu": l.init_cpu.json(),
                "bundle_file": l.bundle_file,
                "init_bundle_only": l.init_bundle_only.json(),
                "init_cpu_bundle_only": l.init_cpu_bundle_only.json(),
                "warm_cpu_per_invocation": l.warm_cpu.json(),
                "first_post": l.first_post.json(),
                "warm_get": l.warm_get.json(),
                "warm_post": l.warm_post.json(),
                "warm_not_found": l.warm_not_found.json(),
                "peak_rss_kib": l.peak_rss_kib,
                "rss_anon_file_kib": l.rss_anon_file_kib,
                "log_bytes_per_invocation": l.log_bytes as f64 / l.invocations.max(1) as f64,
                "count_moved": l.count_moved,
                "posts_answered": l.posts_answered,
            })),
            "local": self.local.iter().map(|run| json!({
                "store": run.store.name(),
                "request": mix_name(run.mix),
                "concurrency": run.concurrency,
                "stored_count_moved": run.stored_moved,
                "floor": run.floor.as_ref().map(Samples::json),
                "load": serde_json::to_value(&run.load).unwrap_or(Value::Null),
            })).collect::<Vec<_>>(),
            "sizes": {
                "binary_bytes": self.binary_bytes,
                "zip": self.zip.as_ref().map(|(label, bytes)| json!({"label": label, "bytes": bytes})),
            },
            "targets": self.targets().iter().map(|t| json!({
                "figure": t.figure,
                "target": t.target,
                "measured": t.measured,
                "met": t.met,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Sizes in decimal megabytes (10^6 bytes), the stricter reading of the targets.
fn mb(bytes: u64) -> String {
    format!("{:.2} MB ({bytes} bytes)", bytes as f64 / 1e6)
}

fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}
