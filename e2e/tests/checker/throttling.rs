//! A stage's throttle: the checker paces itself, sends a `429` again after its
//! `Retry-After`, says so in the report, and never passes a clause it only saw 429s for.

use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use wiremock::http::Method;
use wiremock::matchers::{any, method};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{StubServer, good_stub, options, read_only};

/// API Gateway's own answer to a throttled request: not a problem, no `Cache-Control`.
fn too_many_requests(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after)
        .set_body_raw(r#"{"message":"Too Many Requests"}"#, "application/json")
}

/// Puts a throttle in front of the stub: the requests `matcher` takes are answered 429,
/// the first `times` of them (all of them when `None`).
async fn throttle(
    stub: &StubServer,
    matcher: impl wiremock::Match + 'static,
    times: Option<u64>,
    retry_after: &str,
) {
    let mock = Mock::given(matcher)
        .respond_with(too_many_requests(retry_after))
        .with_priority(1);
    let mock = match times {
        Some(times) => mock.up_to_n_times(times),
        None => mock,
    };
    mock.mount(&stub.server).await;
}

fn reason(report: &e2e::Report, name: &str) -> String {
    match &report.check(name).unwrap().outcome {
        e2e::Outcome::Failed { reason } => reason.clone(),
        other => panic!("{name} did not fail: {other:?}\n{report}"),
    }
}

#[tokio::test]
async fn two_429s_then_the_answer_pass_after_waiting_and_the_report_says_throttled() {
    let stub = good_stub().await;
    // The first two requests of the run: both the probe, GET /count.
    throttle(&stub, any(), Some(2), "1").await;
    let started = Instant::now();

    let report = e2e::verify(&stub.base_url, &read_only()).await.unwrap();

    assert!(report.all_passed(), "{report}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "did not wait for Retry-After: {:?}",
        started.elapsed()
    );
    let get_count = report.check("get-count").unwrap();
    assert_eq!(get_count.throttled, 2);
    assert_eq!(report.throttled, 2);
    let statuses: Vec<Option<u16>> = get_count.evidence.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(200)]);
    let text = report.to_string();
    assert!(
        text.contains("\nPASS get-count (throttled: 2 answers were 429, each sent again after its Retry-After)\n"),
        "{text}"
    );
    assert!(
        text.contains("\nthrottled: 2 answers were 429 Too Many Requests"),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["throttled"], 2);
    assert_eq!(json["checks"][0]["throttled"], 2);
    // The answered checks carry no throttled member.
    assert!(json["checks"][1].get("throttled").is_none(), "{json}");
}

#[tokio::test]
async fn a_check_that_only_gets_429s_fails_naming_the_throttle() {
    let stub = good_stub().await;
    throttle(&stub, method("PATCH"), None, "0").await;

    let report = e2e::verify(&stub.base_url, &read_only()).await.unwrap();

    assert_eq!(report.failed_names(), ["method-not-allowed"], "{report}");
    let why = reason(&report, "method-not-allowed");
    assert!(
        why.contains("PATCH /count was throttled: answered 429 Too Many Requests 4 times in a row"),
        "{why}"
    );
    // The first try and three more, then it gave up.
    assert_eq!(
        stub.received(Method::PATCH).await,
        1 + e2e::THROTTLE_RETRIES
    );
    assert_eq!(report.check("method-not-allowed").unwrap().throttled, 4);
}

#[tokio::test]
async fn a_run_that_only_gets_429s_passes_nothing() {
    let stub = good_stub().await;
    throttle(&stub, any(), None, "0").await;

    let report = e2e::verify(&stub.base_url, &read_only()).await.unwrap();

    assert_eq!(report.passed, 0, "{report}");
    let ran: Vec<&str> = report
        .checks
        .iter()
        .filter(|check| !matches!(check.outcome, e2e::Outcome::Skipped { .. }))
        .map(|check| check.name)
        .collect();
    assert_eq!(report.failed_names(), ran);
    for name in ran {
        let why = reason(&report, name);
        assert!(why.contains("throttled"), "{name}: {why}");
    }
}

#[tokio::test]
async fn the_checker_paces_itself_to_its_rate_in_bursts_no_larger_than_the_burst() {
    let stub = good_stub().await;
    let options = e2e::Options {
        rate: Some(20),
        ..options()
    };
    let started = Instant::now();

    let report = e2e::verify(&stub.base_url, &options).await.unwrap();

    assert!(report.all_passed(), "{report}");
    let arrivals = stub.arrivals();
    let sent = arrivals.len();
    assert!(sent > 2 * options.burst, "only {sent} requests");
    // A bucket of `burst` that starts full and fills at 20 a second.
    let least = Duration::from_secs_f64((sent - options.burst) as f64 / 20.0);
    assert!(
        started.elapsed() >= least.mul_f64(0.95),
        "{sent} requests in {:?}, expected at least {least:?}",
        started.elapsed()
    );
    for (i, first) in arrivals.iter().enumerate() {
        let within_a_second = arrivals[i..]
            .iter()
            .take_while(|at| at.duration_since(*first) < Duration::from_secs(1))
            .count();
        assert!(
            within_a_second <= 20 + options.burst,
            "{within_a_second} requests within a second of request {i}"
        );
    }
}
