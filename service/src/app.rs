//! The HTTP application: one router, served by the local server and by Lambda alike.
//!
//! Routes (the contract is `contracts/openapi.json`):
//! - `/count`: v1's counter, which is the counter `site`
//! - `/counters`: every counter, sorted by name, in pages
//! - `/counters/{name}`: one counter; `POST` counts a visit
//! - `/counters/{name}/days`: a counter's daily history
//! - `/counters/{name}/badge.svg` and `/counters/{name}/shields.json`: a badge of one of
//!   its numbers ([`crate::badge`])
//! - `/counter.js`: the embed script ([`crate::embed`])
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
use crate::config::AllowedOrigins;
use crate::cors::Cors;
use crate::dashboard::Dashboard;
use crate::day::{Clock, Day, SystemClock};
use crate::error::error_chain;
use crate::idempotency::IdempotencyKey;
use crate::names::{AllowedCounters, CounterName};
use crate::problem::Problem;
use crate::store::{
    CounterStore, DEADLINE, DayTotals, Filter, Limits, Once, PAGE_SIZE, StoreError, Totals, Visit,
};
use crate::visitor::{ClientAddress, SaltCache};

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
        .route(crate::embed::PATH, any(embed_script))
        .route(crate::dashboard::PATH, any(dashboard::<S>))
        .route("/dashboard/", any(dashboard_slash))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn(read_body))
        .layer(middleware::from_fn_with_state(cors, crate::cors::layer))
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

/// Who is visiting, as far as counting needs to know: the client's address (an
/// extension the server or the Lambda adapter sets) and its User-Agent.
struct Visitor<'a> {
    address: Option<&'a ClientAddress>,
    /// `None` when none was sent.
    user_agent: Option<&'a [u8]>,
}

impl<'a> Visitor<'a> {
    fn of(request: &'a Parts) -> Self {
        Self {
            address: request.extensions.get::<ClientAddress>(),
            user_agent: request
                .headers
                .get(header::USER_AGENT)
                .map(HeaderValue::as_bytes),
        }
    }
}

impl<S: CounterStore> AppState<S> {
    /// The visit of `counter` by `visitor` today: its marker needs the day's salt.
    async fn visit_of(
        &self,
        counter: CounterName,
        visitor: Visitor<'_>,
    ) -> Result<Visit, StoreError> {
        let day = self.clock.today();
        let (marker, site_marker) = match visitor.address {
            Some(address) => {
                let salt = self.salts.get_or_fetch(day, self.store.salt(day)).await?;
                let agent = visitor.user_agent.unwrap_or_default();
                (
                    Some(salt.marker(&counter, &address.0, agent)),
                    Some(salt.site_marker(&address.0, agent)),
                )
            }
            // No address (an in-process caller): the view counts, no visitor.
            None => (None, None),
        };
        Ok(Visit {
            counter,
            day,
            marker,
            site_marker,
            limits: self.limits,
        })
    }

    /// Counts one visit of `counter`, within the store deadline; with a key, at most
    /// once per key.
    async fn visit(
        &self,
        counter: CounterName,
        visitor: Visitor<'_>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Once, StoreError> {
        within_deadline(async {
            // A bot's POST is tallied, not counted: its User-Agent is read here, in
            // memory, and dropped; no marker is made of it.
            if crate::bots::is_bot(visitor.user_agent) {
                let day = self.clock.today();
                let totals = self.store.filtered(&counter, day, Filter::Bot).await?;
                return Ok(Once::Filtered(Filter::Bot, totals));
            }
            let visit = self.visit_of(counter, visitor).await?;
            match key {
                Some(key) => self.store.record_once(&visit, key, self.clock.now()).await,
                None => self.store.record(&visit).await,
            }
        })
        .await
    }

    /// `GET`, `POST` or `OPTIONS` on a counter: its totals (and whether they replay a
    /// keyed visit's answer), or the response to give instead.
    async fn read_or_count(
        &self,
        counter: CounterName,
        request: &Parts,
    ) -> Result<(Totals, Answered), Response> {
        let method = &request.method;
        let once = match *method {
            Method::GET => within_deadline(self.store.get(&counter))
                .await
                .map(Once::Counted),
            Method::POST => {
                let key =
                    IdempotencyKey::of(&request.headers).map_err(IntoResponse::into_response)?;
                self.visit(counter, Visitor::of(request), key.as_ref())
                    .await
            }
            Method::OPTIONS => return Err(crate::cors::preflight(PREFLIGHT_COUNTING)),
            _ => return Err(Problem::MethodNotAllowed(COUNTING_METHODS).into_response()),
        };
        match once {
            Ok(Once::Counted(totals)) => Ok((totals, Answered::Counted)),
            Ok(Once::Replayed(totals)) => Ok((totals, Answered::Replayed)),
            Ok(Once::Filtered(filter, totals)) => Ok((totals, Answered::Filtered(filter))),
            Ok(Once::TooManyCounters) => Err(Problem::TooManyCounters.into_response()),
            Ok(Once::OtherCounter) => Err(Problem::IdempotencyKeyReused.into_response()),
            Ok(Once::InFlight) => Err(Problem::IdempotencyKeyInFlight.into_response()),
            Err(error) => Err(store_failure(method, &error)),
        }
    }

