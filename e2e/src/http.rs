//! The one HTTP client of the crate: the checker sends through it and keeps what came
//! back as evidence; the load generator sends through it and keeps only figures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};

use crate::error::Error;
use crate::pace::Pacer;
use crate::report::{Exchange, excerpt};

/// The most of a body the checker reads unless told otherwise
/// ([`Request::read_up_to`]); the contract's JSON bodies are a few dozen bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// How many times a request answered `429 Too Many Requests` is sent again.
pub const THROTTLE_RETRIES: usize = 3;
/// The longest the checker waits before sending a throttled request again, whatever its
/// `Retry-After` says.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// The wait before sending a throttled request again when its answer has no
/// `Retry-After` in seconds (API Gateway's throttling answer need not carry one).
pub const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);

/// Response headers kept as evidence: the ones the contract speaks about.
const EVIDENCE_HEADERS: &[&str] = &[
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "access-control-max-age",
    "allow",
    "cache-control",
    "content-security-policy",
    "content-type",
    "idempotent-replayed",
    "location",
    "retry-after",
    "vary",
    "visit-filtered",
    "www-authenticate",
];

/// What to send.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// Relative to the base URL, such as `count` or `counters/site/days?from=2026-01-01`:
    /// already percent-encoded where it needs to be.
    pub path: String,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Vec<u8>>,
    /// The most of the answer's body that is read.
    pub max_body: usize,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            max_body: MAX_BODY_BYTES,
        }
    }

    /// Reads up to `bytes` of the answer's body instead of [`MAX_BODY_BYTES`]: an
    /// answer that fills them was cut there.
    pub fn read_up_to(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }
}

/// An answer, with its evidence.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// `METHOD /path` relative to the base URL, for messages.
    pub label: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub exchange: Exchange,
    /// The `429 Too Many Requests` answers this request got before this one.
    pub throttled: Vec<Exchange>,
}

/// No answer came; the exchange says why.
#[derive(Debug)]
pub(crate) struct NoAnswer {
    pub label: String,
    pub exchange: Exchange,
    pub source: reqwest::Error,
    /// The `429 Too Many Requests` answers this request got before it got none.
    pub throttled: Vec<Exchange>,
}

/// A whole answer, before it is anything else.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// At most the request's `max_body`.
    pub body: Vec<u8>,
}

/// No whole answer: nothing came, or the body broke off after the head.
#[derive(Debug)]
pub(crate) struct Broken {
    /// The status and headers, if they came.
    pub head: Option<(StatusCode, HeaderMap)>,
    /// What came of the body before it broke off.
    pub body: Vec<u8>,
    pub source: reqwest::Error,
}

/// The HTTP client for one run; it remembers every exchange sent with [`send`](Self::send).
/// Clones share the connection pool and the log.
#[derive(Clone)]
pub(crate) struct Client {
    inner: reqwest::Client,
    base: Url,
    log: Arc<Mutex<Vec<Exchange>>>,
    /// Paces [`send`](Self::send), when there is one.
    pacer: Option<Arc<Pacer>>,
    /// The `Authorization` of the pages the operator may make private, if the checker
    /// was given their password.
    authorization: Option<String>,
}

impl Client {
    /// A client for `base` that allows `timeout` for each request, keeps up to
    /// `connections` idle connections open for reuse, paces what it sends with
    /// [`send`](Self::send) by `pacer`, if there is one, and sends `user_agent` unless a
    /// request says otherwise (see [`crate::agent`]).
    pub fn new(
        base: Url,
        timeout: Duration,
        connections: usize,
        pacer: Option<Pacer>,
        user_agent: &str,
    ) -> Result<Self, Error> {
        install_tls_provider();
        let inner = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(connections)
            // A redirect is an answer the contract does not allow; it must be seen, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .build()
            .map_err(Error::Client)?;
        Ok(Self {
            inner,
            base,
            log: Arc::new(Mutex::new(Vec::new())),
            pacer: pacer.map(Arc::new),
            authorization: None,
        })
    }

    /// The same client, sending `authorization` with the requests it
    /// [`authorize`](Self::authorize)s.
    pub fn with_authorization(self, authorization: Option<String>) -> Self {
        Self {
            authorization,
            ..self
        }
    }

