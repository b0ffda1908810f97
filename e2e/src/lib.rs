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
//! Full mode sends `POST /count`, so it adds visits to the counter; read-only mode
//! ([`Options::read_only`]) changes nothing and is the one to run against production.
//!
//! [`load`] is a load generator for the same URL: throughput, latency percentiles, and
//! a check that the count moved by exactly the number of answered `POST`s.

pub mod cli;
pub mod contract;
pub mod load;

mod checks;
mod error;
mod http;
mod report;

use std::time::Duration;

pub use crate::error::Error;
pub use crate::report::{Check, Exchange, Outcome, Report};

/// The origin used for the foreign-origin checks unless told otherwise: a name under
/// `.invalid`, which can never be a real site on anyone's allow-list.
pub const DEFAULT_FOREIGN_ORIGIN: &str = "https://e2e-foreign.invalid";
/// Concurrent POSTs in the burst check unless told otherwise.
pub const DEFAULT_BURST: usize = 8;
/// The most concurrent POSTs the burst check will send.
pub const MAX_BURST: usize = 1000;
/// Time allowed for each request (connect, answer and body) unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Every check's name, in the order [`verify`] runs them.
///
/// Names are stable: scripts and tests may match on them.
pub const CHECK_NAMES: &[&str] = &[
    checks::GET_COUNT,
    checks::POST_INCREMENTS,
    checks::GET_SEES_POST,
    checks::POST_BURST_DISTINCT,
    checks::CORS_ALLOWED_ORIGIN,
    checks::CORS_ALLOWED_ORIGIN_ERRORS,
    checks::CORS_FOREIGN_ORIGIN,
    checks::CORS_PREFLIGHT,
    checks::CORS_FOREIGN_PREFLIGHT,
    checks::NOT_FOUND,
    checks::METHOD_NOT_ALLOWED,
    checks::PAYLOAD_TOO_LARGE,
    checks::ERRORS_NOT_COUNTED,
    checks::CACHE_CONTROL_NO_STORE,
];

/// How to check a base URL.
///
/// Build it with [`Options::new`] and change the public fields as needed:
///
/// ```
/// let options = e2e::Options {
///     read_only: true,
///     ..e2e::Options::new("https://example.com")
/// };
/// assert_eq!(options.burst, e2e::DEFAULT_BURST);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// An origin on the service's CORS allow-list, such as `https://example.com`
    /// (scheme, host and port only: no path, no trailing slash).
    pub origin: String,
    /// An origin that is *not* on the allow-list; it must get no CORS headers.
    pub foreign_origin: String,
    /// Send nothing that could change the count: no `POST` at all. The checks that
    /// need one are reported as skipped.
    pub read_only: bool,
    /// How many concurrent `POST`s the burst check sends (1 to [`MAX_BURST`]).
    pub burst: usize,
    /// Time allowed for each request, from connecting to the end of the body.
    pub timeout: Duration,
}

impl Options {
    /// Full mode with the defaults: [`DEFAULT_FOREIGN_ORIGIN`], [`DEFAULT_BURST`],
    /// [`DEFAULT_TIMEOUT`].
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            foreign_origin: DEFAULT_FOREIGN_ORIGIN.to_owned(),
            read_only: false,
            burst: DEFAULT_BURST,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Checks the counter at `base_url` against the contract.
///
/// `base_url` is the service's base URL, with its stage path if it has one:
/// `http://127.0.0.1:3000`, `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`
/// (a trailing slash makes no difference). The counter is expected at
/// `<base_url>/count`.
///
/// Returns `Ok` with a report whenever the service answered its first request, even if
/// every check then failed: look at [`Report::all_passed`]. Returns `Err` only when the
/// checker could not start: a malformed base URL or origin, invalid options, or a base
/// URL that does not answer at all ([`Error::Unreachable`]).
///
/// In full mode the count grows by `2 + burst` (the increment check, and the burst).
/// The checks that compare counts (`post-increments`, `post-burst-distinct`,
/// `errors-not-counted`) assume nobody else is counting visits at the same time; under
/// real traffic they can fail spuriously, which is why production is checked in
/// read-only mode.
pub async fn verify(base_url: &str, options: &Options) -> Result<Report, Error> {
    let base = http::base_url(base_url)?;
    check_options(options)?;
    let contract = contract::Contract::load()?;
    let client = http::Client::new(base, options.timeout)?;
    let checks = checks::run(&client, &contract, options).await?;
    Ok(Report::new(
        client.base().to_string(),
        options.origin.clone(),
        options.read_only,
        checks,
    ))
}

/// Makes ring the process's TLS crypto provider, if no provider is installed yet.
///
/// The checker builds reqwest with rustls but without a bundled crypto provider, and
/// reqwest panics when it builds a client and finds none. [`verify`] calls this itself;
/// call it before building your own `reqwest::Client` in a program or test that links
/// this crate. Calling it again does nothing.
pub fn install_tls_provider() {
    // `Err` means a provider is already installed, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn check_options(options: &Options) -> Result<(), Error> {
    http::check_origin(&options.origin)?;
    http::check_origin(&options.foreign_origin)?;
    if options.origin == options.foreign_origin {
        return Err(Error::InvalidOptions(
            "the foreign origin must differ from the allowed origin".to_owned(),
        ));
    }
    if options.burst == 0 || options.burst > MAX_BURST {
        return Err(Error::InvalidOptions(format!(
            "the burst size must be between 1 and {MAX_BURST}, not {}",
            options.burst
        )));
    }
    if options.timeout.is_zero() {
        return Err(Error::InvalidOptions(
            "the request timeout must be more than zero".to_owned(),
        ));
    }
    Ok(())
}
