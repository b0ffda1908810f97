//! The one report of a run: a struct that serialises to `report.json` and renders
//! `report.md`, with the targets judged once, when it is made.

use std::fmt::Write as _;

use e2e::Latency;
use serde::Serialize;

use crate::Plan;
use crate::lambda::Measured;
use crate::local::{LocalRun, Store};
use crate::quota::{QuotaFigures, V1_POST, V2_GET, V2_POST, V2_POST_KEYED, V2_POST_NEW_VISITOR};

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    /// The binary measured.
    pub binary: String,
    pub plan: Plan,
    /// The first two are not measured with `--quota-only`.
    pub floor: Option<Floor>,
    pub lambda: Option<LambdaFigures>,
    pub local: Vec<LocalRun>,
    /// The 128 MB mode.
    pub quota: Option<QuotaFigures>,
    pub sizes: Sizes,
    /// The targets against what was measured.
    pub targets: Vec<Target>,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_mib: u64,
    pub kernel: String,
    /// `/proc/loadavg`'s 1-minute figure when the run started and when it ended: other
    /// work on the machine moves every figure.
    pub load_at_start: String,
    pub load_at_end: String,
}

/// The store's own calls, one at a time on a single-threaded runtime, interleaved with
/// the warm Lambda invocations on the same table.
#[derive(Debug, Serialize)]
pub struct Floor {
    pub get_item: Option<Latency>,
    pub update_item: Option<Latency>,
}

/// Lambda mode under the runtime emulator; durations in milliseconds.
#[derive(Debug, Serialize)]
pub struct LambdaFigures {
    /// Process spawn to the first `/next`, the DynamoDB warm-up included.
    pub init: Option<Latency>,
    /// CPU time the process used during init.
    pub init_cpu: Option<Latency>,
    /// The certificate bundle named in `SSL_CERT_FILE` for the next two, if one was found.
    pub bundle_file: Option<String>,
    pub init_bundle_only: Option<Latency>,
    pub init_cpu_bundle_only: Option<Latency>,
    /// CPU time per warm invocation, averaged over each cold start's warm loop.
    pub warm_cpu_per_invocation: Option<Latency>,
    pub first_post: Option<Latency>,
    pub warm_get: Option<Latency>,
    pub warm_post: Option<Latency>,
    /// `GET /nothing-here`: runtime API, event and response handling, no storage.
    pub warm_not_found: Option<Latency>,
    pub invocations_per_start: usize,
    /// `VmHWM` after each cold start's invocations.
    pub peak_rss_kib: Vec<u64>,
    /// Anonymous and file-backed RSS at the end of each cold start's invocations.
    pub rss_anon_file_kib: Vec<(u64, u64)>,
    pub log_bytes_per_invocation: f64,
    /// How much the stored count moved for the function's POSTs...
    pub count_moved: u64,
    /// ...and how many POSTs it answered.
    pub posts_answered: u64,
}

#[derive(Debug, Serialize)]
pub struct Sizes {
    pub binary_bytes: u64,
    pub zip: Option<Zip>,
}

#[derive(Debug, Serialize)]
pub struct Zip {
    pub label: String,
    pub bytes: u64,
    /// Whether it is cargo lambda's arm64 build, the one the target is about.
    pub arm64: bool,
}

/// One target and how the run did against it.
#[derive(Debug, Serialize)]
pub struct Target {
    pub figure: &'static str,
    pub target: &'static str,
    pub measured: String,
    /// `None`: what was measured is not what the target is about.
    pub met: Option<bool>,
}

impl Report {
    pub fn new(
        machine: Machine,
        binary: String,
        plan: Plan,
        measured: Option<Measured>,
        local: Vec<LocalRun>,
        quota: Option<QuotaFigures>,
        sizes: Sizes,
    ) -> Self {
        let (floor, lambda) = match measured {
            Some(measured) => (Some(measured.floor), Some(measured.lambda)),
            None => (None, None),
        };
        let mut report = Self {
            machine,
            binary,
            plan,
            floor,
            lambda,
            local,
            quota,
            sizes,
            targets: Vec::new(),
        };
        report.targets = report.judge();
        report
    }

    fn local_run(&self, store: Store, concurrency: usize, post: bool) -> Option<&LocalRun> {
        self.local.iter().find(|run| {
            run.store == store && run.concurrency == concurrency && run.is_post() == post
        })
    }

