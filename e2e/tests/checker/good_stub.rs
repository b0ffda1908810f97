//! Against a server that honours the contract, every check passes.

use std::time::Duration;

use pretty_assertions::assert_eq;
use wiremock::http::Method;

use crate::helpers::{good_stub, options, paged_stub, read_only, slow_stub, stub};

const READ_ONLY_SKIPS: [&str; 10] = [
    "post-increments",
    "get-sees-post",
    "post-burst-distinct",
    "post-foreign-origin",
    "counter-post-views",
    "counter-visitors",
    "counter-get-no-write",
    "counter-days-today",
    "payload-too-large",
    "errors-not-counted",
];

#[tokio::test]
async fn every_check_passes_in_full_mode() {
    let stub = good_stub().await;
    let before = stub.count();

    let report = e2e::verify(&stub.base_url, &options()).await.unwrap();

    assert!(report.all_passed(), "{report}");
    let names: Vec<&str> = report.checks.iter().map(|check| check.name).collect();
    assert_eq!(names, e2e::CHECK_NAMES);
    assert_eq!(
        (report.passed, report.failed, report.skipped),
        (e2e::CHECK_NAMES.len(), 0, 0)
    );
    // One increment, the burst, the two POSTs that must be served (from the API's own
    // origin, and with no Origin), and count-is-site's POST /count and POST
    // /counters/site: nothing else counted.
    assert_eq!(stub.count(), before + 1 + e2e::DEFAULT_BURST as u64 + 2 + 2);
    // The named counter: three POSTs of counter-post-views, three of counter-visitors
    // and two of counter-days-today; the checker's own User-Agent and the two new
    // visitors. The never-counted name it read was not created.
    assert_eq!(stub.named(e2e::DEFAULT_COUNTER), Some((8, 3)));
    assert_eq!(stub.named_counters(), [e2e::DEFAULT_COUNTER, "site"]);
    assert_eq!(
        report.to_string().lines().last(),
        Some("28 passed, 0 failed")
    );
}

#[tokio::test]
async fn another_counter_is_counted_when_told() {
    let stub = good_stub().await;
    let options = e2e::Options {
        counter: "blog.first-post".to_owned(),
        ..options()
    };

    let report = e2e::verify(&stub.base_url, &options).await.unwrap();

    assert!(report.all_passed(), "{report}");
    assert_eq!(stub.named("blog.first-post"), Some((8, 3)));
    assert_eq!(stub.named_counters(), ["blog.first-post", "site"]);
    let posted = &report.check("counter-post-views").unwrap().evidence[1];
    assert_eq!(
        posted.url,
        format!("{}/counters/blog.first-post", stub.base_url)
    );
}

#[tokio::test]
async fn a_list_of_small_pages_is_followed() {
    // Pages of two, and four counters in a full run (three in read-only mode): the
    // first page has a next.
    let stub = paged_stub(2).await;
    for name in ["a-first", "b-second"] {
        stub.post_named(name).await;
    }

    for options in [options(), read_only()] {
        let report = e2e::verify(&stub.base_url, &options).await.unwrap();

        assert!(report.all_passed(), "{report}");
        let list = report.check("counters-list").unwrap();
        assert!(
            list.evidence
                .iter()
                .any(|exchange| exchange.url.ends_with("/counters?after=b-second")),
            "{list:?}"
        );
    }
}

#[tokio::test]
async fn every_check_passes_in_read_only_mode_and_nothing_is_posted() {
    let stub = good_stub().await;
    let before = stub.count();

    let report = e2e::verify(&stub.base_url, &read_only()).await.unwrap();

    assert!(report.all_passed(), "{report}");
    let skipped: Vec<&str> = report
        .checks
        .iter()
        .filter(|check| matches!(check.outcome, e2e::Outcome::Skipped { .. }))
        .map(|check| check.name)
        .collect();
    assert_eq!(skipped, READ_ONLY_SKIPS);
    assert_eq!(report.skipped, READ_ONLY_SKIPS.len());
    assert_eq!(stub.received(Method::POST).await, 0);
    assert_eq!(stub.count(), before);
    assert_eq!(stub.named_counters(), ["site"]);
    let text = report.to_string();
    assert!(
        text.contains("SKIP payload-too-large: read-only mode sends no POST"),
        "{text}"
    );
}

