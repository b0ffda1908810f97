//! The load generator against the stub's real counter: what it counts, what it catches,
//! what it refuses. Nothing here asserts on timings.

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::load::{LoadOptions, LoadReport, MAX_CONCURRENCY, MAX_REQUESTS, Mix};
use pretty_assertions::assert_eq;
use serde_json::Value;
use wiremock::http::Method;

use crate::cli::{assert_one_line_error, e2e, stderr, stdout};
use crate::helpers::{Fault, ORIGIN, broken_stub, good_stub, slow_stub, stub};

fn options(requests: u64, concurrency: usize, mix: &str) -> LoadOptions {
    LoadOptions {
        requests,
        concurrency,
        mix: mix.parse().unwrap(),
        timeout: Duration::from_secs(5),
        origin: None,
    }
}

fn statuses(pairs: &[(u16, u64)]) -> BTreeMap<u16, u64> {
    pairs.iter().copied().collect()
}

/// Latency figures are timings: only their shape is checked.
fn assert_latency_shape(report: &LoadReport) {
    let answered = [report.get_latency, report.post_latency]
        .iter()
        .flatten()
        .map(|latency| latency.samples)
        .sum::<u64>();
    assert_eq!(answered, report.answered);
    for latency in [report.latency, report.get_latency, report.post_latency]
        .iter()
        .flatten()
    {
        assert!(latency.samples > 0);
        assert!(
            latency.p50_ms <= latency.p90_ms
                && latency.p90_ms <= latency.p99_ms
                && latency.p99_ms <= latency.max_ms,
            "{latency:?}"
        );
    }
}

#[tokio::test]
async fn a_small_run_reports_exact_integrity() {
    let stub = stub(None, "/prod").await;
    let start = stub.count();

    let report = e2e::load::run(
        &stub.base_url,
        &LoadOptions {
            origin: Some(ORIGIN.to_owned()),
            ..options(200, 8, "1:1")
        },
    )
    .await
    .unwrap();

    assert!(report.passed, "{report}");
    assert_eq!(report.url, format!("{}/count", stub.base_url));
    assert_eq!(
        (report.sent, report.gets_sent, report.posts_sent),
        (200, 100, 100)
    );
    assert_eq!(report.answered, 200);
    assert_eq!(report.statuses, statuses(&[(200, 200)]));
    assert_eq!(
        (report.errors, report.timeouts, report.transport_errors),
        (0, 0, 0)
    );
    assert!(report.error_samples.is_empty());
    assert_eq!(report.server_errors, 0);
    assert_eq!(report.count_before, start);
    assert_eq!(report.count_after, Some(start + 100));
    assert_eq!(report.posts_answered_200, 100);
    assert_eq!(report.lost_or_doubled, Some(0));
    assert_eq!(report.duplicate_values, 0);
    assert_eq!(report.post_counts_unreadable, 0);
    assert!(report.integrity_holds);
    assert!(report.problems().is_empty());
    assert_eq!(report.concurrency, 8);
    assert_latency_shape(&report);
    assert_eq!(report.latency.unwrap().samples, 200);

    // The two reads of the count come on top of the run's own GETs.
    assert_eq!(stub.count(), start + 100);
    assert_eq!(stub.received(Method::POST).await, 100);
    assert_eq!(stub.received(Method::GET).await, 102);
    let requests = stub.server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|request| request.url.path() == "/prod/count"
                && request.headers.get("origin").unwrap() == ORIGIN)
    );

    let text = report.to_string();
    assert!(text.lines().last().unwrap().starts_with("PASS: "), "{text}");
    assert!(text.contains("\nintegrity   holds: "), "{text}");
    assert!(text.contains("assumes no other traffic"), "{text}");
}

