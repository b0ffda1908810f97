//! A Lambda runtime emulator for the real binary.
//!
//! It serves the Lambda Runtime API (`/2018-06-01/runtime/...`) on loopback, starts the
//! `visitor-counter` binary with the environment AWS Lambda gives a `provided.al2023`
//! function, and hands it API Gateway HTTP API (payload 2.0) events one at a time, as
//! Lambda does. It records when the process was spawned, when it first asked for an
//! event (the end of its init), and when each answer came back, and reads the
//! process's CPU time and memory from `/proc` for the benchmark.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::sync::{mpsc, oneshot};

/// What the emulator says the function's timeout is (the deadline it hands out).
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(3);
/// The function's name in the emulated environment.
pub const FUNCTION_NAME: &str = "visitor-counter-emulated";

/// Something went wrong around the function, not inside an answer.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The emulator could not serve or spawn.
    #[error("the emulator could not serve or start the function")]
    Io(#[from] std::io::Error),
    /// The function reported an init error through `/runtime/init/error`.
    #[error("init error reported: {0:?}")]
    InitFailed(InitError),
    /// The function exited (without reporting an init error).
    #[error("the function exited: {0}")]
    Exited(ExitStatus),
    /// Nothing happened within the time allowed.
    #[error("timed out waiting for {0}")]
    TimedOut(&'static str),
    /// The answer posted to `/response` is not JSON.
    #[error("the function's answer is not JSON: {0:?}")]
    NotJson(String),
}

/// What the function posted to `/runtime/init/error`.
#[derive(Debug, Clone)]
pub struct InitError {
    /// The `Lambda-Runtime-Function-Error-Type` header.
    pub error_type: Option<String>,
    /// The body: `{"errorMessage": ..., "errorType": ...}`.
    pub body: serde_json::Value,
    pub at: Instant,
}

/// One invocation's outcome.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    /// The function's answer: for API Gateway, `{"statusCode", "headers", "body", ...}`;
    /// for an invocation error, the error document it posted.
    pub response: serde_json::Value,
    /// Whether it came through `/invocation/{id}/error` rather than `/response`.
    pub is_error: bool,
    /// From handing the event over to receiving the whole answer.
    pub duration: Duration,
    pub answered_at: Instant,
}

impl Invocation {
    /// The API Gateway answer's `statusCode`, unless this is an invocation error.
    pub fn status_code(&self) -> Option<u64> {
        (!self.is_error)
            .then(|| self.response["statusCode"].as_u64())
            .flatten()
    }
}

struct Pending {
    request_id: String,
    event: Bytes,
    reply: oneshot::Sender<Reply>,
}

struct Reply {
    body: Bytes,
    is_error: bool,
    at: Instant,
}

/// The emulator's side of the Runtime API.
struct Shared {
    /// Events waiting for the function's next `/next`.
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    /// Handed out, not yet answered.
    in_flight: Mutex<HashMap<String, oneshot::Sender<Reply>>>,
    first_next: OnceLock<Instant>,
    init_error: OnceLock<InitError>,
    /// `/next` requests received, and invocations answered: the function is waiting
    /// for an event when the first is ahead of the second.
    polls: AtomicU64,
    answered: AtomicU64,
}

/// The binary running as a Lambda function under the emulator; killed when dropped.
pub struct LambdaFunction {
    child: Mutex<Child>,
    pid: u32,
    /// Just before the process was spawned.
    pub spawned_at: Instant,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<Pending>,
    next_id: AtomicU64,
    server: tokio::task::JoinHandle<()>,
    logs: Arc<Mutex<Vec<String>>>,
    runtime_api: SocketAddr,
}

