//! What answers of each kind must look like, shared by the checks: a JSON count, a
//! problem, `Cache-Control`. Each `expect_*` adds to the finding what it found wrong.

use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE,
};
use serde_json::Value;

use super::{Finding, counter_path, get};
use crate::contract::{Contract, Schema, count_in};
use crate::error::Error;
use crate::http::{Answer, Client, header_tokens, single};

/// The response header that says why a `POST` counted nothing.
pub(super) const VISIT_FILTERED: &str = "visit-filtered";

pub(super) fn expect_status(finding: &mut Finding, answer: &Answer, expected: StatusCode) -> bool {
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

pub(super) fn expect_media_type(finding: &mut Finding, answer: &Answer, expected: &str) -> bool {
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
pub(super) fn expect_schema(
    finding: &mut Finding,
    answer: &Answer,
    schema: &Schema,
) -> Option<Value> {
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
pub(super) fn expect_json(
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
pub(super) fn expect_problem(
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

pub(super) fn expect_no_store(finding: &mut Finding, answer: &Answer) {
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

/// The count read before some requests equals the count read after them; `across` says
/// what they were, for the message.
pub(super) fn expect_unmoved(
    finding: &mut Finding,
    before: Option<u64>,
    after: Option<u64>,
    across: &str,
) {
    if let (Some(before), Some(after)) = (before, after)
        && before != after
    {
        finding.fail(format!(
            "the count went from {before} to {after} across {across}"
        ));
    }
}

/// The count in a `200 {"count": N}` answer, or a problem saying why there is none.
pub(super) fn read_count(finding: &mut Finding, answer: &Answer, what: &str) -> Option<u64> {
    let count = (answer.status == StatusCode::OK)
        .then(|| count_in(&answer.body))
        .flatten();
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

/// A header value or body quoted for a message; `(none)` when empty.
pub(super) fn shown(value: &str) -> String {
    if value.is_empty() {
        "(none)".to_owned()
    } else {
        format!("{value:?}")
    }
}

/// A `401` problem of the contract's unauthorized type with the contract's
/// `WWW-Authenticate` challenge: a page the operator made private, asked for without
/// its password.
pub(super) fn expect_unauthorized(finding: &mut Finding, answer: &Answer, contract: &Contract) {
    expect_problem(
        finding,
        answer,
        contract,
        StatusCode::UNAUTHORIZED,
        &contract.unauthorized_type,
    );
    match single(&answer.headers, WWW_AUTHENTICATE.as_str()) {
        Ok(Some(value)) if value == contract.www_authenticate => {}
        Ok(value) => finding.fail(format!(
            "{}: WWW-Authenticate is {}, expected {}",
            answer.label,
            shown(value.unwrap_or("")),
            contract.www_authenticate
        )),
        Err(problem) => finding.fail(format!("{}: {problem}", answer.label)),
    }
}

/// What a private page answered, when it may be private: `true` when it was a `401`
/// the checker could not have avoided (it has no password), checked as
/// [`expect_unauthorized`] and noted; `false` for any other answer, which the caller
/// checks. A `401` despite the password is a failure.
pub(super) fn private_page(
    finding: &mut Finding,
    client: &Client,
    answer: &Answer,
    contract: &Contract,
) -> bool {
    if answer.status != StatusCode::UNAUTHORIZED {
        return false;
    }
    if client.has_authorization() {
        finding.fail(format!(
            "{} answered 401 with the password the checker was given ({})",
            answer.label,
            crate::cli::PASSWORD_VARIABLE
        ));
        return true;
    }
    expect_unauthorized(finding, answer, contract);
    finding.note = Some(format!(
        "private: 401 unauthorized (DASHBOARD_PASSWORD; give it in {} to check {})",
        crate::cli::PASSWORD_VARIABLE,
        answer.label.split(' ').nth(1).unwrap_or("it")
    ));
    true
}

/// The answer's `Visit-Filtered` is `expected`, or absent when `expected` is `None`;
/// `sent` says what the request was, for the message.
pub(super) fn expect_filtered(
    finding: &mut Finding,
    answer: &Answer,
    expected: Option<&str>,
    sent: &str,
) {
    match (single(&answer.headers, VISIT_FILTERED), expected) {
        (Ok(got), expected) if got == expected => {}
        (Ok(got), Some(expected)) => finding.fail(format!(
            "{} with {sent}: Visit-Filtered is {}, expected {expected}",
            answer.label,
            shown(got.unwrap_or(""))
        )),
        (Ok(got), None) => finding.fail(format!(
            "{} with {sent}: Visit-Filtered is {}, expected none on a counted visit",
            answer.label,
            shown(got.unwrap_or(""))
        )),
        (Err(problem), _) => finding.fail(format!("{}: {problem}", answer.label)),
    }
}

/// A named counter's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Numbers {
    pub views: u64,
    pub visitors: u64,
}

impl std::fmt::Display for Numbers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} views, {} visitors", self.views, self.visitors)
    }
}

impl Numbers {
    /// The numbers of a `{"name", "views", "visitors"}` body (a counter, or an entry of
    /// the list or of the days).
    pub fn of(body: &Value) -> Option<Self> {
        Some(Self {
            views: body.get("views")?.as_u64()?,
            visitors: body.get("visitors")?.as_u64()?,
        })
    }
}

/// A `200` counter: `application/json`, valid against `counter.json`, named `name`.
/// Its numbers when it is all of that.
pub(super) fn expect_counter(
    finding: &mut Finding,
    answer: &Answer,
    contract: &Contract,
    name: &str,
) -> Option<Numbers> {
    let body = expect_json(finding, answer, StatusCode::OK, &contract.counter)?;
    if !expect_name(finding, answer, &body, name) {
        return None;
    }
    Numbers::of(&body)
}

/// `GET /counters/{counter}` from `origin`, checked as [`expect_counter`]: its numbers.
pub(super) async fn read_counter(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Option<Numbers>, Error> {
    Ok(finding
        .send(client, get(counter_path(counter), origin))
        .await?
        .and_then(|answer| expect_counter(finding, &answer, contract, counter)))
}

/// The body's `name` member is `name`.
pub(super) fn expect_name(
    finding: &mut Finding,
    answer: &Answer,
    body: &Value,
    name: &str,
) -> bool {
    let got = body.get("name").and_then(Value::as_str).unwrap_or("");
    if got == name {
        return true;
    }
    finding.fail(format!(
        "{}: the name is {}, expected {name:?}",
        answer.label,
        shown(got)
    ));
    false
}

/// `Cache-Control` is exactly the directives `expected` (the contract's constant for
/// the route), in any case and order.
pub(super) fn expect_cache_control(finding: &mut Finding, answer: &Answer, expected: &[String]) {
    let mut got: Vec<String> = header_tokens(&answer.headers, CACHE_CONTROL.as_str())
        .iter()
        .map(|directive| directive.to_ascii_lowercase())
        .collect();
    let mut wanted: Vec<String> = expected.iter().map(|d| d.to_ascii_lowercase()).collect();
    got.sort();
    wanted.sort();
    if got != wanted {
        finding.fail(format!(
            "{}: Cache-Control is {}, expected {}",
            answer.label,
            shown(&header_tokens(&answer.headers, CACHE_CONTROL.as_str()).join(", ")),
            expected.join(", ")
        ));
    }
}

/// A `Content-Security-Policy` under which the answer, opened as a document, can run
/// no script: its `script-src` (or, without one, its `default-src`) is `'none'`.
pub(super) fn expect_no_script_policy(finding: &mut Finding, answer: &Answer) {
    let policies: Vec<&str> = answer
        .headers
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    // Several policies all apply: one that forbids scripts is enough.
    if !policies.iter().any(|policy| forbids_scripts(policy)) {
        finding.fail(format!(
            "{}: Content-Security-Policy is {}, expected one whose script-src (or \
             default-src) is 'none'",
            answer.label,
            shown(&policies.join(" | "))
        ));
    }
}

/// Whether a policy's `script-src`, or its `default-src` when it has none, is `'none'`.
fn forbids_scripts(policy: &str) -> bool {
    let directive = |wanted: &str| {
        policy.split(';').find_map(|directive| {
            let mut parts = directive.split_ascii_whitespace();
            let name = parts.next()?;
            name.eq_ignore_ascii_case(wanted)
                .then(|| parts.map(str::to_ascii_lowercase).collect::<Vec<_>>())
        })
    };
    directive("script-src")
        .or_else(|| directive("default-src"))
        .is_some_and(|sources| sources == ["'none'"])
}

/// The answer's media type parameters say UTF-8 if they name a charset at all.
pub(super) fn expect_utf8_if_any(finding: &mut Finding, answer: &Answer) {
    let Some(value) = answer
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return;
    };
    let charset = value.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    });
    if let Some(charset) = charset
        && charset != "utf-8"
    {
        finding.fail(format!(
            "{}: Content-Type {value:?} names the charset {charset}, expected utf-8",
            answer.label
        ));
    }
}

/// `12345` as `12,345`: how the badges write a number.
pub(super) fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        for (number, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(grouped(number), text);
        }
    }

    #[test]
    fn only_a_policy_without_scripts_forbids_them() {
        for policy in [
            "default-src 'none'; style-src 'unsafe-inline'",
            "default-src 'self'; script-src 'none'",
            "DEFAULT-SRC 'NONE'",
        ] {
            assert!(forbids_scripts(policy), "{policy}");
        }
        for policy in [
            "",
            "style-src 'unsafe-inline'",
            "default-src 'none'; script-src 'unsafe-inline'",
            "default-src 'self'",
            "default-src 'none' 'self'",
        ] {
            assert!(!forbids_scripts(policy), "{policy}");
        }
    }
}
