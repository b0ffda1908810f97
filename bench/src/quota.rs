//! The 128 MB mode: each function alone in a cgroup with the CPU share a 128 MB Lambda
//! function gets ([`testkit::quota`]), under the same Runtime API emulator and
//! DynamoDB Local: this service (v1's `POST /count`, v2's `POST` and `GET` of a named
//! counter) and the classic Python/boto3 function beside it. For each: init CPU, CPU
//! per warm invocation, wall time under the quota, peak RSS; and, through a recording
//! proxy, what each operation asks of DynamoDB.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use e2e::Latency;
use serde::Serialize;
use testkit::lambda::{FunctionCommand, LambdaFunction};
use testkit::quota::CpuQuota;

use crate::{REGION, Result};
use testkit::proxy::{Calls, Proxy};

/// A request the function is measured on.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub name: &'static str,
    pub event: &'static str,
    /// Each invocation from a client address of its own: a new visitor every time.
    pub new_visitor: bool,
    /// Each invocation with an `Idempotency-Key` of its own, as the embed script sends.
    pub keyed: bool,
}

/// The client address of the events.
const EVENT_SOURCE_IP: &str = "\"sourceIp\": \"198.51.100.23\"";

impl Op {
    /// The event to send: with a fresh client address when [`new_visitor`](Self::new_visitor),
    /// with a fresh `Idempotency-Key` when [`keyed`](Self::keyed).
    pub fn event(&self) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let mut event = self.event.to_owned();
        if self.new_visitor {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let [_, a, b, c] = n.to_be_bytes();
            event = event.replace(
                EVENT_SOURCE_IP,
                &format!("\"sourceIp\": \"10.{a}.{b}.{c}\""),
            );
        }
        if self.keyed {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            event = event.replacen(
                "\"headers\": {",
                &format!("\"headers\": {{\"idempotency-key\": \"bench-{n:08x}\", "),
                1,
            );
        }
        event
    }
}

/// The same visitor every time: after the first, repeat views.
pub const V1_POST: Op = Op {
    name: "v1 POST /count",
    event: include_str!("../../service/tests/data/apigw-post-count-on-stage-with-origin.json"),
    new_visitor: false,
    keyed: false,
};
pub const V2_POST: Op = Op {
    name: "v2 POST /counters/home",
    event: include_str!("../events/apigw-post-counter-home.json"),
    new_visitor: false,
    keyed: false,
};
pub const V2_POST_NEW_VISITOR: Op = Op {
    name: "v2 POST /counters/home, a new visitor each time",
    event: V2_POST.event,
    new_visitor: true,
    keyed: false,
};
/// What the embed script sends: a key of its own with each page view.
pub const V2_POST_KEYED: Op = Op {
    name: "v2 POST /counters/home with an Idempotency-Key (as counter.js sends it)",
    event: V2_POST.event,
    new_visitor: false,
    keyed: true,
};
pub const V2_GET: Op = Op {
    name: "v2 GET /counters/home",
    event: include_str!("../events/apigw-get-counter-home.json"),
    new_visitor: false,
    keyed: false,
};
/// The Python function counts whatever it is sent; it gets v1's event.
pub const PYTHON_POST: Op = Op {
    name: "POST (boto3 update_item ADD)",
    event: V1_POST.event,
    new_visitor: false,
    keyed: false,
};

/// The events' `Origin`, which the Rust function must allow to count.
pub const EVENT_ORIGIN: &str = "https://example.com";
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Python's init under the quota takes seconds.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Invocations of each operation before any is measured, after the first.
const WARM_UP: usize = 3;

/// One function to measure.
#[derive(Debug, Clone)]
pub struct Contender {
    pub label: &'static str,
    pub command: FunctionCommand,
    /// On top of the emulator's Lambda environment.
    pub env: Vec<(String, String)>,
    pub ops: Vec<Op>,
    pub cold_starts: usize,
    /// Also measure init with `SSL_CERT_FILE` naming the system's bundle of trusted
    /// roots, so that only that file is read (as on AL2023, whose certificate
    /// directory does not hold each root again as a file of its own).
    pub bundle_only: bool,
}

