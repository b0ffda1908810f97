use std::process::ExitCode;

use visitor_counter::operator::{self, Invocation};
use visitor_counter::{Config, StartError, error_chain, lambda, logging};

fn main() -> ExitCode {
    match operator::invocation(std::env::args_os()) {
        Invocation::Serve => serve(),
        Invocation::Counters(command) => operator::run(command),
        Invocation::Exit(code) => code,
    }
}

fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return failed(error.runtime_api.clone(), &error.into()),
    };
    logging::init(&config.logging);
    let runtime_api = config.mode.runtime_api().map(str::to_owned);
    match visitor_counter::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => failed(runtime_api, &error),
    }
}

/// One line on stderr; in Lambda also on the Runtime API, so the reason shows in
/// the invocation error instead of a bare exit.
fn failed(runtime_api: Option<String>, error: &StartError) -> ExitCode {
    let line = error_chain(error);
    eprintln!("error: {line}");
    if let Some(api) = runtime_api {
        let _ = lambda::report_init_error(&api, &line);
    }
    ExitCode::FAILURE
}
