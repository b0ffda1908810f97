//! The checks, a file per clause of the contract (`../shared/DESIGN.md`, The contract):
//!
//! | clause | file |
//! | --- | --- |
//! | `GET /count`, `POST /count` | [`count`] |
//! | a `POST` from a foreign `Origin`: 403, nothing counted | [`origin`] |
//! | `OPTIONS /count`, CORS | [`cors`] |
//! | any other method, any other path; errors count nothing | [`errors`] |
//! | a body over 1 KiB | [`limits`] |
//! | `Cache-Control: no-store` on every answer | [`caching`] |
//!
//! [`expect`] holds what every answer of a kind must look like; this module runs the
//! checks in order and keeps each one's findings.

mod caching;
mod cors;
mod count;
mod errors;
mod expect;
mod limits;
mod origin;

use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode};

use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Answer, Client, MAX_RETRY_WAIT, NoAnswer, Request};
use crate::options::{self, Options};
use crate::pace::Pacer;
use crate::report::{Check, Exchange, Outcome, Report};

/// Every check's name, in the order [`verify`] runs them.
///
/// Names are stable: scripts and tests may match on them.
pub const CHECK_NAMES: &[&str] = &[
    count::GET_COUNT,
    count::POST_INCREMENTS,
    count::GET_SEES_POST,
    count::POST_BURST_DISTINCT,
    origin::POST_FOREIGN_ORIGIN,
    cors::CORS_ALLOWED_ORIGIN,
    cors::CORS_ALLOWED_ORIGIN_ERRORS,
    cors::CORS_FOREIGN_ORIGIN,
    cors::CORS_PREFLIGHT,
    cors::CORS_FOREIGN_PREFLIGHT,
    errors::NOT_FOUND,
    errors::METHOD_NOT_ALLOWED,
    limits::PAYLOAD_TOO_LARGE,
    errors::ERRORS_NOT_COUNTED,
    caching::CACHE_CONTROL_NO_STORE,
];

/// The counter's path, relative to the base URL.
const COUNT: &str = "count";
/// A path that cannot exist under any base URL of the service.
const UNKNOWN_PATH: &str = "e2e-no-such-path";
const READ_ONLY: &str = "read-only mode sends no POST";

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
/// In full mode the count grows by `3 + burst` (the increment check, the burst, and the
/// two POSTs that must be served in `post-foreign-origin`). The checks that compare
/// counts (`post-increments`, `post-burst-distinct`, `post-foreign-origin`,
/// `errors-not-counted`) assume nobody else is counting visits at the same time; under
/// real traffic they can fail spuriously, which is why production is checked in
/// read-only mode.
pub async fn verify(base_url: &str, options: &Options) -> Result<Report, Error> {
    let base = options::base_url(base_url)?;
    options.check()?;
    let contract = Contract::load()?;
    let pacer = options.rate.map(|rate| Pacer::new(rate, options.burst));
    let client = Client::new(base, options.timeout, options.burst, pacer)?;
    let checks = run(&client, &contract, options).await?;
    Ok(Report::new(
        client.base().to_string(),
        options.origin.clone(),
        options.read_only,
        checks,
    ))
}

