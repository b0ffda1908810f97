//! The published contract, embedded at build time from `contracts/`.
//!
//! Nothing here is a copy: the schemas, the problem types, the `Allow` header and the
//! `Idempotent-Replayed` value the checker expects are all read from these documents.

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
/// `contracts/schemas/counter.json`: the body of `GET` and `POST /counters/{name}`.
pub const COUNTER_SCHEMA: &str = include_str!("../../contracts/schemas/counter.json");
/// `contracts/schemas/days.json`: the body of `GET /counters/{name}/days`.
pub const DAYS_SCHEMA: &str = include_str!("../../contracts/schemas/days.json");
/// `contracts/schemas/counters.json`: the body of `GET /counters`.
pub const COUNTERS_SCHEMA: &str = include_str!("../../contracts/schemas/counters.json");
/// `contracts/schemas/shields.json`: the body of `GET /counters/{name}/shields.json`.
pub const SHIELDS_SCHEMA: &str = include_str!("../../contracts/schemas/shields.json");
/// `contracts/schemas/totals.json`: the body of `GET /totals`.
pub const TOTALS_SCHEMA: &str = include_str!("../../contracts/schemas/totals.json");
/// `contracts/schemas/totals-days.json`: the body of `GET /totals/days`.
pub const TOTALS_DAYS_SCHEMA: &str = include_str!("../../contracts/schemas/totals-days.json");
/// `contracts/schemas/index.json`: the body of `GET /`.
pub const INDEX_SCHEMA: &str = include_str!("../../contracts/schemas/index.json");

/// The paths of the contract, as `openapi.json` spells them.
pub const COUNT_PATH: &str = "/count";
/// The list of counters.
pub const COUNTERS_PATH: &str = "/counters";
/// One named counter.
pub const COUNTER_PATH: &str = "/counters/{name}";
/// One named counter's days.
pub const DAYS_PATH: &str = "/counters/{name}/days";
/// One named counter's SVG badge.
pub const BADGE_PATH: &str = "/counters/{name}/badge.svg";
/// One named counter's badge as shields.io's endpoint JSON.
pub const SHIELDS_PATH: &str = "/counters/{name}/shields.json";
/// The embed script.
pub const SCRIPT_PATH: &str = "/counter.js";
/// Every counter on one HTML page.
pub const DASHBOARD_PATH: &str = "/dashboard";
/// The dashboard with a trailing slash: a redirect to it.
pub const DASHBOARD_SLASH_PATH: &str = "/dashboard/";
/// The whole site's numbers.
pub const TOTALS_PATH: &str = "/totals";
/// The whole site's days.
pub const TOTALS_DAYS_PATH: &str = "/totals/days";
/// Where everything is.
pub const ROOT_PATH: &str = "/";

