//! Lambda mode: cold starts of the release binary under the runtime emulator, each
//! followed by warm invocations; between invocations, the same call from the floor's
//! store on the same table, so that both see DynamoDB Local in the same state.

use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use e2e::Latency;
use testkit::lambda::{Invocation, LambdaFunction};

use crate::floor::{FloorCall, FloorWorker};
use crate::quota::EVENT_ORIGIN;
use crate::report::{Floor, LambdaFigures};
use crate::{Plan, REGION, Result};

const GET_EVENT: &str = include_str!("../../service/tests/data/apigw-get-count.json");
const POST_EVENT: &str =
    include_str!("../../service/tests/data/apigw-post-count-on-stage-with-origin.json");
/// Answered by the app without touching the store: the cost of the Lambda path alone.
const NOT_FOUND_EVENT: &str = include_str!("../../service/tests/data/apigw-get-unknown-path.json");
/// The origin of [`POST_EVENT`], which the function must allow to count.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(10);

/// What the cold starts measured, and the floor interleaved with them.
pub struct Measured {
    pub lambda: LambdaFigures,
    pub floor: Floor,
}

/// Timings as they come, summarised at the end.
#[derive(Default)]
struct Samples {
    init: Vec<Duration>,
    init_cpu: Vec<Duration>,
    init_bundle_only: Vec<Duration>,
    init_cpu_bundle_only: Vec<Duration>,
    warm_cpu: Vec<Duration>,
    first_post: Vec<Duration>,
    warm_get: Vec<Duration>,
    warm_post: Vec<Duration>,
    warm_not_found: Vec<Duration>,
    floor_get: Vec<Duration>,
    floor_update: Vec<Duration>,
}

