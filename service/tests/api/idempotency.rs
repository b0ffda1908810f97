//! `Idempotency-Key` on both stores (each test runs once on the embedded store and once
//! on DynamoDB Local): a key counts its visit once, a retry replays the first answer,
//! a key on another counter is `422`, a malformed one `400`, concurrent requests with
//! one key count once, and a key is new again after its 24 hours. The faults (an
//! answer lost after the write landed, a process killed) are in `idempotency_faults`.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{HeaderValue, Method, StatusCode};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::helpers::*;

/// `POST path` from a visitor, with `keys` as its `Idempotency-Key` header(s).
pub async fn post_keyed(app: &Router, path: &str, keys: &[&[u8]], address: &str) -> Answer {
    let mut request = request(Method::POST, path)
        .header("user-agent", "A")
        .body(Body::empty())
        .unwrap();
    for key in keys {
        request
            .headers_mut()
            .append("idempotency-key", HeaderValue::from_bytes(key).unwrap());
    }
    request
        .extensions_mut()
        .insert(visitor_counter::visitor::ClientAddress(address.to_owned()));
    call(app, request).await
}

/// `POST path` with one key `key`, from 192.0.2.1.
pub async fn post_with_key(app: &Router, path: &str, key: &str) -> Answer {
    post_keyed(app, path, &[key.as_bytes()], "192.0.2.1").await
}

fn replayed(answer: &Answer) -> bool {
    match answer.header("idempotent-replayed") {
        None => false,
        Some("true") => true,
        Some(other) => panic!("Idempotent-Replayed: {other:?}"),
    }
}

on_both_stores!(
    a_retry_with_the_key_replays_the_answer_and_counts_nothing,
    a_key_is_one_visit_of_one_counter_and_count_is_site,
    malformed_keys_are_400_and_count_nothing,
    twenty_concurrent_requests_with_one_key_count_once,
    one_key_racing_on_two_counters_counts_on_one,
    a_key_is_new_again_after_24_hours,
    the_key_itself_is_never_stored,
);

async fn a_retry_with_the_key_replays_the_answer_and_counts_nothing(kind: Kind) {
    let h = harness(kind).await;
    let app = &h.app;
    let first = post_with_key(app, "/counters/home", "visit-1").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.totals("home"), (1, 1));
    assert!(!replayed(&first), "the first answer is not a replay");

    for retry in ["visit-1", "\"visit-1\""] {
        let again = post_with_key(app, "/counters/home", retry).await;
        assert_eq!(again.status, StatusCode::OK, "{retry}");
        assert_eq!(again.body, first.body, "{retry}: another body");
        assert!(replayed(&again), "{retry}: not marked replayed");
    }
    assert_eq!(h.counter("home").await, (1, 1));
    assert_eq!(h.days("home", "").await.last().unwrap().1, 1);

    // A new key is a new visit (the same visitor: a view, no visitor), and so is a
    // POST without a key, as before.
    let second = post_with_key(app, "/counters/home", "visit-2").await;
    assert_eq!((second.totals("home"), replayed(&second)), ((2, 1), false));
    assert_eq!(count_visit(app, "home", "192.0.2.1", "A").await, (3, 1));
    // The replay of the first is still its own answer, not the counter's totals now.
    let again = post_with_key(app, "/counters/home", "visit-1").await;
    assert_eq!((again.totals("home"), replayed(&again)), ((1, 1), true));
    assert_eq!(h.counter("home").await, (3, 1));
    assert_eq!(
        h.days("home", "").await.last().unwrap(),
        &(TODAY.to_owned(), 3, 1)
    );
}

async fn a_key_is_one_visit_of_one_counter_and_count_is_site(kind: Kind) {
    let h = harness(kind).await;
    let app = &h.app;
    post_with_key(app, "/counters/home", "k").await;
    let before = h.everything().await;
    let reused = post_with_key(app, "/counters/about", "k").await;
    reused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused");
    assert_eq!(h.everything().await, before, "a reused key wrote something");
    assert_eq!(h.counter("about").await, (0, 0));
    assert_eq!(h.counter("home").await, (1, 1));

    // `/count` and `/counters/site` are one counter: a replay answers in the shape of
    // the route asked.
    let v1 = post_with_key(app, "/count", "s").await;
    assert_eq!(v1.count(&schemas().post_count), 1);
    let v2 = post_with_key(app, "/counters/site", "s").await;
    assert_eq!(
        v2.body(&schemas().counter),
        json!({ "name": "site", "views": 1, "visitors": 1 })
    );
    assert!(replayed(&v2));
    let v2 = post_with_key(app, "/counters/site", "t").await;
    assert_eq!(v2.totals("site"), (2, 1));
    let v1 = post_with_key(app, "/count", "t").await;
    assert_eq!(v1.count(&schemas().post_count), 2);
    assert!(replayed(&v1));
    assert_eq!(h.counter("site").await, (2, 1));
    // A key of `site` is another counter's key for `home`, and the other way round.
    post_with_key(app, "/count", "k")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused");
    post_with_key(app, "/counters/home", "s")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused");
    assert_eq!(
        (h.counter("site").await, h.counter("home").await),
        ((2, 1), (1, 1))
    );
}