/// The `Visit-Filtered` value of a `POST` from a bot.
pub const FILTERED_BOT: &str = "bot";
/// The `Visit-Filtered` value of a `POST` past the visitor's limit for the day.
pub const FILTERED_LIMITED: &str = "limited";

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
    /// The methods a 405 on `/count` lists in `Allow`.
    pub allow: Vec<String>,
    pub counter: Schema,
    pub days: Schema,
    pub counters: Schema,
    /// The `type` of the 404 problem an invalid or not-allowed counter name gets.
    pub unknown_counter_type: String,
    /// The `type` of the 400 problem a bad query parameter gets.
    pub invalid_query_type: String,
    /// The methods a 405 on `/counters/{name}` lists in `Allow`.
    pub allow_counter: Vec<String>,
    /// The methods a 405 on `/counters` lists in `Allow`.
    pub allow_counters: Vec<String>,
    /// The methods a 405 on `/counters/{name}/days` lists in `Allow`.
    pub allow_days: Vec<String>,
    /// The `type` of the 400 problem a malformed `Idempotency-Key` gets.
    pub invalid_idempotency_key_type: String,
    /// The `type` of the 422 problem a key first used on another counter gets.
    pub idempotency_key_reused_type: String,
    /// The `type` of the 409 problem a key whose first request is being written gets.
    pub idempotency_key_in_flight_type: String,
    /// The value of `Idempotent-Replayed` on a replayed answer (`true`).
    pub replayed: String,
    pub shields: Schema,
    /// The `Cache-Control` of a badge (`no-cache`), one directive a token.
    pub badge_cache_control: Vec<String>,
    /// The `Cache-Control` of the embed script (`public, max-age=3600`).
    pub script_cache_control: Vec<String>,
    /// The methods a 405 on a badge's routes lists in `Allow`.
    pub allow_badge: Vec<String>,
    /// The methods a 405 on `/counter.js` lists in `Allow`.
    pub allow_script: Vec<String>,
    /// The methods a 405 on `/dashboard` lists in `Allow`.
    pub allow_dashboard: Vec<String>,
    pub totals: Schema,
    pub totals_days: Schema,
    pub index: Schema,
    /// The methods a 405 on `/totals` lists in `Allow`.
    pub allow_totals: Vec<String>,
    /// The methods a 405 on `/totals/days` lists in `Allow`.
    pub allow_totals_days: Vec<String>,
    /// The methods a 405 on `/` lists in `Allow`.
    pub allow_root: Vec<String>,
    /// The methods a 405 on `/dashboard/` lists in `Allow`.
    pub allow_dashboard_slash: Vec<String>,
    /// The `type` of the 401 problem of a private page without its password.
    pub unauthorized_type: String,
    /// The `WWW-Authenticate` challenge of that 401.
    pub www_authenticate: String,
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
        let bad_request = problem_types(response_at(&openapi, COUNT_PATH, "get", "400")?)?;
        let invalid_query = problem_types(response_at(&openapi, DAYS_PATH, "get", "400")?)?;
        let invalid_key = problem_types(response_at(&openapi, COUNT_PATH, "post", "400")?)?;
        expect_filtered_values(&openapi)?;
        Ok(Self {
            get_count: Schema::compile("schemas/get-count.json", GET_COUNT_SCHEMA)?,
            post_count: Schema::compile("schemas/post-count.json", POST_COUNT_SCHEMA)?,
            problem: Schema::compile("schemas/problem.json", PROBLEM_SCHEMA)?,
            not_found_type: problem_type(&openapi, "NotFound")?,
            method_not_allowed_type: problem_type(&openapi, "MethodNotAllowed")?,
            payload_too_large_type: problem_type(&openapi, "PayloadTooLarge")?,
            origin_not_allowed_type: example_type(
                response_at(&openapi, COUNT_PATH, "post", "403")?,
                "origin-not-allowed",
            )?,
            allow: allow_at(&openapi, COUNT_PATH)?,
            counter: Schema::compile("schemas/counter.json", COUNTER_SCHEMA)?,
            days: Schema::compile("schemas/days.json", DAYS_SCHEMA)?,
            counters: Schema::compile("schemas/counters.json", COUNTERS_SCHEMA)?,
            unknown_counter_type: single_type(
                problem_types(response_at(&openapi, COUNTER_PATH, "get", "404")?)?,
                COUNTER_PATH,
            )?,
            // The route's 400 is the generic bad-request one every route has, and the
            // problem of its own: the one that is not the generic one.
            invalid_query_type: single_type(
                invalid_query
                    .into_iter()
                    .filter(|kind| !bad_request.contains(kind))
                    .collect(),
                DAYS_PATH,
            )?,
            allow_counter: allow_at(&openapi, COUNTER_PATH)?,
            allow_counters: allow_at(&openapi, COUNTERS_PATH)?,
            allow_days: allow_at(&openapi, DAYS_PATH)?,
            // As the days' 400: POST's own problem is the one that is not the generic one.
            invalid_idempotency_key_type: single_type(
                invalid_key
                    .into_iter()
                    .filter(|kind| !bad_request.contains(kind))
                    .collect(),
                COUNT_PATH,
            )?,
            idempotency_key_reused_type: problem_type(&openapi, "IdempotencyKeyReused")?,
            idempotency_key_in_flight_type: problem_type(&openapi, "IdempotencyKeyInFlight")?,
            replayed: header_const(&openapi, "Idempotent-Replayed")?,
            shields: Schema::compile("schemas/shields.json", SHIELDS_SCHEMA)?,
            badge_cache_control: response_header_const(
                &openapi,
                response_at(&openapi, BADGE_PATH, "get", "200")?,
                "Cache-Control",
            )?,
            script_cache_control: response_header_const(
                &openapi,
                response_at(&openapi, SCRIPT_PATH, "get", "200")?,
                "Cache-Control",
            )?,
            allow_badge: allow_at(&openapi, BADGE_PATH)?,
            allow_script: allow_at(&openapi, SCRIPT_PATH)?,
            allow_dashboard: allow_at(&openapi, DASHBOARD_PATH)?,
            totals: Schema::compile("schemas/totals.json", TOTALS_SCHEMA)?,
            totals_days: Schema::compile("schemas/totals-days.json", TOTALS_DAYS_SCHEMA)?,
            index: Schema::compile("schemas/index.json", INDEX_SCHEMA)?,
            allow_totals: allow_at(&openapi, TOTALS_PATH)?,
            allow_totals_days: allow_at(&openapi, TOTALS_DAYS_PATH)?,
            allow_root: allow_at(&openapi, ROOT_PATH)?,
            allow_dashboard_slash: allow_at(&openapi, DASHBOARD_SLASH_PATH)?,
            unauthorized_type: single_type(
                problem_types(response_at(&openapi, DASHBOARD_PATH, "get", "401")?)?,
                DASHBOARD_PATH,
            )?,
            www_authenticate: header_const(&openapi, "WWW-Authenticate")?,
        })
    }

    /// Whether `name` is a counter name by the contract: the `name` of a counter body
    /// that `counter.json` accepts.
    pub fn is_counter_name(&self, name: &str) -> bool {
        let body = serde_json::json!({"name": name, "views": 0, "visitors": 0});
        self.counter.violations(&body).is_empty()
    }
}

