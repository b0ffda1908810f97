//! CORS with an exact allow-list: an allowed origin gets itself back in
//! `Access-Control-Allow-Origin`; any other origin gets no CORS header at all.
//! Credentials are never allowed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use crate::config::AllowedOrigins;
use crate::problem::ALLOWED_METHODS;

/// How long browsers may reuse a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE: u32 = 600;
/// Request headers a page may send (a JSON `Content-Type` on POST).
pub const ALLOWED_HEADERS: &str = "content-type";

#[derive(Debug)]
pub struct Cors {
    origins: AllowedOrigins,
}

/// Marks a response as the answer to a preflight request.
#[derive(Debug, Clone, Copy)]
struct Preflight;

impl Cors {
    pub fn new(origins: AllowedOrigins) -> Self {
        Self { origins }
    }
}

/// The answer to `OPTIONS /count`; the CORS layer adds the headers if the origin is allowed.
pub fn preflight() -> Response {
    let mut response = Response::default();
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.extensions_mut().insert(Preflight);
    response
}

pub async fn layer(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    // A request with several Origin headers is malformed; it gets no CORS headers.
    let mut origins = request.headers().get_all(header::ORIGIN).iter();
    let origin = match (origins.next(), origins.next()) {
        (Some(origin), None) if cors.origins.allows(origin.as_bytes()) => Some(origin.clone()),
        _ => None,
    };

    let mut response = next.run(request).await;
    let is_preflight = response.extensions().get::<Preflight>().is_some();
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
    if is_preflight {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
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
            HeaderValue::from_static("Retry-After"),
        );
    }
    response
}
