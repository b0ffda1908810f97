//! A load generator for the counter: many `GET`s and `POST`s at once, their latency,
//! and whether every answered visit was counted exactly once.
//!
//! [`run`] reads the count once, sends [`LoadOptions::requests`] requests to
//! `<base_url>/count` from [`LoadOptions::concurrency`] workers (a [`Mix`] of `GET`s and
//! `POST`s) over the checker's HTTP client and one shared keep-alive connection pool,
//! reads the count once more, and returns a [`LoadReport`]: answers by status, requests
//! that got no answer, throughput, latency percentiles, and the integrity check: the
//! count moved by exactly the number of `POST`s answered 200, and every one of those
//! answers carried its own count. [`run_recorded`] also keeps every request's
//! [`Sample`], and can be stopped early.
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
//! Every `POST` is a real visit, sent as a desktop browser's (the service counts no
//! bot), with a new visitor every 50 requests so that the default limit of views per
//! visitor never stops one from counting ([`crate::agent`]). Runs are capped at [`MAX_REQUESTS`] requests and
//! [`MAX_CONCURRENCY`] workers so that a mistyped number cannot flood a stage; never
//! point it at production.

mod mix;
mod report;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, ORIGIN, USER_AGENT};
use reqwest::{Method, StatusCode, Url};

pub use self::mix::Mix;
use self::report::Tally;
pub use self::report::{INTEGRITY_NOTE, LoadReport};
use crate::agent::{Browsers, DEFAULT_VIEWS_PER_VISITOR};
use crate::contract::count_in;
use crate::error::Error;
use crate::http::{Broken, Client, Fetched, Request, error_chain};
use crate::options::{self, check_origin, check_range, check_timeout};
use crate::report::excerpt;

/// The most requests one run will send.
pub const MAX_REQUESTS: u64 = 100_000;
/// The most concurrent workers one run will use.
pub const MAX_CONCURRENCY: usize = 512;
/// Requests per run unless told otherwise.
pub const DEFAULT_REQUESTS: u64 = 1000;
/// Concurrent workers unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Tries at reading the count after the run, and the pause between them.
const FINAL_READ_TRIES: u32 = 3;
const FINAL_READ_PAUSE: Duration = Duration::from_millis(250);

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
            timeout: options::DEFAULT_TIMEOUT,
            origin: None,
        }
    }
}

impl LoadOptions {
    /// Every option usable, or the first that is not.
    fn check(&self) -> Result<(), Error> {
        if let Some(origin) = &self.origin {
            check_origin(origin)?;
        }
        check_range(
            "the number of requests",
            self.requests,
            MAX_REQUESTS,
            " (every POST is a real visit)",
        )?;
        check_range("the concurrency", self.concurrency, MAX_CONCURRENCY, "")?;
        check_timeout(self.timeout)
    }
}

/// Stops a [`run_recorded`] early: no worker takes another request once it is set.
/// Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// One request of a recorded run, as the client saw it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub method: Method,
    /// When it was sent.
    pub sent_at: Instant,
    /// From sending it to the end of its answer's body (or to the failure).
    pub elapsed: Duration,
    /// The answer's status; `None` when no whole answer came (see `error`).
    pub status: Option<u16>,
    pub headers: HeaderMap,
    /// The answer's body, as text (at most 64 KiB of it).
    pub body: String,
    /// The count of a `200 {"count": N}` answer.
    pub count: Option<u64>,
    /// Why no whole answer came: a timeout, a refused or reset connection.
    pub error: Option<String>,
}

impl Sample {
    fn new(
        method: Method,
        sent_at: Instant,
        elapsed: Duration,
        result: Result<Fetched, Broken>,
    ) -> Self {
        match result {
            Ok(answer) => Self {
                method,
                sent_at,
                elapsed,
                status: Some(answer.status.as_u16()),
                count: (answer.status == StatusCode::OK)
                    .then(|| count_in(&answer.body))
                    .flatten(),
                body: String::from_utf8_lossy(&answer.body).into_owned(),
                headers: answer.headers,
                error: None,
            },
            Err(broken) => Self {
                method,
                sent_at,
                elapsed,
                status: None,
                headers: broken.head.map(|(_, headers)| headers).unwrap_or_default(),
                body: String::from_utf8_lossy(&broken.body).into_owned(),
                count: None,
                error: Some(error_chain(&broken.source)),
            },
        }
    }

    /// One header of the answer, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A recorded run: the report, and every request in the order they were sent.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub report: LoadReport,
    pub samples: Vec<Sample>,
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
    Ok(execute(base_url, options, None).await?.0)
}

/// As [`run`], keeping every request's [`Sample`]; stops early (with a report of what
/// was sent) when `stop` is set.
pub async fn run_recorded(
    base_url: &str,
    options: &LoadOptions,
    stop: &Stop,
) -> Result<Recorded, Error> {
    let (report, samples) = execute(base_url, options, Some(stop)).await?;
    Ok(Recorded { report, samples })
}

