//! Lambda mode: real API Gateway HTTP API (payload 2.0) events through `lambda_http`
//! into the same app.

use axum::body::Body;
use http::StatusCode;
use http_body_util::BodyExt;
use pretty_assertions::assert_eq;
use tower::ServiceExt;
use visitor_counter::lambda;

use crate::helpers::*;

async fn invoke(app: &axum::Router, event: &str) -> Answer {
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway event");
    let response = lambda::service(app.clone()).oneshot(request).await.unwrap();
    let (parts, body): (_, Body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

macro_rules! event {
    ($name:literal) => {
        include_str!(concat!("../data/", $name))
    };
}

#[tokio::test]
async fn get_on_the_default_stage() {
    let t = embedded_app();
    let answer = invoke(&t.app, event!("apigw-get-count.json")).await;
    assert_eq!(answer.count(&schemas().get_count), 0);
    assert_eq!(answer.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn post_on_a_named_stage_with_an_allowed_origin() {
    let t = embedded_app();
    let answer = invoke(&t.app, event!("apigw-post-count-on-stage-with-origin.json")).await;
    assert_eq!(answer.count(&schemas().post_count), 1);
    assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(answer.header("vary"), Some("Origin"));

    let answer = invoke(&t.app, event!("apigw-get-count-on-stage-with-query.json")).await;
    assert_eq!(answer.count(&schemas().get_count), 1);
}

#[tokio::test]
async fn preflight_from_an_allowed_origin() {
    let t = embedded_app();
    let answer = invoke(&t.app, event!("apigw-options-preflight.json")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        answer.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
}

#[tokio::test]
async fn errors_keep_the_contract_in_lambda_too() {
    let t = embedded_app();
    invoke(&t.app, event!("apigw-get-unknown-path.json"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not-found");

    let answer = invoke(&t.app, event!("apigw-put-count.json")).await;
    answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
    assert_eq!(answer.header("allow"), Some("GET, POST, OPTIONS"));

    invoke(&t.app, event!("apigw-post-oversized-body.json"))
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");

    // None of them counted.
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 0);
}

#[tokio::test]
async fn storage_unavailable_in_lambda_is_503() {
    let app = failing_app(|| visitor_counter::store::StoreError::Unavailable("timeout".into()));
    let answer = invoke(&app, event!("apigw-post-count-on-stage-with-origin.json")).await;
    answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));
}
