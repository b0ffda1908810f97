//! Against a server that honours the contract, every check passes.

use std::time::Duration;

use pretty_assertions::assert_eq;
use wiremock::http::Method;

use crate::helpers::{
    BROWSER, PASSWORD, dashboard_off_stub, good_stub, options, paged_stub, private_stub, read_only,
    slow_stub, stub,
};

const READ_ONLY_SKIPS: [&str; 18] = [
    "post-increments",
    "get-sees-post",
    "post-burst-distinct",
    "post-foreign-origin",
    "counter-post-views",
    "counter-visitors",
    "counter-get-no-write",
    "counter-days-today",
    "bot-not-counted",
    "totals-visitors",
    "idempotency-replay",
    "idempotency-count-is-site",
    "idempotency-key-reused",
    "idempotency-key-invalid",
    "idempotency-key-concurrent",
    "payload-too-large",
    "foreign-post-not-allowed",
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
    // origin, and with no Origin), idempotency-count-is-site's keyed visit (its replay
    // counts nothing), and count-is-site's POST /count and POST /counters/site:
    // nothing else counted.
    assert_eq!(
        stub.count(),
        before + 1 + e2e::DEFAULT_BURST as u64 + 2 + 1 + 2
    );
    // The named counter: three POSTs of counter-post-views, three of counter-visitors,
    // two of counter-days-today, and four visits in the idempotency checks (the
    // replay's keyed one and the one without a key between, one in
    // idempotency-key-reused, one in idempotency-key-concurrent); the checker's own
    // User-Agent and the two new visitors. The bots' POSTs counted nothing. The
    // never-counted names it read, the one a reused key was refused on and the one a
    // bot posted to were not created; totals-visitors created its two.
    assert_eq!(stub.named(e2e::DEFAULT_COUNTER), Some((12, 3)));
    let counters = stub.named_counters();
    assert_eq!(counters.len(), 4, "{counters:?}");
    assert_eq!(counters[0], e2e::DEFAULT_COUNTER);
    assert_eq!(counters[3], "site");
    for fresh in &counters[1..3] {
        assert!(fresh.starts_with("e2e-check-"), "{counters:?}");
        assert_eq!(stub.named(fresh), Some((1, 1)));
    }
    assert_eq!(
        report.to_string().lines().last(),
        Some("47 passed, 0 failed")
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
    assert_eq!(stub.named("blog.first-post"), Some((12, 3)));
    let counters = stub.named_counters();
    assert_eq!(counters.len(), 4, "{counters:?}");
    assert!(
        counters
            .iter()
            .all(|name| name.starts_with("blog.first-post") || name == "site")
    );
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
    // 60 is past the stub's limit of views per visitor: each POST of the burst is a
    // visitor of its own.
    for burst in [1, 60] {
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

/// The POSTs of a check: each one's `Idempotency-Key` as sent, its status, and its
/// `Idempotent-Replayed`.
fn keyed_posts(
    report: &e2e::Report,
    name: &str,
) -> Vec<(Option<String>, Option<u16>, Option<String>)> {
    report
        .check(name)
        .unwrap()
        .evidence
        .iter()
        .filter(|exchange| exchange.method == "POST")
        .map(|exchange| {
            (
                exchange.request_headers.get("idempotency-key").cloned(),
                exchange.status,
                exchange.headers.get("idempotent-replayed").cloned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_rerun_against_the_same_server_sends_new_keys() {
    let stub = good_stub().await;

    let first = e2e::verify(&stub.base_url, &options()).await.unwrap();
    let second = e2e::verify(&stub.base_url, &options()).await.unwrap();

    // The stub keeps every key: a key of the first run sent again would be replayed.
    assert!(first.all_passed(), "{first}");
    assert!(second.all_passed(), "{second}");
    let replayed = Some("true".to_owned());
    for report in [&first, &second] {
        let posts = keyed_posts(report, "idempotency-replay");
        let key = posts[0].0.clone().unwrap();
        assert_eq!(
            posts,
            [
                (Some(key.clone()), Some(200), None),
                (None, Some(200), None),
                (Some(key.clone()), Some(200), replayed.clone()),
                (Some(format!("\"{key}\"")), Some(200), replayed.clone()),
            ]
        );
    }
    let keys = |report: &e2e::Report| -> Vec<String> {
        [
            "idempotency-replay",
            "idempotency-count-is-site",
            "idempotency-key-reused",
        ]
        .into_iter()
        .map(|name| keyed_posts(report, name)[0].0.clone().unwrap())
        .collect()
    };
    let mut all = keys(&first);
    all.extend(keys(&second));
    let distinct: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "{all:?}");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_may_meet_it_in_flight() {
    // The stub holds the first answer to a key for a moment, as a write in progress:
    // the requests with the key that come meanwhile are 409s in flight, which the check
    // takes as the contract allows them.
    let stub = good_stub().await;

    let report = e2e::verify(&stub.base_url, &options()).await.unwrap();

    assert!(report.all_passed(), "{report}");
    let posts = keyed_posts(&report, "idempotency-key-concurrent");
    assert_eq!(posts.len(), 11, "{posts:?}");
    let statuses: Vec<Option<u16>> = posts.iter().map(|(_, status, _)| *status).collect();
    assert!(statuses.contains(&Some(409)), "{posts:?}");
    let unmarked = posts
        .iter()
        .filter(|(_, status, replayed)| *status == Some(200) && replayed.is_none())
        .count();
    assert_eq!(unmarked, 1, "{posts:?}");
    assert_eq!(
        posts
            .last()
            .map(|(_, status, replayed)| (*status, replayed.as_deref())),
        Some((Some(200), Some("true")))
    );
}

#[tokio::test]
async fn the_dashboard_served_or_turned_off_both_pass_and_say_which() {
    for (stub, note) in [
        (good_stub().await, "served: 200 text/html"),
        (
            dashboard_off_stub().await,
            "turned off: 404 not-found (DASHBOARD=off)",
        ),
    ] {
        for options in [options(), read_only()] {
            let report = e2e::verify(&stub.base_url, &options).await.unwrap();

            assert!(report.all_passed(), "{report}");
            let check = report.check("dashboard").unwrap();
            assert_eq!(check.note.as_deref(), Some(note));
            assert!(
                report
                    .to_string()
                    .contains(&format!("PASS dashboard ({note})")),
                "{report}"
            );
        }
    }
}

#[tokio::test]
async fn the_badges_show_the_checker_s_own_counter_after_it_counted() {
    let stub = good_stub().await;

    let report = e2e::verify(&stub.base_url, &options()).await.unwrap();

    assert!(report.all_passed(), "{report}");
    let svg = report.check("badge-svg").unwrap();
    let badge = format!(
        "{}/counters/{}/badge.svg",
        stub.base_url,
        e2e::DEFAULT_COUNTER
    );
    assert!(
        svg.evidence.iter().any(|exchange| exchange.url == badge),
        "{svg:?}"
    );
    // The views it counted, 12 (see every_check_passes_in_full_mode), are what the
    // badge showed.
    assert!(
        svg.evidence
            .iter()
            .any(|exchange| exchange.body.contains("<title>views: 12</title>")),
        "{svg:?}"
    );
}

#[tokio::test]
async fn the_stub_limits_views_per_visitor_as_the_service_does() {
    // So that a full run passing against it shows the checker stays within the limit.
    let stub = good_stub().await;
    e2e::install_tls_provider();
    let client = reqwest::Client::new();
    let url = format!("{}/counters/limited", stub.base_url);
    let mut filtered = Vec::new();
    for _ in 0..e2e::agent::DEFAULT_VIEWS_PER_VISITOR + 2 {
        let answer = client
            .post(&url)
            .header("user-agent", BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        filtered.push(
            answer
                .headers()
                .get("visit-filtered")
                .map(|value| value.to_str().unwrap().to_owned()),
        );
    }
    let limited = Some("limited".to_owned());
    assert!(filtered[..50].iter().all(Option::is_none), "{filtered:?}");
    assert_eq!(filtered[50..], [limited.clone(), limited]);
    assert_eq!(stub.named("limited"), Some((50, 1)));
}

#[tokio::test]
async fn a_private_list_and_dashboard_pass_with_their_password_or_are_noted_without() {
    for options in [options(), read_only()] {
        let stub = private_stub(None).await;

        let without = e2e::verify(&stub.base_url, &options).await.unwrap();

        assert!(without.all_passed(), "{without}");
        for name in ["counters-list", "dashboard"] {
            let note = without.check(name).unwrap().note.as_deref().unwrap_or("");
            assert!(
                note.starts_with("private: 401 unauthorized (DASHBOARD_PASSWORD; give it in E2E_DASHBOARD_PASSWORD"),
                "{name}: {note}"
            );
        }

        let with = e2e::verify(
            &stub.base_url,
            &e2e::Options {
                dashboard_password: Some(e2e::Password::new(PASSWORD)),
                ..options
            },
        )
        .await
        .unwrap();

        assert!(with.all_passed(), "{with}");
        assert_eq!(with.check("counters-list").unwrap().note, None);
        assert_eq!(
            with.check("dashboard").unwrap().note.as_deref(),
            Some("served: 200 text/html")
        );
        // The password is sent, and never shown.
        let sent = &with.check("dashboard").unwrap().evidence[0];
        assert_eq!(
            sent.request_headers
                .get("authorization")
                .map(String::as_str),
            Some("Basic (not shown)")
        );
        let json = serde_json::to_string(&with).unwrap();
        assert!(!json.contains(PASSWORD) && !with.to_string().contains(PASSWORD));
    }
}
