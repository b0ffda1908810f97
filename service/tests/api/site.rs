//! What a site shows, through the app: the badges (`badge.svg`, `shields.json`), the
//! embed script (`/counter.js`) and the dashboard, with their media types, caching,
//! policies and errors; the dashboard's periods, its CSV, its bounded reads and its
//! cache. Their behaviour in a real browser is `browser::*`.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use testkit::proxy::Proxy;
use visitor_counter::app::{Settings, app};
use visitor_counter::names::AllowedCounters;
use visitor_counter::store::EmbeddedStore;

use crate::helpers::*;

/// Three views of `home`, from two visitors.
async fn counted_app() -> EmbeddedApp {
    let t = embedded_app();
    count_visit(&t.app, "home", "192.0.2.1", "a").await;
    count_visit(&t.app, "home", "192.0.2.1", "a").await;
    count_visit(&t.app, "home", "192.0.2.2", "b").await;
    t
}

#[tokio::test]
async fn a_badge_is_an_svg_of_the_number_revalidated_and_unable_to_run_script() {
    let t = counted_app().await;
    let answer = get_path(&t.app, "/counters/home/badge.svg").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), Some("image/svg+xml"));
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    assert_eq!(
        answer.header("content-security-policy"),
        Some("default-src 'none'; style-src 'unsafe-inline'")
    );
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    let svg = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(svg.contains("<title>views: 3</title>"), "{svg}");

    let visitors = get_path(
        &t.app,
        "/counters/home/badge.svg?metric=visitors&label=people&style=flat-square&color=%23ABC",
    )
    .await;
    let svg = String::from_utf8(visitors.body.to_vec()).unwrap();
    assert!(svg.contains("<title>people: 2</title>"), "{svg}");
    assert!(svg.contains("fill=\"#abc\""), "{svg}");
    // Unknown parameters are ignored.
    let extra = get_path(&t.app, "/counters/home/badge.svg?cache=bust123").await;
    assert_eq!(extra.status, StatusCode::OK);
}

#[tokio::test]
async fn shields_json_is_the_endpoint_schema_and_never_cached() {
    let t = counted_app().await;
    let shields = schema("shields.json");
    let answer = get_path(&t.app, "/counters/home/shields.json").await;
    let body = answer.body(&shields);
    assert_eq!(
        body,
        serde_json::json!({"schemaVersion": 1, "label": "views", "message": "3", "color": "blue"})
    );
    let answer = get_path(
        &t.app,
        "/counters/home/shields.json?metric=visitors&label=&style=flat-square&color=4c1",
    )
    .await;
    assert_eq!(
        answer.body(&shields),
        serde_json::json!({"schemaVersion": 1, "label": "", "message": "2", "color": "4c1", "style": "flat-square"})
    );
}