#[tokio::test]
async fn the_mix_decides_the_methods_exactly() {
    let stub = good_stub().await;
    let start = stub.count();

    let report = e2e::load::run(&stub.base_url, &options(40, 3, "3:1"))
        .await
        .unwrap();

    assert!(report.passed, "{report}");
    assert_eq!((report.gets_sent, report.posts_sent), (30, 10));
    assert_eq!(report.count_after, Some(start + 10));
    assert_eq!(stub.received(Method::POST).await, 10);
    assert_latency_shape(&report);
}

#[tokio::test]
async fn get_only_leaves_the_count_alone() {
    let stub = good_stub().await;
    let start = stub.count();

    let report = e2e::load::run(&stub.base_url, &options(50, 4, "1:0"))
        .await
        .unwrap();

    assert!(report.passed, "{report}");
    assert_eq!((report.gets_sent, report.posts_sent), (50, 0));
    assert_eq!(report.post_latency, None);
    assert_eq!(report.count_after, Some(start));
    assert_eq!(report.lost_or_doubled, Some(0));
    assert_eq!(stub.received(Method::POST).await, 0);
    assert!(report.to_string().contains("\n  POST"));
}

#[tokio::test]
async fn no_more_workers_than_requests() {
    let stub = good_stub().await;

    let report = e2e::load::run(&stub.base_url, &options(3, 64, "0:1"))
        .await
        .unwrap();

    assert!(report.passed, "{report}");
    assert_eq!(report.concurrency, 3);
    assert_eq!(report.sent, 3);
}

#[tokio::test]
async fn lost_writes_are_reported_as_lost_and_duplicate() {
    let stub = broken_stub(Fault::SomePostsNotCounted).await;

    // One worker: the lost writes' answers then collide with the next POST in order.
    let report = e2e::load::run(&stub.base_url, &options(50, 1, "0:1"))
        .await
        .unwrap();

    assert!(!report.passed, "{report}");
    assert!(!report.integrity_holds);
    assert_eq!(report.posts_answered_200, 50);
    assert_eq!(report.statuses, statuses(&[(200, 50)]));
    assert_eq!(report.count_after, Some(report.count_before + 40));
    assert_eq!(report.lost_or_doubled, Some(-10));
    // Every fifth answer repeats the next one's count, except the last POST's.
    assert_eq!(report.duplicate_values, 9);
    let problems = report.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("moved by 40 for 50 POSTs answered 200 (lost or doubled: -10)"),
        "{problems:?}"
    );
    let text = report.to_string();
    assert!(text.contains("\nintegrity   BROKEN: "), "{text}");
    assert!(text.lines().last().unwrap().starts_with("FAIL: "), "{text}");
}

#[tokio::test]
async fn repeated_counts_are_reported_as_duplicates() {
    let stub = broken_stub(Fault::DuplicateCounts).await;

    let report = e2e::load::run(&stub.base_url, &options(20, 4, "0:1"))
        .await
        .unwrap();

    assert!(!report.passed, "{report}");
    // Every visit is stored, but 20 POSTs got only 11 different numbers.
    assert_eq!(report.lost_or_doubled, Some(0));
    assert_eq!(report.duplicate_values, 9);
    assert!(!report.integrity_holds);
}

#[tokio::test]
async fn server_errors_fail_the_run_without_breaking_integrity() {
    let stub = broken_stub(Fault::SomePostsUnavailable).await;

    let report = e2e::load::run(&stub.base_url, &options(40, 4, "0:1"))
        .await
        .unwrap();

    assert!(!report.passed, "{report}");
    assert_eq!(report.statuses, statuses(&[(200, 30), (503, 10)]));
    assert_eq!(report.server_errors, 10);
    assert_eq!(report.posts_answered_200, 30);
    assert!(report.integrity_holds, "{report}");
    assert_eq!(report.problems(), ["10 answers were 5xx"]);
}

