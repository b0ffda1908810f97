//! The checks: one function per clause of the contract.

use std::collections::BTreeSet;

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ALLOW, CACHE_CONTROL,
    CONTENT_TYPE, HeaderMap, ORIGIN, VARY,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::contract::{self, Contract, Schema};
use crate::http::{Answer, Client, Request, header_tokens, single};
use crate::{Check, Error, Exchange, Options, Outcome};

pub(crate) const GET_COUNT: &str = "get-count";
pub(crate) const POST_INCREMENTS: &str = "post-increments";
pub(crate) const GET_SEES_POST: &str = "get-sees-post";
pub(crate) const POST_BURST_DISTINCT: &str = "post-burst-distinct";
pub(crate) const CORS_ALLOWED_ORIGIN: &str = "cors-allowed-origin";
pub(crate) const CORS_ALLOWED_ORIGIN_ERRORS: &str = "cors-allowed-origin-errors";
pub(crate) const CORS_FOREIGN_ORIGIN: &str = "cors-foreign-origin";
pub(crate) const CORS_PREFLIGHT: &str = "cors-preflight";
pub(crate) const CORS_FOREIGN_PREFLIGHT: &str = "cors-foreign-preflight";
pub(crate) const NOT_FOUND: &str = "not-found";
pub(crate) const METHOD_NOT_ALLOWED: &str = "method-not-allowed";
pub(crate) const PAYLOAD_TOO_LARGE: &str = "payload-too-large";
pub(crate) const ERRORS_NOT_COUNTED: &str = "errors-not-counted";
pub(crate) const CACHE_CONTROL_NO_STORE: &str = "cache-control-no-store";

const COUNT: &str = "count";
/// A path that cannot exist under any base URL of the service.
const UNKNOWN_PATH: &str = "e2e-no-such-path";
const READ_ONLY: &str = "read-only mode sends no POST";

/// Runs every check, in the order of [`crate::CHECK_NAMES`].
pub(crate) async fn run(
    client: &Client,
    contract: &Contract,
    options: &Options,
) -> Result<Vec<Check>, Error> {
    let origin = options.origin.as_str();
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
    let mut checks = vec![get_count(contract, &first)];

    if options.read_only {
        for name in [POST_INCREMENTS, GET_SEES_POST, POST_BURST_DISTINCT] {
            checks.push(skipped(name, READ_ONLY));
        }
    } else {
        let (increments, after_post) = post_increments(client, contract, origin).await?;
        checks.push(increments);
        checks.push(get_sees_post(client, origin, after_post).await?);
        checks.push(post_burst_distinct(client, contract, origin, options.burst).await?);
    }

    // From here on nothing may change the count: the read before and after brackets
    // every CORS and error request (full mode only, see `errors_not_counted`).
    let before = if options.read_only {
        None
    } else {
        Some(client.send(get(COUNT, origin)).await?)
    };

    checks.push(cors_allowed_origin(client, origin).await?);
    checks.push(cors_allowed_origin_errors(client, origin).await?);
    checks.push(cors_foreign_origin(client, &options.foreign_origin).await?);
    checks.push(cors_preflight(client, origin).await?);
    checks.push(cors_foreign_preflight(client, &options.foreign_origin).await?);
    checks.push(not_found(client, contract, origin, options.read_only).await?);
    checks.push(method_not_allowed(client, contract, origin).await?);
    if options.read_only {
        checks.push(skipped(
            PAYLOAD_TOO_LARGE,
            "read-only mode sends no POST, and an oversized POST would count a visit \
             on a server that breaks this clause",
        ));
    } else {
        checks.push(payload_too_large(client, contract, origin).await?);
    }

    match before {
        None => checks.push(skipped(
            ERRORS_NOT_COUNTED,
            "read-only mode: real visits move the count, so a before/after comparison \
             proves nothing",
        )),
        Some(before) => checks.push(errors_not_counted(client, origin, before).await?),
    }

    checks.push(cache_control_no_store(client));
    Ok(checks)
}

