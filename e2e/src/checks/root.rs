//! No dead ends: the base URL itself (`GET /`) says what answers there and links to
//! the dashboard, the embed script, the site's totals, the list and the contract; and
//! `/dashboard/`, with the slash people type, redirects to the dashboard.

use reqwest::header::{LOCATION, ORIGIN};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::errors::expect_405;
use super::expect::{expect_json, expect_no_store, expect_status, shown};
use super::{COUNTERS, Finding, TOTALS, get};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Client, Request, single};
use crate::report::Check;

pub(super) const ROOT_LINKS: &str = "root-links";

/// The dashboard with a trailing slash, relative to the base URL.
const DASHBOARD_SLASH: &str = "dashboard/";

/// The links of `/` to the API's own paths, and the path each must lead to, relative to
/// the base URL.
const LINKS: [(&str, &str); 4] = [
    ("dashboard", "dashboard"),
    ("script", "counter.js"),
    ("totals", TOTALS),
    ("counters", COUNTERS),
];

/// `GET /` (the base URL) is 200 `application/json`, `no-store`, valid against
/// `index.json`; each of its links to the API's own paths, resolved against the base
/// URL, is that path under it (a named stage's prefix included), and its `contract` an
/// absolute `http(s)` URL; the `totals` link answers 200. `GET /dashboard/` is a 308
/// whose `Location`, resolved against the request's URL, is the dashboard. A `PUT` on
/// each is a 405 problem with its `Allow`.
pub(super) async fn root_links(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(ROOT_LINKS);
    let base = client.base().clone();
    if let Some(answer) = finding.send(client, get("", origin)).await? {
        expect_no_store(&mut finding, &answer);
        if let Some(body) = expect_json(&mut finding, &answer, StatusCode::OK, &contract.index) {
            let link = |name: &str| {
                body.pointer(&format!("/links/{name}"))
                    .and_then(Value::as_str)
            };
            for (name, path) in LINKS {
                let Some(link) = link(name) else { continue };
                let expected = client.url(path)?;
                match base.join(link) {
                    Ok(resolved) if resolved == expected => {}
                    resolved => finding.fail(format!(
                        "GET /: the {name} link {link:?} leads to {}, expected {expected} (the \
                         path under the base URL, a stage's prefix included)",
                        resolved.map_or_else(|error| error.to_string(), |url| url.to_string())
                    )),
                }
            }
            if let Some(link) = link("contract")
                && !Url::parse(link).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
            {
                finding.fail(format!(
                    "GET /: the contract link {link:?} is not an absolute http(s) URL"
                ));
            }
            if let Some(link) = link("totals")
                && let Ok(totals) = base.join(link)
                && totals.as_str().starts_with(base.as_str())
            {
                let relative = &totals.as_str()[base.as_str().len()..];
                if let Some(answer) = finding.send(client, get(relative, origin)).await? {
                    expect_status(&mut finding, &answer, StatusCode::OK);
                }
            }
        }
    }

    let request = get(DASHBOARD_SLASH, origin);
    if let Some(answer) = finding.send(client, request).await? {
        expect_status(&mut finding, &answer, StatusCode::PERMANENT_REDIRECT);
        let dashboard = client.url("dashboard")?;
        let from = client.url(DASHBOARD_SLASH)?;
        match single(&answer.headers, LOCATION.as_str()) {
            Ok(Some(location)) => match from.join(location) {
                Ok(to) if to == dashboard => {}
                to => finding.fail(format!(
                    "{}: Location {location:?} leads to {}, expected {dashboard}",
                    answer.label,
                    to.map_or_else(|error| error.to_string(), |url| url.to_string())
                )),
            },
            Ok(None) => finding.fail(format!(
                "{}: Location is {}, expected the dashboard's path",
                answer.label,
                shown("")
            )),
            Err(problem) => finding.fail(format!("{}: {problem}", answer.label)),
        }
    }

    for (path, allow) in [
        ("", &contract.allow_root),
        (DASHBOARD_SLASH, &contract.allow_dashboard_slash),
    ] {
        let request = Request::new(Method::PUT, path).header(ORIGIN, origin);
        expect_405(&mut finding, client, contract, request, allow).await?;
    }
    Ok(finding.finish())
}
