//! Counters v2 (`/counters`, `/counters/{name}`, `/counters/{name}/days`, `/count` as
//! `site`), every row of the route table, on both stores: each test runs once on the
//! embedded store and once on DynamoDB Local.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use serde_json::json;
use visitor_counter::app::app;
use visitor_counter::names::AllowedCounters;
use visitor_counter::store::EmbeddedStore;
use visitor_counter::store::dynamodb::{COUNT_ATTRIBUTE, COUNTER_ID, HASH_KEY};

use crate::helpers::*;

on_both_stores!(
    a_never_counted_counter_reads_zeros_and_nothing_is_written,
    a_post_counts_a_view_and_a_visitor_once_per_visitor_and_day,
    count_is_the_counter_site,
    concurrent_posts_on_one_counter_get_distinct_consecutive_views,
    concurrent_first_visits_of_one_visitor_count_one_visitor,
    days_follow_the_range_rules,
    a_day_boundary_starts_new_days_and_counts_visitors_again,
    the_list_is_sorted_by_name_and_paged_past_1000,
    invalid_names_are_unknown_counters_on_every_route,
    counters_limits_which_names_exist,
    reads_never_write,
);

async fn a_never_counted_counter_reads_zeros_and_nothing_is_written(kind: Kind) {
    let h = harness(kind).await;
    let empty = h.everything().await;
    assert_eq!(h.counter("home").await, (0, 0));
    let days = h.days("home", "").await;
    assert_eq!(days.len(), 30);
    assert!(
        days.iter()
            .all(|(_, views, visitors)| (*views, *visitors) == (0, 0))
    );
    assert_eq!(h.list("").await, json!({ "counters": [] }));
    assert_eq!(h.everything().await, empty, "a read wrote something");
    assert_eq!(count_visit(&h.app, "home", "192.0.2.1", "A").await, (1, 1));
    assert_eq!(h.counter("home").await, (1, 1));
}

async fn a_post_counts_a_view_and_a_visitor_once_per_visitor_and_day(kind: Kind) {
    let h = harness(kind).await;
    let app = &h.app;
    assert_eq!(
        count_visit(app, "home", "192.0.2.1", "Firefox").await,
        (1, 1)
    );
    assert_eq!(
        count_visit(app, "home", "192.0.2.1", "Firefox").await,
        (2, 1)
    );
    assert_eq!(
        count_visit(app, "home", "192.0.2.1", "Firefox").await,
        (3, 1)
    );
    // Another address, or another User-Agent, is another visitor.
    assert_eq!(
        count_visit(app, "home", "192.0.2.2", "Firefox").await,
        (4, 2)
    );
    assert_eq!(
        count_visit(app, "home", "192.0.2.1", "Chrome").await,
        (5, 3)
    );
    assert_eq!(
        count_visit(app, "home", "2001:db8::1", "Firefox").await,
        (6, 4)
    );
    // Counters are separate: the same visitor is new on another one.
    assert_eq!(
        count_visit(app, "about", "192.0.2.1", "Firefox").await,
        (1, 1)
    );
    assert_eq!(h.counter("home").await, (6, 4));
    assert_eq!(h.counter("about").await, (1, 1));
    // A POST with no known client (none in-process) counts the view, not a visitor.
    let answer = call(
        app,
        request(Method::POST, "/counters/home")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.totals("home"), (7, 4));
    // The day holds the same numbers.
    let days = h.days("home", "").await;
    assert_eq!(days.last().unwrap(), &(TODAY.to_owned(), 7, 4));
}

