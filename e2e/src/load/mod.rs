//! A load generator for the counter: many `GET`s and `POST`s at once, their latency,
//! and whether every answered visit was counted exactly once.
//!
//! [`run`] reads the count once, sends [`LoadOptions::requests`] requests to
//! `<base_url>/count` from [`LoadOptions::concurrency`] workers (a [`Mix`] of `GET`s and
//! `POST`s) over one shared keep-alive connection pool, reads the count once more, and
//! returns a [`LoadReport`]: answers by status, requests that got no answer, throughput,
//! latency percentiles, and the integrity check: the count moved by exactly the number
//! of `POST`s answered 200, and every one of those answers carried its own count.
//!
//! ```no_run
//! # async fn example() -> Result<(), e2e::Error> {
//! let options = e2e::load::LoadOptions {
//!     requests: 2000,
//!     concurrency: 32,
//!     mix: "0:1".parse()?,
//!     ..e2e::load::LoadOptions::default()
//! };
//! let report = e2e::load::run("http://127.0.0.1:3000", &options).await?;
//! print!("{report}");
//! assert!(report.passed, "{report}");
//! # Ok(())
//! # }
//! ```
//!
//! Every `POST` is a real visit. Runs are capped at [`MAX_REQUESTS`] requests and
//! [`MAX_CONCURRENCY`] workers so that a mistyped number cannot flood a stage; never
//! point it at production.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize, Serializer};

use crate::Error;
use crate::http::error_chain;
use crate::report::excerpt;

/// The most requests one run will send.
pub const MAX_REQUESTS: u64 = 100_000;
/// The most concurrent workers one run will use.
pub const MAX_CONCURRENCY: usize = 512;
/// Requests per run unless told otherwise.
pub const DEFAULT_REQUESTS: u64 = 1000;
/// Concurrent workers unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// What the integrity check takes for granted; part of every report.
pub const INTEGRITY_NOTE: &str =
    "the integrity check assumes no other traffic moves the count during the run";

/// The most of a body read from one answer; the contract's bodies are a few dozen bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Distinct error messages kept as examples in the report.
const MAX_ERROR_SAMPLES: usize = 5;
/// Tries at reading the count after the run, and the pause between them.
const FINAL_READ_TRIES: u32 = 3;
const FINAL_READ_PAUSE: Duration = Duration::from_millis(250);

/// The share of `GET`s and `POST`s, as weights: `1:1` alternates, `3:1` sends one `POST`
/// after every three `GET`s, `0:1` only `POST`s, `1:0` only `GET`s.
///
/// Written and parsed as `get:post`. The requests are spread evenly and
/// deterministically: of the first `n` requests, exactly [`Mix::posts_in`]`(n)` are
/// `POST`s, whatever the timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    get: u32,
    post: u32,
}

impl Mix {
    /// As many `GET`s as `POST`s.
    pub const EVEN: Self = Self { get: 1, post: 1 };
    /// `GET`s only: nothing changes the count.
    pub const GET_ONLY: Self = Self { get: 1, post: 0 };
    /// `POST`s only.
    pub const POST_ONLY: Self = Self { get: 0, post: 1 };

    /// A mix of these weights; at least one must be more than zero.
    pub fn new(get: u32, post: u32) -> Result<Self, Error> {
        if get == 0 && post == 0 {
            return Err(Error::InvalidOptions(
                "the mix 0:0 sends nothing; give a GET or a POST weight above zero".to_owned(),
            ));
        }
        Ok(Self { get, post })
    }

    /// The `GET` weight.
    pub fn get(&self) -> u32 {
        self.get
    }

    /// The `POST` weight.
    pub fn post(&self) -> u32 {
        self.post
    }

    /// Whether request number `index` (from 0) is a `POST`.
    pub fn is_post(&self, index: u64) -> bool {
        let cycle = u64::from(self.get) + u64::from(self.post);
        if cycle == 0 {
            return false;
        }
        let step = index % cycle;
        let post = u64::from(self.post);
        (step + 1) * post / cycle > step * post / cycle
    }

