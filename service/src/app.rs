//! The HTTP application: one router, served by the local server and by Lambda alike.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::config::AllowedOrigins;
use crate::cors::Cors;
use crate::error::error_chain;
use crate::problem::Problem;
use crate::store::{CounterStore, StoreError};

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1024;
/// How long a client may take to send its body (local mode; Lambda gets whole events).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The one path the API serves.
pub const COUNT_PATH: &str = "/count";
/// Builds the application around a store.
pub fn app<S: CounterStore>(store: Arc<S>, allowed_origins: AllowedOrigins) -> Router {
    let cors = Arc::new(Cors::new(allowed_origins));
    Router::new()
        .route(COUNT_PATH, any(count::<S>))
        .fallback(not_found)
        .with_state(store)
        .layer(middleware::from_fn(read_body))
        .layer(middleware::from_fn_with_state(cors, crate::cors::layer))
        .layer(middleware::from_fn(no_store))
}

/// `/count`: dispatches on the method itself, so that every other method gets
/// the contract's 405 problem rather than a bare status.
async fn count<S: CounterStore>(State(store): State<Arc<S>>, method: Method) -> Response {
    let result = match method {
        Method::GET => store.get().await,
        Method::POST => store.increment().await,
        Method::OPTIONS => return crate::cors::preflight(),
        _ => return Problem::MethodNotAllowed.into_response(),
    };
    match result {
        Ok(count) => count_response(count),
        Err(error) => store_failure(&method, &error),
    }
}

fn count_response(count: u64) -> Response {
    let mut response = Response::new(Body::from(format!("{{\"count\":{count}}}")));
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

/// Counts are never cached, whatever the answer.
async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
