//! CORS with an exact allow-list: an allowed origin gets itself back in
//! `Access-Control-Allow-Origin`; any other origin gets no CORS header at all.
//! Credentials are never allowed.
//!
//! CORS only hides answers from foreign pages: a browser still sends a "simple"
//! cross-origin `POST` (no body, `text/plain`, a form, `sendBeacon`, `no-cors`) and
//! would count the visit. So the allow-list also decides who may count: a `POST` whose
//! `Origin` is neither allowed nor the API's own is refused with `403` before the
//! handler runs. A request without `Origin` is not a browser on a foreign page (curl,
//! a server) and is served as before.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};

use crate::problem::Problem;

/// How long browsers may reuse a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE: u32 = 600;
/// Request headers a page may send: a JSON `Content-Type`, and an `Idempotency-Key`
/// on POST.
pub const ALLOWED_HEADERS: &str = "content-type, idempotency-key";
/// Response headers a page may read: `Retry-After` (after a 503 or a 409), and
/// whether an answer was replayed.
pub const EXPOSED_HEADERS: &str = "Retry-After, Idempotent-Replayed, Visit-Filtered";

#[derive(Debug)]
pub struct Cors {
    origins: AllowedOrigins,
    /// When each refused origin was last logged (at most [`LOGGED_ORIGINS`] of them).
    logged: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// A refused origin is logged at most once in this long.
pub const LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// The most refused origins remembered at once; past it the oldest are forgotten.
const LOGGED_ORIGINS: usize = 256;

/// Whether a path counts visits (takes `POST`): `/count` and `/counters/{name}`.
fn counts(path: &str) -> bool {
    path == super::COUNT_PATH
        || path
            .strip_prefix("/counters/")
            .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// Marks a response as the answer to a preflight request, with the methods its path answers.
#[derive(Debug, Clone, Copy)]
struct Preflight(&'static str);

impl Cors {
    pub fn new(origins: AllowedOrigins) -> Self {
        Self {
            origins,
            logged: std::sync::Mutex::default(),
        }
    }

    /// Says why a page's POST was refused, once per origin per [`LOG_INTERVAL`]: an
    /// origin is a site's address, not a visitor's, so it may be logged.
    fn log_refused(&self, headers: &HeaderMap) {
        let Some(origin) = headers
            .get(header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
        else {
            return;
        };
        let now = std::time::Instant::now();
        let Ok(mut logged) = self.logged.lock() else {
            return;
        };
        if logged
            .get(origin)
            .is_some_and(|last| now.duration_since(*last) < LOG_INTERVAL)
        {
            return;
        }
        if logged.len() >= LOGGED_ORIGINS {
            logged.retain(|_, last| now.duration_since(*last) < LOG_INTERVAL);
            if logged.len() >= LOGGED_ORIGINS {
                return;
            }
        }
        // The origin as text, at most a line's worth, without control characters.
        let shown: String = origin
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        logged.insert(origin.to_owned(), now);
        tracing::warn!(
            origin = %shown,
            allowed = %self.origins,
            "refused a POST from a page on an origin that ALLOWED_ORIGINS does not list; add it there if it is your site"
        );
    }
}

/// The answer to `OPTIONS` on a path that answers `methods`; the CORS layer adds the
/// headers if the origin is allowed.
pub fn preflight(methods: &'static str) -> Response {
    let mut response = Response::default();
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.extensions_mut().insert(Preflight(methods));
    response
}

pub async fn layer(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    // A request with several Origin headers is malformed; it gets no CORS headers.
    let mut origins = request.headers().get_all(header::ORIGIN).iter();
    let origin = match (origins.next(), origins.next()) {
        (Some(origin), None) if cors.origins.allows(origin.as_bytes()) => Some(origin.clone()),
        _ => None,
    };

    // Route first, then origin: a path that takes no POST answers its own 405.
    let refused = request.method() == Method::POST
        && counts(request.uri().path())
        && origin.is_none()
        && request.headers().contains_key(header::ORIGIN)
        && !is_own_origin(request.uri(), request.headers());
    let mut response = if refused {
        cors.log_refused(request.headers());
        Problem::OriginNotAllowed.into_response()
    } else {
        next.run(request).await
    };
    let preflight = response.extensions().get::<Preflight>().copied();
    let headers = response.headers_mut();

    if let AllowedOrigins::List(_) = cors.origins {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    let Some(origin) = origin else {
        return response;
    };
    let allow_origin = match cors.origins {
        AllowedOrigins::Any => HeaderValue::from_static("*"),
        _ => origin,
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    if let Some(Preflight(methods)) = preflight {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(PREFLIGHT_MAX_AGE),
        );
    } else {
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    response
}

/// Whether the request's one `Origin` is the API's own: the scheme, host and port the
/// request was addressed to. In Lambda the URI is absolute (lambda_http builds it from
/// API Gateway's `Host` and `X-Forwarded-Proto`); the local server sees a path and a
/// `Host` header, and speaks plain HTTP.
fn is_own_origin(uri: &Uri, headers: &HeaderMap) -> bool {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let (Some(origin), None) = (origins.next(), origins.next()) else {
        return false;
    };
    let (scheme, authority) = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => (scheme, authority.as_str()),
        _ => match headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
        {
            Some(host) => ("http", host),
            None => return false,
        },
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    origin.eq_ignore_ascii_case(&origin_of(scheme, authority))
}

/// `scheme://host[:port]` as a browser serialises it: lower case, default port left out.
fn origin_of(scheme: &str, authority: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    let authority = match authority.strip_suffix(default_port) {
        Some(host) if !default_port.is_empty() => host,
        _ => &authority,
    };
    format!("{scheme}://{authority}")
}

/// Which browser origins may read the API's answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowedOrigins {
    /// No cross-origin access: no CORS headers at all.
    #[default]
    None,
    /// Exactly these origins (lower-cased `scheme://host[:port]`).
    List(Vec<String>),
    /// Any origin (`*`), only when the operator asks for it.
    Any,
}

impl AllowedOrigins {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(Self::None);
        }
        if value == "*" {
            return Ok(Self::Any);
        }
        value
            .split(',')
            .map(|item| parse_origin(item.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::List)
    }

    /// Whether a request's `Origin` header value is allowed.
    pub fn allows(&self, origin: &[u8]) -> bool {
        match self {
            Self::None => false,
            Self::Any => true,
            Self::List(origins) => origins.iter().any(|o| o.as_bytes() == origin),
        }
    }
}

impl fmt::Display for AllowedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Any => f.write_str("*"),
            Self::List(origins) => f.write_str(&origins.join(",")),
        }
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after the authority.
fn parse_origin(item: &str) -> Result<String, String> {
    let invalid = |why: &str| Err(format!("{item:?} is not an origin ({why})"));
    if item.is_empty() {
        return invalid("empty entry; separate origins with single commas");
    }
    if item == "*" {
        return invalid("'*' must be the whole value, not one entry of a list");
    }
    let Some((scheme, authority)) = item.split_once("://") else {
        return invalid("expected scheme://host[:port], e.g. https://example.com");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return invalid("the scheme must be https or http");
    }
    if authority.is_empty() {
        return invalid("the host is missing");
    }
    if let Some(bad) = authority
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
    {
        let why = if bad == '/' {
            "no path or trailing slash: an origin ends after the host and port".to_owned()
        } else {
            format!("{bad:?} cannot appear in a host")
        };
        return invalid(&why);
    }
    if let Some((_, port)) = authority
        .rsplit_once(':')
        .filter(|_| !authority.ends_with(']'))
        && port.parse::<u16>().is_err()
    {
        return invalid("the port must be a number from 0 to 65535");
    }
    // As browsers send it: a default port is left out, so `https://example.com:443`
    // must match the `Origin: https://example.com` a page on it sends.
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Ok(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn own_origin_is_where_the_request_was_sent() {
        let local: Uri = "/count".parse().unwrap();
        let own = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(is_own_origin(&local, &own));
        let other_port = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(!is_own_origin(&local, &other_port));
        let https_local = headers(&[
            ("origin", "https://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(!is_own_origin(&local, &https_local));
        let no_host = headers(&[("origin", "http://127.0.0.1:3000")]);
        assert!(!is_own_origin(&local, &no_host));

        let lambda: Uri = "https://abc.execute-api.eu-west-1.amazonaws.com/prod/count"
            .parse()
            .unwrap();
        let stage = headers(&[("origin", "https://abc.execute-api.eu-west-1.amazonaws.com")]);
        assert!(is_own_origin(&lambda, &stage));
        let with_port: Uri = "https://abc.example:443/count".parse().unwrap();
        assert!(is_own_origin(
            &with_port,
            &headers(&[("origin", "https://ABC.example")])
        ));
        let foreign = headers(&[("origin", "https://evil.example")]);
        assert!(!is_own_origin(&lambda, &foreign));
        let null = headers(&[("origin", "null")]);
        assert!(!is_own_origin(&lambda, &null));
    }
}