    /// How many of the first `requests` requests are `POST`s.
    pub fn posts_in(&self, requests: u64) -> u64 {
        let cycle = u64::from(self.get) + u64::from(self.post);
        if cycle == 0 {
            return 0;
        }
        let post = u64::from(self.post);
        requests / cycle * post + requests % cycle * post / cycle
    }
}

impl Default for Mix {
    fn default() -> Self {
        Self::EVEN
    }
}

impl FromStr for Mix {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::InvalidOptions(format!(
                "the mix must be GET:POST weights such as 1:1, 0:1 or 3:1, not {text:?}"
            ))
        };
        let (get, post) = text.split_once(':').ok_or_else(invalid)?;
        let weight = |part: &str| part.trim().parse::<u32>().map_err(|_| invalid());
        Self::new(weight(get)?, weight(post)?)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.get, self.post)
    }
}

impl Serialize for Mix {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How to load a base URL.
///
/// ```
/// let options = e2e::load::LoadOptions {
///     requests: 200,
///     ..Default::default()
/// };
/// assert_eq!(options.concurrency, e2e::load::DEFAULT_CONCURRENCY);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Requests to send in all, 1 to [`MAX_REQUESTS`].
    pub requests: u64,
    /// Workers sending at the same time, 1 to [`MAX_CONCURRENCY`] (no more are started
    /// than there are requests). The connection pool keeps as many connections.
    pub concurrency: usize,
    /// The share of `GET`s and `POST`s.
    pub mix: Mix,
    /// Time allowed for each request, from connecting to the end of the body.
    pub timeout: Duration,
    /// An `Origin` header for every request, as a browser on that site would send.
    pub origin: Option<String>,
}

impl Default for LoadOptions {
    /// [`DEFAULT_REQUESTS`], [`DEFAULT_CONCURRENCY`], [`Mix::EVEN`],
    /// [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT), no `Origin`.
    fn default() -> Self {
        Self {
            requests: DEFAULT_REQUESTS,
            concurrency: DEFAULT_CONCURRENCY,
            mix: Mix::EVEN,
            timeout: crate::DEFAULT_TIMEOUT,
            origin: None,
        }
    }
}

/// Latency percentiles of the answered requests, in milliseconds (nearest rank, to the
/// microsecond).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// How many answered requests the figures come from.
    pub samples: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles of `micros`, which must be sorted; `None` when it is empty.
    fn of_sorted(micros: &[u64]) -> Option<Self> {
        let last = *micros.last()?;
        let samples = micros.len() as u64;
        let rank = |percent: u64| {
            // Nearest rank: the smallest value with at least `percent`% at or below it.
            let rank = (percent * samples).div_ceil(100).max(1);
            let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
            ms(micros.get(index).copied().unwrap_or(last))
        };
        Some(Self {
            samples,
            p50_ms: rank(50),
            p90_ms: rank(90),
            p99_ms: rank(99),
            max_ms: ms(last),
        })
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// What a run of [`run`] measured.
///
/// `Display` renders a few aligned lines and a closing `PASS: ...` or `FAIL: ...` line;
/// `Serialize` gives the same as one JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The URL that was loaded: `<base_url>/count`.
    pub url: String,
    /// The `Origin` sent with every request, if any.
    pub origin: Option<String>,
    pub mix: Mix,
    /// Workers that ran at the same time.
    pub concurrency: usize,
    /// Requests sent (all of [`LoadOptions::requests`]).
    pub sent: u64,
    pub gets_sent: u64,
    pub posts_sent: u64,
    /// Requests that got a whole answer, of any status.
    pub answered: u64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers with a 5xx status.
    pub server_errors: u64,
    /// Requests that got no (whole) answer: `timeouts + transport_errors`.
    pub errors: u64,
    /// Requests that ran out of [`LoadOptions::timeout`].
    pub timeouts: u64,
    /// Requests that failed otherwise: refused or reset connections, broken bodies.
    pub transport_errors: u64,
    /// Up to five distinct messages of those errors, as examples.
    pub error_samples: Vec<String>,
    /// Seconds from the first request sent to the last answer, the two reads of the
    /// count left out.
    pub elapsed_secs: f64,
    /// Answered requests per second of `elapsed_secs`.
    pub throughput_per_sec: f64,
    /// Latency of every answered request; `None` if none was answered.
    pub latency: Option<Latency>,
    /// Latency of the answered `GET`s.
    pub get_latency: Option<Latency>,
    /// Latency of the answered `POST`s.
    pub post_latency: Option<Latency>,
    /// The count read before the run.
    pub count_before: u64,
    /// The count read after the run; `None` if it could not be read (see
    /// `count_after_error`).
    pub count_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_after_error: Option<String>,
    /// `POST`s answered 200: visits the service says it counted.
    pub posts_answered_200: u64,
    /// Of those, answers whose body held no readable count.
    pub post_counts_unreadable: u64,
    /// `count_after - count_before - posts_answered_200`: negative when answered visits
    /// were lost, positive when visits were counted twice (or counted without a 200,
    /// such as a `POST` that timed out after the service counted it). `None` when the
    /// count could not be read after the run.
    pub lost_or_doubled: Option<i64>,
    /// `POST` answers whose count another `POST` answer had already carried.
    pub duplicate_values: usize,
    /// `lost_or_doubled` is 0, no duplicate values, and every 200 `POST` carried a count.
    pub integrity_holds: bool,
    /// [`INTEGRITY_NOTE`].
    pub integrity_note: &'static str,
    /// No 5xx, no request without an answer, and the integrity check holds.
    pub passed: bool,
}

