//! Security: CORS never widens past the configuration and never allows
//! credentials; the logs hold no client address; the repository holds no AWS
//! keys or account IDs.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::Method;
use pretty_assertions::assert_eq;
use visitor_counter::app::app;
use visitor_counter::config::AllowedOrigins;
use visitor_counter::store::EmbeddedStore;

use crate::helpers::*;

// ---- CORS -----------------------------------------------------------------------

/// Every kind of request a browser (or anyone) can send, with the Origin headers given.
fn cors_requests(origins: &[&str]) -> Vec<http::Request<Body>> {
    let mut requests = Vec::new();
    for (method, path) in [
        (Method::GET, "/count"),
        (Method::POST, "/count"),
        (Method::OPTIONS, "/count"),
        (Method::DELETE, "/count"),
        (Method::GET, "/elsewhere"),
    ] {
        let mut request = request(method.clone(), path);
        for origin in origins {
            request = request.header("origin", *origin);
        }
        if method == Method::OPTIONS {
            // A preflight asking for everything a credentialed request would need.
            request = request
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, cookie, x-requested-with",
                );
        }
        requests.push(
            request
                .header("cookie", "session=1")
                .body(Body::empty())
                .unwrap(),
        );
    }
    requests
}

#[tokio::test]
async fn cors_never_allows_credentials_and_answers_star_only_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("c.redb")).unwrap());
    let list = AllowedOrigins::parse(ORIGIN).unwrap();
    let origin_sets: &[&[&str]] = &[
        &[],
        &[ORIGIN],
        &[FOREIGN_ORIGIN],
        &["null"],
        &["*"],
        &[ORIGIN, ORIGIN],
        &[ORIGIN, FOREIGN_ORIGIN],
        &["https://example.com:443"],
        &["https://example.com/"],
    ];
    for config in [AllowedOrigins::None, list.clone(), AllowedOrigins::Any] {
        let app = app(Arc::clone(&store), config.clone());
        for origins in origin_sets {
            for request in cors_requests(origins) {
                let what = format!(
                    "{config:?}, Origin {origins:?}, {} {}",
                    request.method(),
                    request.uri()
                );
                let answer = call(&app, request).await;
                assert!(answer.status.as_u16() < 500, "{what}: {answer:?}");
                assert_eq!(
                    answer.header("access-control-allow-credentials"),
                    None,
                    "{what}"
                );
                let allowed_headers = answer.header("access-control-allow-headers").unwrap_or("");
                assert!(
                    !allowed_headers.contains("authorization")
                        && !allowed_headers.contains("cookie"),
                    "{what}: {allowed_headers}"
                );
                let allow_origin = answer.header("access-control-allow-origin");
                let expected = match (&config, origins) {
                    (AllowedOrigins::Any, [_]) => Some("*"),
                    (AllowedOrigins::List(_), [origin]) if *origin == ORIGIN => Some(ORIGIN),
                    _ => None,
                };
                assert_eq!(allow_origin, expected, "{what}");
                if expected.is_none() {
                    assert_no_cors_headers(&answer.headers, &what);
                }
            }
        }
    }
}

#[tokio::test]
async fn the_binary_without_allowed_origins_sends_no_cors_headers() {
    let (server, _dir) = embedded_server();
    let client = http_client();
    for method in [Method::GET, Method::POST, Method::OPTIONS] {
        let answer = client
            .request(method.clone(), server.url("/count"))
            .header("origin", ORIGIN)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_no_cors_headers(answer.headers(), method.as_str());
    }
}

// ---- Logs -----------------------------------------------------------------------

#[tokio::test]
async fn logs_carry_no_client_address() {
    // A DynamoDB that refuses connections, so that every visit is logged (as a
    // storage warning with its cause) and the log has something to leak into.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let table = visitor_counter::config::TableName::parse("visitor-count").unwrap();
    let mut env = dynamodb_env(&endpoint, &table);
    env.push(("RUST_LOG".into(), "trace".into()));
    env.push(("ALLOWED_ORIGINS".into(), ORIGIN.into()));
    let (mut server, stderr) = spawn_server_capturing_stderr(&env);

    // The client speaks from a loopback address of its own, recognisable in a log.
    let client_ip: IpAddr = "127.0.0.77".parse().unwrap();
    e2e::install_tls_provider();
    let client = reqwest::Client::builder()
        .user_agent(testkit::BROWSER_USER_AGENT)
        .local_address(client_ip)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let forwarded = [
        ("x-forwarded-for", "203.0.113.77, 198.51.100.1"),
        ("x-real-ip", "198.51.100.23"),
        ("forwarded", "for=192.0.2.60;proto=https"),
    ];
    for (method, path, body) in [
        (Method::GET, "/count", 0),
        (Method::POST, "/count", 0),
        (Method::POST, "/count", 4096),
        (Method::GET, "/nowhere", 0),
        (Method::PUT, "/count", 0),
    ] {
        let mut request = client
            .request(method, server.url(path))
            .header("origin", ORIGIN)
            .body(vec![b'x'; body]);
        for (name, value) in forwarded {
            request = request.header(name, value);
        }
        let answer = request.send().await.unwrap();
        assert!(answer.status().as_u16() != 500, "{answer:?}");
    }
    send_signal(server.child.id(), "TERM");
    let status = wait_for_exit(&mut server.child, Duration::from_secs(10)).await;
    assert!(status.success(), "exited with {status}");
    let log = stderr.complete().await;
    assert!(
        log.contains("storage unavailable") && log.contains("stopped"),
        "the log was not captured: {log}"
    );
    for address in [
        "127.0.0.77",
        "203.0.113.77",
        "198.51.100.1",
        "198.51.100.23",
        "192.0.2.60",
    ] {
        assert!(!log.contains(address), "{address} is in the log:\n{log}");
    }
}

