//! Why the checker could not run at all (as opposed to a check that failed).

/// The checker could not start, or the service did not answer its first request.
///
/// A service that answers but breaks the contract is not an error: it is a
/// [`Report`](crate::Report) with failed checks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL is not an absolute `http` or `https` URL.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    /// An origin in the options is not a bare origin such as `https://example.com`.
    #[error("invalid origin {origin:?}: {reason}")]
    InvalidOrigin { origin: String, reason: String },
    /// The options are out of range.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The first request got no HTTP answer at all: nothing listens there, the name
    /// does not resolve, TLS failed, or it timed out.
    #[error("cannot reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The first request got an answer, but not the count: not a 200 with a
    /// `{"count": N}` body (the load generator cannot start without it).
    #[error("no count from {url}: {reason}")]
    NoCount { url: String, reason: String },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The contract embedded at build time is not usable (a schema that does not
    /// compile, or a part of the OpenAPI document the checker reads is missing).
    #[error("the embedded contract is unusable: {0}")]
    Contract(String),
}