impl LoadReport {
    /// Why the run failed, one reason each; empty when it passed.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.server_errors > 0 {
            problems.push(format!("{} answers were 5xx", self.server_errors));
        }
        if self.errors > 0 {
            problems.push(format!(
                "{} requests got no answer ({} timeouts, {} transport errors)",
                self.errors, self.timeouts, self.transport_errors
            ));
        }
        match (self.count_after, self.lost_or_doubled) {
            (Some(after), Some(lost_or_doubled)) if lost_or_doubled != 0 => {
                problems.push(format!(
                    "the count moved by {} for {} POSTs answered 200 (lost or doubled: {lost_or_doubled:+})",
                    i128::from(after) - i128::from(self.count_before),
                    self.posts_answered_200
                ));
            }
            (None, _) | (_, None) => problems.push(format!(
                "the count could not be read after the run: {}",
                self.count_after_error
                    .as_deref()
                    .unwrap_or("no reason given")
            )),
            _ => {}
        }
        if self.duplicate_values > 0 {
            problems.push(format!(
                "{} POST answers repeated a count another POST already got",
                self.duplicate_values
            ));
        }
        if self.post_counts_unreadable > 0 {
            problems.push(format!(
                "{} POSTs answered 200 without a readable count",
                self.post_counts_unreadable
            ));
        }
        problems
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "load on {}: mix {} (GET:POST), concurrency {}{}",
            self.url,
            self.mix,
            self.concurrency,
            self.origin
                .as_deref()
                .map(|origin| format!(", origin {origin}"))
                .unwrap_or_default()
        )?;
        writeln!(
            f,
            "{:<12}{} ({} GET, {} POST) in {:.3} s",
            "sent", self.sent, self.gets_sent, self.posts_sent, self.elapsed_secs
        )?;
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect();
        writeln!(
            f,
            "{:<12}{} ({})",
            "answered",
            self.answered,
            if statuses.is_empty() {
                "none".to_owned()
            } else {
                statuses.join(", ")
            }
        )?;
        writeln!(
            f,
            "{:<12}{} ({} timeouts, {} transport)",
            "no answer", self.errors, self.timeouts, self.transport_errors
        )?;
        for sample in &self.error_samples {
            writeln!(f, "{:<12}e.g. {sample}", "")?;
        }
        writeln!(
            f,
            "{:<12}{:.1} answered/s",
            "throughput", self.throughput_per_sec
        )?;
        writeln!(
            f,
            "{:<12}{:>9} {:>9} {:>9} {:>9}",
            "latency ms", "p50", "p90", "p99", "max"
        )?;
        for (label, latency) in [
            ("  all", &self.latency),
            ("  GET", &self.get_latency),
            ("  POST", &self.post_latency),
        ] {
            match latency {
                Some(latency) => writeln!(
                    f,
                    "{label:<12}{:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                    latency.p50_ms, latency.p90_ms, latency.p99_ms, latency.max_ms
                )?,
                None => writeln!(f, "{label:<12}{:>9} {:>9} {:>9} {:>9}", "-", "-", "-", "-")?,
            }
        }
        match self.count_after {
            Some(after) => writeln!(
                f,
                "{:<12}{} -> {after} ({:+})",
                "count",
                self.count_before,
                i128::from(after) - i128::from(self.count_before)
            )?,
            None => writeln!(
                f,
                "{:<12}{} -> unreadable: {}",
                "count",
                self.count_before,
                self.count_after_error
                    .as_deref()
                    .unwrap_or("no reason given")
            )?,
        }
        writeln!(
            f,
            "{:<12}{} answered 200, {} without a count",
            "POSTs", self.posts_answered_200, self.post_counts_unreadable
        )?;
        let lost_or_doubled = match self.lost_or_doubled {
            Some(0) => "0".to_owned(),
            Some(value) => format!("{value:+}"),
            None => "unknown".to_owned(),
        };
        writeln!(
            f,
            "{:<12}{}: lost or doubled {lost_or_doubled}, duplicate values {}",
            "integrity",
            if self.integrity_holds {
                "holds"
            } else {
                "BROKEN"
            },
            self.duplicate_values
        )?;
        writeln!(f, "{:<12}{INTEGRITY_NOTE}", "note")?;
        if self.passed {
            writeln!(
                f,
                "PASS: no 5xx, every request answered, the count moved by exactly the {} POSTs answered 200",
                self.posts_answered_200
            )
        } else {
            writeln!(f, "FAIL: {}", self.problems().join("; "))
        }
    }
}

