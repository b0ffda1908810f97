//! `e2e`: checks a visitor-counter URL against the published contract.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    e2e::cli::run(std::env::args_os()).await
}
