//! The whole site: `GET /totals` (`views`, `visitors`, `counters`) and
//! `GET /totals/days` (a counter's range rules, each day with `views`, `visitors`,
//! `bots` and `limited`); the tallies of every day; and the clause nothing else
//! checks: one visitor reading two pages is one visitor of each page and one of the
//! site.

use reqwest::header::{ORIGIN, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::days::{
    DEFAULT_DATES, Day, Expected, Today, expect_days, expect_range, expect_totals_days,
    invalid_ranges, moved, range_cases, send_dated,
};
use super::errors::expect_405;
use super::expect::{
    Numbers, expect_counter, expect_json, expect_no_store, expect_problem, read_counter,
};
use super::{Finding, RunNames, SITE, TOTALS, TOTALS_DAYS, counter_path, days_path, get, post};
use crate::contract::Contract;
use crate::date::Date;
use crate::error::Error;
use crate::http::{Answer, Client, Request};
use crate::report::Check;

pub(super) const TOTALS_CHECK: &str = "totals";
pub(super) const TOTALS_DAYS_CHECK: &str = "totals-days";
pub(super) const DAY_TALLIES: &str = "day-tallies";
pub(super) const TOTALS_VISITORS: &str = "totals-visitors";

/// The whole site's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    views: u64,
    visitors: u64,
    counters: u64,
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} views, {} visitors, {} counters",
            self.views, self.visitors, self.counters
        )
    }
}

/// A `200` totals body, valid against `totals.json`, `no-store`: its numbers.
fn expect_totals(finding: &mut Finding, answer: &Answer, contract: &Contract) -> Option<Totals> {
    expect_no_store(finding, answer);
    let body = expect_json(finding, answer, StatusCode::OK, &contract.totals)?;
    let member = |name: &str| body.get(name).and_then(Value::as_u64);
    Some(Totals {
        views: member("views")?,
        visitors: member("visitors")?,
        counters: member("counters")?,
    })
}