#[tokio::test]
async fn a_never_counted_badge_shows_zero_and_writes_nothing() {
    let t = embedded_app();
    for path in ["/counters/fresh/badge.svg", "/counters/fresh/shields.json"] {
        assert_eq!(
            get_path(&t.app, path).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    let svg = get_path(&t.app, "/counters/fresh/badge.svg").await;
    assert!(String::from_utf8_lossy(&svg.body).contains("<title>views: 0</title>"));
    let list = get_path(&t.app, "/counters")
        .await
        .body(&schemas().counters);
    assert_eq!(list["counters"], serde_json::json!([]), "{list}");
}

#[tokio::test]
async fn bad_badge_parameters_are_400_problems_and_bad_names_404() {
    let t = counted_app().await;
    let long = "x".repeat(33);
    for suffix in ["badge.svg", "shields.json"] {
        for query in [
            "metric=hits".to_owned(),
            "style=plastic".to_owned(),
            "color=purple".to_owned(),
            "color=12345".to_owned(),
            format!("label={long}"),
            "label=a%0Ab".to_owned(),
            "metric=views&metric=visitors".to_owned(),
        ] {
            let answer = get_path(&t.app, &format!("/counters/home/{suffix}?{query}")).await;
            answer.assert_problem(StatusCode::BAD_REQUEST, "invalid-query");
        }
        for name in ["Home", "-x", "a%2Fb"] {
            get_path(&t.app, &format!("/counters/{name}/{suffix}"))
                .await
                .assert_problem(StatusCode::NOT_FOUND, "unknown-counter");
        }
        let post = call(
            &t.app,
            request(Method::POST, &format!("/counters/home/{suffix}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        post.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
        assert_eq!(post.header("allow"), Some("GET, HEAD, OPTIONS"));
    }
    // Nothing was counted by any of it.
    assert_eq!(
        get_path(&t.app, "/counters/home").await.totals("home"),
        (3, 2)
    );
}

#[tokio::test]
async fn badges_follow_counters() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("c.redb")).unwrap();
    let settings = Settings {
        counters: AllowedCounters::parse("home").unwrap(),
        ..Settings::default()
    };
    let app = app(Arc::new(store), settings);
    assert_eq!(
        get_path(&app, "/counters/home/badge.svg").await.status,
        StatusCode::OK
    );
    get_path(&app, "/counters/about/badge.svg")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "unknown-counter");
    get_path(&app, "/counters/about/shields.json")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "unknown-counter");
}

#[tokio::test]
async fn the_embed_script_is_javascript_cacheable_for_an_hour() {
    let t = embedded_app();
    let answer = get_path(&t.app, "/counter.js").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(answer.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        answer.header("cross-origin-resource-policy"),
        Some("cross-origin")
    );
    let script = std::fs::read(contracts_dir().join("../service/assets/counter.js")).unwrap();
    assert_eq!(answer.body.as_ref(), script.as_slice());
    assert!(script.is_ascii(), "served to pages in any encoding");
    assert!(script.len() < 10 * 1024, "the README says under 10 KB");
    for method in [Method::POST, Method::PUT, Method::OPTIONS, Method::DELETE] {
        let answer = call(
            &t.app,
            request(method.clone(), "/counter.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        answer.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
        assert_eq!(answer.header("allow"), Some("GET, HEAD"), "{method}");
    }
}

#[tokio::test]
async fn the_dashboard_is_one_script_less_page_of_every_counter() {
    let t = counted_app().await;
    count_visit(&t.app, "blog.first-post", "192.0.2.1", "a").await;
    let answer = get_path(&t.app, "/dashboard").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let policy = answer.header("content-security-policy").unwrap();
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
    let html = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(!html.contains("<script"), "{html}");
    // The most viewed first.
    let home = html.find("<code>home</code>").unwrap();
    let post = html.find("<code>blog.first-post</code>").unwrap();
    assert!(home < post, "{html}");
    assert!(
        html.contains(
            "<code>home</code></th><td class=\"number\">3</td><td class=\"number\">2</td>"
        ),
        "{html}"
    );
    assert_eq!(html.matches("<svg class=\"spark\"").count(), 2);
    // The whole site's numbers, from its own days: two people.
    assert!(html.contains("id=\"site-views\">4</span>"), "{html}");
    assert!(html.contains("id=\"site-visitors\">2</span>"), "{html}");
    let put = call(
        &t.app,
        request(Method::PUT, "/dashboard")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    put.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
    assert_eq!(put.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn dashboard_off_is_a_404_for_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("c.redb")).unwrap();
    let settings = Settings {
        dashboard: false,
        ..Settings::default()
    };
    let app = app(Arc::new(store), settings);
    for method in [Method::GET, Method::POST, Method::OPTIONS] {
        call(
            &app,
            request(method, "/dashboard").body(Body::empty()).unwrap(),
        )
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not-found");
    }
    // The rest is served as ever.
    assert_eq!(get_path(&app, "/counter.js").await.status, StatusCode::OK);
}

#[tokio::test]
async fn dashboard_off_in_the_binary() {
    let (server, _dir) = embedded_server_with(&[("DASHBOARD", "off")]);
    let answer = http_client()
        .get(server.url("/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let (server, _dir) = embedded_server();
    let answer = http_client()
        .get(server.url("/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn a_store_that_fails_is_a_problem_on_every_new_route() {
    let app = failing_app(|| visitor_counter::store::StoreError::Unavailable("down".into()));
    for path in [
        "/counters/home/badge.svg",
        "/counters/home/shields.json",
        "/dashboard",
    ] {
        let answer = get_path(&app, path).await;
        answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
        assert_eq!(answer.header("retry-after"), Some("1"), "{path}");
    }
}

#[tokio::test]
async fn a_dashboard_period_it_cannot_show_is_a_400_invalid_query() {
    let t = counted_app().await;
    let today = visitor_counter::day::Day::of(std::time::SystemTime::now());
    for query in [
        "period=0".to_owned(),
        "period=367".to_owned(),
        "period=week".to_owned(),
        "period=+7".to_owned(),
        "period=7&period=30".to_owned(),
        format!("period=7&from={}", today.plus(-3)),
        format!("period=7&to={today}"),
        "from=2026-02-30".to_owned(),
        format!("from={today}&to={}", today.plus(-1)),
        format!("to={}", today.plus(1)),
        format!("from={}", today.plus(-366)),
        "from=".to_owned(),
        "format=xml".to_owned(),
        "format=csv&format=html".to_owned(),
    ] {
        let answer = get_path(&t.app, &format!("/dashboard?{query}")).await;
        answer.assert_problem(StatusCode::BAD_REQUEST, "invalid-query");
    }
    for query in [
        "period=1".to_owned(),
        "period=366".to_owned(),
        format!("from={}", today.plus(-365)),
        format!("from={today}&to={today}"),
        "format=html".to_owned(),
        "format=csv&period=90".to_owned(),
        "unknown=ignored".to_owned(),
    ] {
        let answer = get_path(&t.app, &format!("/dashboard?{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}");
    }
}

#[tokio::test]
async fn the_dashboard_csv_is_a_download_of_the_period() {
    let t = counted_app().await;
    let today = visitor_counter::day::Day::of(std::time::SystemTime::now());
    let answer = get_path(&t.app, "/dashboard?period=7&format=csv").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("content-type"),
        Some("text/csv; charset=utf-8; header=present")
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let from = today.plus(-6);
    assert_eq!(
        answer.header("content-disposition").unwrap(),
        format!("attachment; filename=\"visitor-counter-{from}-{today}.csv\"")
    );
    let csv = String::from_utf8(answer.body.to_vec()).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "row,name,from,to,views,visitors,bots,limited");
    assert_eq!(lines[1], format!("site,,{from},{today},3,2,0,0"));
    assert_eq!(
        lines[2],
        format!(
            "site-previous,,{},{},0,0,0,0",
            today.plus(-13),
            today.plus(-7)
        )
    );
    assert_eq!(lines[9], format!("site-day,,{today},{today},3,2,0,0"));
    assert_eq!(lines[10], format!("page,home,{from},{today},3,2,0,0"));
    assert_eq!(lines[17], format!("page-day,home,{today},{today},3,2,0,0"));
    assert_eq!(lines[18], "", "one row per line, each ended");
    assert_eq!(lines.len(), 19);
}

#[tokio::test]
async fn the_dashboard_reads_the_days_of_50_counters_and_lists_the_rest() {
    let t = embedded_app();
    // 60 counters, c00 the most viewed of all time.
    for i in 0..60u32 {
        let name = format!("c{i:02}");
        for _ in 0..(60 - i).min(3) + u32::from(i == 0) {
            count_visit(&t.app, &name, "192.0.2.1", "a").await;
        }
    }
    let html = String::from_utf8(get_path(&t.app, "/dashboard").await.body.to_vec()).unwrap();
    assert_eq!(html.matches("<svg class=\"spark\"").count(), 50, "{html}");
    assert!(
        html.contains("10 pages more, with fewer views of all time"),
        "{html}"
    );
    // The first is the most viewed, the listed ones the least.
    let first = html.find("<tbody class=\"page\"><tr><th scope=\"row\"><code>c00</code>");
    assert!(first.is_some(), "{html}");
    let others = html.find("<details class=\"others\">").unwrap();
    for i in 50..60 {
        let at = html.find(&format!("<code>c{i}</code>")).unwrap();
        assert!(at > others, "c{i}: {html}");
    }
}

#[tokio::test]
async fn a_rendered_dashboard_is_kept_30_s_for_at_most_8_periods() {
    let t = counted_app().await;
    let views = |html: &str| -> String {
        let start = html.find("id=\"site-views\">").unwrap() + "id=\"site-views\">".len();
        html[start..start + html[start..].find('<').unwrap()].to_owned()
    };
    let page = |query: &'static str| {
        let app = t.app.clone();
        async move {
            let answer = get_path(&app, &format!("/dashboard?{query}")).await;
            String::from_utf8(answer.body.to_vec()).unwrap()
        }
    };
    assert_eq!(views(&page("period=7").await), "3");
    count_visit(&t.app, "home", "192.0.2.3", "c").await;
    // The same period: from memory, nothing read.
    assert_eq!(views(&page("period=7").await), "3");
    // Another period: read now.
    assert_eq!(views(&page("period=8").await), "4");
    // Seven more periods push the first out: it is read again.
    for query in [
        "period=9",
        "period=10",
        "period=11",
        "period=12",
        "period=13",
        "period=14",
        "period=15",
    ] {
        assert_eq!(views(&page(query).await), "4", "{query}");
    }
    assert_eq!(views(&page("period=7").await), "4");
}

/// The app on a fresh DynamoDB Local table, its clock fixed at 2026-12-04 10:00 UTC,
/// and the proxy its store reaches DynamoDB through, which meters its calls.
async fn dynamodb_app_on_2026_12_04() -> (Proxy, axum::Router) {
    let table = fresh_table(&admin_client().await).await;
    let meter = Proxy::start(&dynamodb_endpoint()).await.unwrap();
    let store = Arc::new(dynamodb_store(&meter.endpoint(), &table).await);
    let settings = Settings {
        allowed_origins: origins(),
        clock: Arc::new(visitor_counter::day::ManualClock::on("2026-12-04", 10).unwrap()),
        ..Settings::default()
    };
    (meter, app(store, settings))
}

#[tokio::test]
async fn a_dashboard_load_on_dynamodb_reads_what_its_costs_say_and_a_reload_nothing() {
    let (meter, app) = dynamodb_app_on_2026_12_04().await;
    for i in 0..60 {
        // DynamoDB Local, busy with other tests' tables, now and then answers a write
        // with an InternalFailure (a 503 here): the visit is asked again.
        let path = format!("/counters/c{i:02}");
        let mut tries = 0;
        while visit_as(&app, Method::POST, &path, "192.0.2.1", "a")
            .await
            .status
            != StatusCode::OK
        {
            tries += 1;
            assert!(tries < 5, "{path}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    meter.take();
    let answer = get_path(&app, "/dashboard?period=30").await;
    assert_eq!(answer.status, StatusCode::OK);
    let used = meter.take();
    // The list: one Query of the index and one BatchGetItem of its 60 counters; the
    // site's 2 × 30 days × 4 items in 3 BatchGetItems of at most 100; the 50 most
    // viewed counters' 30 days, one BatchGetItem each. Nothing else, nothing written.
    assert_eq!(used.calls_of("Query"), 1, "{used:?}");
    assert_eq!(used.calls_of("BatchGetItem"), 1 + 3 + 50, "{used:?}");
    assert_eq!(used.total_calls(), 1 + 1 + 3 + 50, "{used:?}");
    assert_eq!(used.write_units, None, "{used:?}");
    // A read unit per item asked for, at most (the module's worst case, for this table).
    let bound = 60.0 + 60.0 + 240.0 + 50.0 * 30.0;
    let read_units = used.read_units.unwrap_or_default();
    assert!(read_units > 0.0 && read_units <= bound, "{used:?}");
    eprintln!("a dashboard load of 60 counters, 30 days: {read_units} read units (bound {bound})");
    // Within its lifetime the same page reads nothing.
    assert_eq!(
        get_path(&app, "/dashboard?period=30").await.status,
        StatusCode::OK
    );
    assert_eq!(meter.take().total_calls(), 0);
}

#[tokio::test]
async fn a_year_of_days_read_again_on_dynamodb_reads_only_its_last_two_days() {
    let (meter, app) = dynamodb_app_on_2026_12_04().await;
    let visit =
        |address: &'static str| visit_as(&app, Method::POST, "/counters/home", address, "a");
    assert_eq!(visit("192.0.2.1").await.status, StatusCode::OK);
    let range = "from=2025-12-04&to=2026-12-04";
    for (path, items) in [
        (format!("/totals/days?{range}"), 366 * 4_u64),
        (format!("/counters/home/days?{range}"), 366),
    ] {
        meter.take();
        let first = get_path(&app, &path).await;
        assert_eq!(first.status, StatusCode::OK, "{path}");
        let used = meter.take();
        assert_eq!(
            used.calls_of("BatchGetItem"),
            items.div_ceil(100),
            "{path}: {used:?}"
        );
        // Again: the finished days are kept; the last two days (the site's 8 items, a
        // counter's 2) are read, in one BatchGetItem.
        let again = get_path(&app, &path).await;
        assert_eq!(again.body, first.body, "{path}");
        let used = meter.take();
        assert_eq!(used.calls_of("BatchGetItem"), 1, "{path}: {used:?}");
        assert!(
            used.read_units
                .is_some_and(|units| units <= (items / 366) as f64 * 2.0),
            "{path}: {used:?}"
        );
    }
    // Today is never kept: a second visitor shows at once.
    assert_eq!(visit("192.0.2.2").await.status, StatusCode::OK);
    for path in [
        format!("/totals/days?{range}"),
        format!("/counters/home/days?{range}"),
    ] {
        let answer = get_path(&app, &path).await;
        let days: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        let last = days["days"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (last["date"].as_str(), last["views"].as_u64()),
            (Some("2026-12-04"), Some(2)),
            "{path}"
        );
    }
}

/// What an operator command writes shows at once in its own process: the finished
/// days the store keeps are forgotten when an import writes days.
#[tokio::test]
async fn an_import_shows_at_once_in_the_days_the_store_kept() {
    use visitor_counter::day::Day;
    use visitor_counter::store::{CounterRecord, OperatorStore, Totals};
    let h = harness(Kind::DynamoDb).await;
    let (_, _, store) = h.dynamodb.as_ref().unwrap();
    count_visit(&h.app, "home", "192.0.2.1", "a").await;
    let views_on = |days: &[(String, u64, u64)], date: &str| {
        days.iter()
            .find(|(day, _, _)| day == date)
            .map(|(_, views, _)| *views)
    };
    let range = "?from=2026-11-01&to=2026-12-02";
    // Read once: 2026-11-01 is finished, and kept.
    assert_eq!(
        views_on(&h.days("home", range).await, "2026-11-01"),
        Some(0)
    );
    let home = visitor_counter::names::CounterName::parse("home").unwrap();
    let day = Day::parse("2026-11-01").unwrap();
    let record = CounterRecord {
        name: home,
        totals: Totals {
            views: 8,
            visitors: 2,
        },
        days: vec![(
            day,
            Totals {
                views: 7,
                visitors: 1,
            },
        )],
    };
    store.restore(&[record]).await.unwrap();
    assert_eq!(
        views_on(&h.days("home", range).await, "2026-11-01"),
        Some(7)
    );
}