// ---- Secrets in the repository -------------------------------------------------------

/// Account IDs that AWS's own documentation uses as examples.
const EXAMPLE_ACCOUNT_IDS: &[&str] = &["123456789012", "111122223333", "444455556666"];

/// What looks like an AWS credential or account ID in `text`, one line per finding.
fn findings(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let word = |i: usize| bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric());
    // Access key IDs: AKIA (long-term) or ASIA (temporary) and 16 upper-case letters or digits.
    for prefix in ["AKIA", "ASIA"] {
        for (start, _) in text.match_indices(prefix) {
            let end = start + 20;
            let key = bytes.get(start + 4..end);
            if !word(start.wrapping_sub(1))
                && !word(end)
                && key.is_some_and(|key| {
                    key.iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                })
            {
                found.push(format!("access key ID {}", &text[start..end]));
            }
        }
    }
    // Account IDs: exactly 12 digits, standing alone.
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !word(i - 1)) {
            let run = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            let id = &text[i..i + run];
            if run == 12 && !word(i + run) && !EXAMPLE_ACCOUNT_IDS.contains(&id) {
                found.push(format!("account ID {id}"));
            }
            i += run;
        } else {
            i += 1;
        }
    }
    // Secret keys written next to their name, and private keys.
    let lower = text.to_lowercase();
    for name in ["aws_secret_access_key", "secretaccesskey"] {
        for (start, _) in lower.match_indices(name) {
            let value: String = text[start + name.len()..]
                .trim_start_matches(|c: char| c == '"' || c == ':' || c == '=' || c.is_whitespace())
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '+')
                .collect();
            if value.len() == 40 {
                found.push(format!("secret access key after {name}"));
            }
        }
    }
    if text.contains(concat!("PRIVATE", " KEY-----")) {
        found.push("a private key".to_owned());
    }
    found
}

#[test]
fn the_secret_scan_recognises_what_it_looks_for() {
    let key_id = format!("AKIA{}", "Q7".repeat(8));
    let account = format!("arn:aws:iam::{}:role/deploy", "4".repeat(12));
    let secret = format!("aws_secret_access_key = {}", "aB3/".repeat(10));
    assert_eq!(findings(&key_id).len(), 1, "{key_id}");
    assert_eq!(findings(&account).len(), 1, "{account}");
    assert_eq!(findings(&secret).len(), 1, "{secret}");
    // Documented examples, longer numbers and hex digests are not findings.
    for fine in [
        "arn:aws:iam::123456789012:role/example",
        "\"timeEpoch\": 1583348638390",
        "checksum = \"2c3e324da4c95177d6291d4c8730197c0d1822f8a9766814a4a44fa5ab797c9c\"",
        "AKIAEXAMPLE",
    ] {
        assert_eq!(findings(fine), Vec::<String>::new(), "{fine}");
    }
}

#[test]
fn no_aws_keys_or_account_ids_in_tracked_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let listed = std::process::Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git is needed to list the tracked files");
    assert!(listed.status.success(), "git ls-files failed");
    let files: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(files.len() > 50, "only {} tracked files", files.len());
    let mut report = Vec::new();
    for file in &files {
        // A file listed but deleted in the work tree has nothing to leak.
        let Ok(bytes) = std::fs::read(root.join(file)) else {
            continue;
        };
        for finding in findings(&String::from_utf8_lossy(&bytes)) {
            report.push(format!("{file}: {finding}"));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[tokio::test]
async fn the_local_server_counts_the_tcp_peer_never_a_forwarding_header() {
    let (server, _dir) = embedded_server();
    e2e::install_tls_provider();
    let from = |address: &str| {
        reqwest::Client::builder()
            .user_agent(testkit::BROWSER_USER_AGENT)
            .local_address(address.parse::<IpAddr>().unwrap())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    let visit = |client: reqwest::Client, agent: &'static str, spoof: Option<&'static str>| {
        let url = server.url("/counters/home");
        async move {
            let mut request = client.post(url).header("user-agent", agent);
            if let Some(spoof) = spoof {
                request = request
                    .header("x-forwarded-for", spoof)
                    .header("x-real-ip", spoof)
                    .header("forwarded", format!("for={spoof}"));
            }
            let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            body["visitors"].as_u64().unwrap()
        }
    };
    // Three peers: three visitors.
    for (i, address) in ["127.0.0.1", "127.0.0.2", "127.0.0.3"].iter().enumerate() {
        assert_eq!(visit(from(address), "A", None).await, i as u64 + 1);
    }
    // One peer claiming to be others: no new visitor.
    for spoof in ["192.0.2.1", "192.0.2.2"] {
        assert_eq!(visit(from("127.0.0.1"), "A", Some(spoof)).await, 3);
    }
    // The same peer with another User-Agent is another visitor.
    assert_eq!(visit(from("127.0.0.1"), "B", None).await, 4);
}
