//! Hostile input: arbitrary requests through the app and arbitrary API Gateway
//! events through the Lambda adapter (property-based), and over the wire to the
//! real local server: oversized bodies, slow-loris headers and bodies, header
//! limits, bytes that are not HTTP.

use std::cell::Cell;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode};
use lambda_http::request::LambdaRequest;
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tower::ServiceExt;
use visitor_counter::app::BODY_LIMIT;
use visitor_counter::lambda;
use visitor_counter::server::{HEADER_READ_TIMEOUT, MAX_HEADER_BYTES, MAX_HEADERS};

use crate::helpers::*;

/// Cases per property: enough to meet every kind of input many times, few
/// enough to keep the suite quick (well under a second each). `PROPTEST_CASES`
/// asks for more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(512)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        // Failures are shrunk and printed; no regression files in the tree.
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---- Arbitrary requests through the app ---------------------------------------------

#[derive(Debug, Clone)]
struct HostileRequest {
    method: Method,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    /// Sent as a stream of chunks with no length known up front.
    streamed: bool,
    /// With a true Content-Length, as a client would send it (unless one was generated).
    declared: bool,
    /// Origin headers, none to several.
    origins: Vec<&'static str>,
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        3 => Just(Method::POST),
        2 => Just(Method::GET),
        1 => Just(Method::OPTIONS),
        2 => prop::sample::select(vec![
            "PUT", "DELETE", "PATCH", "HEAD", "TRACE", "CONNECT", "get", "Post", "PROPFIND",
        ])
        .prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
        1 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}"
            .prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "count",
            "count",
            "..",
            ".",
            "%2e%2e",
            "%2E%2E%2F",
            "%2F",
            "%00",
            "COUNT",
            "count%20",
            "%63ount",
            "",
            "prod",
            "count;x",
            "count.json",
            "\u{2024}\u{2024}",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9._~!$&'()*+,;=:@-]{0,12}",
        "(%[0-9A-Fa-f]{2}){1,6}",
        // Any printable text: non-ASCII is valid in http's paths, the rest is refused.
        "\\PC{0,8}",
        // Very long.
        (1usize..=32).prop_map(|k| "a".repeat(k * 1024)),
    ]
}

fn uri() -> impl Strategy<Value = String> {
    let query = prop::option::of(prop_oneof![
        "[ -~]{0,40}",
        "\\PC{0,20}",
        (1usize..=16).prop_map(|k| format!("q={}", "x".repeat(k * 1024))),
    ]);
    prop_oneof![
        // The one real path, with whatever query, so that valid visits are frequent.
        3 => query.clone().prop_map(|q| match q {
            Some(q) => format!("/count?{q}"),
            None => "/count".to_owned(),
        }),
        3 => (prop::collection::vec(segment(), 0..5), query, any::<bool>()).prop_map(
            |(segments, query, trailing)| {
                let mut uri = format!("/{}", segments.join("/"));
                if trailing {
                    uri.push('/');
                }
                if let Some(query) = query {
                    uri.push('?');
                    uri.push_str(&query);
                }
                uri
            }
        ),
        1 => prop::sample::select(vec![
            "*", "http://localhost/count", "//count", "/count#fragment", "/./count",
            "/count/../count", "/%2e%2e/count",
        ])
        .prop_map(str::to_owned),
    ]
}

