//! A wiremock server that plays the counter from the contract's own examples and
//! constants, with a real counter behind it, and that can break one clause on demand.
//! The named counters (`/counters...`) are in `named`, `Idempotency-Key` in
//! `idempotency`.

mod idempotency;
mod named;
mod web;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::http::Method;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The allowed origin: the contract's own example of an `Origin`.
pub const ORIGIN: &str = "https://example.com";
/// A desktop browser's User-Agent, for the tests' own visits.
pub const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
                           Gecko) Chrome/131.0.0.0 Safari/537.36";
/// The password of [`private_stub`]'s list and dashboard.
pub const PASSWORD: &str = "correct horse";

/// One clause of the contract, broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `{"count": "1234"}`.
    CountAsString,
    /// `{"count": 1234, "visitors": 1}`.
    ExtraField,
    /// POST answers the current count without adding the visit.
    PostDoesNotIncrement,
    /// `Access-Control-Allow-Origin: *` for everyone.
    WildcardOrigin,
    /// No CORS headers at all.
    NoCors,
    /// The foreign origin is echoed back like an allowed one.
    ForeignOriginEchoed,
    /// `Access-Control-Allow-Credentials: true` for the allowed origin.
    CredentialsAllowed,
    /// The preflight does not list POST.
    PreflightWithoutPost,
    /// Preflights answered as API Gateway's `cors_configuration` answers them: 200, no
    /// `Cache-Control`.
    GatewayPreflight,
    /// An HTML page for unknown paths.
    HtmlNotFound,
    /// The 404 problem sent as `application/json`.
    ProblemAsPlainJson,
    /// PUT, DELETE and PATCH answered 200 with the count.
    MethodNotAllowedAs200,
    /// PUT answered 500 `text/plain`.
    PutAs500Text,
    /// The 405 problem without `Allow`.
    AllowMissing,
    /// PUT answered 405 correctly, but counted.
    PutCounted,
    /// An oversized POST is counted and answered 200.
    OversizeCounted,
    /// GET keeps answering the count the server started with.
    StaleGet,
    /// Concurrent POSTs can get the same number.
    DuplicateCounts,
    /// No `Cache-Control` anywhere.
    NoCacheControl,
    /// `Cache-Control` missing on error answers only.
    NoCacheControlOnErrors,
    /// No `Vary` anywhere.
    NoVary,
    /// Every fifth POST is answered 200 with the next count, but the count is not stored.
    SomePostsNotCounted,
    /// Every fourth POST is a 503 storage-unavailable problem, and is not counted.
    SomePostsUnavailable,
    /// A POST from any origin is counted, as v1 did: CORS only hid the answer.
    ForeignPostCounted,
    /// A POST with `Origin: null` (a sandboxed page) is counted; other foreign ones are refused.
    NullOriginCounted,
    /// A POST from the API's own origin is refused like a foreign one.
    OwnOriginRefused,
    /// A POST on a named counter other than `site` adds two views.
    ViewsSkip,
    /// Every POST on a named counter counts a visitor, seen before today or not.
    VisitorEveryPost,
    /// A GET of a named counter counts its User-Agent as a visitor, as a POST would.
    GetCountsVisitor,
    /// A GET of a named counter counts a view after reading it.
    GetCountsView,
    /// A GET of a never-counted name creates it: it is listed from then on.
    GetCreates,
    /// `days` leaves out the dates without views.
    DaysMissingZeros,
    /// `days` lists the newest date first.
    DaysNewestFirst,
    /// The range without `from` or `to` is 31 dates.
    DaysDefault31,
    /// `from` after `to` and ranges over 366 dates are answered 200.
    BadRangeAs200,
    /// A name that is not valid is answered as a counter with zeros.
    UnknownCounterAs200,
    /// A name that is not valid is answered v1's 404 not-found problem.
    UnknownCounterNotFound,
    /// A preflight on a name that is not valid answered with the 404 problem, so that a
    /// page sees a network error instead of the POST's 404.
    UnknownCounterPreflightRefused,
    /// The list is sorted the wrong way round.
    ListUnsorted,
    /// The list has `next` on its last page too.
    ListNextAlways,
    /// `/count` and `/counters/site` are two counters.
    SiteSeparate,
    /// No `Cache-Control` on the named counters' routes.
    NoStoreOnCounters,
    /// The 405 on the read-only routes (`/counters`, `/counters/{name}/days`, the
    /// badges, `/totals`, `/totals/days`) lists POST in `Allow`.
    CountersAllowWrong,
    /// No CORS headers on the named counters' routes.
    CountersNoCors,
    /// A replay is answered the first answer, marked, but counts the visit again.
    ReplayCounts,
    /// A replay is not marked `Idempotent-Replayed: true`.
    ReplayNotMarked,
    /// A replay answers the counter as it is now, not the first answer to the key.
    ReplayRereads,
    /// Keys are kept per counter: a key first used on another counter is a new one,
    /// counted and answered 200.
    ReusedKeyCounted,
    /// A malformed key is ignored: the POST is counted as one without a key.
    InvalidKeyAccepted,
    /// A check-then-write race: a request whose key's first request is still in
    /// flight is counted as a new visit.
    ConcurrentCountedTwice,
    /// The 409 in flight has no `Retry-After`.
    InFlightWithoutRetryAfter,
    /// `/count` and `/counters/site` keep their keys apart: a key of one is a 422 on
    /// the other.
    KeysPerRoute,
    /// Preflights allow `content-type` only, not `idempotency-key`.
    PreflightWithoutIdempotencyKey,
    /// `Access-Control-Expose-Headers` names `Retry-After` and `Visit-Filtered` only.
    ReplayedNotExposed,
    /// The SVG badge is `no-store`, like the JSON answers, not `no-cache`.
    BadgeNoStore,
    /// The SVG badge's number is not grouped by thousands (`1234`).
    BadgeUngrouped,
    /// The SVG badge holds its label as sent, markup and all.
    BadgeLabelUnescaped,
    /// `shields.json`'s message is one more than the counter's number.
    ShieldsMessageOff,
    /// Reading a badge counts a view.
    BadgeCounts,
    /// An unknown `metric` is answered as `views`.
    BadMetricAs200,
    /// `/counter.js` is `no-store`, like the JSON answers.
    ScriptNoStore,
    /// `/counter.js` is `text/plain`.
    ScriptAsPlainText,
    /// The dashboard holds a `<script>`.
    DashboardScript,
    /// A bot's POST is counted like a person's.
    BotCounted,
    /// A POST that counts nothing has no `Visit-Filtered`.
    FilteredNotMarked,
    /// A bot's POST is not tallied on its counter's day.
    BotNotTallied,
    /// A bot's POST on a never-counted name creates the counter.
    BotCreates,
    /// The whole site's days tally nothing.
    SiteTalliesMissing,
    /// The whole site counts a visitor once per counter: one person on two pages is two.
    SiteVisitorPerCounter,
    /// `/totals` has a member the schema does not allow.
    TotalsExtraMember,
    /// The days have no `bots` and `limited`.
    DaysWithoutTallies,
    /// `HEAD` is a 405, as v2 answered it.
    HeadAs405,
    /// `HEAD` answers without the CORS headers its `GET` has.
    HeadWithoutCors,
    /// `/` is a 404, as v2 answered it.
    RootNotFound,
    /// `/`'s links leave out the stage's prefix.
    RootLinksWithoutStage,
    /// `/dashboard/` is a 404.
    DashboardSlashNotFound,
    /// A foreign POST to a path without POST is the 403 of a foreign origin.
    ForeignPostRefused,
    /// `Access-Control-Expose-Headers` leaves out `Visit-Filtered`.
    FilteredNotExposed,
    /// The 401 of a private page has no `WWW-Authenticate`.
    UnauthorizedWithoutChallenge,
}