    fn judge(&self) -> Vec<Target> {
        let mut targets = self.judge_quota();
        if let (Some(lambda), Some(floor)) = (&self.lambda, &self.floor) {
            Self::judge_lambda(lambda, floor, &mut targets);
        }
        for (figure, post) in [
            (
                "local mode GET p50 (HTTP, concurrency 1) / SDK GetItem p50",
                false,
            ),
            (
                "local mode POST p50 (HTTP, concurrency 1) / SDK UpdateItem p50",
                true,
            ),
        ] {
            let run = self.local_run(Store::DynamoDb, 1, post);
            if let Some((latency, floor)) = run.and_then(|run| run.load.latency.zip(run.floor)) {
                targets.push(ratio_target(figure, latency.p50_ms, floor.p50_ms));
            }
        }
        if let Some(peak) = self
            .lambda
            .as_ref()
            .and_then(|lambda| lambda.peak_rss_kib.iter().copied().max())
        {
            targets.push(Target {
                figure: "peak RSS in Lambda mode (VmHWM, worst cold start)",
                target: "<= 10 MB",
                measured: format!("{:.1} MB ({peak} KiB)", kib_to_mb(peak)),
                met: Some(kib_to_mb(peak) <= 10.0),
            });
        }
        targets.push(Target {
            figure: "release binary",
            target: "<= 8 MB",
            measured: mb(self.sizes.binary_bytes),
            met: Some(self.sizes.binary_bytes <= 8_000_000),
        });
        if let Some(zip) = &self.sizes.zip {
            targets.push(Target {
                figure: "arm64 deployment zip",
                target: "<= 5 MB",
                measured: format!("{} ({})", mb(zip.bytes), zip.label),
                met: zip.arm64.then_some(zip.bytes <= 5_000_000),
            });
        }
        if let Some(run) = self.local_run(Store::Embedded, 32, true) {
            targets.push(Target {
                figure: "local mode, embedded store, concurrency 32, POST",
                target: ">= 5,000 POST/s, no lost increment",
                measured: format!(
                    "{:.0} POST/s, integrity {}",
                    run.load.throughput_per_sec,
                    if run.integrity_holds() {
                        "holds"
                    } else {
                        "BROKEN"
                    }
                ),
                met: Some(run.load.throughput_per_sec >= 5000.0 && run.integrity_holds()),
            });
        }
        targets
    }

    fn judge_lambda(lambda: &LambdaFigures, floor: &Floor, targets: &mut Vec<Target>) {
        if let Some(init) = lambda.init {
            targets.push(Target {
                figure: "Lambda init, process start to first /next (median of cold starts)",
                target: "<= 15 ms",
                measured: format!("{:.2} ms", init.p50_ms),
                met: Some(init.p50_ms <= 15.0),
            });
        }
        if let (Some(first), Some(warm)) = (lambda.first_post, lambda.warm_post) {
            let ratio = first.p50_ms / warm.p50_ms;
            targets.push(Target {
                figure: "first invocation / warm invocation (POST, p50)",
                target: "<= 2x",
                measured: format!("{ratio:.2}x ({:.2} / {:.2} ms)", first.p50_ms, warm.p50_ms),
                met: Some(ratio <= 2.0),
            });
        }
        for (figure, warm, floor) in [
            (
                "warm Lambda GET p50 / SDK GetItem p50",
                lambda.warm_get,
                floor.get_item,
            ),
            (
                "warm Lambda POST p50 / SDK UpdateItem p50",
                lambda.warm_post,
                floor.update_item,
            ),
        ] {
            if let (Some(warm), Some(floor)) = (warm, floor) {
                targets.push(ratio_target(figure, warm.p50_ms, floor.p50_ms));
            }
        }
    }