#[tokio::test]
async fn a_stage_path_is_kept_with_or_without_a_trailing_slash() {
    for slash in ["", "/"] {
        let stub = stub(None, "/prod").await;
        let base_url = format!("{}{slash}", stub.base_url);

        let report = e2e::verify(&base_url, &options()).await.unwrap();

        assert!(report.all_passed(), "{base_url}: {report}");
        assert!(report.base_url.ends_with("/prod/"), "{}", report.base_url);
        let get = &report.checks[0].evidence[0];
        assert_eq!(get.url, format!("{}/prod/count", stub.server.uri()));
    }
}

#[tokio::test]
async fn dropping_the_stage_path_is_caught() {
    let stub = stub(None, "/prod").await;

    let report = e2e::verify(&stub.server.uri(), &read_only()).await.unwrap();

    assert!(report.failed_names().contains(&"get-count"), "{report}");
}

#[tokio::test]
async fn a_burst_of_one_and_a_larger_burst_both_pass() {
    for burst in [1, 32] {
        let stub = good_stub().await;
        let options = e2e::Options { burst, ..options() };

        let report = e2e::verify(&stub.base_url, &options).await.unwrap();

        assert!(report.all_passed(), "burst {burst}: {report}");
        let burst_check = report.check("post-burst-distinct").unwrap();
        // The read before, then every POST of the burst.
        assert_eq!(burst_check.evidence.len(), 1 + burst);
    }
}

#[tokio::test]
async fn evidence_records_the_exchange() {
    let stub = good_stub().await;

    let report = e2e::verify(&stub.base_url, &read_only()).await.unwrap();

    let preflight = &report.check("cors-preflight").unwrap().evidence[0];
    assert_eq!(preflight.method, "OPTIONS");
    assert_eq!(preflight.status, Some(204));
    assert_eq!(
        preflight
            .request_headers
            .get("access-control-request-method"),
        Some(&"POST".to_owned())
    );
    assert_eq!(
        preflight.headers.get("access-control-allow-origin"),
        Some(&crate::helpers::ORIGIN.to_owned())
    );
    let get = &report.check("get-count").unwrap().evidence[0];
    assert_eq!(get.body, r#"{"count":1234}"#);
    assert_eq!(
        get.headers.get("content-type"),
        Some(&"application/json".to_owned())
    );
}

#[tokio::test]
async fn a_request_that_times_out_fails_its_check() {
    let stub = slow_stub(Duration::from_secs(3), Some(Method::PATCH)).await;
    let options = e2e::Options {
        timeout: Duration::from_millis(300),
        ..read_only()
    };

    let report = e2e::verify(&stub.base_url, &options).await.unwrap();

    assert_eq!(report.failed_names(), ["method-not-allowed"], "{report}");
    let e2e::Outcome::Failed { reason } = &report.check("method-not-allowed").unwrap().outcome
    else {
        unreachable!()
    };
    assert!(reason.contains("PATCH /count got no answer"), "{reason}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_unreachable() {
    let stub = slow_stub(Duration::from_secs(3), None).await;
    let options = e2e::Options {
        timeout: Duration::from_millis(300),
        ..read_only()
    };
    let started = std::time::Instant::now();

    let error = e2e::verify(&stub.base_url, &options).await.unwrap_err();

    assert!(matches!(error, e2e::Error::Unreachable { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let error = e2e::verify("http://127.0.0.1:1", &options())
        .await
        .unwrap_err();

    assert!(matches!(error, e2e::Error::Unreachable { .. }), "{error}");
}

#[tokio::test]
async fn malformed_input_is_an_error_not_a_report() {
    let cases = [
        ("not a url", options()),
        ("ftp://127.0.0.1/prod", options()),
        (
            "http://127.0.0.1:1",
            e2e::Options::new("https://example.com/"),
        ),
        (
            "http://127.0.0.1:1",
            e2e::Options {
                burst: 0,
                ..options()
            },
        ),
        (
            "http://127.0.0.1:1",
            e2e::Options {
                foreign_origin: crate::helpers::ORIGIN.to_owned(),
                ..options()
            },
        ),
    ];
    for (base_url, options) in cases {
        let error = e2e::verify(base_url, &options).await.unwrap_err();
        assert!(
            !matches!(error, e2e::Error::Unreachable { .. }),
            "{base_url} {options:?}: {error}"
        );
    }
}
