//! Any other path is a 404 problem, any other method on a route a 405 problem with that
//! route's `Allow`; and none of the requests that must not count moved the count.

use std::collections::BTreeSet;

use reqwest::header::{ALLOW, ORIGIN};
use reqwest::{Method, StatusCode};

use super::expect::{expect_problem, expect_unmoved, read_count, shown};
use super::{
    COUNT, COUNTERS, Finding, SITE, TOTALS, TOTALS_DAYS, UNKNOWN_PATH, counter_path, days_path,
    get, post,
};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Answer, Client, NoAnswer, Request, header_tokens};
use crate::report::Check;

pub(super) const NOT_FOUND: &str = "not-found";
pub(super) const METHOD_NOT_ALLOWED: &str = "method-not-allowed";
pub(super) const ERRORS_NOT_COUNTED: &str = "errors-not-counted";
pub(super) const COUNTERS_METHOD_NOT_ALLOWED: &str = "counters-method-not-allowed";
pub(super) const FOREIGN_POST_405: &str = "foreign-post-not-allowed";

/// Any path but `/count` is a 404 problem (a POST too, in full mode).
pub(super) async fn not_found(
    client: &Client,
    contract: &Contract,
    origin: &str,
    read_only: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(NOT_FOUND);
    let mut requests = vec![get(UNKNOWN_PATH, origin)];
    if !read_only {
        requests.push(post(UNKNOWN_PATH, origin));
    }
    for request in requests {
        if let Some(answer) = finding.send(client, request).await? {
            expect_problem(
                &mut finding,
                &answer,
                contract,
                StatusCode::NOT_FOUND,
                &contract.not_found_type,
            );
        }
    }
    Ok(finding.finish())
}

/// PUT, DELETE and PATCH on `/count` are 405 problems with `Allow: GET, POST, OPTIONS`.
pub(super) async fn method_not_allowed(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(METHOD_NOT_ALLOWED);
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let request = Request::new(method, COUNT).header(ORIGIN, origin);
        expect_405(&mut finding, client, contract, request, &contract.allow).await?;
    }
    Ok(finding.finish())
}

/// PUT and DELETE on `/counters/site`, `/counters`, `/counters/site/days` and the two
/// badges of `site` are 405 problems, each with its route's `Allow`; in full mode so is a POST on the two routes
/// that are only read. (Read-only mode sends no POST: one that a broken server counted
/// would be a visit in production.)
pub(super) async fn counters_method_not_allowed(
    client: &Client,
    contract: &Contract,
    origin: &str,
    read_only: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTERS_METHOD_NOT_ALLOWED);
    let routes = [
        (counter_path(SITE), &contract.allow_counter, false),
        (COUNTERS.to_owned(), &contract.allow_counters, true),
        (days_path(SITE, ""), &contract.allow_days, true),
        (
            format!("{}/badge.svg", counter_path(SITE)),
            &contract.allow_badge,
            true,
        ),
        (
            format!("{}/shields.json", counter_path(SITE)),
            &contract.allow_badge,
            true,
        ),
    ];
    for (path, allow, read_only_route) in routes {
        let mut methods = vec![Method::PUT, Method::DELETE];
        if read_only_route && !read_only {
            methods.push(Method::POST);
        }
        for method in methods {
            let request = Request::new(method, path.clone()).header(ORIGIN, origin);
            expect_405(&mut finding, client, contract, request, allow).await?;
        }
    }
    Ok(finding.finish())
}

/// A `POST` from the foreign origin to each path that takes no `POST` (`/`, `/counters`,
/// `/counters/site/days`, both badges of `site`, `/totals`, `/totals/days`,
/// `/counter.js`, `/dashboard/`) is that path's 405 problem with its `Allow`, not the
/// 403 a counting route gives a foreign origin: the route comes first, then the origin.
/// (`/dashboard` is `dashboard`'s, which knows whether it is turned off.)
pub(super) async fn foreign_post_405(
    client: &Client,
    contract: &Contract,
    foreign: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(FOREIGN_POST_405);
    let site = counter_path(SITE);
    let routes = [
        (String::new(), &contract.allow_root),
        (COUNTERS.to_owned(), &contract.allow_counters),
        (days_path(SITE, ""), &contract.allow_days),
        (format!("{site}/badge.svg"), &contract.allow_badge),
        (format!("{site}/shields.json"), &contract.allow_badge),
        (TOTALS.to_owned(), &contract.allow_totals),
        (TOTALS_DAYS.to_owned(), &contract.allow_totals_days),
        ("counter.js".to_owned(), &contract.allow_script),
        ("dashboard/".to_owned(), &contract.allow_dashboard_slash),
    ];
    for (path, allow) in routes {
        expect_405(&mut finding, client, contract, post(path, foreign), allow).await?;
    }
    Ok(finding.finish())
}

/// Sends `request`, which must be a 405 problem with exactly the methods `allow` in
/// `Allow`.
pub(super) async fn expect_405(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    request: Request,
    allow: &[String],
) -> Result<(), Error> {
    let Some(answer) = finding.send(client, request).await? else {
        return Ok(());
    };
    expect_problem(
        finding,
        &answer,
        contract,
        StatusCode::METHOD_NOT_ALLOWED,
        &contract.method_not_allowed_type,
    );
    let expected: BTreeSet<&str> = allow.iter().map(String::as_str).collect();
    let tokens = header_tokens(&answer.headers, ALLOW.as_str());
    let got: BTreeSet<&str> = tokens.iter().map(String::as_str).collect();
    if got != expected {
        finding.fail(format!(
            "{}: Allow is {}, expected {}",
            answer.label,
            shown(&tokens.join(", ")),
            allow.join(", ")
        ));
    }
    Ok(())
}

/// The count did not move across the CORS and error requests: none of them counted.
pub(super) async fn errors_not_counted(
    client: &Client,
    origin: &str,
    before: Result<Answer, NoAnswer>,
) -> Result<Check, Error> {
    let mut finding = Finding::new(ERRORS_NOT_COUNTED);
    let before = finding
        .keep(before)
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the errors"));
    let after = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count after the errors"));
    expect_unmoved(
        &mut finding,
        before,
        after,
        "requests that must not count (404, 405, 400, 413, preflights, reads)",
    );
    Ok(finding.finish())
}
