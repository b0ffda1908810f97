//! Load through the real binary: mixed GET/POST at concurrency 64, on the
//! embedded store and on DynamoDB Local. Nothing fails, nothing is lost or doubled.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use http::Method;
use pretty_assertions::assert_eq;

use crate::helpers::*;
use crate::support::*;

const CONCURRENCY: usize = 64;
const REQUESTS: usize = 3000;

/// Runs the load on a server with a fresh, empty counter and checks that every
/// answer is a 200 and the POSTs were counted exactly: answered 1..=N, once each.
async fn holds_load(server: &TestServer, store: &str) {
    let started = Instant::now();
    let outcomes = run_load(
        &server.base_url,
        CONCURRENCY,
        REQUESTS,
        Arc::new(AtomicBool::new(false)),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(outcomes.len(), REQUESTS);

    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {REQUESTS} requests failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    let posts = outcomes.iter().filter(|o| o.method == Method::POST).count();
    let counts = distinct_post_counts(&outcomes);
    assert_eq!(counts, (1..=posts as u64).collect::<Vec<_>>());
    let count = get_count(&server.base_url).await;
    assert_eq!(
        count, posts as u64,
        "the final count is not the number of POSTs"
    );
    for get in outcomes.iter().filter(|o| o.method == Method::GET) {
        assert!(get.count.is_some_and(|c| c <= count), "{get:?}");
    }

    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.elapsed).collect();
    latencies.sort_unstable();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    eprintln!(
        "load on the {store}: {REQUESTS} requests ({posts} POST) at concurrency {CONCURRENCY} \
         in {took:.2?} ({:.0} req/s), p50 {:.1?}, p99 {:.1?}, max {:.1?}; final count {count}",
        REQUESTS as f64 / took.as_secs_f64(),
        percentile(50),
        percentile(99),
        latencies[latencies.len() - 1],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_holds_mixed_load_at_concurrency_64_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    let server = spawn_server(&[("COUNTER_DB", db.to_str().unwrap())]);
    holds_load(&server, "embedded store").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_local_holds_mixed_load_at_concurrency_64_with_nothing_lost() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let server = spawn_server(&dynamodb_env(&dynamodb_endpoint(), &table));
    holds_load(&server, "DynamoDB Local").await;
}
