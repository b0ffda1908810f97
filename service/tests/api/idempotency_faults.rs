//! The promise of `Idempotency-Key` under the fault that made v1's known ambiguity: a
//! write that lands while its answer is lost. On DynamoDB Local behind a proxy that
//! holds the answers of `TransactWriteItems` (the keyed visit's one write), or holds
//! the request itself and delivers it late; with the app in process, and with the
//! binary SIGKILLed between the attempts; and on the embedded store with the binary
//! killed (-9) at random moments. Each time, every key's visit is counted exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use pretty_assertions::assert_eq;
use testkit::proxy::{Fault, Proxy, Spoil, Which};
use visitor_counter::app::app;
use visitor_counter::config::TableName;

use crate::helpers::*;
use crate::idempotency::{post_keyed, post_with_key};

/// A proxy to DynamoDB Local that does `fault` to the first `limit` keyed visits'
/// writes (`TransactWriteItems`, the keyed visit's one write) until it recovers, and
/// passes everything else through.
async fn write_faults(fault: Fault, limit: usize) -> Proxy {
    let spoil = Spoil::first(limit, fault, Which::Operation("TransactWriteItems"));
    Proxy::spoiling(&dynamodb_endpoint(), spoil).await.unwrap()
}

/// The counter `home`'s views, read directly (consistently) from the table.
async fn stored_views(admin: &aws_sdk_dynamodb::Client, table: &TableName) -> u64 {
    let item = admin
        .get_item()
        .table_name(table.as_str())
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S("counter#home".to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default();
    match item.get("count") {
        Some(aws_sdk_dynamodb::types::AttributeValue::N(n)) => n.parse().unwrap(),
        _ => 0,
    }
}

/// A number that differs from call to call (the clock's nanoseconds).
fn jitter() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::from(elapsed.subsec_nanos()))
}

/// Keys of one round: distinct across rounds and runs.
fn keys(round: usize, n: usize) -> Vec<String> {
    let run = jitter();
    (0..n).map(|i| format!("fault-{run}-{round}-{i}")).collect()
}

