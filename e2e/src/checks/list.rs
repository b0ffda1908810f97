//! `GET /counters`: the counters sorted by name, a page at a time, `next` only when
//! more follow; in full mode the checker's counter is there with its numbers.

use reqwest::StatusCode;
use serde_json::Value;

use super::expect::{Numbers, expect_counter, expect_json, expect_problem, private_page, shown};
use super::{COUNTERS, Finding, counter_path, get, get_private, list_after};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Answer, Client};
use crate::report::Check;

pub(super) const COUNTERS_LIST: &str = "counters-list";

/// Not a counter name (upper case), so not an `after` either.
const INVALID_AFTER: &str = "Home";

/// One page of the list.
struct Page {
    counters: Vec<(String, Numbers)>,
    next: Option<String>,
}

/// The names on a list page, if the body is one.
pub(super) fn listed_names(body: &[u8]) -> Option<Vec<String>> {
    let body: Value = serde_json::from_slice(body).ok()?;
    body.get("counters")?
        .as_array()?
        .iter()
        .map(|entry| entry.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Whether a name is on the list page where it would be.
pub(super) enum Listed {
    Yes,
    No,
    /// The list is private, and the checker has no password: it cannot tell.
    Private,
}

/// Whether `name` is on the page of the list where it would be ([`list_after`]);
/// `None` when that could not be read (a problem, then).
pub(super) async fn is_listed(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
    name: &str,
) -> Result<Option<Listed>, Error> {
    let listing = list_after(name);
    let Some(answer) = finding
        .send(client, get_private(client, listing, origin))
        .await?
    else {
        return Ok(None);
    };
    if private_page(finding, client, &answer, contract) {
        return Ok(Some(Listed::Private).filter(|_| !client.has_authorization()));
    }
    match listed_names(&answer.body) {
        None => {
            finding.fail(format!(
                "cannot tell whether {name} is listed: {} answered {} with no list",
                answer.label, answer.status
            ));
            Ok(None)
        }
        Some(listed) if listed.iter().any(|listed| listed == name) => Ok(Some(Listed::Yes)),
        Some(_) => Ok(Some(Listed::No)),
    }
}

/// A `200` page valid against `counters.json`, its names in strictly increasing byte
/// order.
fn expect_page(finding: &mut Finding, answer: &Answer, contract: &Contract) -> Option<Page> {
    let body = expect_json(finding, answer, StatusCode::OK, &contract.counters)?;
    let counters: Vec<(String, Numbers)> = body
        .get("counters")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|entry| {
            let name = entry.get("name").and_then(Value::as_str)?;
            Some((name.to_owned(), Numbers::of(entry)?))
        })
        .collect();
    if let Some(pair) = counters.windows(2).find(|pair| pair[1].0 <= pair[0].0) {
        finding.fail(format!(
            "{}: not sorted by name: {:?} comes after {:?}",
            answer.label, pair[1].0, pair[0].0
        ));
    }
    let next = body.get("next").and_then(Value::as_str).map(str::to_owned);
    Some(Page { counters, next })
}

/// `GET /counters` is a page valid against `counters.json`, sorted by name. With `next`,
/// the page after it is not empty and starts after this page's last name; without it,
/// nothing follows this page's last name. `?after=Home` is a 400 invalid-query problem.
/// In full mode `counter` is on the page after its own prefix, with the numbers a
/// `GET /counters/{counter}` just before read. When the operator made the list private
/// (`DASHBOARD_PASSWORD`) and the checker has no password, the list is a 401
/// unauthorized problem with the contract's challenge, and nothing more can be read.
pub(super) async fn counters_list(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: Option<&str>,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTERS_LIST);
    let Some(answer) = finding
        .send(client, get_private(client, COUNTERS, origin))
        .await?
    else {
        return Ok(finding.finish());
    };
    if private_page(&mut finding, client, &answer, contract) {
        return Ok(finding.finish());
    }
    let first = expect_page(&mut finding, &answer, contract);
    if let Some(first) = first {
        follow(&mut finding, client, contract, origin, &first).await?;
    }

    let invalid = format!("{COUNTERS}?after={INVALID_AFTER}");
    if let Some(answer) = finding
        .send(client, get_private(client, invalid, origin))
        .await?
    {
        expect_problem(
            &mut finding,
            &answer,
            contract,
            StatusCode::BAD_REQUEST,
            &contract.invalid_query_type,
        );
    }

    if let Some(counter) = counter {
        let read = finding
            .send(client, get(counter_path(counter), origin))
            .await?
            .and_then(|answer| expect_counter(&mut finding, &answer, contract, counter));
        let listing = list_after(counter);
        let page = finding
            .send(client, get_private(client, listing.clone(), origin))
            .await?
            .and_then(|answer| expect_page(&mut finding, &answer, contract));
        if let (Some(read), Some(page)) = (read, page) {
            match page.counters.iter().find(|(name, _)| name == counter) {
                None => finding.fail(format!(
                    "GET /{listing} does not list {counter:?}, which full mode has counted"
                )),
                Some((_, listed)) if *listed != read => finding.fail(format!(
                    "GET /{listing} lists {counter:?} with {listed}, but GET \
                     /counters/{counter} read {read}"
                )),
                Some(_) => {}
            }
        }
    }
    Ok(finding.finish())
}

/// What follows `page`: the page after its `next`, or after its last name.
async fn follow(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
    page: &Page,
) -> Result<(), Error> {
    let last = page.counters.last().map(|(name, _)| name.as_str());
    match (&page.next, last) {
        (Some(next), _) => {
            let following = format!("{COUNTERS}?after={next}");
            let Some(after) = finding
                .send(client, get_private(client, following.clone(), origin))
                .await?
                .and_then(|answer| expect_page(finding, &answer, contract))
            else {
                return Ok(());
            };
            match (after.counters.first(), last) {
                (None, _) => finding.fail(format!(
                    "GET /{COUNTERS} has next {next:?}, but GET /{following} lists nothing: \
                     next is only there when more counters follow"
                )),
                (Some((first, _)), Some(last)) if first.as_str() <= last => {
                    finding.fail(format!(
                        "GET /{following} starts at {first:?}, which is not after {last:?}, \
                         the last name of the page before"
                    ));
                }
                _ => {}
            }
        }
        (None, Some(last)) => {
            let following = format!("{COUNTERS}?after={last}");
            if let Some(after) = finding
                .send(client, get_private(client, following.clone(), origin))
                .await?
                .and_then(|answer| expect_page(finding, &answer, contract))
                && let Some((name, _)) = after.counters.first()
            {
                finding.fail(format!(
                    "GET /{COUNTERS} has no next, but GET /{following} lists {}: next must \
                     be there when more counters follow",
                    shown(name)
                ));
            }
        }
        (None, None) => {}
    }
    Ok(())
}