/// Loads the counter at `base_url` (with its stage path if it has one, as for
/// [`verify`](crate::verify)) and reports what it measured.
///
/// Reads the count with one `GET` before and one after the timed part. Returns `Err`
/// when the run could not start: invalid options (including more than
/// [`MAX_REQUESTS`] requests or [`MAX_CONCURRENCY`] workers), a malformed base URL or
/// origin, or a first `GET` that got no answer ([`Error::Unreachable`]) or no count
/// ([`Error::NoCount`]). Once the run has started it always returns a report.
///
/// Every `POST` adds a visit. The integrity check assumes nothing else moves the count
/// during the run.
pub async fn run(base_url: &str, options: &LoadOptions) -> Result<LoadReport, Error> {
    let base = crate::http::base_url(base_url)?;
    check_options(options)?;
    let url = base.join("count").map_err(|error| Error::InvalidBaseUrl {
        url: base_url.to_owned(),
        reason: format!("cannot add count to it: {error}"),
    })?;
    crate::install_tls_provider();
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .pool_max_idle_per_host(options.concurrency)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "visitor-counter-e2e-load/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(Error::Client)?;
    let target = Arc::new(Target {
        client,
        url,
        origin: options.origin.clone(),
    });

    let count_before = match target.read_count().await {
        Ok(count) => count,
        Err(CountRead::NoAnswer(source)) => {
            return Err(Error::Unreachable {
                url: target.url.to_string(),
                source,
            });
        }
        Err(CountRead::NoCount(reason)) => {
            return Err(Error::NoCount {
                url: target.url.to_string(),
                reason,
            });
        }
    };

    let workers = usize::try_from(options.requests)
        .unwrap_or(usize::MAX)
        .min(options.concurrency);
    let plan = Arc::new(Plan {
        total: options.requests,
        next: AtomicU64::new(0),
        mix: options.mix,
    });
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..workers {
        running.spawn(work(Arc::clone(&target), Arc::clone(&plan)));
    }
    let mut tally = Tally::default();
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok(worker) => tally.merge(worker),
            // A worker panicked: a bug here, not a finding about the service.
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();

    let mut count_after = Err(String::new());
    for attempt in 0..FINAL_READ_TRIES {
        if attempt > 0 {
            tokio::time::sleep(FINAL_READ_PAUSE).await;
        }
        count_after = target.read_count().await.map_err(|error| error.to_string());
        if count_after.is_ok() {
            break;
        }
    }

    Ok(tally.report(
        &target,
        options,
        workers,
        elapsed,
        count_before,
        count_after,
    ))
}

