//! `/count` is the counter `site`: the same views through both routes.

use super::expect::{expect_counter, read_count};
use super::{COUNT, Finding, SITE, counter_path, get, post};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::Client;
use crate::report::Check;

pub(super) const COUNT_IS_SITE: &str = "count-is-site";

/// `GET /counters/site` read between two `GET /count` has views between the two counts
/// (equal to both when nothing was counted meanwhile): it holds under real traffic, so
/// read-only mode checks it too. In full mode, a `POST /count` then moves
/// `GET /counters/site` by exactly one view, to the POST's count, and a
/// `POST /counters/site` is the next count `GET /count` reads.
pub(super) async fn count_is_site(
    client: &Client,
    contract: &Contract,
    origin: &str,
    read_only: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNT_IS_SITE);
    let site = counter_path(SITE);
    let first = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before /counters/site"));
    let between = finding
        .send(client, get(site.clone(), origin))
        .await?
        .and_then(|answer| expect_counter(&mut finding, &answer, contract, SITE));
    let second = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count after /counters/site"));
    if let (Some(first), Some(between), Some(second)) = (first, between, second)
        && !(first..=second).contains(&between.views)
    {
        finding.fail(format!(
            "GET /{site} read {} views between GET /count reading {first} and {second}: \
             /count is the counter site",
            between.views
        ));
    }
    if read_only {
        return Ok(finding.finish());
    }

    let posted = finding
        .send(client, post(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count of POST /count"));
    let read = finding
        .send(client, get(site.clone(), origin))
        .await?
        .and_then(|answer| expect_counter(&mut finding, &answer, contract, SITE));
    if let (Some(before), Some(posted)) = (second, posted)
        && Some(posted) != before.checked_add(1)
    {
        finding.fail(format!(
            "POST /count answered {posted} after GET /count read {before}; expected {}",
            u128::from(before) + 1
        ));
    }
    if let (Some(posted), Some(read)) = (posted, read)
        && read.views != posted
    {
        finding.fail(format!(
            "GET /{site} read {} views after POST /count answered {posted}: the same counter \
             must show the same views",
            read.views
        ));
    }
    let counted = finding
        .send(client, post(site.clone(), origin))
        .await?
        .and_then(|answer| expect_counter(&mut finding, &answer, contract, SITE));
    let count = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| {
            read_count(&mut finding, &answer, "the count after POST /counters/site")
        });
    if let (Some(counted), Some(count)) = (counted, count)
        && count != counted.views
    {
        finding.fail(format!(
            "GET /count read {count} after POST /{site} answered {} views",
            counted.views
        ));
    }
    if let (Some(before), Some(counted)) = (read, counted)
        && Some(counted.views) != before.views.checked_add(1)
    {
        finding.fail(format!(
            "POST /{site} answered {} views after GET /{site} read {}; expected {}",
            counted.views,
            before.views,
            u128::from(before.views) + 1
        ));
    }
    Ok(finding.finish())
}
