//! Who may count: a `POST` whose `Origin` is neither allowed nor the API's own is
//! refused with `403` and counts nothing; without `Origin` it is served as before.
//! (CORS hides answers from foreign pages; this keeps them from counting.)

use std::sync::Arc;

use axum::body::Body;
use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use serde_json::Value;
use visitor_counter::app::app;
use visitor_counter::config::AllowedOrigins;
use visitor_counter::store::EmbeddedStore;

use crate::helpers::*;

fn post_from(origins: &[&str], host: Option<&str>) -> http::Request<Body> {
    let mut builder = request(Method::POST, "/count");
    for origin in origins {
        builder = builder.header("origin", *origin);
    }
    if let Some(host) = host {
        builder = builder.header("host", host);
    }
    builder.body(Body::empty()).unwrap()
}

fn assert_refused(answer: &Answer, what: &str) {
    answer.assert_problem(StatusCode::FORBIDDEN, "origin-not-allowed");
    assert_no_cors_headers(&answer.headers, what);
}

#[tokio::test]
async fn a_post_from_a_foreign_origin_is_403_and_counts_nothing() {
    let t = embedded_app();
    for origin in [
        FOREIGN_ORIGIN,
        "null",
        "https://example.com.evil.test",
        "http://example.com",
        "https://example.com:8443",
        "*",
        "",
    ] {
        assert_refused(&call(&t.app, post_from(&[origin], None)).await, origin);
    }
    // Two Origin headers, even two allowed ones, are not one browser's request.
    assert_refused(
        &call(&t.app, post_from(&[ORIGIN, ORIGIN], None)).await,
        "repeated",
    );
    assert_refused(
        &call(&t.app, post_from(&[ORIGIN, FOREIGN_ORIGIN], None)).await,
        "mixed",
    );
    assert_eq!(get(&t.app).await.count(&schemas().get_count), 0);

    // The same store still counts the visits it should.
    assert_eq!(
        call(&t.app, post_from(&[ORIGIN], None))
            .await
            .count(&schemas().post_count),
        1
    );
    assert_eq!(post(&t.app).await.count(&schemas().post_count), 2);
}

#[tokio::test]
async fn reads_and_preflights_from_a_foreign_origin_are_not_refused() {
    let t = embedded_app();
    let get = request(Method::GET, "/count")
        .header("origin", FOREIGN_ORIGIN)
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&t.app, get).await.count(&schemas().get_count), 0);
    let preflight = request(Method::OPTIONS, "/count")
        .header("origin", FOREIGN_ORIGIN)
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let answer = call(&t.app, preflight).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_apis_own_origin_may_always_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("c.redb")).unwrap());
    // No allow-list at all: only the API's own pages (and non-browsers) may count.
    let app = app(store, AllowedOrigins::None);
    let own = call(
        &app,
        post_from(&["http://127.0.0.1:3000"], Some("127.0.0.1:3000")),
    )
    .await;
    assert_eq!(own.count(&schemas().post_count), 1);
    assert_eq!(own.header("access-control-allow-origin"), None);
    let own_default_port = call(
        &app,
        post_from(&["http://counter.test"], Some("counter.test:80")),
    )
    .await;
    assert_eq!(own_default_port.count(&schemas().post_count), 2);

    // Same host, another port or scheme: another origin.
    for origin in ["http://127.0.0.1:8080", "https://127.0.0.1:3000"] {
        assert_refused(
            &call(&app, post_from(&[origin], Some("127.0.0.1:3000"))).await,
            origin,
        );
    }
    assert_refused(&call(&app, post_from(&[ORIGIN], None)).await, ORIGIN);
    let no_origin = call(&app, post_from(&[], Some("127.0.0.1:3000"))).await;
    assert_eq!(no_origin.count(&schemas().post_count), 3);
}

#[tokio::test]
async fn a_wildcard_lets_every_origin_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("c.redb")).unwrap());
    let app = app(store, AllowedOrigins::Any);
    let answer = call(&app, post_from(&[FOREIGN_ORIGIN], None)).await;
    assert_eq!(answer.count(&schemas().post_count), 1);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
}

/// The POST event of `tests/data`, from `origin` (or none).
fn lambda_post(origin: Option<&str>) -> String {
    let mut event: Value = serde_json::from_str(include_str!(
        "../data/apigw-post-count-on-stage-with-origin.json"
    ))
    .unwrap();
    let headers = event["headers"].as_object_mut().unwrap();
    match origin {
        Some(origin) => headers.insert("origin".into(), origin.into()),
        None => headers.remove("origin"),
    };
    event.to_string()
}

async fn invoke(app: &axum::Router, event: &str) -> Answer {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(event).unwrap();
    let response = visitor_counter::lambda::service(app.clone())
        .oneshot(request)
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

#[tokio::test]
async fn in_lambda_the_stages_https_domain_is_the_own_origin() {
    let t = embedded_app();
    assert_refused(
        &invoke(&t.app, &lambda_post(Some(FOREIGN_ORIGIN))).await,
        "foreign",
    );
    // The request went to https://<domainName>/prod/count; its origin has no path.
    let own = "https://r3pmxmplak.execute-api.eu-west-1.amazonaws.com";
    assert_eq!(
        invoke(&t.app, &lambda_post(Some(own)))
            .await
            .count(&schemas().post_count),
        1
    );
    assert_refused(
        &invoke(
            &t.app,
            &lambda_post(Some(
                "http://r3pmxmplak.execute-api.eu-west-1.amazonaws.com",
            )),
        )
        .await,
        "plain http",
    );
    assert_eq!(
        invoke(&t.app, &lambda_post(None))
            .await
            .count(&schemas().post_count),
        2
    );
    assert_eq!(
        invoke(&t.app, &lambda_post(Some(ORIGIN)))
            .await
            .count(&schemas().post_count),
        3
    );
}

#[tokio::test]
async fn over_the_wire_the_binary_refuses_foreign_pages_and_serves_its_own() {
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", ORIGIN)]);
    let client = http_client();
    let url = server.url("/count");
    // What a browser sends for a form post or sendBeacon from a foreign page.
    let answer = client
        .post(&url)
        .header("origin", FOREIGN_ORIGIN)
        .header("content-type", "text/plain;charset=UTF-8")
        .body("ping")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    let own = server.base_url.clone();
    let answer = client
        .post(&url)
        .header("origin", own.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{own}");
    assert_eq!(server.get_count().await, 1);
}