fn check_options(options: &LoadOptions) -> Result<(), Error> {
    if let Some(origin) = &options.origin {
        crate::http::check_origin(origin)?;
    }
    if options.requests == 0 || options.requests > MAX_REQUESTS {
        return Err(Error::InvalidOptions(format!(
            "the number of requests must be between 1 and {MAX_REQUESTS}, not {} \
             (every POST is a real visit)",
            options.requests
        )));
    }
    if options.concurrency == 0 || options.concurrency > MAX_CONCURRENCY {
        return Err(Error::InvalidOptions(format!(
            "the concurrency must be between 1 and {MAX_CONCURRENCY}, not {}",
            options.concurrency
        )));
    }
    if options.timeout.is_zero() {
        return Err(Error::InvalidOptions(
            "the request timeout must be more than zero".to_owned(),
        ));
    }
    Ok(())
}

/// Where the requests go; shared by the workers.
struct Target {
    client: reqwest::Client,
    url: Url,
    origin: Option<String>,
}

/// Why the count could not be read.
enum CountRead {
    NoAnswer(reqwest::Error),
    NoCount(String),
}

impl fmt::Display for CountRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAnswer(error) => write!(f, "GET got no answer: {}", error_chain(error)),
            Self::NoCount(reason) => f.write_str(reason),
        }
    }
}

#[derive(Deserialize)]
struct CountBody {
    count: u64,
}

fn count_in(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<CountBody>(body)
        .ok()
        .map(|body| body.count)
}

impl Target {
    /// Sends one request and reads its whole answer (up to [`MAX_BODY_BYTES`]).
    async fn send(&self, method: Method) -> Result<(StatusCode, Vec<u8>), reqwest::Error> {
        let mut request = self.client.request(method, self.url.clone());
        if let Some(origin) = &self.origin {
            request = request.header(ORIGIN, origin);
        }
        let mut response = request.send().await?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() >= MAX_BODY_BYTES {
                break;
            }
        }
        Ok((status, body))
    }

    /// One `GET`, outside the timed part.
    async fn read_count(&self) -> Result<u64, CountRead> {
        let (status, body) = self.send(Method::GET).await.map_err(CountRead::NoAnswer)?;
        (status == StatusCode::OK)
            .then(|| count_in(&body))
            .flatten()
            .ok_or_else(|| {
                CountRead::NoCount(format!(
                    "GET answered {status} with body {:?}",
                    excerpt(&body)
                ))
            })
    }
}

/// Which requests are left: workers take the next index until it reaches `total`.
struct Plan {
    total: u64,
    next: AtomicU64,
    mix: Mix,
}

/// One worker: takes requests off the plan until none is left.
async fn work(target: Arc<Target>, plan: Arc<Plan>) -> Tally {
    let mut tally = Tally::default();
    loop {
        let index = plan.next.fetch_add(1, Ordering::Relaxed);
        if index >= plan.total {
            break;
        }
        let post = plan.mix.is_post(index);
        let method = if post { Method::POST } else { Method::GET };
        let started = Instant::now();
        let result = target.send(method).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        tally.record(post, micros, result);
    }
    tally
}

/// What one worker (or, merged, all of them) saw.
#[derive(Default)]
struct Tally {
    gets_sent: u64,
    posts_sent: u64,
    statuses: BTreeMap<u16, u64>,
    timeouts: u64,
    transport_errors: u64,
    error_samples: BTreeSet<String>,
    get_micros: Vec<u64>,
    post_micros: Vec<u64>,
    posts_answered_200: u64,
    post_counts_unreadable: u64,
    post_counts: Vec<u64>,
}