pub async fn measure(
    admin: &Client,
    floor: &FloorWorker,
    binary: &Path,
    endpoint: &str,
    extra_env: &[(String, String)],
    plan: Plan,
) -> Result<Measured> {
    let table = testkit::dynamodb::fresh_table(admin, "bench").await?;
    let store = testkit::dynamodb::store(endpoint, &table).await?;
    let mut env = testkit::dynamodb::function_env(endpoint, &table);
    env.push(("ALLOWED_ORIGINS".to_owned(), EVENT_ORIGIN.to_owned()));
    env.extend_from_slice(extra_env);

    let mut samples = Samples::default();
    let mut peak_rss_kib = Vec::new();
    let mut rss_anon_file_kib = Vec::new();
    let mut log_bytes = 0;
    let mut posts_answered = 0;
    let mut floor_updates = 0;
    let before = testkit::dynamodb::stored_count(admin, &table).await?;
    for _ in 0..plan.cold_starts {
        let (function, init) = start_ready(binary, &env).await?;
        samples.init.push(init);
        samples.init_cpu.push(cpu_time(&function)?);
        let logs_at_ready = log_size(&function);

        // A visit is a POST: the first one is what a cold visitor waits for.
        let first = invoke(&function, POST_EVENT, 200).await?;
        samples.first_post.push(first.duration);
        posts_answered += 1;
        let cpu_before = cpu_time(&function)?;
        for i in 0..plan.warm_per_start {
            let post = i % 2 == 1;
            let event = if post { POST_EVENT } else { GET_EVENT };
            let invocation = invoke(&function, event, 200).await?;
            if post {
                samples.warm_post.push(invocation.duration);
                posts_answered += 1;
                samples
                    .floor_update
                    .push(floor.call(FloorCall::UpdateItem, &store).await?);
                floor_updates += 1;
            } else {
                samples.warm_get.push(invocation.duration);
                samples
                    .floor_get
                    .push(floor.call(FloorCall::GetItem, &store).await?);
            }
        }
        let cpu_after = cpu_time(&function)?;
        samples.warm_cpu.push(
            cpu_after.saturating_sub(cpu_before) / u32::try_from(plan.warm_per_start.max(1))?,
        );
        for _ in 0..plan.not_found_per_start() {
            let invocation = invoke(&function, NOT_FOUND_EVENT, 404).await?;
            samples.warm_not_found.push(invocation.duration);
        }
        log_bytes += log_size(&function) - logs_at_ready;
        peak_rss_kib.push(function.peak_rss_kib().ok_or("cannot read VmHWM")?);
        rss_anon_file_kib.push(
            function
                .rss_anon_and_file_kib()
                .ok_or("cannot read RssAnon/RssFile")?,
        );
    }
    let count_moved =
        testkit::dynamodb::stored_count(admin, &table).await? - before - floor_updates;

    // The same init with the system's certificate bundle named in SSL_CERT_FILE, so
    // only that one file is read. Without it, the native-roots loader also reads every
    // file of the certificate directory, which on Debian and Ubuntu holds each root
    // again as a file of its own; AL2023 (Lambda's provided.al2023) has no such files.
    let bundle_file = crate::quota::bundle_file();
    if let Some(bundle) = bundle_file {
        let mut env = env.clone();
        env.push(("SSL_CERT_FILE".to_owned(), bundle.to_owned()));
        for _ in 0..plan.cold_starts / 2 {
            let (function, init) = start_ready(binary, &env).await?;
            samples.init_bundle_only.push(init);
            samples.init_cpu_bundle_only.push(cpu_time(&function)?);
        }
    }

    let invocations = plan.cold_starts * plan.invocations_per_start();
    Ok(Measured {
        lambda: LambdaFigures {
            init: Latency::of(samples.init),
            init_cpu: Latency::of(samples.init_cpu),
            bundle_file: bundle_file.map(str::to_owned),
            init_bundle_only: Latency::of(samples.init_bundle_only),
            init_cpu_bundle_only: Latency::of(samples.init_cpu_bundle_only),
            warm_cpu_per_invocation: Latency::of(samples.warm_cpu),
            first_post: Latency::of(samples.first_post),
            warm_get: Latency::of(samples.warm_get),
            warm_post: Latency::of(samples.warm_post),
            warm_not_found: Latency::of(samples.warm_not_found),
            invocations_per_start: plan.invocations_per_start(),
            peak_rss_kib,
            rss_anon_file_kib,
            log_bytes_per_invocation: log_bytes as f64 / invocations.max(1) as f64,
            count_moved,
            posts_answered,
        },
        floor: Floor {
            get_item: Latency::of(samples.floor_get),
            update_item: Latency::of(samples.floor_update),
        },
    })
}

/// Starts the function and waits for its first `/next`: the function and its init
/// time. Its log is in the error if it never gets there.
async fn start_ready(
    binary: &Path,
    env: &[(String, String)],
) -> Result<(LambdaFunction, Duration)> {
    let function = LambdaFunction::start(binary, REGION, env).await?;
    match function.wait_ready(READY_TIMEOUT).await {
        Ok(init) => Ok((function, init)),
        Err(error) => Err(format!("{error}; its log:\n{}", function.logs().join("\n")).into()),
    }
}

/// Invokes, expects `status`, and waits until the function is back in `/next`, so that
/// the floor's call after it never competes with it for the CPU.
async fn invoke(function: &LambdaFunction, event: &'static str, status: u64) -> Result<Invocation> {
    let invocation = function.invoke(event, INVOCATION_TIMEOUT).await?;
    if invocation.status_code() != Some(status) {
        return Err(format!(
            "expected {status}, the function answered: {}",
            invocation.response
        )
        .into());
    }
    function.wait_idle(INVOCATION_TIMEOUT).await?;
    Ok(invocation)
}

fn cpu_time(function: &LambdaFunction) -> Result<Duration> {
    Ok(function.cpu_time().ok_or("cannot read schedstat")?)
}

fn log_size(function: &LambdaFunction) -> usize {
    function.logs().iter().map(|line| line.len() + 1).sum()
}