    /// The targets of the 128 MB mode, all at v2's `POST` of a named counter.
    fn judge_quota(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        let Some(quota) = &self.quota else {
            return targets;
        };
        let Some(rust) = quota.contender("this service") else {
            return targets;
        };
        let python = quota.contender("Python");
        let python_op = python.and_then(|p| p.ops.first());
        let times = |ours: f64, theirs: Option<f64>| match theirs {
            Some(theirs) => format!(", {:.1}x less than Python's {theirs:.3} ms", theirs / ours),
            None => String::new(),
        };
        if let Some(cpu) = rust.op(V2_POST.name).and_then(|op| op.cpu_per_invocation) {
            let theirs = python_op
                .and_then(|op| op.cpu_per_invocation)
                .map(|l| l.p50_ms);
            targets.push(Target {
                figure: "CPU per warm invocation, v2 POST (median of cold starts)",
                target: "<= 0.25 ms and >= 8x less than Python",
                measured: format!("{:.3} ms{}", cpu.p50_ms, times(cpu.p50_ms, theirs)),
                met: Some(cpu.p50_ms <= 0.25 && theirs.is_none_or(|t| t >= 8.0 * cpu.p50_ms)),
            });
        }
        if let Some(init) = rust.init_cpu {
            let theirs = python.and_then(|p| p.init_cpu).map(|l| l.p50_ms);
            targets.push(Target {
                figure: "init CPU, spawn to first /next (median of cold starts)",
                target: "<= 4 ms and >= 40x less than Python",
                measured: format!(
                    "{:.3} ms{}{}",
                    init.p50_ms,
                    times(init.p50_ms, theirs),
                    rust.init_cpu_bundle_only
                        .map_or(String::new(), |bundle| format!(
                            "; {:.3} ms with only the bundle of roots read (SSL_CERT_FILE)",
                            bundle.p50_ms
                        ))
                ),
                met: Some(init.p50_ms <= 4.0 && theirs.is_none_or(|t| t >= 40.0 * init.p50_ms)),
            });
        }
        if let (Some(ours), Some(theirs)) = (
            rust.op(V2_POST.name).and_then(|op| op.wall),
            python_op.and_then(|op| op.wall),
        ) {
            targets.push(Target {
                figure: "wall p50 under the 128 MB quota, v2 POST",
                target: "<= half of Python's",
                measured: format!(
                    "{:.2} ms against Python's {:.2} ms ({:.2}x)",
                    ours.p50_ms,
                    theirs.p50_ms,
                    ours.p50_ms / theirs.p50_ms
                ),
                met: Some(ours.p50_ms <= theirs.p50_ms / 2.0),
            });
        }
        if let Some(peak) = rust.peak_rss_kib() {
            targets.push(Target {
                figure: "peak RSS under the 128 MB quota (VmHWM, worst cold start)",
                target: "<= 10 MB",
                measured: format!("{:.1} MB ({peak} KiB)", kib_to_mb(peak)),
                met: Some(kib_to_mb(peak) <= 10.0),
            });
        }
        targets
    }

