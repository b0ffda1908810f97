//! What the checker is told: the base URL, the origins, the limits, and the checks that
//! every one of them is usable before anything is sent. The load generator's options
//! ([`LoadOptions`](crate::load::LoadOptions)) are checked with the same functions.

use std::time::Duration;

use reqwest::Url;

use crate::error::Error;

/// The origin used for the foreign-origin checks unless told otherwise: a name under
/// `.invalid`, which can never be a real site on anyone's allow-list.
pub const DEFAULT_FOREIGN_ORIGIN: &str = "https://e2e-foreign.invalid";
/// The counter the full mode counts on unless told otherwise: its own, so that the
/// checks of named counters move nobody's numbers but the checker's.
pub const DEFAULT_COUNTER: &str = "e2e-check";
/// Concurrent POSTs in the burst check unless told otherwise.
pub const DEFAULT_BURST: usize = 8;
/// The most concurrent POSTs the burst check will send.
pub const MAX_BURST: usize = 1000;
/// Time allowed for each request (connect, answer and body) unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests a second the checker sends at most unless told otherwise: a fifth of the
/// staging stage's throttle (`terraform/environments/staging.tfvars`), so that a run
/// never meets it.
pub const DEFAULT_RATE: u32 = 10;
/// The highest pace the checker can be set to.
pub const MAX_RATE: u32 = 1000;

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
    /// The named counter full mode counts on (`POST /counters/{counter}`), a valid name
    /// that the service allows; names that start with it and a `-` must be allowed
    /// too, for the never-counted names of `counter-get-no-write`,
    /// `idempotency-key-reused` and `bot-not-counted`, and the two new counters of
    /// `totals-visitors`. Read-only mode only reads `site`.
    pub counter: String,
    /// How many concurrent `POST`s the burst check sends (1 to [`MAX_BURST`]).
    pub burst: usize,
    /// Time allowed for each request, from connecting to the end of the body.
    pub timeout: Duration,
    /// The most requests a second the checker sends (1 to [`MAX_RATE`]), in bursts of
    /// at most [`burst`](Self::burst): a token bucket, as API Gateway throttles. `None`
    /// sends each request as soon as the one before it is answered.
    pub rate: Option<u32>,
    /// The operator's `DASHBOARD_PASSWORD`, if the stage has one: sent (HTTP Basic, user
    /// name `e2e`) with the `GET`s of `/dashboard` and `/counters`, so that the checks
    /// that read them can. Without it, a private page's `401` is checked and noted, and
    /// the checks that need the list skip that part.
    pub dashboard_password: Option<Password>,
}

/// A password: kept out of `Debug`, the report and its evidence.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    pub(crate) fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(not shown)")
    }
}

impl Options {
    /// Full mode with the defaults: [`DEFAULT_FOREIGN_ORIGIN`], [`DEFAULT_COUNTER`],
    /// [`DEFAULT_BURST`], [`DEFAULT_TIMEOUT`], [`DEFAULT_RATE`].
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            foreign_origin: DEFAULT_FOREIGN_ORIGIN.to_owned(),
            read_only: false,
            counter: DEFAULT_COUNTER.to_owned(),
            burst: DEFAULT_BURST,
            timeout: DEFAULT_TIMEOUT,
            rate: Some(DEFAULT_RATE),
            dashboard_password: None,
        }
    }

    /// Every option usable, or the first that is not.
    pub(crate) fn check(&self) -> Result<(), Error> {
        check_origin(&self.origin)?;
        check_origin(&self.foreign_origin)?;
        if self.origin == self.foreign_origin {
            return Err(Error::InvalidOptions(
                "the foreign origin must differ from the allowed origin".to_owned(),
            ));
        }
        check_range("the burst size", self.burst, MAX_BURST, "")?;
        if let Some(rate) = self.rate {
            check_range("the rate (requests a second)", rate, MAX_RATE, "")?;
        }
        check_timeout(self.timeout)
    }
}

/// Parses a base URL and makes it a directory (trailing `/`), so that joining
/// `count` keeps a stage path: `https://host/prod` -> `https://host/prod/count`.
pub(crate) fn base_url(text: &str) -> Result<Url, Error> {
    let invalid = |reason: String| Error::InvalidBaseUrl {
        url: text.to_owned(),
        reason,
    };
    let mut url = Url::parse(text.trim()).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment".to_owned()));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Accepts only a bare origin, exactly as a browser sends it in `Origin`.
pub(crate) fn check_origin(origin: &str) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidOrigin {
        origin: origin.to_owned(),
        reason,
    };
    let url = Url::parse(origin).map_err(|error| invalid(error.to_string()))?;
    let serialized = url.origin().ascii_serialization();
    if serialized == "null" {
        return Err(invalid("it has no host".to_owned()));
    }
    if serialized != origin {
        return Err(invalid(format!(
            "an origin is a scheme, host and optional port only, like {serialized}"
        )));
    }
    Ok(())
}

/// `value` must be 1 to `max`; `why` ends the message (say, what makes the cap matter).
pub(crate) fn check_range<T>(what: &str, value: T, max: T, why: &str) -> Result<(), Error>
where
    T: PartialOrd + From<u8> + std::fmt::Display,
{
    if value < T::from(1) || value > max {
        return Err(Error::InvalidOptions(format!(
            "{what} must be between 1 and {max}, not {value}{why}"
        )));
    }
    Ok(())
}

pub(crate) fn check_timeout(timeout: Duration) -> Result<(), Error> {
    if timeout.is_zero() {
        return Err(Error::InvalidOptions(
            "the request timeout must be more than zero".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn a_stage_path_is_kept_with_or_without_a_trailing_slash() {
        for base in ["https://host.example/prod", "https://host.example/prod/"] {
            let url = base_url(base).unwrap();
            assert_eq!(
                url.join("count").unwrap().as_str(),
                "https://host.example/prod/count"
            );
        }
        let root = base_url("http://127.0.0.1:3000").unwrap();
        assert_eq!(
            root.join("count").unwrap().as_str(),
            "http://127.0.0.1:3000/count"
        );
    }

    #[test]
    fn malformed_base_urls_are_refused() {
        for bad in [
            "",
            "not a url",
            "127.0.0.1:3000",
            "ftp://host/prod",
            "http://",
            "https://host/prod?x=1",
            "https://host/prod#top",
        ] {
            assert!(
                matches!(base_url(bad), Err(Error::InvalidBaseUrl { .. })),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn only_bare_origins_are_accepted() {
        for good in [
            "https://example.com",
            "http://localhost:8080",
            "https://e2e-foreign.invalid",
        ] {
            check_origin(good).unwrap();
        }
        for bad in [
            "https://example.com/",
            "https://example.com/page",
            "example.com",
            "*",
            "null",
        ] {
            assert!(check_origin(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_password_is_not_shown() {
        let options = Options {
            dashboard_password: Some(Password::new("hunter2")),
            ..Options::new("https://example.com")
        };
        assert!(!format!("{options:?}").contains("hunter2"));
    }

    #[test]
    fn ranges_are_inclusive_and_say_what_is_wrong() {
        check_range("the burst size", 1usize, MAX_BURST, "").unwrap();
        check_range("the burst size", MAX_BURST, MAX_BURST, "").unwrap();
        let error = check_range("the burst size", 0usize, MAX_BURST, "").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid options: the burst size must be between 1 and 1000, not 0"
        );
        assert!(check_range("requests", 11u64, 10, " (a cap)").is_err());
    }
}
