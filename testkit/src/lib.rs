//! What the service's tests and the benchmark share, so that neither keeps a copy:
//!
//! - [`dynamodb`]: the DynamoDB Local that `scripts/test` and `scripts/bench` start, a
//!   fresh table per test or run, the counter item read behind the service's back;
//! - [`server`]: the `visitor-counter` binary in local mode, started with a clean
//!   environment, its start-up line read for its address;
//! - [`lambda`]: the same binary as a Lambda function, under a Runtime API emulator;
//! - [`proxy`]: the one proxy, in front of DynamoDB Local or the binary, that meters
//!   what DynamoDB was asked and may delay, lose, drop or replace what it passes;
//! - [`quota`]: the CPU share of a 128 MB Lambda function (a cgroup v1 `cpu` group),
//!   and a process's CPU time;
//! - [`http_client`]: a `reqwest` client with the checker's TLS set-up.
//!
//! Everything returns errors rather than panicking: the benchmark is a program, and a
//! test unwraps.

pub mod dynamodb;
pub mod lambda;
pub mod proxy;
pub mod quota;
pub mod server;

use std::time::Duration;

/// The error type causes are wrapped in.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in the kit (not in the service under test).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No DynamoDB Local to talk to.
    #[error(
        "{}: not set; run with scripts/test or scripts/bench, which install and start DynamoDB Local",
        dynamodb::ENDPOINT_VARIABLE
    )]
    NoDynamoDbLocal,
    /// A call to DynamoDB Local failed.
    #[error("DynamoDB Local: {what}")]
    DynamoDb {
        what: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The stored count is not a count.
    #[error("the stored count is {0}, not a count")]
    NotACount(String),
    /// The binary could not be started, or did not say where it listens.
    #[error("{binary}: {what}")]
    Binary {
        binary: String,
        what: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
}

impl Error {
    fn dynamodb(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::DynamoDb {
            what: what.into(),
            source: Some(source.into()),
        }
    }
}

/// A desktop browser's `User-Agent`: what the kit's client sends, so that what it
/// counts is counted (the service tallies a tool's `User-Agent`, or none, as a bot).
pub const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// How long any request of the kit's client may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `reqwest` client for talking to the service, with [`HTTP_TIMEOUT`].
///
/// reqwest's TLS comes without a crypto provider in this workspace (see the `e2e`
/// crate), so this installs it first.
pub fn http_client() -> Result<reqwest::Client, Error> {
    e2e::install_tls_provider();
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .user_agent(BROWSER_USER_AGENT)
        .build()
        .map_err(Error::HttpClient)
}