async fn count_is_the_counter_site(kind: Kind) {
    let h = harness(kind).await;
    let app = &h.app;
    let answer = visit_as(app, Method::POST, "/count", "192.0.2.1", "A").await;
    assert_eq!(answer.count(&schemas().post_count), 1);
    assert_eq!(h.counter("site").await, (1, 1));
    assert_eq!(count_visit(app, "site", "192.0.2.1", "A").await, (2, 1));
    assert_eq!(get(app).await.count(&schemas().get_count), 2);
    let answer = visit_as(app, Method::POST, "/count", "192.0.2.2", "A").await;
    assert_eq!(answer.count(&schemas().post_count), 3);
    assert_eq!(h.counter("site").await, (3, 2));
    assert_eq!(
        h.list("").await,
        json!({ "counters": [{ "name": "site", "views": 3, "visitors": 2 }] })
    );
    assert_eq!(
        h.days("site", "").await.last().unwrap(),
        &(TODAY.to_owned(), 3, 2)
    );
}

async fn concurrent_posts_on_one_counter_get_distinct_consecutive_views(kind: Kind) {
    // All at once, on one new counter, from distinct visitors. DynamoDB Local on two
    // cores serialises its writes: 200 visits (1,200 requests) end near the 2.5 s
    // deadline, 100 well within it.
    let posts = match kind {
        Kind::Embedded => 200,
        Kind::DynamoDb => 100,
    };
    let h = harness(kind).await;
    let app = h.app.clone();
    let answers = concurrently(posts, move || {
        let app = app.clone();
        async move {
            let n = rand_suffix();
            visit_as(
                &app,
                Method::POST,
                "/counters/home",
                &format!("10.0.{}.{}", n % 200, n % 250),
                "A",
            )
            .await
        }
    })
    .await;
    let views = answers.iter().map(|a| a.totals("home").0).collect();
    assert_consecutive(views, 1);
    let (views, _) = h.counter("home").await;
    assert_eq!(views, posts as u64);
    assert_eq!(h.days("home", "").await.last().unwrap().1, posts as u64);
}

async fn concurrent_first_visits_of_one_visitor_count_one_visitor(kind: Kind) {
    let h = harness(kind).await;
    let app = h.app.clone();
    let answers = concurrently(50, move || {
        let app = app.clone();
        async move {
            visit_as(
                &app,
                Method::POST,
                "/counters/home",
                "192.0.2.9",
                "Same/1.0",
            )
            .await
        }
    })
    .await;
    let views: Vec<u64> = answers.iter().map(|a| a.totals("home").0).collect();
    assert_consecutive(views, 1);
    assert_eq!(h.counter("home").await, (50, 1));
    assert_eq!(
        h.days("home", "").await.last().unwrap(),
        &(TODAY.to_owned(), 50, 1)
    );
}

async fn days_follow_the_range_rules(kind: Kind) {
    let h = harness(kind).await;
    count_visit(&h.app, "home", "192.0.2.1", "A").await;
    count_visit(&h.app, "home", "192.0.2.2", "A").await;

    // Default: the 30 dates ending today, oldest first, zeros included.
    let days = h.days("home", "").await;
    assert_eq!(days.len(), 30);
    assert_eq!(days[0].0, "2026-11-03");
    assert_eq!(days[29], (TODAY.to_owned(), 2, 2));
    assert!(days[..29].iter().all(|d| (d.1, d.2) == (0, 0)));
    let dates: Vec<&String> = days.iter().map(|d| &d.0).collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);

    // Only `from`: up to today. Only `to`: the 30 dates ending there.
    let days = h.days("home", "?from=2026-11-28").await;
    assert_eq!(days.first().unwrap().0, "2026-11-28");
    assert_eq!(days.last().unwrap(), &(TODAY.to_owned(), 2, 2));
    assert_eq!(days.len(), 5);
    let days = h.days("home", "?to=2026-11-15").await;
    assert_eq!(days.len(), 30);
    assert_eq!(days[0].0, "2026-10-17");
    assert_eq!(days[29].0, "2026-11-15");
    // One date; a range across a year and a leap day; exactly 366 dates.
    assert_eq!(
        h.days("home", "?from=2026-12-02&to=2026-12-02").await,
        vec![(TODAY.to_owned(), 2, 2)]
    );
    let days = h.days("home", "?from=2023-12-30&to=2024-03-01").await;
    assert_eq!(days.len(), 63);
    assert!(days.iter().any(|d| d.0 == "2024-02-29"));
    let days = h.days("home", "?from=2025-12-02&to=2026-12-02").await;
    assert_eq!(days.len(), 366);
    assert_eq!(days.last().unwrap(), &(TODAY.to_owned(), 2, 2));

    for bad in [
        "?from=2025-12-01&to=2026-12-02", // 367 dates
        "?from=2026-12-02&to=2026-12-01", // from after to
        "?to=2026-12-03",                 // after today
        "?from=2026-12-03",               // from after to (today)
        "?from=2026-02-30",
        "?from=2026-1-05",
        "?from=",
        "?to=yesterday",
        "?from=2026-11-01&from=2026-11-02",
        "?to=2026-12-02T00:00:00Z",
    ] {
        h.get(&format!("/counters/home/days{bad}"))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid-query");
    }
    // Unknown parameters are ignored; percent-encoded dates are dates.
    assert_eq!(h.days("home", "?utm_source=x").await.len(), 30);
    assert_eq!(h.days("home", "?from=2026%2D12%2D01").await.len(), 2);
}