impl Contender {
    /// This service's release binary, on `table`.
    pub fn rust(binary: PathBuf, cold_starts: usize) -> Self {
        Self {
            label: "this service (Rust)",
            command: FunctionCommand::new(binary),
            env: vec![("ALLOWED_ORIGINS".to_owned(), EVENT_ORIGIN.to_owned())],
            ops: vec![V1_POST, V2_POST, V2_POST_NEW_VISITOR, V2_POST_KEYED, V2_GET],
            cold_starts,
            bundle_only: true,
        }
    }

    /// `lambda_function.lambda_handler` in `dir`, run by `python` (a virtual
    /// environment's, with boto3 and awslambdaric) through AWS's runtime interface
    /// client, as Lambda's Python runtime runs it.
    pub fn python(python: PathBuf, dir: PathBuf, cold_starts: usize) -> Self {
        Self {
            label: "Python 3 + boto3 (awslambdaric)",
            command: FunctionCommand::new(python)
                .arg("-m")
                .arg("awslambdaric")
                .arg("lambda_function.lambda_handler")
                .dir(&dir),
            env: vec![
                (
                    "AWS_EXECUTION_ENV".to_owned(),
                    "AWS_Lambda_python3".to_owned(),
                ),
                ("LAMBDA_TASK_ROOT".to_owned(), dir.display().to_string()),
                ("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned()),
            ],
            ops: vec![PYTHON_POST],
            cold_starts,
            bundle_only: false,
        }
    }

    fn env_on(
        &self,
        endpoint: &str,
        table: &visitor_counter::config::TableName,
    ) -> Vec<(String, String)> {
        let mut env = testkit::dynamodb::function_env(endpoint, table);
        env.extend_from_slice(&self.env);
        env
    }
}

/// One operation of one function.
#[derive(Debug, Serialize)]
pub struct OpFigures {
    pub name: &'static str,
    /// CPU time per warm invocation: one figure per cold start, the mean of its run.
    pub cpu_per_invocation: Option<Latency>,
    /// Event handed over to answer received, under the quota, every warm invocation.
    pub wall: Option<Latency>,
    /// The mean of those: back to back, the quota holds the function back for part of
    /// each period, and the mean is the time per invocation under sustained load.
    pub wall_mean_ms: Option<f64>,
    /// What one warm invocation asked of DynamoDB (through the proxy, without quota).
    pub calls: Option<Calls>,
    /// The share of that CPU time spent in the kernel (system calls: the loopback
    /// HTTP of the Runtime API and of DynamoDB), from `/proc/PID/stat`'s ticks summed
    /// over every cold start.
    pub kernel_share: Option<f64>,
}

/// One function under the quota.
#[derive(Debug, Serialize)]
pub struct ContenderFigures {
    pub label: &'static str,
    pub cold_starts: usize,
    /// CPU time from spawn to the first `/next`.
    pub init_cpu: Option<Latency>,
    /// Spawn to the first `/next`, under the quota.
    pub init_wall: Option<Latency>,
    /// The first invocation after init (the first operation), under the quota.
    pub first_invocation: Option<Latency>,
    /// What init and the first invocation asked of DynamoDB.
    pub init_calls: Option<Calls>,
    pub first_calls: Option<Calls>,
    /// `VmHWM` at the end of each cold start.
    pub peak_rss_kib: Vec<u64>,
    pub ops: Vec<OpFigures>,
    /// The bundle named in `SSL_CERT_FILE`, and init with only it read.
    pub bundle_file: Option<String>,
    pub init_cpu_bundle_only: Option<Latency>,
}

/// Where Linux distributions keep the bundle of trusted roots (as openssl-probe looks).
const BUNDLE_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// This machine's bundle of trusted roots, if it has one where distributions keep it.
pub fn bundle_file() -> Option<&'static str> {
    BUNDLE_FILES
        .iter()
        .copied()
        .find(|path| std::path::Path::new(path).is_file())
}

impl ContenderFigures {
    pub fn op(&self, name: &str) -> Option<&OpFigures> {
        self.ops.iter().find(|op| op.name == name)
    }

    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.peak_rss_kib.iter().copied().max()
    }
}

