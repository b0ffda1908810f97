//! The benchmark behind `scripts/bench`: one run, on DynamoDB Local, side by side.
//!
//! 1. the floor: the service's own store (`DynamoDbStore`) calling `GetItem` and
//!    `UpdateItem`, each call right after the same request through the Lambda function
//!    ([`floor`]);
//! 2. the release binary as a Lambda function under the runtime emulator: init time,
//!    first invocation, warm latency, CPU time, peak RSS ([`lambda`]);
//! 3. the release binary in local mode, on DynamoDB and on the embedded store, loaded
//!    with the e2e load generator at concurrency 1 and 32 ([`local`]);
//! 4. the binary's and the deployment zip's sizes;
//! 5. the 128 MB mode: the release binary and the classic Python/boto3 function side by
//!    side, each alone in a cgroup with a 128 MB Lambda function's CPU share ([`quota`]);
//!
//! and the targets against what was measured, in one [`Report`](report::Report) that is
//! written as Markdown and as JSON. `scripts/bench` builds the binary, starts DynamoDB
//! Local and runs this; by hand:
//!
//! ```text
//! cargo run --release -p bench -- \
//!     --binary target/release/visitor-counter --endpoint http://127.0.0.1:8000 --out target/bench
//! ```

mod floor;
mod lambda;
mod loader;
mod local;
mod profile;
mod quota;
mod reads;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use e2e::load::Mix;
use serde::Serialize;

use crate::floor::FloorCall;
use crate::local::Store;
use crate::report::{Machine, Report, Sizes, Zip};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

/// The region the function is told it runs in.
const REGION: &str = testkit::dynamodb::REGION;

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "The visitor-counter benchmark: the SDK floor, Lambda mode, local mode and sizes"
)]
struct Args {
    /// The release visitor-counter binary to measure.
    #[arg(long, value_name = "PATH")]
    binary: PathBuf,
    /// DynamoDB Local's endpoint (default: $DYNAMODB_LOCAL_ENDPOINT).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Where report.md and report.json go.
    #[arg(long, value_name = "DIR", default_value = "target/bench")]
    out: PathBuf,
    /// The deployment zip to size.
    #[arg(long, value_name = "PATH")]
    zip: Option<PathBuf>,
    /// What the zip is, for the report.
    #[arg(long, value_name = "TEXT", default_value = "deployment zip")]
    zip_label: String,
    /// The zip is cargo lambda's arm64 build (the one the size target is about).
    #[arg(long)]
    zip_arm64: bool,
    /// A tenth of the samples: to try the benchmark out, not to quote.
    #[arg(long)]
    quick: bool,
    /// The floor, Lambda mode and sizes only.
    #[arg(long)]
    lambda_only: bool,
    /// The 128 MB mode (and sizes) only.
    #[arg(long)]
    quota_only: bool,
    /// The Python interpreter (with boto3 and awslambdaric) of the comparison; without
    /// it the 128 MB mode measures this service alone.
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// The directory of the Python function (`lambda_function.py`).
    #[arg(long, value_name = "DIR", default_value = "bench/python")]
    python_function: PathBuf,
    /// Instead of the benchmark: count the binary's instructions under callgrind (init,
    /// and warm v2 POSTs) and write the profile to OUT/profile. Give it the `profiling`
    /// build (the release build with symbols).
    #[arg(long)]
    profile: bool,
    /// Warm invocations the profile counts.
    #[arg(long, value_name = "N", default_value_t = 50)]
    profile_invocations: usize,
    /// Instead of the benchmark: what the reads cost (`GET /counters`, `/totals`, the
    /// dashboard) on DynamoDB Local tables the benchmark loads, and on the embedded
    /// store; written to --figures.
    #[arg(long)]
    reads: bool,
    /// Items of the reads benchmark's busy table.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    items: usize,
    /// `BatchWriteItem`s in flight while loading it.
    #[arg(long, value_name = "N", default_value_t = 8)]
    load_parallel: usize,
    /// Counters of the reads benchmark's embedded store.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    embedded_counters: usize,
    /// The reads benchmark's embedded store only (no DynamoDB tables).
    #[arg(long)]
    embedded_only: bool,
    /// Where the reads benchmark writes its figures (Markdown, and JSON beside it).
    #[arg(long, value_name = "PATH", default_value = "docs/figures/reads.md")]
    figures: PathBuf,
    /// Where a full run (not --quick, --lambda-only or --quota-only, with --python)
    /// writes its report for the docs to link to.
    #[arg(long, value_name = "PATH", default_value = "docs/figures/bench.md")]
    report_figures: PathBuf,
    /// Extra environment for the Lambda function, for experiments.
    #[arg(long, value_name = "NAME=VALUE", value_parser = name_value)]
    function_env: Vec<(String, String)>,
}