async fn a_day_boundary_starts_new_days_and_counts_visitors_again(kind: Kind) {
    let h = harness(kind).await;
    // 23:59:30 on 2026-12-02, then 00:00:30 on 2026-12-03.
    h.clock.advance(Duration::from_secs(14 * 3600 - 30));
    assert_eq!(count_visit(&h.app, "home", "192.0.2.1", "A").await, (1, 1));
    assert_eq!(count_visit(&h.app, "home", "192.0.2.1", "A").await, (2, 1));
    h.clock.advance(Duration::from_secs(60));
    assert_eq!(count_visit(&h.app, "home", "192.0.2.1", "A").await, (3, 2));
    assert_eq!(count_visit(&h.app, "home", "192.0.2.1", "A").await, (4, 2));
    let days = h.days("home", "?from=2026-12-02").await;
    assert_eq!(
        days,
        vec![
            ("2026-12-02".to_owned(), 2, 1),
            ("2026-12-03".to_owned(), 2, 1),
        ]
    );
    // Today moved with the clock: the default range ends on the new day.
    assert_eq!(h.days("home", "").await.last().unwrap().0, "2026-12-03");
    h.get("/counters/home/days?to=2026-12-04")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid-query");
}

async fn the_list_is_sorted_by_name_and_paged_past_1000(kind: Kind) {
    let h = harness(kind).await;
    // 1,002 counters, counted in an order that is not theirs.
    let mut names: Vec<String> = (0..1001)
        .map(|i| format!("page-{:04}", (i * 7919) % 1001))
        .collect();
    names.push("about".into());
    let app = h.app.clone();
    let queue = Arc::new(std::sync::Mutex::new(names.clone()));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (app, queue) = (app.clone(), Arc::clone(&queue));
            tokio::spawn(async move {
                loop {
                    let Some(name) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let answer = call(
                        &app,
                        request(Method::POST, &format!("/counters/{name}"))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await;
                    assert_eq!(answer.status, StatusCode::OK);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    count_visit(&h.app, "about", "192.0.2.1", "A").await;
    names.sort();

    let first = h.list("").await;
    let page: Vec<&str> = first["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(page.len(), 1000);
    assert_eq!(
        page,
        names[..1000].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        first["counters"][0],
        json!({ "name": "about", "views": 2, "visitors": 1 })
    );
    assert_eq!(first["next"], names[999]);
    let second = h.list(&format!("?after={}", names[999])).await;
    let rest: Vec<&str> = second["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        names[1000..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(second.get("next").is_none(), "{second}");
    // `after` a name that is not a counter still pages by name.
    let after = h.list("?after=page-0999").await;
    assert_eq!(after["counters"].as_array().unwrap().len(), 1);
    for bad in ["?after=", "?after=Page", "?after=a&after=b"] {
        h.get(&format!("/counters{bad}"))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid-query");
    }
}

async fn invalid_names_are_unknown_counters_on_every_route(kind: Kind) {
    let h = harness(kind).await;
    let before = h.everything().await;
    let long = "a".repeat(65);
    for name in [
        "Home",
        "-a",
        "a-",
        ".a",
        "a.",
        "_a",
        "a_",
        "a%20b",
        "%2e%2e",
        "..",
        "a%2Fb",
        "%C3%A9",
        "a%00",
        "caf%C3%A9",
        "%FF",
        long.as_str(),
        "HOME",
        "a+b",
        "a~b",
    ] {
        for path in [
            format!("/counters/{name}"),
            format!("/counters/{name}/days"),
        ] {
            for method in [Method::GET, Method::POST, Method::DELETE] {
                let answer = visit_as(&h.app, method.clone(), &path, "192.0.2.1", "A").await;
                answer.assert_problem(StatusCode::NOT_FOUND, "unknown-counter");
            }
            // A preflight is answered whatever the name, so that a page can read the
            // request's own 404.
            let preflight = visit_as(&h.app, Method::OPTIONS, &path, "192.0.2.1", "A").await;
            assert_eq!(preflight.status, StatusCode::NO_CONTENT, "{path}");
        }
    }
    // 64 characters is a name; percent-encoded valid names are the names themselves.
    let longest = "b".repeat(64);
    assert_eq!(
        count_visit(&h.app, &longest, "192.0.2.1", "A").await,
        (1, 1)
    );
    let answer = visit_as(&h.app, Method::POST, "/counters/ho%6De", "192.0.2.1", "A").await;
    assert_eq!(answer.totals("home"), (1, 1));
    let after = h.everything().await;
    assert_ne!(after, before);
    // Methods: 405 with the route's own Allow.
    for (path, allow) in [
        ("/counters/home", "GET, HEAD, POST, OPTIONS"),
        ("/counters/home/days", "GET, HEAD, OPTIONS"),
        ("/counters", "GET, HEAD, OPTIONS"),
        ("/count", "GET, HEAD, POST, OPTIONS"),
    ] {
        for method in [Method::PUT, Method::DELETE, Method::PATCH] {
            let answer = call(
                &h.app,
                request(method.clone(), path).body(Body::empty()).unwrap(),
            )
            .await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
        }
    }
    for method in [Method::POST, Method::PUT] {
        let answer = call(
            &h.app,
            request(method, "/counters").body(Body::empty()).unwrap(),
        )
        .await;
        answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
    }
    for path in [
        "/counters/",
        "/counters/home/",
        "/counters/home/extra",
        "/counters/home/days/x",
    ] {
        h.get(path)
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not-found");
    }
}

async fn counters_limits_which_names_exist(kind: Kind) {
    let allowed = AllowedCounters::parse("home,blog-*").unwrap();
    let h = harness_with(kind, allowed, None).await;
    assert_eq!(count_visit(&h.app, "home", "192.0.2.1", "A").await, (1, 1));
    assert_eq!(
        count_visit(&h.app, "blog-first", "192.0.2.1", "A").await,
        (1, 1)
    );
    assert_eq!(count_visit(&h.app, "site", "192.0.2.1", "A").await, (1, 1));
    let before = h.everything().await;
    for name in ["about", "blog", "homes", "blog_x"] {
        for path in [
            format!("/counters/{name}"),
            format!("/counters/{name}/days"),
        ] {
            for method in [Method::GET, Method::POST] {
                visit_as(&h.app, method, &path, "192.0.2.1", "A")
                    .await
                    .assert_problem(StatusCode::NOT_FOUND, "unknown-counter");
            }
        }
    }
    assert_eq!(
        h.everything().await,
        before,
        "a refused name wrote something"
    );
    let listed: BTreeSet<String> = h.list("").await["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed,
        ["blog-first", "home", "site"].map(String::from).into()
    );
}

async fn reads_never_write(kind: Kind) {
    let h = harness(kind).await;
    count_visit(&h.app, "home", "192.0.2.1", "A").await;
    count_visit(&h.app, "about", "192.0.2.1", "A").await;
    let before = h.everything().await;
    for path in [
        "/counters/home",
        "/counters/never",
        "/counters/home/days",
        "/counters/never/days?from=2026-01-01",
        "/counters",
        "/counters?after=a",
        "/count",
    ] {
        for _ in 0..3 {
            let answer = visit_as(&h.app, Method::GET, path, "192.0.2.7", "Reader").await;
            assert_eq!(answer.status, StatusCode::OK, "{path}");
        }
    }
    for path in [
        "/counters/home",
        "/counters",
        "/counters/home/days",
        "/count",
    ] {
        let answer = visit_as(&h.app, Method::OPTIONS, path, "192.0.2.7", "Reader").await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(h.everything().await, before, "a read changed the store");
}

/// A number that differs between calls, for spreading visitors over addresses.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn a_v1_dynamodb_table_keeps_its_count_as_site() {
    // A table as v1 left it: one item, id = visitorCount, count = 41, nothing else.
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    admin
        .put_item()
        .table_name(table.as_str())
        .item(HASH_KEY, AttributeValue::S(COUNTER_ID.into()))
        .item(COUNT_ATTRIBUTE, AttributeValue::N("41".into()))
        .send()
        .await
        .unwrap();
    let h = harness_with(Kind::DynamoDb, AllowedCounters::Any, Some(table.clone())).await;
    assert_eq!(get(&h.app).await.count(&schemas().get_count), 41);
    assert_eq!(h.counter("site").await, (41, 0));
    let answer = visit_as(&h.app, Method::POST, "/count", "192.0.2.1", "A").await;
    assert_eq!(answer.count(&schemas().post_count), 42);
    assert_eq!(h.counter("site").await, (42, 1));
    assert_eq!(
        h.list("").await,
        json!({ "counters": [{ "name": "site", "views": 42, "visitors": 1 }] })
    );
    // The same item, counting on: no new counter item for site.
    let item = stored_item(&admin, &table).await.unwrap();
    assert_eq!(item[COUNT_ATTRIBUTE], AttributeValue::N("42".into()));
    let ids: BTreeSet<String> = scan_all(&admin, &table)
        .await
        .iter()
        .filter_map(|item| match item.get(HASH_KEY) {
            Some(AttributeValue::S(id))
                if !id.starts_with("visitor#") && !id.starts_with("site#") =>
            {
                Some(id.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        ["day#site#2026-12-02", "registry", "salt", "visitorCount"]
            .map(String::from)
            .into()
    );
}

#[tokio::test]
async fn a_v1_embedded_file_keeps_its_count_as_site() {
    // A file as v1 left it: the `counters` table with visitorCount = 7.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let definition: redb::TableDefinition<&str, u64> =
                redb::TableDefinition::new("counters");
            let mut table = txn.open_table(definition).unwrap();
            table.insert("visitorCount", 7).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = EmbeddedStore::open(&path).unwrap();
    let app = app(Arc::new(store), origins());
    assert_eq!(get(&app).await.count(&schemas().get_count), 7);
    assert_eq!(
        get_path(&app, "/counters/site").await.totals("site"),
        (7, 0)
    );
    assert_eq!(post(&app).await.count(&schemas().post_count), 8);
    assert_eq!(count_visit(&app, "site", "192.0.2.1", "A").await, (9, 1));
}

/// The round trips and write units of each operation, as DynamoDB Local reports them
/// (the figures docs/ and the store's docs state).
#[tokio::test]
async fn each_operation_costs_what_the_docs_say() {
    let h = metered_harness(None).await;

    // The first visit of the day in this process reads the salt (missing) and makes it,
    // and reads whether the counter is in the index (it is not: the registry's claim
    // and the counter's index keys put it there, two writes).
    h.calls();
    count_visit(&h.app, "home", "192.0.2.1", "A").await;
    let first = h.calls();
    assert_eq!(first.calls_of("GetItem"), 2, "{first:?}");
    assert_eq!(first.calls_of("TransactWriteItems"), 0, "{first:?}");
    assert_eq!(first.calls_of("UpdateItem"), 8, "{first:?}");

    // Every later POST: the counter's marker (it counts every view, for the limit) and
    // the site's marker (skipped when this process wrote it today), then the counter,
    // its day and the site's day: 2 in sequence, 1 write unit each. A counter this
    // process has not seen in the index is read once, and put there if it is new.
    // A new counter's index keys also write the index: 2 units for that write.
    for (address, counter, what, reads, writes, transactions, units, totals) in [
        ("192.0.2.2", "home", "a new visitor", 0, 5, 0, 5.0, (2, 2)),
        ("192.0.2.2", "home", "a repeat view", 0, 4, 0, 4.0, (3, 2)),
        (
            "192.0.2.2",
            "about",
            "the same visitor on a new counter",
            1,
            6,
            0,
            7.0,
            (1, 1),
        ),
        (
            "192.0.2.2",
            "home",
            "a repeat view again",
            0,
            4,
            0,
            4.0,
            (4, 2),
        ),
    ] {
        assert_eq!(
            count_visit(&h.app, counter, address, "A").await,
            totals,
            "{what}"
        );
        let post = h.calls();
        assert_eq!(post.calls_of("GetItem"), reads, "{what}: {post:?}");
        assert_eq!(post.calls_of("UpdateItem"), writes, "{what}: {post:?}");
        assert_eq!(
            post.calls_of("TransactWriteItems"),
            transactions,
            "{what}: {post:?}"
        );
        assert_eq!(
            post.total_calls(),
            reads + writes + transactions,
            "{what}: {post:?}"
        );
        assert_eq!(post.write_units, Some(units), "{what}: {post:?}");
        eprintln!("POST, {what}: {post:?}");
    }
    // A restarted process reads the day's salt once (it exists now) and whether the
    // counter is in the index, then as above.
    let other = metered_harness(Some(h.dynamodb.as_ref().unwrap().1.clone())).await;
    other.calls();
    count_visit(&other.app, "home", "192.0.2.3", "A").await;
    let restarted = other.calls();
    assert_eq!(restarted.calls_of("GetItem"), 2, "{restarted:?}");
    assert_eq!(restarted.calls_of("UpdateItem"), 5, "{restarted:?}");
    assert_eq!(restarted.write_units, Some(5.0), "{restarted:?}");
    // A visitor the first process marked is not new to the second either; the second
    // has not written that site marker, so it writes it (and learns it is not new).
    assert_eq!(
        count_visit(&other.app, "home", "192.0.2.2", "A").await,
        (6, 3)
    );
    let repeat = other.calls();
    assert_eq!(repeat.calls_of("UpdateItem"), 5, "{repeat:?}");

    h.calls();
    h.counter("home").await;
    let read = h.calls();
    assert_eq!(
        (
            read.calls_of("GetItem"),
            read.total_calls(),
            read.write_units
        ),
        (1, 1, None),
        "{read:?}"
    );
    eprintln!("GET: {read:?}");

    // The longest first: the finished days a read has read are kept, and the shorter
    // ranges then read only their last two days (still one BatchGetItem).
    for (query, batches) in [("?from=2025-12-02", 4), ("?from=2026-08-25", 1), ("", 1)] {
        h.days("home", query).await;
        let days = h.calls();
        assert_eq!(days.calls_of("BatchGetItem"), batches, "{query}: {days:?}");
        assert_eq!(days.total_calls(), batches, "{query}: {days:?}");
        assert_eq!(days.write_units, None, "{query}: {days:?}");
        eprintln!("days{query}: {days:?}");
    }

    h.calls();
    h.list("").await;
    let list = h.calls();
    assert_eq!(
        (list.calls_of("Query"), list.write_units),
        (1, None),
        "{list:?}"
    );
    eprintln!("list: {list:?}");
}