async fn malformed_keys_are_400_and_count_nothing(kind: Kind) {
    let h = harness(kind).await;
    let app = &h.app;
    post_with_key(app, "/counters/home", "k").await;
    let before = h.everything().await;
    let too_long = "k".repeat(256);
    let malformed: Vec<Vec<&[u8]>> = vec![
        vec![b""],
        vec![b"\"\""],
        vec![b"a b"],
        vec![b"\"a b\""],
        vec![b"a\tb"],
        vec![too_long.as_bytes()],
        vec![b"\"k"],
        vec![b"\"a\"b\""],
        vec![b"caf\xc3\xa9"],
        vec![b"\xff"],
        // Given twice, even the same key twice.
        vec![b"k", b"k"],
        vec![b"k", b"j"],
    ];
    for keys in &malformed {
        for path in ["/counters/home", "/count"] {
            let answer = post_keyed(app, path, keys, "192.0.2.1").await;
            answer.assert_problem(StatusCode::BAD_REQUEST, "invalid-idempotency-key");
            let detail = answer.json()["detail"].as_str().unwrap().to_owned();
            assert!(
                detail.starts_with("Idempotency-Key: "),
                "{keys:?}: {detail}"
            );
        }
    }
    assert_eq!(
        h.everything().await,
        before,
        "a malformed key wrote something"
    );
    // The longest key is 255 characters; a GET ignores the header.
    let longest = "k".repeat(255);
    let answer = post_with_key(app, "/counters/home", &longest).await;
    assert_eq!(answer.totals("home"), (2, 1));
    let mut get = request(Method::GET, "/counters/home")
        .body(Body::empty())
        .unwrap();
    get.headers_mut()
        .insert("idempotency-key", HeaderValue::from_static("a b"));
    assert_eq!(call(app, get).await.totals("home"), (2, 1));
    // An unknown counter is a 404 whatever the key.
    post_with_key(app, "/counters/No", "a b")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "unknown-counter");
}

async fn twenty_concurrent_requests_with_one_key_count_once(kind: Kind) {
    let h = harness(kind).await;
    post_with_key(&h.app, "/counters/home", "earlier").await;
    for round in 0..3 {
        let key = format!("together-{round}");
        let app = h.app.clone();
        let answers = concurrently(20, move || {
            let (app, key) = (app.clone(), key.clone());
            async move { post_with_key(&app, "/counters/home", &key).await }
        })
        .await;
        let mut bodies = Vec::new();
        let mut counted = 0;
        for answer in &answers {
            match answer.status {
                StatusCode::OK => {
                    bodies.push(answer.body.clone());
                    counted += usize::from(!replayed(answer));
                }
                StatusCode::CONFLICT => {
                    answer.assert_problem(StatusCode::CONFLICT, "idempotency-key-in-flight");
                    assert_eq!(answer.header("retry-after"), Some("1"));
                }
                other => panic!("round {round}: {other}: {:?}", answer.json()),
            }
        }
        assert_eq!(counted, 1, "round {round}: answers not marked replayed");
        bodies.dedup();
        assert_eq!(
            bodies.len(),
            1,
            "round {round}: different bodies {bodies:?}"
        );
        assert_eq!(h.counter("home").await, (2 + round, 1), "round {round}");
    }
}

async fn one_key_racing_on_two_counters_counts_on_one(kind: Kind) {
    let h = harness(kind).await;
    for round in 0..5 {
        let key = format!("racing-{round}");
        let (a, b) = tokio::join!(
            post_with_key(&h.app, "/counters/a", &key),
            post_with_key(&h.app, "/counters/b", &key)
        );
        let statuses = [a.status, b.status];
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "round {round}: {statuses:?}"
        );
        for answer in [&a, &b] {
            if answer.status != StatusCode::OK {
                assert!(
                    matches!(
                        answer.status,
                        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
                    ),
                    "{:?}",
                    answer.json()
                );
            }
        }
        let (views_a, _) = h.counter("a").await;
        let (views_b, _) = h.counter("b").await;
        assert_eq!(views_a + views_b, round + 1, "round {round}");
    }
}

