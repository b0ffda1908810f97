//! The real binary as a Lambda function: started by the runtime emulator with
//! Lambda's environment, fed API Gateway HTTP API (payload 2.0) events through the
//! Runtime API, on DynamoDB Local.

use std::time::Duration;

use axum::body::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::helpers::*;
use testkit::lambda::EmulatorError;

const READY: Duration = Duration::from_secs(20);
const ANSWER: Duration = Duration::from_secs(10);

macro_rules! event {
    ($name:literal) => {
        include_str!(concat!("../data/", $name))
    };
}

/// The function's configuration on DynamoDB Local (Terraform sets the first two).
fn function_env(table: &str, dynamodb: &str) -> Vec<(String, String)> {
    vec![
        ("COUNTER_TABLE".into(), table.into()),
        ("ALLOWED_ORIGINS".into(), ORIGIN.into()),
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamodb.into()),
    ]
}

async fn start_ready(env: &[(String, String)]) -> LambdaFunction {
    init_test_log();
    let function = LambdaFunction::start(binary(), "us-east-1", env)
        .await
        .unwrap();
    if let Err(error) = function.wait_ready(READY).await {
        panic!(
            "the function did not become ready: {error}\n{}",
            function.logs().join("\n")
        );
    }
    function
}

/// Invokes with `event` and reads the API Gateway response document as an [`Answer`].
async fn invoke(function: &LambdaFunction, event: &'static str) -> Answer {
    let invocation = function.invoke(event, ANSWER).await.unwrap();
    assert!(
        !invocation.is_error,
        "invocation error: {}",
        invocation.response
    );
    api_gateway_answer(&invocation.response)
}

/// `{"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}` → [`Answer`].
fn api_gateway_answer(response: &Value) -> Answer {
    let status =
        StatusCode::from_u16(u16::try_from(response["statusCode"].as_u64().unwrap()).unwrap())
            .unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in response["headers"].as_object().into_iter().flatten() {
        headers.append(
            HeaderName::try_from(name.as_str()).unwrap(),
            HeaderValue::try_from(value.as_str().unwrap()).unwrap(),
        );
    }
    assert_eq!(response["isBase64Encoded"], false, "{response}");
    let body = response["body"].as_str().unwrap_or_default().to_owned();
    Answer {
        status,
        headers,
        body: Bytes::from(body),
    }
}

#[tokio::test]
async fn answers_api_gateway_events_on_dynamodb_local() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let function = start_ready(&function_env(table.as_str(), &dynamodb_endpoint())).await;

    // The connection warm-up read nothing into existence.
    assert!(stored_item(&admin, &table).await.is_none());

    let answer = invoke(&function, event!("apigw-get-count.json")).await;
    assert_eq!(answer.count(&schemas().get_count), 0);

    let answer = invoke(
        &function,
        event!("apigw-post-count-on-stage-with-origin.json"),
    )
    .await;
    assert_eq!(answer.count(&schemas().post_count), 1);
    assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));
    let answer = invoke(
        &function,
        event!("apigw-post-count-on-stage-with-origin.json"),
    )
    .await;
    assert_eq!(answer.count(&schemas().post_count), 2);

    let answer = invoke(
        &function,
        event!("apigw-get-count-on-stage-with-query.json"),
    )
    .await;
    assert_eq!(answer.count(&schemas().get_count), 2);
    assert_eq!(stored_count(&admin, &table).await, 2);

    invoke(&function, event!("apigw-get-unknown-path.json"))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not-found");
    let answer = invoke(&function, event!("apigw-put-count.json")).await;
    answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
    assert_eq!(answer.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    invoke(&function, event!("apigw-post-oversized-body.json"))
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");

    // None of the refused requests counted, and the process is still serving.
    assert_eq!(stored_count(&admin, &table).await, 2);
    assert_eq!(function.try_wait().unwrap(), None);
}

/// `GET path?query` on the `$default` stage, from the GET /count event.
fn get_event(path: &str, query: &str) -> String {
    let mut event: Value = serde_json::from_str(event!("apigw-get-count.json")).unwrap();
    event["routeKey"] = format!("GET {path}").into();
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["rawQueryString"] = query.into();
    event.to_string()
}

/// The text answers leave the function as text (`isBase64Encoded: false`, which
/// `api_gateway_answer` checks), with their media types and caching intact.
#[tokio::test]
async fn the_badge_script_and_dashboard_leave_the_function_as_text() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let function = start_ready(&function_env(table.as_str(), &dynamodb_endpoint())).await;
    invoke(
        &function,
        event!("apigw-post-count-on-stage-with-origin.json"),
    )
    .await;

    let answer = |path: &str, query: &str| {
        let event = get_event(path, query);
        let function = &function;
        async move {
            let invocation = function.invoke(event, ANSWER).await.unwrap();
            assert!(!invocation.is_error, "{}", invocation.response);
            api_gateway_answer(&invocation.response)
        }
    };
    let badge = answer("/counters/site/badge.svg", "style=flat-square").await;
    assert_eq!(badge.status, StatusCode::OK);
    assert_eq!(badge.header("content-type"), Some("image/svg+xml"));
    assert!(
        String::from_utf8_lossy(&badge.body).contains("<title>views: 1</title>"),
        "{badge:?}"
    );
    let shields = answer("/counters/site/shields.json", "").await;
    assert_eq!(shields.body(&schema("shields.json"))["message"], "1");
    let script = answer("/counter.js", "").await;
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.body.starts_with(b"/* visitor-counter"), "{script:?}");
    let dashboard = answer("/dashboard", "").await;
    assert_eq!(
        dashboard.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        String::from_utf8_lossy(&dashboard.body).contains("<code>site</code>"),
        "{dashboard:?}"
    );
}