#[tokio::test]
async fn requests_that_time_out_are_counted_and_fail_the_run() {
    let stub = slow_stub(Duration::from_secs(3), Some(Method::POST)).await;

    let report = e2e::load::run(
        &stub.base_url,
        &LoadOptions {
            timeout: Duration::from_secs(1),
            ..options(4, 4, "1:1")
        },
    )
    .await
    .unwrap();

    assert!(!report.passed, "{report}");
    assert_eq!(report.timeouts, 2);
    assert_eq!(report.transport_errors, 0);
    assert_eq!(report.errors, 2);
    assert_eq!(report.answered, 2);
    assert_eq!(report.statuses, statuses(&[(200, 2)]));
    assert_eq!(report.post_latency, None);
    assert!(!report.error_samples.is_empty());
    // The stub counted the visits it was too slow to answer.
    assert_eq!(report.posts_answered_200, 0);
    assert_eq!(report.lost_or_doubled, Some(2));
}

#[tokio::test]
async fn the_caps_refuse_oversized_runs_before_sending_anything() {
    let stub = good_stub().await;
    let oversized = [
        LoadOptions {
            requests: MAX_REQUESTS + 1,
            ..LoadOptions::default()
        },
        LoadOptions {
            concurrency: MAX_CONCURRENCY + 1,
            ..LoadOptions::default()
        },
        LoadOptions {
            requests: 0,
            ..LoadOptions::default()
        },
        LoadOptions {
            concurrency: 0,
            ..LoadOptions::default()
        },
    ];
    for options in oversized {
        let error = e2e::load::run(&stub.base_url, &options).await.unwrap_err();
        assert!(
            matches!(error, e2e::Error::InvalidOptions(_)),
            "{options:?}: {error}"
        );
    }
    assert!(stub.server.received_requests().await.unwrap().is_empty());
    assert!(Mix::new(0, 0).is_err());
}

#[tokio::test]
async fn a_url_without_a_count_is_refused() {
    // The stub serves under /prod; the stage path is missing from the URL.
    let stub = stub(None, "/prod").await;

    let error = e2e::load::run(&stub.server.uri(), &options(10, 2, "1:1"))
        .await
        .unwrap_err();

    assert!(matches!(error, e2e::Error::NoCount { .. }), "{error}");
    assert!(error.to_string().contains("GET answered 404"), "{error}");
    assert_eq!(stub.server.received_requests().await.unwrap().len(), 1);
}

// ---- the command line -------------------------------------------------------------

#[tokio::test]
async fn cli_a_clean_run_exits_0() {
    let stub = good_stub().await;

    let output = e2e(&[
        "load",
        "--base-url",
        &stub.base_url,
        "--requests",
        "40",
        "--concurrency",
        "4",
        "--origin",
        ORIGIN,
    ])
    .await;

    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", stderr(&output));
    assert!(
        stdout.contains("\nsent        40 (20 GET, 20 POST) in "),
        "{stdout}"
    );
    assert!(stdout.contains("\nanswered    40 (200: 40)\n"), "{stdout}");
    assert!(stdout.contains("\nlatency ms "), "{stdout}");
    assert!(
        stdout.lines().last().unwrap().starts_with("PASS: "),
        "{stdout}"
    );
    assert_eq!(stub.received(Method::POST).await, 20);
}

#[tokio::test]
async fn cli_lost_visits_exit_1() {
    let stub = broken_stub(Fault::SomePostsNotCounted).await;

    let output = e2e(&[
        "load",
        "--base-url",
        &stub.base_url,
        "--requests",
        "20",
        "--concurrency",
        "1",
        "--mix",
        "0:1",
    ])
    .await;

    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", stderr(&output));
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("FAIL: "), "{stdout}");
    assert!(last.contains("(lost or doubled: -4)"), "{stdout}");
}

#[tokio::test]
async fn cli_server_errors_exit_1() {
    let stub = broken_stub(Fault::SomePostsUnavailable).await;

    let output = e2e(&["load", "--base-url", &stub.base_url, "--requests", "16"]).await;

    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("(200: 14, 503: 2)"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("FAIL: 2 answers were 5xx"));
}