async fn read_totals(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Option<Totals>, Error> {
    Ok(finding
        .send(client, get(TOTALS, origin))
        .await?
        .and_then(|answer| expect_totals(finding, &answer, contract)))
}

/// `GET /totals/days`, the default range: its days and when it was read.
pub(super) async fn read_totals_days(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Option<(Vec<Day>, Today)>, Error> {
    let Some((answer, today)) = send_dated(finding, client, get(TOTALS_DAYS, origin)).await? else {
        return Ok(None);
    };
    Ok(expect_totals_days(finding, &answer, contract).map(|days| (days, today)))
}

/// `GET /totals` is 200 `application/json`, `no-store`, valid against `totals.json`;
/// `PUT` and `DELETE` are 405 problems with its `Allow`.
pub(super) async fn totals(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(TOTALS_CHECK);
    read_totals(&mut finding, client, contract, origin).await?;
    for method in [Method::PUT, Method::DELETE] {
        let request = Request::new(method, TOTALS).header(ORIGIN, origin);
        expect_405(
            &mut finding,
            client,
            contract,
            request,
            &contract.allow_totals,
        )
        .await?;
    }
    Ok(finding.finish())
}

/// `GET /totals/days` has a counter's range rules: no parameters, the 30 dates ending
/// today (UTC); only `to`, the 30 ending on it; `from` and `to`, exactly those dates, 366
/// at most; oldest first, every date there, valid against `totals-days.json`, `no-store`.
/// Each bad range of `days-invalid-range` is a 400 problem of the contract's
/// invalid-query type; `PUT` is a 405 problem with its `Allow`.
pub(super) async fn totals_days(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(TOTALS_DAYS_CHECK);
    // The default range ends today, whichever date that is when it is answered.
    let cases = range_cases(Date::today(), String::new());
    for (query, expected) in cases {
        let path = with_query(TOTALS_DAYS, &query);
        let Some((answer, answered_on)) =
            send_dated(&mut finding, client, get(path, origin)).await?
        else {
            continue;
        };
        expect_no_store(&mut finding, &answer);
        let Some(days) = expect_totals_days(&mut finding, &answer, contract) else {
            continue;
        };
        let expected = expected.unwrap_or(Expected {
            first: None,
            last: (answered_on.sent, answered_on.answered),
            len: Some(DEFAULT_DATES),
        });
        expect_range(&mut finding, &answer, &days, &expected);
    }
    for query in invalid_ranges() {
        let path = with_query(TOTALS_DAYS, &query);
        if let Some(answer) = finding.send(client, get(path, origin)).await? {
            expect_problem(
                &mut finding,
                &answer,
                contract,
                StatusCode::BAD_REQUEST,
                &contract.invalid_query_type,
            );
        }
    }
    let request = Request::new(Method::PUT, TOTALS_DAYS).header(ORIGIN, origin);
    expect_405(
        &mut finding,
        client,
        contract,
        request,
        &contract.allow_totals_days,
    )
    .await?;
    Ok(finding.finish())
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The seven days to today of `site` (`/counters/site/days`) and then of the whole site
/// (`/totals/days`) each carry `bots` and `limited` on every date (as their schemas
/// require), and on every date the whole site's tallies are at least `site`'s: every
/// `POST` a counter tallies, the site tallies too, and tallies only grow, so that holds
/// under real traffic.
pub(super) async fn day_tallies(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(DAY_TALLIES);
    // The same dates for both reads, even across midnight (`to` is not after today on
    // either side of it).
    let today = Date::today();
    let query = format!("from={}&to={today}", today.add_days(-6));
    let site = finding
        .send(client, get(days_path(SITE, &query), origin))
        .await?
        .and_then(|answer| expect_days(&mut finding, &answer, contract, SITE));
    let whole = finding
        .send(client, get(with_query(TOTALS_DAYS, &query), origin))
        .await?
        .and_then(|answer| expect_totals_days(&mut finding, &answer, contract));
    let (Some(site), Some(whole)) = (site, whole) else {
        return Ok(finding.finish());
    };
    for day in &site {
        let Some(of_site) = whole.iter().find(|entry| entry.date == day.date) else {
            finding.fail(format!(
                "GET /{TOTALS_DAYS}?{query} has no {}, which GET /{} has",
                day.date,
                days_path(SITE, &query)
            ));
            continue;
        };
        if of_site.tallies.bots < day.tallies.bots || of_site.tallies.limited < day.tallies.limited
        {
            finding.fail(format!(
                "on {}, the whole site tallied {} bots and {} limited, fewer than site's {} \
                 and {}: every POST a counter tallies, the site tallies too",
                day.date,
                of_site.tallies.bots,
                of_site.tallies.limited,
                day.tallies.bots,
                day.tallies.limited
            ));
        }
    }
    Ok(finding.finish())
}

/// A visitor nobody has been before reads two counters nobody has counted (their
/// names made up for the run) with a `POST` each: each answers views 1 and visitors 1,
/// and the whole site moved by 2 views, 1 visitor and 2 counters, in `/totals` and on
/// today's date (UTC) of `/totals/days`. If the run crosses midnight between the two
/// `POST`s, the visitor is a new one on the new day, and may be 2 of the site.
pub(super) async fn totals_visitors(
    client: &Client,
    contract: &Contract,
    origin: &str,
    names: &RunNames,
) -> Result<Check, Error> {
    let mut finding = Finding::new(TOTALS_VISITORS);
    let visitor = names.visitor();
    let before = read_totals(&mut finding, client, contract, origin).await?;
    let days_before = read_totals_days(&mut finding, client, contract, origin).await?;
    let started = Date::today();
    let zeros = Numbers {
        views: 0,
        visitors: 0,
    };
    let first = Numbers {
        views: 1,
        visitors: 1,
    };
    for name in &names.fresh {
        if let Some(read) = read_counter(&mut finding, client, contract, origin, name).await?
            && read != zeros
        {
            finding.fail(format!(
                "GET /{} read {read} before anyone counted it; expected zeros",
                counter_path(name)
            ));
        }
        let request = post(counter_path(name), origin).header(USER_AGENT, &visitor);
        if let Some(answer) = finding.send(client, request).await?
            && let Some(counted) = expect_counter(&mut finding, &answer, contract, name)
            && counted != first
        {
            finding.fail(format!(
                "POST /{} from a new visitor, the first ever, answered {counted}; expected \
                 {first}",
                counter_path(name)
            ));
        }
    }
    let visitors = if Date::today() == started {
        1..=1
    } else {
        1..=2
    };
    let after = read_totals(&mut finding, client, contract, origin).await?;
    if let (Some(before), Some(after)) = (before, after) {
        let moved = |was: u64, is: u64| i128::from(is) - i128::from(was);
        let (views, seen, counters) = (
            moved(before.views, after.views),
            moved(before.visitors, after.visitors),
            moved(before.counters, after.counters),
        );
        if views != 2 || !visitors.contains(&seen) || counters != 2 {
            finding.fail(format!(
                "GET /{TOTALS} read {after} after {before} before one new visitor's POSTs on \
                 two new counters; expected 2 more views, 1 more visitor (one person on two \
                 pages is one visitor of the site) and 2 more counters"
            ));
        }
    }
    let days_after = read_totals_days(&mut finding, client, contract, origin).await?;
    if let (Some((before, read_before)), Some((after, read_after))) = (days_before, days_after) {
        let posted_on = Today {
            sent: read_before.sent,
            answered: read_after.answered,
        };
        let moved = moved(&before, &after, posted_on);
        for (date, was, now) in &moved.elsewhere {
            finding.fail(format!(
                "/{TOTALS_DAYS} moved from {was} to {now} on {date}, which is not today (UTC, \
                 {posted_on})"
            ));
        }
        if moved.views != 2 || !visitors.contains(&moved.visitors) {
            finding.fail(format!(
                "/{TOTALS_DAYS} moved by {} views and {} visitors across one new visitor's \
                 POSTs on two new counters; expected 2 views and 1 visitor",
                moved.views, moved.visitors
            ));
        }
    }
    Ok(finding.finish())
}
