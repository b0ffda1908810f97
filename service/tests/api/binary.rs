//! The real binary in local mode: start-up, configuration errors, shutdown.

use std::process::Stdio;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use crate::helpers::*;

#[tokio::test]
async fn serves_the_count_and_says_where_and_on_what_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    let server = spawn_server(&[
        ("COUNTER_DB", db.to_str().unwrap()),
        ("ALLOWED_ORIGINS", ORIGIN),
    ]);
    assert!(
        server
            .banner
            .starts_with("visitor-counter listening on http://127.0.0.1:"),
        "{}",
        server.banner
    );
    assert!(
        server.banner.contains("embedded store"),
        "{}",
        server.banner
    );
    assert!(
        server.banner.contains(db.to_str().unwrap()),
        "{}",
        server.banner
    );

    let client = http_client();
    let posted = client
        .post(server.url("/count"))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(posted.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(posted.headers()["cache-control"], "no-store");
    let body: serde_json::Value = posted.json().await.unwrap();
    assert_valid(&schemas().post_count, &body);
    assert_eq!(body["count"], 1);

    let oversized = client
        .post(server.url("/count"))
        .body(vec![b'x'; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    assert_eq!(server.get_count().await, 1);
}

#[tokio::test]
async fn serves_from_dynamodb_local() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let server = spawn_server(&dynamodb_env(&dynamodb_endpoint(), &table));
    assert!(
        server.banner.contains(&format!("DynamoDB table {table}")),
        "{}",
        server.banner
    );
    for expected in 1..=3 {
        assert_eq!(server.post_count().await, expected);
    }
    assert_eq!(server.get_count().await, 3);
}

/// Runs the binary with `env` and expects it to refuse to start.
fn start_failure(env: &[(&str, &str)]) -> String {
    let output = service_command()
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success(), "{env:?} started");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{env:?}: expected one line, got {stderr:?}");
    lines[0].to_owned()
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.redb");
    let db = db.to_str().unwrap();
    for (variable, value) in [
        ("LISTEN_ADDR", "localhost:3000"),
        ("ALLOWED_ORIGINS", "https://example.com/"),
        ("ALLOWED_ORIGINS", "example.com"),
        ("COUNTER_TABLE", "x"),
        ("COUNTER_DB", ""),
        ("RUST_LOG", "verbose"),
        ("RUST_LOG", "info,hyper=warn"),
    ] {
        let line = start_failure(&[("COUNTER_DB", db), (variable, value)]);
        assert!(line.starts_with(&format!("error: {variable}: ")), "{line}");
    }
    // DynamoDB without a region: the region is named, not the table, and the line
    // comes alone (no SDK warnings about EC2's metadata endpoint before it).
    let line = start_failure(&[("COUNTER_TABLE", "visitor-count"), ("HOME", db)]);
    assert!(line.starts_with("error: AWS_REGION: not set"), "{line}");
    // A store file that is not a store.
    let not_a_store = dir.path().join("notes.txt");
    std::fs::write(&not_a_store, "shopping list").unwrap();
    let line = start_failure(&[("COUNTER_DB", not_a_store.to_str().unwrap())]);
    assert!(line.starts_with("error: COUNTER_DB: cannot open"), "{line}");
    assert_eq!(
        std::fs::read_to_string(&not_a_store).unwrap(),
        "shopping list"
    );
}

#[test]
fn a_store_file_in_use_by_another_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.redb");
    let _first = spawn_server(&[("COUNTER_DB", db.to_str().unwrap())]);
    let line = start_failure(&[("COUNTER_DB", db.to_str().unwrap())]);
    assert!(line.starts_with("error: COUNTER_DB: cannot open"), "{line}");
}

#[test]
fn an_address_in_use_is_refused_naming_listen_addr() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.redb");
    let line = start_failure(&[
        ("COUNTER_DB", db.to_str().unwrap()),
        ("LISTEN_ADDR", &taken.local_addr().unwrap().to_string()),
    ]);
    assert!(line.starts_with("error: LISTEN_ADDR: "), "{line}");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.redb");
    let mut server = spawn_server(&[("COUNTER_DB", db.to_str().unwrap())]);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exited with {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