/// The value at a local `$ref` (`#/components/...`), or `value` itself when it is none.
fn resolved<'a>(openapi: &'a Value, value: &'a Value) -> Result<&'a Value, Error> {
    match value.get("$ref").and_then(Value::as_str) {
        None => Ok(value),
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| openapi.pointer(pointer))
            .ok_or_else(|| Error::Contract(format!("openapi.json has no {reference}"))),
    }
}

/// The response `status` of `method` on `path`, its `$ref` followed.
fn response_at<'a>(
    openapi: &'a Value,
    path: &str,
    method: &str,
    status: &str,
) -> Result<&'a Value, Error> {
    let pointer = format!("/paths/{}/{method}/responses/{status}", escaped(path));
    let response = openapi
        .pointer(&pointer)
        .ok_or_else(|| Error::Contract(format!("openapi.json has no {pointer}")))?;
    resolved(openapi, response)
}

/// The methods a 405 on `path` lists in `Allow`: OpenAPI cannot give a response to
/// methods that are not operations, so the contract names it in the path's
/// `x-other-methods`, whose response's `Allow` header has the list as its `const`.
fn allow_at(openapi: &Value, path: &str) -> Result<Vec<String>, Error> {
    let pointer = format!("/paths/{}/x-other-methods/response", escaped(path));
    let response = openapi
        .pointer(&pointer)
        .ok_or_else(|| Error::Contract(format!("openapi.json has no {pointer}")))?;
    let response = resolved(openapi, response)?;
    let header = response
        .pointer("/headers/Allow")
        .ok_or_else(|| Error::Contract(format!("the response at {pointer} has no Allow header")))?;
    let allow = resolved(openapi, header)?
        .pointer("/schema/const")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::Contract(format!(
                "the Allow header of the response at {pointer} has no const"
            ))
        })?;
    Ok(tokens(allow).map(str::to_owned).collect())
}

/// The `const` of a header of `components/headers`.
fn header_const(openapi: &Value, header: &str) -> Result<String, Error> {
    let pointer = format!("/components/headers/{}/schema/const", escaped(header));
    openapi
        .pointer(&pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Contract(format!("openapi.json has no {pointer}")))
}

