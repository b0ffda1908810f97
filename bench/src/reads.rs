//! `scripts/bench --reads`: what the reads cost, measured from outside the service
//! (issue 24, "Measured").
//!
//! On DynamoDB Local, three tables loaded by [`crate::loader`]: a busy one (about a
//! million items: 10,000 counters with their days, visitor markers, key records), and
//! two that hold counters and nothing else (100 and 10,000). The release binary serves
//! each through the recording proxy ([`testkit::proxy`]), which asks each call for
//! its `ConsumedCapacity` and sums what DynamoDB Local reports, so the service carries
//! no metering of its own. Per table: one page of
//! `GET /counters`, `GET /totals` and `GET /dashboard`, each with its read units and
//! its latency, both for the first request of a fresh process (the dashboard keeps
//! its page 30 s) and for requests after it. On the busy table, the public routes an anonymous client can call, for
//! the worst-case cost per hour at the stage's throttle, and the private ones with
//! `DASHBOARD_PASSWORD` set.
//!
//! On the embedded store: 200,000 counters imported with `visitor-counter counters
//! import`, the same routes, and a counted `POST`'s latency alone and while 32 clients
//! load the dashboard.
//!
//! Everything goes to one Markdown file (`docs/figures/reads.md`) and a JSON twin.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_dynamodb::Client;
use e2e::Latency;
use serde::Serialize;
use testkit::server::{LocalServer, local_command};
use visitor_counter::config::{
    COUNTER_DB, DASHBOARD_PASSWORD, MAX_COUNTERS, TableName, VIEWS_PER_VISITOR,
};
use visitor_counter::day::Day;
use visitor_counter::store::dynamodb::PAST_DAY_LIFETIME;

use crate::loader::{self, Loaded, Shape, counter_name, views_of};
use crate::{Result, say};
use testkit::proxy::{Calls, Proxy};

/// The stage's throttle (Terraform's `throttling_rate_limit`): requests a second one
/// client can send at most.
pub const THROTTLE_PER_SECOND: u64 = 20;
/// On-demand price of a million read request units (us-east-1, DynamoDB Standard).
pub const DOLLARS_PER_MILLION_READS: f64 = 0.125;
/// The counters of the busy table and of the large counters-only one.
pub const COUNTERS: usize = 10_000;
/// The counters of the small table.
pub const FEW_COUNTERS: usize = 100;
/// The password the private runs set.
const PASSWORD: &str = "bench-owner-secret";
/// The contract's promise: an answer within this.
const CONTRACT: Duration = Duration::from_secs(3);

/// What one run loads and how often it asks.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    /// Items of the busy table.
    pub items: usize,
    /// `BatchWriteItem`s in flight while loading.
    pub parallel: usize,
    /// Counters of the embedded store.
    pub embedded_counters: usize,
    /// Requests per route, one after another.
    pub samples: usize,
    /// Fresh processes per first-load figure.
    pub cold: usize,
    /// Seconds of the POST-under-dashboards run (longer than the page's 30 s, so the
    /// page is rendered again under load).
    pub pressure_seconds: u64,
    /// Clients loading the dashboard meanwhile.
    pub clients: usize,
    /// The command line that produced the figures, for the file.
    pub command: String,
}

/// One route, asked `requests` times.
#[derive(Debug, Clone, Serialize)]
pub struct RouteRun {
    /// `GET` or `POST`.
    pub method: &'static str,
    pub route: String,
    /// `first request of a fresh process` or `after the first`.
    pub when: &'static str,
    pub requests: usize,
    /// Answers by status.
    pub statuses: BTreeMap<u16, usize>,
    /// Read units per request, as DynamoDB Local reported them (DynamoDB only).
    pub read_units: Option<Spread>,
    /// Read units per request as DynamoDB bills them: each key asked for (found or
    /// not) and what the queries reported ([`Calls::billed_read_units`]).
    pub billed_units: Option<Spread>,
    /// The calls of the request that read the most.
    pub calls: Option<String>,
    /// Requests whose reads came back without a `ConsumedCapacity`.
    pub unreported: usize,
    pub latency: Option<Latency>,
}