fn header() -> impl Strategy<Value = (String, Vec<u8>)> {
    let name = prop_oneof![
        3 => prop::sample::select(vec![
            "origin", "content-length", "content-type", "transfer-encoding", "host",
            "x-forwarded-for", "cookie", "authorization", "access-control-request-method",
            "access-control-request-headers", "expect", "connection", "accept",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z0-9!#$%&'*+.^_`|~-]{1,24}",
    ];
    let value = prop_oneof![
        prop::sample::select(vec![
            ORIGIN,
            FOREIGN_ORIGIN,
            "http://localhost:8080",
            "null",
            "*",
            "https://EXAMPLE.com",
            "https://example.com/",
            " https://example.com",
        ])
        .prop_map(|v| v.as_bytes().to_vec()),
        // Content-Length as a client may (mis)state it.
        prop::sample::select(vec![
            "0",
            "1",
            "2",
            "1024",
            "1025",
            "-1",
            " 5 ",
            "abc",
            "0x10",
            "+5",
            "1e3",
            "",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
        ])
        .prop_map(|v| v.as_bytes().to_vec()),
        // Any bytes a header value may hold, including invalid UTF-8 (obs-text).
        prop::collection::vec(prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff], 0..64),
        // Huge.
        (1usize..=64).prop_map(|k| vec![b'v'; k * 1024]),
    ];
    (name, value)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        3 => prop::collection::vec(any::<u8>(), 0..64),
        2 => prop::collection::vec(any::<u8>(), BODY_LIMIT - 8..BODY_LIMIT + 8),
        1 => prop::sample::select(vec![BODY_LIMIT, BODY_LIMIT + 1]).prop_map(|n| vec![b'x'; n]),
        1 => prop::collection::vec(any::<u8>(), 2 * BODY_LIMIT..4 * BODY_LIMIT),
    ]
}

fn hostile_request() -> impl Strategy<Value = HostileRequest> {
    (
        method(),
        uri(),
        prop::collection::vec(header(), 0..8),
        body(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(
            prop::sample::select(vec![
                ORIGIN,
                ORIGIN,
                "http://localhost:8080",
                FOREIGN_ORIGIN,
            ]),
            0..3,
        ),
    )
        .prop_map(
            |(method, uri, headers, body, streamed, declared, origins)| HostileRequest {
                method,
                uri,
                headers,
                body,
                streamed,
                declared,
                origins,
            },
        )
}

/// Builds the request, or None where the http types refuse it (as hyper would
/// refuse it on the wire before the app saw it).
fn build(case: &HostileRequest) -> Option<http::Request<Body>> {
    // What the http types refuse in a URI (spaces, quotes, controls) is sent
    // percent-encoded, as a client would have to.
    let uri = http::Uri::try_from(case.uri.as_str())
        .or_else(|_| http::Uri::try_from(percent_encode_refused(&case.uri)))
        .ok()?;
    let mut request = http::Request::builder()
        .method(case.method.clone())
        .uri(uri);
    for (name, value) in &case.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(value).ok()?;
        request = request.header(name, value);
    }
    for origin in &case.origins {
        request = request.header(http::header::ORIGIN, *origin);
    }
    if case.declared
        && !case
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-length"))
    {
        request = request.header(http::header::CONTENT_LENGTH, case.body.len());
    }
    let body = if case.streamed {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            case.body.chunks(100).map(|c| Ok(c.to_vec())).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(case.body.clone())
    };
    request.body(body).ok()
}

