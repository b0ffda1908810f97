//! Error answers: RFC 9457 problem details, the only error shape clients see.
//! The client gets a stable `type`, a title and a generic detail; causes go to the log.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::idempotency::InvalidKey;
use crate::store::StoreError;

pub const CONTENT_TYPE: &str = "application/problem+json";
/// Seconds a client should wait after a 503 (or a 409 for a key in flight).
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// Every problem this service can answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    BadRequest,
    /// A query parameter that is not what the route takes; the detail names it.
    InvalidQuery(Cow<'static, str>),
    /// A counter name that is not valid or not allowed (`COUNTERS`).
    UnknownCounter,
    /// An `Idempotency-Key` that is not one valid key.
    InvalidIdempotencyKey(InvalidKey),
    /// An `Idempotency-Key` first used on another counter.
    IdempotencyKeyReused,
    /// An `Idempotency-Key` whose first request is being written at this moment.
    IdempotencyKeyInFlight,
    OriginNotAllowed,
    /// A POST that would create one more counter than `MAX_COUNTERS`.
    TooManyCounters,
    /// The dashboard or the list without the owner's password (`DASHBOARD_PASSWORD`).
    Unauthorized,
    NotFound,
    /// The methods the path answers, as sent in `Allow`.
    MethodNotAllowed(&'static str),
    RequestTimeout,
    PayloadTooLarge {
        limit: usize,
    },
    /// Over the server's limits: this many headers or this many bytes of them.
    HeadersTooLarge {
        headers: usize,
        bytes: usize,
    },
    InternalError,
    StoredValueNotACount,
    StorageUnavailable,
}

impl From<crate::badge::InvalidBadge> for Problem {
    fn from(why: crate::badge::InvalidBadge) -> Self {
        Problem::InvalidQuery(Cow::Owned(why.0))
    }
}

impl Problem {
    pub fn status(&self) -> StatusCode {
        match self {
            Problem::BadRequest | Problem::InvalidQuery(_) | Problem::InvalidIdempotencyKey(_) => {
                StatusCode::BAD_REQUEST
            }
            Problem::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Problem::IdempotencyKeyInFlight => StatusCode::CONFLICT,
            Problem::UnknownCounter => StatusCode::NOT_FOUND,
            Problem::OriginNotAllowed | Problem::TooManyCounters => StatusCode::FORBIDDEN,
            Problem::Unauthorized => StatusCode::UNAUTHORIZED,
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Problem::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Problem::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Problem::InternalError | Problem::StoredValueNotACount => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Problem::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable identifier clients branch on (listed in `contracts/schemas/problem.json`).
    pub fn type_uri(&self) -> &'static str {
        match self {
            Problem::BadRequest => "urn:visitor-counter:problem:bad-request",
            Problem::InvalidQuery(_) => "urn:visitor-counter:problem:invalid-query",
            Problem::UnknownCounter => "urn:visitor-counter:problem:unknown-counter",
            Problem::InvalidIdempotencyKey(_) => {
                "urn:visitor-counter:problem:invalid-idempotency-key"
            }
            Problem::IdempotencyKeyReused => "urn:visitor-counter:problem:idempotency-key-reused",
            Problem::IdempotencyKeyInFlight => {
                "urn:visitor-counter:problem:idempotency-key-in-flight"
            }
            Problem::OriginNotAllowed => "urn:visitor-counter:problem:origin-not-allowed",
            Problem::TooManyCounters => "urn:visitor-counter:problem:too-many-counters",
            Problem::Unauthorized => "urn:visitor-counter:problem:unauthorized",
            Problem::NotFound => "urn:visitor-counter:problem:not-found",
            Problem::MethodNotAllowed(_) => "urn:visitor-counter:problem:method-not-allowed",
            Problem::RequestTimeout => "urn:visitor-counter:problem:request-timeout",
            Problem::PayloadTooLarge { .. } => "urn:visitor-counter:problem:payload-too-large",
            Problem::HeadersTooLarge { .. } => "urn:visitor-counter:problem:headers-too-large",
            Problem::InternalError => "urn:visitor-counter:problem:internal-error",
            Problem::StoredValueNotACount => "urn:visitor-counter:problem:stored-value-not-a-count",
            Problem::StorageUnavailable => "urn:visitor-counter:problem:storage-unavailable",
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Problem::BadRequest => "Bad request",
            Problem::InvalidQuery(_) => "Invalid query",
            Problem::UnknownCounter => "Unknown counter",
            Problem::InvalidIdempotencyKey(_) => "Invalid Idempotency-Key",
            Problem::IdempotencyKeyReused => "Idempotency-Key reused",
            Problem::IdempotencyKeyInFlight => "Idempotency-Key in flight",
            Problem::OriginNotAllowed => "Origin not allowed",
            Problem::TooManyCounters => "Too many counters",
            Problem::Unauthorized => "Unauthorized",
            Problem::NotFound => "Not found",
            Problem::MethodNotAllowed(_) => "Method not allowed",
            Problem::RequestTimeout => "Request timeout",
            Problem::PayloadTooLarge { .. } => "Payload too large",
            Problem::HeadersTooLarge { .. } => "Request headers too large",
            Problem::InternalError => "Internal error",
            Problem::StoredValueNotACount => "Stored value is not a count",
            Problem::StorageUnavailable => "Storage unavailable",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Problem::BadRequest => "The request could not be read.".into(),
            Problem::InvalidQuery(detail) => detail.to_string(),
            Problem::UnknownCounter => "There is no such counter: a name is 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit, and the operator may limit which names are counted (COUNTERS).".into(),
            Problem::InvalidIdempotencyKey(why) => why.detail().into(),
            Problem::IdempotencyKeyReused => "This Idempotency-Key was first used on another counter; nothing was counted. A key is one visit of one counter and is kept 24 hours: send a new key with each visit.".into(),
            Problem::IdempotencyKeyInFlight => "The first request with this Idempotency-Key is being counted at this moment; nothing more was counted. Send it again after Retry-After seconds for its answer.".into(),
            Problem::OriginNotAllowed => "Pages on this origin may not count visits here; the operator decides which origins may (ALLOWED_ORIGINS).".into(),
            Problem::TooManyCounters => "This counter does not exist and the store holds as many counters as the operator allows (MAX_COUNTERS); nothing was counted. Existing counters keep counting.".into(),
            Problem::Unauthorized => "This page is the owner's: send the password the operator set (DASHBOARD_PASSWORD) with HTTP Basic authentication, under any user name.".into(),
            Problem::NotFound => {
                "There is nothing at this path; counters are at /counters/{name}, /count is the counter site, the whole site is at /totals and the dashboard at /dashboard.".into()
            }
            Problem::MethodNotAllowed(allow) => format!("This path answers {allow}."),
            Problem::RequestTimeout => "The request body did not arrive in time.".into(),
            Problem::PayloadTooLarge { limit } => {
                format!("The request body is over the limit of {limit} bytes.")
            }
            Problem::HeadersTooLarge { headers, bytes } => format!(
                "The request's headers are over the limit of {headers} headers or {bytes} bytes."
            ),
            Problem::InternalError => {
                "The counter failed; the operator can find the cause in the logs.".into()
            }
            Problem::StoredValueNotACount => "The stored counter holds something other than a count; it has been left unchanged for the operator to inspect.".into(),
            Problem::StorageUnavailable => "The count is stored in a service that did not answer in time; try again shortly.".into(),
        }
    }
}

/// The RFC 9457 members, in the order people read them.
#[derive(serde::Serialize)]
struct Body {
    r#type: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
}

impl Problem {
    /// The `application/problem+json` body.
    pub fn body(&self) -> Vec<u8> {
        let body = Body {
            r#type: self.type_uri(),
            title: self.title(),
            status: self.status().as_u16(),
            detail: self.detail(),
        };
        // Serialising four plain members cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = Response::new(axum::body::Body::from(self.body()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        match self {
            Problem::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Problem::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(crate::auth::CHALLENGE),
                );
            }
            Problem::StorageUnavailable | Problem::IdempotencyKeyInFlight => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response
    }
}

impl From<&StoreError> for Problem {
    fn from(error: &StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Problem::StorageUnavailable,
            StoreError::NotACount(_) => Problem::StoredValueNotACount,
            StoreError::Failed(_) => Problem::InternalError,
        }
    }
}