#[tokio::test]
async fn cli_json_parses() {
    let stub = good_stub().await;

    let output = e2e(&[
        "load",
        "--base-url",
        &stub.base_url,
        "--requests",
        "30",
        "--concurrency",
        "5",
        "--mix",
        "1:2",
        "--timeout-secs",
        "3",
        "--json",
    ])
    .await;

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["url"], format!("{}/count", stub.base_url));
    assert_eq!(report["mix"], "1:2");
    assert_eq!(report["origin"], Value::Null);
    assert_eq!(report["concurrency"], 5);
    assert_eq!(report["sent"], 30);
    assert_eq!(report["gets_sent"], 10);
    assert_eq!(report["posts_sent"], 20);
    assert_eq!(report["answered"], 30);
    assert_eq!(report["statuses"], serde_json::json!({"200": 30}));
    assert_eq!(report["errors"], 0);
    assert_eq!(report["timeouts"], 0);
    assert_eq!(report["transport_errors"], 0);
    assert_eq!(report["server_errors"], 0);
    assert_eq!(report["posts_answered_200"], 20);
    assert_eq!(
        report["count_after"].as_u64().unwrap() - report["count_before"].as_u64().unwrap(),
        20
    );
    assert_eq!(report["lost_or_doubled"], 0);
    assert_eq!(report["duplicate_values"], 0);
    assert_eq!(report["integrity_holds"], true);
    assert_eq!(report["passed"], true);
    assert!(
        report["integrity_note"]
            .as_str()
            .unwrap()
            .contains("no other traffic")
    );
    assert!(report["elapsed_secs"].is_f64());
    assert!(report["throughput_per_sec"].is_number());
    for key in ["latency", "get_latency", "post_latency"] {
        for figure in ["p50_ms", "p90_ms", "p99_ms", "max_ms"] {
            assert!(report[key][figure].is_number(), "{key}.{figure}: {report}");
        }
    }
    assert_eq!(report["latency"]["samples"], 30);
    assert_eq!(report["post_latency"]["samples"], 20);
}

#[tokio::test]
async fn cli_refuses_oversized_runs_with_one_line() {
    let stub = good_stub().await;
    for (args, expected) in [
        (
            &["--requests", "100001"][..],
            "the number of requests must be between 1 and 100000, not 100001",
        ),
        (
            &["--concurrency", "513"][..],
            "the concurrency must be between 1 and 512, not 513",
        ),
        (&["--origin", "https://example.com/"][..], "invalid origin"),
    ] {
        let mut all = vec!["load", "--base-url", &stub.base_url];
        all.extend_from_slice(args);
        let output = e2e(&all).await;
        let error = assert_one_line_error(&output);
        assert!(error.contains(expected), "{args:?}: {error}");
    }
    assert!(stub.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn cli_usage_errors_and_unreachable_urls_exit_2() {
    for args in [
        &["load"][..],
        &["load", "--base-url", "http://127.0.0.1:1", "--mix", "0:0"][..],
        &["load", "--base-url", "http://127.0.0.1:1", "--mix", "half"][..],
        &[
            "load",
            "--base-url",
            "http://127.0.0.1:1",
            "--requests",
            "many",
        ][..],
        &["load", "--base-url", "http://127.0.0.1:1", "--read-only"][..],
    ] {
        let output = e2e(args).await;
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }

    let output = e2e(&["load", "--base-url", "http://127.0.0.1:1"]).await;
    let error = assert_one_line_error(&output);
    assert!(
        error.contains("cannot reach http://127.0.0.1:1/count"),
        "{error}"
    );
}

#[tokio::test]
async fn cli_help_names_the_load_command_and_its_limits() {
    let output = e2e(&["--help"]).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("load"), "{}", stdout(&output));

    let output = e2e(&["load", "--help"]).await;
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for needed in [
        "--requests",
        "--concurrency",
        "--mix",
        "100000",
        "512",
        "production",
    ] {
        assert!(help.contains(needed), "{needed}: {help}");
    }
}