fn percent_encode_refused(uri: &str) -> String {
    let mut encoded = String::new();
    for byte in uri.bytes() {
        if byte.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// What the contract says the answer to `request` is.
fn expected_status(request: &http::Request<Body>, body_len: usize) -> StatusCode {
    // A POST from a page on another origin is refused before anything else is read.
    let origins: Vec<&[u8]> = request
        .headers()
        .get_all(http::header::ORIGIN)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let own = request
        .headers()
        .get(http::header::HOST)
        .map(|host| [b"http://", host.as_bytes()].concat());
    let may_count = match origins.as_slice() {
        [] => true,
        [one] => {
            *one == ORIGIN.as_bytes()
                || *one == b"http://localhost:8080"
                || own
                    .as_deref()
                    .is_some_and(|own| one.eq_ignore_ascii_case(own))
        }
        _ => false,
    };
    // Route first, then origin: only the paths that count refuse a foreign page's POST.
    if request.method() == Method::POST && !may_count && request.uri().path() == "/count" {
        return StatusCode::FORBIDDEN;
    }
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) || body_len > BODY_LIMIT {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    if request.uri().path() == "/" {
        // Where things are: GET and HEAD only.
        return match *request.method() {
            Method::GET | Method::HEAD => StatusCode::OK,
            _ => StatusCode::METHOD_NOT_ALLOWED,
        };
    }
    if request.uri().path() != "/count" {
        return StatusCode::NOT_FOUND;
    }
    match *request.method() {
        Method::GET | Method::HEAD | Method::POST => StatusCode::OK,
        Method::OPTIONS => StatusCode::NO_CONTENT,
        _ => StatusCode::METHOD_NOT_ALLOWED,
    }
}

#[test]
fn arbitrary_requests_get_their_contract_answer_and_only_valid_posts_count() {
    let rt = runtime();
    let t = embedded_app();
    let (built, posts_counted) = (Cell::new(0u32), Cell::new(0u64));
    runner()
        .run(&hostile_request(), |case| {
            let Some(request) = build(&case) else {
                return Ok(());
            };
            built.set(built.get() + 1);
            let expected = expected_status(&request, case.body.len());
            let origins: Vec<Vec<u8>> = request
                .headers()
                .get_all(http::header::ORIGIN)
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect();
            let is_post = request.method() == Method::POST;
            // A POST without a User-Agent is sent with a browser's (`call`); one with a
            // bot's (or an empty one) is tallied, not counted.
            let bot = request
                .headers()
                .get(http::header::USER_AGENT)
                .is_some_and(|agent| visitor_counter::bots::is_bot(Some(agent.as_bytes())));
            rt.block_on(async {
                let before = get(&t.app).await.count(&schemas().get_count);
                let answer = call(&t.app, request).await;
                let after = get(&t.app).await.count(&schemas().get_count);

                assert_eq!(answer.status, expected, "{case:?}: {answer:?}");
                assert_eq!(answer.header("cache-control"), Some("no-store"));
                if expected == StatusCode::OK && is_post && !bot {
                    assert_eq!(answer.count(&schemas().post_count), before + 1);
                    assert_eq!(after, before + 1, "{case:?}");
                    posts_counted.set(posts_counted.get() + 1);
                } else {
                    assert_eq!(after, before, "counted: {case:?}");
                }
                if expected.is_client_error() && case.method != Method::HEAD {
                    answer.assert_problem(expected, problem_kind(expected));
                }
                // CORS: the origin back only for exactly one Origin header, allowed.
                let allowed = match origins.as_slice() {
                    [one] if one == ORIGIN.as_bytes() || one == b"http://localhost:8080" => {
                        Some(String::from_utf8(one.clone()).unwrap())
                    }
                    _ => None,
                };
                assert_eq!(
                    answer
                        .header("access-control-allow-origin")
                        .map(str::to_owned),
                    allowed,
                    "{case:?}"
                );
                assert_eq!(answer.header("access-control-allow-credentials"), None);
            });
            Ok(())
        })
        .unwrap();
    // The generator must mostly produce requests the http types accept, and visits.
    let (built, posts_counted) = (built.get(), posts_counted.get());
    assert!(
        built > cases() / 2,
        "only {built} of {} cases were requests",
        cases()
    );
    assert!(
        posts_counted > u64::from(cases() / 50),
        "only {posts_counted} valid POSTs"
    );
    eprintln!("{built} hostile requests through the app, {posts_counted} of them valid POSTs");
}

fn problem_kind(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::FORBIDDEN => "origin-not-allowed",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        other => panic!("no problem kind for {other}"),
    }
}

// ---- Malformed Lambda events --------------------------------------------------------

const EVENT: &str = include_str!("../data/apigw-post-count-on-stage-with-origin.json");

/// A JSON value of any shape, small.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to a real event: a field set to text a client could send, to a
/// value of the wrong type, or removed.
fn event_edit() -> impl Strategy<Value = (Vec<&'static str>, Option<serde_json::Value>)> {
    let field = prop::sample::select(vec![
        vec!["rawPath"],
        vec!["rawQueryString"],
        vec!["body"],
        vec!["isBase64Encoded"],
        vec!["cookies"],
        vec!["headers"],
        vec!["headers", "origin"],
        vec!["headers", "content-length"],
        vec!["headers", "content-type"],
        vec!["requestContext"],
        vec!["requestContext", "stage"],
        vec!["requestContext", "http", "method"],
        vec!["requestContext", "http"],
        vec!["version"],
    ]);
    let text = prop_oneof![
        prop::sample::select(vec![
            "/count",
            "/prod/count",
            "/prod/../count",
            "/prod//count",
            "/count/",
            "/$default/count",
            "GET",
            "POST",
            "OPTIONS",
            "DELETE",
            "post",
            "prod",
            "$default",
            "",
            "null",
            "https://example.com",
            "1025",
            "-1",
            "e30=",
            "not base64!",
        ])
        .prop_map(serde_json::Value::from),
        "[ -~]{0,40}".prop_map(serde_json::Value::from),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
        (1usize..=8).prop_map(|k| serde_json::Value::from("y".repeat(k * 1024))),
    ];
    let value = prop_oneof![
        8 => text.prop_map(Some),
        1 => any_json().prop_map(Some),
        1 => Just(None),
    ];
    (field, value)
}

fn edited_event() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(event_edit(), 1..3).prop_map(|edits| {
            let mut event: serde_json::Value = serde_json::from_str(EVENT).unwrap();
            for (path, value) in edits {
                set(&mut event, &path, value);
            }
            as_api_gateway_sets_it(&mut event);
            event.to_string()
        }),
        // Not even an event: cut short, or any JSON at all.
        1 => (0usize..EVENT.len()).prop_map(|n| EVENT.chars().take(n).collect()),
        1 => any_json().prop_map(|v| v.to_string()),
    ]
}