/// What the contract says the answers look like, read from `contracts/openapi.json`.
struct Examples {
    count: u64,
    count_body: Value,
    not_found: Value,
    method_not_allowed: Value,
    payload_too_large: Value,
    storage_unavailable: Value,
    origin_not_allowed: Value,
    unauthorized: Value,
    unknown_counter: Value,
    invalid_query: Value,
    method_not_allowed_read_only: Value,
    method_not_allowed_get_only: Value,
    invalid_idempotency_key: Value,
    idempotency_key_reused: Value,
    idempotency_key_in_flight: Value,
    allow: String,
    allow_read_only: String,
    allow_get: String,
    allow_methods: String,
    allow_headers: String,
    expose_headers: String,
    replayed: String,
    cache_control: String,
    badge_cache_control: String,
    script_cache_control: String,
    www_authenticate: String,
    index: Value,
}

impl Examples {
    fn load() -> Self {
        let openapi: Value = serde_json::from_str(e2e::contract::OPENAPI).unwrap();
        let at = |pointer: &str| {
            openapi
                .pointer(pointer)
                .unwrap_or_else(|| panic!("openapi.json has no {pointer}"))
                .clone()
        };
        let problem = |response: &str, example: &str| {
            at(&format!(
                "/components/responses/{response}/content/application~1problem+json/examples/{example}/value"
            ))
        };
        let count_body =
            at("/paths/~1count/get/responses/200/content/application~1json/examples/counted/value");
        let constant = |header: &str| {
            at(&format!("/components/headers/{header}/schema/const"))
                .as_str()
                .unwrap()
                .to_owned()
        };
        Self {
            count: count_body["count"].as_u64().unwrap(),
            count_body,
            not_found: problem("NotFound", "not-found"),
            method_not_allowed: problem("MethodNotAllowed", "method-not-allowed"),
            payload_too_large: problem("PayloadTooLarge", "payload-too-large"),
            storage_unavailable: problem("StorageUnavailable", "storage-unavailable"),
            origin_not_allowed: problem("PostRefused", "origin-not-allowed"),
            unauthorized: problem("Unauthorized", "unauthorized"),
            unknown_counter: problem("UnknownCounter", "invalid-name"),
            invalid_query: problem("InvalidQuery", "invalid-date"),
            method_not_allowed_read_only: problem("MethodNotAllowedReadOnly", "method-not-allowed"),
            method_not_allowed_get_only: problem("MethodNotAllowedGetOnly", "method-not-allowed"),
            invalid_idempotency_key: problem("InvalidIdempotencyKey", "invalid-idempotency-key"),
            idempotency_key_reused: problem("IdempotencyKeyReused", "idempotency-key-reused"),
            idempotency_key_in_flight: problem(
                "IdempotencyKeyInFlight",
                "idempotency-key-in-flight",
            ),
            allow: constant("Allow"),
            allow_read_only: constant("Allow-Read-Only"),
            allow_get: constant("Allow-Get"),
            allow_methods: constant("Access-Control-Allow-Methods"),
            allow_headers: constant("Access-Control-Allow-Headers"),
            expose_headers: at(
                "/components/headers/Access-Control-Expose-Headers/schema/examples/0",
            )
            .as_str()
            .unwrap()
            .to_owned(),
            replayed: constant("Idempotent-Replayed"),
            cache_control: constant("Cache-Control"),
            badge_cache_control: constant("Cache-Control-Badge"),
            script_cache_control: constant("Cache-Control-Script"),
            www_authenticate: constant("WWW-Authenticate"),
            index: at("/paths/~1/get/responses/200/content/application~1json/examples/root/value"),
        }
    }
}

