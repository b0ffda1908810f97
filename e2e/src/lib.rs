//! The visitor-counter contract checker.
//!
//! [`verify`] sends real requests to a base URL (a local server, or a deployed stage
//! such as `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`) and checks every
//! answer against the published contract in `contracts/`: the JSON Schemas of the
//! bodies, the status codes, and the headers (`Cache-Control`, CORS, `Allow`). The
//! schemas and the OpenAPI document are embedded at build time (see [`contract`]), so
//! the checker works from any directory.
//!
//! The result is a [`Report`]: one [`Check`] per clause of the contract, each passed,
//! failed or skipped, with the HTTP exchanges that show why ([`Exchange`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), e2e::Error> {
//! let options = e2e::Options::new("https://example.com");
//! let report = e2e::verify("http://127.0.0.1:3000", &options).await?;
//! print!("{report}");
//! assert!(report.all_passed(), "{report}");
//! # Ok(())
//! # }
//! ```
//!
//! Full mode sends `POST /count` and `POST /counters/{name}` (on its own counter,
//! [`Options::counter`]), as a desktop browser ([`agent`]), so it adds visits; read-only mode ([`Options::read_only`])
//! changes nothing and is the one to run against production.
//!
//! The checker paces itself ([`Options::rate`], a token bucket as API Gateway's throttle
//! is) and sends a request answered `429 Too Many Requests` again after its
//! `Retry-After`, a few times ([`THROTTLE_RETRIES`]); the report says which checks were
//! throttled, and a check that got nothing but 429s fails, saying so.
//!
//! [`load`] is a load generator for the same URL, sending through the same HTTP client:
//! throughput, latency percentiles ([`Latency`]), and a check that the count moved by
//! exactly the number of answered `POST`s.
//!
//! Where things are: [`options`] (what the checker is told, and its validation),
//! [`date`] (UTC calendar dates, for the counters' days), the
//! checks a file per contract clause (`checks/`), the HTTP client and its evidence
//! (`http`), the report (`report`), the errors (`error`).

pub mod agent;
pub mod cli;
pub mod contract;
pub mod date;
pub mod latency;
pub mod load;
pub mod options;

mod checks;
mod error;
mod http;
mod pace;
mod report;

pub use crate::checks::{CHECK_NAMES, verify};
pub use crate::error::Error;
pub use crate::http::{DEFAULT_RETRY_WAIT, MAX_RETRY_WAIT, THROTTLE_RETRIES, install_tls_provider};
pub use crate::latency::Latency;
pub use crate::options::{
    DEFAULT_BURST, DEFAULT_COUNTER, DEFAULT_FOREIGN_ORIGIN, DEFAULT_TIMEOUT, MAX_BURST, Options,
    Password,
};
pub use crate::report::{Check, Exchange, Outcome, Report};
