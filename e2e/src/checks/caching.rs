//! Every answer carries `Cache-Control: no-store`, but for the two the contract names
//! otherwise: a badge (`no-cache`) and the embed script (`public, max-age=3600`).
//! Checked over every exchange of the run.

use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;

use super::Finding;
use super::embed::SCRIPT;
use super::expect::shown;
use crate::contract::{self, Contract};
use crate::http::Client;
use crate::report::Check;

pub(super) const CACHE_CONTROL_NO_STORE: &str = "cache-control-no-store";

/// Every answer of the run carried its documented `Cache-Control`: `no-store`,
/// preflights and errors included (the function answers them, behind API Gateway too),
/// except a badge's `200` (the contract's badge value) and the script's `200` (its
/// own). `429 Too Many Requests` answers are left out: they come from the gateway's
/// throttle, not the service. A run that got nothing else had nothing to judge, which
/// is a failure, not a pass.
pub(super) fn cache_control_no_store(client: &Client, contract: &Contract) -> Check {
    let mut finding = Finding::new(CACHE_CONTROL_NO_STORE);
    // The 429s are the other checks' to report; this one only needs to know if there
    // was anything else.
    let (mut judged, mut throttled) = (0, 0);
    let base = client.base().as_str();
    for exchange in client.exchanges() {
        let Some(status) = exchange.status else {
            continue;
        };
        if status == StatusCode::TOO_MANY_REQUESTS.as_u16() {
            throttled += 1;
            continue;
        }
        judged += 1;
        let value = exchange.headers.get(CACHE_CONTROL.as_str());
        let directives: Vec<String> = value
            .map(|value| {
                contract::tokens(value)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        let path = exchange.url.strip_prefix(base).unwrap_or("");
        let documented = match exception(path, status, contract) {
            Some(expected) => {
                let mut expected: Vec<String> =
                    expected.iter().map(|d| d.to_ascii_lowercase()).collect();
                let mut got = directives.clone();
                expected.sort();
                got.sort();
                got == expected
            }
            None => directives.iter().any(|directive| directive == "no-store"),
        };
        if !documented {
            let expected = exception(path, status, contract)
                .map_or("no-store".to_owned(), |expected| expected.join(", "));
            finding.fail(format!(
                "{} {} answered {status} with Cache-Control {}, expected {expected}",
                exchange.method,
                exchange.url,
                shown(value.map_or("", String::as_str))
            ));
            finding.evidence.push(exchange);
        }
    }
    if judged == 0 && throttled > 0 {
        finding.fail(format!(
            "throttled: every answer of the run was a 429 Too Many Requests ({throttled}), \
             so none could be checked"
        ));
    }
    finding.finish()
}

/// The `Cache-Control` the contract gives an answer instead of `no-store`, if any:
/// a `200` badge's and the script's. `path` is relative to the base URL, query and all.
fn exception<'a>(path: &str, status: u16, contract: &'a Contract) -> Option<&'a [String]> {
    if status != StatusCode::OK.as_u16() {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    let badge = path
        .strip_prefix("counters/")
        .and_then(|rest| rest.strip_suffix("/badge.svg"))
        .is_some_and(|name| !name.is_empty() && !name.contains('/'));
    if badge {
        Some(&contract.badge_cache_control)
    } else if path == SCRIPT {
        Some(&contract.script_cache_control)
    } else {
        None
    }
}