/// The counter, as a wiremock responder.
pub struct Stub {
    examples: Examples,
    count: Arc<AtomicU64>,
    start: u64,
    /// POSTs to `/count` received so far, for the faults that hit every n-th one.
    posts: AtomicU64,
    count_path: String,
    /// The stage path, such as `/prod`, or empty.
    stage: String,
    /// The named counters.
    store: Arc<Mutex<named::Store>>,
    /// The keys of keyed POSTs.
    keys: Mutex<idempotency::Keys>,
    /// The most counters a page of the list holds.
    page_size: usize,
    fault: Option<Fault>,
    /// Whether `/dashboard` is served (`DASHBOARD` unset) or a 404 (`DASHBOARD=off`).
    dashboard: bool,
    /// The password the list and the dashboard need (`DASHBOARD_PASSWORD`), if any.
    private: Option<String>,
    /// Answers to this method (or to all) are delayed this long.
    slow: Option<(Option<Method>, Duration)>,
    /// When each request came.
    arrivals: Arc<Mutex<Vec<Instant>>>,
    /// The stub's own origin, `http://127.0.0.1:PORT`: a POST from it is never refused.
    own_origin: String,
}

/// A running stub and the handle to its count.
pub struct StubServer {
    pub server: MockServer,
    pub count: Arc<AtomicU64>,
    /// The base URL to check, with the stage path if there is one.
    pub base_url: String,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    store: Arc<Mutex<named::Store>>,
}

impl StubServer {
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// When each request the counter answered came, in order (requests that a
    /// higher-priority mock answered are not among them).
    pub fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }

    /// The views and visitors of a named counter other than `site`, if it was created.
    pub fn named(&self, name: &str) -> Option<(u64, u64)> {
        self.store.lock().unwrap().numbers(name)
    }

    /// Counts a view of a named counter, as a browser's page would.
    pub async fn post_named(&self, name: &str) {
        e2e::install_tls_provider();
        let url = format!("{}/counters/{name}", self.base_url);
        let answer = reqwest::Client::new()
            .post(url)
            .header("user-agent", BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert!(answer.headers().get("visit-filtered").is_none());
    }

    /// The names of every named counter there is, `site` included.
    pub fn named_counters(&self) -> Vec<String> {
        self.store.lock().unwrap().names()
    }

    /// How many requests of this method reached the server.
    pub async fn received(&self, method: Method) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|request| request.method == method)
            .count()
    }
}

