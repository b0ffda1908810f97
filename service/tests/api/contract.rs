//! Every row of the contract table, through the app.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use visitor_counter::app::app;
use visitor_counter::config::AllowedOrigins;
use visitor_counter::store::{EmbeddedStore, StoreError};

use crate::helpers::*;

#[tokio::test]
async fn get_reads_zero_before_any_visit_and_post_counts_one_more() {
    let t = embedded_app();
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 0);
    assert_eq!(post(&t.app).await.count(&schemas().post_count), 1);
    assert_eq!(post(&t.app).await.count(&schemas().post_count), 2);
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 2);
}

#[tokio::test]
async fn concurrent_posts_get_distinct_consecutive_counts() {
    let t = embedded_app();
    assert_concurrent_posts_count_exactly(&t.app, 200).await;
}

#[tokio::test]
async fn other_methods_on_count_are_405_with_allow_and_not_counted() {
    let t = embedded_app();
    // (HEAD is GET without the body: `people::head_answers_wherever_get_does_*`.)
    for method in ["PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = call(
            &t.app,
            request(method.clone(), "/count")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(
            answer.header("allow"),
            Some("GET, HEAD, POST, OPTIONS"),
            "{method}"
        );
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        if method != Method::HEAD {
            answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
        }
    }
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 0);
}

#[tokio::test]
async fn any_other_path_is_404_and_not_counted() {
    let t = embedded_app();
    for (method, path) in [
        (Method::GET, "/nothing-here"),
        (Method::POST, "/counts"),
        (Method::POST, "/count/"),
        (Method::POST, "/COUNT"),
        (Method::GET, "/count/extra"),
        (Method::POST, "/prod/count"),
        (Method::DELETE, "/anything"),
        (Method::GET, "/%2e%2e/count"),
    ] {
        let answer = call(&t.app, request(method, path).body(Body::empty()).unwrap()).await;
        answer.assert_problem(StatusCode::NOT_FOUND, "not-found");
    }
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 0);
}

#[tokio::test]
async fn bodies_over_1_kib_are_413_and_not_counted() {
    let t = embedded_app();
    // Declared length.
    let answer = call(
        &t.app,
        request(Method::POST, "/count")
            .body(Body::from(vec![b'x'; 1025]))
            .unwrap(),
    )
    .await;
    answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    // No declared length: a stream that turns out too long.
    let chunks = (0..2).map(|_| Ok(vec![b'x'; 600])).collect();
    let answer = call(
        &t.app,
        request(Method::POST, "/count")
            .body(Body::from_stream(futures_stream(chunks)))
            .unwrap(),
    )
    .await;
    answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    // GET with a big body is refused the same way.
    let answer = call(
        &t.app,
        request(Method::GET, "/count")
            .body(Body::from(vec![b'x'; 4096]))
            .unwrap(),
    )
    .await;
    answer.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 0);

    // Exactly at the limit is fine, and counted.
    let answer = call(
        &t.app,
        request(Method::POST, "/count")
            .body(Body::from(vec![b'x'; 1024]))
            .unwrap(),
    )
    .await;
    assert_eq!(answer.count(&schemas().post_count), 1);
}

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::iter(chunks)
}

