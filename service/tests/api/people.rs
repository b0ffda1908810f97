//! v3: counts that mean people, and reads that cost what they show (both stores).
//!
//! Bots are tallied, not counted; one visitor counts at most `VIEWS_PER_VISITOR` views
//! of a counter a day; the whole site's numbers count a person once a day whatever
//! they read; `MAX_COUNTERS` caps the counters; the operator deletes and renames; the
//! owner's password guards the dashboard and the list; `HEAD`, `/` and `/dashboard/`.

use std::time::Duration;

use axum::body::Body;
use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use serde_json::Value;
use visitor_counter::auth::Password;
use visitor_counter::day::Clock;
use visitor_counter::names::CounterName;
use visitor_counter::store::{CounterStore, Limits, OperatorStore, RenameOutcome};

use crate::helpers::*;

// A desktop browser's User-Agent (testkit's): a person, as far as the bot list can tell.
use testkit::BROWSER_USER_AGENT as BROWSER;
const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// `POST` on `path` with this User-Agent (or none), from `address`.
async fn post_as(h: &Harness, path: &str, address: &str, agent: Option<&str>) -> Answer {
    let mut builder = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path);
    if let Some(agent) = agent {
        builder = builder.header("user-agent", agent);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(visitor_counter::visitor::ClientAddress(address.to_owned()));
    call_as_is(&h.app, request).await
}

/// Today's `days` entry of a counter (or of the site, with `name` = None).
async fn today(h: &Harness, name: Option<&str>) -> Value {
    let path = match name {
        Some(name) => format!("/counters/{name}/days"),
        None => "/totals/days".to_owned(),
    };
    let body = h.get(&path).await.json();
    body["days"].as_array().unwrap().last().unwrap().clone()
}

async fn totals(h: &Harness) -> (u64, u64, u64) {
    let body = h.get("/totals").await.json();
    (
        body["views"].as_u64().unwrap(),
        body["visitors"].as_u64().unwrap(),
        body["counters"].as_u64().unwrap(),
    )
}

on_both_stores!(
    bots_are_tallied_and_never_counted_or_created,
    one_visitor_counts_at_most_the_limit_per_counter_and_day,
    concurrent_views_of_one_visitor_stop_exactly_at_the_limit,
    the_site_counts_a_person_once_a_day_whatever_they_read,
    the_cap_refuses_a_new_counter_and_existing_ones_keep_counting,
    delete_and_rename_move_a_counter_and_its_days,
    the_list_is_read_in_pages_from_the_index,
);