/// A stub that honours the whole contract, at the root.
pub async fn good_stub() -> StubServer {
    stub(None, "").await
}

/// A stub that breaks one clause.
pub async fn broken_stub(fault: Fault) -> StubServer {
    stub(Some(fault), "").await
}

/// A stub serving under `stage` (such as `/prod`), optionally broken.
pub async fn stub(fault: Option<Fault>, stage: &str) -> StubServer {
    start(fault, stage, None, named::PAGE_SIZE, true, false).await
}

/// A correct stub whose list pages hold at most `page_size` counters.
pub async fn paged_stub(page_size: usize) -> StubServer {
    start(None, "", None, page_size, true, false).await
}

/// A correct stub whose operator turned the dashboard off: `/dashboard` is a 404.
pub async fn dashboard_off_stub() -> StubServer {
    start(None, "", None, named::PAGE_SIZE, false, false).await
}

/// A stub whose operator made the list and the dashboard private with [`PASSWORD`],
/// optionally broken.
pub async fn private_stub(fault: Option<Fault>) -> StubServer {
    start(fault, "", None, named::PAGE_SIZE, true, true).await
}

async fn start(
    fault: Option<Fault>,
    stage: &str,
    slow: Option<(Option<Method>, Duration)>,
    page_size: usize,
    dashboard: bool,
    private: bool,
) -> StubServer {
    let examples = Examples::load();
    let count = Arc::new(AtomicU64::new(examples.count));
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::new(Mutex::new(named::Store::new()));
    let server = MockServer::start().await;
    let responder = Stub {
        arrivals: Arc::clone(&arrivals),
        own_origin: server.uri(),
        start: examples.count,
        posts: AtomicU64::new(0),
        examples,
        count: Arc::clone(&count),
        count_path: format!("{stage}/count"),
        stage: stage.to_owned(),
        store: Arc::clone(&store),
        keys: Mutex::default(),
        page_size,
        fault,
        dashboard,
        private: private.then(|| PASSWORD.to_owned()),
        slow,
    };
    Mock::given(any())
        .respond_with(responder)
        .mount(&server)
        .await;
    let base_url = format!("{}{stage}", server.uri());
    StubServer {
        server,
        count,
        base_url,
        arrivals,
        store,
    }
}

/// A correct stub whose answers to `method` (or to everything) take `delay`.
pub async fn slow_stub(delay: Duration, method: Option<Method>) -> StubServer {
    start(
        None,
        "",
        Some((method, delay)),
        named::PAGE_SIZE,
        true,
        false,
    )
    .await
}

