//! Against a server that breaks one clause, the checker fails and names that clause.
//!
//! Each test asserts the exact set of failed checks, so that a check that stops
//! noticing its clause, or one that starts blaming the wrong clause, shows up here.

use pretty_assertions::assert_eq;

use crate::helpers::{Fault, broken_stub, options, read_only};

/// Runs the checker against a stub with `fault` and returns the failed checks' names.
async fn failed(fault: Fault, options: &e2e::Options) -> Vec<&'static str> {
    let stub = broken_stub(fault).await;
    let report = e2e::verify(&stub.base_url, options).await.unwrap();
    assert!(report.failed > 0, "{fault:?} passed:\n{report}");
    assert!(!report.all_passed());
    assert_eq!(report.failed, report.failed_names().len());
    let text = report.to_string();
    assert!(
        text.lines()
            .last()
            .is_some_and(|line| line.ends_with(&format!(", {} failed", report.failed))),
        "{text}"
    );
    report.failed_names()
}

async fn full(fault: Fault) -> Vec<&'static str> {
    failed(fault, &options()).await
}

async fn read_only_mode(fault: Fault) -> Vec<&'static str> {
    failed(fault, &read_only()).await
}

#[tokio::test]
async fn count_as_a_string() {
    assert_eq!(
        full(Fault::CountAsString).await,
        [
            "get-count",
            "post-increments",
            "get-sees-post",
            "post-burst-distinct",
            "post-foreign-origin",
            // Its replay on /count is a count too.
            "idempotency-count-is-site",
            "count-is-site",
            "errors-not-counted"
        ]
    );
    assert_eq!(
        read_only_mode(Fault::CountAsString).await,
        ["get-count", "count-is-site"]
    );
}

#[tokio::test]
async fn an_extra_field() {
    assert_eq!(
        full(Fault::ExtraField).await,
        [
            "get-count",
            "post-increments",
            "post-burst-distinct",
            "post-foreign-origin",
            "idempotency-count-is-site"
        ]
    );
    assert_eq!(read_only_mode(Fault::ExtraField).await, ["get-count"]);
}

#[tokio::test]
async fn post_that_does_not_increment() {
    assert_eq!(
        full(Fault::PostDoesNotIncrement).await,
        [
            "post-increments",
            "post-burst-distinct",
            "post-foreign-origin",
            "count-is-site"
        ]
    );
}

#[tokio::test]
async fn get_that_does_not_see_the_post() {
    assert_eq!(
        full(Fault::StaleGet).await,
        [
            "get-sees-post",
            "post-burst-distinct",
            "post-foreign-origin",
            "idempotency-count-is-site",
            "count-is-site"
        ]
    );
}

#[tokio::test]
async fn concurrent_posts_that_share_a_number() {
    let failed = full(Fault::DuplicateCounts).await;
    assert!(failed.contains(&"post-burst-distinct"), "{failed:?}");
}

#[tokio::test]
async fn wildcard_allow_origin() {
    let expected = [
        "cors-allowed-origin",
        "cors-allowed-origin-errors",
        "cors-foreign-origin",
        "cors-preflight",
        "cors-foreign-preflight",
        "counters-cors",
    ];
    assert_eq!(full(Fault::WildcardOrigin).await, expected);
    assert_eq!(read_only_mode(Fault::WildcardOrigin).await, expected);
}

#[tokio::test]
async fn cors_missing() {
    let expected = [
        "cors-allowed-origin",
        "cors-allowed-origin-errors",
        "cors-preflight",
        "counters-cors",
    ];
    assert_eq!(full(Fault::NoCors).await, expected);
    assert_eq!(read_only_mode(Fault::NoCors).await, expected);
}

#[tokio::test]
async fn foreign_origin_echoed() {
    assert_eq!(
        read_only_mode(Fault::ForeignOriginEchoed).await,
        [
            "cors-foreign-origin",
            "cors-foreign-preflight",
            "counters-cors"
        ]
    );
}