impl Tally {
    fn record(
        &mut self,
        post: bool,
        micros: u64,
        result: Result<(StatusCode, Vec<u8>), reqwest::Error>,
    ) {
        if post {
            self.posts_sent += 1;
        } else {
            self.gets_sent += 1;
        }
        match result {
            Ok((status, body)) => {
                *self.statuses.entry(status.as_u16()).or_default() += 1;
                if post {
                    self.post_micros.push(micros);
                    if status == StatusCode::OK {
                        self.posts_answered_200 += 1;
                        match count_in(&body) {
                            Some(count) => self.post_counts.push(count),
                            None => self.post_counts_unreadable += 1,
                        }
                    }
                } else {
                    self.get_micros.push(micros);
                }
            }
            Err(error) => {
                if error.is_timeout() {
                    self.timeouts += 1;
                } else {
                    self.transport_errors += 1;
                }
                if self.error_samples.len() < MAX_ERROR_SAMPLES {
                    self.error_samples.insert(error_chain(&error));
                }
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.gets_sent += other.gets_sent;
        self.posts_sent += other.posts_sent;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.timeouts += other.timeouts;
        self.transport_errors += other.transport_errors;
        for sample in other.error_samples {
            if self.error_samples.len() < MAX_ERROR_SAMPLES {
                self.error_samples.insert(sample);
            }
        }
        self.get_micros.extend(other.get_micros);
        self.post_micros.extend(other.post_micros);
        self.posts_answered_200 += other.posts_answered_200;
        self.post_counts_unreadable += other.post_counts_unreadable;
        self.post_counts.extend(other.post_counts);
    }

    fn report(
        mut self,
        target: &Target,
        options: &LoadOptions,
        workers: usize,
        elapsed: Duration,
        count_before: u64,
        count_after: Result<u64, String>,
    ) -> LoadReport {
        self.get_micros.sort_unstable();
        self.post_micros.sort_unstable();
        let mut all_micros = Vec::with_capacity(self.get_micros.len() + self.post_micros.len());
        all_micros.extend_from_slice(&self.get_micros);
        all_micros.extend_from_slice(&self.post_micros);
        all_micros.sort_unstable();

        self.post_counts.sort_unstable();
        let duplicate_values = self
            .post_counts
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .count();

        let answered: u64 = self.statuses.values().sum();
        let server_errors: u64 = self
            .statuses
            .iter()
            .filter(|(status, _)| (500..600).contains(*status))
            .map(|(_, count)| count)
            .sum();
        let errors = self.timeouts + self.transport_errors;
        let (count_after, count_after_error) = match count_after {
            Ok(count) => (Some(count), None),
            Err(error) => (None, Some(error)),
        };
        let lost_or_doubled = count_after.map(|after| {
            let moved = i128::from(after) - i128::from(count_before);
            let lost_or_doubled = moved - i128::from(self.posts_answered_200);
            i64::try_from(lost_or_doubled).unwrap_or(if lost_or_doubled < 0 {
                i64::MIN
            } else {
                i64::MAX
            })
        });
        let integrity_holds =
            lost_or_doubled == Some(0) && duplicate_values == 0 && self.post_counts_unreadable == 0;
        let seconds = elapsed.as_secs_f64();
        LoadReport {
            url: target.url.to_string(),
            origin: target.origin.clone(),
            mix: options.mix,
            concurrency: workers,
            sent: self.gets_sent + self.posts_sent,
            gets_sent: self.gets_sent,
            posts_sent: self.posts_sent,
            answered,
            statuses: self.statuses,
            server_errors,
            errors,
            timeouts: self.timeouts,
            transport_errors: self.transport_errors,
            error_samples: self.error_samples.into_iter().collect(),
            elapsed_secs: seconds,
            throughput_per_sec: if seconds > 0.0 {
                answered as f64 / seconds
            } else {
                0.0
            },
            latency: Latency::of_sorted(&all_micros),
            get_latency: Latency::of_sorted(&self.get_micros),
            post_latency: Latency::of_sorted(&self.post_micros),
            count_before,
            count_after,
            count_after_error,
            posts_answered_200: self.posts_answered_200,
            post_counts_unreadable: self.post_counts_unreadable,
            lost_or_doubled,
            duplicate_values,
            integrity_holds,
            integrity_note: INTEGRITY_NOTE,
            passed: server_errors == 0 && errors == 0 && integrity_holds,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn mixes_parse_and_print_as_get_post() {
        assert_eq!("1:1".parse::<Mix>().unwrap(), Mix::EVEN);
        assert_eq!("0:1".parse::<Mix>().unwrap(), Mix::POST_ONLY);
        assert_eq!("1:0".parse::<Mix>().unwrap(), Mix::GET_ONLY);
        assert_eq!(" 3 : 1 ".parse::<Mix>().unwrap(), Mix::new(3, 1).unwrap());
        assert_eq!(Mix::new(3, 1).unwrap().to_string(), "3:1");
        for bad in ["", "1", "1:", ":1", "0:0", "1:1:1", "-1:1", "a:b", "1.5:1"] {
            assert!(
                matches!(bad.parse::<Mix>(), Err(Error::InvalidOptions(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn mixes_spread_requests_evenly_and_exactly() {
        let pattern = |mix: Mix| -> String {
            (0..8)
                .map(|index| if mix.is_post(index) { 'P' } else { 'G' })
                .collect()
        };
        assert_eq!(pattern(Mix::EVEN), "GPGPGPGP");
        assert_eq!(pattern(Mix::new(3, 1).unwrap()), "GGGPGGGP");
        assert_eq!(pattern(Mix::new(1, 3).unwrap()), "GPPPGPPP");
        assert_eq!(pattern(Mix::POST_ONLY), "PPPPPPPP");
        assert_eq!(pattern(Mix::GET_ONLY), "GGGGGGGG");
        for (get, post) in [(1, 1), (3, 1), (1, 3), (2, 5), (0, 1), (1, 0), (7, 0)] {
            let mix = Mix::new(get, post).unwrap();
            for requests in 0..50 {
                let counted = (0..requests).filter(|&index| mix.is_post(index)).count();
                assert_eq!(mix.posts_in(requests), counted as u64, "{mix} x{requests}");
            }
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(Latency::of_sorted(&[]), None);
        let one = Latency::of_sorted(&[1500]).unwrap();
        assert_eq!((one.p50_ms, one.p99_ms, one.max_ms), (1.5, 1.5, 1.5));
        let hundred: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        let latency = Latency::of_sorted(&hundred).unwrap();
        assert_eq!(latency.samples, 100);
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p90_ms, 90.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(latency.max_ms, 100.0);
        let ten: Vec<u64> = (1..=10).collect();
        let latency = Latency::of_sorted(&ten).unwrap();
        assert_eq!(latency.p50_ms, 0.005);
        assert_eq!(latency.p99_ms, 0.010);
    }

    #[test]
    fn the_caps_are_inclusive() {
        let at_caps = LoadOptions {
            requests: MAX_REQUESTS,
            concurrency: MAX_CONCURRENCY,
            ..LoadOptions::default()
        };
        check_options(&at_caps).unwrap();
        for over in [
            LoadOptions {
                requests: MAX_REQUESTS + 1,
                ..LoadOptions::default()
            },
            LoadOptions {
                concurrency: MAX_CONCURRENCY + 1,
                ..LoadOptions::default()
            },
            LoadOptions {
                requests: 0,
                ..LoadOptions::default()
            },
            LoadOptions {
                concurrency: 0,
                ..LoadOptions::default()
            },
            LoadOptions {
                timeout: Duration::ZERO,
                ..LoadOptions::default()
            },
        ] {
            assert!(
                matches!(check_options(&over), Err(Error::InvalidOptions(_))),
                "{over:?} was accepted"
            );
        }
        let bad_origin = LoadOptions {
            origin: Some("https://example.com/".to_owned()),
            ..LoadOptions::default()
        };
        assert!(matches!(
            check_options(&bad_origin),
            Err(Error::InvalidOrigin { .. })
        ));
    }
}