/// The password of an `Authorization: Basic` header, whatever the user name (RFC 7617).
fn basic_password(request: &Request) -> Option<String> {
    let value = request.headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let mut bits = 0u32;
    let mut held = 0;
    let mut decoded = Vec::new();
    for byte in encoded.bytes().take_while(|b| *b != b'=') {
        let six = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(six);
        held += 6;
        if held >= 8 {
            held -= 8;
            decoded.push((bits >> held) as u8);
        }
    }
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

impl Stub {
    fn has(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    /// The 401 of a private page, unless the request has the password.
    pub(super) fn unauthorized(&self, request: &Request) -> Option<(ResponseTemplate, u16, bool)> {
        let password = self.private.as_ref()?;
        if basic_password(request).as_ref() == Some(password) {
            return None;
        }
        let answer = self.problem(&self.examples.unauthorized);
        let answer = if self.has(Fault::UnauthorizedWithoutChallenge) {
            answer
        } else {
            answer.insert_header("WWW-Authenticate", self.examples.www_authenticate.as_str())
        };
        Some((answer, 401, false))
    }

    fn count_body(&self, count: u64) -> ResponseTemplate {
        let mut body = self.examples.count_body.clone();
        body["count"] = if self.has(Fault::CountAsString) {
            Value::from(count.to_string())
        } else {
            Value::from(count)
        };
        if self.has(Fault::ExtraField) {
            body["visitors"] = Value::from(1);
        }
        ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
    }

    fn problem(&self, example: &Value) -> ResponseTemplate {
        let status = u16::try_from(example["status"].as_u64().unwrap()).unwrap();
        let media_type = if self.has(Fault::ProblemAsPlainJson) {
            "application/json"
        } else {
            "application/problem+json"
        };
        ResponseTemplate::new(status).set_body_raw(example.to_string(), media_type)
    }

    /// Whether a POST with these `Origin` headers is refused: one that is neither the
    /// allowed origin nor the stub's own, `null` and repeated headers included.
    fn refuses(&self, request: &Request) -> bool {
        let origins: Vec<&str> = request
            .headers
            .get_all("origin")
            .iter()
            .map(|value| value.to_str().unwrap_or(""))
            .collect();
        match origins.as_slice() {
            [] => false,
            [_] if self.has(Fault::ForeignPostCounted) => false,
            ["null"] if self.has(Fault::NullOriginCounted) => false,
            [one] if *one == self.own_origin => self.has(Fault::OwnOriginRefused),
            [one] => *one != ORIGIN,
            _ => true,
        }
    }

    fn method_not_allowed(&self) -> ResponseTemplate {
        let template = self.problem(&self.examples.method_not_allowed);
        if self.has(Fault::AllowMissing) {
            template
        } else {
            template.insert_header("Allow", self.examples.allow.as_str())
        }
    }

    /// The answer, its status, and whether it is a preflight.
    fn route(&self, request: &Request) -> (ResponseTemplate, u16, bool) {
        if self.has(Fault::ForeignPostRefused)
            && request.method == Method::POST
            && self.refuses(request)
        {
            return (self.problem(&self.examples.origin_not_allowed), 403, false);
        }
        if let Some(answer) = self.web_route(request) {
            return answer;
        }
        if let Some(route) = self.named_route(request.url.path()) {
            return self.named(request, &route);
        }
        match request.url.path().strip_prefix(&self.stage) {
            Some("/totals") => return self.totals_route(request, false),
            Some("/totals/days") => return self.totals_route(request, true),
            _ => {}
        }
        if request.url.path() != self.count_path {
            if self.has(Fault::HtmlNotFound) {
                let page = "<html><body><h1>404 Not Found</h1></body></html>";
                return (
                    ResponseTemplate::new(404).set_body_raw(page, "text/html"),
                    404,
                    false,
                );
            }
            return (self.problem(&self.examples.not_found), 404, false);
        }
        let (answer, status) = match request.method {
            Method::GET => {
                let count = if self.has(Fault::StaleGet) {
                    self.start
                } else {
                    self.count.load(Ordering::SeqCst)
                };
                (self.count_body(count), 200)
            }
            Method::POST => {
                // Refused before anything else is read, as the service does.
                if self.refuses(request) {
                    return (self.problem(&self.examples.origin_not_allowed), 403, false);
                }
                if request.body.len() > e2e::contract::BODY_LIMIT
                    && !self.has(Fault::OversizeCounted)
                {
                    return (self.problem(&self.examples.payload_too_large), 413, false);
                }
                if let Some(why) = self.filtered(request, named::SITE) {
                    let numbers = self.tally(named::SITE, why);
                    let answer = self.marked(self.count_body(numbers.views), why);
                    return (answer, 200, false);
                }
                if let Some(answer) = self.keyed(request, idempotency::Target::Count) {
                    return answer;
                }
                let nth = self.posts.fetch_add(1, Ordering::SeqCst) + 1;
                if self.has(Fault::SomePostsUnavailable) && nth.is_multiple_of(4) {
                    let answer = self
                        .problem(&self.examples.storage_unavailable)
                        .insert_header("Retry-After", "1");
                    return (answer, 503, false);
                }
                if self.has(Fault::SomePostsNotCounted) && nth.is_multiple_of(5) {
                    // A lost write: the visit is answered but never stored.
                    return (
                        self.count_body(self.count.load(Ordering::SeqCst) + 1),
                        200,
                        false,
                    );
                }
                if self.has(Fault::PostDoesNotIncrement) {
                    return (
                        self.count_body(self.count.load(Ordering::SeqCst)),
                        200,
                        false,
                    );
                }
                let count = self.count.fetch_add(1, Ordering::SeqCst) + 1;
                self.site_visit(request);
                let answered = if self.has(Fault::DuplicateCounts) {
                    // A read-then-write race: two visits can see the same number.
                    count - count % 2
                } else {
                    count
                };
                (self.count_body(answered), 200)
            }
            Method::OPTIONS if self.has(Fault::GatewayPreflight) => {
                return (ResponseTemplate::new(200), 200, true);
            }
            Method::OPTIONS => return (ResponseTemplate::new(204), 204, true),
            Method::PUT if self.has(Fault::PutAs500Text) => (
                ResponseTemplate::new(500).set_body_raw("Internal Server Error", "text/plain"),
                500,
            ),
            Method::PUT if self.has(Fault::PutCounted) => {
                self.count.fetch_add(1, Ordering::SeqCst);
                (self.method_not_allowed(), 405)
            }
            _ if self.has(Fault::MethodNotAllowedAs200) => {
                (self.count_body(self.count.load(Ordering::SeqCst)), 200)
            }
            _ => (self.method_not_allowed(), 405),
        };
        (answer, status, false)
    }
}

impl Respond for Stub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        // HEAD is GET without the body, which the server leaves out of a HEAD answer.
        let head = request.method == Method::HEAD;
        if head && self.has(Fault::HeadAs405) {
            return self
                .method_not_allowed()
                .insert_header("Cache-Control", self.examples.cache_control.as_str());
        }
        let as_get;
        let request = if head {
            as_get = Request {
                method: Method::GET,
                ..request.clone()
            };
            &as_get
        } else {
            request
        };
        let (mut answer, status, preflight) = self.route(request);
        let is_error = status >= 400;
        if let Some((method, delay)) = &self.slow
            && method
                .as_ref()
                .is_none_or(|method| method == request.method)
        {
            answer = answer.set_delay(*delay);
        }

        let named = self.named_route(request.url.path()).is_some();
        let skip_cache_control = self.has(Fault::NoCacheControl)
            || (is_error && self.has(Fault::NoCacheControlOnErrors))
            || (preflight && self.has(Fault::GatewayPreflight))
            || (named && self.has(Fault::NoStoreOnCounters));
        if !skip_cache_control {
            let value = self
                .own_cache_control(request, status)
                .unwrap_or_else(|| self.examples.cache_control.clone());
            answer = answer.insert_header("Cache-Control", value);
        }
        let no_cors = self.has(Fault::NoCors)
            || (named && self.has(Fault::CountersNoCors))
            || (head && self.has(Fault::HeadWithoutCors));
        if !self.has(Fault::NoVary) && !no_cors {
            answer = answer.insert_header("Vary", "Accept-Encoding, origin");
        }

        let origin = request
            .headers
            .get("origin")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let allowed =
            origin == ORIGIN || (self.has(Fault::ForeignOriginEchoed) && !origin.is_empty());
        // A wildcard is sent to every origin, with the rest of the CORS headers.
        let allow_origin = if self.has(Fault::WildcardOrigin) && !origin.is_empty() {
            Some("*")
        } else {
            (allowed && !no_cors).then_some(origin)
        };
        if let Some(allow_origin) = allow_origin {
            answer = answer.insert_header("Access-Control-Allow-Origin", allow_origin);
            if self.has(Fault::CredentialsAllowed) {
                answer = answer.insert_header("Access-Control-Allow-Credentials", "true");
            }
            if preflight {
                let methods = if self.has(Fault::PreflightWithoutPost) {
                    "GET, OPTIONS"
                } else {
                    self.examples.allow_methods.as_str()
                };
                let headers = if self.has(Fault::PreflightWithoutIdempotencyKey) {
                    "content-type"
                } else {
                    self.examples.allow_headers.as_str()
                };
                answer = answer
                    .insert_header("Access-Control-Allow-Methods", methods)
                    .insert_header("Access-Control-Allow-Headers", headers)
                    .insert_header("Access-Control-Max-Age", "600");
            } else {
                let exposed = if self.has(Fault::ReplayedNotExposed) {
                    "Retry-After, Visit-Filtered"
                } else if self.has(Fault::FilteredNotExposed) {
                    "Retry-After, Idempotent-Replayed"
                } else {
                    self.examples.expose_headers.as_str()
                };
                answer = answer.insert_header("Access-Control-Expose-Headers", exposed);
            }
        }
        answer
    }
}

/// Options for the stubs: the contract's example origin, short timeouts, unpaced (the
/// pacing has tests of its own, in `throttling.rs`).
pub fn options() -> e2e::Options {
    e2e::Options {
        timeout: Duration::from_secs(5),
        rate: None,
        ..e2e::Options::new(ORIGIN)
    }
}

pub fn read_only() -> e2e::Options {
    e2e::Options {
        read_only: true,
        ..options()
    }
}
