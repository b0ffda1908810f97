//! Against a server that breaks one clause, the checker fails and names that clause.
//!
//! Each test asserts the exact set of failed checks, so that a check that stops
//! noticing its clause, or one that starts blaming the wrong clause, shows up here.

use pretty_assertions::assert_eq;

use crate::helpers::{Fault, broken_stub, options, private_stub, read_only, stub};

/// Runs the checker once against a stub with `fault`.
async fn run(fault: Fault, options: &e2e::Options) -> e2e::Report {
    let stub = broken_stub(fault).await;
    e2e::verify(&stub.base_url, options).await.unwrap()
}

/// The failed checks' names of a report that must have some.
fn failed(report: &e2e::Report) -> Vec<&'static str> {
    assert!(report.failed > 0, "nothing failed:\n{report}");
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
    failed(&full_report(fault).await)
}

async fn read_only_mode(fault: Fault) -> Vec<&'static str> {
    failed(&run(fault, &read_only()).await)
}

async fn full_report(fault: Fault) -> e2e::Report {
    run(fault, &options()).await
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
            // The crawler's POST /count is answered a count too.
            "bot-not-counted",
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
            "bot-not-counted",
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
            // It reads the count before a crawler's POST /count.
            "bot-not-counted",
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
            // Their 400s and 405s.
            "totals",
            "totals-days",
            // The badges' 400s, and the 405s of the script and the dashboard.
            "badge-invalid-query",
            "embed-script",
            "dashboard",
            // The 405s of / and /dashboard/, and of the paths a foreign POST is sent to.
            "root-links",
            "foreign-post-not-allowed"
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
    let stub = broken_stub(Fault::ForeignPostCounted).await;
    let report = e2e::verify(&stub.base_url, &options()).await.unwrap();
    assert_eq!(failed(&report), ["post-foreign-origin"]);
    let reason = reason(&report, "post-foreign-origin");
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
    // The totals, the badges, the script, the dashboard and / check their own
    // Cache-Control too.
    let expected = [
        "get-count",
        "totals",
        "totals-days",
        "badge-svg",
        "badge-shields",
        "badge-label-escaped",
        "embed-script",
        "dashboard",
        "root-links",
        "cache-control-no-store",
    ];
    let mut in_full = expected.to_vec();
    in_full.insert(1, "totals-visitors");
    assert_eq!(full(Fault::NoCacheControl).await, in_full);
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

#[tokio::test]
async fn views_that_are_not_consecutive() {
    let report = full_report(Fault::ViewsSkip).await;
    assert_eq!(
        failed(&report),
        [
            "counter-post-views",
            // Its new counters' first views.
            "totals-visitors",
            "idempotency-replay",
            "idempotency-key-reused",
            "idempotency-key-concurrent"
        ]
    );
    let why = reason(&report, "counter-post-views");
    assert!(
        why.contains("POST 1 of 3 to /counters/e2e-check answered views 2 after 0; expected 1"),
        "{why}"
    );
}

#[tokio::test]
async fn a_visitor_counted_on_every_post() {
    let report = full_report(Fault::VisitorEveryPost).await;
    assert_eq!(failed(&report), ["counter-visitors"]);
    let why = reason(&report, "counter-visitors");
    assert!(
        why.contains(
            "from the same visitor again (User-Agent Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
        ),
        "{why}"
    );
}

#[tokio::test]
async fn a_get_that_counts_its_visitor() {
    let report = full_report(Fault::GetCountsVisitor).await;
    assert_eq!(
        failed(&report),
        // Those two read names nobody counted, which must read zeros.
        ["counter-get-no-write", "bot-not-counted", "totals-visitors"]
    );
    let why = reason(&report, "counter-get-no-write");
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
            "bot-not-counted",
            "totals-visitors",
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
    let report = full_report(Fault::GetCreates).await;
    assert_eq!(
        failed(&report),
        // It reads the name a bot posted to.
        ["counter-get-no-write", "bot-not-counted"]
    );
    let why = reason(&report, "counter-get-no-write");
    assert!(
        why.contains("after it was only read: a GET created it"),
        "{why}"
    );
}

#[tokio::test]
async fn days_without_their_zeros() {
    // The whole site's days come from the same code.
    let expected = ["days-default-range", "days-range", "totals-days"];
    assert_eq!(full(Fault::DaysMissingZeros).await, expected);
    // With nothing counted, the last seven days are no days at all, which no schema
    // of days allows.
    assert_eq!(
        read_only_mode(Fault::DaysMissingZeros).await,
        [
            "days-default-range",
            "days-range",
            "totals-days",
            "day-tallies"
        ]
    );
}

#[tokio::test]
async fn days_newest_first() {
    let report = full_report(Fault::DaysNewestFirst).await;
    let expected = ["days-default-range", "days-range", "totals-days"];
    assert_eq!(failed(&report), expected);
    assert_eq!(read_only_mode(Fault::DaysNewestFirst).await, expected);
    let why = reason(&report, "days-default-range");
    assert!(why.contains("not oldest first"), "{why}");
}

#[tokio::test]
async fn a_default_range_of_31_dates() {
    let report = full_report(Fault::DaysDefault31).await;
    let expected = ["days-default-range", "totals-days"];
    assert_eq!(failed(&report), expected);
    assert_eq!(read_only_mode(Fault::DaysDefault31).await, expected);
    let why = reason(&report, "days-default-range");
    assert!(why.contains("holds 31 dates, expected 30"), "{why}");
}

#[tokio::test]
async fn a_bad_range_answered_200() {
    let expected = ["days-invalid-range", "totals-days"];
    assert_eq!(full(Fault::BadRangeAs200).await, expected);
    assert_eq!(read_only_mode(Fault::BadRangeAs200).await, expected);
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
    let report = full_report(Fault::UnknownCounterNotFound).await;
    assert_eq!(failed(&report), ["unknown-counter"]);
    let why = reason(&report, "unknown-counter");
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
    let report = full_report(Fault::UnknownCounterPreflightRefused).await;
    assert_eq!(failed(&report), ["counters-cors"]);
    let why = reason(&report, "counters-cors");
    assert!(why.contains("OPTIONS /counters/Home"), "{why}");
}

#[tokio::test]
async fn a_list_not_sorted() {
    let report = full_report(Fault::ListUnsorted).await;
    assert_eq!(failed(&report), ["counters-list"]);
    let why = reason(&report, "counters-list");
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
        // A crawler's POST /count answers a count that is not site's.
        [
            "bot-not-counted",
            "idempotency-count-is-site",
            "count-is-site"
        ]
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
    let expected = ["counters-method-not-allowed", "totals", "totals-days"];
    assert_eq!(
        full(Fault::CountersAllowWrong).await,
        [
            "counters-method-not-allowed",
            "totals",
            "totals-days",
            "foreign-post-not-allowed"
        ]
    );
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
    let report = full_report(Fault::ReplayCounts).await;
    assert_eq!(
        failed(&report),
        [
            "idempotency-replay",
            "idempotency-count-is-site",
            "idempotency-key-concurrent"
        ]
    );
    let why = reason(&report, "idempotency-replay");
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
    let report = full_report(Fault::ReplayNotMarked).await;
    assert_eq!(
        failed(&report),
        [
            "idempotency-replay",
            "idempotency-count-is-site",
            "idempotency-key-concurrent"
        ]
    );
    let why = reason(&report, "idempotency-replay");
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
    let report = full_report(Fault::ReplayRereads).await;
    assert_eq!(failed(&report), ["idempotency-replay"]);
    let why = reason(&report, "idempotency-replay");
    assert!(
        why.contains(
            r#"POST /counters/e2e-check with the same key answered {"name":"e2e-check","views":10,"visitors":3}, but the first answer to the key was {"name":"e2e-check","views":9,"visitors":3}: a replay is that answer again"#
        ),
        "{why}"
    );
}

#[tokio::test]
async fn a_reused_key_counted_on_another_counter() {
    let report = full_report(Fault::ReusedKeyCounted).await;
    assert_eq!(failed(&report), ["idempotency-key-reused"]);
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
    let report = full_report(Fault::InvalidKeyAccepted).await;
    assert_eq!(failed(&report), ["idempotency-key-invalid"]);
    let why = reason(&report, "idempotency-key-invalid");
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
    let report = full_report(Fault::ConcurrentCountedTwice).await;
    assert_eq!(failed(&report), ["idempotency-key-concurrent"]);
    let why = reason(&report, "idempotency-key-concurrent");
    assert!(
        why.contains("10 concurrent POSTs with one new key and one more after them (one visit between them); expected"),
        "{why}"
    );
}

#[tokio::test]
async fn a_409_in_flight_without_retry_after() {
    let report = full_report(Fault::InFlightWithoutRetryAfter).await;
    assert_eq!(failed(&report), ["idempotency-key-concurrent"]);
    let why = reason(&report, "idempotency-key-concurrent");
    assert!(
        why.contains("a 409 in flight has Retry-After (none), expected a number of seconds"),
        "{why}"
    );
}

#[tokio::test]
async fn keys_of_count_and_counters_site_kept_apart() {
    let report = full_report(Fault::KeysPerRoute).await;
    assert_eq!(failed(&report), ["idempotency-count-is-site"]);
    let why = reason(&report, "idempotency-count-is-site");
    assert!(
        why.contains("POST /count answered 422 Unprocessable Entity, expected 200 OK"),
        "{why}"
    );
}

#[tokio::test]
async fn a_preflight_that_does_not_allow_idempotency_key() {
    let report = full_report(Fault::PreflightWithoutIdempotencyKey).await;
    let expected = ["cors-preflight", "counters-cors"];
    assert_eq!(failed(&report), expected);
    assert_eq!(
        read_only_mode(Fault::PreflightWithoutIdempotencyKey).await,
        expected
    );
    let why = reason(&report, "cors-preflight");
    assert_eq!(
        why,
        "OPTIONS /count: Access-Control-Allow-Headers does not name idempotency-key, which \
         the preflight asked for (got \"content-type\")"
    );
}

#[tokio::test]
async fn idempotent_replayed_not_exposed() {
    let report = full_report(Fault::ReplayedNotExposed).await;
    let expected = [
        "cors-allowed-origin",
        "cors-allowed-origin-errors",
        "counters-cors",
    ];
    assert_eq!(failed(&report), expected);
    assert_eq!(read_only_mode(Fault::ReplayedNotExposed).await, expected);
    let why = reason(&report, "cors-allowed-origin");
    assert_eq!(
        why,
        "GET /count: Access-Control-Expose-Headers does not name idempotent-replayed, so a \
         page cannot read it (got \"Retry-After, Visit-Filtered\")"
    );
}

#[tokio::test]
async fn a_badge_that_is_no_store() {
    let report = full_report(Fault::BadgeNoStore).await;
    let expected = ["badge-svg", "badge-label-escaped", "cache-control-no-store"];
    assert_eq!(failed(&report), expected);
    assert_eq!(read_only_mode(Fault::BadgeNoStore).await, expected);
    let why = reason(&report, "badge-svg");
    assert!(
        why.contains("badge.svg: Cache-Control is \"no-store\", expected no-cache"),
        "{why}"
    );
}

#[tokio::test]
async fn a_badge_label_drawn_as_markup() {
    let report = full_report(Fault::BadgeLabelUnescaped).await;
    assert_eq!(failed(&report), ["badge-label-escaped"]);
    assert_eq!(
        read_only_mode(Fault::BadgeLabelUnescaped).await,
        ["badge-label-escaped"]
    );
    assert!(
        reason(&report, "badge-label-escaped").contains("holds the label as sent"),
        "{report}"
    );
}

#[tokio::test]
async fn a_shields_message_that_is_not_the_count() {
    let report = full_report(Fault::ShieldsMessageOff).await;
    assert_eq!(failed(&report), ["badge-shields"]);
    assert_eq!(
        read_only_mode(Fault::ShieldsMessageOff).await,
        ["badge-shields"]
    );
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
    let report = full_report(Fault::ScriptNoStore).await;
    let expected = ["embed-script", "cache-control-no-store"];
    assert_eq!(failed(&report), expected);
    assert_eq!(read_only_mode(Fault::ScriptNoStore).await, expected);
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
    let report = full_report(Fault::BadgeUngrouped).await;
    // site's count starts at the contract's example, 1234: its badge shows 1234.
    assert_eq!(failed(&report), ["badge-svg"]);
    assert_eq!(read_only_mode(Fault::BadgeUngrouped).await, ["badge-svg"]);
    let why = reason(&report, "badge-svg");
    assert!(why.contains("not digits grouped by thousands"), "{why}");
}

#[tokio::test]
async fn a_bot_counted_as_a_person() {
    let report = full_report(Fault::BotCounted).await;
    assert_eq!(failed(&report), ["bot-not-counted"]);
    let why = reason(&report, "bot-not-counted");
    assert!(
        why.contains(
            "POST /counters/e2e-check with a crawler's User-Agent (Googlebot): Visit-Filtered \
             is (none), expected bot"
        ) && why.contains("a bot's POST counts nothing and answers the totals as they are")
            && why.contains("/counters/e2e-check/days moved by 2 views")
            && why.contains("a bot created it"),
        "{why}"
    );
    // Read-only mode sends no POST, so it cannot see this.
    assert!(run(Fault::BotCounted, &read_only()).await.all_passed());
}

#[tokio::test]
async fn a_post_not_counted_without_saying_why() {
    let report = full_report(Fault::FilteredNotMarked).await;
    assert_eq!(failed(&report), ["bot-not-counted"]);
    let why = reason(&report, "bot-not-counted");
    assert!(
        why.contains("with an empty User-Agent: Visit-Filtered is (none), expected bot"),
        "{why}"
    );
}

#[tokio::test]
async fn a_bot_not_tallied_on_its_counter() {
    let report = full_report(Fault::BotNotTallied).await;
    assert_eq!(failed(&report), ["bot-not-counted"]);
    let why = reason(&report, "bot-not-counted");
    assert!(
        why.contains("/counters/e2e-check/days's bots moved by 0 across 2 bots' POSTs; expected 2"),
        "{why}"
    );
}

#[tokio::test]
async fn a_bot_that_creates_a_counter() {
    let report = full_report(Fault::BotCreates).await;
    assert_eq!(failed(&report), ["bot-not-counted"]);
    let why = reason(&report, "bot-not-counted");
    assert!(
        why.contains("after only a bot's POST: a bot created it"),
        "{why}"
    );
}

#[tokio::test]
async fn the_whole_site_tallying_nothing() {
    let report = full_report(Fault::SiteTalliesMissing).await;
    assert_eq!(failed(&report), ["bot-not-counted", "day-tallies"]);
    let why = reason(&report, "day-tallies");
    assert!(
        why.contains("the whole site tallied 0 bots and 0 limited, fewer than site's 1 and 0"),
        "{why}"
    );
}

#[tokio::test]
async fn one_person_on_two_pages_counted_two_visitors_of_the_site() {
    let report = full_report(Fault::SiteVisitorPerCounter).await;
    assert_eq!(failed(&report), ["totals-visitors"]);
    let why = reason(&report, "totals-visitors");
    assert!(
        why.contains("expected 2 more views, 1 more visitor (one person on two pages is one visitor of the site) and 2 more counters")
            && why.contains("moved by 2 views and 2 visitors across one new visitor's POSTs on two new counters; expected 2 views and 1 visitor"),
        "{why}"
    );
}

#[tokio::test]
async fn totals_with_a_member_too_many() {
    assert_eq!(
        full(Fault::TotalsExtraMember).await,
        ["totals-visitors", "totals"]
    );
    assert_eq!(read_only_mode(Fault::TotalsExtraMember).await, ["totals"]);
}

#[tokio::test]
async fn days_without_their_tallies() {
    let report = full_report(Fault::DaysWithoutTallies).await;
    assert_eq!(
        failed(&report),
        [
            "counter-days-today",
            "bot-not-counted",
            "totals-visitors",
            "days-default-range",
            "days-range",
            "totals-days",
            "day-tallies"
        ]
    );
    let why = reason(&report, "day-tallies");
    assert!(why.contains("\"bots\" is a required property"), "{why}");
    assert_eq!(
        read_only_mode(Fault::DaysWithoutTallies).await,
        [
            "days-default-range",
            "days-range",
            "totals-days",
            "day-tallies"
        ]
    );
}

#[tokio::test]
async fn head_answered_405() {
    let report = full_report(Fault::HeadAs405).await;
    assert_eq!(failed(&report), ["head-like-get"]);
    assert_eq!(read_only_mode(Fault::HeadAs405).await, ["head-like-get"]);
    let why = reason(&report, "head-like-get");
    assert!(
        why.contains(
            "HEAD /count answered 405 Method Not Allowed, but GET /count answered 200 OK: HEAD \
             is GET without the body"
        ),
        "{why}"
    );
}

#[tokio::test]
async fn head_without_the_cors_of_its_get() {
    let report = full_report(Fault::HeadWithoutCors).await;
    assert_eq!(failed(&report), ["head-like-get"]);
    assert_eq!(
        read_only_mode(Fault::HeadWithoutCors).await,
        ["head-like-get"]
    );
    let why = reason(&report, "head-like-get");
    assert!(
        why.contains(
            "HEAD /totals: access-control-allow-origin is (none), but GET /totals had \
             \"https://example.com\""
        ),
        "{why}"
    );
}

#[tokio::test]
async fn the_base_url_a_dead_end() {
    let report = full_report(Fault::RootNotFound).await;
    // A foreign POST to / is its 404 too.
    assert_eq!(failed(&report), ["root-links", "foreign-post-not-allowed"]);
    assert_eq!(read_only_mode(Fault::RootNotFound).await, ["root-links"]);
    let why = reason(&report, "root-links");
    assert!(
        why.contains("GET / answered 404 Not Found, expected 200 OK"),
        "{why}"
    );
}

#[tokio::test]
async fn links_that_leave_out_the_stage() {
    // Only a stage shows it: at the root, /dashboard is the dashboard's path.
    for options in [options(), read_only()] {
        let stub = stub(Some(Fault::RootLinksWithoutStage), "/prod").await;
        let report = e2e::verify(&stub.base_url, &options).await.unwrap();
        assert_eq!(failed(&report), ["root-links"]);
        let why = reason(&report, "root-links");
        assert!(
            why.contains(&format!(
                "GET /: the dashboard link \"/dashboard\" leads to {}/dashboard, expected {}/dashboard",
                stub.server.uri(),
                stub.base_url
            )),
            "{why}"
        );
    }
}

#[tokio::test]
async fn the_dashboard_with_a_slash_a_dead_end() {
    let report = full_report(Fault::DashboardSlashNotFound).await;
    assert_eq!(failed(&report), ["root-links", "foreign-post-not-allowed"]);
    let why = reason(&report, "root-links");
    assert!(
        why.contains("GET /dashboard/ answered 404 Not Found, expected 308 Permanent Redirect"),
        "{why}"
    );
}

#[tokio::test]
async fn a_foreign_post_refused_before_its_route_is_known() {
    let report = full_report(Fault::ForeignPostRefused).await;
    assert_eq!(failed(&report), ["foreign-post-not-allowed"]);
    let why = reason(&report, "foreign-post-not-allowed");
    assert!(
        why.contains("POST /totals answered 403 Forbidden, expected 405 Method Not Allowed"),
        "{why}"
    );
    // Read-only mode sends no POST, so it cannot see this.
    assert!(
        run(Fault::ForeignPostRefused, &read_only())
            .await
            .all_passed()
    );
}

#[tokio::test]
async fn visit_filtered_not_exposed() {
    let expected = [
        "cors-allowed-origin",
        "cors-allowed-origin-errors",
        "counters-cors",
    ];
    let report = full_report(Fault::FilteredNotExposed).await;
    assert_eq!(failed(&report), expected);
    assert_eq!(read_only_mode(Fault::FilteredNotExposed).await, expected);
    assert_eq!(
        reason(&report, "cors-allowed-origin"),
        "GET /count: Access-Control-Expose-Headers does not name visit-filtered, so a page \
         cannot read it (got \"Retry-After, Idempotent-Replayed\")"
    );
}

#[tokio::test]
async fn a_private_page_s_401_without_its_challenge() {
    let stub = private_stub(Some(Fault::UnauthorizedWithoutChallenge)).await;
    let report = e2e::verify(&stub.base_url, &options()).await.unwrap();
    assert_eq!(
        failed(&report),
        [
            "counter-get-no-write",
            "bot-not-counted",
            "counters-list",
            "dashboard"
        ]
    );
    assert_eq!(
        reason(&report, "dashboard"),
        "GET /dashboard: WWW-Authenticate is (none), expected Basic realm=\"visitor-counter\", \
         charset=\"UTF-8\""
    );
}