    /// The 128 MB mode, side by side with Python's.
    fn quota_markdown(&self) -> String {
        let mut md = String::new();
        let Some(quota) = &self.quota else {
            return md;
        };
        let _ = writeln!(
            md,
            "\n## The 128 MB mode: each function alone on a 128 MB Lambda's CPU share\n\n\
             A cgroup v1 `cpu` group with `cpu.cfs_quota_us` = {} per `cpu.cfs_period_us` = {} \
             ({} MB of 1,769 MB per vCPU), the function alone in it, under the same Runtime API \
             emulator and DynamoDB Local; {} warm invocations of each operation after each cold \
             start, back to back (v1's and v2's `POST`s from one visitor, so repeat views after \
             the first, v2's `POST` from a new visitor each time, and v2's `POST` from one visitor \
             with an `Idempotency-Key` of its own each time, as the embed script sends it). CPU time is `/proc/PID/task/*/schedstat`; what each operation \
             asks of DynamoDB comes from a recording proxy in front of DynamoDB Local (one more \
             cold start, without the quota).\n",
            quota.quota_us, quota.period_us, quota.memory_mb, quota.warm_per_op
        );
        for note in &quota.notes {
            let _ = writeln!(md, "Note: {note}.\n");
        }
        let rust = quota.contender("this service");
        let python = quota.contender("Python");
        let mut columns: Vec<(String, Option<&crate::quota::OpFigures>)> = Vec::new();
        for name in [
            V1_POST.name,
            V2_POST.name,
            V2_POST_NEW_VISITOR.name,
            V2_POST_KEYED.name,
            V2_GET.name,
        ] {
            columns.push((
                format!("this service: {name}"),
                rust.and_then(|r| r.op(name)),
            ));
        }
        if let Some(python) = python {
            for op in &python.ops {
                columns.push((format!("Python + boto3: {}", op.name), Some(op)));
            }
        }
        let _ = write!(md, "| per warm invocation |");
        for (name, _) in &columns {
            let _ = write!(md, " {name} |");
        }
        let _ = write!(md, "\n| --- |");
        for _ in &columns {
            let _ = write!(md, " ---: |");
        }
        md.push('\n');
        type Cell = fn(&crate::quota::OpFigures) -> String;
        let rows: [(&str, Cell); 9] = [
            ("CPU, ms (median of cold starts)", |op| {
                ms(op.cpu_per_invocation, |l| l.p50_ms)
            }),
            ("of which in the kernel (ticks of /proc/PID/stat)", |op| {
                op.kernel_share
                    .map_or("-".to_owned(), |share| format!("{:.0}%", share * 100.0))
            }),
            ("wall under the quota, p50 ms", |op| {
                ms(op.wall, |l| l.p50_ms)
            }),
            ("wall under the quota, p99 ms", |op| {
                ms(op.wall, |l| l.p99_ms)
            }),
            (
                "wall under the quota, mean ms (sustained, back to back)",
                |op| {
                    op.wall_mean_ms
                        .map_or("-".to_owned(), |mean| format!("{mean:.3}"))
                },
            ),
            ("DynamoDB calls", |op| {
                op.calls
                    .as_ref()
                    .map_or("-".to_owned(), testkit::proxy::Calls::operations_text)
            }),
            ("DynamoDB round trips in sequence", |op| {
                op.calls
                    .as_ref()
                    .map_or("-".to_owned(), |c| c.round_trips.to_string())
            }),
            ("write units (as DynamoDB reported them)", |op| {
                units(op.calls.as_ref().and_then(|c| c.write_units))
            }),
            ("read units", |op| {
                units(op.calls.as_ref().and_then(|c| c.read_units))
            }),
        ];
        for (label, cell) in rows {
            let _ = write!(md, "| {label} |");
            for (_, op) in &columns {
                let _ = write!(md, " {} |", op.map_or("-".to_owned(), cell));
            }
            md.push('\n');
        }
        let _ = writeln!(
            md,
            "\n| per cold start | this service | Python + boto3 |\n| --- | ---: | ---: |"
        );
        type Whole = fn(&crate::quota::ContenderFigures) -> String;
        let whole: [(&str, Whole); 8] = [
            ("cold starts", |c| c.cold_starts.to_string()),
            ("init CPU, spawn to first `/next`, ms (median)", |c| {
                ms(c.init_cpu, |l| l.p50_ms)
            }),
            (
                "init CPU with only the bundle of roots read (`SSL_CERT_FILE`, as on AL2023), ms (median)",
                |c| ms(c.init_cpu_bundle_only, |l| l.p50_ms),
            ),
            ("init wall under the quota, ms (median)", |c| {
                ms(c.init_wall, |l| l.p50_ms)
            }),
            ("first invocation under the quota, ms (median)", |c| {
                ms(c.first_invocation, |l| l.p50_ms)
            }),
            ("DynamoDB calls during init", |c| {
                c.init_calls.as_ref().map_or("-".to_owned(), |calls| {
                    none_if_empty(calls.operations_text())
                })
            }),
            ("DynamoDB calls of the first invocation", |c| {
                c.first_calls.as_ref().map_or("-".to_owned(), |calls| {
                    none_if_empty(calls.operations_text())
                })
            }),
            ("peak RSS (VmHWM, worst cold start), MB", |c| {
                c.peak_rss_kib()
                    .map_or("-".to_owned(), |kib| format!("{:.1}", kib_to_mb(kib)))
            }),
        ];
        for (label, cell) in whole {
            let _ = writeln!(
                md,
                "| {label} | {} | {} |",
                rust.map_or("-".to_owned(), cell),
                python.map_or("not run".to_owned(), cell)
            );
        }
        let _ = writeln!(
            md,
            "\nUnits are as DynamoDB Local reported them: the recording proxy asks every call \
             of both for `ReturnConsumedCapacity = TOTAL`."
        );
        md
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# visitor-counter benchmark\n");
        let _ = writeln!(
            md,
            "Machine: {} CPUs ({}), {} MiB memory, Linux {}; load average {} at the start, {} at the end. \
             DynamoDB Local in memory on the same machine. Binary: `{}`.\n",
            m.cpus,
            m.cpu_model,
            m.memory_mib,
            m.kernel,
            m.load_at_start,
            m.load_at_end,
            self.binary
        );

        let _ = writeln!(md, "## Targets\n");
        let _ = writeln!(md, "| figure | target | measured | met? |");
        let _ = writeln!(md, "| --- | --- | --- | --- |");
        for t in &self.targets {
            let met = match t.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "not measured",
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {met} |",
                t.figure, t.target, t.measured
            );
        }