async fn bots_are_tallied_and_never_counted_or_created(kind: Kind) {
    let h = harness(kind).await;
    for agent in [
        Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
        Some(
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        ),
        Some("curl/8.5.0"),
        Some(""),
        None,
    ] {
        for path in ["/counters/home", "/count"] {
            let answer = post_as(&h, path, "192.0.2.1", agent).await;
            assert_eq!(answer.status, StatusCode::OK, "{agent:?} on {path}");
            assert_eq!(answer.header("visit-filtered"), Some("bot"), "{agent:?}");
        }
    }
    // Nothing was counted, and no counter was created.
    assert_eq!(h.counter("home").await, (0, 0));
    assert_eq!(
        h.get("/counters").await.json()["counters"],
        Value::Array(vec![])
    );
    assert_eq!(totals(&h).await, (0, 0, 0));
    assert_eq!(today(&h, None).await["bots"], 10);

    // Once a person has counted, a bot's POST answers the totals and is tallied.
    assert_eq!(
        count_visit(&h.app, "home", "192.0.2.1", BROWSER).await,
        (1, 1)
    );
    let bot = post_as(
        &h,
        "/counters/home",
        "192.0.2.9",
        Some("python-requests/2.32.3"),
    )
    .await;
    assert_eq!(bot.totals("home"), (1, 1));
    assert_eq!(bot.header("visit-filtered"), Some("bot"));
    let day = today(&h, Some("home")).await;
    assert_eq!(
        (day["views"].as_u64(), day["bots"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(today(&h, None).await["bots"], 11);
}

async fn one_visitor_counts_at_most_the_limit_per_counter_and_day(kind: Kind) {
    let h = harness(kind).await;
    let limit = Limits::DEFAULT_VIEWS_PER_VISITOR;
    for i in 1..=limit + 10 {
        let answer = post_as(&h, "/counters/home", "192.0.2.1", Some(BROWSER)).await;
        assert_eq!(answer.status, StatusCode::OK);
        if i <= limit {
            assert_eq!(answer.totals("home"), (i, 1));
            assert_eq!(answer.header("visit-filtered"), None);
        } else {
            assert_eq!(answer.totals("home"), (limit, 1));
            assert_eq!(answer.header("visit-filtered"), Some("limited"));
        }
    }
    let day = today(&h, Some("home")).await;
    assert_eq!(
        (day["views"].as_u64(), day["limited"].as_u64()),
        (Some(50), Some(10))
    );
    assert_eq!(today(&h, None).await["limited"], 10);
    // Another counter, another visitor: counted.
    assert_eq!(
        count_visit(&h.app, "about", "192.0.2.1", BROWSER).await,
        (1, 1)
    );
    assert_eq!(
        count_visit(&h.app, "home", "192.0.2.2", BROWSER).await,
        (51, 2)
    );
    // A new UTC day: the visitor counts again.
    h.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        count_visit(&h.app, "home", "192.0.2.1", BROWSER).await,
        (52, 3)
    );
}

async fn concurrent_views_of_one_visitor_stop_exactly_at_the_limit(kind: Kind) {
    let h = harness_configured(kind, None, |settings| {
        settings.limits.views_per_visitor = 5;
    })
    .await;
    let answers = concurrently(12, || {
        let app = h.app.clone();
        async move { visit_as(&app, Method::POST, "/counters/home", "192.0.2.1", BROWSER).await }
    })
    .await;
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    let limited = answers
        .iter()
        .filter(|a| a.header("visit-filtered") == Some("limited"))
        .count();
    assert_eq!(limited, 7);
    assert_eq!(h.counter("home").await, (5, 1));
    assert_eq!(today(&h, Some("home")).await["limited"], 7);
}

async fn the_site_counts_a_person_once_a_day_whatever_they_read(kind: Kind) {
    let h = harness(kind).await;
    for page in ["home", "about", "blog", "contact"] {
        assert_eq!(
            count_visit(&h.app, page, "192.0.2.1", BROWSER).await,
            (1, 1)
        );
    }
    // One person read four pages: four views, one visitor.
    assert_eq!(totals(&h).await, (4, 1, 4));
    let day = today(&h, None).await;
    assert_eq!(
        (day["views"].as_u64(), day["visitors"].as_u64()),
        (Some(4), Some(1))
    );
    // Another person (another browser on the same address) is another visitor.
    count_visit(&h.app, "home", "192.0.2.1", FIREFOX).await;
    assert_eq!(totals(&h).await, (5, 2, 4));
    // The next day the first one is a visitor again; the days keep their own.
    h.clock.advance(Duration::from_secs(24 * 3600));
    count_visit(&h.app, "blog", "192.0.2.1", BROWSER).await;
    count_visit(&h.app, "home", "192.0.2.1", BROWSER).await;
    assert_eq!(totals(&h).await, (7, 3, 4));
    let body = h.get("/totals/days?from=2026-12-02").await.json();
    let days: Vec<(u64, u64)> = body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["views"].as_u64().unwrap(),
                d["visitors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(days, vec![(5, 2), (2, 1)]);
}

async fn the_cap_refuses_a_new_counter_and_existing_ones_keep_counting(kind: Kind) {
    let h = harness_configured(kind, None, |settings| settings.limits.max_counters = 3).await;
    for page in ["a", "b", "c"] {
        count_visit(&h.app, page, "192.0.2.1", BROWSER).await;
    }
    let refused = post_as(&h, "/counters/d", "192.0.2.1", Some(BROWSER)).await;
    refused.assert_problem(StatusCode::FORBIDDEN, "too-many-counters");
    assert_eq!(h.counter("d").await, (0, 0));
    assert_eq!(count_visit(&h.app, "a", "192.0.2.2", BROWSER).await, (2, 2));
    assert_eq!(totals(&h).await.2, 3);
    let names: Vec<String> = h.get("/counters").await.json()["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
}

async fn delete_and_rename_move_a_counter_and_its_days(kind: Kind) {
    let h = harness_configured(kind, None, |settings| settings.limits.max_counters = 2).await;
    count_visit(&h.app, "old", "192.0.2.1", BROWSER).await;
    count_visit(&h.app, "old", "192.0.2.2", BROWSER).await;
    count_visit(&h.app, "gone", "192.0.2.1", BROWSER).await;
    let old = CounterName::parse("old").unwrap();
    let new = CounterName::parse("new").unwrap();
    let gone = CounterName::parse("gone").unwrap();
    let (renamed, taken, missing, deleted, deleted_again) = match (&h.dynamodb, &h.embedded) {
        (Some((_, _, store)), _) => (
            store.rename(&old, &new).await.unwrap(),
            store.rename(&gone, &new).await.unwrap(),
            store.rename(&old, &gone).await.unwrap(),
            store.delete(&gone).await.unwrap(),
            store.delete(&gone).await.unwrap(),
        ),
        (_, Some(store)) => (
            store.rename(&old, &new).await.unwrap(),
            store.rename(&gone, &new).await.unwrap(),
            store.rename(&old, &gone).await.unwrap(),
            store.delete(&gone).await.unwrap(),
            store.delete(&gone).await.unwrap(),
        ),
        _ => unreachable!(),
    };
    assert_eq!(renamed, RenameOutcome::Renamed);
    assert_eq!(taken, RenameOutcome::Taken);
    assert_eq!(missing, RenameOutcome::NoSuchCounter);
    assert!(deleted);
    assert!(!deleted_again);
    assert_eq!(h.counter("new").await, (2, 2));
    assert_eq!(h.counter("old").await, (0, 0));
    assert_eq!(h.counter("gone").await, (0, 0));
    assert_eq!(today(&h, Some("new")).await["views"], 2);
    assert_eq!(today(&h, Some("old")).await["views"], 0);
    assert_eq!(today(&h, Some("gone")).await["views"], 0);
    // The deleted counter freed its place under the cap.
    assert_eq!(totals(&h).await.2, 1);
    assert_eq!(
        count_visit(&h.app, "fresh", "192.0.2.1", BROWSER).await,
        (1, 1)
    );
}

async fn the_list_is_read_in_pages_from_the_index(kind: Kind) {
    let h = harness(kind).await;
    for n in 0..25 {
        count_visit(&h.app, &format!("page-{n:02}"), "192.0.2.1", BROWSER).await;
    }
    count_visit(&h.app, "site", "192.0.2.1", BROWSER).await;
    let store_page = |after: Option<&str>, limit: usize| {
        let after = after.map(|a| CounterName::parse(a).unwrap());
        let h = &h;
        async move {
            let page = match (&h.dynamodb, &h.embedded) {
                (Some((_, _, store)), _) => store.list(after.as_ref(), limit).await.unwrap(),
                (_, Some(store)) => store.list(after.as_ref(), limit).await.unwrap(),
                _ => unreachable!(),
            };
            let names: Vec<String> = page.counters.iter().map(|(n, _)| n.to_string()).collect();
            (names, page.more)
        }
    };
    let (first, more) = store_page(None, 10).await;
    assert_eq!(first.first().map(String::as_str), Some("page-00"));
    assert_eq!((first.len(), more), (10, true));
    let (rest, more) = store_page(Some("page-19"), 10).await;
    assert_eq!(
        rest,
        [
            "page-20", "page-21", "page-22", "page-23", "page-24", "site"
        ]
    );
    assert!(!more);
}

/// A v2 table's counters, once Terraform has added the index in place (DynamoDB Local
/// cannot query an index added to an existing table, so the table here is made with
/// it and holds items as v2 wrote them, without the index's keys).
#[tokio::test]
async fn a_v2_tables_counters_join_the_index_by_reindex_and_are_listed() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    // Counters as version 2 wrote them: no index keys.
    for (id, views) in [
        ("visitorCount", 7),
        ("counter#home", 5),
        ("day#home#2026-12-01", 5),
    ] {
        admin
            .put_item()
            .table_name(table.as_str())
            .item("id", AttributeValue::S(id.to_owned()))
            .item("count", AttributeValue::N(views.to_string()))
            .item("visitors", AttributeValue::N("1".to_owned()))
            .send()
            .await
            .unwrap();
    }
    let store = dynamodb_store(&dynamodb_endpoint(), &table).await;
    // Before: not in the index, so not listed.
    assert!(store.list(None, 10).await.unwrap().counters.is_empty());
    assert_eq!(store.reindex().await.unwrap(), 2);
    let page = store.list(None, 10).await.unwrap();
    let listed: Vec<(String, u64)> = page
        .counters
        .iter()
        .map(|(name, totals)| (name.to_string(), totals.views))
        .collect();
    assert_eq!(listed, [("home".to_owned(), 5), ("site".to_owned(), 7)]);
    // Run again: nothing changes.
    assert_eq!(store.reindex().await.unwrap(), 2);
    let today = visitor_counter::day::SystemClock.today();
    assert_eq!(store.site_totals(today).await.unwrap().counters, 2);
}

#[tokio::test]
async fn a_counter_of_a_v2_table_joins_the_index_at_its_next_visit() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let admin = admin_client().await;
    let table = testkit::dynamodb::fresh_table(&admin, "v2-visit")
        .await
        .unwrap();
    admin
        .put_item()
        .table_name(table.as_str())
        .item("id", AttributeValue::S("counter#home".to_owned()))
        .item("count", AttributeValue::N("5".to_owned()))
        .send()
        .await
        .unwrap();
    let h = harness_configured(Kind::DynamoDb, Some(table), |_| {}).await;
    assert_eq!(
        count_visit(&h.app, "home", "192.0.2.1", BROWSER).await,
        (6, 1)
    );
    let names = h.get("/counters").await.json();
    assert_eq!(names["counters"][0]["name"], "home");
    assert_eq!(totals(&h).await.2, 1);
}

#[tokio::test]
async fn the_owners_password_guards_the_dashboard_and_the_list_only() {
    let h = harness_configured(Kind::Embedded, None, |settings| {
        settings.dashboard_password = Some(Password::new("correct horse"));
    })
    .await;
    count_visit(&h.app, "home", "192.0.2.1", BROWSER).await;
    for path in ["/dashboard", "/counters"] {
        let refused = h.get(path).await;
        refused.assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(
            refused.header("www-authenticate"),
            Some(r#"Basic realm="visitor-counter", charset="UTF-8""#)
        );
        let wrong = call(
            &h.app,
            request(Method::GET, path)
                // "owner:correct horsE"
                .header("authorization", "Basic b3duZXI6Y29ycmVjdCBob3JzRQ==")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let admitted = call(
            &h.app,
            request(Method::GET, path)
                // "anyone:correct horse"
                .header("authorization", "Basic YW55b25lOmNvcnJlY3QgaG9yc2U=")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(admitted.status, StatusCode::OK, "{path}");
    }
    // What embeds read stays public.
    for path in [
        "/counters/home",
        "/counters/home/days",
        "/counters/home/badge.svg",
        "/totals",
        "/totals/days",
        "/count",
    ] {
        assert_eq!(h.get(path).await.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn head_answers_wherever_get_does_with_no_body() {
    let h = harness(Kind::Embedded).await;
    count_visit(&h.app, "home", "192.0.2.1", BROWSER).await;
    for path in [
        "/",
        "/count",
        "/totals",
        "/totals/days",
        "/counters",
        "/counters/home",
        "/counters/home/days",
        "/counters/home/badge.svg",
        "/counters/home/shields.json",
        "/counter.js",
        "/dashboard",
    ] {
        let get = h.get(path).await;
        let head = call(
            &h.app,
            request(Method::HEAD, path).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(head.status, get.status, "{path}");
        assert!(head.body.is_empty(), "{path}: HEAD has a body");
        for name in ["content-type", "cache-control"] {
            assert_eq!(head.header(name), get.header(name), "{path}: {name}");
        }
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "{path}"
        );
    }
    // HEAD counts nothing.
    assert_eq!(h.counter("home").await, (1, 1));
}

#[tokio::test]
async fn the_root_points_to_the_dashboard_and_dashboard_slash_redirects() {
    let h = harness(Kind::Embedded).await;
    let root = h.get("/").await;
    assert_eq!(root.status, StatusCode::OK);
    let body = root.json();
    assert_eq!(body["links"]["dashboard"], "/dashboard");
    assert_eq!(body["links"]["script"], "/counter.js");
    let slash = h.get("/dashboard/").await;
    assert_eq!(slash.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(slash.header("location"), Some("/dashboard"));
}

#[tokio::test]
async fn a_foreign_post_to_a_path_without_post_is_that_paths_405() {
    let h = harness(Kind::Embedded).await;
    for path in [
        "/counter.js",
        "/counters",
        "/dashboard",
        "/totals",
        "/counters/home/days",
    ] {
        let answer = call(
            &h.app,
            request(Method::POST, path)
                .header("origin", FOREIGN_ORIGIN)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
    let counting = call(
        &h.app,
        request(Method::POST, "/counters/home")
            .header("origin", FOREIGN_ORIGIN)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    counting.assert_problem(StatusCode::FORBIDDEN, "origin-not-allowed");
}

#[tokio::test]
async fn no_route_scans_the_table_every_call_is_among_the_stores_operations() {
    use visitor_counter::store::dynamodb::OPERATIONS;
    let proxy = testkit::proxy::Proxy::start(&dynamodb_endpoint())
        .await
        .unwrap();
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let store = dynamodb_store(&proxy.endpoint(), &table).await;
    let app = visitor_counter::app::app(std::sync::Arc::new(store), origins());
    // Every route, every method that reads or counts, keyed and not, a bot's too.
    for path in ["/count", "/counters/home", "/counters/about"] {
        visit_as(&app, Method::POST, path, "192.0.2.1", BROWSER).await;
        visit_as(&app, Method::POST, path, "192.0.2.2", "curl/8.5.0").await;
        let keyed = call(
            &app,
            request(Method::POST, path)
                .header("idempotency-key", "k-1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert!(keyed.status.is_success() || keyed.status == StatusCode::UNPROCESSABLE_ENTITY);
    }
    for path in [
        "/",
        "/count",
        "/totals",
        "/totals/days",
        "/counters",
        "/counters?after=about",
        "/counters/home",
        "/counters/home/days?from=2026-01-01",
        "/counters/home/badge.svg",
        "/counters/home/shields.json",
        "/counter.js",
        "/dashboard",
    ] {
        for method in [Method::GET, Method::HEAD] {
            let answer = call(&app, request(method, path).body(Body::empty()).unwrap()).await;
            assert!(answer.status.is_success(), "{path}: {}", answer.status);
        }
    }
    let called = proxy.operations();
    // The recording sees the service's calls: reads by key and by the index, writes.
    for expected in [
        "BatchGetItem",
        "GetItem",
        "Query",
        "TransactWriteItems",
        "UpdateItem",
    ] {
        assert!(
            called.contains(expected),
            "{expected} not seen in {called:?}"
        );
    }
    assert!(
        !called.contains("Scan"),
        "a route scanned the table: {called:?}"
    );
    let known: std::collections::BTreeSet<String> =
        OPERATIONS.iter().map(|op| (*op).to_owned()).collect();
    assert!(
        called.is_subset(&known),
        "calls outside the store's OPERATIONS: {:?}",
        called.difference(&known).collect::<Vec<_>>()
    );
}