async fn a_key_is_new_again_after_24_hours(kind: Kind) {
    let h = harness(kind).await;
    let app = &h.app;
    assert_eq!(
        post_with_key(app, "/counters/home", "k")
            .await
            .totals("home"),
        (1, 1)
    );
    h.clock.advance(Duration::from_secs(24 * 3600 - 1));
    let kept = post_with_key(app, "/counters/home", "k").await;
    assert_eq!((kept.totals("home"), replayed(&kept)), ((1, 1), true));
    // Another counter is refused for as long as the key is kept.
    post_with_key(app, "/counters/about", "k")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused");
    h.clock.advance(Duration::from_secs(1));
    // 24 hours on (the next UTC day, so the visitor is new again too).
    let fresh = post_with_key(app, "/counters/home", "k").await;
    assert_eq!((fresh.totals("home"), replayed(&fresh)), ((2, 2), false));
    let again = post_with_key(app, "/counters/home", "k").await;
    assert_eq!((again.totals("home"), replayed(&again)), ((2, 2), true));
    assert_eq!(h.counter("home").await, (2, 2));
}

async fn the_key_itself_is_never_stored(kind: Kind) {
    let h = harness(kind).await;
    let key = "a-key-nobody-else-would-send-7c1f";
    post_with_key(&h.app, "/counters/home", key).await;
    post_with_key(&h.app, "/counters/home", key).await;
    let stored = match &h.dynamodb {
        Some(_) => h.everything().await.join("\n").into_bytes(),
        None => std::fs::read(h.embedded.as_ref().unwrap().path()).unwrap(),
    };
    assert!(
        !stored.windows(key.len()).any(|w| w == key.as_bytes()),
        "the key is stored as it was sent"
    );
}

/// What a keyed POST costs on DynamoDB: a new key 2 round trips (the read, the
/// transaction of 4 items for a new visitor and 3 for a repeat view: DynamoDB bills 2
/// write units per transactional item, 8 and 6; DynamoDB Local reports a flat 4 for
/// any transaction, so the items are counted instead); a retry with a known key 1
/// round trip and 0 write units; a reused key the same.
#[tokio::test]
async fn a_keyed_post_costs_what_the_docs_say() {
    let h = metered_harness(None).await;
    // The day's salt is read and made once per process: before measuring.
    post_with_key(&h.app, "/counters/home", "warm-up").await;
    // The key's record, the counter, its day, the visitor's marker and one of the
    // site's day items; a new visitor's site marker too.
    for (key, address, what, items) in [
        ("a", "192.0.2.2", "a new visitor", 6),
        ("b", "192.0.2.2", "a repeat view", 5),
    ] {
        h.calls();
        post_keyed(&h.app, "/counters/home", &[key.as_bytes()], address).await;
        let cost = h.calls();
        assert_eq!(
            (
                cost.calls_of("BatchGetItem"),
                cost.calls_of("TransactWriteItems"),
                cost.total_calls()
            ),
            (1, 1, 2),
            "{what}: {cost:?}"
        );
        assert_eq!(cost.transact_items, items, "{what}: {cost:?}");
        eprintln!("keyed POST, {what}: {cost:?}");
    }
    for (path, what) in [
        ("/counters/home", "a replay"),
        ("/counters/about", "a reused key"),
    ] {
        h.calls();
        post_keyed(&h.app, path, &[b"a"], "192.0.2.2").await;
        let cost = h.calls();
        assert_eq!(
            (
                cost.calls_of("BatchGetItem"),
                cost.total_calls(),
                cost.write_units
            ),
            (1, 1, None),
            "{what}: {cost:?}"
        );
        eprintln!("keyed POST, {what}: {cost:?}");
    }
}

/// A store that cannot answer: a keyed POST is a 503 with `Retry-After`, like any other.
#[tokio::test]
async fn a_keyed_post_on_unavailable_storage_is_503() {
    let app = failing_app(|| visitor_counter::store::StoreError::Unavailable("down".into()));
    let answer = post_with_key(&app, "/counters/home", "k").await;
    answer.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"));
}