/// The run; samples are kept when there is a `stop` to honour.
async fn execute(
    base_url: &str,
    options: &LoadOptions,
    stop: Option<&Stop>,
) -> Result<(LoadReport, Vec<Sample>), Error> {
    let base = options::base_url(base_url)?;
    options.check()?;
    // Unpaced: the load generator measures how fast the service answers, throttle included.
    let browsers = Browsers::new();
    let client = Client::new(
        base,
        options.timeout,
        options.concurrency,
        None,
        &browsers.visitor(0),
    )?;
    let target = Arc::new(Target::new(client, options.origin.as_deref(), browsers)?);

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
        stop: stop.cloned(),
    });
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..workers {
        running.spawn(work(Arc::clone(&target), Arc::clone(&plan)));
    }
    let mut tally = Tally::default();
    let mut samples = Vec::new();
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok((worker, kept)) => {
                tally.merge(worker);
                samples.extend(kept);
            }
            // A worker panicked: a bug here, not a finding about the service.
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();
    samples.sort_by_key(|sample| sample.sent_at);

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

    let report = tally.report(
        &target.url,
        options,
        workers,
        elapsed,
        count_before,
        count_after,
    );
    Ok((report, samples))
}

/// Where the requests go; shared by the workers.
struct Target {
    client: Client,
    url: Url,
    get: Request,
    post: Request,
    browsers: Browsers,
}

impl Target {
    fn new(client: Client, origin: Option<&str>, browsers: Browsers) -> Result<Self, Error> {
        let url = client.url("count")?;
        let request = |method| match origin {
            Some(origin) => Request::new(method, "count").header(ORIGIN, origin),
            None => Request::new(method, "count"),
        };
        Ok(Self {
            get: request(Method::GET),
            post: request(Method::POST),
            client,
            url,
            browsers,
        })
    }

    /// The request numbered `index` of the run. A `POST` is a browser's visit, and the
    /// requests are a new visitor every [`DEFAULT_VIEWS_PER_VISITOR`]: however many
    /// there are, none is past the service's default limit of views per visitor, so
    /// every answered visit is counted.
    async fn send(&self, post: bool, index: u64) -> Result<Fetched, Broken> {
        if !post {
            return self.client.fetch(self.url.clone(), &self.get).await;
        }
        let visitor = self.browsers.visitor(index / DEFAULT_VIEWS_PER_VISITOR);
        let request = self.post.clone().header(USER_AGENT, &visitor);
        self.client.fetch(self.url.clone(), &request).await
    }

    /// One `GET`, outside the timed part.
    async fn read_count(&self) -> Result<u64, CountRead> {
        let answer = self
            .send(false, 0)
            .await
            .map_err(|broken| CountRead::NoAnswer(broken.source))?;
        (answer.status == StatusCode::OK)
            .then(|| count_in(&answer.body))
            .flatten()
            .ok_or_else(|| {
                CountRead::NoCount(format!(
                    "GET answered {} with body {:?}",
                    answer.status,
                    excerpt(&answer.body)
                ))
            })
    }
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

/// Which requests are left: workers take the next index until it reaches `total`, or
/// until `stop` is set.
struct Plan {
    total: u64,
    next: AtomicU64,
    mix: Mix,
    /// Set for a recorded run, which keeps every sample.
    stop: Option<Stop>,
}

/// One worker: takes requests off the plan until none is left.
async fn work(target: Arc<Target>, plan: Arc<Plan>) -> (Tally, Vec<Sample>) {
    let mut tally = Tally::default();
    let mut samples = Vec::new();
    loop {
        if plan.stop.as_ref().is_some_and(Stop::is_stopped) {
            break;
        }
        let index = plan.next.fetch_add(1, Ordering::Relaxed);
        if index >= plan.total {
            break;
        }
        let post = plan.mix.is_post(index);
        let sent_at = Instant::now();
        let result = target.send(post, index).await;
        let elapsed = sent_at.elapsed();
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        tally.record(post, micros, &result);
        if plan.stop.is_some() {
            let method = if post { Method::POST } else { Method::GET };
            samples.push(Sample::new(method, sent_at, elapsed, result));
        }
    }
    (tally, samples)
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn the_caps_are_inclusive_and_the_shared_checks_apply() {
        // Over the caps and zero: tests/checker/load.rs, which also shows nothing is sent.
        let at_caps = LoadOptions {
            requests: MAX_REQUESTS,
            concurrency: MAX_CONCURRENCY,
            ..LoadOptions::default()
        };
        at_caps.check().unwrap();
        let no_time = LoadOptions {
            timeout: Duration::ZERO,
            ..LoadOptions::default()
        };
        assert!(matches!(no_time.check(), Err(Error::InvalidOptions(_))));
        let bad_origin = LoadOptions {
            origin: Some("https://example.com/".to_owned()),
            ..LoadOptions::default()
        };
        assert!(matches!(
            bad_origin.check(),
            Err(Error::InvalidOrigin { .. })
        ));
    }
}
