//! Sending requests and keeping what came back as evidence.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use crate::Error;
use crate::report::{Exchange, excerpt};

/// The most of a body the checker reads; the contract's bodies are a few dozen bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

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
    "content-type",
    "location",
    "retry-after",
    "vary",
];

/// Parses a base URL and makes it a directory (trailing `/`), so that joining
/// `count` keeps a stage path: `https://host/prod` -> `https://host/prod/count`.
pub(crate) fn base_url(text: &str) -> Result<Url, Error> {
    let invalid = |reason: String| Error::InvalidBaseUrl {
        url: text.to_owned(),
        reason,
    };
    let mut url = Url::parse(text.trim()).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment".to_owned()));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Accepts only a bare origin, exactly as a browser sends it in `Origin`.
pub(crate) fn check_origin(origin: &str) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidOrigin {
        origin: origin.to_owned(),
        reason,
    };
    let url = Url::parse(origin).map_err(|error| invalid(error.to_string()))?;
    let serialized = url.origin().ascii_serialization();
    if serialized == "null" {
        return Err(invalid("it has no host".to_owned()));
    }
    if serialized != origin {
        return Err(invalid(format!(
            "an origin is a scheme, host and optional port only, like {serialized}"
        )));
    }
    Ok(())
}

/// What to send.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// Relative to the base URL, such as `count`.
    pub path: &'static str,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: Method, path: &'static str) -> Self {
        Self {
            method,
            path,
            headers: Vec::new(),
            body: None,
        }
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
}

/// No answer came; the exchange says why.
#[derive(Debug)]
pub(crate) struct NoAnswer {
    pub label: String,
    pub exchange: Exchange,
    pub source: reqwest::Error,
}

/// The HTTP client for one run; it remembers every exchange. Clones share the log.
#[derive(Clone)]
pub(crate) struct Client {
    inner: reqwest::Client,
    base: Url,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl Client {
    pub fn new(base: Url, timeout: Duration) -> Result<Self, Error> {
        crate::install_tls_provider();
        let inner = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect is an answer the contract does not allow; it must be seen, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("visitor-counter-e2e/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Client)?;
        Ok(Self {
            inner,
            base,
            log: Arc::new(Mutex::new(Vec::new())),
        })
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

    /// Every exchange so far, in the order the answers came.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub async fn send(&self, request: Request) -> Result<Result<Answer, NoAnswer>, Error> {
        let url = self.url(request.path)?;
        let label = format!("{} /{}", request.method, request.path);
        let mut exchange = Exchange {
            method: request.method.to_string(),
            url: url.to_string(),
            request_headers: request
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
            request_body_bytes: request.body.as_ref().map(Vec::len),
            status: None,
            headers: BTreeMap::new(),
            body: String::new(),
            error: None,
        };
        let mut builder = self.inner.request(request.method, url);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let result = match builder.send().await {
            Ok(response) => read(response, label, exchange).await,
            Err(source) => {
                exchange.error = Some(error_chain(&source));
                Err(NoAnswer {
                    label,
                    exchange,
                    source,
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

async fn read(
    mut response: reqwest::Response,
    label: String,
    mut exchange: Exchange,
) -> Result<Answer, NoAnswer> {
    let status = response.status();
    let headers = response.headers().clone();
    exchange.status = Some(status.as_u16());
    exchange.headers = evidence_headers(&headers);
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() >= MAX_BODY_BYTES {
                    body.truncate(MAX_BODY_BYTES);
                    break;
                }
            }
            Ok(None) => break,
            Err(source) => {
                exchange.body = excerpt(&body);
                exchange.error = Some(format!("the body broke off: {}", error_chain(&source)));
                return Err(NoAnswer {
                    label,
                    exchange,
                    source,
                });
            }
        }
    }
    exchange.body = excerpt(&body);
    Ok(Answer {
        label,
        status,
        headers,
        body,
        exchange,
    })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_stage_path_is_kept_with_or_without_a_trailing_slash() {
        for base in ["https://host.example/prod", "https://host.example/prod/"] {
            let url = base_url(base).unwrap();
            assert_eq!(
                url.join("count").unwrap().as_str(),
                "https://host.example/prod/count"
            );
        }
        let root = base_url("http://127.0.0.1:3000").unwrap();
        assert_eq!(
            root.join("count").unwrap().as_str(),
            "http://127.0.0.1:3000/count"
        );
    }

    #[test]
    fn malformed_base_urls_are_refused() {
        for bad in [
            "",
            "not a url",
            "127.0.0.1:3000",
            "ftp://host/prod",
            "http://",
            "https://host/prod?x=1",
            "https://host/prod#top",
        ] {
            assert!(
                matches!(base_url(bad), Err(Error::InvalidBaseUrl { .. })),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn only_bare_origins_are_accepted() {
        for good in [
            "https://example.com",
            "http://localhost:8080",
            "https://e2e-foreign.invalid",
        ] {
            check_origin(good).unwrap();
        }
        for bad in [
            "https://example.com/",
            "https://example.com/page",
            "example.com",
            "*",
            "null",
        ] {
            assert!(check_origin(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
