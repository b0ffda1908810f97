//! `GET /dashboard`: an HTML page of every counter, `no-store`, under a policy that
//! runs no script and holding none; or, when the operator made it private
//! (`DASHBOARD_PASSWORD`) and the checker has no password, a 401 unauthorized problem;
//! or, when the operator turned it off (`DASHBOARD=off`), a 404 not-found problem. The
//! checker cannot know which the stage has, so it takes any and says which it saw.

use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode};

use super::errors::expect_405;
use super::expect::{
    expect_media_type, expect_no_script_policy, expect_no_store, expect_problem,
    expect_utf8_if_any, private_page,
};
use super::{Finding, get_private};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Answer, Client, Request};
use crate::report::Check;

pub(super) const DASHBOARD: &str = "dashboard";

/// The page, relative to the base URL.
const PAGE: &str = "dashboard";
/// The most of the page the checker reads: the page lists at most 10,000 counters and
/// charts 50, a few MB.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// `GET /dashboard` is either the page or, turned off, a 404 problem of the contract's
/// not-found type; the note says which. The page: 200 `text/html`, `no-store`, a
/// `Content-Security-Policy` without scripts, no `<script` in it, and in full mode the
/// names `listed` (the counters the run counted) in its text. `PUT` (and `POST`, in
/// full mode) then agree: 405 problems with `Allow: GET` when it is served, 404
/// not-found problems when it is off.
pub(super) async fn dashboard(
    client: &Client,
    contract: &Contract,
    origin: &str,
    read_only: bool,
    listed: &[&str],
) -> Result<Check, Error> {
    let mut finding = Finding::new(DASHBOARD);
    let request = get_private(client, PAGE, origin).read_up_to(MAX_PAGE_BYTES);
    let Some(answer) = finding.send(client, request).await? else {
        return Ok(finding.finish());
    };
    let served = match answer.status {
        StatusCode::UNAUTHORIZED => {
            private_page(&mut finding, client, &answer, contract);
            true
        }
        StatusCode::OK => {
            finding.note = Some("served: 200 text/html".to_owned());
            expect_page(&mut finding, &answer, listed);
            true
        }
        StatusCode::NOT_FOUND => {
            finding.note = Some("turned off: 404 not-found (DASHBOARD=off)".to_owned());
            expect_problem(
                &mut finding,
                &answer,
                contract,
                StatusCode::NOT_FOUND,
                &contract.not_found_type,
            );
            false
        }
        status => {
            finding.fail(format!(
                "{} answered {status}, expected 200 (the page), 401 (private) or 404 (turned \
                 off)",
                answer.label
            ));
            return Ok(finding.finish());
        }
    };
    let mut methods = vec![Method::PUT];
    if !read_only {
        methods.push(Method::POST);
    }
    for method in methods {
        let request = Request::new(method, PAGE).header(ORIGIN, origin);
        if served {
            expect_405(
                &mut finding,
                client,
                contract,
                request,
                &contract.allow_dashboard,
            )
            .await?;
        } else if let Some(answer) = finding.send(client, request).await? {
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

fn expect_page(finding: &mut Finding, answer: &Answer, listed: &[&str]) {
    expect_media_type(finding, answer, "text/html");
    expect_utf8_if_any(finding, answer);
    expect_no_store(finding, answer);
    expect_no_script_policy(finding, answer);
    if answer.body.len() >= MAX_PAGE_BYTES {
        finding.fail(format!(
            "{}: the page is over {} MiB, more than 10,000 counters can fill",
            answer.label,
            MAX_PAGE_BYTES / (1024 * 1024)
        ));
        return;
    }
    let page = String::from_utf8_lossy(&answer.body).to_ascii_lowercase();
    if page.contains("<script") {
        finding.fail(format!("{}: the page holds a <script", answer.label));
    }
    for name in listed {
        if !names(&page, name) {
            finding.fail(format!(
                "{}: the page does not name the counter {name}, which this run counted",
                answer.label
            ));
        }
    }
}

/// Whether `name` is in `page` as a whole name: not part of a longer one.
fn names(page: &str, name: &str) -> bool {
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
    page.match_indices(name).any(|(at, _)| {
        let before = page.as_bytes().get(at.wrapping_sub(1)).copied();
        let after = page.as_bytes().get(at + name.len()).copied();
        !before.is_some_and(name_byte) && !after.is_some_and(name_byte)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_found_whole_only() {
        assert!(names("<td>e2e-check</td>", "e2e-check"));
        assert!(names("e2e-check", "e2e-check"));
        assert!(!names("<td>e2e-check-1</td>", "e2e-check"));
        assert!(!names("<td>xsite</td>", "site"));
        assert!(names("<td>website</td><td>site</td>", "site"));
    }
}
