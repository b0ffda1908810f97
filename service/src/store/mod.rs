//! Where the count lives. Handlers see only [`CounterStore`]; the adapters are
//! DynamoDB (production) and an embedded single-file store (local use).

pub mod dynamodb;
pub mod embedded;

use std::future::Future;

pub use dynamodb::DynamoDbStore;
pub use embedded::EmbeddedStore;

/// The error type the adapters wrap their causes in.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One counter: read it, or add one and learn the new value.
pub trait CounterStore: Send + Sync + 'static {
    /// The current count; a counter never written reads as 0 (and stays unwritten).
    fn get(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Adds one, atomically, and returns the count after this increment.
    fn increment(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Why the store could not answer. The cause is kept for the log; the client
/// only ever sees the status and a generic message (see `crate::problem`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Down, throttled or too slow: worth retrying later (503).
    #[error("storage is unavailable")]
    Unavailable(#[source] BoxError),
    /// The stored value is not a count; it has been left as it is (500).
    #[error("the stored value is not a count: {0}")]
    NotACount(String),
    /// Anything else (500).
    #[error("storage failed")]
    Failed(#[source] BoxError),
}
