//! The HTTP application: one router, served by the local server and by Lambda alike.
//!
//! Routes (the contract is `contracts/openapi.json`):
//! - `/count`: v1's counter, which is the counter `site`
//! - `/counters`: every counter, sorted by name, in pages
//! - `/counters/{name}`: one counter; `POST` counts a visit
//! - `/counters/{name}/days`: a counter's daily history
//! - `/counters/{name}/badge.svg` and `/counters/{name}/shields.json`: a badge of one of
//!   its numbers ([`crate::badge`])
//! - `/counter.js`: the embed script ([`embed`])
//! - `/dashboard`: the site and its pages over a period, one HTML page or its CSV
//!   ([`crate::dashboard`]), unless
//!   `DASHBOARD=off`
//!
//! A preflight (`OPTIONS`) on `/counters/{name}` and the paths below it is answered
//! whatever the name: it only asks whether a page may send the request, and the
//! request itself then gets its `404 unknown-counter` with the CORS headers a page
//! can read. Refused at the preflight, a page would see only a network error and could
//! not tell a refused name from an API that is down.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::auth::Password;
use crate::badge::Badge;
use crate::chain::error_chain;
use crate::dashboard::Dashboard;
use crate::day::{Clock, Day, SystemClock};
use crate::idempotency::IdempotencyKey;
use crate::names::{AllowedCounters, CounterName};
use crate::problem::Problem;
use crate::store::{
    CounterStore, DEADLINE, DayTotals, Filter, Limits, Once, PAGE_SIZE, StoreError, Totals, Visit,
};
use crate::visitor::{ClientAddress, SaltCache};

pub mod cors;
mod count;
pub mod embed;
mod pages;
mod reads;

pub use cors::{AllowedOrigins, Cors};
use count::*;
use pages::*;
use reads::*;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1024;
/// How long a client may take to send its body (local mode; Lambda gets whole events).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// v1's path: the counter `site`.
pub const COUNT_PATH: &str = "/count";
/// The dates `days` answers when asked for none.
pub const DEFAULT_DAYS: i32 = 30;
/// The most dates one `days` answer holds.
pub const MAX_DAYS: i64 = 366;
/// The methods of the routes that count.
pub const COUNTING_METHODS: &str = "GET, HEAD, POST, OPTIONS";
/// The methods of the routes that only read.
pub const READING_METHODS: &str = "GET, HEAD, OPTIONS";
/// The methods of the pages and the script, which browsers load without CORS.
pub const PAGE_METHODS: &str = "GET, HEAD";
/// What a preflight allows on the routes that count: what a page's script sends (a
/// `HEAD` needs no preflight).
pub const PREFLIGHT_COUNTING: &str = "GET, POST, OPTIONS";
/// What a preflight allows on the routes that only read.
pub const PREFLIGHT_READING: &str = "GET, OPTIONS";
/// The header of a POST answered without being counted: `bot` or `limited`.
pub const FILTERED_HEADER: HeaderName = HeaderName::from_static("visit-filtered");
/// The whole site's totals.
pub const TOTALS_PATH: &str = "/totals";

/// What the app is configured with besides its store.
#[derive(Debug, Clone)]
pub struct Settings {
    pub allowed_origins: AllowedOrigins,
    pub counters: AllowedCounters,
    /// Whether `/dashboard` is served (`DASHBOARD`).
    pub dashboard: bool,
    pub limits: Limits,
    /// The owner's password for the dashboard and the list (`DASHBOARD_PASSWORD`).
    pub dashboard_password: Option<Password>,
    pub clock: Arc<dyn Clock>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allowed_origins: AllowedOrigins::None,
            counters: AllowedCounters::Any,
            dashboard: true,
            limits: Limits::default(),
            dashboard_password: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl From<AllowedOrigins> for Settings {
    fn from(allowed_origins: AllowedOrigins) -> Self {
        Self {
            allowed_origins,
            ..Self::default()
        }
    }
}

struct AppState<S> {
    store: Arc<S>,
    counters: AllowedCounters,
    dashboard: bool,
    limits: Limits,
    password: Option<Password>,
    clock: Arc<dyn Clock>,
    salts: SaltCache,
    pages: crate::dashboard::PageCache,
}

type Shared<S> = State<Arc<AppState<S>>>;

/// Builds the application around a store.
pub fn app<S: CounterStore>(store: Arc<S>, settings: impl Into<Settings>) -> Router {
    let settings = settings.into();
    let cors = Arc::new(Cors::new(settings.allowed_origins));
    let state = Arc::new(AppState {
        store,
        counters: settings.counters,
        dashboard: settings.dashboard,
        limits: settings.limits,
        password: settings.dashboard_password,
        clock: settings.clock,
        salts: SaltCache::default(),
        pages: crate::dashboard::PageCache::default(),
    });
    Router::new()
        .route("/", any(index))
        .route(COUNT_PATH, any(count::<S>))
        .route(TOTALS_PATH, any(totals::<S>))
        .route("/totals/days", any(totals_days::<S>))
        .route("/counters", any(list::<S>))
        .route("/counters/{name}", any(counter::<S>))
        .route("/counters/{name}/days", any(days::<S>))
        .route("/counters/{name}/badge.svg", any(badge_svg::<S>))
        .route("/counters/{name}/shields.json", any(shields_json::<S>))
        .route(embed::PATH, any(embed_script))
        .route(crate::dashboard::PATH, any(dashboard::<S>))
        .route("/dashboard/", any(dashboard_slash))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn(read_body))
        .layer(middleware::from_fn_with_state(cors, cors::layer))
        .layer(middleware::from_fn(no_store))
        .layer(middleware::from_fn(head))
}

