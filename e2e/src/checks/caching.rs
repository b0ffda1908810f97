//! Every answer carries `Cache-Control: no-store`: checked over every exchange of the run.

use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;

use super::Finding;
use super::expect::shown;
use crate::contract;
use crate::http::Client;
use crate::report::Check;

pub(super) const CACHE_CONTROL_NO_STORE: &str = "cache-control-no-store";

/// Every answer of the run carried `Cache-Control: no-store`, preflights included (the
/// function answers them, behind API Gateway too). `429 Too Many Requests` answers are
/// left out: they come from the gateway's throttle, not the service. A run that got
/// nothing else had nothing to judge, which is a failure, not a pass.
pub(super) fn cache_control_no_store(client: &Client) -> Check {
    let mut finding = Finding::new(CACHE_CONTROL_NO_STORE);
    // The 429s are the other checks' to report; this one only needs to know if there
    // was anything else.
    let (mut judged, mut throttled) = (0, 0);
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
    if judged == 0 && throttled > 0 {
        finding.fail(format!(
            "throttled: every answer of the run was a 429 Too Many Requests ({throttled}), \
             so none could be checked"
        ));
    }
    finding.finish()
}