    /// Whether the request may see the owner's pages (the dashboard, the list): always
    /// without `DASHBOARD_PASSWORD`, with it only when the request carries it.
    fn owner(&self, headers: &HeaderMap) -> Result<(), Problem> {
        match &self.password {
            Some(password) if !password.admits(headers) => Err(Problem::Unauthorized),
            _ => Ok(()),
        }
    }

    fn resolve(&self, raw: Result<Path<String>, PathRejection>) -> Result<CounterName, Problem> {
        raw.ok()
            .and_then(|Path(name)| self.counters.resolve(&name))
            .ok_or(Problem::UnknownCounter)
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

/// What a counter's `200` says besides its numbers: that it replays a keyed visit's
/// first answer (`Idempotent-Replayed: true`), or that the POST was not counted
/// (`Visit-Filtered`).
#[derive(Debug, Clone, Copy)]
enum Answered {
    Counted,
    Replayed,
    Filtered(Filter),
}

impl Answered {
    fn mark(self, mut response: Response) -> Response {
        let (name, value): (HeaderName, HeaderValue) = match self {
            Answered::Counted => return response,
            Answered::Replayed => (
                HeaderName::from_static(crate::idempotency::REPLAYED_HEADER),
                HeaderValue::from_static("true"),
            ),
            Answered::Filtered(filter) => {
                (FILTERED_HEADER, HeaderValue::from_static(filter.as_str()))
            }
        };
        response.headers_mut().insert(name, value);
        response
    }
}

/// `/count`: dispatches on the method itself, so that every other method gets
/// the contract's 405 problem rather than a bare status.
async fn count<S: CounterStore>(State(state): Shared<S>, request: Request) -> Response {
    let (request, _) = request.into_parts();
    match state.read_or_count(CounterName::site(), &request).await {
        Ok((totals, answered)) => answered.mark(json(&CountBody {
            count: totals.views,
        })),
        Err(response) => response,
    }
}

async fn counter<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    if request.method() == Method::OPTIONS {
        return crate::cors::preflight(PREFLIGHT_COUNTING);
    }
    let counter = match state.resolve(name) {
        Ok(counter) => counter,
        Err(problem) => return problem.into_response(),
    };
    let (request, _) = request.into_parts();
    match state.read_or_count(counter.clone(), &request).await {
        Ok((totals, answered)) => answered.mark(json(&counter_json(&counter, totals))),
        Err(response) => response,
    }
}

/// `/count`'s body: v1's shape.
#[derive(serde::Serialize)]
struct CountBody {
    count: u64,
}

/// A counter's body, its members in the contract's order.
#[derive(serde::Serialize)]
struct CounterBody<'a> {
    name: &'a str,
    views: u64,
    visitors: u64,
}

fn counter_json(counter: &CounterName, totals: Totals) -> CounterBody<'_> {
    CounterBody {
        name: counter.as_str(),
        views: totals.views,
        visitors: totals.visitors,
    }
}

#[derive(serde::Serialize)]
struct DayBody {
    date: String,
    views: u64,
    visitors: u64,
    bots: u64,
    limited: u64,
}

/// The days of a range, dated from `from`.
fn day_bodies(from: Day, days: &[DayTotals]) -> Vec<DayBody> {
    days.iter()
        .enumerate()
        .map(|(i, totals)| DayBody {
            date: from.plus(i as i32).to_string(),
            views: totals.views,
            visitors: totals.visitors,
            bots: totals.bots,
            limited: totals.limited,
        })
        .collect()
}

#[derive(serde::Serialize)]
struct SiteDaysBody {
    days: Vec<DayBody>,
}

#[derive(serde::Serialize)]
struct DaysBody<'a> {
    name: &'a str,
    days: Vec<DayBody>,
}

#[derive(serde::Serialize)]
struct ListBody<'a> {
    counters: Vec<CounterBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

async fn days<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
) -> Response {
    if method == Method::OPTIONS {
        return crate::cors::preflight(PREFLIGHT_READING);
    }
    let counter = match state.resolve(name) {
        Ok(counter) => counter,
        Err(problem) => return problem.into_response(),
    };
    if method != Method::GET {
        return Problem::MethodNotAllowed(READING_METHODS).into_response();
    }
    let (from, to) = match range(&Query::parse(&uri), state.clock.today()) {
        Ok(range) => range,
        Err(problem) => return problem.into_response(),
    };
    match within_deadline(state.store.days(&counter, from, to)).await {
        Ok(days) => json(&DaysBody {
            name: counter.as_str(),
            days: day_bodies(from, &days),
        }),
        Err(error) => store_failure(&method, &error),
    }
}

