//! Real faults: DynamoDB Local killed and restarted under load, DynamoDB slowed or
//! stalled behind a proxy, a stub DynamoDB that throttles or errors, and SIGTERM
//! with a request in flight.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use testkit::proxy::Fault::{Delay, LoseTheAnswer};
use testkit::proxy::{Proxy, Spoil, Which};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use visitor_counter::app::app;
use visitor_counter::config::TableName;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::helpers::*;

/// The contract's bound on any answer while storage misbehaves.
const BOUND: Duration = Duration::from_secs(3);

// ---- DynamoDB dies mid-load ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_killed_under_load_gives_503_in_time_and_the_service_recovers_by_itself() {
    let mut dynamodb = PrivateDynamoDb::start().await;
    let admin = aws_sdk_dynamodb::Client::new(&local_loader(&dynamodb.endpoint()).load().await);
    let table = fresh_table(&admin).await;
    let mut server = spawn_server(&dynamodb_env(&dynamodb.endpoint(), &table));

    let stop = Stop::default();
    let load = tokio::spawn({
        let (url, stop) = (server.base_url.clone(), stop.clone());
        async move { run_load(&url, 16, e2e::load::MAX_REQUESTS, &stop).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = Instant::now();
    dynamodb.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarting_at = Instant::now();
    dynamodb.restart().await;
    let back_at = Instant::now();
    // Recovered when a read goes through again; from a little later on, every
    // request must succeed.
    let probe = http_client();
    loop {
        let answer = probe.get(server.url("/count")).send().await.unwrap();
        if answer.status() == 200 {
            break;
        }
        assert!(
            back_at.elapsed() < Duration::from_secs(15),
            "no read succeeded within 15 s of DynamoDB's return"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered_after = back_at.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let steady_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.stop();
    let outcomes = load.await.unwrap().samples;

    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the service exited while DynamoDB was down"
    );
    for outcome in &outcomes {
        assert!(
            outcome.elapsed < BOUND,
            "an answer took {:?}: {outcome:?}",
            outcome.elapsed
        );
        match outcome.status {
            Some(200) => assert!(outcome.count.is_some(), "{outcome:?}"),
            _ => assert_unavailable_answer(outcome),
        }
    }
    let finished = |o: &Sample| o.sent_at + o.elapsed;
    let before = outcomes.iter().filter(|o| finished(o) < killed_at);
    assert!(
        before.clone().all(|o| o.status == Some(200)),
        "failures before the kill"
    );
    let during: Vec<&Sample> = outcomes
        .iter()
        .filter(|o| o.sent_at > killed_at + Duration::from_millis(200))
        .filter(|o| finished(o) < restarting_at)
        .collect();
    assert!(
        during.len() >= 10 && during.iter().all(|o| o.status == Some(503)),
        "while DynamoDB was down: {} answers, {} of them not 503",
        during.len(),
        during.iter().filter(|o| o.status != Some(503)).count()
    );
    let after: Vec<&Sample> = outcomes.iter().filter(|o| o.sent_at > steady_at).collect();
    let after_posts = after.iter().filter(|o| o.method == Method::POST).count();
    assert!(
        after_posts >= 10 && after.iter().all(|o| o.status == Some(200)),
        "not steady {:?} after DynamoDB came back: {} answers, {} of them not 200",
        steady_at - back_at,
        after.len(),
        after.iter().filter(|o| o.status != Some(200)).count()
    );

    // Every 200 POST is in the count; a 503 POST may or may not have landed
    // (DynamoDB can die after applying a write and before answering it).
    let tally = tally(&outcomes);
    let answered = distinct_post_counts(&outcomes);
    let count = get_count(&server.base_url).await;
    assert!(
        count as usize >= tally.ok_posts
            && count as usize <= tally.ok_posts + tally.unavailable_posts,
        "final count {count}, with {tally:?}"
    );
    assert!(answered.last().is_none_or(|&highest| highest <= count));
    eprintln!(
        "dynamodb killed under load: {} requests ({} in the outage), {tally:?}, \
         reads back {recovered_after:?} after DynamoDB answered, final count {count}",
        outcomes.len(),
        during.len()
    );
}

// ---- DynamoDB slow or stalled -------------------------------------------------

/// A proxy to the shared DynamoDB Local that does `fault` to every call.
async fn dynamodb_behind(fault: testkit::proxy::Fault) -> Proxy {
    let spoil = Spoil::every(fault, Which::Every);
    Proxy::spoiling(&dynamodb_endpoint(), spoil).await.unwrap()
}

/// The app on a fresh table of the shared DynamoDB Local, reached through `proxy`.
async fn app_behind(proxy: &Proxy) -> (axum::Router, aws_sdk_dynamodb::Client, TableName) {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let store = dynamodb_store(&proxy.endpoint(), &table).await;
    (app(Arc::new(store), origins()), admin, table)
}

async fn timed(app: &axum::Router, method: Method) -> (Answer, Duration) {
    let started = Instant::now();
    let answer = match method {
        Method::GET => get(app).await,
        _ => post(app).await,
    };
    (answer, started.elapsed())
}

fn assert_503_in_time(answer: &Answer, elapsed: Duration) {
    answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert!(elapsed < BOUND, "took {elapsed:?}");
    assert_no_backend_text(&String::from_utf8_lossy(&answer.body));
}

#[tokio::test]
async fn slow_dynamodb_is_served_while_in_time_and_503_within_3_s_past_it() {
    let slow = dynamodb_behind(Delay(Duration::from_millis(300))).await;
    let (app, admin, table) = app_behind(&slow).await;
    let (answer, _) = timed(&app, Method::POST).await;
    assert_eq!(answer.count(&schemas().post_count), 1);
    let (answer, _) = timed(&app, Method::GET).await;
    assert_eq!(answer.count(&schemas().get_count), 1);

    let too_slow = dynamodb_behind(Delay(Duration::from_secs(4))).await;
    let store = dynamodb_store(&too_slow.endpoint(), &table).await;
    let app = visitor_counter::app::app(Arc::new(store), origins());
    let (read, write) = tokio::join!(timed(&app, Method::GET), timed(&app, Method::POST));
    for (answer, elapsed) in [read, write] {
        assert_503_in_time(&answer, elapsed);
    }
    // The known ambiguity: a POST may reach DynamoDB and be applied with its answer
    // too late, answered 503 yet counted; here its first read (is the counter in the
    // index?) already takes the time there is. Either way it is never retried, so it
    // is counted once at most, not twice.
    let stored = stored_count(&admin, &table).await;
    assert!((1..=2).contains(&stored), "{stored}");
}

#[tokio::test]
async fn stalled_dynamodb_is_503_within_3_s_and_a_write_is_never_sent_twice() {
    let stalled = dynamodb_behind(LoseTheAnswer).await;
    let (app, admin, table) = app_behind(&stalled).await;
    let (read, write) = tokio::join!(timed(&app, Method::GET), timed(&app, Method::POST));
    for (answer, elapsed) in [read, write] {
        assert_503_in_time(&answer, elapsed);
    }
    // A write may land although its answer never comes (the known ambiguity); here
    // the visit's first read stalls before it. Never twice.
    assert!(stored_count(&admin, &table).await <= 1);
}

// ---- DynamoDB throttles or errors (a stub speaking its JSON protocol) ------------

/// A DynamoDB answer the stub gives to every call of one operation.
struct Fault {
    name: &'static str,
    status: u16,
    body: &'static str,
}

const THROUGHPUT_EXCEEDED: Fault = Fault {
    name: "ProvisionedThroughputExceededException",
    status: 400,
    body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#,
};
const TRANSACTION_CONFLICT: Fault = Fault {
    name: "TransactionConflictException",
    status: 400,
    body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"Transaction is ongoing for the item"}"#,
};
const THROTTLING: Fault = Fault {
    name: "ThrottlingException",
    status: 400,
    body: r#"{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
};
const INTERNAL_SERVER_ERROR: Fault = Fault {
    name: "InternalServerError",
    status: 500,
    body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (Service: AmazonDynamoDBv2; Status Code: 500)"}"#,
};
const GARBAGE_500: Fault = Fault {
    name: "garbage with 500",
    status: 500,
    body: "<html><body>upstream connect error or disconnect/reset before headers. reset reason: connection termination</body></html>",
};
const GARBAGE_502: Fault = Fault {
    name: "garbage with 502",
    status: 502,
    body: "\u{0}\u{1}{{{ not json",
};

/// One call the stub answered: when, and the item it named (`Key.id.S`).
type Call = (Instant, String);

/// Answers with `fault` and notes when each call came, for which item.
struct Recording {
    template: ResponseTemplate,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Respond for Recording {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let item = body["Key"]["id"]["S"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.calls.lock().unwrap().push((Instant::now(), item));
        self.template.clone()
    }
}

/// An app whose DynamoDB answers `operation` with `fault`; returns it with the
/// times the stub was called.
async fn app_on_stub(
    operation: &str,
    fault: &Fault,
) -> (axum::Router, Arc<Mutex<Vec<Call>>>, MockServer) {
    let stub = MockServer::start().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let template = ResponseTemplate::new(fault.status)
        .insert_header("content-type", "application/x-amz-json-1.0")
        .insert_header(
            "x-amzn-requestid",
            "STUBREQUESTID0000000000000000000000000000000000000",
        )
        .set_body_string(fault.body);
    // The counter `site` is in the list's index (a visit reads that once per process),
    // unless reads are the fault under test.
    if operation != "GetItem" {
        Mock::given(method("POST"))
            .and(header("x-amz-target", "DynamoDB_20120810.GetItem"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/x-amz-json-1.0")
                    .set_body_string(
                        r#"{"Item":{"id":{"S":"visitorCount"},"list":{"S":"counter"},"name":{"S":"site"}}}"#,
                    ),
            )
            .mount(&stub)
            .await;
    }
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            format!("DynamoDB_20120810.{operation}").as_str(),
        ))
        .respond_with(Recording {
            template,
            calls: Arc::clone(&calls),
        })
        .mount(&stub)
        .await;
    let table = TableName::parse("visitor-count").unwrap();
    let store = dynamodb_store(&stub.uri(), &table).await;
    (app(Arc::new(store), origins()), calls, stub)
}

/// When each call came, whatever its item.
fn calls(recorded: &Mutex<Vec<Call>>) -> Vec<Instant> {
    recorded.lock().unwrap().iter().map(|(at, _)| *at).collect()
}

/// When each call for `item` came.
fn calls_for(recorded: &Mutex<Vec<Call>>, item: &str) -> Vec<Instant> {
    let recorded = recorded.lock().unwrap();
    recorded
        .iter()
        .filter(|(_, id)| id == item)
        .map(|(at, _)| *at)
        .collect()
}

/// The items a POST of `site` without a known visitor writes: the counter and its day,
/// in parallel (the day is `day#site#` + today).
fn site_items() -> [String; 2] {
    let today = visitor_counter::day::Clock::today(&visitor_counter::day::SystemClock);
    ["visitorCount".to_owned(), format!("day#site#{today}")]
}

#[tokio::test]
async fn reads_that_fail_are_retried_at_most_3_times_then_503() {
    for fault in [
        THROUGHPUT_EXCEEDED,
        THROTTLING,
        INTERNAL_SERVER_ERROR,
        GARBAGE_500,
        GARBAGE_502,
    ] {
        let (app, recorded, _stub) = app_on_stub("GetItem", &fault).await;
        let (answer, elapsed) = timed(&app, Method::GET).await;
        eprintln!(
            "GetItem answered {}: {} attempts",
            fault.name,
            calls(&recorded).len()
        );
        assert_503_in_time(&answer, elapsed);
        assert_eq!(calls(&recorded).len(), 3, "GetItem answered {}", fault.name);
    }
}

#[tokio::test]
async fn throttled_writes_are_retried_3_times_with_backoff_then_503() {
    // A write refused because its item is in a keyed visit's transaction is refused
    // like a throttled one: not applied, so sent again.
    for fault in [THROUGHPUT_EXCEEDED, THROTTLING, TRANSACTION_CONFLICT] {
        let (app, recorded, _stub) = app_on_stub("UpdateItem", &fault).await;
        let (answer, elapsed) = timed(&app, Method::POST).await;
        assert_503_in_time(&answer, elapsed);
        // The counter, its day and the site's day: 3 attempts each.
        assert_eq!(
            calls(&recorded).len(),
            9,
            "UpdateItem answered {}",
            fault.name
        );
        let calls = calls_for(&recorded, "visitorCount");
        assert_eq!(calls.len(), 3, "UpdateItem answered {}", fault.name);
        // Exponential backoff from 25 ms (plus jitter) between attempts.
        let first_pause = calls[1] - calls[0];
        let second_pause = calls[2] - calls[1];
        assert!(
            first_pause >= Duration::from_millis(25) && second_pause >= Duration::from_millis(50),
            "{}: pauses {first_pause:?}, {second_pause:?}",
            fault.name
        );
    }
}

#[tokio::test]
async fn a_write_that_may_have_landed_is_sent_exactly_once_then_503() {
    // A 5xx does not say whether the ADD was applied: retrying could count a
    // visit twice, so the visit is answered 503 instead.
    for fault in [INTERNAL_SERVER_ERROR, GARBAGE_500, GARBAGE_502] {
        let (app, recorded, _stub) = app_on_stub("UpdateItem", &fault).await;
        let (answer, elapsed) = timed(&app, Method::POST).await;
        eprintln!(
            "UpdateItem answered {}: {} attempts",
            fault.name,
            calls(&recorded).len()
        );
        assert_503_in_time(&answer, elapsed);
        // Each item the visit writes (the counter, its day) is sent once.
        for item in site_items() {
            assert_eq!(
                calls_for(&recorded, &item).len(),
                1,
                "UpdateItem of {item} answered {}",
                fault.name
            );
        }
        // And the site's day, once too.
        assert_eq!(
            calls(&recorded).len(),
            3,
            "UpdateItem answered {}",
            fault.name
        );
    }
}

// ---- SIGTERM ------------------------------------------------------------------

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    let mut server = spawn_server(&[("COUNTER_DB", db.to_str().unwrap())]);
    let address = server_address(&server);

    // A POST whose body is still arriving when the signal comes.
    let mut in_flight = TcpStream::connect(address).await.unwrap();
    in_flight
        .write_all(b"POST /count HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\nContent-Length: 10\r\n\r\n12345")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_signal(server.child.id(), "TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // No new connections once the signal has come.
    assert!(
        TcpStream::connect(address).await.is_err(),
        "still accepting connections after SIGTERM"
    );

    in_flight.write_all(b"67890").await.unwrap();
    let (answer, closed) = read_until_closed(&mut in_flight, Duration::from_secs(5)).await;
    assert_eq!(
        status_of(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let body: serde_json::Value = serde_json::from_str(&body_of(&answer)).unwrap();
    assert_eq!(body["count"], 1);
    assert!(closed, "the connection stayed open after its answer");

    let status = wait_for_exit(&mut server.child, Duration::from_secs(5)).await;
    assert!(status.success(), "exited with {status}");

    // And the visit it answered was stored.
    let restarted = spawn_server(&[("COUNTER_DB", db.to_str().unwrap())]);
    assert_eq!(get_count(&restarted.base_url).await, 1);
}
