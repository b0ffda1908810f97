use std::process::ExitCode;

use visitor_counter::config::AWS_LAMBDA_RUNTIME_API;
use visitor_counter::{Config, lambda};

fn main() -> ExitCode {
    let runtime_api = std::env::var(AWS_LAMBDA_RUNTIME_API).ok();
    init_logging(runtime_api.is_some());

    // Lambda runs one invocation at a time: a single-threaded runtime starts faster.
    let runtime = match runtime_api {
        Some(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };

    let result = runtime.block_on(async {
        let config = Config::from_env()?;
        visitor_counter::run(config).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(api) = runtime_api {
                let _ = runtime.block_on(lambda::report_init_error(&api, &error.to_string()));
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; as JSON lines in Lambda when the function's log format is JSON.
fn init_logging(lambda: bool) {
    let level = match std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")) {
        Ok(level) => level.parse().unwrap_or(tracing::Level::INFO),
        Err(_) => tracing::Level::INFO,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false);
    let json = lambda && std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f == "JSON");
    if json {
        builder.json().without_time().init();
    } else if lambda {
        builder.without_time().with_ansi(false).init();
    } else {
        use std::io::IsTerminal;
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}
