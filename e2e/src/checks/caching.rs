//! Every answer carries `Cache-Control: no-store`: checked over every exchange of the run.

use reqwest::Method;
use reqwest::header::CACHE_CONTROL;

use super::Finding;
use super::expect::shown;
use crate::contract;
use crate::http::Client;
use crate::report::Check;

pub(super) const CACHE_CONTROL_NO_STORE: &str = "cache-control-no-store";

/// Every answer of the run carried `Cache-Control: no-store`. Preflights are left out:
/// behind API Gateway they are answered by the gateway itself, not the service.
pub(super) fn cache_control_no_store(client: &Client) -> Check {
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
