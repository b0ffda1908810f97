//! Who may count: a `POST` from a page on a foreign origin (`Origin: null` included) is
//! a 403 origin-not-allowed problem and counts nothing, since CORS alone only hides the
//! answer from such a page and the browser sends the POST all the same; a `POST` from the
//! API's own origin, or with no `Origin` (curl, a server), is served and counted.

use reqwest::{Method, StatusCode};

use super::expect::{expect_json, expect_problem, expect_unmoved, read_count};
use super::{COUNT, Finding, get, post};
use crate::contract::{Contract, count_of};
use crate::error::Error;
use crate::http::{Client, Request};
use crate::report::Check;

pub(super) const POST_FOREIGN_ORIGIN: &str = "post-foreign-origin";

/// What a sandboxed iframe, a `file:` page or a redirect across origins sends.
const OPAQUE_ORIGIN: &str = "null";

/// `POST /count` from `foreign` and from `null`: each a 403 problem of the contract's
/// origin-not-allowed type, with the count the same before and after. Then from the
/// API's own origin (the base URL's scheme, host and port) and with no `Origin`: each
/// answered 200 with one more than the count before it.
pub(super) async fn post_foreign_origin(
    client: &Client,
    contract: &Contract,
    origin: &str,
    foreign: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(POST_FOREIGN_ORIGIN);
    let before = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the POSTs"));
    for refused in [foreign, OPAQUE_ORIGIN] {
        let Some(answer) = finding.send(client, post(COUNT, refused)).await? else {
            continue;
        };
        let problems = finding.problems.len();
        expect_problem(
            &mut finding,
            &answer,
            contract,
            StatusCode::FORBIDDEN,
            &contract.origin_not_allowed_type,
        );
        if finding.problems.len() > problems {
            finding.fail(format!(
                "(that was the POST with Origin: {refused}, which must be refused)"
            ));
        }
    }
    let after = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count after the POSTs"));
    expect_unmoved(
        &mut finding,
        before,
        after,
        &format!(
            "POSTs with Origin {foreign} and {OPAQUE_ORIGIN}: a page on a foreign origin \
             counted a visit"
        ),
    );

    let own = client.base().origin().ascii_serialization();
    let mut last = after;
    for (sent, request) in [
        (format!("Origin {own}, the API's own"), post(COUNT, &own)),
        ("no Origin".to_owned(), Request::new(Method::POST, COUNT)),
    ] {
        let Some(answer) = finding.send(client, request).await? else {
            last = None;
            continue;
        };
        let counted = expect_json(&mut finding, &answer, StatusCode::OK, &contract.post_count)
            .and_then(|body| count_of(&body));
        match (last, counted) {
            (Some(last), Some(counted)) if Some(counted) != last.checked_add(1) => {
                finding.fail(format!(
                    "POST /count with {sent} answered {counted} after a count of {last}; \
                     expected {}",
                    u128::from(last) + 1
                ));
            }
            (_, None) => finding.fail(format!(
                "POST /count with {sent} was not counted: it must be served"
            )),
            _ => {}
        }
        last = counted;
    }
    Ok(finding.finish())
}
