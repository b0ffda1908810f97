//! Why the service could not start or stopped.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{self, COUNTER_DB, LISTEN_ADDR};
use crate::store::StoreError;
use crate::store::dynamodb::ConnectError;

/// Why the service could not start or stopped. Each variant names what to fix (the
/// variable where there is one) and keeps its cause; [`error_chain`](crate::error_chain) makes the one line
/// printed at start-up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A variable has a value the service cannot use.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The DynamoDB store could not be set up (no region, for one).
    #[error(transparent)]
    DynamoDb(#[from] ConnectError),
    /// The embedded store's file could not be opened or created.
    #[error("{COUNTER_DB}: cannot open {}", path.display())]
    EmbeddedStore {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    /// The local server could not listen, or stopped with an error.
    #[error("{LISTEN_ADDR}: cannot serve on {listen}")]
    Listen {
        listen: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not be built (out of threads or memory).
    #[error("cannot start the async runtime")]
    AsyncRuntime(#[source] std::io::Error),
    /// The Lambda runtime stopped with an error.
    #[error("Lambda runtime")]
    Lambda(#[source] lambda_http::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::error_chain;

    #[test]
    fn the_chain_is_one_line_with_every_cause_once() {
        let error = StartError::EmbeddedStore {
            path: PathBuf::from("/data/counter.redb"),
            source: StoreError::Failed("permission denied".into()),
        };
        assert_eq!(
            error_chain(&error),
            "COUNTER_DB: cannot open /data/counter.redb: storage failed: permission denied"
        );
        let error = StartError::from(ConnectError::NoRegion);
        let line = error_chain(&error);
        assert!(line.starts_with("AWS_REGION: "), "{line}");
        assert!(!line.contains("COUNTER_TABLE"), "{line}");
    }
}