#[tokio::test]
async fn credentials_allowed() {
    assert_eq!(
        read_only_mode(Fault::CredentialsAllowed).await,
        [
            "cors-allowed-origin",
            "cors-allowed-origin-errors",
            "cors-preflight",
            "counters-cors"
        ]
    );
}

#[tokio::test]
async fn preflight_without_post() {
    assert_eq!(
        read_only_mode(Fault::PreflightWithoutPost).await,
        ["cors-preflight", "counters-cors"]
    );
}

#[tokio::test]
async fn preflights_answered_by_the_gateway() {
    let expected = ["cors-preflight", "cache-control-no-store"];
    assert_eq!(full(Fault::GatewayPreflight).await, expected);
    assert_eq!(read_only_mode(Fault::GatewayPreflight).await, expected);
}

#[tokio::test]
async fn vary_missing() {
    let expected = [
        "cors-allowed-origin",
        "cors-allowed-origin-errors",
        "counters-cors",
    ];
    assert_eq!(full(Fault::NoVary).await, expected);
    assert_eq!(read_only_mode(Fault::NoVary).await, expected);
}

#[tokio::test]
async fn an_html_404() {
    assert_eq!(full(Fault::HtmlNotFound).await, ["not-found"]);
    assert_eq!(read_only_mode(Fault::HtmlNotFound).await, ["not-found"]);
}

#[tokio::test]
async fn a_problem_sent_as_plain_json() {
    assert_eq!(
        full(Fault::ProblemAsPlainJson).await,
        [
            "post-foreign-origin",
            "idempotency-key-reused",
            "idempotency-key-invalid",
            // The 409s in flight.
            "idempotency-key-concurrent",
            "counters-list",
            "not-found",
            "method-not-allowed",
            "payload-too-large",
            "days-invalid-range",
            "unknown-counter",
            "counters-method-not-allowed",
            // The badges' 400s, and the 405s of the script and the dashboard.
            "badge-invalid-query",
            "embed-script",
            "dashboard"
        ]
    );
}

#[tokio::test]
async fn method_not_allowed_answered_as_200() {
    assert_eq!(
        full(Fault::MethodNotAllowedAs200).await,
        ["method-not-allowed"]
    );
    assert_eq!(
        read_only_mode(Fault::MethodNotAllowedAs200).await,
        ["method-not-allowed"]
    );
}

#[tokio::test]
async fn a_500_without_problem_json() {
    assert_eq!(full(Fault::PutAs500Text).await, ["method-not-allowed"]);
    assert_eq!(
        read_only_mode(Fault::PutAs500Text).await,
        ["method-not-allowed"]
    );
}

#[tokio::test]
async fn allow_missing_on_405() {
    assert_eq!(
        read_only_mode(Fault::AllowMissing).await,
        ["method-not-allowed", "counters-method-not-allowed"]
    );
}

#[tokio::test]
async fn a_405_that_counts() {
    assert_eq!(full(Fault::PutCounted).await, ["errors-not-counted"]);
}

#[tokio::test]
async fn an_oversized_body_counted() {
    assert_eq!(
        full(Fault::OversizeCounted).await,
        ["payload-too-large", "errors-not-counted"]
    );
}

#[tokio::test]
async fn a_foreign_post_that_counts() {
    assert_eq!(
        full(Fault::ForeignPostCounted).await,
        ["post-foreign-origin"]
    );
    let stub = broken_stub(Fault::ForeignPostCounted).await;
    let report = e2e::verify(&stub.base_url, &options()).await.unwrap();
    let e2e::Outcome::Failed { reason } = &report.check("post-foreign-origin").unwrap().outcome
    else {
        unreachable!()
    };
    assert!(
        reason.contains("POST /count answered 200 OK, expected 403 Forbidden")
            && reason.contains("(that was the POST with Origin: https://e2e-foreign.invalid, which must be refused)")
            && reason.contains("a page on a foreign origin counted a visit"),
        "{reason}"
    );
    // Read-only mode sends no POST, so it cannot see this.
    let read_only = e2e::verify(&stub.base_url, &read_only()).await.unwrap();
    assert!(read_only.all_passed(), "{read_only}");
}