fn name_value(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{pair:?}: expected NAME=VALUE"))
}

/// How many of everything one run measures.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    /// Calls of each kind sent to DynamoDB Local, and thrown away, before anything is
    /// timed: its JVM compiles the hot paths during the first few hundred.
    pub jvm_warm_up: usize,
    /// Cold starts of the Lambda function; init and first invocation are their medians.
    pub cold_starts: usize,
    /// Warm invocations after each cold start (half GET, half POST), each followed by
    /// the same call from the floor's store.
    pub warm_per_start: usize,
    /// Requests per local-mode run.
    pub local_c1: u64,
    pub dynamodb_c32: u64,
    pub embedded_c32: u64,
    /// Cold starts in the 128 MB mode: this service's, Python's (whose init takes
    /// seconds at that share), and warm invocations of each operation after each.
    pub quota_cold_starts: usize,
    pub quota_cold_starts_python: usize,
    pub quota_warm_per_op: usize,
}

impl Plan {
    const FULL: Self = Self {
        jvm_warm_up: 1000,
        cold_starts: 20,
        warm_per_start: 100,
        local_c1: 1000,
        dynamodb_c32: 8000,
        embedded_c32: 20_000,
        quota_cold_starts: 10,
        quota_cold_starts_python: 4,
        quota_warm_per_op: 40,
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
            quota_cold_starts: 2,
            quota_cold_starts_python: 1,
            quota_warm_per_op: full.quota_warm_per_op / 8,
        }
    }

    /// Invocations per cold start: the first POST, the warm loop, the 404s.
    fn invocations_per_start(&self) -> usize {
        1 + self.warm_per_start + self.not_found_per_start()
    }

    fn not_found_per_start(&self) -> usize {
        self.warm_per_start / 5
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BoxError::from)
        .and_then(|runtime| runtime.block_on(run(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {}", visitor_counter::error_chain(&*error));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let load_at_start = report::load_average();
    let command = reads_command(&args);
    let endpoint = match args.endpoint {
        Some(endpoint) => endpoint,
        None => testkit::dynamodb::endpoint()?,
    };
    let binary = std::path::absolute(&args.binary)?;
    // Tables are made and counts read with the SDK's defaults; the floor is the store.
    let admin = testkit::dynamodb::client(&endpoint).await;
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::FULL
    };

    if args.profile {
        return profile::profile(
            &admin,
            &binary,
            &endpoint,
            &args.out.join("profile"),
            args.profile_invocations,
        )
        .await;
    }

    if args.reads {
        let options = reads::Options {
            items: args.items,
            parallel: args.load_parallel,
            embedded_counters: args.embedded_counters,
            samples: if args.quick { 10 } else { 50 },
            cold: if args.quick { 2 } else { 5 },
            pressure_seconds: if args.quick { 10 } else { 35 },
            clients: 32,
            command,
        };
        reads::run(
            &admin,
            &binary,
            &endpoint,
            options,
            &args.figures,
            args.embedded_only,
        )
        .await?;
        say(&format!("wrote {}", args.figures.display()));
        return Ok(());
    }

    let floor = floor::FloorWorker::start()?;
    say("warming up DynamoDB Local's JVM");
    let warm_table = testkit::dynamodb::fresh_table(&admin, "bench").await?;
    let warm_store = testkit::dynamodb::store(&endpoint, &warm_table).await?;
    for _ in 0..plan.jvm_warm_up {
        floor.call(FloorCall::UpdateItem, &warm_store).await?;
        floor.call(FloorCall::GetItem, &warm_store).await?;
    }

    let measured = if args.quota_only {
        None
    } else {
        say("1-2/5 Lambda mode under the runtime emulator, and the floor");
        Some(lambda::measure(&admin, &floor, &binary, &endpoint, &args.function_env, plan).await?)
    };

    let mut local = Vec::new();
    if args.lambda_only || args.quota_only {
        say("skipping local mode");
    } else {
        say("3/5 local mode: DynamoDB and the embedded store");
        for store in [Store::DynamoDb, Store::Embedded] {
            for concurrency in [1, 32] {
                for mix in [Mix::GET_ONLY, Mix::POST_ONLY] {
                    let requests = match (store, concurrency) {
                        (_, 1) => plan.local_c1,
                        (Store::DynamoDb, _) => plan.dynamodb_c32,
                        (Store::Embedded, _) => plan.embedded_c32,
                    };
                    let run = local::measure(
                        &admin,
                        &floor,
                        &binary,
                        &endpoint,
                        local::Setup {
                            store,
                            concurrency,
                            mix,
                            requests,
                        },
                    )
                    .await?;
                    say(&format!("   {}", run.summary()));
                    local.push(run);
                }
            }
        }
    }

    say("4/5 the 128 MB mode: each function alone on a 128 MB Lambda's CPU share");
    let mut contenders = vec![quota::Contender::rust(
        binary.clone(),
        plan.quota_cold_starts,
    )];
    let mut notes = Vec::new();
    match &args.python {
        Some(python) => contenders.push(quota::Contender::python(
            std::path::absolute(python)?,
            std::path::absolute(&args.python_function)?,
            plan.quota_cold_starts_python,
        )),
        None => notes.push("no --python given: the Python comparison was not run".to_owned()),
    }
    let quota = quota::measure(
        &admin,
        &endpoint,
        &contenders,
        plan.quota_warm_per_op,
        notes,
    )
    .await?;

    say("5/5 sizes");
    let zip = match &args.zip {
        Some(path) => Some(Zip {
            label: args.zip_label.clone(),
            bytes: std::fs::metadata(path)?.len(),
            arm64: args.zip_arm64,
        }),
        None => None,
    };
    let sizes = Sizes {
        binary_bytes: std::fs::metadata(&binary)?.len(),
        zip,
    };

    let report = Report::new(
        Machine::now(load_at_start),
        binary.display().to_string(),
        plan,
        measured,
        local,
        Some(quota),
        sizes,
    );
    let markdown = report.markdown();
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("report.md"), &markdown)?;
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    print!("{markdown}");
    say(&format!(
        "wrote {} and report.json",
        args.out.join("report.md").display()
    ));
    // Last, so that a path that cannot be written loses nothing of the run.
    let full = !(args.quick || args.lambda_only || args.quota_only) && args.python.is_some();
    let figures = args.report_figures.display();
    if !full {
        say(&format!("not a full run: {figures} left as it is"));
    } else if let Err(error) = std::fs::write(&args.report_figures, figures_page(&markdown)) {
        say(&format!("cannot write {figures}: {error}"));
    } else {
        say(&format!("wrote {figures}"));
    }
    Ok(())
}

