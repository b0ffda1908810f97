//! What the local server answers before the app sees a request (hyper's own header
//! limits and parse errors), and a client's chance to read an early answer: every
//! such answer is a problem with `Cache-Control: no-store`, and a client still sending
//! an oversized body reads its `413` instead of a reset connection.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use visitor_counter::server::{MAX_HEADER_BYTES, MAX_HEADERS};

use crate::helpers::*;

fn address(server: &TestServer) -> String {
    server.base_url.trim_start_matches("http://").to_owned()
}

/// A raw HTTP/1.1 answer, split into status, lower-cased headers and body.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawAnswer {
    fn parse(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap()[9..12].parse().unwrap();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        Self {
            status,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn assert_problem(&self, status: u16, kind: &str, what: &str) {
        assert_eq!(self.status, status, "{what}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{what}");
        assert_eq!(
            self.header("content-length"),
            Some(self.body.len().to_string().as_str()),
            "{what}"
        );
        let body: Value = serde_json::from_slice(&self.body).unwrap();
        assert_valid(&schemas().problem, &body);
        assert_eq!(
            body["type"],
            format!("urn:visitor-counter:problem:{kind}"),
            "{what}"
        );
        assert_eq!(body["status"], status, "{what}");
    }
}

/// Sends `bytes` and reads until the server closes the connection (5 s at most).
async fn exchange(server: &TestServer, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address(server)).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    answer
}

#[tokio::test]
async fn requests_over_the_header_limits_get_a_431_problem() {
    let (server, _dir) = embedded_server();
    let request = |extra: &str| format!("GET /count HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n");
    let too_many: String = (0..=MAX_HEADERS)
        .map(|i| format!("x-h{i}: {i}\r\n"))
        .collect();
    let huge = format!("x-huge: {}\r\n", "h".repeat(MAX_HEADER_BYTES + 1));
    for (what, extra) in [("too many headers", too_many), ("a huge header", huge)] {
        let answer = RawAnswer::parse(&exchange(&server, request(&extra).as_bytes()).await);
        answer.assert_problem(431, "headers-too-large", what);
        assert_eq!(answer.header("connection"), Some("close"), "{what}");
    }
    // The server is still there, and counted nothing.
    assert_eq!(server.get_count().await, 0);
}

#[tokio::test]
async fn requests_that_are_not_http_get_a_400_problem() {
    let (server, _dir) = embedded_server();
    for bytes in [
        &b"GET /co unt HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /count HTTP/1.1\r\nBad Header\r\n\r\n",
        b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg",
        b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ] {
        let what = String::from_utf8_lossy(bytes).into_owned();
        RawAnswer::parse(&exchange(&server, bytes).await).assert_problem(400, "bad-request", &what);
    }
    assert_eq!(server.get_count().await, 0);
}

/// The way `http.client` and many other clients send: the whole body first, the
/// answer read after. The server answers 413 after the headers and closes; a plain
/// close with the body still arriving makes the kernel reset the connection, and the
/// client reads "connection reset" instead of its 413 (most of the time, on loopback).
#[tokio::test]
async fn a_client_that_sends_a_1_mib_body_first_still_reads_its_413() {
    let (server, _dir) = embedded_server();
    let body = vec![b'x'; 1024 * 1024];
    let mut read = 0;
    for attempt in 0..10 {
        let mut stream = TcpStream::connect(address(&server)).await.unwrap();
        let head = format!(
            "POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let sent = stream.write_all(&body).await;
        let mut answer = Vec::new();
        let received =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        assert!(
            sent.is_ok() && matches!(received, Ok(Ok(_))),
            "attempt {attempt}: sending {sent:?}, reading {received:?}, after {} bytes of answer",
            answer.len()
        );
        RawAnswer::parse(&answer).assert_problem(413, "payload-too-large", "1 MiB body");
        read += 1;
    }
    assert_eq!(read, 10);
    assert_eq!(server.get_count().await, 0);
}

/// hyper answers in the version of the request it last parsed: an HTTP/1.0 keep-alive
/// connection gets `HTTP/1.0 400`, which must be a problem as well.
#[tokio::test]
async fn an_http_1_0_connection_gets_the_same_problems() {
    let (server, _dir) = embedded_server();
    let bytes = b"GET /count HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGARBAGE\r\n\r\n";
    let answer = exchange(&server, bytes).await;
    let text = String::from_utf8_lossy(&answer);
    let second = text
        .match_indices("HTTP/1.")
        .nth(1)
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("one answer only: {text:?}"));
    assert!(
        text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200"),
        "{text}"
    );
    RawAnswer::parse(&answer[second..]).assert_problem(400, "bad-request", "HTTP/1.0");
}

/// Lingering is for clients still sending a body; an idle keep-alive connection that
/// says nothing more must not hold up a stop.
#[tokio::test]
async fn sigterm_is_not_held_up_by_idle_keep_alive_connections() {
    let (mut server, _dir) = embedded_server();
    let mut idle = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(address(&server)).await.unwrap();
        stream
            .write_all(b"GET /count HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 1024];
        let n = stream.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
        // Kept open, never closed by the client.
        idle.push(stream);
    }
    let started = std::time::Instant::now();
    send_signal(server.child.id(), "TERM");
    let status = wait_for_exit(&mut server.child, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < visitor_counter::server::LINGER_TIME,
        "the stop waited {took:?} for idle connections"
    );
    drop(idle);
}