/// The findings of one check while it runs.
struct Finding {
    name: &'static str,
    problems: Vec<String>,
    evidence: Vec<Exchange>,
}

impl Finding {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            problems: Vec::new(),
            evidence: Vec::new(),
        }
    }

    fn fail(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// Sends a request and keeps the exchange as evidence; no answer is a problem.
    async fn send(&mut self, client: &Client, request: Request) -> Result<Option<Answer>, Error> {
        Ok(self.keep(client.send(request).await?))
    }

    fn keep(&mut self, result: Result<Answer, crate::http::NoAnswer>) -> Option<Answer> {
        match result {
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
    }
}

fn get(path: &'static str, origin: &str) -> Request {
    Request::new(Method::GET, path).header(ORIGIN, origin)
}

fn post(path: &'static str, origin: &str) -> Request {
    Request::new(Method::POST, path).header(ORIGIN, origin)
}

fn preflight(origin: &str) -> Request {
    Request::new(Method::OPTIONS, COUNT)
        .header(ORIGIN, origin)
        .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
}

// ---- the checks -------------------------------------------------------------------

/// `GET /count`: 200, `application/json`, valid against `get-count.json`,
/// `Cache-Control: no-store`.
fn get_count(contract: &Contract, answer: &Answer) -> Check {
    let mut finding = Finding::new(GET_COUNT);
    finding.evidence.push(answer.exchange.clone());
    expect_json(&mut finding, answer, StatusCode::OK, &contract.get_count);
    expect_no_store(&mut finding, answer);
    finding.finish()
}

/// `POST /count` answers 200 with a body valid against `post-count.json` holding exactly
/// one more than the count read just before. Returns the POST's count for
/// [`get_sees_post`].
async fn post_increments(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<(Check, Option<u64>), Error> {
    let mut finding = Finding::new(POST_INCREMENTS);
    let before = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the POST"));
    let Some(answer) = finding.send(client, post(COUNT, origin)).await? else {
        return Ok((finding.finish(), None));
    };
    let valid = expect_json(&mut finding, &answer, StatusCode::OK, &contract.post_count);
    // Even from an answer that breaks the schema, a readable count lets the increment and
    // `get-sees-post` still be judged on their own.
    let after = valid
        .or_else(|| serde_json::from_slice(&answer.body).ok())
        .and_then(|body| count_of(&body));
    if let (Some(before), Some(after)) = (before, after)
        && Some(after) != before.checked_add(1)
    {
        finding.fail(format!(
            "POST /count answered {after} after a count of {before}; expected {}",
            u128::from(before) + 1
        ));
    }
    Ok((finding.finish(), after))
}

/// The `GET /count` after a POST sees that POST (reads are strongly consistent).
async fn get_sees_post(
    client: &Client,
    origin: &str,
    after_post: Option<u64>,
) -> Result<Check, Error> {
    let mut finding = Finding::new(GET_SEES_POST);
    let Some(posted) = after_post else {
        finding.fail(format!(
            "cannot be checked: {POST_INCREMENTS} got no count from POST /count"
        ));
        return Ok(finding.finish());
    };
    let read = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count after the POST"));
    if let Some(read) = read
        && read < posted
    {
        finding.fail(format!(
            "GET /count read {read} after POST /count answered {posted}: the visit is not visible"
        ));
    }
    Ok(finding.finish())
}

/// `burst` concurrent POSTs each get their own count: all distinct, and together exactly
/// the next `burst` values after the count read before them.
async fn post_burst_distinct(
    client: &Client,
    contract: &Contract,
    origin: &str,
    burst: usize,
) -> Result<Check, Error> {
    let mut finding = Finding::new(POST_BURST_DISTINCT);
    let before = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the burst"));

    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..burst {
        let client = client.clone();
        let request = post(COUNT, origin);
        posts.spawn(async move { client.send(request).await });
    }
    let mut counts = Vec::with_capacity(burst);
    while let Some(joined) = posts.join_next().await {
        let sent = match joined {
            Ok(sent) => sent?,
            Err(error) => {
                finding.fail(format!("a POST of the burst did not finish: {error}"));
                continue;
            }
        };
        let Some(answer) = finding.keep(sent) else {
            continue;
        };
        if let Some(count) =
            expect_json(&mut finding, &answer, StatusCode::OK, &contract.post_count)
                .and_then(|body| count_of(&body))
        {
            counts.push(count);
        }
    }

    counts.sort_unstable();
    let distinct: BTreeSet<u64> = counts.iter().copied().collect();
    if distinct.len() != counts.len() {
        let repeated: Vec<u64> = counts
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .map(|pair| pair[0])
            .collect();
        finding.fail(format!(
            "{burst} concurrent POSTs got repeated counts {repeated:?}: every visit must get its own"
        ));
    }
    if let Some(before) = before
        && counts.len() == burst
    {
        let expected: Vec<u128> = (1..=burst as u128)
            .map(|step| u128::from(before) + step)
            .collect();
        let got: Vec<u128> = counts.iter().copied().map(u128::from).collect();
        if got != expected {
            finding.fail(format!(
                "{burst} concurrent POSTs after a count of {before} got {got:?}; expected {}..={}",
                u128::from(before) + 1,
                u128::from(before) + burst as u128
            ));
        }
    }
    Ok(finding.finish())
}

/// A simple request from the allowed origin gets `Access-Control-Allow-Origin: <origin>`,
/// `Vary: Origin`, and no credentials.
async fn cors_allowed_origin(client: &Client, origin: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_ALLOWED_ORIGIN);
    if let Some(answer) = finding.send(client, get(COUNT, origin)).await? {
        expect_cors_allowed(&mut finding, &answer, origin);
    }
    Ok(finding.finish())
}

/// Error answers carry the same CORS headers, so that browser code can read them.
async fn cors_allowed_origin_errors(client: &Client, origin: &str) -> Result<Check, Error> {
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
async fn cors_foreign_origin(client: &Client, foreign: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_FOREIGN_ORIGIN);
    if let Some(answer) = finding.send(client, get(COUNT, foreign)).await? {
        expect_no_cors(&mut finding, &answer);
    }
    Ok(finding.finish())
}

/// A preflight from the allowed origin for a POST is answered 204 (or 200: API Gateway
/// answers preflights itself) with `Access-Control-Allow-Origin: <origin>` and
/// `Access-Control-Allow-Methods` naming GET and POST, without credentials.
async fn cors_preflight(client: &Client, origin: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_PREFLIGHT);
    let Some(answer) = finding.send(client, preflight(origin)).await? else {
        return Ok(finding.finish());
    };
    if !matches!(answer.status, StatusCode::NO_CONTENT | StatusCode::OK) {
        finding.fail(format!(
            "{} answered {}, expected 204 (or 200)",
            answer.label, answer.status
        ));
    }
    expect_allow_origin(&mut finding, &answer, origin);
    expect_no_credentials(&mut finding, &answer);
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
async fn cors_foreign_preflight(client: &Client, foreign: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(CORS_FOREIGN_PREFLIGHT);
    if let Some(answer) = finding.send(client, preflight(foreign)).await? {
        expect_no_cors(&mut finding, &answer);
    }
    Ok(finding.finish())
}

/// Any path but `/count` is a 404 problem (a POST too, in full mode).
async fn not_found(
    client: &Client,
    contract: &Contract,
    origin: &str,
    read_only: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(NOT_FOUND);
    let mut requests = vec![get(UNKNOWN_PATH, origin)];
    if !read_only {
        requests.push(post(UNKNOWN_PATH, origin));
    }
    for request in requests {
        if let Some(answer) = finding.send(client, request).await? {
            expect_problem(
                &mut finding,
                &answer,
                contract,
                StatusCode::NOT_FOUND,
                &contract.not_found_type,
            );
        }
    }
    Ok(finding.finish())
}

/// PUT, DELETE and PATCH on `/count` are 405 problems with `Allow: GET, POST, OPTIONS`.
async fn method_not_allowed(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(METHOD_NOT_ALLOWED);
    let expected: BTreeSet<&str> = contract.allow.iter().map(String::as_str).collect();
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let request = Request::new(method, COUNT).header(ORIGIN, origin);
        let Some(answer) = finding.send(client, request).await? else {
            continue;
        };
        expect_problem(
            &mut finding,
            &answer,
            contract,
            StatusCode::METHOD_NOT_ALLOWED,
            &contract.method_not_allowed_type,
        );
        let allow = header_tokens(&answer.headers, ALLOW.as_str());
        let got: BTreeSet<&str> = allow.iter().map(String::as_str).collect();
        if got != expected {
            finding.fail(format!(
                "{}: Allow is {}, expected {}",
                answer.label,
                shown(&allow.join(", ")),
                contract.allow.join(", ")
            ));
        }
    }
    Ok(finding.finish())
}