/// Waits (up to 2 s) for the counter to reach `expected` views: a write the proxy
/// already passed on may still be on its way.
async fn assert_views_reach(
    admin: &aws_sdk_dynamodb::Client,
    table: &TableName,
    expected: u64,
    what: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let views = stored_views(admin, table).await;
        if views == expected || Instant::now() > deadline {
            assert_eq!(views, expected, "{what}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_503_within_3_s(answer: &Answer, elapsed: Duration) {
    answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

/// Rounds of 8 keyed visits each whose write lands and whose answer is held past the
/// deadline: each `503`, each counted once; after the proxy recovers, each retry is a `200` that
/// replays the visit's answer, and the count has moved by exactly one per key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_503_whose_write_landed_is_counted_once() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let direct = app(
        Arc::new(dynamodb_store(&dynamodb_endpoint(), &table).await),
        origins(),
    );
    let mut expected = 0;
    for round in 0..3 {
        let proxy = write_faults(Fault::LoseTheAnswer, usize::MAX).await;
        let faulty = app(
            Arc::new(dynamodb_store(&proxy.endpoint(), &table).await),
            origins(),
        );
        let keys = keys(round, 8);
        // Each key another visitor: one visitor's concurrent first visits would race
        // for its marker, and all but one transaction be refused (and not land).
        let first = futures_util::future::join_all(keys.iter().enumerate().map(|(i, key)| {
            let faulty = faulty.clone();
            async move {
                let started = Instant::now();
                let address = format!("198.51.100.{}", round * 10 + i);
                let answer =
                    post_keyed(&faulty, "/counters/home", &[key.as_bytes()], &address).await;
                (answer, started.elapsed())
            }
        }))
        .await;
        for (answer, elapsed) in &first {
            assert_503_within_3_s(answer, *elapsed);
        }
        let slowest = first
            .iter()
            .map(|(_, elapsed)| *elapsed)
            .max()
            .unwrap_or_default();
        assert_eq!(
            proxy.spoiled(),
            keys.len(),
            "round {round}: writes that met the fault"
        );
        expected += keys.len() as u64;
        assert_eq!(
            stored_views(&admin, &table).await,
            expected,
            "round {round}: the writes did not land, so the test proves nothing: {:?}",
            proxy.late_answers()
        );
        assert!(
            proxy
                .late_answers()
                .iter()
                .all(|a| a.status == StatusCode::OK),
            "round {round}: DynamoDB refused a write"
        );
        proxy.recover();
        // The retry goes through the recovered proxy for half the keys and straight to
        // DynamoDB for the rest (another process, say).
        for (i, key) in keys.iter().enumerate() {
            let via = if i % 2 == 0 { &faulty } else { &direct };
            let address = format!("198.51.100.{}", round * 10 + i);
            let retry = post_keyed(via, "/counters/home", &[key.as_bytes()], &address).await;
            assert_eq!(
                retry.status,
                StatusCode::OK,
                "round {round}, {key}: {:?}",
                retry.json()
            );
            assert_eq!(retry.header("idempotent-replayed"), Some("true"), "{key}");
            let (views, _) = retry.totals("home");
            assert!(
                views > expected - keys.len() as u64 && views <= expected,
                "{key}: {views}"
            );
        }
        assert_eq!(
            stored_views(&admin, &table).await,
            expected,
            "round {round}"
        );
        eprintln!(
            "round {round}: {} keyed POSTs landed and were answered 503 (slowest \
             {slowest:?}); each retry a 200 replaying it; the count moved by {}",
            keys.len(),
            keys.len()
        );
    }
}

/// Keyed visits whose write lands and whose connection is then dropped: the store
/// sends the transaction again at once (safe: the key's record refuses a second one),
/// learns that its own first one landed, and answers `200` with that answer, counted
/// once. When every write's connection is dropped, the read before the second attempt
/// (a read, which the fault spares) already finds the request's own record: `200`
/// with its answer, counted once, and a client's retry replays it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_after_the_write_landed_is_sent_again_and_counted_once() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let keys = keys(0, 8);
    let proxy = write_faults(Fault::DropTheConnection, keys.len()).await;
    let faulty = app(
        Arc::new(dynamodb_store(&proxy.endpoint(), &table).await),
        origins(),
    );
    let first = futures_util::future::join_all(keys.iter().enumerate().map(|(i, key)| {
        let faulty = faulty.clone();
        async move {
            let address = format!("198.51.100.{i}");
            post_keyed(&faulty, "/counters/home", &[key.as_bytes()], &address).await
        }
    }))
    .await;
    assert_eq!(
        proxy.spoiled(),
        keys.len(),
        "writes whose connection was dropped"
    );
    let mut views = Vec::new();
    for answer in &first {
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
        assert_eq!(answer.header("idempotent-replayed"), None, "its own visit");
        views.push(answer.totals("home").0);
    }
    assert!(views.iter().all(|v| (1..=8).contains(v)), "{views:?}");
    assert_eq!(stored_views(&admin, &table).await, keys.len() as u64);
    for (i, key) in keys.iter().enumerate() {
        let address = format!("198.51.100.{i}");
        let retry = post_keyed(&faulty, "/counters/home", &[key.as_bytes()], &address).await;
        assert_eq!(retry.body, first[i].body, "{key}");
        assert_eq!(retry.header("idempotent-replayed"), Some("true"), "{key}");
    }
    assert_eq!(stored_views(&admin, &table).await, keys.len() as u64);

    // Every write dropped: the first lands, and the read before the second finds this
    // request's own record: its answer, counted once; a retry replays it.
    let always = write_faults(Fault::DropTheConnection, usize::MAX).await;
    let faulty = app(
        Arc::new(dynamodb_store(&always.endpoint(), &table).await),
        origins(),
    );
    let started = Instant::now();
    let answer = post_keyed(
        &faulty,
        "/counters/home",
        &[b"dropped-thrice"],
        "198.51.100.9",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(always.spoiled(), 1, "attempts");
    assert_eq!(stored_views(&admin, &table).await, keys.len() as u64 + 1);
    always.recover();
    let retry = post_keyed(
        &faulty,
        "/counters/home",
        &[b"dropped-thrice"],
        "198.51.100.9",
    )
    .await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(stored_views(&admin, &table).await, keys.len() as u64 + 1);
    eprintln!(
        "{} keyed POSTs whose connection dropped after the write landed: each sent again, \
         answered 200 with its own answer, counted once; every write dropped: 200 in {:?}, \
         counted once, its retry replayed",
        keys.len(),
        started.elapsed()
    );
}

/// A keyed visit's write held in the network until after its retry was counted: the
/// late write reaches DynamoDB and is refused by the key's record, so the visit is
/// still counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_delivered_after_its_retry_counts_nothing() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let proxy = write_faults(Fault::DeliverLate(Duration::from_secs(4)), usize::MAX).await;
    let late = app(
        Arc::new(dynamodb_store(&proxy.endpoint(), &table).await),
        origins(),
    );
    let direct = app(
        Arc::new(dynamodb_store(&dynamodb_endpoint(), &table).await),
        origins(),
    );
    let keys = keys(0, 4);
    let started = Instant::now();
    let first = futures_util::future::join_all(
        keys.iter()
            .map(|key| post_with_key(&late, "/counters/home", key)),
    )
    .await;
    for answer in &first {
        assert_503_within_3_s(answer, started.elapsed());
    }
    assert_eq!(
        stored_views(&admin, &table).await,
        0,
        "a write arrived early"
    );
    for key in &keys {
        let retry = post_with_key(&direct, "/counters/home", key).await;
        assert_eq!(retry.status, StatusCode::OK);
        assert_eq!(
            retry.header("idempotent-replayed"),
            None,
            "{key}: nothing had landed"
        );
    }
    // Wait for the late writes to arrive and be answered.
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.late_answers().len() < keys.len() {
        assert!(Instant::now() < deadline, "the late writes never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for answer in proxy.late_answers() {
        assert!(
            answer.body.contains("TransactionCanceledException")
                && answer.body.contains("ConditionalCheckFailed"),
            "a late write was not refused: {answer:?}"
        );
    }
    assert_eq!(stored_views(&admin, &table).await, keys.len() as u64);
    eprintln!(
        "{} keyed POSTs held 4 s in the network: 503, retried and counted; the late writes \
         arrived and were refused; the count moved by {}",
        keys.len(),
        keys.len()
    );
}

/// `POST` with a key over the wire.
async fn post_over_http(
    base_url: &str,
    key: &str,
) -> Result<(StatusCode, Option<String>, String), reqwest::Error> {
    let response = http_client()
        .post(format!("{base_url}/counters/home"))
        .header("idempotency-key", key)
        .send()
        .await?;
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    Ok((status, replayed, response.text().await?))
}

/// The binary on DynamoDB Local behind the proxy: keyed visits whose answers are lost,
/// the process SIGKILLed (once after the `503`s, once with the requests still in
/// flight), a new process started, and each retried: counted once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_killed_between_attempts_counts_each_key_once() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let mut expected = 0;
    for (round, in_flight) in [(0, false), (1, true), (2, false)] {
        let proxy = write_faults(Fault::LoseTheAnswer, usize::MAX).await;
        let server = spawn_server(&dynamodb_env(&proxy.endpoint(), &table));
        // One visit without a key first (it is no transaction, so it goes through):
        // the keyed ones are then this visitor's repeat views, whose transactions
        // cannot race for its marker.
        let warm = http_client()
            .post(server.url("/counters/home"))
            .send()
            .await
            .unwrap();
        assert_eq!(warm.status(), StatusCode::OK);
        expected += 1;
        let keys = keys(round, 5);
        let sends: Vec<_> = keys
            .iter()
            .map(|key| {
                let (url, key) = (server.base_url.clone(), key.clone());
                tokio::spawn(async move { post_over_http(&url, &key).await })
            })
            .collect();
        if in_flight {
            // Every write has landed and its answer is held: kill the process now.
            let deadline = Instant::now() + Duration::from_secs(2);
            while proxy.spoiled() < keys.len() {
                assert!(
                    Instant::now() < deadline,
                    "round {round}: the writes were not sent"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            send_signal(server.child.id(), "KILL");
            for send in sends {
                assert!(
                    send.await.unwrap().is_err(),
                    "an answer came from a killed process"
                );
            }
        } else {
            for send in sends {
                let (status, _, body) = send.await.unwrap().unwrap();
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            }
            send_signal(server.child.id(), "KILL");
        }
        drop(server);
        expected += keys.len() as u64;
        assert_views_reach(&admin, &table, expected, &format!("round {round}")).await;
        proxy.recover();
        let restarted = spawn_server(&dynamodb_env(&proxy.endpoint(), &table));
        for key in &keys {
            let (status, replayed, body) = post_over_http(&restarted.base_url, key).await.unwrap();
            assert_eq!(status, StatusCode::OK, "round {round}, {key}: {body}");
            assert_eq!(replayed.as_deref(), Some("true"), "round {round}, {key}");
        }
        assert_eq!(
            stored_views(&admin, &table).await,
            expected,
            "round {round}"
        );
        eprintln!(
            "round {round}: {} keyed POSTs landed, the binary SIGKILLed {}; after a restart \
             each retry replayed; counted once each",
            keys.len(),
            if in_flight {
                "with their answers held"
            } else {
                "after their 503s"
            }
        );
    }
}

/// The binary on the embedded store, killed (-9) at a random moment while keyed visits
/// are in flight, restarted, and every key retried until it is answered `200`: each
/// key's visit is counted exactly once, whether or not its first attempt committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_killed_mid_visit_counts_each_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "COUNTER_DB".to_owned(),
        dir.path().join("count.redb").display().to_string(),
    )];
    let mut all_keys = Vec::new();
    let (mut committed, mut lost) = (0, 0);
    // At least 8 rounds, and until both cases have happened: a kill after a first
    // attempt had committed, and one before.
    let mut round = 0;
    while round < 8 || committed == 0 || lost == 0 {
        assert!(
            round < 40,
            "in 40 rounds: {committed} committed, {lost} not"
        );
        let server = spawn_server(&env);
        let keys = keys(round, 12);
        let sends: Vec<_> = keys
            .iter()
            .map(|key| {
                let (url, key) = (server.base_url.clone(), key.clone());
                tokio::spawn(async move { post_over_http(&url, &key).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(jitter() % 12)).await;
        send_signal(server.child.id(), "KILL");
        for send in sends {
            let _ = send.await.unwrap();
        }
        drop(server);
        all_keys.extend(keys);

        let restarted = spawn_server(&env);
        for key in &all_keys {
            let (status, replayed, body) = post_over_http(&restarted.base_url, key).await.unwrap();
            assert_eq!(status, StatusCode::OK, "round {round}, {key}: {body}");
            if key.contains(&format!("-{round}-")) {
                match replayed.as_deref() {
                    Some("true") => committed += 1,
                    None => lost += 1,
                    Some(other) => panic!("Idempotent-Replayed: {other}"),
                }
            }
        }
        let (views, _) = get_totals(&restarted.base_url).await;
        assert_eq!(views, all_keys.len() as u64, "round {round}");
        round += 1;
    }
    eprintln!(
        "{round} kill -9s, {} keys: {committed} first attempts had committed (their retry \
         replayed), {lost} had not (their retry counted); final count exactly {}",
        all_keys.len(),
        all_keys.len()
    );
}

/// `GET /counters/home` over the wire: (views, visitors).
async fn get_totals(base_url: &str) -> (u64, u64) {
    totals_over_http(base_url, "home").await
}

/// A stub DynamoDB (its JSON protocol) whose `TransactWriteItems` is cancelled with
/// `reasons`; the app on it, and how many transactions it was sent.
async fn app_on_cancelling_stub(reasons: &str) -> (axum::Router, wiremock::MockServer) {
    app_on_transaction_stub(Cancelling(reasons.to_owned())).await
}

/// Cancels every transaction with these reasons.
struct Cancelling(String);

impl wiremock::Respond for Cancelling {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        cancelled(&self.0)
    }
}

fn cancelled(reasons: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.0")
        .set_body_string(format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled","CancellationReasons":{reasons}}}"#
        ))
}