#[derive(serde::Serialize)]
struct SiteBody {
    views: u64,
    visitors: u64,
    counters: u64,
}

/// `GET /totals`: the whole site.
async fn totals<S: CounterStore>(State(state): Shared<S>, method: Method) -> Response {
    match method {
        Method::GET => {}
        Method::OPTIONS => return crate::cors::preflight(PREFLIGHT_READING),
        _ => return Problem::MethodNotAllowed(READING_METHODS).into_response(),
    }
    match within_deadline(state.store.site_totals(state.clock.today())).await {
        Ok(site) => json(&SiteBody {
            views: site.views,
            visitors: site.visitors,
            counters: site.counters,
        }),
        Err(error) => store_failure(&method, &error),
    }
}

/// `GET /totals/days`: the whole site's days, with a counter's range rules.
async fn totals_days<S: CounterStore>(
    State(state): Shared<S>,
    method: Method,
    uri: Uri,
) -> Response {
    match method {
        Method::GET => {}
        Method::OPTIONS => return crate::cors::preflight(PREFLIGHT_READING),
        _ => return Problem::MethodNotAllowed(READING_METHODS).into_response(),
    }
    let (from, to) = match range(&Query::parse(&uri), state.clock.today()) {
        Ok(range) => range,
        Err(problem) => return problem.into_response(),
    };
    match within_deadline(state.store.site_days(from, to)).await {
        Ok(days) => json(&SiteDaysBody {
            days: day_bodies(from, &days),
        }),
        Err(error) => store_failure(&method, &error),
    }
}

/// `/`: where things are, for whoever opens the API's address.
async fn index(method: Method) -> Response {
    if method != Method::GET {
        return Problem::MethodNotAllowed(PAGE_METHODS).into_response();
    }
    json(&serde_json::json!({
        "service": "visitor-counter",
        "links": {
            "dashboard": crate::dashboard::PATH,
            "script": crate::embed::PATH,
            "totals": TOTALS_PATH,
            "counters": "/counters",
            "contract": CONTRACT_URL,
        }
    }))
}

/// Where the API's contract and documentation are published.
pub const CONTRACT_URL: &str =
    "https://github.com/visitor-counter/visitor-counter/blob/main/contracts/openapi.json";

/// `/dashboard/` is `/dashboard`, as the contract's `Location` pattern has it: the
/// stage `$default` serves the API at its root, so no stage prefix is lost.
async fn dashboard_slash(method: Method) -> Response {
    if method != Method::GET {
        return Problem::MethodNotAllowed(PAGE_METHODS).into_response();
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/dashboard"));
    response
}

/// `badge.svg` and `shields.json`: the badge asked for and the counter's totals, or
/// the response to give instead.
async fn badge_of<S: CounterStore>(
    state: &AppState<S>,
    name: Result<Path<String>, PathRejection>,
    method: &Method,
    uri: &Uri,
) -> Result<(Badge, Totals), Response> {
    if *method == Method::OPTIONS {
        return Err(crate::cors::preflight(PREFLIGHT_READING));
    }
    let counter = state.resolve(name).map_err(IntoResponse::into_response)?;
    if *method != Method::GET {
        return Err(Problem::MethodNotAllowed(READING_METHODS).into_response());
    }
    let query = Query::parse(uri);
    let badge = Badge::parse(|parameter| Ok(query.one(parameter)?.map(str::to_owned)))
        .map_err(IntoResponse::into_response)?;
    let totals = within_deadline(state.store.get(&counter))
        .await
        .map_err(|error| store_failure(method, &error))?;
    Ok((badge, totals))
}

async fn badge_svg<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
) -> Response {
    match badge_of(&state, name, &method, &uri).await {
        Ok((badge, totals)) => with_headers(
            badge.svg(totals),
            &[
                (header::CONTENT_TYPE, "image/svg+xml"),
                // Image proxies (GitHub's among them) revalidate instead of keeping a number.
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, crate::badge::SVG_POLICY),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (CROSS_ORIGIN_RESOURCE_POLICY, "cross-origin"),
            ],
        ),
        Err(response) => response,
    }
}

async fn shields_json<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
) -> Response {
    match badge_of(&state, name, &method, &uri).await {
        Ok((badge, totals)) => json(&badge.shields(totals)),
        Err(response) => response,
    }
}

