//! CORS: the allowed origin is named back, on errors too, with the headers a page may
//! read exposed; any other origin gets no CORS header; preflights are answered for the
//! allowed origin only, allowing the headers a page sends; never credentials.

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use reqwest::{Method, StatusCode};

use super::expect::{VISIT_FILTERED, expect_status, shown};
use super::idempotency::REPLAYED_HEADER;
use super::{COUNT, COUNTERS, Finding, SITE, UNKNOWN_PATH, counter_path, days_path, get};
use crate::error::Error;
use crate::http::{Answer, Client, Request, header_tokens, single};
use crate::report::Check;

pub(super) const CORS_ALLOWED_ORIGIN: &str = "cors-allowed-origin";
pub(super) const CORS_ALLOWED_ORIGIN_ERRORS: &str = "cors-allowed-origin-errors";
pub(super) const CORS_FOREIGN_ORIGIN: &str = "cors-foreign-origin";
pub(super) const CORS_PREFLIGHT: &str = "cors-preflight";
pub(super) const CORS_FOREIGN_PREFLIGHT: &str = "cors-foreign-preflight";
pub(super) const COUNTERS_CORS: &str = "counters-cors";

/// What a page counting a visit asks to send: a JSON body and an `Idempotency-Key`.
const COUNTING_HEADERS: &str = "content-type, idempotency-key";
/// What a page reading asks to send.
const READING_HEADERS: &str = "content-type";
/// The response headers a page must be able to read: `Retry-After` (after a 503 or a
/// 409), whether a visit's answer was replayed, and why it was not counted.
const EXPOSED: [&str; 3] = ["retry-after", REPLAYED_HEADER, VISIT_FILTERED];

/// A simple request from the allowed origin gets `Access-Control-Allow-Origin: <origin>`,
/// `Vary: Origin`, `Access-Control-Expose-Headers` naming `Retry-After`,
/// `Idempotent-Replayed` and `Visit-Filtered`, and no credentials.
pub(super) async fn allowed_origin(client: &Client, origin: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_ALLOWED_ORIGIN);
    if let Some(answer) = finding.send(client, get(COUNT, origin)).await? {
        expect_cors_allowed(&mut finding, &answer, origin);
    }
    Ok(finding.finish())
}

/// Error answers carry the same CORS headers, so that browser code can read them.
pub(super) async fn allowed_origin_errors(client: &Client, origin: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_ALLOWED_ORIGIN_ERRORS);
    for request in [
        get(UNKNOWN_PATH, origin),
        Request::new(Method::PUT, COUNT).header(ORIGIN, origin),
    ] {
        if let Some(answer) = finding.send(client, request).await? {
            expect_cors_allowed(&mut finding, &answer, origin);
        }
    }
    Ok(finding.finish())
}

/// A request from any other origin gets no `Access-Control-Allow-Origin` (neither that
/// origin nor `*`) and no `Access-Control-Allow-Credentials`.
pub(super) async fn foreign_origin(client: &Client, foreign: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_FOREIGN_ORIGIN);
    if let Some(answer) = finding.send(client, get(COUNT, foreign)).await? {
        expect_no_cors(&mut finding, &answer);
    }
    Ok(finding.finish())
}

/// A preflight from the allowed origin for a POST with `Content-Type` and
/// `Idempotency-Key` is answered 204 with `Access-Control-Allow-Origin: <origin>`,
/// `Access-Control-Allow-Methods` naming GET and POST and `Access-Control-Allow-Headers`
/// both headers, without credentials. The function answers it, behind API Gateway too: a
/// gateway that answered preflights itself (`cors_configuration`) would answer 200 and
/// ignore the function's CORS, and this check is where that shows.
pub(super) async fn preflight(client: &Client, origin: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_PREFLIGHT);
    let Some(answer) = finding.send(client, preflight_request(origin)).await? else {
        return Ok(finding.finish());
    };
    expect_status(&mut finding, &answer, StatusCode::NO_CONTENT);
    expect_allow_origin(&mut finding, &answer, origin);
    expect_no_credentials(&mut finding, &answer);
    expect_allow_headers(&mut finding, &answer, COUNTING_HEADERS);
    let methods = header_tokens(&answer.headers, ACCESS_CONTROL_ALLOW_METHODS.as_str());
    for wanted in ["GET", "POST"] {
        if !methods.iter().any(|method| method == wanted) {
            finding.fail(format!(
                "{}: Access-Control-Allow-Methods does not name {wanted} (got {})",
                answer.label,
                shown(&methods.join(", "))
            ));
        }
    }
    Ok(finding.finish())
}

/// A preflight from any other origin gets no CORS headers.
pub(super) async fn foreign_preflight(client: &Client, foreign: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_FOREIGN_PREFLIGHT);
    if let Some(answer) = finding.send(client, preflight_request(foreign)).await? {
        expect_no_cors(&mut finding, &answer);
    }
    Ok(finding.finish())
}

