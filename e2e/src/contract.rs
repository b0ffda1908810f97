//! The published contract, embedded at build time from `contracts/`.
//!
//! Nothing here is a copy: the schemas, the problem types and the `Allow` header the
//! checker expects are all read from these documents.

use jsonschema::Validator;
use serde_json::Value;

use crate::error::Error;

/// `contracts/openapi.json`.
pub const OPENAPI: &str = include_str!("../../contracts/openapi.json");
/// `contracts/schemas/get-count.json`: the body of `GET /count`.
pub const GET_COUNT_SCHEMA: &str = include_str!("../../contracts/schemas/get-count.json");
/// `contracts/schemas/post-count.json`: the body of `POST /count`.
pub const POST_COUNT_SCHEMA: &str = include_str!("../../contracts/schemas/post-count.json");
/// `contracts/schemas/problem.json`: every error body.
pub const PROBLEM_SCHEMA: &str = include_str!("../../contracts/schemas/problem.json");

/// The largest request body the contract accepts, in bytes ("at most 1 KiB").
pub const BODY_LIMIT: usize = 1024;

/// The parts of the contract the checks compare answers with.
pub(crate) struct Contract {
    pub get_count: Schema,
    pub post_count: Schema,
    pub problem: Schema,
    /// The `type` of the 404 problem.
    pub not_found_type: String,
    /// The `type` of the 405 problem.
    pub method_not_allowed_type: String,
    /// The `type` of the 413 problem.
    pub payload_too_large_type: String,
    /// The `type` of the 403 problem a `POST` from a foreign origin gets.
    pub origin_not_allowed_type: String,
    /// The methods a 405 lists in `Allow`.
    pub allow: Vec<String>,
}

/// A compiled schema and the file it came from, for messages.
pub(crate) struct Schema {
    pub file: &'static str,
    validator: Validator,
}

impl Schema {
    fn compile(file: &'static str, text: &str) -> Result<Self, Error> {
        let schema: Value = serde_json::from_str(text)
            .map_err(|error| Error::Contract(format!("{file} is not JSON: {error}")))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|error| Error::Contract(format!("{file} does not compile: {error}")))?;
        Ok(Self { file, validator })
    }

    /// Every way `instance` breaks the schema, one line each; empty when it is valid.
    pub fn violations(&self, instance: &Value) -> Vec<String> {
        self.validator
            .iter_errors(instance)
            .map(|error| {
                let path = error.instance_path().to_string();
                if path.is_empty() {
                    error.to_string()
                } else {
                    format!("{path}: {error}")
                }
            })
            .collect()
    }
}

impl Contract {
    pub fn load() -> Result<Self, Error> {
        let openapi: Value = serde_json::from_str(OPENAPI)
            .map_err(|error| Error::Contract(format!("openapi.json is not JSON: {error}")))?;
        let allow = pointer_str(&openapi, "/components/headers/Allow/schema/const")?;
        Ok(Self {
            get_count: Schema::compile("schemas/get-count.json", GET_COUNT_SCHEMA)?,
            post_count: Schema::compile("schemas/post-count.json", POST_COUNT_SCHEMA)?,
            problem: Schema::compile("schemas/problem.json", PROBLEM_SCHEMA)?,
            not_found_type: problem_type(&openapi, "NotFound")?,
            method_not_allowed_type: problem_type(&openapi, "MethodNotAllowed")?,
            payload_too_large_type: problem_type(&openapi, "PayloadTooLarge")?,
            origin_not_allowed_type: problem_type(&openapi, "OriginNotAllowed")?,
            allow: tokens(allow).map(str::to_owned).collect(),
        })
    }
}

/// The `type` of the problem a named response of `components/responses` carries,
/// taken from its examples (they must all agree).
fn problem_type(openapi: &Value, response: &str) -> Result<String, Error> {
    let pointer =
        format!("/components/responses/{response}/content/application~1problem+json/examples");
    let examples = openapi
        .pointer(&pointer)
        .and_then(Value::as_object)
        .ok_or_else(|| Error::Contract(format!("openapi.json has no {pointer}")))?;
    let mut types = examples
        .values()
        .filter_map(|example| example.pointer("/value/type").and_then(Value::as_str));
    let first = types
        .next()
        .ok_or_else(|| Error::Contract(format!("no example under {pointer} has a type")))?;
    if types.any(|other| other != first) {
        return Err(Error::Contract(format!(
            "the examples under {pointer} disagree on the problem type"
        )));
    }
    Ok(first.to_owned())
}

fn pointer_str<'a>(document: &'a Value, pointer: &str) -> Result<&'a str, Error> {
    document
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Contract(format!("openapi.json has no string at {pointer}")))
}

/// The count of a `{"count": N}` body; `None` when there is none to read.
pub(crate) fn count_of(body: &Value) -> Option<u64> {
    body.get("count").and_then(Value::as_u64)
}

/// [`count_of`] an answer's bytes.
pub(crate) fn count_in(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| count_of(&body))
}

/// The comma-separated tokens of a header value, trimmed, empty ones dropped.
pub(crate) fn tokens(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_embedded_contract_loads() {
        let contract = Contract::load().unwrap();
        assert_eq!(
            contract.not_found_type,
            "urn:visitor-counter:problem:not-found"
        );
        assert_eq!(
            contract.origin_not_allowed_type,
            "urn:visitor-counter:problem:origin-not-allowed"
        );
        assert_eq!(contract.allow, ["GET", "POST", "OPTIONS"]);
    }

    #[test]
    fn schemas_reject_what_the_contract_forbids() {
        let contract = Contract::load().unwrap();
        let valid = serde_json::json!({"count": 3});
        assert!(contract.get_count.violations(&valid).is_empty());
        for invalid in [
            serde_json::json!({"count": "3"}),
            serde_json::json!({"count": 3, "extra": true}),
            serde_json::json!({"count": -1}),
            serde_json::json!({}),
        ] {
            assert!(
                !contract.get_count.violations(&invalid).is_empty(),
                "{invalid} passed"
            );
        }
        assert!(
            !contract
                .post_count
                .violations(&serde_json::json!({"count": 0}))
                .is_empty()
        );
    }
}