        md.push_str(&self.quota_markdown());
        if let (Some(floor), Some(l)) = (&self.floor, &self.lambda) {
            let _ = writeln!(
                md,
                "\n## 1. The floor: the store alone, one call at a time on a single-threaded runtime, \
                 interleaved with the warm Lambda invocations on the same table\n"
            );
            let _ = writeln!(md, "| call | samples | p50 ms | p90 ms | p99 ms |");
            let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: |");
            for (name, latency) in [
                ("GetItem (consistent)", floor.get_item),
                ("UpdateItem (ADD, UPDATED_NEW)", floor.update_item),
            ] {
                if let Some(l) = latency {
                    let _ = writeln!(
                        md,
                        "| {name} | {} | {:.3} | {:.3} | {:.3} |",
                        l.samples, l.p50_ms, l.p90_ms, l.p99_ms
                    );
                }
            }

            let _ = writeln!(md, "\n## 2. Lambda mode, under the runtime emulator\n");
            let _ = writeln!(md, "| figure | p50 | p99 | min | max | samples |");
            let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for (name, latency) in [
                (
                    "init: process start to first `/next` (incl. DynamoDB warm-up), ms",
                    l.init,
                ),
                ("first invocation (POST), ms", l.first_post),
                ("warm GET, ms", l.warm_get),
                ("warm POST, ms", l.warm_post),
                (
                    "warm 404 (no storage call: the Lambda path's own cost), ms",
                    l.warm_not_found,
                ),
                ("CPU time of the process during init, ms", l.init_cpu),
                (
                    "init with only the certificate bundle file read (SSL_CERT_FILE, as on AL2023), ms",
                    l.init_bundle_only,
                ),
                ("CPU time during that init, ms", l.init_cpu_bundle_only),
                (
                    "CPU time per warm invocation (mean of each cold start's GET/POST loop), ms",
                    l.warm_cpu_per_invocation,
                ),
            ] {
                if let Some(s) = latency {
                    let _ = writeln!(
                        md,
                        "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                        s.p50_ms, s.p99_ms, s.min_ms, s.max_ms, s.samples
                    );
                }
            }
            let rss = |pick: fn(&(u64, u64)) -> u64| {
                kib_to_mb(l.rss_anon_file_kib.iter().map(pick).max().unwrap_or(0))
            };
            let _ = writeln!(
                md,
                "\nPeak RSS (VmHWM after {} invocations): {:.1} MB worst, {:.1} MB best of {} cold starts; \
                 at the end, {:.1} MB anonymous (heap, stacks) + {:.1} MB file-backed (code and data \
                 pages of the binary and libc). \
                 Log output: {:.0} bytes per invocation. \
                 The count moved by {} for {} POSTs answered.",
                l.invocations_per_start,
                kib_to_mb(l.peak_rss_kib.iter().copied().max().unwrap_or(0)),
                kib_to_mb(l.peak_rss_kib.iter().copied().min().unwrap_or(0)),
                l.peak_rss_kib.len(),
                rss(|(anon, _)| *anon),
                rss(|(_, file)| *file),
                l.log_bytes_per_invocation,
                l.count_moved,
                l.posts_answered
            );
        }

        let _ = writeln!(
            md,
            "\n## 3. Local mode (e2e load generator, over loopback HTTP/1.1)\n"
        );
        let _ = writeln!(
            md,
            "| store | request | concurrency | requests | p50 ms | p90 ms | p99 ms | throughput /s | errors | integrity |"
        );
        let _ = writeln!(
            md,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
        );
        for run in &self.local {
            let latency = run.load.latency;
            let integrity = match (run.is_post(), run.integrity_holds()) {
                (false, true) => "n/a (reads)",
                (false, false) => "FAILED",
                (true, true) => "holds",
                (true, false) => "**BROKEN**",
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.0} | {} | {integrity} |",
                run.store.name(),
                run.request,
                run.concurrency,
                run.load.sent,
                latency.map_or(f64::NAN, |l| l.p50_ms),
                latency.map_or(f64::NAN, |l| l.p90_ms),
                latency.map_or(f64::NAN, |l| l.p99_ms),
                run.load.throughput_per_sec,
                run.load.errors + run.load.server_errors,
            );
        }

        let _ = writeln!(md, "\n## 4. Size\n");
        let _ = writeln!(md, "| artefact | size |");
        let _ = writeln!(md, "| --- | ---: |");
        let _ = writeln!(
            md,
            "| release binary (x86_64, stripped) | {} |",
            mb(self.sizes.binary_bytes)
        );
        if let Some(zip) = &self.sizes.zip {
            let _ = writeln!(md, "| {} | {} |", zip.label, mb(zip.bytes));
        }
        md
    }
}