    /// Whether the client was given the private pages' password.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
    }

    /// `request` with the client's `Authorization`, if it has one.
    pub fn authorize(&self, request: Request) -> Request {
        match &self.authorization {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value),
            None => request,
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn url(&self, path: &str) -> Result<Url, Error> {
        self.base.join(path).map_err(|error| Error::InvalidBaseUrl {
            url: self.base.to_string(),
            reason: format!("cannot add {path} to it: {error}"),
        })
    }

    /// Every exchange sent with [`send`](Self::send) so far, in the order the answers came.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends `request` to `url` (its path resolved) and reads the whole answer, keeping
    /// nothing: the load generator's way.
    pub async fn fetch(&self, url: Url, request: &Request) -> Result<Fetched, Broken> {
        let mut builder = self.inner.request(request.method.clone(), url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|source| Broken {
            head: None,
            body: Vec::new(),
            source,
        })?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() >= request.max_body {
                        body.truncate(request.max_body);
                        break;
                    }
                }
                Ok(None) => break,
                Err(source) => {
                    return Err(Broken {
                        head: Some((status, headers)),
                        body,
                        source,
                    });
                }
            }
        }
        Ok(Fetched {
            status,
            headers,
            body,
        })
    }

    /// Waits until the pacer (if any) could let `burst` requests go at once.
    pub async fn wait_for_burst(&self, burst: usize) {
        if let Some(pacer) = &self.pacer {
            pacer.wait_for_burst(burst).await;
        }
    }

    /// Sends `request`, paced, and keeps every exchange as evidence: the checker's way.
    ///
    /// A `429 Too Many Requests` is sent again after its `Retry-After` (at most
    /// [`MAX_RETRY_WAIT`]; [`DEFAULT_RETRY_WAIT`] without one), up to [`THROTTLE_RETRIES`]
    /// times; the answer keeps the 429s it met, and the last 429 is the answer when they
    /// run out. Sending a `POST` again cannot count a visit twice: a throttled request
    /// is refused by the gateway before it reaches the function, so nothing was counted.
    /// The service itself never answers 429; if one did after counting, the count checks
    /// would see the extra visit and fail.
    pub async fn send(&self, request: Request) -> Result<Result<Answer, NoAnswer>, Error> {
        let mut throttled = Vec::new();
        loop {
            if let Some(pacer) = &self.pacer {
                pacer.acquire().await;
            }
            match self.send_once(&request).await? {
                Ok(answer)
                    if answer.status == StatusCode::TOO_MANY_REQUESTS
                        && throttled.len() < THROTTLE_RETRIES =>
                {
                    tokio::time::sleep(retry_after(&answer.headers)).await;
                    throttled.push(answer.exchange);
                }
                Ok(answer) => {
                    return Ok(Ok(Answer {
                        throttled,
                        ..answer
                    }));
                }
                Err(no_answer) => {
                    return Ok(Err(NoAnswer {
                        throttled,
                        ..no_answer
                    }));
                }
            }
        }
    }

    async fn send_once(&self, request: &Request) -> Result<Result<Answer, NoAnswer>, Error> {
        let url = self.url(&request.path)?;
        let label = format!("{} /{}", request.method, request.path);
        let mut exchange = Exchange {
            method: request.method.to_string(),
            url: url.to_string(),
            request_headers: request
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), shown_value(name, value)))
                .collect(),
            request_body_bytes: request.body.as_ref().map(Vec::len),
            status: None,
            headers: BTreeMap::new(),
            body: String::new(),
            error: None,
        };
        let result = match self.fetch(url, request).await {
            Ok(fetched) => {
                exchange.status = Some(fetched.status.as_u16());
                exchange.headers = evidence_headers(&fetched.headers);
                exchange.body = excerpt(&fetched.body);
                Ok(Answer {
                    label,
                    status: fetched.status,
                    headers: fetched.headers,
                    body: fetched.body,
                    exchange,
                    throttled: Vec::new(),
                })
            }
            Err(broken) => {
                exchange.error = Some(match &broken.head {
                    None => error_chain(&broken.source),
                    Some(_) => format!("the body broke off: {}", error_chain(&broken.source)),
                });
                if let Some((status, headers)) = &broken.head {
                    exchange.status = Some(status.as_u16());
                    exchange.headers = evidence_headers(headers);
                }
                exchange.body = excerpt(&broken.body);
                Err(NoAnswer {
                    label,
                    exchange,
                    source: broken.source,
                    throttled: Vec::new(),
                })
            }
        };
        let exchange = match &result {
            Ok(answer) => &answer.exchange,
            Err(no_answer) => &no_answer.exchange,
        };
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(exchange.clone());
        Ok(result)
    }
}

/// A request header's value as the evidence keeps it: a password never is.
fn shown_value(name: &HeaderName, value: &str) -> String {
    if *name == reqwest::header::AUTHORIZATION {
        let scheme = value.split(' ').next().unwrap_or("");
        format!("{scheme} (not shown)")
    } else {
        value.to_owned()
    }
}

/// How long to wait before sending a throttled request again: its `Retry-After` in
/// seconds, at most [`MAX_RETRY_WAIT`]; [`DEFAULT_RETRY_WAIT`] when there is none or it
/// is not a number of seconds (an HTTP date, say).
fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_WAIT, Duration::from_secs)
        .min(MAX_RETRY_WAIT)
}

/// Makes ring the process's TLS crypto provider, if no provider is installed yet.
///
/// The checker builds reqwest with rustls but without a bundled crypto provider, and
/// reqwest panics when it builds a client and finds none. [`verify`](crate::verify) and
/// the load generator call this themselves; call it before building your own
/// `reqwest::Client` in a program or test that links this crate. Calling it again does
/// nothing.
pub fn install_tls_provider() {
    // `Err` means a provider is already installed, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn evidence_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    EVIDENCE_HEADERS
        .iter()
        .filter_map(|name| {
            let values: Vec<String> = headers
                .get_all(*name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect();
            (!values.is_empty()).then(|| ((*name).to_owned(), values.join(", ")))
        })
        .collect()
}

/// `error: cause: cause`, on one line: reqwest's own message rarely says what went wrong.
///
/// The service has the workspace's other formatter (`visitor_counter::error_chain`),
/// which the tests and the benchmark use; the checker keeps this one because it must
/// not depend on the service it checks (it ships on its own, and would build the AWS
/// SDK for nothing), and because hyper and reqwest repeat a message one level down,
/// which this one drops.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and reqwest sometimes repeat the same message one level down.
        if !line.ends_with(&cause_text) {
            line.push_str(": ");
            line.push_str(&cause_text);
        }
        source = cause.source();
    }
    line
}

/// One header's value, if it was sent exactly once and is text.
pub(crate) fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, String> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(Some)
            .map_err(|_| format!("{name} is not text")),
        (Some(_), Some(_)) => Err(format!("{name} is sent more than once")),
    }
}

/// All tokens of a comma-separated header, across repeated headers.
pub(crate) fn header_tokens(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .flat_map(crate::contract::tokens)
        .map(str::to_owned)
        .collect()
}