#[tokio::test]
async fn a_post_with_origin_null_that_counts() {
    assert_eq!(
        full(Fault::NullOriginCounted).await,
        ["post-foreign-origin"]
    );
}

#[tokio::test]
async fn a_post_from_the_api_s_own_origin_refused() {
    assert_eq!(full(Fault::OwnOriginRefused).await, ["post-foreign-origin"]);
}

#[tokio::test]
async fn cache_control_missing() {
    // The badges, the script and the dashboard check their own Cache-Control too.
    let expected = [
        "get-count",
        "badge-svg",
        "badge-shields",
        "badge-label-escaped",
        "embed-script",
        "dashboard",
        "cache-control-no-store",
    ];
    assert_eq!(full(Fault::NoCacheControl).await, expected);
    assert_eq!(read_only_mode(Fault::NoCacheControl).await, expected);
}

#[tokio::test]
async fn cache_control_missing_on_errors_only() {
    assert_eq!(
        read_only_mode(Fault::NoCacheControlOnErrors).await,
        ["cache-control-no-store"]
    );
}

#[tokio::test]
async fn the_failure_says_why_and_shows_the_evidence() {
    let stub = broken_stub(Fault::WildcardOrigin).await;

    let report = e2e::verify(&stub.base_url, &read_only()).await.unwrap();

    let text = report.to_string();
    assert!(
        text.contains(
            "FAIL cors-allowed-origin: GET /count: Access-Control-Allow-Origin is \"*\", \
             expected https://example.com\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("    < access-control-allow-origin: *\n"),
        "{text}"
    );
    assert!(
        text.contains("    > origin: https://example.com\n"),
        "{text}"
    );
}

/// The reason `name` failed with.
fn reason(report: &e2e::Report, name: &str) -> String {
    match &report.check(name).unwrap().outcome {
        e2e::Outcome::Failed { reason } => reason.clone(),
        other => panic!("{name} did not fail: {other:?}\n{report}"),
    }
}

async fn full_report(fault: Fault) -> e2e::Report {
    let stub = broken_stub(fault).await;
    e2e::verify(&stub.base_url, &options()).await.unwrap()
}

#[tokio::test]
async fn views_that_are_not_consecutive() {
    assert_eq!(
        full(Fault::ViewsSkip).await,
        [
            "counter-post-views",
            "idempotency-replay",
            "idempotency-key-reused",
            "idempotency-key-concurrent"
        ]
    );
    let report = full_report(Fault::ViewsSkip).await;
    let why = reason(&report, "counter-post-views");
    assert!(
        why.contains("POST 1 of 3 to /counters/e2e-check answered views 2 after 0; expected 1"),
        "{why}"
    );
}

#[tokio::test]
async fn a_visitor_counted_on_every_post() {
    assert_eq!(full(Fault::VisitorEveryPost).await, ["counter-visitors"]);
    let why = reason(
        &full_report(Fault::VisitorEveryPost).await,
        "counter-visitors",
    );
    assert!(
        why.contains("from the same visitor again (User-Agent visitor-counter-e2e/"),
        "{why}"
    );
}

#[tokio::test]
async fn a_get_that_counts_its_visitor() {
    assert_eq!(
        full(Fault::GetCountsVisitor).await,
        ["counter-get-no-write"]
    );
    let why = reason(
        &full_report(Fault::GetCountsVisitor).await,
        "counter-get-no-write",
    );
    assert!(
        why.contains("for another new visitor: a GET counted"),
        "{why}"
    );
}

#[tokio::test]
async fn a_get_that_counts_a_view() {
    assert_eq!(
        full(Fault::GetCountsView).await,
        [
            "counter-post-views",
            "counter-get-no-write",
            // They read the views before and after.
            "idempotency-replay",
            "idempotency-key-reused",
            "idempotency-key-invalid",
            "idempotency-key-concurrent",
            "count-is-site",
            "counters-list",
            // Their reads of the counter before and after the badges.
            "badge-svg",
            "badge-shields",
            // The GETs of /counters/site among the requests that must not count.
            "errors-not-counted"
        ]
    );
}

#[tokio::test]
async fn a_get_that_creates_the_counter() {
    assert_eq!(full(Fault::GetCreates).await, ["counter-get-no-write"]);
    let why = reason(
        &full_report(Fault::GetCreates).await,
        "counter-get-no-write",
    );
    assert!(
        why.contains("after it was only read: a GET created it"),
        "{why}"
    );
}

#[tokio::test]
async fn days_without_their_zeros() {
    let expected = ["days-default-range", "days-range"];
    assert_eq!(full(Fault::DaysMissingZeros).await, expected);
    assert_eq!(read_only_mode(Fault::DaysMissingZeros).await, expected);
}

#[tokio::test]
async fn days_newest_first() {
    let expected = ["days-default-range", "days-range"];
    assert_eq!(full(Fault::DaysNewestFirst).await, expected);
    assert_eq!(read_only_mode(Fault::DaysNewestFirst).await, expected);
    let why = reason(
        &full_report(Fault::DaysNewestFirst).await,
        "days-default-range",
    );
    assert!(why.contains("not oldest first"), "{why}");
}

#[tokio::test]
async fn a_default_range_of_31_dates() {
    assert_eq!(full(Fault::DaysDefault31).await, ["days-default-range"]);
    assert_eq!(
        read_only_mode(Fault::DaysDefault31).await,
        ["days-default-range"]
    );
    let why = reason(
        &full_report(Fault::DaysDefault31).await,
        "days-default-range",
    );
    assert!(why.contains("holds 31 dates, expected 30"), "{why}");
}

#[tokio::test]
async fn a_bad_range_answered_200() {
    assert_eq!(full(Fault::BadRangeAs200).await, ["days-invalid-range"]);
    assert_eq!(
        read_only_mode(Fault::BadRangeAs200).await,
        ["days-invalid-range"]
    );
}

#[tokio::test]
async fn an_invalid_name_answered_as_a_counter() {
    assert_eq!(full(Fault::UnknownCounterAs200).await, ["unknown-counter"]);
    assert_eq!(
        read_only_mode(Fault::UnknownCounterAs200).await,
        ["unknown-counter"]
    );
}

#[tokio::test]
async fn an_invalid_name_answered_v1_s_not_found() {
    assert_eq!(
        full(Fault::UnknownCounterNotFound).await,
        ["unknown-counter"]
    );
    let why = reason(
        &full_report(Fault::UnknownCounterNotFound).await,
        "unknown-counter",
    );
    assert!(
        why.contains(
            "GET /counters/Home: the problem's type is \"urn:visitor-counter:problem:not-found\", \
             expected urn:visitor-counter:problem:unknown-counter"
        ),
        "{why}"
    );
}

#[tokio::test]
async fn a_preflight_refused_for_an_invalid_name() {
    assert_eq!(
        full(Fault::UnknownCounterPreflightRefused).await,
        ["counters-cors"]
    );
    let why = reason(
        &full_report(Fault::UnknownCounterPreflightRefused).await,
        "counters-cors",
    );
    assert!(why.contains("OPTIONS /counters/Home"), "{why}");
}

#[tokio::test]
async fn a_list_not_sorted() {
    assert_eq!(full(Fault::ListUnsorted).await, ["counters-list"]);
    let why = reason(&full_report(Fault::ListUnsorted).await, "counters-list");
    assert!(why.contains("not sorted by name"), "{why}");
}

#[tokio::test]
async fn a_next_on_the_last_page() {
    assert_eq!(full(Fault::ListNextAlways).await, ["counters-list"]);
    assert_eq!(
        read_only_mode(Fault::ListNextAlways).await,
        ["counters-list"]
    );
}

#[tokio::test]
async fn site_not_the_counter_of_count() {
    assert_eq!(
        full(Fault::SiteSeparate).await,
        ["idempotency-count-is-site", "count-is-site"]
    );
    assert_eq!(read_only_mode(Fault::SiteSeparate).await, ["count-is-site"]);
}

#[tokio::test]
async fn no_store_missing_on_the_named_counters() {
    // The badges' routes are the named counters' too: the SVG lacks its no-cache.
    let expected = [
        "badge-svg",
        "badge-shields",
        "badge-label-escaped",
        "cache-control-no-store",
    ];
    assert_eq!(full(Fault::NoStoreOnCounters).await, expected);
    assert_eq!(read_only_mode(Fault::NoStoreOnCounters).await, expected);
}

#[tokio::test]
async fn a_read_only_route_that_allows_post() {
    let expected = ["counters-method-not-allowed"];
    assert_eq!(full(Fault::CountersAllowWrong).await, expected);
    assert_eq!(read_only_mode(Fault::CountersAllowWrong).await, expected);
}

#[tokio::test]
async fn no_cors_on_the_named_counters() {
    let expected = ["counters-cors"];
    assert_eq!(full(Fault::CountersNoCors).await, expected);
    assert_eq!(read_only_mode(Fault::CountersNoCors).await, expected);
}

#[tokio::test]
async fn a_replay_that_counts_again() {
    assert_eq!(
        full(Fault::ReplayCounts).await,
        [
            "idempotency-replay",
            "idempotency-count-is-site",
            "idempotency-key-concurrent"
        ]
    );
    let why = reason(
        &full_report(Fault::ReplayCounts).await,
        "idempotency-replay",
    );
    assert!(
        why.contains(
            "GET /counters/e2e-check read 12 views after 8 before a POST with a new key, one \
             without a key, and the key twice more (a replay counts nothing); expected 10"
        ),
        "{why}"
    );
    // Read-only mode sends no POST, so it cannot see this.
    assert!(
        e2e::verify(
            &broken_stub(Fault::ReplayCounts).await.base_url,
            &read_only()
        )
        .await
        .unwrap()
        .all_passed()
    );
}

#[tokio::test]
async fn a_replay_not_marked_replayed() {
    assert_eq!(
        full(Fault::ReplayNotMarked).await,
        [
            "idempotency-replay",
            "idempotency-count-is-site",
            "idempotency-key-concurrent"
        ]
    );
    let why = reason(
        &full_report(Fault::ReplayNotMarked).await,
        "idempotency-replay",
    );
    assert!(
        why.contains(
            "POST /counters/e2e-check with the same key quoted is not marked \
             Idempotent-Replayed: true"
        ),
        "{why}"
    );
}

#[tokio::test]
async fn a_replay_with_another_body() {
    assert_eq!(full(Fault::ReplayRereads).await, ["idempotency-replay"]);
    let why = reason(
        &full_report(Fault::ReplayRereads).await,
        "idempotency-replay",
    );
    assert!(
        why.contains(
            r#"POST /counters/e2e-check with the same key answered {"name":"e2e-check","views":10,"visitors":3}, but the first answer to the key was {"name":"e2e-check","views":9,"visitors":3}: a replay is that answer again"#
        ),
        "{why}"
    );
}

#[tokio::test]
async fn a_reused_key_counted_on_another_counter() {
    assert_eq!(
        full(Fault::ReusedKeyCounted).await,
        ["idempotency-key-reused"]
    );
    let report = full_report(Fault::ReusedKeyCounted).await;
    let why = reason(&report, "idempotency-key-reused");
    assert!(
        why.contains("answered 200 OK, expected 422 Unprocessable Entity")
            && why.contains("sent to another counter: it must be refused)")
            && why
                .contains("a POST with the key of POST /counters/e2e-check: a reused key counted"),
        "{why}"
    );
}

#[tokio::test]
async fn a_malformed_key_accepted() {
    assert_eq!(
        full(Fault::InvalidKeyAccepted).await,
        ["idempotency-key-invalid"]
    );
    let why = reason(
        &full_report(Fault::InvalidKeyAccepted).await,
        "idempotency-key-invalid",
    );
    for what in [
        "an Idempotency-Key with a comma",
        "an Idempotency-Key with a space",
        "an Idempotency-Key of 256 characters",
        "an Idempotency-Key that opens a quoted string and does not close it",
        "Idempotency-Key twice",
    ] {
        assert!(
            why.contains(&format!(
                "(that was the POST with {what}, which must be refused)"
            )),
            "{what}: {why}"
        );
    }
    assert!(
        why.contains(
            "GET /counters/e2e-check read 16 views after 11 before 5 POSTs with malformed keys: \
             a refused key counted; expected 11"
        ),
        "{why}"
    );
}

#[tokio::test]
async fn concurrent_requests_with_one_key_counted_more_than_once() {
    assert_eq!(
        full(Fault::ConcurrentCountedTwice).await,
        ["idempotency-key-concurrent"]
    );
    let why = reason(
        &full_report(Fault::ConcurrentCountedTwice).await,
        "idempotency-key-concurrent",
    );
    assert!(
        why.contains("10 concurrent POSTs with one new key and one more after them (one visit between them); expected"),
        "{why}"
    );
}

#[tokio::test]
async fn a_409_in_flight_without_retry_after() {
    assert_eq!(
        full(Fault::InFlightWithoutRetryAfter).await,
        ["idempotency-key-concurrent"]
    );
    let why = reason(
        &full_report(Fault::InFlightWithoutRetryAfter).await,
        "idempotency-key-concurrent",
    );
    assert!(
        why.contains("a 409 in flight has Retry-After (none), expected a number of seconds"),
        "{why}"
    );
}

#[tokio::test]
async fn keys_of_count_and_counters_site_kept_apart() {
    assert_eq!(
        full(Fault::KeysPerRoute).await,
        ["idempotency-count-is-site"]
    );
    let why = reason(
        &full_report(Fault::KeysPerRoute).await,
        "idempotency-count-is-site",
    );
    assert!(
        why.contains("POST /count answered 422 Unprocessable Entity, expected 200 OK"),
        "{why}"
    );
}

#[tokio::test]
async fn a_preflight_that_does_not_allow_idempotency_key() {
    let expected = ["cors-preflight", "counters-cors"];
    assert_eq!(full(Fault::PreflightWithoutIdempotencyKey).await, expected);
    assert_eq!(
        read_only_mode(Fault::PreflightWithoutIdempotencyKey).await,
        expected
    );
    let why = reason(
        &full_report(Fault::PreflightWithoutIdempotencyKey).await,
        "cors-preflight",
    );
    assert_eq!(
        why,
        "OPTIONS /count: Access-Control-Allow-Headers does not name idempotency-key, which \
         the preflight asked for (got \"content-type\")"
    );
}

#[tokio::test]
async fn idempotent_replayed_not_exposed() {
    let expected = [
        "cors-allowed-origin",
        "cors-allowed-origin-errors",
        "counters-cors",
    ];
    assert_eq!(full(Fault::ReplayedNotExposed).await, expected);
    assert_eq!(read_only_mode(Fault::ReplayedNotExposed).await, expected);
    let why = reason(
        &full_report(Fault::ReplayedNotExposed).await,
        "cors-allowed-origin",
    );
    assert_eq!(
        why,
        "GET /count: Access-Control-Expose-Headers does not name idempotent-replayed, so a \
         page cannot read it (got \"Retry-After\")"
    );
}

#[tokio::test]
async fn a_badge_that_is_no_store() {
    let expected = ["badge-svg", "badge-label-escaped", "cache-control-no-store"];
    assert_eq!(full(Fault::BadgeNoStore).await, expected);
    assert_eq!(read_only_mode(Fault::BadgeNoStore).await, expected);
    let report = full_report(Fault::BadgeNoStore).await;
    let why = reason(&report, "badge-svg");
    assert!(
        why.contains("badge.svg: Cache-Control is \"no-store\", expected no-cache"),
        "{why}"
    );
}

#[tokio::test]
async fn a_badge_label_drawn_as_markup() {
    assert_eq!(
        full(Fault::BadgeLabelUnescaped).await,
        ["badge-label-escaped"]
    );
    assert_eq!(
        read_only_mode(Fault::BadgeLabelUnescaped).await,
        ["badge-label-escaped"]
    );
    let report = full_report(Fault::BadgeLabelUnescaped).await;
    assert!(
        reason(&report, "badge-label-escaped").contains("holds the label as sent"),
        "{report}"
    );
}

#[tokio::test]
async fn a_shields_message_that_is_not_the_count() {
    assert_eq!(full(Fault::ShieldsMessageOff).await, ["badge-shields"]);
    assert_eq!(
        read_only_mode(Fault::ShieldsMessageOff).await,
        ["badge-shields"]
    );
    let report = full_report(Fault::ShieldsMessageOff).await;
    let why = reason(&report, "badge-shields");
    assert!(why.contains("message shows views"), "{why}");
    assert!(why.contains("but GET /counters/{name} read"), "{why}");
}

#[tokio::test]
async fn a_badge_read_that_counts() {
    // Only full mode can tell: read-only mode reads site, which real visits move. Full
    // mode reads site's badges too, inside errors-not-counted's bracket.
    assert_eq!(
        full(Fault::BadgeCounts).await,
        ["badge-svg", "badge-shields", "errors-not-counted"]
    );
}

#[tokio::test]
async fn an_unknown_metric_answered_as_views() {
    assert_eq!(full(Fault::BadMetricAs200).await, ["badge-invalid-query"]);
    assert_eq!(
        read_only_mode(Fault::BadMetricAs200).await,
        ["badge-invalid-query"]
    );
}

#[tokio::test]
async fn a_script_that_is_no_store() {
    let expected = ["embed-script", "cache-control-no-store"];
    assert_eq!(full(Fault::ScriptNoStore).await, expected);
    assert_eq!(read_only_mode(Fault::ScriptNoStore).await, expected);
    let report = full_report(Fault::ScriptNoStore).await;
    let why = reason(&report, "embed-script");
    assert!(
        why.contains("Cache-Control is \"no-store\", expected public, max-age=3600"),
        "{why}"
    );
}

#[tokio::test]
async fn a_script_served_as_plain_text() {
    assert_eq!(full(Fault::ScriptAsPlainText).await, ["embed-script"]);
    assert_eq!(
        read_only_mode(Fault::ScriptAsPlainText).await,
        ["embed-script"]
    );
}

#[tokio::test]
async fn a_dashboard_with_a_script() {
    assert_eq!(full(Fault::DashboardScript).await, ["dashboard"]);
    assert_eq!(read_only_mode(Fault::DashboardScript).await, ["dashboard"]);
}

#[tokio::test]
async fn a_badge_number_not_grouped() {
    // site's count starts at the contract's example, 1234: its badge shows 1234.
    assert_eq!(full(Fault::BadgeUngrouped).await, ["badge-svg"]);
    assert_eq!(read_only_mode(Fault::BadgeUngrouped).await, ["badge-svg"]);
    let report = full_report(Fault::BadgeUngrouped).await;
    let why = reason(&report, "badge-svg");
    assert!(why.contains("not digits grouped by thousands"), "{why}");
}