/// `HEAD` is answered wherever `GET` is: the `GET`'s status and headers, no body
/// (RFC 9110 section 9.3.2). Uptime monitors and link checkers use it.
async fn head(mut request: Request, next: Next) -> Response {
    if request.method() != Method::HEAD {
        return next.run(request).await;
    }
    *request.method_mut() = Method::GET;
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    // Answers are small and already in memory: their length is what GET would send.
    if let Ok(bytes) = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
    {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    }
    Response::from_parts(parts, Body::empty())
}

/// The answer of a read-only route that takes no name to anything but `GET` (a `HEAD`
/// is a `GET` by then): the preflight to `OPTIONS`, the route's `405` to the others.
fn not_a_read(method: &Method) -> Option<Response> {
    match *method {
        Method::GET => None,
        Method::OPTIONS => Some(cors::preflight(PREFLIGHT_READING)),
        _ => Some(Problem::MethodNotAllowed(READING_METHODS).into_response()),
    }
}

async fn within_deadline<T>(
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(DEADLINE, work)
        .await
        .unwrap_or_else(|_elapsed| {
            Err(StoreError::Unavailable(
                "the store did not answer within the deadline".into(),
            ))
        })
}

/// The dates `days` answers: see the contract's range rules.
fn range(query: &Query, today: Day) -> Result<(Day, Day), Problem> {
    let date = |parameter: &'static str| -> Result<Option<Day>, Problem> {
        query.one(parameter)?.map_or(Ok(None), |text| {
            Day::parse(text).map(Some).ok_or_else(|| {
                invalid_query(format!(
                    "{parameter}: {text:?} is not a date (YYYY-MM-DD, a real calendar date)"
                ))
            })
        })
    };
    let (from, to) = match (date("from")?, date("to")?) {
        (None, None) => (today.plus(1 - DEFAULT_DAYS), today),
        (Some(from), None) => (from, today),
        (None, Some(to)) => (to.plus(1 - DEFAULT_DAYS), to),
        (Some(from), Some(to)) => (from, to),
    };
    if to > today {
        return Err(invalid_query(format!(
            "to: {to} is after today ({today}, UTC); there are no counts yet"
        )));
    }
    if from > to {
        return Err(invalid_query(format!("from: {from} is after to ({to})")));
    }
    let length = from.until(to) + 1;
    if length > MAX_DAYS {
        return Err(invalid_query(format!(
            "from..to: {length} dates; a range holds at most {MAX_DAYS}"
        )));
    }
    Ok((from, to))
}

/// A request's query parameters, percent-decoded.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(uri: &Uri) -> Self {
        let pairs = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Self(pairs)
    }

    /// The one value of `name`; given twice it is a 400. Unknown parameters are ignored.
    fn one(&self, name: &'static str) -> Result<Option<&str>, Problem> {
        let mut values = self
            .0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(invalid_query(format!("{name}: given more than once"))),
            (value, _) => Ok(value),
        }
    }
}

fn invalid_query(detail: String) -> Problem {
    Problem::InvalidQuery(Cow::Owned(detail))
}

/// Lets pages that isolate themselves (`Cross-Origin-Embedder-Policy`) load an answer.
pub const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-resource-policy");

/// A `200` of `body` with these headers.
pub fn with_headers(body: impl Into<Body>, headers: &[(HeaderName, &'static str)]) -> Response {
    let mut response = Response::new(body.into());
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}

fn json(body: &impl serde::Serialize) -> Response {
    // Plain structs of strings and integers always serialise.
    let mut response = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn store_failure(method: &Method, error: &StoreError) -> Response {
    let problem = Problem::from(error);
    // The cause chain goes to the log, never to the client.
    let cause = error_chain(error);
    match problem.status() {
        StatusCode::SERVICE_UNAVAILABLE => {
            tracing::warn!(%method, error = %cause, "storage unavailable")
        }
        _ => tracing::error!(%method, error = %cause, "storage failed"),
    }
    problem.into_response()
}

async fn not_found() -> Problem {
    Problem::NotFound
}

/// Reads the whole body before any handler runs, so an oversized, slow or broken
/// body is refused before anything is counted.
async fn read_body(request: Request, next: Next) -> Response {
    if declared_length(request.headers()).is_some_and(|length| length > BODY_LIMIT as u64) {
        return Problem::PayloadTooLarge { limit: BODY_LIMIT }.into_response();
    }
    let (parts, body) = request.into_parts();
    let collected = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, BODY_LIMIT).collect());
    let bytes: Bytes = match collected.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return Problem::PayloadTooLarge { limit: BODY_LIMIT }.into_response();
        }
        Ok(Err(_)) => return Problem::BadRequest.into_response(),
        Err(_elapsed) => return Problem::RequestTimeout.into_response(),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Counts are never cached: every answer is `no-store` unless its handler said
/// otherwise (the badge's `no-cache`, the embed script's lifetime).
async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
