//! Logging to stderr, as [`Logging`] says. No client address, IP or User-Agent is
//! ever logged: nothing in the service passes one to a log call.

use crate::config::{LogFormat, Logging};

/// Installs the process's log subscriber. Call once, before serving.
pub fn init(logging: &Logging) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(logging.level)
        .with_writer(std::io::stderr)
        .with_target(false);
    match logging.format {
        LogFormat::LambdaJson => builder.json().without_time().init(),
        LogFormat::LambdaText => builder.without_time().with_ansi(false).init(),
        LogFormat::Terminal => {
            use std::io::IsTerminal;
            builder.with_ansi(std::io::stderr().is_terminal()).init();
        }
    }
}
