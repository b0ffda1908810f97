//! The `e2e` command line.
//!
//! `e2e [verify] --base-url URL --origin ORIGIN [--read-only] [--json] [--burst N]
//! [--timeout-secs S] [--foreign-origin ORIGIN]`: `verify` is the default command, so
//! further commands can sit beside it as subcommands.
//!
//! Exit status: [`EXIT_PASSED`] when every check passed, [`EXIT_FAILED`] when any
//! failed, [`EXIT_USAGE`] when the checker could not run (bad arguments, a malformed or
//! unreachable URL), with a one-line `error: ...` on stderr.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::{DEFAULT_BURST, DEFAULT_FOREIGN_ORIGIN, Options, Report};

/// Every check passed.
pub const EXIT_PASSED: u8 = 0;
/// At least one check failed.
pub const EXIT_FAILED: u8 = 1;
/// The checker could not run: bad arguments, or a malformed or unreachable URL.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "e2e",
    version,
    about = "Checks that a visitor-counter base URL honours the published contract",
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
        (Some(Command::Verify(args)), _) | (None, Some(args)) => args,
        (None, None) => return usage_error("give --base-url and --origin (see --help)"),
    };
    ExitCode::from(verify(verify_args).await)
}

async fn verify(args: VerifyArgs) -> u8 {
    let options = Options {
        origin: args.origin,
        foreign_origin: args.foreign_origin,
        read_only: args.read_only,
        burst: args.burst,
        timeout: Duration::from_secs(args.timeout_secs),
    };
    let report = match crate::verify(&args.base_url, &options).await {
        Ok(report) => report,
        Err(error) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                crate::http::error_chain(&error)
            );
            return EXIT_USAGE;
        }
    };
    if let Err(error) = print_report(&report, args.json) {
        let _ = writeln!(std::io::stderr(), "error: cannot print the report: {error}");
        return EXIT_USAGE;
    }
    if report.all_passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

fn print_report(report: &Report, json: bool) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, report)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{report}")?;
    }
    stdout.flush()
}

fn usage_error(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(EXIT_USAGE)
}
