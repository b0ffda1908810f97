//! Only people count: a `POST` from a bot (a `User-Agent` missing, empty, or on the
//! service's list of crawlers, bots and automation tools) is answered `200` with the
//! totals as they are, marked `Visit-Filtered: bot`, counts nothing, creates no counter,
//! and is tallied in the day's `bots`, the counter's and the whole site's.
//!
//! The checker cannot send a request with no `User-Agent` at all (its client always has
//! one), so it sends an empty one, which the contract treats the same.

use reqwest::StatusCode;
use reqwest::header::USER_AGENT;

use super::days::{Day, Today, moved, read_days};
use super::expect::{
    Numbers, expect_counter, expect_filtered, expect_json, read_count, read_counter,
};
use super::list::{Listed, is_listed};
use super::totals::read_totals_days;
use super::{COUNT, Finding, RunNames, counter_path, get, list_after, post};
use crate::agent::CRAWLER;
use crate::contract::{Contract, FILTERED_BOT, count_of};
use crate::error::Error;
use crate::http::Client;
use crate::report::Check;

pub(super) const BOT_NOT_COUNTED: &str = "bot-not-counted";

/// The bots' `POST`s on the counter: a crawler's User-Agent, and an empty one.
const BOTS: [(&str, &str); 2] = [
    (CRAWLER, "a crawler's User-Agent (Googlebot)"),
    ("", "an empty User-Agent"),
];

/// On `C`: a `POST` with a crawler's User-Agent and one with an empty User-Agent are
/// each `200`, the counter named `C` with the numbers a `GET` read just before, and
/// `Visit-Filtered: bot`; a crawler's `POST /count` is `200` with the count read before
/// it, marked the same. After them `C` reads the same numbers, its days moved by no view
/// and by 2 `bots` on today's date (UTC), and the whole site's days (`/totals/days`) by
/// no view and 3 `bots`. Then a crawler's `POST` on a name nobody has counted is `200`
/// with zeros, marked `bot`, and the name still reads zeros and is not on the list page
/// where it would be. Like the other counting checks, it assumes nobody else counts
/// meanwhile.
pub(super) async fn bot_not_counted(
    client: &Client,
    contract: &Contract,
    origin: &str,
    names: &RunNames,
) -> Result<Check, Error> {
    let mut finding = Finding::new(BOT_NOT_COUNTED);
    let counter = names.counter.as_str();
    let path = counter_path(counter);
    let count = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the bots"));
    let before = read_counter(&mut finding, client, contract, origin, counter).await?;
    let days_before = read_days(&mut finding, client, contract, origin, counter).await?;
    let site_before = read_totals_days(&mut finding, client, contract, origin).await?;

    for (agent, sent) in BOTS {
        let request = post(path.clone(), origin).header(USER_AGENT, agent);
        let Some(answer) = finding.send(client, request).await? else {
            continue;
        };
        expect_filtered(&mut finding, &answer, Some(FILTERED_BOT), sent);
        let answered = expect_counter(&mut finding, &answer, contract, counter);
        if let (Some(before), Some(answered)) = (before, answered)
            && answered != before
        {
            finding.fail(format!(
                "POST /{path} with {sent} answered {answered}, but the counter read {before}: \
                 a bot's POST counts nothing and answers the totals as they are"
            ));
        }
    }
    let request = post(COUNT, origin).header(USER_AGENT, CRAWLER);
    if let Some(answer) = finding.send(client, request).await? {
        let sent = BOTS[0].1;
        expect_filtered(&mut finding, &answer, Some(FILTERED_BOT), sent);
        let answered = expect_json(&mut finding, &answer, StatusCode::OK, &contract.post_count)
            .and_then(|body| count_of(&body));
        if let (Some(count), Some(answered)) = (count, answered)
            && answered != count
        {
            finding.fail(format!(
                "POST /count with {sent} answered {answered}, but GET /count read {count}: a \
                 bot's POST counts nothing and answers the count as it is"
            ));
        }
    }

    let after = read_counter(&mut finding, client, contract, origin, counter).await?;
    if let (Some(before), Some(after)) = (before, after)
        && before != after
    {
        finding.fail(format!(
            "GET /{path} read {after} after bots' POSTs, {before} before them: a bot counted"
        ));
    }
    let days_after = read_days(&mut finding, client, contract, origin, counter).await?;
    expect_tallied(
        &mut finding,
        &format!("/{path}/days"),
        days_before,
        days_after,
        2,
    );
    let site_after = read_totals_days(&mut finding, client, contract, origin).await?;
    expect_tallied(&mut finding, "/totals/days", site_before, site_after, 3);

    uncreated(&mut finding, client, contract, origin, &names.uncreated).await?;
    Ok(finding.finish())
}

/// Two reads of a days route moved by no view and no visitor, and by `bots` bots, all
/// on the dates the bots were sent on.
fn expect_tallied(
    finding: &mut Finding,
    route: &str,
    before: Option<(Vec<Day>, Today)>,
    after: Option<(Vec<Day>, Today)>,
    bots: i128,
) {
    let (Some((before, started)), Some((after, ended))) = (before, after) else {
        return;
    };
    let sent_on = Today {
        sent: started.sent,
        answered: ended.answered,
    };
    let moved = moved(&before, &after, sent_on);
    if moved.views != 0 || moved.visitors != 0 {
        finding.fail(format!(
            "{route} moved by {} views and {} visitors across bots' POSTs: a bot counted",
            moved.views, moved.visitors
        ));
    }
    if moved.bots != bots {
        finding.fail(format!(
            "{route}'s bots moved by {} across {bots} bots' POSTs; expected {bots} (UTC {sent_on})",
            moved.bots
        ));
    }
}

/// A crawler's `POST` on `name`, which nobody has counted, creates nothing.
async fn uncreated(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
    name: &str,
) -> Result<(), Error> {
    let zeros = Numbers {
        views: 0,
        visitors: 0,
    };
    let path = counter_path(name);
    let request = post(path.clone(), origin).header(USER_AGENT, CRAWLER);
    if let Some(answer) = finding.send(client, request).await? {
        expect_filtered(finding, &answer, Some(FILTERED_BOT), BOTS[0].1);
        if let Some(answered) = expect_counter(finding, &answer, contract, name)
            && answered != zeros
        {
            finding.fail(format!(
                "POST /{path} with {}, a name nobody counted, answered {answered}; expected \
                 zeros",
                BOTS[0].1
            ));
        }
    }
    if let Some(read) = read_counter(finding, client, contract, origin, name).await?
        && read != zeros
    {
        finding.fail(format!(
            "GET /{path} read {read} after only a bot's POST; expected zeros"
        ));
    }
    if let Some(Listed::Yes) = is_listed(finding, client, contract, origin, name).await? {
        finding.fail(format!(
            "GET /{} lists {name} after only a bot's POST: a bot created it",
            list_after(name)
        ));
    }
    Ok(())
}