/// The `const` of a response's header, `$ref`s followed, as its comma-separated tokens.
fn response_header_const(
    openapi: &Value,
    response: &Value,
    header: &str,
) -> Result<Vec<String>, Error> {
    let found = response
        .pointer(&format!("/headers/{}", escaped(header)))
        .ok_or_else(|| Error::Contract(format!("a 200 response has no {header} header")))?;
    let value = resolved(openapi, found)?
        .pointer("/schema/const")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Contract(format!("the {header} header of a 200 has no const")))?;
    Ok(tokens(value).map(str::to_owned).collect())
}

/// A path as a JSON Pointer token (`/` is `~1`, `~` is `~0`).
fn escaped(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

/// The distinct problem `type`s of a response's examples, in the order they come.
fn problem_types(response: &Value) -> Result<Vec<String>, Error> {
    let examples = response
        .pointer("/content/application~1problem+json/examples")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::Contract("a problem response has no examples".to_owned()))?;
    let mut types: Vec<String> = Vec::new();
    for kind in examples
        .values()
        .filter_map(|example| example.pointer("/value/type").and_then(Value::as_str))
    {
        if !types.iter().any(|known| known == kind) {
            types.push(kind.to_owned());
        }
    }
    Ok(types)
}

/// The contract's `Visit-Filtered` values are the two the checks know.
fn expect_filtered_values(openapi: &Value) -> Result<(), Error> {
    let pointer = "/components/headers/Visit-Filtered/schema/enum";
    let values: Vec<&str> = openapi
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if values != [FILTERED_BOT, FILTERED_LIMITED] {
        return Err(Error::Contract(format!(
            "openapi.json's {pointer} is {values:?}, expected [{FILTERED_BOT:?}, \
             {FILTERED_LIMITED:?}]"
        )));
    }
    Ok(())
}

/// The problem `type` of the example named `example` of a response.
fn example_type(response: &Value, example: &str) -> Result<String, Error> {
    let pointer = format!("/content/application~1problem+json/examples/{example}/value/type");
    response
        .pointer(&pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Contract(format!("a problem response has no {pointer}")))
}