fn ms(latency: Option<Latency>, pick: fn(&Latency) -> f64) -> String {
    latency.map_or("-".to_owned(), |l| format!("{:.3}", pick(&l)))
}

fn units(units: Option<f64>) -> String {
    units.map_or("not reported".to_owned(), |u| format!("{u}"))
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "none".to_owned()
    } else {
        text
    }
}

fn ratio_target(figure: &'static str, measured_ms: f64, floor_ms: f64) -> Target {
    let ratio = measured_ms / floor_ms;
    Target {
        figure,
        target: "<= 1.10",
        measured: format!("{ratio:.3} ({measured_ms:.3} / {floor_ms:.3} ms)"),
        met: Some(ratio <= 1.10),
    }
}

impl Machine {
    /// The machine as it is now; `load_at_start` was read when the run began.
    pub fn now(load_at_start: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |text: &str, name: &str| {
            text.lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_once(':'))
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_default()
        };
        Self {
            cpus: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            cpu_model: field(&cpuinfo, "model name"),
            memory_mib: field(&meminfo, "MemTotal")
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .map_or(0, |kib| kib / 1024),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            load_at_start,
            load_at_end: load_average(),
        }
    }
}

/// `/proc/loadavg`'s 1-minute figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

/// Sizes in decimal megabytes (10^6 bytes), the stricter reading of the targets.
fn mb(bytes: u64) -> String {
    format!("{:.2} MB ({bytes} bytes)", bytes as f64 / 1e6)
}

fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

#[cfg(test)]
mod tests {

    use std::time::Duration;

    use super::*;

    fn latency(ms: &[u64]) -> Option<Latency> {
        Latency::of(ms.iter().map(|&ms| Duration::from_millis(ms)))
    }

    fn report() -> Report {
        let lambda = LambdaFigures {
            init: latency(&[12, 14, 30]),
            init_cpu: latency(&[9]),
            bundle_file: None,
            init_bundle_only: None,
            init_cpu_bundle_only: None,
            warm_cpu_per_invocation: latency(&[1]),
            first_post: latency(&[3]),
            warm_get: latency(&[1, 2]),
            warm_post: latency(&[2, 2]),
            warm_not_found: latency(&[1]),
            invocations_per_start: 3,
            peak_rss_kib: vec![8000, 8400],
            rss_anon_file_kib: vec![(1000, 7000)],
            log_bytes_per_invocation: 0.0,
            count_moved: 4,
            posts_answered: 4,
        };
        let measured = Measured {
            lambda,
            floor: Floor {
                get_item: latency(&[1]),
                update_item: None,
            },
        };
        let sizes = Sizes {
            binary_bytes: 7_000_000,
            zip: Some(Zip {
                label: "x86_64 stand-in".to_owned(),
                bytes: 3_000_000,
                arm64: false,
            }),
        };
        let machine = Machine {
            cpus: 2,
            cpu_model: "test".to_owned(),
            memory_mib: 1024,
            kernel: "6.0".to_owned(),
            load_at_start: "0.5".to_owned(),
            load_at_end: "0.7".to_owned(),
        };
        Report::new(
            machine,
            "bin".to_owned(),
            Plan::FULL,
            Some(measured),
            Vec::new(),
            None,
            sizes,
        )
    }

    #[test]
    fn the_targets_are_judged_once_and_both_renderings_carry_them() {
        let report = report();
        let figures: Vec<&str> = report.targets.iter().map(|t| t.figure).collect();
        assert_eq!(
            figures,
            [
                "Lambda init, process start to first /next (median of cold starts)",
                "first invocation / warm invocation (POST, p50)",
                "warm Lambda GET p50 / SDK GetItem p50",
                "peak RSS in Lambda mode (VmHWM, worst cold start)",
                "release binary",
                "arm64 deployment zip",
            ]
        );
        // The x86_64 stand-in is not what the arm64 target is about.
        assert_eq!(report.targets[5].met, None);
        assert_eq!(report.targets[0].measured, "14.00 ms");

        let markdown = report.markdown();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["targets"].as_array().unwrap().len(), figures.len());
        for target in &report.targets {
            assert!(
                markdown.contains(&format!(
                    "| {} | {} | {} |",
                    target.figure, target.target, target.measured
                )),
                "{markdown}"
            );
        }
        assert_eq!(json["lambda"]["init"]["p50_ms"], 14.0);
        assert!(markdown.contains(
            "| init: process start to first `/next` (incl. DynamoDB warm-up), ms | 14.000 |"
        ));
    }
}