/// The 128 MB mode's figures.
#[derive(Debug, Serialize)]
pub struct QuotaFigures {
    pub memory_mb: u64,
    pub quota_us: u64,
    pub period_us: u64,
    pub warm_per_op: usize,
    pub contenders: Vec<ContenderFigures>,
    /// Why a function was not measured (no Python, no cgroup).
    pub notes: Vec<String>,
}

impl QuotaFigures {
    pub fn contender(&self, label_start: &str) -> Option<&ContenderFigures> {
        self.contenders
            .iter()
            .find(|c| c.label.starts_with(label_start))
    }
}

/// Measures every contender, each alone in a fresh group with the 128 MB quota.
pub async fn measure(
    admin: &Client,
    endpoint: &str,
    contenders: &[Contender],
    warm_per_op: usize,
    mut notes: Vec<String>,
) -> Result<QuotaFigures> {
    const MEMORY_MB: u64 = 128;
    let quota_us = testkit::quota::lambda_quota_us(MEMORY_MB);
    let proxy = Proxy::start(endpoint).await?;
    let mut figures = Vec::new();
    for contender in contenders {
        crate::say(&format!("   {} under the 128 MB quota", contender.label));
        let name = format!("visitor-counter-bench-{}", std::process::id());
        let quota = match CpuQuota::create(&name, quota_us) {
            Ok(quota) => quota,
            Err(error) => {
                let why = format!(
                    "the 128 MB mode was not run: cannot make a cgroup v1 cpu group under {} \
                     (it needs root and cgroup v1's cpu controller): {error}",
                    testkit::quota::CPU_CONTROLLER
                );
                crate::say(&why);
                notes.push(why);
                break;
            }
        };
        let mut measured = cold_starts(admin, endpoint, contender, &quota, warm_per_op).await?;
        drop(quota);
        usage(admin, &proxy, contender, &mut measured).await?;
        figures.push(measured);
    }
    Ok(QuotaFigures {
        memory_mb: MEMORY_MB,
        quota_us,
        period_us: testkit::quota::PERIOD_US,
        warm_per_op,
        contenders: figures,
        notes,
    })
}

async fn cold_starts(
    admin: &Client,
    endpoint: &str,
    contender: &Contender,
    quota: &CpuQuota,
    warm_per_op: usize,
) -> Result<ContenderFigures> {
    let table = testkit::dynamodb::fresh_table(admin, "quota").await?;
    let env = contender.env_on(endpoint, &table);
    let mut init_cpu = Vec::new();
    let mut init_wall = Vec::new();
    let mut first = Vec::new();
    let mut peak_rss_kib = Vec::new();
    let mut cpu: Vec<Vec<Duration>> = vec![Vec::new(); contender.ops.len()];
    let mut wall: Vec<Vec<Duration>> = vec![Vec::new(); contender.ops.len()];
    let mut ticks: Vec<(u64, u64)> = vec![(0, 0); contender.ops.len()];
    for _ in 0..contender.cold_starts {
        let function =
            LambdaFunction::start_command(&contender.command, REGION, &env, Some(quota)).await?;
        let init = ready(&function).await?;
        init_wall.push(init);
        init_cpu.push(cpu_time(&function)?);
        let Some(first_op) = contender.ops.first() else {
            continue;
        };
        first.push(invoke(&function, first_op).await?);
        for op in &contender.ops {
            for _ in 0..WARM_UP {
                invoke(&function, op).await?;
            }
        }
        for (i, op) in contender.ops.iter().enumerate() {
            let before = cpu_time(&function)?;
            let ticks_before = function.cpu_ticks().ok_or("cannot read /proc/PID/stat")?;
            for _ in 0..warm_per_op {
                wall[i].push(invoke(&function, op).await?);
            }
            let used = cpu_time(&function)?.saturating_sub(before);
            let ticks_after = function.cpu_ticks().ok_or("cannot read /proc/PID/stat")?;
            ticks[i].0 += ticks_after.0.saturating_sub(ticks_before.0);
            ticks[i].1 += ticks_after.1.saturating_sub(ticks_before.1);
            cpu[i].push(used / u32::try_from(warm_per_op.max(1))?);
        }
        peak_rss_kib.push(function.peak_rss_kib().ok_or("cannot read VmHWM")?);
    }
    let bundle_file = bundle_file().filter(|_| contender.bundle_only);
    let mut init_cpu_bundle_only = Vec::new();
    if let Some(bundle) = bundle_file {
        let mut env = env.clone();
        env.push(("SSL_CERT_FILE".to_owned(), bundle.to_owned()));
        for _ in 0..contender.cold_starts {
            let function =
                LambdaFunction::start_command(&contender.command, REGION, &env, Some(quota))
                    .await?;
            ready(&function).await?;
            init_cpu_bundle_only.push(cpu_time(&function)?);
        }
    }
    Ok(ContenderFigures {
        label: contender.label,
        cold_starts: contender.cold_starts,
        init_cpu: Latency::of(init_cpu),
        init_wall: Latency::of(init_wall),
        first_invocation: Latency::of(first),
        init_calls: None,
        first_calls: None,
        bundle_file: bundle_file.map(str::to_owned),
        init_cpu_bundle_only: Latency::of(init_cpu_bundle_only),
        peak_rss_kib,
        ops: contender
            .ops
            .iter()
            .zip(cpu.into_iter().zip(wall).zip(ticks))
            .map(|(op, ((cpu, wall), (user, kernel)))| OpFigures {
                name: op.name,
                cpu_per_invocation: Latency::of(cpu),
                wall_mean_ms: (!wall.is_empty()).then(|| {
                    wall.iter().sum::<Duration>().as_secs_f64() * 1000.0 / wall.len() as f64
                }),
                wall: Latency::of(wall),
                calls: None,
                kernel_share: (user + kernel > 0).then(|| kernel as f64 / (user + kernel) as f64),
            })
            .collect(),
    })
}