/// Puts back what API Gateway itself sets and no client controls: the Host and
/// X-Forwarded-Proto headers, a raw path that starts with `/`, and a body that is
/// base64 when `isBase64Encoded` says so. (lambda_http panics on a Host or scheme
/// that is not a URL's, and on a body that is not the base64 it is said to be.)
fn as_api_gateway_sets_it(event: &mut serde_json::Value) {
    let original: serde_json::Value = serde_json::from_str(EVENT).unwrap();
    if let Some(headers) = event["headers"].as_object_mut() {
        for name in ["host", "x-forwarded-proto"] {
            headers.insert(name.to_owned(), original["headers"][name].clone());
        }
    }
    if let Some(path) = event["rawPath"].as_str()
        && !path.starts_with('/')
    {
        event["rawPath"] = format!("/{path}").into();
    }
    if event["isBase64Encoded"] == true
        && let Some(body) = event["body"].as_str()
    {
        event["body"] = base64(body.as_bytes()).into();
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                encoded.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

fn set(event: &mut serde_json::Value, path: &[&str], value: Option<serde_json::Value>) {
    let (last, parents) = path.split_last().unwrap();
    let mut node = event;
    for key in parents {
        if !node[*key].is_object() {
            node[*key] = serde_json::json!({});
        }
        node = &mut node[*key];
    }
    let object = node.as_object_mut().unwrap();
    match value {
        Some(value) => {
            object.insert((*last).to_owned(), value);
        }
        None => {
            object.remove(*last);
        }
    }
}

#[test]
fn malformed_lambda_events_never_panic_5xx_or_count_anything_but_a_valid_post() {
    assert_eq!(base64(b"{}"), "e30=");
    assert_eq!(base64(b"count"), "Y291bnQ=");
    let rt = runtime();
    let t = embedded_app();
    let (converted, refused) = (Cell::new(0u32), Cell::new(0u32));
    runner()
        .run(&edited_event(), |event| {
            // A payload that is not an API Gateway event is refused before the app
            // (the runtime reports it as an invocation error).
            let Ok(payload) = serde_json::from_str::<LambdaRequest>(&event) else {
                refused.set(refused.get() + 1);
                return Ok(());
            };
            // What `lambda::run` does with each payload before the app sees it.
            let request: lambda_http::Request = lambda::escape_query(payload).into();
            converted.set(converted.get() + 1);
            let method = request.method().clone();
            rt.block_on(async {
                let before = get(&t.app).await.count(&schemas().get_count);
                let response = lambda::service(t.app.clone())
                    .oneshot(request)
                    .await
                    .unwrap();
                let status = response.status();
                // An event whose User-Agent an edit made a bot's is tallied, not counted.
                let filtered = response.headers().contains_key("visit-filtered");
                let body = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let after = get(&t.app).await.count(&schemas().get_count);
                assert!(status.as_u16() < 500, "{status} for {event}");
                if status == StatusCode::OK && method == Method::POST && !filtered {
                    let answered: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    assert_eq!(answered["count"], before + 1, "{event}");
                    assert_eq!(after, before + 1, "{event}");
                } else {
                    assert_eq!(after, before, "{status} {method} counted: {event}");
                }
            });
            Ok(())
        })
        .unwrap();
    let (converted, refused) = (converted.get(), refused.get());
    assert!(converted > cases() / 5, "only {converted} events converted");
    eprintln!(
        "{converted} malformed events through the Lambda adapter, {refused} refused as not events"
    );
}

// ---- Over the wire, to the real local server -----------------------------------------

/// Sends `bytes` on a fresh connection and returns what came back before the
/// server closed it (or 5 s passed).
async fn exchange(server: &TestServer, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server_address(server)).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(bytes).await;
    read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .0
}

#[tokio::test]
async fn oversized_bodies_are_413_declared_or_chunked_and_not_counted() {
    let (server, _dir) = embedded_server();
    let declared = format!(
        "POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        1024 * 1024
    );
    let answer = exchange(&server, declared.as_bytes()).await;
    assert_eq!(
        status_of(&answer),
        Some(413),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let mut chunked =
        b"POST /count HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for _ in 0..8 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'x'; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = exchange(&server, &chunked).await;
    assert_eq!(
        status_of(&answer),
        Some(413),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    assert_eq!(get_count(&server.base_url).await, 0);
}

#[tokio::test]
async fn header_limits_are_431_and_normal_requests_still_pass() {
    let (server, _dir) = embedded_server();
    let request = |extra: &str| {
        format!("GET /count HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n")
    };
    // Within the limits: a big cookie-sized header and many headers.
    let fine = format!(
        "x-big: {}\r\n{}",
        "c".repeat(MAX_HEADER_BYTES / 2),
        (0..MAX_HEADERS - 8)
            .map(|i| format!("x-h{i}: {i}\r\n"))
            .collect::<String>()
    );
    assert_eq!(
        status_of(&exchange(&server, request(&fine).as_bytes()).await),
        Some(200)
    );

    let huge = format!("x-huge: {}\r\n", "h".repeat(MAX_HEADER_BYTES + 1));
    let too_many: String = (0..MAX_HEADERS + 1)
        .map(|i| format!("x-h{i}: {i}\r\n"))
        .collect();
    let origins: String = (0..MAX_HEADERS + 1)
        .map(|_| format!("origin: {ORIGIN}\r\n"))
        .collect();
    for (what, extra) in [
        ("a huge header", huge),
        ("too many headers", too_many),
        ("repeated Origin", origins),
    ] {
        let answer = exchange(&server, request(&extra).as_bytes()).await;
        assert_eq!(
            status_of(&answer),
            Some(431),
            "{what}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
}

#[tokio::test]
async fn bytes_that_are_not_http_get_4xx_or_a_closed_connection_never_5xx() {
    let (mut server, _dir) = embedded_server();
    let garbage: &[&[u8]] = &[
        b"GET /count\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /co unt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg",
        b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n",
        b"POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nnot-hex\r\n",
        b"GET /count HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET /count HTTP/1.1\r\nx-bin: \x00\x01\r\n\r\n",
        b"GET /count HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\r\n\r\n\r\n",
    ];
    // All at once: some leave the server waiting for more (until its header
    // timeout), which is an answer too.
    let answers = futures_util::future::join_all(garbage.iter().map(|bytes| async {
        let mut stream = TcpStream::connect(server_address(&server)).await.unwrap();
        let _ = stream.write_all(bytes).await;
        read_until_closed(&mut stream, Duration::from_secs(2))
            .await
            .0
    }))
    .await;
    for (bytes, answer) in garbage.iter().zip(answers) {
        if let Some(status) = status_of(&answer) {
            assert!(
                (400..500).contains(&status),
                "{status} for {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server died"
    );
    assert_eq!(get_count(&server.base_url).await, 0, "garbage was counted");
}

#[tokio::test]
async fn slow_loris_headers_are_cut_off_and_slow_bodies_answered_408() {
    let (server, _dir) = embedded_server();
    let address = server_address(&server);
    let bound =
        HEADER_READ_TIMEOUT.max(visitor_counter::app::BODY_TIMEOUT) + Duration::from_secs(3);

    // Headers, one byte every 200 ms: never finished within the timeout.
    let headers = async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let started = Instant::now();
        let trickle = b"GET /count HTTP/1.1\r\nHost: localhost\r\nX-Padding: "
            .iter()
            .chain(std::iter::repeat(&b'p'));
        for byte in trickle {
            if stream.write_all(&[*byte]).await.is_err() || started.elapsed() > bound {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(1)).await;
        (started.elapsed(), answer, closed)
    };
    // A complete head, then the body one byte every 200 ms.
    let body = async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let started = Instant::now();
        stream
            .write_all(b"POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        for _ in 0..1000 {
            if started.elapsed() > bound {
                break;
            }
            if stream.write_all(b"b").await.is_err() {
                break;
            }
            let (got, _) = read_until_closed(&mut stream, Duration::from_millis(200)).await;
            answer.extend_from_slice(&got);
            if !answer.is_empty() {
                break;
            }
        }
        (started.elapsed(), answer)
    };
    let ((header_time, header_answer, closed), (body_time, body_answer)) =
        tokio::join!(headers, body);

    assert!(
        closed && header_time < bound,
        "a trickled head held its connection for {header_time:?}"
    );
    assert!(
        header_time >= HEADER_READ_TIMEOUT - Duration::from_secs(1),
        "cut off after only {header_time:?}"
    );
    assert!(
        status_of(&header_answer).is_none_or(|s| s == 408),
        "{}",
        String::from_utf8_lossy(&header_answer)
    );
    assert_eq!(
        status_of(&body_answer),
        Some(408),
        "after {body_time:?}: {}",
        String::from_utf8_lossy(&body_answer)
    );
    assert!(
        body_time < bound,
        "a trickled body took {body_time:?} to be answered"
    );
    assert!(body_of(&body_answer).contains("request-timeout"));
    assert_eq!(get_count(&server.base_url).await, 0);
}

#[tokio::test]
async fn the_lambda_function_answers_a_query_string_http_refuses() {
    // What a client may put in a query string unencoded: API Gateway passes it on
    // as sent, and lambda_http alone would panic building the URI.
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let mut env = testkit::dynamodb::function_env(&dynamodb_endpoint(), &table);
    // The event is a POST from this origin, which the function must allow to count.
    env.push(("ALLOWED_ORIGINS".to_owned(), ORIGIN.to_owned()));
    let function = LambdaFunction::start(binary(), "us-east-1", &env)
        .await
        .unwrap();
    function.wait_ready(Duration::from_secs(20)).await.unwrap();

    let mut event: serde_json::Value = serde_json::from_str(EVENT).unwrap();
    event["rawQueryString"] = "ref=\"home page\"&<x>=|\u{7f}".into();
    let invocation = function
        .invoke(event.to_string(), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        !invocation.is_error,
        "invocation error: {}",
        invocation.response
    );
    assert_eq!(
        invocation.response["statusCode"], 200,
        "{}",
        invocation.response
    );
    let body: serde_json::Value =
        serde_json::from_str(invocation.response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["count"], 1);
    assert_eq!(function.try_wait().unwrap(), None);
}