/// Answers every `UpdateItem` with success and nothing more: the registry's claim and
/// the index keys that put a counter the stub has never seen in the list's index.
async fn accept_updates(stub: &wiremock::MockServer) {
    use wiremock::matchers::{header, method};
    wiremock::Mock::given(method("POST"))
        .and(header("x-amz-target", "DynamoDB_20120810.UpdateItem"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_string("{}"),
        )
        .mount(stub)
        .await;
}

/// A stub DynamoDB whose `BatchGetItem` finds nothing and whose `TransactWriteItems`
/// answers as `transactions` says; the app on it.
async fn app_on_transaction_stub(
    transactions: impl wiremock::Respond + 'static,
) -> (axum::Router, wiremock::MockServer) {
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let stub = MockServer::start().await;
    accept_updates(&stub).await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "DynamoDB_20120810.BatchGetItem"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_string(r#"{"Responses":{"visitor-count":[]},"UnprocessedKeys":{}}"#),
        )
        .mount(&stub)
        .await;
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            "DynamoDB_20120810.TransactWriteItems",
        ))
        .respond_with(transactions)
        .mount(&stub)
        .await;
    let table = TableName::parse("visitor-count").unwrap();
    let store = dynamodb_store(&stub.uri(), &table).await;
    (app(Arc::new(store), origins()), stub)
}

