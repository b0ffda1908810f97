//! `HEAD` wherever `GET` is answered: the same status and headers, and no body, so
//! that uptime monitors and link checkers that ask with `HEAD` get the real answer.

use reqwest::Method;
use reqwest::header::ORIGIN;

use super::expect::shown;
use super::{
    COUNT, COUNTERS, Finding, SITE, TOTALS, TOTALS_DAYS, UNKNOWN_PATH, counter_path, days_path,
};
use crate::error::Error;
use crate::http::{Answer, Client, Request};
use crate::report::Check;

pub(super) const HEAD_LIKE_GET: &str = "head-like-get";

/// The headers a `HEAD` must answer as its `GET` does: the contract's headers of a
/// `GET`, less those that describe the body's bytes.
const SAME_HEADERS: &[&str] = &[
    "access-control-allow-origin",
    "access-control-expose-headers",
    "allow",
    "cache-control",
    "content-security-policy",
    "content-type",
    "location",
    "vary",
    "www-authenticate",
];

/// The most of a page the checker reads (the dashboard's, see `dashboard`).
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// The paths whose `GET` and `HEAD` are compared: every route that answers `GET`, the
/// redirect, a name that is not valid (a 404 unknown-counter) and a path that does not
/// exist (a 404), with the base URL's own (`/`) first.
fn paths() -> Vec<(String, bool)> {
    let site = counter_path(SITE);
    vec![
        (String::new(), false),
        (COUNT.to_owned(), false),
        (COUNTERS.to_owned(), true),
        (site.clone(), false),
        (days_path(SITE, ""), false),
        (format!("{site}/badge.svg"), false),
        (format!("{site}/shields.json"), false),
        (TOTALS.to_owned(), false),
        (TOTALS_DAYS.to_owned(), false),
        ("counter.js".to_owned(), false),
        ("dashboard".to_owned(), true),
        ("dashboard/".to_owned(), false),
        (counter_path("Home"), false),
        (UNKNOWN_PATH.to_owned(), false),
    ]
}

/// For each path of [`paths`], a `HEAD` is answered the status of a `GET` just before
/// it, with the same values of the headers of [`SAME_HEADERS`] (each absent from both,
/// or the same in both), and no body. The private pages are asked with the password
/// when the checker has one, so both answers are the page or both the `401`.
pub(super) async fn head_like_get(client: &Client, origin: &str) -> Result<Check, Error> {
    let mut finding = Finding::new(HEAD_LIKE_GET);
    for (path, private) in paths() {
        let request = |method: Method| {
            let request = Request::new(method, path.clone())
                .header(ORIGIN, origin)
                .read_up_to(MAX_PAGE_BYTES);
            if private {
                client.authorize(request)
            } else {
                request
            }
        };
        let Some(got) = finding.send(client, request(Method::GET)).await? else {
            continue;
        };
        let Some(head) = finding.send(client, request(Method::HEAD)).await? else {
            continue;
        };
        expect_like(&mut finding, &got, &head);
    }
    Ok(finding.finish())
}

fn expect_like(finding: &mut Finding, got: &Answer, head: &Answer) {
    if head.status != got.status {
        finding.fail(format!(
            "{} answered {}, but {} answered {}: HEAD is GET without the body",
            head.label, head.status, got.label, got.status
        ));
    }
    for name in SAME_HEADERS {
        let values = |answer: &Answer| -> Vec<String> {
            answer
                .headers
                .get_all(*name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect()
        };
        let (of_get, of_head) = (values(got), values(head));
        if of_get != of_head {
            finding.fail(format!(
                "{}: {name} is {}, but {} had {}",
                head.label,
                shown(&of_head.join(", ")),
                got.label,
                shown(&of_get.join(", "))
            ));
        }
    }
    if !head.body.is_empty() {
        finding.fail(format!(
            "{}: a body of {} bytes; a HEAD answer has none",
            head.label,
            head.body.len()
        ));
    }
}