/// The environment AWS Lambda sets for a `provided.al2023` arm64 function of 128 MB
/// (with dummy credentials), minus `AWS_LAMBDA_RUNTIME_API`, which the emulator adds.
pub fn lambda_env(region: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/visitor-counter-emulated",
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]emulated"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_ACCESS_KEY_ID", "emulated"),
        ("AWS_SECRET_ACCESS_KEY", "emulated"),
        ("AWS_SESSION_TOKEN", "emulated"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// What to run as the function: the `visitor-counter` binary, or another runtime's
/// command (the benchmark's Python function, a profiler wrapping the binary).
#[derive(Debug, Clone)]
pub struct FunctionCommand {
    pub program: std::path::PathBuf,
    pub args: Vec<OsString>,
    /// The working directory; the emulator's own when `None`.
    pub dir: Option<std::path::PathBuf>,
}

impl FunctionCommand {
    /// `program` with no arguments.
    pub fn new(program: impl Into<std::path::PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            dir: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }
}

impl LambdaFunction {
    /// Serves the Runtime API on a free loopback port and starts `binary` with
    /// [`lambda_env`] plus `env` (later entries win), and nothing else from this
    /// process's environment. Returns at once; see [`wait_ready`](Self::wait_ready).
    pub async fn start(
        binary: &Path,
        region: &str,
        env: &[(String, String)],
    ) -> Result<Self, EmulatorError> {
        Self::start_command(&FunctionCommand::new(binary), region, env, None).await
    }

    /// As [`start`](Self::start), for any command, and inside `quota` when given: the
    /// process is in that CPU group from its first instruction.
    pub async fn start_command(
        function: &FunctionCommand,
        region: &str,
        env: &[(String, String)],
        quota: Option<&crate::quota::CpuQuota>,
    ) -> Result<Self, EmulatorError> {
        let (events, queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(queue),
            in_flight: Mutex::new(HashMap::new()),
            first_next: OnceLock::new(),
            init_error: OnceLock::new(),
            polls: AtomicU64::new(0),
            answered: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let runtime_api = listener.local_addr()?;
        let router = runtime_api_router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });

        let mut command = Command::new(&function.program);
        command
            .args(&function.args)
            .env_clear()
            .envs(lambda_env(region))
            .envs(
                env.iter()
                    .map(|(k, v)| (OsString::from(k), OsString::from(v))),
            )
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &function.dir {
            command.current_dir(dir);
        }
        let spawned_at = Instant::now();
        let spawned = match quota {
            Some(quota) => quota.spawn(&mut command),
            None => command.spawn(),
        };
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                server.abort();
                return Err(error.into());
            }
        };
        let logs = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            collect_lines(stdout, Arc::clone(&logs));
        }
        if let Some(stderr) = child.stderr.take() {
            collect_lines(stderr, Arc::clone(&logs));
        }
        Ok(Self {
            pid: child.id(),
            child: Mutex::new(child),
            spawned_at,
            shared,
            events,
            next_id: AtomicU64::new(1),
            server,
            logs,
            runtime_api,
        })
    }

    /// The Runtime API's address (`AWS_LAMBDA_RUNTIME_API`).
    pub fn runtime_api(&self) -> SocketAddr {
        self.runtime_api
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the function's first `/next`, and returns its init time (process
    /// spawn to that request). Fails when it reports an init error or exits first.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Duration, EmulatorError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.shared.first_next.get() {
                return Ok(at.duration_since(self.spawned_at));
            }
            if let Some(error) = self.shared.init_error.get() {
                return Err(EmulatorError::InitFailed(error.clone()));
            }
            if let Some(status) = self.try_wait()? {
                // An init error may race the exit: prefer the report.
                return Err(match self.shared.init_error.get() {
                    Some(error) => EmulatorError::InitFailed(error.clone()),
                    None => EmulatorError::Exited(status),
                });
            }
            if Instant::now() >= deadline {
                return Err(EmulatorError::TimedOut("the first /next"));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// What the function reported through `/runtime/init/error`, if anything.
    pub fn init_error(&self) -> Option<InitError> {
        self.shared.init_error.get().cloned()
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(
        &self,
        event: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Invocation, EmulatorError> {
        let request_id = format!(
            "00000000-0000-4000-8000-{:012}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (reply, answer) = oneshot::channel();
        let sent_at = Instant::now();
        self.events
            .send(Pending {
                request_id: request_id.clone(),
                event: event.into(),
                reply,
            })
            .map_err(|_| EmulatorError::TimedOut("the emulator, which has stopped"))?;
        let reply = tokio::select! {
            reply = answer => reply.map_err(|_| EmulatorError::TimedOut("an answer that was dropped"))?,
            () = tokio::time::sleep(timeout) => {
                if let Some(status) = self.try_wait()? {
                    return Err(EmulatorError::Exited(status));
                }
                return Err(EmulatorError::TimedOut("the invocation's answer"));
            }
        };
        let response = serde_json::from_slice(&reply.body)
            .map_err(|_| EmulatorError::NotJson(String::from_utf8_lossy(&reply.body).into()))?;
        Ok(Invocation {
            request_id,
            response,
            is_error: reply.is_error,
            duration: reply.at.duration_since(sent_at),
            answered_at: reply.at,
        })
    }

    /// Waits until the function has asked for its next event after the last answer,
    /// so that it is idle, as between two requests in Lambda.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), EmulatorError> {
        let deadline = Instant::now() + timeout;
        while self.shared.polls.load(Ordering::SeqCst)
            <= self.shared.answered.load(Ordering::SeqCst)
        {
            if let Some(status) = self.try_wait()? {
                return Err(EmulatorError::Exited(status));
            }
            if Instant::now() >= deadline {
                return Err(EmulatorError::TimedOut("the next /next"));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        Ok(())
    }

    /// The process's peak resident set size (`VmHWM`), in KiB, while it runs.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid, "VmHWM:")
    }

    /// The process's current resident set size (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid, "VmRSS:")
    }

    /// CPU time the process has used so far, all its threads (the first field of each
    /// `/proc/PID/task/*/schedstat`: nanoseconds on a CPU, user and kernel), which does
    /// not count waiting. Threads that have already exited are not in it.
    pub fn cpu_time(&self) -> Option<Duration> {
        crate::quota::process_cpu_time(self.pid)
    }

    /// User and kernel CPU time so far, in clock ticks (`/proc/PID/stat`'s `utime` and
    /// `stime`, 10 ms each: too coarse for one invocation, fine summed over many).
    pub fn cpu_ticks(&self) -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // After the command's name in parentheses: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')')? + 1..];
        let mut fields = rest.split_whitespace().skip(11);
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    }

    /// Of the current resident set, KiB of anonymous memory (heap, stacks) and of
    /// mapped files (the binary's and libraries' pages that were touched).
    pub fn rss_anon_and_file_kib(&self) -> Option<(u64, u64)> {
        Some((
            proc_status_kib(self.pid, "RssAnon:")?,
            proc_status_kib(self.pid, "RssFile:")?,
        ))
    }

    /// The function's stdout and stderr lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }

    /// Whether the process has exited, without waiting.
    pub fn try_wait(&self) -> std::io::Result<Option<ExitStatus>> {
        match self.child.lock() {
            Ok(mut child) => child.try_wait(),
            Err(_) => Ok(None),
        }
    }

    /// Waits for the process to exit on its own.
    pub async fn wait_exit(&self, timeout: Duration) -> Result<ExitStatus, EmulatorError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(EmulatorError::TimedOut("the process to exit"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.server.abort();
    }
}

fn collect_lines(stream: impl Read + Send + 'static, logs: Arc<Mutex<Vec<String>>>) {
    let echo = std::env::var_os("TEST_LOG").is_some();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("[function] {line}");
            }
            if let Ok(mut logs) = logs.lock() {
                logs.push(line);
            }
        }
    });
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn runtime_api_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(shared)
}