/// The report as the docs' generated page: its title, where it comes from, then the
/// report without its own title.
fn figures_page(markdown: &str) -> String {
    let body = markdown
        .split_once('\n')
        .map_or(markdown, |(_, rest)| rest)
        .trim_start();
    format!(
        "# The benchmark's figures\n\nGenerated by `scripts/bench` (`bench/src/report.rs`) at \
         commit `{}`; do not edit by hand, run it again. Linked from \
         [performance.md](../performance.md), which says what each figure is.\n\n{body}",
        commit()
    )
}

/// The commit the benchmark was built from, `-dirty` if the work tree has changes.
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".to_owned();
    };
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
        _ => head,
    }
}

/// The `scripts/bench` command line that gives the reads benchmark these options.
fn reads_command(args: &Args) -> String {
    let mut command = "scripts/bench --reads".to_owned();
    if args.items != 1_000_000 {
        command.push_str(&format!(" --items {}", args.items));
    }
    if args.embedded_counters != 200_000 {
        command.push_str(&format!(" --embedded-counters {}", args.embedded_counters));
    }
    if args.embedded_only {
        command.push_str(" --embedded-only");
    }
    if args.quick {
        command.push_str(" --quick");
    }
    command
}

fn say(line: &str) {
    eprintln!("==> {line}");
}