/// A POST with a body over 1 KiB is a 413 problem.
async fn payload_too_large(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(PAYLOAD_TOO_LARGE);
    let request = post(COUNT, origin)
        .header(CONTENT_TYPE, "application/json")
        .body(oversized_body());
    if let Some(answer) = finding.send(client, request).await? {
        expect_problem(
            &mut finding,
            &answer,
            contract,
            StatusCode::PAYLOAD_TOO_LARGE,
            &contract.payload_too_large_type,
        );
    }
    Ok(finding.finish())
}

/// A JSON body of twice the limit: well over it, small enough for any server to read.
fn oversized_body() -> Vec<u8> {
    let size = 2 * contract::BODY_LIMIT;
    let padding = "x".repeat(size - r#"{"padding":""}"#.len());
    format!(r#"{{"padding":"{padding}"}}"#).into_bytes()
}

/// The count did not move across the CORS and error requests: none of them counted.
async fn errors_not_counted(
    client: &Client,
    origin: &str,
    before: Result<Answer, crate::http::NoAnswer>,
) -> Result<Check, Error> {
    let mut finding = Finding::new(ERRORS_NOT_COUNTED);
    let before = finding
        .keep(before)
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the errors"));
    let after = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count after the errors"));
    if let (Some(before), Some(after)) = (before, after)
        && before != after
    {
        finding.fail(format!(
            "the count went from {before} to {after} across requests that must not count \
             (404, 405, 413, preflights, reads)"
        ));
    }
    Ok(finding.finish())
}

/// Every answer of the run carried `Cache-Control: no-store`. Preflights are left out:
/// behind API Gateway they are answered by the gateway itself, not the service.
fn cache_control_no_store(client: &Client) -> Check {
    let mut finding = Finding::new(CACHE_CONTROL_NO_STORE);
    for exchange in client.exchanges() {
        let Some(status) = exchange.status else {
            continue;
        };
        if exchange.method == Method::OPTIONS.as_str() {
            continue;
        }
        let value = exchange.headers.get(CACHE_CONTROL.as_str());
        let no_store = value.is_some_and(|value| {
            contract::tokens(value).any(|directive| directive.eq_ignore_ascii_case("no-store"))
        });
        if !no_store {
            finding.fail(format!(
                "{} {} answered {status} with Cache-Control {}",
                exchange.method,
                exchange.url,
                shown(value.map_or("", String::as_str))
            ));
            finding.evidence.push(exchange);
        }
    }
    finding.finish()
}

// ---- what answers must look like ----------------------------------------------------

fn expect_status(finding: &mut Finding, answer: &Answer, expected: StatusCode) -> bool {
    if answer.status == expected {
        return true;
    }
    finding.fail(format!(
        "{} answered {}, expected {}",
        answer.label, answer.status, expected
    ));
    false
}

/// The media type of the answer, without parameters, lower case.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim();
    Some(essence.to_ascii_lowercase())
}

fn expect_media_type(finding: &mut Finding, answer: &Answer, expected: &str) -> bool {
    let actual = media_type(&answer.headers);
    if actual.as_deref() == Some(expected) {
        return true;
    }
    finding.fail(format!(
        "{}: Content-Type is {}, expected {expected}",
        answer.label,
        shown(actual.as_deref().unwrap_or(""))
    ));
    false
}

/// Parses the body as JSON and validates it; the body when it is valid.
fn expect_schema(finding: &mut Finding, answer: &Answer, schema: &Schema) -> Option<Value> {
    let body: Value = match serde_json::from_slice(&answer.body) {
        Ok(body) => body,
        Err(error) => {
            finding.fail(format!("{}: the body is not JSON ({error})", answer.label));
            return None;
        }
    };
    let violations = schema.violations(&body);
    if violations.is_empty() {
        return Some(body);
    }
    finding.fail(format!(
        "{}: the body breaks {}: {}",
        answer.label,
        schema.file,
        violations.join(", ")
    ));
    None
}

/// A successful JSON answer: status, `application/json`, schema-valid.
fn expect_json(
    finding: &mut Finding,
    answer: &Answer,
    status: StatusCode,
    schema: &Schema,
) -> Option<Value> {
    let status_ok = expect_status(finding, answer, status);
    let type_ok = expect_media_type(finding, answer, "application/json");
    let body = expect_schema(finding, answer, schema);
    body.filter(|_| status_ok && type_ok)
}

/// An error answer: status, `application/problem+json`, valid against `problem.json`,
/// with the matching `status` member and the contract's `type` for it.
fn expect_problem(
    finding: &mut Finding,
    answer: &Answer,
    contract: &Contract,
    status: StatusCode,
    problem_type: &str,
) {
    expect_status(finding, answer, status);
    expect_media_type(finding, answer, "application/problem+json");
    let Some(body) = expect_schema(finding, answer, &contract.problem) else {
        return;
    };
    let member_status = body.get("status").and_then(Value::as_u64);
    if member_status != Some(u64::from(answer.status.as_u16())) {
        finding.fail(format!(
            "{}: the problem's status member is {}, but the answer is {}",
            answer.label,
            body.get("status").unwrap_or(&Value::Null),
            answer.status.as_u16()
        ));
    }
    let member_type = body.get("type").and_then(Value::as_str).unwrap_or("");
    if member_type != problem_type {
        finding.fail(format!(
            "{}: the problem's type is {}, expected {problem_type}",
            answer.label,
            shown(member_type)
        ));
    }
}

fn expect_no_store(finding: &mut Finding, answer: &Answer) {
    let directives = header_tokens(&answer.headers, CACHE_CONTROL.as_str());
    if !directives
        .iter()
        .any(|directive| directive.eq_ignore_ascii_case("no-store"))
    {
        finding.fail(format!(
            "{}: Cache-Control is {}, expected no-store",
            answer.label,
            shown(&directives.join(", "))
        ));
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

/// The count in a `200 {"count": N}` answer, or a problem saying why there is none.
fn read_count(finding: &mut Finding, answer: &Answer, what: &str) -> Option<u64> {
    let count = (answer.status == StatusCode::OK)
        .then(|| serde_json::from_slice::<Value>(&answer.body).ok())
        .flatten()
        .and_then(|body| count_of(&body));
    if count.is_none() {
        finding.fail(format!(
            "cannot read {what}: {} answered {} with body {}",
            answer.label,
            answer.status,
            shown(&answer.exchange.body)
        ));
    }
    count
}

fn count_of(body: &Value) -> Option<u64> {
    body.get("count").and_then(Value::as_u64)
}

/// A header value or body quoted for a message; `(none)` when empty.
fn shown(value: &str) -> String {
    if value.is_empty() {
        "(none)".to_owned()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oversized_body_is_twice_the_limit_and_json() {
        let body = oversized_body();
        assert_eq!(body.len(), 2 * contract::BODY_LIMIT);
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
    }

    #[test]
    fn every_check_name_is_listed_once() {
        let names: BTreeSet<&str> = crate::CHECK_NAMES.iter().copied().collect();
        assert_eq!(names.len(), crate::CHECK_NAMES.len());
        assert!(
            names
                .iter()
                .all(|name| name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
    }
}