async fn transactions_sent(stub: &wiremock::MockServer) -> usize {
    stub.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.headers
                .get("x-amz-target")
                .is_some_and(|t| t.as_bytes().ends_with(b"TransactWriteItems"))
        })
        .count()
}

/// What DynamoDB's cancellation reasons come to: a conflict on the key's record (another
/// request with the key being written) is `409` with `Retry-After`, at once; a
/// conflict on the counter is sent again, up to 3 attempts, then `503`; a validation
/// error is a `500` after one.
#[tokio::test]
async fn a_cancelled_transaction_is_answered_by_its_reasons() {
    let post = |app: axum::Router| async move {
        let request = request(http::Method::POST, "/counters/home")
            .header("idempotency-key", "k")
            .body(axum::body::Body::empty())
            .unwrap();
        call(&app, request).await
    };
    let conflict =
        r#"{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}"#;
    let none = r#"{"Code":"None"}"#;

    let (app, stub) = app_on_cancelling_stub(&format!("[{conflict},{none},{none}]")).await;
    let answer = post(app).await;
    answer.assert_problem(StatusCode::CONFLICT, "idempotency-key-in-flight");
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(transactions_sent(&stub).await, 1);

    let (app, stub) = app_on_cancelling_stub(&format!("[{none},{conflict},{none}]")).await;
    let answer = post(app).await;
    answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
    assert_eq!(transactions_sent(&stub).await, 3);

    let invalid = r#"{"Code":"ValidationError","Message":"bad"}"#;
    let (app, stub) = app_on_cancelling_stub(&format!("[{none},{invalid},{none}]")).await;
    let answer = post(app).await;
    answer.assert_problem(StatusCode::INTERNAL_SERVER_ERROR, "internal-error");
    assert_eq!(transactions_sent(&stub).await, 1);
    assert_no_backend_text(&String::from_utf8_lossy(&answer.body));
}

