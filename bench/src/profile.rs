//! `--profile`: where the function's CPU goes, in instructions, which callgrind counts
//! the same whatever else the machine is doing.
//!
//! The binary (the `profiling` build: the release build with its symbols) runs under
//! `valgrind --tool=callgrind` as a Lambda function under the emulator, on DynamoDB
//! Local. Its counts are dumped once at the first `/next` (init), then zeroed after a
//! few warm-up invocations and dumped again after `invocations` warm `POST`s of v2's
//! named counter from one visitor (the per-invocation path, `/next` to `/response` and
//! back), and again after as many from a new visitor each time. Each dump is
//! summarised by `callgrind_annotate` (exclusive and inclusive) into `out`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use testkit::lambda::{FunctionCommand, LambdaFunction};

use crate::quota::{EVENT_ORIGIN, Op, V1_POST, V2_GET, V2_POST, V2_POST_NEW_VISITOR};
use crate::{REGION, Result, say};

/// Everything runs some 50 times slower under callgrind.
const TIMEOUT: Duration = Duration::from_secs(120);
const WARM_UP: usize = 5;
/// How many entries of each summary are printed.
const TOP: usize = 25;

pub async fn profile(
    admin: &Client,
    binary: &Path,
    endpoint: &str,
    out: &Path,
    invocations: usize,
) -> Result<()> {
    std::fs::create_dir_all(out)?;
    for stale in std::fs::read_dir(out)? {
        let path = stale?.path();
        if path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("callgrind.out"))
        {
            std::fs::remove_file(path)?;
        }
    }
    let table = testkit::dynamodb::fresh_table(admin, "profile").await?;
    let mut env = testkit::dynamodb::function_env(endpoint, &table);
    env.push(("ALLOWED_ORIGINS".to_owned(), EVENT_ORIGIN.to_owned()));
    let data = out.join("callgrind.out");
    let command = FunctionCommand::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", data.display()))
        .arg(binary);
    say(&format!("profiling {} under callgrind", binary.display()));
    let function = LambdaFunction::start_command(&command, REGION, &env, None).await?;
    if let Err(error) = function.wait_ready(TIMEOUT).await {
        return Err(format!("{error}; its log:\n{}", function.logs().join("\n")).into());
    }
    let pid = function.pid();
    control(pid, &["--dump=init"])?;
    for op in [V1_POST, V2_POST, V2_GET] {
        for _ in 0..WARM_UP {
            invoke(&function, &op).await?;
        }
    }
    control(pid, &["--zero"])?;
    for _ in 0..invocations {
        invoke(&function, &V2_POST).await?;
    }
    control(pid, &["--dump=warm"])?;
    for _ in 0..WARM_UP {
        invoke(&function, &V2_POST_NEW_VISITOR).await?;
    }
    control(pid, &["--zero"])?;
    for _ in 0..invocations {
        invoke(&function, &V2_POST_NEW_VISITOR).await?;
    }
    control(pid, &["--dump=new-visitor"])?;
    drop(function);

    let dumps = dumps(&data)?;
    let [init, warm, new_visitor, ..] = dumps.as_slice() else {
        return Err(format!(
            "expected three dumps next to {}, found {dumps:?}",
            data.display()
        )
        .into());
    };
    let mut summary = String::new();
    for (name, file, dump, per) in [
        ("init", "init", init, 1),
        ("warm v2 POST, a repeat view", "warm", warm, invocations),
        (
            "warm v2 POST, a new visitor each time",
            "new-visitor",
            new_visitor,
            invocations,
        ),
    ] {
        for inclusive in [false, true] {
            let text = annotate(dump, inclusive)?;
            let kind = if inclusive { "inclusive" } else { "self" };
            std::fs::write(out.join(format!("{file}-{kind}.txt")), &text)?;
            summary.push_str(&summarise(name, kind, &text, per));
        }
    }
    std::fs::write(out.join("summary.md"), &summary)?;
    print!("{summary}");
    say(&format!(
        "wrote {} (callgrind_annotate's full listings next to it; the raw dumps are {:?})",
        out.join("summary.md").display(),
        dumps
    ));
    Ok(())
}

