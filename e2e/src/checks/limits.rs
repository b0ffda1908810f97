//! A body over the limit is a 413 problem (and, see `errors`, counts nothing).

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use super::expect::expect_problem;
use super::{COUNT, Finding, post};
use crate::contract::{self, Contract};
use crate::error::Error;
use crate::http::Client;
use crate::report::Check;

pub(super) const PAYLOAD_TOO_LARGE: &str = "payload-too-large";

/// A POST with a body over 1 KiB is a 413 problem.
pub(super) async fn payload_too_large(
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn the_oversized_body_is_twice_the_limit_and_json() {
        let body = oversized_body();
        assert_eq!(body.len(), 2 * contract::BODY_LIMIT);
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
    }
}