/// The transactions a stub was sent, as their JSON bodies.
async fn transactions(stub: &wiremock::MockServer) -> Vec<serde_json::Value> {
    stub.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.headers
                .get("x-amz-target")
                .is_some_and(|t| t.as_bytes().ends_with(b"TransactWriteItems"))
        })
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Cancels a transaction that marks a visitor (4 items) because the marker appeared,
/// and lets the one without it (3 items) through.
struct MarkedMeanwhile;

impl wiremock::Respond for MarkedMeanwhile {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        // The visitor's marker (item 3) sent as new: refused on its condition.
        let new_marker = body["TransactItems"][3]["Update"]["ConditionExpression"]
            == "attribute_not_exists(#ttl)";
        match body["TransactItems"].as_array().map(Vec::len) {
            Some(items) if new_marker => {
                let mut reasons = vec![r#"{"Code":"None"}"#; items];
                reasons[3] = r#"{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"}"#;
                cancelled(&format!("[{}]", reasons.join(",")))
            }
            _ => wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_string("{}"),
        }
    }
}

/// A visitor marked by another visit between the read and the write: the transaction
/// is refused on the marker's condition and sent again counting the view and no
/// visitor.
#[tokio::test]
async fn a_visitor_marked_meanwhile_is_counted_as_a_repeat_view() {
    use wiremock::matchers::{header, method};
    let (app, stub) = app_on_transaction_stub(MarkedMeanwhile).await;
    // The day's salt, for the visitor's marker: stored, and today's.
    wiremock::Mock::given(method("POST"))
        .and(header("x-amz-target", "DynamoDB_20120810.GetItem"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_string(format!(
                    r#"{{"Item":{{"id":{{"S":"salt"}},"day":{{"S":"{}"}},"salt":{{"B":"{}="}}}}}}"#,
                    visitor_counter::day::Day::of(std::time::SystemTime::now()),
                    "A".repeat(43)
                )),
        )
        .mount(&stub)
        .await;
    let answer = post_keyed(&app, "/counters/home", &[b"k"], "198.51.100.1").await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    assert_eq!(answer.totals("home"), (1, 0));
    let sent = transactions(&stub).await;
    let items: Vec<usize> = sent
        .iter()
        .map(|t| t["TransactItems"].as_array().unwrap().len())
        .collect();
    // Record, counter, day, the visitor's marker (new, then under the limit: it counts
    // every view), the site's day and the site's marker (new both times).
    assert_eq!(
        items,
        [6, 6],
        "the second sends the marker as a repeat view's"
    );
    let visitors = |t: &serde_json::Value| {
        t["TransactItems"][1]["Update"]["ExpressionAttributeValues"][":visitors"]["N"].clone()
    };
    assert_eq!(
        (visitors(&sent[0]), visitors(&sent[1])),
        ("1".into(), "0".into())
    );
}

/// Answers the first read with nothing and every later one with `record`.
struct FoundLater(AtomicUsize, String);

impl wiremock::Respond for FoundLater {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let found = if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            "[]".to_owned()
        } else {
            format!("[{}]", self.1)
        };
        wiremock::ResponseTemplate::new(200)
            .insert_header("content-type", "application/x-amz-json-1.0")
            .set_body_string(format!(
                r#"{{"Responses":{{"visitor-count":{found}}},"UnprocessedKeys":{{}}}}"#
            ))
    }
}

