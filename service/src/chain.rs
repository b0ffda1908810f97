//! One line for an error and its causes: what the start-up line, the operator
//! commands and every log of a failure print.

/// `error: cause: cause ...`, one line: the error and each of its sources in turn.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
