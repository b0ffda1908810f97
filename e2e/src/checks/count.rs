//! `GET /count` and `POST /count`: the count is read, every POST adds exactly one and
//! gets its own number, and a read sees the visits before it.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use reqwest::header::USER_AGENT;

use super::expect::{expect_json, expect_no_store, read_count};
use super::{COUNT, Finding, get, post};
use crate::contract::{Contract, count_of};
use crate::error::Error;
use crate::http::{Answer, Client};
use crate::report::Check;

pub(super) const GET_COUNT: &str = "get-count";
pub(super) const POST_INCREMENTS: &str = "post-increments";
pub(super) const GET_SEES_POST: &str = "get-sees-post";
pub(super) const POST_BURST_DISTINCT: &str = "post-burst-distinct";

/// `GET /count`: 200, `application/json`, valid against `get-count.json`,
/// `Cache-Control: no-store`.
pub(super) fn get_count(contract: &Contract, first: Answer) -> Check {
    let mut finding = Finding::new(GET_COUNT);
    if let Some(answer) = finding.keep(Ok(first)) {
        expect_json(&mut finding, &answer, StatusCode::OK, &contract.get_count);
        expect_no_store(&mut finding, &answer);
    }
    finding.finish()
}

/// `POST /count` answers 200 with a body valid against `post-count.json` holding exactly
/// one more than the count read just before. Returns the POST's count for
/// [`get_sees_post`].
pub(super) async fn post_increments(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<(Check, Option<u64>), Error> {
    let mut finding = Finding::new(POST_INCREMENTS);
    let before = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the POST"));
    let Some(answer) = finding.send(client, post(COUNT, origin)).await? else {
        return Ok((finding.finish(), None));
    };
    let valid = expect_json(&mut finding, &answer, StatusCode::OK, &contract.post_count);
    // Even from an answer that breaks the schema, a readable count lets the increment and
    // `get-sees-post` still be judged on their own.
    let after = valid
        .or_else(|| serde_json::from_slice(&answer.body).ok())
        .and_then(|body| count_of(&body));
    if let (Some(before), Some(after)) = (before, after)
        && Some(after) != before.checked_add(1)
    {
        finding.fail(format!(
            "POST /count answered {after} after a count of {before}; expected {}",
            u128::from(before) + 1
        ));
    }
    Ok((finding.finish(), after))
}

/// The `GET /count` after a POST sees that POST (reads are strongly consistent).
pub(super) async fn get_sees_post(
    client: &Client,
    origin: &str,
    after_post: Option<u64>,
) -> Result<Check, Error> {
    let mut finding = Finding::new(GET_SEES_POST);
    let Some(posted) = after_post else {
        finding.fail(format!(
            "cannot be checked: {POST_INCREMENTS} got no count from POST /count"
        ));
        return Ok(finding.finish());
    };
    let read = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count after the POST"));
    if let Some(read) = read
        && read < posted
    {
        finding.fail(format!(
            "GET /count read {read} after POST /count answered {posted}: the visit is not visible"
        ));
    }
    Ok(finding.finish())
}

/// Concurrent POSTs, one from each of `agents` (User-Agents), each get their own count:
/// all distinct, and together exactly the next values after the count read before them.
pub(super) async fn post_burst_distinct(
    client: &Client,
    contract: &Contract,
    origin: &str,
    agents: Vec<String>,
) -> Result<Check, Error> {
    let burst = agents.len();
    let mut finding = Finding::new(POST_BURST_DISTINCT);
    let before = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the burst"));

    // Concurrent, as the clause is about concurrency: the pacer's bucket is let fill
    // for the whole burst first, so that pacing does not spread it out.
    client.wait_for_burst(burst).await;
    let mut posts = tokio::task::JoinSet::new();
    for agent in agents {
        let client = client.clone();
        let request = post(COUNT, origin).header(USER_AGENT, &agent);
        posts.spawn(async move { client.send(request).await });
    }
    let mut counts = Vec::with_capacity(burst);
    while let Some(joined) = posts.join_next().await {
        let sent = match joined {
            Ok(sent) => sent?,
            Err(error) => {
                finding.fail(format!("a POST of the burst did not finish: {error}"));
                continue;
            }
        };
        let Some(answer) = finding.keep(sent) else {
            continue;
        };
        if let Some(count) =
            expect_json(&mut finding, &answer, StatusCode::OK, &contract.post_count)
                .and_then(|body| count_of(&body))
        {
            counts.push(count);
        }
    }

    counts.sort_unstable();
    let distinct: BTreeSet<u64> = counts.iter().copied().collect();
    if distinct.len() != counts.len() {
        let repeated: Vec<u64> = counts
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .map(|pair| pair[0])
            .collect();
        finding.fail(format!(
            "{burst} concurrent POSTs got repeated counts {repeated:?}: every visit must get its own"
        ));
    }
    if let Some(before) = before
        && counts.len() == burst
    {
        let expected: Vec<u128> = (1..=burst as u128)
            .map(|step| u128::from(before) + step)
            .collect();
        let got: Vec<u128> = counts.iter().copied().map(u128::from).collect();
        if got != expected {
            finding.fail(format!(
                "{burst} concurrent POSTs after a count of {before} got {got:?}; expected {}..={}",
                u128::from(before) + 1,
                u128::from(before) + burst as u128
            ));
        }
    }
    Ok(finding.finish())
}