/// Long-polls until an event is queued, then hands it over with Lambda's headers.
async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    let now = Instant::now();
    let _ = shared.first_next.set(now);
    shared.polls.fetch_add(1, Ordering::SeqCst);
    let mut queue = shared.queue.lock().await;
    let Some(pending) = queue.recv().await else {
        return StatusCode::GONE.into_response();
    };
    drop(queue);
    let deadline_ms = SystemTime::now()
        .checked_add(FUNCTION_TIMEOUT)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    if let Ok(mut in_flight) = shared.in_flight.lock() {
        in_flight.insert(pending.request_id.clone(), pending.reply);
    }
    let mut response = Response::new(Body::from(pending.event));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json".to_owned());
    set("lambda-runtime-aws-request-id", pending.request_id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        format!("arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
    );
    response
}

async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    complete(&shared, &id, body, false)
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    complete(&shared, &id, body, true)
}

fn complete(shared: &Shared, id: &str, body: Bytes, is_error: bool) -> Response {
    let at = Instant::now();
    let reply = shared
        .in_flight
        .lock()
        .ok()
        .and_then(|mut in_flight| in_flight.remove(id));
    match reply {
        Some(reply) => {
            shared.answered.fetch_add(1, Ordering::SeqCst);
            let _ = reply.send(Reply { body, is_error, at });
            accepted()
        }
        None => json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({
                "errorMessage": format!("unknown or already answered request id {id}"),
                "errorType": "InvalidRequestID",
            }),
        ),
    }
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
    let _ = shared.init_error.set(InitError {
        error_type,
        body,
        at: Instant::now(),
    });
    accepted()
}

fn accepted() -> Response {
    json(StatusCode::ACCEPTED, &serde_json::json!({"status": "OK"}))
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