/// One cold start through the recording proxy, without the quota: what init, the first
/// invocation and a warm invocation of each operation ask of DynamoDB.
async fn usage(
    admin: &Client,
    proxy: &Proxy,
    contender: &Contender,
    figures: &mut ContenderFigures,
) -> Result<()> {
    let table = testkit::dynamodb::fresh_table(admin, "calls").await?;
    let env = contender.env_on(&proxy.endpoint(), &table);
    proxy.take();
    let function = LambdaFunction::start_command(&contender.command, REGION, &env, None).await?;
    ready(&function).await?;
    figures.init_calls = Some(proxy.take());
    let Some(first_op) = contender.ops.first() else {
        return Ok(());
    };
    invoke(&function, first_op).await?;
    figures.first_calls = Some(proxy.take());
    for (op, op_figures) in contender.ops.iter().zip(&mut figures.ops) {
        for _ in 0..WARM_UP {
            invoke(&function, op).await?;
        }
        // Calls sent in parallel show as one round trip only when they overlap at
        // the proxy; the fewest of a few invocations is the code's own sequence.
        let mut fewest: Option<Calls> = None;
        for _ in 0..3 {
            proxy.take();
            invoke(&function, op).await?;
            let calls = proxy.take();
            if fewest
                .as_ref()
                .is_none_or(|f| calls.round_trips < f.round_trips)
            {
                fewest = Some(calls);
            }
        }
        let calls = fewest.unwrap_or_default();
        op_figures.calls = Some(calls);
    }
    Ok(())
}

async fn ready(function: &LambdaFunction) -> Result<Duration> {
    match function.wait_ready(READY_TIMEOUT).await {
        Ok(init) => Ok(init),
        Err(error) => Err(format!("{error}; its log:\n{}", function.logs().join("\n")).into()),
    }
}

/// Invokes, expects a 200, waits until the function is back in `/next`; the duration.
async fn invoke(function: &LambdaFunction, op: &Op) -> Result<Duration> {
    let invocation = function.invoke(op.event(), INVOCATION_TIMEOUT).await?;
    if invocation.status_code() != Some(200) {
        return Err(format!(
            "{}: expected 200, the function answered: {}; its log:\n{}",
            op.name,
            invocation.response,
            function.logs().join("\n")
        )
        .into());
    }
    function.wait_idle(INVOCATION_TIMEOUT).await?;
    Ok(invocation.duration)
}

fn cpu_time(function: &LambdaFunction) -> Result<Duration> {
    Ok(function.cpu_time().ok_or("cannot read schedstat")?)
}