/// The named counters' routes have CORS as `/count` has: `GET /counters/site` from the
/// allowed origin is named back (with `Vary: Origin`, the exposed headers, no
/// credentials); a preflight of each route shape from it (a POST to `/counters/site`
/// with `Content-Type` and `Idempotency-Key`, a GET to `/counters` and
/// `/counters/site/days` with `Content-Type`, and a POST to `/counters/Home`, a name that
/// is not valid, whose 404 a page must be able to read) is 204 with `Access-Control-Allow-Origin`,
/// `Access-Control-Allow-Methods` naming that method and `Access-Control-Allow-Headers`
/// the headers asked for; from the foreign origin, neither the GET nor a preflight gets
/// any CORS header.
pub(super) async fn counters_cors(
    client: &Client,
    origin: &str,
    foreign: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTERS_CORS);
    let site = counter_path(SITE);
    if let Some(answer) = finding.send(client, get(site.clone(), origin)).await? {
        expect_cors_allowed(&mut finding, &answer, origin);
    }
    let preflights = [
        (site.clone(), "POST", COUNTING_HEADERS),
        (COUNTERS.to_owned(), "GET", READING_HEADERS),
        (days_path(SITE, ""), "GET", READING_HEADERS),
        // Answered whatever the name, so that a page can read the POST's 404.
        (counter_path("Home"), "POST", COUNTING_HEADERS),
    ];
    for (path, method, headers) in preflights {
        let request = preflight_to(path, origin, method, headers);
        let Some(answer) = finding.send(client, request).await? else {
            continue;
        };
        expect_status(&mut finding, &answer, StatusCode::NO_CONTENT);
        expect_allow_origin(&mut finding, &answer, origin);
        expect_no_credentials(&mut finding, &answer);
        expect_allow_headers(&mut finding, &answer, headers);
        let methods = header_tokens(&answer.headers, ACCESS_CONTROL_ALLOW_METHODS.as_str());
        if !methods.iter().any(|allowed| allowed == method) {
            finding.fail(format!(
                "{}: Access-Control-Allow-Methods does not name {method} (got {})",
                answer.label,
                shown(&methods.join(", "))
            ));
        }
    }
    for request in [
        get(site.clone(), foreign),
        preflight_to(site, foreign, "POST", COUNTING_HEADERS),
    ] {
        if let Some(answer) = finding.send(client, request).await? {
            expect_no_cors(&mut finding, &answer);
        }
    }
    Ok(finding.finish())
}

fn preflight_request(origin: &str) -> Request {
    preflight_to(COUNT.to_owned(), origin, "POST", COUNTING_HEADERS)
}

fn preflight_to(path: String, origin: &str, method: &str, headers: &str) -> Request {
    Request::new(Method::OPTIONS, path)
        .header(ORIGIN, origin)
        .header(ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(ACCESS_CONTROL_REQUEST_HEADERS, headers)
}

/// `Access-Control-Allow-Headers` names every header of `requested` (header names are
/// case-insensitive), or is `*`: what a browser requires before it sends them.
fn expect_allow_headers(finding: &mut Finding, answer: &Answer, requested: &str) {
    let allowed = header_tokens(&answer.headers, ACCESS_CONTROL_ALLOW_HEADERS.as_str());
    if allowed.iter().any(|token| token == "*") {
        return;
    }
    for wanted in crate::contract::tokens(requested) {
        if !allowed
            .iter()
            .any(|token| token.eq_ignore_ascii_case(wanted))
        {
            finding.fail(format!(
                "{}: Access-Control-Allow-Headers does not name {wanted}, which the \
                 preflight asked for (got {})",
                answer.label,
                shown(&allowed.join(", "))
            ));
        }
    }
}

/// `Access-Control-Expose-Headers` names every header of [`EXPOSED`], or is `*`.
fn expect_exposed(finding: &mut Finding, answer: &Answer) {
    let exposed = header_tokens(&answer.headers, ACCESS_CONTROL_EXPOSE_HEADERS.as_str());
    if exposed.iter().any(|token| token == "*") {
        return;
    }
    for wanted in EXPOSED {
        if !exposed
            .iter()
            .any(|token| token.eq_ignore_ascii_case(wanted))
        {
            finding.fail(format!(
                "{}: Access-Control-Expose-Headers does not name {wanted}, so a page cannot \
                 read it (got {})",
                answer.label,
                shown(&exposed.join(", "))
            ));
        }
    }
}

fn expect_allow_origin(finding: &mut Finding, answer: &Answer, origin: &str) {
    match single(&answer.headers, ACCESS_CONTROL_ALLOW_ORIGIN.as_str()) {
        Ok(Some(value)) if value == origin => {}
        Ok(value) => finding.fail(format!(
            "{}: Access-Control-Allow-Origin is {}, expected {origin}",
            answer.label,
            shown(value.unwrap_or(""))
        )),
        Err(problem) => finding.fail(format!("{}: {problem}", answer.label)),
    }
}

fn expect_no_credentials(finding: &mut Finding, answer: &Answer) {
    if let Some(value) = answer.headers.get(ACCESS_CONTROL_ALLOW_CREDENTIALS) {
        finding.fail(format!(
            "{}: Access-Control-Allow-Credentials is {}; credentials are never allowed",
            answer.label,
            shown(&String::from_utf8_lossy(value.as_bytes()))
        ));
    }
}

fn expect_cors_allowed(finding: &mut Finding, answer: &Answer, origin: &str) {
    expect_allow_origin(finding, answer, origin);
    expect_no_credentials(finding, answer);
    expect_exposed(finding, answer);
    let vary = header_tokens(&answer.headers, VARY.as_str());
    if !vary
        .iter()
        .any(|token| token.eq_ignore_ascii_case("origin") || token == "*")
    {
        finding.fail(format!(
            "{}: Vary is {}, expected it to list Origin",
            answer.label,
            shown(&vary.join(", "))
        ));
    }
}

fn expect_no_cors(finding: &mut Finding, answer: &Answer) {
    let allow_origin: Vec<String> = answer
        .headers
        .get_all(ACCESS_CONTROL_ALLOW_ORIGIN)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    if !allow_origin.is_empty() {
        finding.fail(format!(
            "{}: Access-Control-Allow-Origin is {} for an origin that is not allowed; \
             expected no such header",
            answer.label,
            shown(&allow_origin.join(", "))
        ));
    }
    expect_no_credentials(finding, answer);
}