#[tokio::test]
async fn storage_unavailable_is_503_with_retry_after_for_reads_and_writes() {
    let app = failing_app(|| {
        StoreError::Unavailable("connection refused by 10.0.0.1 (AWS ServiceUnavailable)".into())
    });
    for answer in [get(&app).await, post(&app).await] {
        answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
        assert_eq!(answer.header("retry-after"), Some("1"));
        let body = String::from_utf8_lossy(&answer.body);
        assert!(
            !body.contains("AWS") && !body.contains("10.0.0.1"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_stored_value_that_is_not_a_count_is_500() {
    let app = failing_app(|| StoreError::NotACount("S(\"banana\")".into()));
    for answer in [get(&app).await, post(&app).await] {
        answer.assert_problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored-value-not-a-count",
        );
        assert!(!String::from_utf8_lossy(&answer.body).contains("banana"));
    }
}

#[tokio::test]
async fn other_storage_failures_are_500_without_their_cause() {
    let app = failing_app(|| {
        StoreError::Failed("ResourceNotFoundException: Requested resource not found".into())
    });
    for answer in [get(&app).await, post(&app).await] {
        answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal-error");
        assert!(!String::from_utf8_lossy(&answer.body).contains("Resource"));
    }
}

fn with_origin(method: Method, path: &str, origin: &str) -> http::Request<Body> {
    request(method, path)
        .header("origin", origin)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn allowed_origins_get_themselves_back_on_every_answer() {
    let t = embedded_app();
    for (method, path, status) in [
        (Method::GET, "/count", StatusCode::OK),
        (Method::POST, "/count", StatusCode::OK),
        (Method::PUT, "/count", StatusCode::METHOD_NOT_ALLOWED),
        (Method::GET, "/nowhere", StatusCode::NOT_FOUND),
    ] {
        let answer = call(&t.app, with_origin(method, path, ORIGIN)).await;
        assert_eq!(answer.status, status);
        assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));
        assert_eq!(answer.header("vary"), Some("Origin"));
        assert_eq!(
            answer.header("access-control-expose-headers"),
            Some("Retry-After, Idempotent-Replayed, Visit-Filtered")
        );
        assert_eq!(answer.header("access-control-allow-credentials"), None);
    }
    let answer = call(
        &t.app,
        with_origin(Method::GET, "/count", "http://localhost:8080"),
    )
    .await;
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://localhost:8080")
    );
}

#[tokio::test]
async fn foreign_origins_get_no_cors_headers() {
    let t = embedded_app();
    for origin in [
        FOREIGN_ORIGIN,
        "https://example.com.evil.test",
        "http://example.com",
        "https://EXAMPLE.com",
        "null",
        "*",
    ] {
        let answer = call(&t.app, with_origin(Method::GET, "/count", origin)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(
            answer.header("access-control-allow-origin"),
            None,
            "{origin}"
        );
        assert_eq!(answer.header("vary"), Some("Origin"), "{origin}");
        assert_no_cors_headers(&answer.headers, origin);
    }
}

#[tokio::test]
async fn preflight_is_204_with_cors_headers_for_allowed_origins_only() {
    let t = embedded_app();
    let preflight = |origin: &str| {
        request(Method::OPTIONS, "/count")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, idempotency-key",
            )
            .body(Body::empty())
            .unwrap()
    };
    let answer = call(&t.app, preflight(ORIGIN)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        answer.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("content-type, idempotency-key")
    );
    assert_eq!(answer.header("access-control-max-age"), Some("600"));
    assert_eq!(answer.header("vary"), Some("Origin"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert!(answer.body.is_empty());

    let answer = call(&t.app, preflight(FOREIGN_ORIGIN)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_no_cors_headers(&answer.headers, "preflight from a foreign origin");
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 0);
}

#[tokio::test]
async fn repeated_origin_headers_get_no_cors_headers() {
    let t = embedded_app();
    let answer = call(
        &t.app,
        request(Method::GET, "/count")
            .header("origin", ORIGIN)
            .header("origin", ORIGIN)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn wildcard_only_when_configured_and_nothing_when_unconfigured() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("c.redb")).unwrap());

    let any = app(Arc::clone(&store), AllowedOrigins::Any);
    let answer = call(&any, with_origin(Method::GET, "/count", FOREIGN_ORIGIN)).await;
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_eq!(answer.header("access-control-allow-credentials"), None);

    let none = app(store, AllowedOrigins::None);
    let answer = call(&none, with_origin(Method::GET, "/count", ORIGIN)).await;
    assert_eq!(answer.header("access-control-allow-origin"), None);
    assert_eq!(answer.header("vary"), None);
}
