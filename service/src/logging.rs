//! Logging to stderr, as [`Logging`] says. No client address, IP or User-Agent is
//! ever logged: nothing in the service passes one to a log call.

use crate::config::{LogFormat, Logging};

/// The most detail the log ever shows. At `trace` the AWS SDK logs whole DynamoDB
/// answers, the day's salt among them, and a log outlives the salt: with it, a day's
/// visitor markers could be recomputed from guessed addresses. So `trace` logs as `debug`.
pub const MOST_DETAIL: tracing::Level = tracing::Level::DEBUG;

/// Installs the process's log subscriber. Call once, before serving.
pub fn init(logging: &Logging) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(logging.level.min(MOST_DETAIL))
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

#[cfg(test)]
mod tests {
    use super::MOST_DETAIL;
    use tracing::Level;

    #[test]
    fn trace_logs_as_debug_and_quieter_levels_are_kept() {
        assert_eq!(Level::TRACE.min(MOST_DETAIL), Level::DEBUG);
        assert_eq!(Level::DEBUG.min(MOST_DETAIL), Level::DEBUG);
        assert_eq!(Level::INFO.min(MOST_DETAIL), Level::INFO);
        assert_eq!(Level::ERROR.min(MOST_DETAIL), Level::ERROR);
    }
}
