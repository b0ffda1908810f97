//! The `e2e` command line.
//!
//! `e2e [verify] --base-url URL --origin ORIGIN [--read-only] [--json] [--burst N]
//! [--timeout-secs S] [--foreign-origin ORIGIN] [--rate N] [--counter NAME]`: `verify` is the default command, so
//! further commands can sit beside it as subcommands.
//!
//! `e2e load --base-url URL [--requests N] [--concurrency C] [--mix GET:POST]
//! [--origin ORIGIN] [--timeout-secs S] [--json]`: the load generator ([`crate::load`]).
//!
//! The operator's `DASHBOARD_PASSWORD`, when the stage has one, is read from the
//! environment variable [`PASSWORD_VARIABLE`], never from an argument (which other
//! users of the machine can see).
//!
//! Exit status: [`EXIT_PASSED`] when every check passed (for `load`: no 5xx, every
//! request answered, the integrity check held), [`EXIT_FAILED`] when any failed,
//! [`EXIT_USAGE`] when the command could not run (bad arguments, a malformed or
//! unreachable URL), with a one-line `error: ...` on stderr.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use serde::Serialize;

use crate::checks::verify as verify_url;
use crate::error::Error;
use crate::http::error_chain;
use crate::load::{DEFAULT_CONCURRENCY, DEFAULT_REQUESTS, LoadOptions, Mix};
use crate::options::{
    DEFAULT_BURST, DEFAULT_COUNTER, DEFAULT_FOREIGN_ORIGIN, DEFAULT_RATE, Options, Password,
};

/// The environment variable `verify` reads the dashboard's password from.
pub const PASSWORD_VARIABLE: &str = "E2E_DASHBOARD_PASSWORD";

/// Every check passed (`load`: no 5xx, every request answered, integrity held).
pub const EXIT_PASSED: u8 = 0;
/// At least one check failed (`load`: a 5xx, a request without an answer, or a count
/// that did not move by exactly the answered `POST`s).
pub const EXIT_FAILED: u8 = 1;
/// The command could not run: bad arguments, or a malformed or unreachable URL.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "e2e",
    version,
    about = "Checks that a visitor-counter base URL honours the published contract, and loads it",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, `verify`'s arguments.
    #[command(flatten)]
    verify: Option<VerifyArgs>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a base URL against the contract (the default command).
    Verify(VerifyArgs),
    /// Send many GET and POST /count at once: throughput, latency, and whether every
    /// answered POST was counted exactly once. Every POST is a real visit: never
    /// point it at production.
    Load(LoadArgs),
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// The service's base URL, with its stage path if any.
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// Requests to send in all (at most 100000).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REQUESTS)]
    requests: u64,
    /// Requests in flight at once (at most 512).
    #[arg(long, value_name = "C", default_value_t = DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// GET:POST weights: 1:1 alternates, 0:1 is POST only, 1:0 GET only.
    #[arg(long, value_name = "GET:POST", default_value_t = Mix::EVEN)]
    mix: Mix,
    /// An Origin header for every request (https://example.com).
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Seconds allowed for each request.
    #[arg(long, value_name = "S", default_value_t = 5)]
    timeout_secs: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The service's base URL, with its stage path if any
    /// (https://abc123.execute-api.eu-west-1.amazonaws.com/prod).
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// An origin on the service's CORS allow-list (https://example.com).
    #[arg(long, value_name = "ORIGIN")]
    origin: String,
    /// Send nothing that changes the count (no POST): for production.
    #[arg(long)]
    read_only: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Concurrent POSTs in the burst check.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BURST)]
    burst: usize,
    /// Seconds allowed for each request.
    #[arg(long, value_name = "S", default_value_t = 5)]
    timeout_secs: u64,
    /// An origin that is not on the allow-list.
    #[arg(long, value_name = "ORIGIN", default_value = DEFAULT_FOREIGN_ORIGIN)]
    foreign_origin: String,
    /// The most requests a second, in bursts of at most --burst (at most 1000).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATE)]
    rate: u32,
    /// The named counter full mode counts on (POST /counters/NAME); read-only mode
    /// reads only site.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_COUNTER)]
    counter: String,
}

/// Runs the command line `args` (the program name first) and returns its exit status.
pub async fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` come through here too, on stdout and with success.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let verify_args = match (cli.command, cli.verify) {
        (Some(Command::Load(args)), _) => return ExitCode::from(load(args).await),
        (Some(Command::Verify(args)), _) | (None, Some(args)) => args,
        (None, None) => return usage_error("give --base-url and --origin (see --help)"),
    };
    ExitCode::from(verify(verify_args).await)
}

async fn load(args: LoadArgs) -> u8 {
    let options = LoadOptions {
        requests: args.requests,
        concurrency: args.concurrency,
        mix: args.mix,
        timeout: Duration::from_secs(args.timeout_secs),
        origin: args.origin,
    };
    let report = match crate::load::run(&args.base_url, &options).await {
        Ok(report) => report,
        Err(error) => return run_error(&error),
    };
    if let Err(error) = print(&report, args.json) {
        let _ = writeln!(std::io::stderr(), "error: cannot print the report: {error}");
        return EXIT_USAGE;
    }
    if report.passed {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

fn print<R: Serialize + std::fmt::Display>(report: &R, json: bool) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, report)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{report}")?;
    }
    stdout.flush()
}

fn run_error(error: &Error) -> u8 {
    let _ = writeln!(std::io::stderr(), "error: {}", error_chain(error));
    EXIT_USAGE
}

async fn verify(args: VerifyArgs) -> u8 {
    let options = Options {
        origin: args.origin,
        foreign_origin: args.foreign_origin,
        read_only: args.read_only,
        counter: args.counter,
        burst: args.burst,
        timeout: Duration::from_secs(args.timeout_secs),
        rate: Some(args.rate),
        dashboard_password: std::env::var(PASSWORD_VARIABLE)
            .ok()
            .filter(|password| !password.is_empty())
            .map(Password::new),
    };
    let report = match verify_url(&args.base_url, &options).await {
        Ok(report) => report,
        Err(error) => return run_error(&error),
    };
    if let Err(error) = print(&report, args.json) {
        let _ = writeln!(std::io::stderr(), "error: cannot print the report: {error}");
        return EXIT_USAGE;
    }
    if report.all_passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

fn usage_error(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(EXIT_USAGE)
}
