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
    assert_eq!(answer.header("allow"), Some("GET, HEAD, POST, OPTIONS"));

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

/// An API Gateway event for `method` on `raw_path` (stage `prod`) with `query`, from
/// the named-stage template.
fn v2_event(method: &str, raw_path: &str, query: &str) -> String {
    let mut event: serde_json::Value =
        serde_json::from_str(event!("apigw-post-count-on-stage-with-origin.json")).unwrap();
    event["routeKey"] = "$default".into();
    event["requestContext"]["routeKey"] = "$default".into();
    event["rawPath"] = raw_path.into();
    event["rawQueryString"] = query.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = raw_path.into();
    if method != "POST" {
        event["body"] = serde_json::Value::Null;
        event["headers"]
            .as_object_mut()
            .unwrap()
            .retain(|name, _| !["content-length", "content-type"].contains(&name.as_str()));
    }
    event.to_string()
}

#[tokio::test]
async fn the_v2_routes_on_a_named_stage() {
    let t = embedded_app();
    let post = v2_event("POST", "/prod/counters/home", "");
    assert_eq!(invoke(&t.app, &post).await.totals("home"), (1, 1));
    assert_eq!(invoke(&t.app, &post).await.totals("home"), (2, 1));
    let get = v2_event("GET", "/prod/counters/home", "");
    let answer = invoke(&t.app, &get).await;
    assert_eq!(answer.totals("home"), (2, 1));
    assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));

    let days = invoke(
        &t.app,
        &v2_event(
            "GET",
            "/prod/counters/home/days",
            "from=2026-01-01&to=2026-01-03",
        ),
    )
    .await;
    let body = days.body(&schemas().days);
    assert_eq!(body["days"].as_array().unwrap().len(), 3);
    let list = invoke(&t.app, &v2_event("GET", "/prod/counters", "")).await;
    assert_eq!(
        list.body(&schemas().counters),
        serde_json::json!({ "counters": [{ "name": "home", "views": 2, "visitors": 1 }] })
    );
    invoke(&t.app, &v2_event("GET", "/prod/counters/Home", ""))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "unknown-counter");
    invoke(
        &t.app,
        &v2_event("GET", "/prod/counters/home/days", "from=2026-13-01"),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "invalid-query");
    // `/count` is `site`, on the stage too.
    let count = invoke(&t.app, &v2_event("POST", "/prod/count", "")).await;
    assert_eq!(count.count(&schemas().post_count), 1);
    let site = invoke(&t.app, &v2_event("GET", "/prod/counters/site", "")).await;
    assert_eq!(site.totals("site"), (1, 1));
}

/// The v2 event above from `source_ip`, with extra `headers` a client may set.
fn from_client(source_ip: &str, headers: &[(&str, &str)]) -> String {
    let mut event: serde_json::Value =
        serde_json::from_str(&v2_event("POST", "/prod/counters/home", "")).unwrap();
    event["requestContext"]["http"]["sourceIp"] = source_ip.into();
    for (name, value) in headers {
        event["headers"][*name] = (*value).into();
    }
    event.to_string()
}

#[tokio::test]
async fn the_visitor_is_the_source_ip_api_gateway_saw_never_a_header() {
    let t = embedded_app();
    // Two addresses: two visitors.
    assert_eq!(
        invoke(&t.app, &from_client("198.51.100.1", &[]))
            .await
            .totals("home"),
        (1, 1)
    );
    assert_eq!(
        invoke(&t.app, &from_client("198.51.100.2", &[]))
            .await
            .totals("home"),
        (2, 2)
    );
    // One address behind any header a client writes: still one visitor.
    for spoof in [
        "x-forwarded-for",
        "x-real-ip",
        "forwarded",
        "cf-connecting-ip",
        "true-client-ip",
    ] {
        let event = from_client("198.51.100.1", &[(spoof, "192.0.2.200")]);
        let (_, visitors) = invoke(&t.app, &event).await.totals("home");
        assert_eq!(visitors, 2, "{spoof} made a new visitor");
    }
    // Without a source address the view counts and no visitor.
    let mut event: serde_json::Value = serde_json::from_str(&from_client("", &[])).unwrap();
    event["requestContext"]["http"]
        .as_object_mut()
        .unwrap()
        .remove("sourceIp");
    assert_eq!(
        invoke(&t.app, &event.to_string()).await.totals("home"),
        (8, 2)
    );
}

/// `Idempotency-Key` through API Gateway's event: the retry replays, marked, and an
/// allowed origin may read `Idempotent-Replayed` and `Retry-After`.
#[tokio::test]
async fn a_keyed_post_replays_in_lambda_too() {
    let t = embedded_app();
    let keyed = from_client("198.51.100.4", &[("idempotency-key", "\"lambda-1\"")]);
    let first = invoke(&t.app, &keyed).await;
    assert_eq!(first.totals("home"), (1, 1));
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = invoke(&t.app, &keyed).await;
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.header("access-control-expose-headers"),
        Some("Retry-After, Idempotent-Replayed, Visit-Filtered")
    );
    let get = invoke(&t.app, &v2_event("GET", "/prod/counters/home", "")).await;
    assert_eq!(get.totals("home"), (1, 1));
    // API Gateway joins a header sent twice with commas: still not one key.
    for value in ["a b", "lambda-1,lambda-2", "\"lambda-1\",\"lambda-1\""] {
        invoke(
            &t.app,
            &from_client("198.51.100.4", &[("idempotency-key", value)]),
        )
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid-idempotency-key");
    }
}

#[tokio::test]
async fn the_badges_the_script_and_the_dashboard_on_a_named_stage() {
    let t = embedded_app();
    let post = v2_event("POST", "/prod/counters/home", "");
    assert_eq!(invoke(&t.app, &post).await.totals("home"), (1, 1));

    let badge = invoke(
        &t.app,
        &v2_event("GET", "/prod/counters/home/badge.svg", "label=hits"),
    )
    .await;
    assert_eq!(badge.status, StatusCode::OK);
    assert_eq!(badge.header("content-type"), Some("image/svg+xml"));
    assert_eq!(badge.header("cache-control"), Some("no-cache"));
    assert!(String::from_utf8_lossy(&badge.body).contains("<title>hits: 1</title>"));
    let shields = invoke(
        &t.app,
        &v2_event("GET", "/prod/counters/home/shields.json", "metric=visitors"),
    )
    .await;
    assert_eq!(shields.body(&schema("shields.json"))["message"], "1");
    let script = invoke(&t.app, &v2_event("GET", "/prod/counter.js", "")).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.header("cache-control"), Some("public, max-age=3600"));
    let dashboard = invoke(&t.app, &v2_event("GET", "/prod/dashboard", "")).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&dashboard.body).contains("<code>home</code>"));
    // Badges read; they never count.
    let get = invoke(&t.app, &v2_event("GET", "/prod/counters/home", "")).await;
    assert_eq!(get.totals("home"), (1, 1));
}