async fn invoke(function: &LambdaFunction, op: &Op) -> Result<()> {
    let invocation = function.invoke(op.event(), TIMEOUT).await?;
    if invocation.status_code() != Some(200) {
        return Err(format!("{}: the function answered {}", op.name, invocation.response).into());
    }
    function.wait_idle(TIMEOUT).await?;
    Ok(())
}

/// `callgrind_control ARGS PID`: dumps or zeroes the running process's counts.
fn control(pid: u32, args: &[&str]) -> Result<()> {
    let status = Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("callgrind_control {args:?} {pid}: {status}").into());
    }
    Ok(())
}

/// The numbered dumps (`callgrind.out.1`, `.2`, ...) in order.
fn dumps(data: &Path) -> Result<Vec<PathBuf>> {
    let dir = data.parent().ok_or("the dump has no directory")?;
    let prefix = format!(
        "{}.",
        data.file_name()
            .ok_or("the dump has no name")?
            .to_string_lossy()
    );
    let mut numbered = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(n) = name
            .strip_prefix(&prefix)
            .and_then(|n| n.parse::<u32>().ok())
        {
            numbered.push((n, path));
        }
    }
    numbered.sort();
    Ok(numbered.into_iter().map(|(_, path)| path).collect())
}

fn annotate(dump: &Path, inclusive: bool) -> Result<String> {
    let output = Command::new("callgrind_annotate")
        .arg(format!(
            "--inclusive={}",
            if inclusive { "yes" } else { "no" }
        ))
        .arg("--threshold=100")
        .arg(dump)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "callgrind_annotate {}: {}",
            dump.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The total and the top entries of one listing, per invocation, as Markdown.
fn summarise(name: &str, kind: &str, listing: &str, per: usize) -> String {
    let per = per.max(1) as f64;
    let number = |text: &str| text.replace(',', "").parse::<f64>().ok();
    let total = listing
        .lines()
        .find(|line| line.contains("PROGRAM TOTALS"))
        .and_then(|line| line.split_whitespace().next().and_then(number));
    let mut md = format!(
        "\n### {name} ({kind}){}\n\n",
        if per > 1.0 {
            format!(", per invocation (mean of {per})")
        } else {
            String::new()
        }
    );
    if let Some(total) = total {
        md.push_str(&format!(
            "Instructions: {:.0}{}\n\n",
            total / per,
            if per > 1.0 { " per invocation" } else { "" }
        ));
    }
    md.push_str("| instructions | % | function |\n| ---: | ---: | --- |\n");
    let mut rows = 0;
    for line in listing.lines() {
        let mut parts = line.trim_start().splitn(2, ' ');
        let (Some(count), Some(rest)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Some(count) = number(count) else { continue };
        if rest.contains("PROGRAM TOTALS") || !rest.contains(':') {
            continue;
        }
        // The frames on the stack when the counts were dumped (main and below) show
        // the whole total, as their own too; recursive cycles (`name'2`) more than it.
        // Neither says where the time went.
        if total.is_some_and(|total| count >= total * 0.999) {
            continue;
        }
        // `(12.34%)  file:function [object]`
        let rest = rest.trim();
        let (percent, function) = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
            Some((percent, function)) => (percent.trim(), function.trim()),
            None => ("", rest),
        };
        let function = function
            .split_once(':')
            .map_or(function, |(_, f)| f)
            .replace('|', "\\|");
        let function = match function.rfind(" [") {
            Some(at) => function[..at].to_owned(),
            None => function,
        };
        if function
            .rsplit_once('\'')
            .is_some_and(|(_, depth)| depth.parse::<u32>().is_ok())
        {
            continue;
        }
        md.push_str(&format!(
            "| {:.0} | {percent} | `{}` |\n",
            count / per,
            shorten(&function)
        ));
        rows += 1;
        if rows == TOP {
            break;
        }
    }
    md
}

fn shorten(function: &str) -> String {
    const MAX: usize = 140;
    if function.chars().count() <= MAX {
        function.to_owned()
    } else {
        let cut: String = function.chars().take(MAX).collect();
        format!("{cut}...")
    }
}