fn single_type(types: Vec<String>, path: &str) -> Result<String, Error> {
    match <[String; 1]>::try_from(types) {
        Ok([kind]) => Ok(kind),
        Err(types) => Err(Error::Contract(format!(
            "expected one problem type of its own on {path}, found {types:?}"
        ))),
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
        assert_eq!(contract.allow, ["GET", "HEAD", "POST", "OPTIONS"]);
        assert_eq!(
            contract.unknown_counter_type,
            "urn:visitor-counter:problem:unknown-counter"
        );
        assert_eq!(
            contract.invalid_query_type,
            "urn:visitor-counter:problem:invalid-query"
        );
        assert_eq!(contract.allow_counter, ["GET", "HEAD", "POST", "OPTIONS"]);
        assert_eq!(contract.allow_counters, ["GET", "HEAD", "OPTIONS"]);
        assert_eq!(contract.allow_days, ["GET", "HEAD", "OPTIONS"]);
        assert_eq!(
            contract.invalid_idempotency_key_type,
            "urn:visitor-counter:problem:invalid-idempotency-key"
        );
        assert_eq!(
            contract.idempotency_key_reused_type,
            "urn:visitor-counter:problem:idempotency-key-reused"
        );
        assert_eq!(
            contract.idempotency_key_in_flight_type,
            "urn:visitor-counter:problem:idempotency-key-in-flight"
        );
        assert_eq!(contract.replayed, "true");
        assert_eq!(contract.badge_cache_control, ["no-cache"]);
        assert_eq!(contract.script_cache_control, ["public", "max-age=3600"]);
        assert_eq!(contract.allow_badge, ["GET", "HEAD", "OPTIONS"]);
        assert_eq!(contract.allow_script, ["GET", "HEAD"]);
        assert_eq!(contract.allow_dashboard, ["GET", "HEAD"]);
        assert_eq!(contract.allow_totals, ["GET", "HEAD", "OPTIONS"]);
        assert_eq!(contract.allow_totals_days, ["GET", "HEAD", "OPTIONS"]);
        assert_eq!(contract.allow_root, ["GET", "HEAD"]);
        assert_eq!(contract.allow_dashboard_slash, ["GET", "HEAD"]);
        assert_eq!(
            contract.unauthorized_type,
            "urn:visitor-counter:problem:unauthorized"
        );
        assert_eq!(
            contract.www_authenticate,
            r#"Basic realm="visitor-counter", charset="UTF-8""#
        );
    }

    #[test]
    fn the_totals_days_take_a_counter_s_ranges_and_the_list_is_as_private_as_the_dashboard() {
        let openapi: Value = serde_json::from_str(OPENAPI).unwrap();
        let bad = |path| problem_types(response_at(&openapi, path, "get", "400").unwrap());
        assert_eq!(bad(TOTALS_DAYS_PATH).unwrap(), bad(DAYS_PATH).unwrap());
        let private = |path| problem_types(response_at(&openapi, path, "get", "401").unwrap());
        assert_eq!(
            private(COUNTERS_PATH).unwrap(),
            private(DASHBOARD_PATH).unwrap()
        );
        // The counting POSTs' 403 has two problems: the origin's and the cap's.
        let refused = problem_types(response_at(&openapi, COUNT_PATH, "post", "403").unwrap());
        assert_eq!(
            refused.unwrap(),
            [
                "urn:visitor-counter:problem:origin-not-allowed",
                "urn:visitor-counter:problem:too-many-counters"
            ]
        );
    }

    #[test]
    fn the_v3_schemas_reject_what_the_contract_forbids() {
        let contract = Contract::load().unwrap();
        let totals = serde_json::json!({"views": 3, "visitors": 1, "counters": 2});
        assert!(contract.totals.violations(&totals).is_empty());
        for invalid in [
            serde_json::json!({"views": 3, "visitors": 1}),
            serde_json::json!({"views": 3, "visitors": -1, "counters": 2}),
            serde_json::json!({"views": 3, "visitors": 1, "counters": 2, "bots": 0}),
        ] {
            assert!(
                !contract.totals.violations(&invalid).is_empty(),
                "{invalid}"
            );
        }
        let day = serde_json::json!({"date": "2026-12-01", "views": 2, "visitors": 1, "bots": 0, "limited": 0});
        assert!(
            contract
                .totals_days
                .violations(&serde_json::json!({ "days": [day] }))
                .is_empty()
        );
        let named = serde_json::json!({"name": "home", "days": [day]});
        assert!(contract.days.violations(&named).is_empty());
        let v2_day = serde_json::json!({"date": "2026-12-01", "views": 2, "visitors": 1});
        assert!(
            !contract
                .days
                .violations(&serde_json::json!({"name": "home", "days": [v2_day]}))
                .is_empty()
        );
        let links = |prefix: &str| {
            serde_json::json!({"service": "visitor-counter", "links": {
                "dashboard": format!("{prefix}/dashboard"),
                "script": format!("{prefix}/counter.js"),
                "totals": format!("{prefix}/totals"),
                "counters": format!("{prefix}/counters"),
                "contract": "https://example.com/contracts/openapi.json"
            }})
        };
        assert!(contract.index.violations(&links("")).is_empty());
        assert!(contract.index.violations(&links("/prod")).is_empty());
        assert!(!contract.index.violations(&links("prod")).is_empty());
    }

    #[test]
    fn the_badges_bad_query_is_the_days_invalid_query_and_their_bad_name_unknown_counter() {
        let openapi: Value = serde_json::from_str(OPENAPI).unwrap();
        let contract = Contract::load().unwrap();
        for path in [BADGE_PATH, SHIELDS_PATH] {
            let bad = problem_types(response_at(&openapi, path, "get", "400").unwrap());
            assert_eq!(
                bad.unwrap(),
                std::slice::from_ref(&contract.invalid_query_type),
                "{path}"
            );
            let name = problem_types(response_at(&openapi, path, "get", "404").unwrap());
            assert_eq!(
                name.unwrap(),
                std::slice::from_ref(&contract.unknown_counter_type),
                "{path}"
            );
        }
        let off = problem_types(response_at(&openapi, DASHBOARD_PATH, "get", "404").unwrap());
        assert_eq!(off.unwrap(), [contract.not_found_type]);
    }

    #[test]
    fn the_shields_schema_takes_the_contract_s_examples_only() {
        let contract = Contract::load().unwrap();
        let valid = serde_json::json!({"schemaVersion": 1, "label": "views", "message": "12,345", "color": "blue"});
        assert!(contract.shields.violations(&valid).is_empty());
        for invalid in [
            serde_json::json!({"schemaVersion": 1, "label": "views", "message": "12345", "color": "blue"}),
            serde_json::json!({"schemaVersion": 1, "label": "views", "message": "1,234", "color": "blue", "style": "flat"}),
            serde_json::json!({"schemaVersion": 2, "label": "views", "message": "1", "color": "blue"}),
        ] {
            assert!(
                !contract.shields.violations(&invalid).is_empty(),
                "{invalid}"
            );
        }
    }

    #[test]
    fn both_counting_routes_have_the_same_idempotency_problems() {
        let openapi: Value = serde_json::from_str(OPENAPI).unwrap();
        for status in ["400", "409", "422"] {
            let count = problem_types(response_at(&openapi, COUNT_PATH, "post", status).unwrap());
            let counter =
                problem_types(response_at(&openapi, COUNTER_PATH, "post", status).unwrap());
            assert_eq!(count.unwrap(), counter.unwrap(), "{status}");
        }
    }

    #[test]
    fn every_problem_type_read_is_one_problem_json_knows() {
        let contract = Contract::load().unwrap();
        for kind in [
            &contract.not_found_type,
            &contract.method_not_allowed_type,
            &contract.payload_too_large_type,
            &contract.origin_not_allowed_type,
            &contract.unknown_counter_type,
            &contract.invalid_query_type,
            &contract.invalid_idempotency_key_type,
            &contract.idempotency_key_reused_type,
            &contract.idempotency_key_in_flight_type,
            &contract.unauthorized_type,
        ] {
            let problem = serde_json::json!({
                "type": kind, "title": "t", "status": 400, "detail": "d"
            });
            assert!(contract.problem.violations(&problem).is_empty(), "{kind}");
        }
    }

    #[test]
    fn the_days_route_has_the_same_unknown_counter_problem() {
        let openapi: Value = serde_json::from_str(OPENAPI).unwrap();
        let contract = Contract::load().unwrap();
        let days = problem_types(response_at(&openapi, DAYS_PATH, "get", "404").unwrap());
        assert_eq!(days.unwrap(), [contract.unknown_counter_type]);
    }

    #[test]
    fn names_are_the_contract_s() {
        let contract = Contract::load().unwrap();
        for name in [
            "site",
            "home",
            "blog.first-post",
            "a",
            "0_9",
            &"a".repeat(64),
        ] {
            assert!(contract.is_counter_name(name), "{name:?}");
        }
        for name in [
            "",
            "Home",
            "-a",
            "a-",
            ".a",
            "a.",
            "a b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!contract.is_counter_name(name), "{name:?}");
        }
    }

    #[test]
    fn the_v2_schemas_reject_what_the_contract_forbids() {
        let contract = Contract::load().unwrap();
        let counter = serde_json::json!({"name": "home", "views": 3, "visitors": 1});
        assert!(contract.counter.violations(&counter).is_empty());
        for invalid in [
            serde_json::json!({"name": "home", "views": 3}),
            serde_json::json!({"name": "home", "views": -1, "visitors": 0}),
            serde_json::json!({"name": "home", "views": 3, "visitors": 1, "count": 3}),
        ] {
            assert!(
                !contract.counter.violations(&invalid).is_empty(),
                "{invalid}"
            );
        }
        let list = serde_json::json!({"counters": [counter], "next": "home"});
        assert!(contract.counters.violations(&list).is_empty());
        let days = serde_json::json!({"name": "home", "days": []});
        assert!(!contract.days.violations(&days).is_empty());
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
        // A POST that is not counted (Visit-Filtered) answers the count as it is: 0
        // when nothing was ever counted.
        assert!(
            contract
                .post_count
                .violations(&serde_json::json!({"count": 0}))
                .is_empty()
        );
    }
}