/// A key recorded by a request that raced this one: DynamoDB refuses the transaction
/// on the record's condition, and this request replays the record, returned with the
/// refusal or, when DynamoDB leaves it out, read.
#[tokio::test]
async fn a_key_recorded_meanwhile_is_replayed() {
    use wiremock::matchers::{header, method};
    let id = visitor_counter::store::dynamodb::key_id(
        &visitor_counter::idempotency::IdempotencyKey::parse(b"k").unwrap(),
    );
    let record = format!(
        r#"{{"id":{{"S":"{id}"}},"counter":{{"S":"home"}},"count":{{"N":"7"}},"visitors":{{"N":"3"}},"ttl":{{"N":"99999999999"}},"writer":{{"S":"another"}}}}"#
    );
    let post = |app: axum::Router| async move {
        let request = request(http::Method::POST, "/counters/home")
            .header("idempotency-key", "k")
            .body(axum::body::Body::empty())
            .unwrap();
        call(&app, request).await
    };
    let (with_item, _stub) = app_on_cancelling_stub(&format!(
        r#"[{{"Code":"ConditionalCheckFailed","Item":{record}}},{{"Code":"None"}},{{"Code":"None"}}]"#
    ))
    .await;
    let answer = post(with_item).await;
    assert_eq!(answer.totals("home"), (7, 3));
    assert_eq!(answer.header("idempotent-replayed"), Some("true"));

    let stub = wiremock::MockServer::start().await;
    accept_updates(&stub).await;
    wiremock::Mock::given(method("POST"))
        .and(header("x-amz-target", "DynamoDB_20120810.BatchGetItem"))
        .respond_with(FoundLater(AtomicUsize::new(0), record))
        .mount(&stub)
        .await;
    wiremock::Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            "DynamoDB_20120810.TransactWriteItems",
        ))
        .respond_with(Cancelling(
            r#"[{"Code":"ConditionalCheckFailed"},{"Code":"None"},{"Code":"None"}]"#.to_owned(),
        ))
        .mount(&stub)
        .await;
    let table = TableName::parse("visitor-count").unwrap();
    let app = app(
        Arc::new(dynamodb_store(&stub.uri(), &table).await),
        origins(),
    );
    let answer = post(app).await;
    assert_eq!(answer.totals("home"), (7, 3));
    assert_eq!(answer.header("idempotent-replayed"), Some("true"));
}
