//! Load through the real binary: mixed GET/POST at concurrency 64, on the
//! embedded store and on DynamoDB Local. Nothing fails, nothing is lost or doubled.

use http::Method;
use pretty_assertions::assert_eq;

use crate::helpers::*;

const CONCURRENCY: usize = 64;
const REQUESTS: u64 = 3000;

/// Runs the load on a server with a fresh, empty counter and checks that every
/// answer is a 200 and the POSTs were counted exactly: answered 1..=N, once each.
async fn holds_load(server: &TestServer, store: &str) {
    let Recorded {
        report,
        samples: outcomes,
    } = run_load(&server.base_url, CONCURRENCY, REQUESTS, &Stop::default()).await;
    assert_eq!(outcomes.len() as u64, REQUESTS);

    let failed: Vec<&Sample> = outcomes.iter().filter(|o| o.status != Some(200)).collect();
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

    let latency = report.latency.expect("every request was answered");
    eprintln!(
        "load on the {store}: {REQUESTS} requests ({posts} POST) at concurrency {CONCURRENCY} \
         in {:.2} s ({:.0} req/s), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; final count {count}",
        report.elapsed_secs,
        report.throughput_per_sec,
        latency.p50_ms,
        latency.p99_ms,
        latency.max_ms,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_holds_mixed_load_at_concurrency_64_with_nothing_lost() {
    let (server, _dir) = embedded_server();
    holds_load(&server, "embedded store").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_local_holds_mixed_load_at_concurrency_64_with_nothing_lost() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let server = spawn_server(&dynamodb_env(&dynamodb_endpoint(), &table));
    holds_load(&server, "DynamoDB Local").await;
}