#[tokio::test]
async fn storage_down_is_a_503_and_the_function_keeps_serving() {
    // A port nobody listens on: every connection is refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let function = start_ready(&function_env(
        "visitor-count-unreachable",
        &format!("http://{closed}"),
    ))
    .await;

    // The failed warm-up is logged as JSON (the function's log format), not fatal.
    // It is written before the runtime asks for its first event, but the emulator
    // reads the function's output on a thread of its own: it may arrive a moment later.
    let warm_up_warning = || {
        function
            .logs()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["fields"]["message"] == "DynamoDB warm-up read failed")
    };
    let mut warning = warm_up_warning();
    for _ in 0..50 {
        if warning.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        warning = warm_up_warning();
    }
    let warning = warning.unwrap_or_else(|| {
        panic!(
            "no JSON warm-up warning in the logs:\n{}",
            function.logs().join("\n")
        )
    });
    assert_eq!(warning["level"], "WARN");

    for event in [
        event!("apigw-get-count.json"),
        event!("apigw-post-count-on-stage-with-origin.json"),
    ] {
        let answer = invoke(&function, event).await;
        answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
        assert_eq!(answer.header("retry-after"), Some("1"));
        // Never an AWS error string to the client.
        let body = String::from_utf8_lossy(&answer.body);
        assert_no_backend_text(&body);
        assert!(!body.contains(&closed.port().to_string()), "{body}");
    }
    assert_eq!(function.try_wait().unwrap(), None);
}

#[tokio::test]
async fn bad_configuration_is_reported_through_init_error() {
    for (env, variable) in [
        // No table: Lambda has no embedded store.
        (
            vec![("ALLOWED_ORIGINS".to_owned(), ORIGIN.to_owned())],
            "COUNTER_TABLE",
        ),
        (
            vec![
                ("COUNTER_TABLE".to_owned(), "visitor-count".to_owned()),
                ("ALLOWED_ORIGINS".to_owned(), "example.com".to_owned()),
            ],
            "ALLOWED_ORIGINS",
        ),
    ] {
        init_test_log();
        let function = LambdaFunction::start(binary(), "us-east-1", &env)
            .await
            .unwrap();
        let error = match function.wait_ready(READY).await {
            Err(EmulatorError::InitFailed(error)) => error,
            other => panic!(
                "expected an init error naming {variable}, got {other:?}\n{}",
                function.logs().join("\n")
            ),
        };
        assert_eq!(
            error.error_type.as_deref(),
            Some("Runtime.ConfigurationError")
        );
        assert_eq!(error.body["errorType"], "Runtime.ConfigurationError");
        let message = error.body["errorMessage"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{variable}: ")),
            "{message:?} should name {variable}"
        );
        assert!(!message.contains('\n'), "{message:?}");

        let status = function.wait_exit(READY).await.unwrap();
        assert!(!status.success(), "exited with {status}");
        // It never asked for an event.
        assert!(
            function
                .invoke(event!("apigw-get-count.json"), Duration::from_millis(200))
                .await
                .is_err()
        );
    }
}

/// What a stand-in DynamoDB received: when, and which operation (`X-Amz-Target`).
type Received = std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>;

/// A stand-in DynamoDB on a free port that answers every call with `{}` (for GetItem:
/// no item) and records it.
async fn recording_dynamodb() -> (String, Received) {
    let received = Received::default();
    let record = received.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            record
                .lock()
                .unwrap()
                .push((std::time::Instant::now(), target));
            (
                [(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")],
                "{}",
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), received)
}

#[tokio::test]
async fn reads_the_counter_once_during_init_before_asking_for_an_event() {
    let (endpoint, received) = recording_dynamodb().await;
    let function = start_ready(&function_env("visitor-count", &endpoint)).await;
    let first_next = function.spawned_at + function.wait_ready(READY).await.unwrap();

    // The warm-up: one GetItem, answered before the first /next, so the first
    // visitor does not pay for opening the connection.
    {
        let calls = received.lock().unwrap();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].1, "DynamoDB_20120810.GetItem");
        assert!(
            calls[0].0 < first_next,
            "the warm-up came after the first /next"
        );
    }

    let answer = invoke(&function, event!("apigw-get-count.json")).await;
    assert_eq!(answer.count(&schemas().get_count), 0);
    assert_eq!(received.lock().unwrap().len(), 2);
}
