//! What answers of each kind must look like, shared by the checks: a JSON count, a
//! problem, `Cache-Control`. Each `expect_*` adds to the finding what it found wrong.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use super::Finding;
use crate::contract::{Contract, Schema, count_in};
use crate::http::{Answer, header_tokens};

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