async fn embed_script(method: Method) -> Response {
    match method {
        Method::GET => crate::embed::script(),
        _ => Problem::MethodNotAllowed(PAGE_METHODS).into_response(),
    }
}

async fn dashboard<S: CounterStore>(
    State(state): Shared<S>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    use crate::dashboard::Format;
    if !state.dashboard {
        return Problem::NotFound.into_response();
    }
    if method != Method::GET {
        return Problem::MethodNotAllowed(PAGE_METHODS).into_response();
    }
    if let Err(problem) = state.owner(&headers) {
        return problem.into_response();
    }
    let today = state.clock.today();
    let (period, format) = match dashboard_query(&Query::parse(&uri), today) {
        Ok(asked) => asked,
        Err(problem) => return problem.into_response(),
    };
    let render = async {
        Dashboard::read(state.store.as_ref(), &state.counters, today, period)
            .await
            .map(|dashboard| match format {
                Format::Html => dashboard.html(),
                Format::Csv => dashboard.csv(),
            })
    };
    match within_deadline(state.pages.get_or_render(period, format, render)).await {
        Ok(page) => match format {
            Format::Html => with_headers(
                page,
                &[
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, crate::dashboard::POLICY),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::REFERRER_POLICY, "no-referrer"),
                ],
            ),
            Format::Csv => {
                let mut response = with_headers(
                    page,
                    &[
                        (
                            header::CONTENT_TYPE,
                            "text/csv; charset=utf-8; header=present",
                        ),
                        // The page's policy too, as the contract has it for every
                        // dashboard answer: a CSV opened in a tab runs nothing.
                        (header::CONTENT_SECURITY_POLICY, crate::dashboard::POLICY),
                        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    ],
                );
                // Dates and fixed words only: always a valid header value.
                if let Ok(value) = HeaderValue::from_str(&format!(
                    "attachment; filename=\"visitor-counter-{}-{}.csv\"",
                    period.from, period.to
                )) {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_DISPOSITION, value);
                }
                response
            }
        },
        Err(error) => store_failure(&method, &error),
    }
}

/// The dashboard's period and format: `period` (1 to 366 days ending today), or `from`
/// and `to` by the range rules of `days`, 30 days when neither; `format` is `html` (the
/// default) or `csv`.
fn dashboard_query(
    query: &Query,
    today: Day,
) -> Result<(crate::dashboard::Period, crate::dashboard::Format), Problem> {
    use crate::dashboard::{DEFAULT_PERIOD, Format, MAX_PERIOD, Period};
    let format = match query.one("format")? {
        None | Some("html") => Format::Html,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(invalid_query(format!(
                "format: {other:?} is not html or csv"
            )));
        }
    };
    let period = match query.one("period")? {
        Some(text) => {
            if query.one("from")?.is_some() || query.one("to")?.is_some() {
                return Err(invalid_query(
                    "period: give either period or from and to, not both".to_owned(),
                ));
            }
            let days = text
                .parse::<i32>()
                .ok()
                .filter(|days| {
                    (1..=MAX_PERIOD).contains(days) && text.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| {
                    invalid_query(format!(
                        "period: {text:?} is not a number of days from 1 to {MAX_PERIOD}"
                    ))
                })?;
            Period::last(days, today)
        }
        None if query.one("from")?.is_none() && query.one("to")?.is_none() => {
            Period::last(DEFAULT_PERIOD, today)
        }
        None => {
            let (from, to) = range(query, today)?;
            Period { from, to }
        }
    };
    Ok((period, format))
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

async fn list<S: CounterStore>(
    State(state): Shared<S>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match method {
        Method::GET => {}
        Method::OPTIONS => return crate::cors::preflight(PREFLIGHT_READING),
        _ => return Problem::MethodNotAllowed(READING_METHODS).into_response(),
    }
    if let Err(problem) = state.owner(&headers) {
        return problem.into_response();
    }
    let query = Query::parse(&uri);
    let after = match query.one("after").and_then(|after| {
        after.map_or(Ok(None), |text| {
            CounterName::parse(text).map(Some).map_err(|error| {
                invalid_query(format!("after: {text:?} is not a counter name: {error}"))
            })
        })
    }) {
        Ok(after) => after,
        Err(problem) => return problem.into_response(),
    };
    match within_deadline(state.store.list(after.as_ref(), PAGE_SIZE)).await {
        Ok(page) => {
            let next = page
                .more
                .then(|| page.counters.last().map(|(name, _)| name.to_string()))
                .flatten();
            // Counters counted before `COUNTERS` left them out are not shown.
            let counters = page
                .counters
                .iter()
                .filter(|(name, _)| state.counters.allows(name))
                .map(|(name, totals)| counter_json(name, *totals))
                .collect();
            json(&ListBody { counters, next })
        }
        Err(error) => store_failure(&method, &error),
    }
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