/// Smallest, median and largest of a few numbers.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Option<Self> {
        values.sort_by(f64::total_cmp);
        Some(Self {
            min: *values.first()?,
            median: values[(values.len() - 1) / 2],
            max: *values.last()?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TableRun {
    pub label: String,
    pub loaded: Loaded,
    pub runs: Vec<RouteRun>,
}

/// A public route's worst case at the throttle.
#[derive(Debug, Clone, Serialize)]
pub struct PublicCost {
    pub route: String,
    pub read_units_per_request: f64,
    pub read_units_per_hour: f64,
    pub dollars_per_hour: f64,
    pub how: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbeddedRun {
    pub counters: usize,
    pub import_seconds: f64,
    pub runs: Vec<RouteRun>,
    pub post_alone: RouteRun,
    pub post_under_load: RouteRun,
    /// POSTs under load answered as counted (no `Visit-Filtered`).
    pub posts_counted: usize,
    pub dashboards_under_load: RouteRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadsReport {
    pub options: Options,
    pub machine: String,
    pub load_average: String,
    pub tables: Vec<TableRun>,
    pub public: Vec<RouteRun>,
    pub private: Vec<RouteRun>,
    pub costs: Vec<PublicCost>,
    pub embedded: Option<EmbeddedRun>,
}

/// One request's outcome.
struct Sample {
    status: u16,
    elapsed: Duration,
    calls: Option<Calls>,
    counted: bool,
}

/// Sends requests and reads what each cost from the proxy (when there is one).
struct Sampler<'a> {
    http: &'a reqwest::Client,
    proxy: Option<&'a Proxy>,
}

impl Sampler<'_> {
    async fn get(&self, url: &str) -> Result<Sample> {
        self.send(self.http.get(url)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Sample> {
        if let Some(proxy) = self.proxy {
            proxy.take();
        }
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status().as_u16();
        let counted = response.headers().get("visit-filtered").is_none();
        response.bytes().await?;
        let elapsed = started.elapsed();
        Ok(Sample {
            status,
            elapsed,
            calls: self.proxy.map(Proxy::take),
            counted,
        })
    }

    async fn repeat(&self, url: &str, times: usize) -> Result<Vec<Sample>> {
        let mut samples = Vec::with_capacity(times);
        for _ in 0..times {
            samples.push(self.get(url).await?);
        }
        Ok(samples)
    }
}

fn route_run(route: &str, when: &'static str, samples: &[Sample]) -> RouteRun {
    let mut statuses = BTreeMap::new();
    for sample in samples {
        *statuses.entry(sample.status).or_default() += 1;
    }
    let reads = |calls: &Calls| {
        calls
            .operations
            .iter()
            .filter(|(op, _)| matches!(op.as_str(), "GetItem" | "BatchGetItem" | "Query" | "Scan"))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let recorded: Vec<&Calls> = samples.iter().filter_map(|s| s.calls.as_ref()).collect();
    let unreported = recorded
        .iter()
        .filter(|calls| reads(calls) > 0 && calls.read_units.is_none())
        .count();
    let read_units = if recorded.is_empty() {
        None
    } else {
        Spread::of(
            recorded
                .iter()
                .map(|calls| calls.read_units.unwrap_or(0.0))
                .collect(),
        )
    };
    let billed_units = if recorded.is_empty() {
        None
    } else {
        Spread::of(
            recorded
                .iter()
                .map(|calls| calls.billed_read_units())
                .collect(),
        )
    };
    let calls = recorded
        .iter()
        .max_by(|a, b| a.billed_read_units().total_cmp(&b.billed_read_units()))
        .map(|calls| {
            let text = calls.operations_text();
            if text.is_empty() {
                "none".to_owned()
            } else {
                text
            }
        });
    RouteRun {
        method: "GET",
        route: route.to_owned(),
        when,
        requests: samples.len(),
        statuses,
        read_units,
        billed_units,
        calls,
        unreported,
        latency: Latency::of(samples.iter().map(|s| s.elapsed)),
    }
}

const FIRST: &str = "first request of a fresh process";
const AFTER: &str = "after the first";

fn start(binary: &Path, env: &[(String, String)]) -> Result<LocalServer> {
    Ok(LocalServer::start(
        local_command(binary, env).stderr(Stdio::null()),
    )?)
}

/// The first request of `cold` fresh processes.
async fn first_requests(
    binary: &Path,
    env: &[(String, String)],
    sampler: &Sampler<'_>,
    route: &str,
    cold: usize,
) -> Result<RouteRun> {
    let mut samples = Vec::new();
    for _ in 0..cold {
        let server = start(binary, env)?;
        samples.push(sampler.get(&server.url(route)).await?);
    }
    Ok(route_run(route, FIRST, &samples))
}

/// `route` once (not measured), then `samples` times in the same process.
async fn after_first(
    server: &LocalServer,
    sampler: &Sampler<'_>,
    route: &str,
    samples: usize,
) -> Result<RouteRun> {
    sampler.get(&server.url(route)).await?;
    let samples = sampler.repeat(&server.url(route), samples).await?;
    Ok(route_run(route, AFTER, &samples))
}

/// The three routes on one DynamoDB table, through the proxy.
async fn measure_table(
    binary: &Path,
    proxy: &Proxy,
    http: &reqwest::Client,
    table: &TableName,
    options: &Options,
) -> Result<Vec<RouteRun>> {
    let env = testkit::dynamodb::local_env(&proxy.endpoint(), table);
    let sampler = Sampler {
        http,
        proxy: Some(proxy),
    };
    // The first /totals a table ever gets rolls the site's visitors up (a year of the
    // site's days, once per table): done here, so the figures are the steady state.
    {
        let server = start(binary, &env)?;
        sampler.get(&server.url("/totals")).await?;
    }
    let mut runs = Vec::new();
    for route in ["/counters", "/totals", "/dashboard"] {
        runs.push(first_requests(binary, &env, &sampler, route, options.cold).await?);
        let server = start(binary, &env)?;
        runs.push(after_first(&server, &sampler, route, options.samples).await?);
    }
    Ok(runs)
}

/// The routes anyone can call, each asked for the most it answers, on the busy table.
fn public_routes(today: Day) -> Vec<(String, String)> {
    let from = today.plus(-365);
    let name = counter_name(0);
    vec![
        (format!("/counters/{name}"), "a counter".to_owned()),
        (
            format!("/counters/{name}/days?from={from}&to={today}"),
            "its days, 366 of them".to_owned(),
        ),
        (
            format!("/counters/{name}/badge.svg"),
            "its badge".to_owned(),
        ),
        (
            format!("/totals/days?from={from}&to={today}"),
            "the site's days, 366 of them".to_owned(),
        ),
        ("/totals".to_owned(), "the site's totals".to_owned()),
    ]
}

async fn measure_public(
    binary: &Path,
    proxy: &Proxy,
    http: &reqwest::Client,
    table: &TableName,
    options: &Options,
) -> Result<(Vec<RouteRun>, Vec<RouteRun>)> {
    let mut env = testkit::dynamodb::local_env(&proxy.endpoint(), table);
    env.push((DASHBOARD_PASSWORD.to_owned(), PASSWORD.to_owned()));
    let sampler = Sampler {
        http,
        proxy: Some(proxy),
    };
    let today = Day::of(SystemTime::now());
    let mut public = Vec::new();
    for (route, _) in public_routes(today) {
        public.push(first_requests(binary, &env, &sampler, &route, options.cold).await?);
    }
    let server = start(binary, &env)?;
    for (route, _) in public_routes(today) {
        public.push(after_first(&server, &sampler, &route, options.samples.min(20)).await?);
    }
    let mut private = Vec::new();
    for route in ["/dashboard", "/counters"] {
        private.push(first_requests(binary, &env, &sampler, route, options.cold).await?);
    }
    Ok((public, private))
}

/// The worst case of an anonymous client holding the throttle on each public route:
/// every request as costly as one after the first, and, where a process's first
/// request costs more (the days' routes: finished days are kept
/// [`PAST_DAY_LIFETIME`] per process), a first request each time they expire.
fn costs(public: &[RouteRun]) -> Vec<PublicCost> {
    let per_hour = (THROTTLE_PER_SECOND * 3600) as f64;
    let dollars = |units: f64| units * DOLLARS_PER_MILLION_READS / 1e6;
    let billed = |route: &str, when: &str| {
        public
            .iter()
            .find(|run| run.route == route && run.when == when)
            .and_then(|run| run.billed_units)
            .map_or(0.0, |r| r.max)
    };
    let firsts = (3600 / PAST_DAY_LIFETIME.as_secs()) as f64;
    public
        .iter()
        .filter(|run| run.when == AFTER)
        .map(|run| {
            let (first, after) = (billed(&run.route, FIRST), billed(&run.route, AFTER));
            let (units, how) = if first > after {
                (
                    after * (per_hour - firsts) + first * firsts,
                    format!(
                        "{} a request × {}, and {} for a process's first request, {} times an hour (finished days are kept {} minutes per process)",
                        units_text(after),
                        grouped(per_hour - firsts),
                        units_text(first),
                        firsts,
                        PAST_DAY_LIFETIME.as_secs() / 60
                    ),
                )
            } else {
                (
                    after * per_hour,
                    format!("{} a request × {} requests", units_text(after), grouped(per_hour)),
                )
            };
            PublicCost {
                route: run.route.clone(),
                read_units_per_request: after,
                read_units_per_hour: units,
                dollars_per_hour: dollars(units),
                how,
            }
        })
        .collect()
}

/// A generated export of `counters` counters (the first 50 with 30 days each, the
/// dashboard's charts).
fn write_export(path: &Path, counters: usize, today: Day) -> Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        file,
        "{}",
        serde_json::json!({"format": visitor_counter::export::FORMAT, "version": visitor_counter::export::VERSION})
    )?;
    for n in 0..counters {
        let views = views_of(n, counters);
        let days: Vec<serde_json::Value> = if n < 50 {
            (0..30)
                .rev()
                .map(|back| {
                    serde_json::json!({"date": today.plus(-back).to_string(), "views": 12, "visitors": 5})
                })
                .collect()
        } else {
            Vec::new()
        };
        writeln!(
            file,
            "{}",
            serde_json::json!({"name": counter_name(n), "views": views, "visitors": views / 3, "days": days})
        )?;
    }
    writeln!(
        file,
        "{}",
        serde_json::json!({"end": true, "counters": counters})
    )?;
    file.flush()?;
    Ok(())
}

async fn measure_embedded(
    binary: &Path,
    http: &reqwest::Client,
    options: &Options,
) -> Result<EmbeddedRun> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("count.redb");
    let export = dir.path().join("export.jsonl");
    let today = Day::of(SystemTime::now());
    write_export(&export, options.embedded_counters, today)?;
    let env = vec![
        (COUNTER_DB.to_owned(), db.display().to_string()),
        (MAX_COUNTERS.to_owned(), "1000000".to_owned()),
        (VIEWS_PER_VISITOR.to_owned(), "1000000000".to_owned()),
    ];
    say(&format!(
        "   importing {} counters",
        options.embedded_counters
    ));
    let started = Instant::now();
    let output = testkit::server::command(binary)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["counters", "import"])
        .arg(&export)
        .stdin(Stdio::null())
        .output()?;
    let import_seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "counters import failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let sampler = Sampler { http, proxy: None };
    let middle = counter_name(options.embedded_counters / 2);
    let mut runs = Vec::new();
    for route in [
        "/counters".to_owned(),
        format!("/counters?after={middle}"),
        "/totals".to_owned(),
        "/dashboard".to_owned(),
    ] {
        runs.push(first_requests(binary, &env, &sampler, &route, options.cold).await?);
        let server = start(binary, &env)?;
        runs.push(after_first(&server, &sampler, &route, options.samples).await?);
    }

    let post_route = format!("/counters/{}", counter_name(1));
    let post_alone = {
        let server = start(binary, &env)?;
        let mut samples = Vec::new();
        for _ in 0..options.samples * 2 {
            samples.push(sampler.send(http.post(server.url(&post_route))).await?);
        }
        RouteRun {
            method: "POST",
            ..route_run(&post_route, "alone", &samples)
        }
    };

    // A fresh process: the first dashboards render, then the page is kept 30 s and
    // rendered again under load.
    let server = start(binary, &env)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut loaders = Vec::new();
    for _ in 0..options.clients {
        let stop = Arc::clone(&stop);
        let http = http.clone();
        let url = server.url("/dashboard");
        loaders.push(tokio::spawn(async move {
            let sampler = Sampler {
                http: &http,
                proxy: None,
            };
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match sampler.get(&url).await {
                    Ok(sample) => samples.push(sample),
                    Err(_) => samples.push(Sample {
                        status: 0,
                        elapsed: Duration::ZERO,
                        calls: None,
                        counted: false,
                    }),
                }
            }
            samples
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let deadline = Instant::now() + Duration::from_secs(options.pressure_seconds);
    let mut posts = Vec::new();
    while Instant::now() < deadline {
        posts.push(sampler.send(http.post(server.url(&post_route))).await?);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut dashboards = Vec::new();
    for loader in loaders {
        dashboards.extend(loader.await?);
    }
    let posts_counted = posts
        .iter()
        .filter(|p| p.status == 200 && p.counted)
        .count();
    Ok(EmbeddedRun {
        counters: options.embedded_counters,
        import_seconds,
        runs,
        post_alone,
        post_under_load: RouteRun {
            method: "POST",
            ..route_run(&post_route, "while clients load the dashboard", &posts)
        },
        posts_counted,
        dashboards_under_load: route_run("/dashboard", "the loading clients", &dashboards),
    })
}

/// The whole reads benchmark; writes `figures` (Markdown) and its JSON twin.
pub async fn run(
    admin: &Client,
    binary: &Path,
    endpoint: &str,
    options: Options,
    figures: &Path,
    embedded_only: bool,
) -> Result<ReadsReport> {
    let load_before = crate::report::load_average();
    let http = testkit::http_client()?;
    let proxy = Proxy::start(endpoint).await?;
    let mut tables = Vec::new();
    let mut public = Vec::new();
    let mut private = Vec::new();
    if !embedded_only {
        let plans = [
            (
                format!(
                    "busy: {} counters among {} items",
                    grouped(COUNTERS as f64),
                    grouped(options.items as f64)
                ),
                Shape::busy(options.items, COUNTERS),
            ),
            (
                format!("{} counters, nothing else", grouped(FEW_COUNTERS as f64)),
                Shape::counters_only(FEW_COUNTERS),
            ),
            (
                format!("{} counters, nothing else", grouped(COUNTERS as f64)),
                Shape::counters_only(COUNTERS),
            ),
        ];
        for (i, (label, shape)) in plans.into_iter().enumerate() {
            let table = testkit::dynamodb::fresh_table(admin, "reads").await?;
            say(&format!("   loading {label}: {} items", shape.items()));
            let loaded = loader::load(admin, &table, shape, options.parallel, |done, secs| {
                say(&format!(
                    "     {done} items in {secs:.0} s ({:.0}/s)",
                    done as f64 / secs.max(f64::EPSILON)
                ));
            })
            .await?;
            say(&format!(
                "   loaded {} items in {:.0} s ({:.0}/s); measuring",
                loaded.items, loaded.seconds, loaded.items_per_second
            ));
            let runs = measure_table(binary, &proxy, &http, &table, &options).await?;
            for run in &runs {
                say(&format!("     {}", run_line(run)));
            }
            if i == 0 {
                say("   the public routes, and the private ones with DASHBOARD_PASSWORD set");
                (public, private) = measure_public(binary, &proxy, &http, &table, &options).await?;
                for run in public.iter().chain(&private) {
                    say(&format!("     {}", run_line(run)));
                }
            }
            tables.push(TableRun {
                label,
                loaded,
                runs,
            });
            // Each table is dropped after its figures: DynamoDB Local keeps them in memory.
            let _ = admin.delete_table().table_name(table.as_str()).send().await;
        }
    }
    say("   the embedded store");
    let embedded = measure_embedded(binary, &http, &options).await?;
    for run in embedded
        .runs
        .iter()
        .chain([&embedded.post_alone, &embedded.post_under_load])
    {
        say(&format!("     {}", run_line(run)));
    }
    let costs = costs(&public);
    let report = ReadsReport {
        machine: machine_text(&crate::report::Machine::now(load_before.clone())),
        load_average: format!(
            "{load_before} at the start, {} at the end",
            crate::report::load_average()
        ),
        options,
        tables,
        public,
        private,
        costs,
        embedded: Some(embedded),
    };
    if let Some(dir) = figures.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(figures, markdown(&report))?;
    std::fs::write(
        figures.with_extension("json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    Ok(report)
}

fn units_text(units: f64) -> String {
    if units == 1.0 {
        "1 unit".to_owned()
    } else {
        format!("{} units", grouped(units))
    }
}

fn machine_text(machine: &crate::report::Machine) -> String {
    format!(
        "{} ({} CPUs, {} MiB), Linux {}",
        machine.cpu_model, machine.cpus, machine.memory_mib, machine.kernel
    )
}

fn run_line(run: &RouteRun) -> String {
    format!(
        "{} ({}): {} read units billed ({} reported), p50 {} ms, p99 {} ms, statuses {:?}",
        run.route,
        run.when,
        run.billed_units
            .map_or("-".to_owned(), |r| format!("{}", r.max)),
        run.read_units
            .map_or("-".to_owned(), |r| format!("{}", r.max)),
        run.latency
            .map_or("-".to_owned(), |l| format!("{:.1}", l.p50_ms)),
        run.latency
            .map_or("-".to_owned(), |l| format!("{:.1}", l.p99_ms)),
        run.statuses
    )
}

fn units(spread: Option<Spread>) -> String {
    match spread {
        None => "-".to_owned(),
        Some(r) if r.min == r.max => grouped(r.max),
        Some(r) => format!("{} (median {})", grouped(r.max), grouped(r.median)),
    }
}

fn grouped(value: f64) -> String {
    if value.fract() != 0.0 {
        return format!("{value:.1}");
    }
    visitor_counter::markup::grouped(value as u64)
}

fn statuses(run: &RouteRun) -> String {
    run.statuses
        .iter()
        .map(|(status, n)| {
            if *status == 0 {
                format!("{n} failed")
            } else {
                format!("{n}× {status}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ms(run: &RouteRun) -> (String, String) {
    match run.latency {
        Some(l) => (format!("{:.1}", l.p50_ms), format!("{:.1}", l.p99_ms)),
        None => ("-".to_owned(), "-".to_owned()),
    }
}

fn route_rows(out: &mut String, runs: &[RouteRun], with_units: bool) {
    use std::fmt::Write as _;
    if with_units {
        out.push_str("| route | request | requests | answers | read units billed | reported by DynamoDB Local | DynamoDB calls (the costliest request) | p50 ms | p99 ms |\n| --- | --- | ---: | --- | ---: | ---: | --- | ---: | ---: |\n");
    } else {
        out.push_str("| route | request | requests | answers | p50 ms | p99 ms |\n| --- | --- | ---: | --- | ---: | ---: |\n");
    }
    for run in runs {
        let (p50, p99) = ms(run);
        if with_units {
            let _ = writeln!(
                out,
                "| `{} {}` | {} | {} | {} | {} | {} | {} | {p50} | {p99} |",
                run.method,
                run.route,
                run.when,
                run.requests,
                statuses(run),
                units(run.billed_units),
                units(run.read_units),
                run.calls.as_deref().unwrap_or("-"),
            );
        } else {
            let _ = writeln!(
                out,
                "| `{} {}` | {} | {} | {} | {p50} | {p99} |",
                run.method,
                run.route,
                run.when,
                run.requests,
                statuses(run),
            );
        }
    }
}

/// The figures file.
pub fn markdown(report: &ReadsReport) -> String {
    use std::fmt::Write as _;
    let o = &report.options;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Reads: what they cost, measured\n\n\
Generated by `{}` (`bench/src/reads.rs`); do not edit by hand, run it again. \
Linked from [performance.md](../performance.md#reads-what-they-cost).\n",
        o.command
    );
    let _ = writeln!(
        out,
        "Machine: {}; load average {}. DynamoDB Local in memory on the same machine; the \
release binary in local mode. Latencies are over loopback HTTP, one request at a time, \
nearest rank (with {} requests p99 is the slowest but one at most; with {} it is the \
slowest). Read units are counted from outside the service, by the recording proxy \
in front of DynamoDB Local (`testkit/src/proxy.rs`); the service meters nothing. \
\"Billed\" is what DynamoDB on demand charges for the request's calls: one unit for each key a \
`GetItem` or `BatchGetItem` asks for (every read here is strongly consistent and every item \
under 4 KB; a key whose item does not exist is charged the same), plus the units DynamoDB \
reported for each `Query`. \"Reported\" is the sum of the `ConsumedCapacity` DynamoDB Local \
answered (the proxy asks each call for `TOTAL`): it charges only the items it found, \
so it is lower where a read asks for days that have no item.\n",
        report.machine, report.load_average, o.samples, o.cold
    );
    let unreported: usize = report
        .tables
        .iter()
        .flat_map(|t| &t.runs)
        .chain(&report.public)
        .map(|r| r.unreported)
        .sum();
    let _ = writeln!(
        out,
        "Requests whose reads came back without `ConsumedCapacity`: {unreported}.\n"
    );
    out.push_str("## On DynamoDB\n\n");
    out.push_str(
        "\"First request of a fresh process\": each request is the first a newly started \
process serves (the dashboard keeps its page for 30 s per process: this is the load that \
reads). \"After the first\": one process, the same route again and again after one \
unmeasured request (so the dashboard is served from memory). A page of `GET /counters` is \
1,000 counters. The first `/totals` a table ever gets rolls up a year of the site's \
days once; the benchmark sends it before measuring.\n\n",
    );
    for table in &report.tables {
        let l = &table.loaded;
        let _ = writeln!(
            out,
            "### {}\n\n{} items loaded in {:.0} s ({:.0} items/s, {} `BatchWriteItem`s of 25 in flight): \
{} counters (in the `counters` index, with the registry), {} days per counter spread over the \
last year, {} visitor markers, {} key records, a year of the site's days.\n",
            table.label,
            grouped(l.items as f64),
            l.seconds,
            l.items_per_second,
            l.parallel,
            grouped(l.shape.counters as f64),
            l.shape.days_per_counter,
            grouped(l.shape.markers as f64),
            grouped(l.shape.keys as f64),
        );
        route_rows(&mut out, &table.runs, true);
        out.push('\n');
    }

    out.push_str("### Side by side: does the cost grow with the table?\n\n");
    let mut header = "| route | request |".to_owned();
    let mut rule = "| --- | --- |".to_owned();
    for table in &report.tables {
        let _ = write!(header, " {}: read units, p50 / p99 ms |", table.label);
        rule.push_str(" ---: |");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    if let Some(first) = report.tables.first() {
        for (i, run) in first.runs.iter().enumerate() {
            let _ = write!(out, "| `GET {}` | {} |", run.route, run.when);
            for table in &report.tables {
                if let Some(run) = table.runs.get(i) {
                    let (p50, p99) = ms(run);
                    let _ = write!(out, " {}, {p50} / {p99} |", units(run.billed_units));
                }
            }
            out.push('\n');
        }
    }
    out.push('\n');

    out.push_str("## An anonymous client at the stage's throttle\n\n");
    let _ = writeln!(
        out,
        "On the busy table, with `DASHBOARD_PASSWORD` set (as a deployed stack sets it). \
The routes that need the owner's password, asked without it:\n"
    );
    route_rows(&mut out, &report.private, true);
    out.push_str(
        "\nThe public routes, each asked for the most it answers: the first request of a fresh \
process, then requests after the first in one process:\n\n",
    );
    route_rows(&mut out, &report.public, true);
    let _ = writeln!(
        out,
        "\nThe worst case per hour of one client sending {THROTTLE_PER_SECOND} requests a second \
(the stage's throttle) to one route, at ${DOLLARS_PER_MILLION_READS} per million read \
request units (on demand, us-east-1; a strongly consistent read of an item under 4 KB is \
one unit, and `BatchGetItem` charges each key asked for as a `GetItem`, found or not). \
The throttle is the stage's, for every client together, so this is also the worst case \
of all anonymous clients at once:\n"
    );
    out.push_str("| route | read units a request | read units an hour | dollars an hour | how |\n| --- | ---: | ---: | ---: | --- |\n");
    let mut worst: Option<&PublicCost> = None;
    for cost in &report.costs {
        let _ = writeln!(
            out,
            "| `GET {}` | {} | {} | ${:.3} | {} |",
            cost.route,
            grouped(cost.read_units_per_request),
            grouped(cost.read_units_per_hour.round()),
            cost.dollars_per_hour,
            cost.how
        );
        if worst.is_none_or(|w| cost.dollars_per_hour > w.dollars_per_hour) {
            worst = Some(cost);
        }
    }
    if let Some(worst) = worst {
        let _ = writeln!(
            out,
            "\nWorst case: `GET {}`, ${:.2} an hour{}.\n",
            worst.route,
            worst.dollars_per_hour,
            if worst.dollars_per_hour < 1.0 {
                ", under a dollar"
            } else {
                ": more than a dollar an hour"
            }
        );
    }

    if let Some(e) = &report.embedded {
        let _ = writeln!(
            out,
            "## On the embedded store (redb)\n\n{} counters, imported with `visitor-counter \
counters import` (`MAX_COUNTERS` raised) from a generated export in {:.1} s; the first 50 \
with 30 days each. No read units here: latency only.\n",
            grouped(e.counters as f64),
            e.import_seconds
        );
        route_rows(&mut out, &e.runs, false);
        let _ = writeln!(
            out,
            "\nA legitimate `POST` (a browser's `User-Agent`, `VIEWS_PER_VISITOR` raised so \
one client keeps counting), one every 50 ms for {} s, while {} clients load \
`/dashboard` in a loop (a fresh process: the first loads render the page, and it is \
rendered again after its 30 s); the contract promises an answer within {} s:\n",
            o.pressure_seconds,
            o.clients,
            CONTRACT.as_secs()
        );
        route_rows(
            &mut out,
            &[
                e.post_alone.clone(),
                e.post_under_load.clone(),
                e.dashboards_under_load.clone(),
            ],
            false,
        );
        let slowest = e.post_under_load.latency.map_or(0.0, |l| l.max_ms);
        let _ = writeln!(
            out,
            "\n{} of {} POSTs under load were answered `200` and counted; the slowest took \
{:.0} ms ({} the {} s contract).",
            e.posts_counted,
            e.post_under_load.requests,
            slowest,
            if slowest <= CONTRACT.as_millis() as f64 {
                "within"
            } else {
                "past"
            },
            CONTRACT.as_secs()
        );
    }
    out
}