/// Runs every check, in the order of [`CHECK_NAMES`].
async fn run(client: &Client, contract: &Contract, options: &Options) -> Result<Vec<Check>, Error> {
    let origin = options.origin.as_str();
    let foreign = options.foreign_origin.as_str();
    // The first request doubles as the probe: no answer at all means a wrong or dead URL,
    // which is an error rather than a report.
    let first = match client.send(get(COUNT, origin)).await? {
        Ok(answer) => answer,
        Err(no_answer) => {
            return Err(Error::Unreachable {
                url: no_answer.exchange.url,
                source: no_answer.source,
            });
        }
    };
    let mut checks = vec![count::get_count(contract, first)];

    if options.read_only {
        for name in [
            count::POST_INCREMENTS,
            count::GET_SEES_POST,
            count::POST_BURST_DISTINCT,
            origin::POST_FOREIGN_ORIGIN,
        ] {
            checks.push(skipped(name, READ_ONLY));
        }
    } else {
        let (increments, after_post) = count::post_increments(client, contract, origin).await?;
        checks.push(increments);
        checks.push(count::get_sees_post(client, origin, after_post).await?);
        checks.push(count::post_burst_distinct(client, contract, origin, options.burst).await?);
        checks.push(origin::post_foreign_origin(client, contract, origin, foreign).await?);
    }

    // From here on nothing may change the count: the read before and after brackets
    // every CORS and error request (full mode only, see `errors::errors_not_counted`).
    let before = if options.read_only {
        None
    } else {
        Some(client.send(get(COUNT, origin)).await?)
    };

    checks.push(cors::allowed_origin(client, origin).await?);
    checks.push(cors::allowed_origin_errors(client, origin).await?);
    checks.push(cors::foreign_origin(client, foreign).await?);
    checks.push(cors::preflight(client, origin).await?);
    checks.push(cors::foreign_preflight(client, foreign).await?);
    checks.push(errors::not_found(client, contract, origin, options.read_only).await?);
    checks.push(errors::method_not_allowed(client, contract, origin).await?);
    if options.read_only {
        checks.push(skipped(
            limits::PAYLOAD_TOO_LARGE,
            "read-only mode sends no POST, and an oversized POST would count a visit \
             on a server that breaks this clause",
        ));
    } else {
        checks.push(limits::payload_too_large(client, contract, origin).await?);
    }

    match before {
        None => checks.push(skipped(
            errors::ERRORS_NOT_COUNTED,
            "read-only mode: real visits move the count, so a before/after comparison \
             proves nothing",
        )),
        Some(before) => checks.push(errors::errors_not_counted(client, origin, before).await?),
    }

    checks.push(caching::cache_control_no_store(client));
    Ok(checks)
}

/// The findings of one check while it runs.
struct Finding {
    name: &'static str,
    problems: Vec<String>,
    evidence: Vec<Exchange>,
    /// `429 Too Many Requests` answers met on the way.
    throttled: usize,
}

impl Finding {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            problems: Vec::new(),
            evidence: Vec::new(),
            throttled: 0,
        }
    }

    fn fail(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// Sends a request and keeps the exchange as evidence; no answer is a problem.
    async fn send(&mut self, client: &Client, request: Request) -> Result<Option<Answer>, Error> {
        Ok(self.keep(client.send(request).await?))
    }

    /// Keeps an answer's exchanges as evidence. No answer is a problem, and so is a 429
    /// that was still a 429 after every retry: the clause could not be checked, which
    /// is never a pass.
    fn keep(&mut self, result: Result<Answer, NoAnswer>) -> Option<Answer> {
        let throttled = match &result {
            Ok(answer) => &answer.throttled,
            Err(no_answer) => &no_answer.throttled,
        };
        self.throttled += throttled.len();
        self.evidence.extend_from_slice(throttled);
        match result {
            Ok(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                self.throttled += 1;
                self.fail(format!(
                    "{} was throttled: answered 429 Too Many Requests {} times in a row, \
                     sent again after each Retry-After (at most {} s); the clause could not \
                     be checked (is the stage's throttle below the checker's --rate?)",
                    answer.label,
                    answer.throttled.len() + 1,
                    MAX_RETRY_WAIT.as_secs()
                ));
                self.evidence.push(answer.exchange);
                None
            }
            Ok(answer) => {
                self.evidence.push(answer.exchange.clone());
                Some(answer)
            }
            Err(no_answer) => {
                let why = no_answer.exchange.error.clone().unwrap_or_default();
                self.fail(format!("{} got no answer: {why}", no_answer.label));
                self.evidence.push(no_answer.exchange);
                None
            }
        }
    }

    fn finish(self) -> Check {
        let outcome = if self.problems.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed {
                reason: self.problems.join("; "),
            }
        };
        Check {
            name: self.name,
            outcome,
            evidence: self.evidence,
            throttled: self.throttled,
        }
    }
}

fn skipped(name: &'static str, reason: &str) -> Check {
    Check {
        name,
        outcome: Outcome::Skipped {
            reason: reason.to_owned(),
        },
        evidence: Vec::new(),
        throttled: 0,
    }
}

fn get(path: &'static str, origin: &str) -> Request {
    Request::new(Method::GET, path).header(ORIGIN, origin)
}

fn post(path: &'static str, origin: &str) -> Request {
    Request::new(Method::POST, path).header(ORIGIN, origin)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_check_name_is_listed_once() {
        let names: BTreeSet<&str> = CHECK_NAMES.iter().copied().collect();
        assert_eq!(names.len(), CHECK_NAMES.len());
        assert!(
            names
                .iter()
                .all(|name| name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
    }
}
