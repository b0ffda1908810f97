//! Counter names: a name that is not valid is a 404 unknown-counter problem on
//! `/counters/{name}`, `/counters/{name}/days` and the badges, whatever the method but
//! the CORS preflight (answered for any name, so that a page can read the 404).

use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode};

use super::expect::expect_problem;
use super::{Finding, counter_path, days_path, get, post};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Client, Request};
use crate::report::Check;

pub(super) const UNKNOWN_COUNTER: &str = "unknown-counter";

/// Path segments that are not counter names, even after percent-decoding: upper case,
/// a `-` first or last, 65 characters, a space, dots first or last.
///
/// `%2e%2e` (`..`) is not among them: a URL parser as the WHATWG URL standard has it
/// (browsers', and the checker's own) takes it for `..` and removes the segment before
/// sending, so no such client can send it; `%2ea` and `a%2e` are percent-encoded dots
/// that reach the server as they are.
pub(crate) fn invalid_segments() -> Vec<String> {
    vec![
        "Home".to_owned(),
        "-a".to_owned(),
        "a-".to_owned(),
        "a".repeat(65),
        "a%20b".to_owned(),
        "%2ea".to_owned(),
        "a%2e".to_owned(),
    ]
}

/// `GET /counters/{name}` and `GET /counters/{name}/days` for each of
/// [`invalid_segments`], `GET` of both badges of the first two, and a `PUT` on the
/// first (a 404, not the 405 a valid name gets), are 404 problems of the contract's unknown-counter type; in full mode a `POST`
/// on the first two is too.
pub(super) async fn unknown_counter(
    client: &Client,
    contract: &Contract,
    origin: &str,
    read_only: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(UNKNOWN_COUNTER);
    let segments = invalid_segments();
    let mut requests = Vec::new();
    for segment in &segments {
        requests.push(get(counter_path(segment), origin));
        requests.push(get(days_path(segment, ""), origin));
    }
    for segment in &segments[..2] {
        for badge in ["badge.svg", "shields.json"] {
            requests.push(get(format!("{}/{badge}", counter_path(segment)), origin));
        }
    }
    requests.push(Request::new(Method::PUT, counter_path(&segments[0])).header(ORIGIN, origin));
    if !read_only {
        for segment in &segments[..2] {
            requests.push(post(counter_path(segment), origin));
        }
    }
    for request in requests {
        if let Some(answer) = finding.send(client, request).await? {
            expect_problem(
                &mut finding,
                &answer,
                contract,
                StatusCode::NOT_FOUND,
                &contract.unknown_counter_type,
            );
        }
    }
    Ok(finding.finish())
}

#[cfg(test)]
mod tests {

    use super::*;

    /// `%XX` decoded, as the service decodes the path segment.
    fn decoded(segment: &str) -> String {
        let mut out = Vec::new();
        let mut bytes = segment.bytes();
        while let Some(byte) = bytes.next() {
            if byte == b'%' {
                let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap());
            } else {
                out.push(byte);
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_invalid_segment_is_invalid_after_decoding_too() {
        let contract = Contract::load().unwrap();
        for segment in invalid_segments() {
            let name = decoded(&segment);
            assert!(!contract.is_counter_name(&name), "{segment} is {name:?}");
        }
        assert_eq!(decoded("sit%65"), "site");
    }

    #[test]
    fn every_invalid_segment_reaches_the_server_as_it_is() {
        let base = reqwest::Url::parse("https://host.example/prod/").unwrap();
        for segment in invalid_segments() {
            let url = base.join(&format!("counters/{segment}/days")).unwrap();
            assert_eq!(
                url.path(),
                format!("/prod/counters/{segment}/days"),
                "{segment}"
            );
        }
        // What it is not among them for: the URL parser takes it for `..`.
        let url = base.join("counters/%2e%2e/days").unwrap();
        assert_eq!(url.path(), "/prod/days");
    }
}
