//! The DynamoDB store, for real, against DynamoDB Local.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use visitor_counter::app::app;
use visitor_counter::store::dynamodb::COUNT_ATTRIBUTE;

use crate::helpers::*;

async fn dynamodb_app() -> (
    axum::Router,
    aws_sdk_dynamodb::Client,
    visitor_counter::config::TableName,
) {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let store = dynamodb_store(&dynamodb_endpoint(), &table).await;
    (app(Arc::new(store), origins()), admin, table)
}

#[tokio::test]
async fn concurrent_posts_get_distinct_consecutive_counts_and_the_total_is_exact() {
    let (app, admin, table) = dynamodb_app().await;
    assert_concurrent_posts_count_exactly(&app, 200).await;
    let item = stored_item(&admin, &table).await.unwrap();
    assert_eq!(item[COUNT_ATTRIBUTE], AttributeValue::N("200".into()));
}

#[tokio::test]
async fn get_on_a_missing_item_reads_zero_and_writes_nothing() {
    let (app, admin, table) = dynamodb_app().await;
    assert_eq!(get(&app).await.count(&schemas().get_count), 0);
    assert_eq!(stored_item(&admin, &table).await, None);
    assert_eq!(post(&app).await.count(&schemas().post_count), 1);
    assert_eq!(get(&app).await.count(&schemas().get_count), 1);
}

#[tokio::test]
async fn a_stored_value_that_is_not_a_count_is_500_and_left_unchanged() {
    let (app, admin, table) = dynamodb_app().await;
    for value in [
        AttributeValue::S("12".into()),
        AttributeValue::N("-3".into()),
        AttributeValue::Bool(true),
    ] {
        store_raw_count(&admin, &table, value.clone()).await;
        get(&app).await.assert_problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored-value-not-a-count",
        );
        post(&app).await.assert_problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored-value-not-a-count",
        );
        let item = stored_item(&admin, &table).await.unwrap();
        assert_eq!(item[COUNT_ATTRIBUTE], value);
    }
}

async fn assert_unavailable_within_3s(endpoint: &str) {
    let table = visitor_counter::config::TableName::parse("visitor-count").unwrap();
    let store = dynamodb_store(endpoint, &table).await;
    let app = app(Arc::new(store), origins());
    let routes = [
        ("GET /count", Method::GET, "/count"),
        ("POST /count", Method::POST, "/count"),
        ("GET a counter", Method::GET, "/counters/home"),
        ("POST a counter", Method::POST, "/counters/home"),
        ("days", Method::GET, "/counters/home/days?from=2025-12-10"),
        ("the list", Method::GET, "/counters"),
    ];
    for (what, method, path) in routes {
        let started = Instant::now();
        // From a visitor, so a POST needs the day's salt too.
        let answer = visit_as(&app, method, path, "192.0.2.1", "A").await;
        let elapsed = started.elapsed();
        answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert!(elapsed < Duration::from_secs(3), "{what} took {elapsed:?}");
        assert_no_backend_text(&String::from_utf8_lossy(&answer.body));
    }
}

#[tokio::test]
async fn unreachable_dynamodb_is_503_within_3_seconds() {
    // Nothing listens here: every connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    assert_unavailable_within_3s(&endpoint).await;
}

#[tokio::test]
async fn silent_dynamodb_is_503_within_3_seconds() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    assert_unavailable_within_3s(&endpoint).await;
    held.abort();
}
