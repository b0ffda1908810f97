//! Machinery for the fault, load and hostile-input tests: a private DynamoDB Local
//! that can be killed and started again, the load loop (the e2e load generator's, every request kept), the binary with its stderr captured, and raw sockets.

use std::ffi::OsStr;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::load::{LoadOptions, Mix};
pub use e2e::load::{Recorded, Sample, Stop};
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

// ---- A private DynamoDB Local ----------------------------------------------

/// A DynamoDB Local of one test's own, on a fixed port and a data directory
/// (`-dbPath`), so that it can be killed and come back on the same address with
/// the same data. Killed when dropped.
pub struct PrivateDynamoDb {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateDynamoDb {
    pub async fn start() -> Self {
        let mut db = Self {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        db.launch().await;
        db
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no goodbye to the connections it holds.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data, and waits until it answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.launch().await;
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("dynamodb-local.log")
    }

    async fn launch(&mut self) {
        let home = std::env::var("DYNAMODB_LOCAL_DIR").unwrap_or_else(|_| {
            panic!(
                "DYNAMODB_LOCAL_DIR is not set: run the tests with scripts/test, \
                 which installs DynamoDB Local and exports its directory"
            )
        });
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new("java")
            .current_dir(&home)
            .arg("-Djava.library.path=DynamoDBLocal_lib")
            .args(["-jar", "DynamoDBLocal.jar", "-sharedDb", "-dbPath"])
            .arg(self.dir.path())
            .args(["-port", &self.port.to_string(), "-disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java for DynamoDB Local in {home}: {e}"));
        self.child = Some(child);
        let started = Instant::now();
        while !http_answers(self.port).await {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                panic!("DynamoDB Local exited with {status} during start-up:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(40),
                "DynamoDB Local did not answer on port {} within 40 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for PrivateDynamoDb {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether anything on `port` answers an HTTP request (DynamoDB Local answers 400).
async fn http_answers(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut buf = [0u8; 16];
        let n = stream.read(&mut buf).await.ok()?;
        (n > 0).then_some(())
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(()))
    )
}

/// An address of the shared DynamoDB Local, for the proxy to forward to.
pub fn socket_address(endpoint: &str) -> SocketAddr {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{endpoint} is not http://IP:PORT: {e}"))
}

// ---- Load (the e2e load generator) -------------------------------------------------

/// Alternating GETs and POSTs from `concurrency` workers, through the e2e load
/// generator with every request kept; stops after `requests`, or earlier when `stop`
/// is set.
pub async fn run_load(base_url: &str, concurrency: usize, requests: u64, stop: &Stop) -> Recorded {
    let options = LoadOptions {
        requests,
        concurrency,
        mix: Mix::EVEN,
        timeout: Duration::from_secs(10),
        origin: None,
    };
    e2e::load::run_recorded(base_url, &options, stop)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "the load did not start: {}",
                visitor_counter::error_chain(&error)
            )
        })
}

/// What a load run added up to.
#[derive(Debug, Default)]
pub struct Tally {
    pub ok_posts: usize,
    pub unavailable_posts: usize,
    pub ok_gets: usize,
    pub unavailable_gets: usize,
    pub other: usize,
    pub slowest: Duration,
}

pub fn tally(samples: &[Sample]) -> Tally {
    let mut tally = Tally::default();
    for sample in samples {
        tally.slowest = tally.slowest.max(sample.elapsed);
        match (&sample.method, sample.status) {
            (&Method::POST, Some(200)) => tally.ok_posts += 1,
            (&Method::POST, Some(503)) => tally.unavailable_posts += 1,
            (_, Some(200)) => tally.ok_gets += 1,
            (_, Some(503)) => tally.unavailable_gets += 1,
            _ => tally.other += 1,
        }
    }
    tally
}

/// The counts the 200 POSTs were answered with; panics if two visits got the same one.
pub fn distinct_post_counts(samples: &[Sample]) -> Vec<u64> {
    let mut counts: Vec<u64> = samples
        .iter()
        .filter(|s| s.method == Method::POST && s.status == Some(200))
        .map(|s| {
            s.count
                .unwrap_or_else(|| panic!("a 200 POST without a count: {s:?}"))
        })
        .collect();
    counts.sort_unstable();
    let before = counts.len();
    counts.dedup();
    assert_eq!(
        counts.len(),
        before,
        "two POSTs were answered the same count"
    );
    counts
}

/// A 503 as the contract has it: problem+json, `Retry-After`, nothing from the SDK.
pub fn assert_unavailable_answer(sample: &Sample) {
    assert_eq!(sample.status, Some(503), "{sample:?}");
    assert_eq!(
        sample.header("content-type"),
        Some("application/problem+json"),
        "{sample:?}"
    );
    assert_eq!(sample.header("retry-after"), Some("1"), "{sample:?}");
    let body: serde_json::Value = serde_json::from_str(&sample.body).unwrap();
    assert_valid(&schemas().problem, &body);
    assert_eq!(
        body["type"],
        "urn:visitor-counter:problem:storage-unavailable"
    );
    assert_no_backend_text(&sample.body);
}

/// Words that would mean an SDK or AWS error string reached the client.
pub fn assert_no_backend_text(text: &str) {
    let lower = text.to_lowercase();
    for leak in [
        "aws",
        "amazon",
        "dynamodb",
        "sdk",
        "exception",
        "throughput",
        "dispatch",
        "connection",
        "timeout",
        "127.0.0.1",
        "internalservererror",
        "smithy",
    ] {
        assert!(!lower.contains(leak), "{leak:?} in an answer: {text}");
    }
}

// ---- The binary, its stderr kept ----------------------------------------------

/// The binary's stderr, collected as it writes it.
#[derive(Clone, Default)]
pub struct Stderr {
    bytes: Arc<Mutex<Vec<u8>>>,
    closed: Arc<AtomicBool>,
}

impl Stderr {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Everything, once the process has closed its stderr (exited).
    pub async fn complete(&self) -> String {
        let started = Instant::now();
        while !self.closed.load(Ordering::SeqCst) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "stderr still open 5 s after the process exited"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.text()
    }
}

/// As `spawn_server`, with the binary's stderr captured instead of dropped.
pub fn spawn_server_capturing_stderr<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    env: &[(K, V)],
) -> (TestServer, Stderr) {
    let mut child = server_command(env).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = Stderr::default();
    let mut pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.bytes.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        sink.closed.store(true, Ordering::SeqCst);
    });
    let log = stderr.clone();
    let server = wait_for_start(child, move || format!("; stderr: {}", log.text()));
    (server, stderr)
}

/// Sends `signal` (e.g. "TERM") to a process.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Waits up to `limit` for the child to exit and returns how it exited.
pub async fn wait_for_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "still running {limit:?} after the signal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- Raw sockets ----------------------------------------------------------------

/// The server's socket address, from its base URL.
pub fn server_address(server: &TestServer) -> SocketAddr {
    socket_address(&server.base_url)
}

/// Reads until the server closes the connection or `limit` passes; returns what
/// arrived and whether the connection was closed.
pub async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_elapsed) => return (received, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (received, true),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status code of the first HTTP answer in `bytes`, if there is one.
pub fn status_of(bytes: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next()?;
    let mut words = line.split_whitespace();
    match words.next()? {
        "HTTP/1.1" | "HTTP/1.0" => words.next()?.parse().ok(),
        _ => None,
    }
}

/// The body of the first HTTP answer in `bytes` (after the blank line).
pub fn body_of(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}
