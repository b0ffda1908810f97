//! `GET /counters/{name}/days`: every date of the range, oldest first, zeros included;
//! the default range is the 30 dates ending today (UTC); a bad range is a 400
//! invalid-query problem; and a POST moves today's entry.
//!
//! Today is the checker's own UTC date. A request sent just before midnight can be
//! answered just after it, so an answer may end on either date the request straddled
//! ([`Today`]).

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;

use super::expect::{
    Numbers, expect_counter, expect_json, expect_name, expect_problem, read_counter,
};
use super::{Finding, SITE, counter_path, days_path, get, post};
use crate::contract::Contract;
use crate::date::Date;
use crate::error::Error;
use crate::http::{Answer, Client, Request};
use crate::report::Check;

pub(super) const DAYS_DEFAULT_RANGE: &str = "days-default-range";
pub(super) const DAYS_RANGE: &str = "days-range";
pub(super) const DAYS_INVALID_RANGE: &str = "days-invalid-range";
pub(super) const COUNTER_DAYS_TODAY: &str = "counter-days-today";

/// The dates of a range without `from` or without `to`.
pub(super) const DEFAULT_DATES: i64 = 30;
/// The most dates a range may hold.
pub(super) const MAX_DATES: i64 = 366;
/// POSTs whose views `counter-days-today` looks for.
const POSTS: u64 = 2;

/// The UTC dates it was while a request was out: the server's today is one of them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Today {
    pub sent: Date,
    pub answered: Date,
}

impl Today {
    pub fn contains(self, date: Date) -> bool {
        self.sent <= date && date <= self.answered
    }
}

impl std::fmt::Display for Today {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sent == self.answered {
            write!(f, "{}", self.sent)
        } else {
            write!(f, "{} or {}", self.sent, self.answered)
        }
    }
}

/// What a day tallies beside its numbers: the `POST`s that were not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Tallies {
    pub bots: u64,
    pub limited: u64,
}

/// One entry of `days` (a counter's or the whole site's).
#[derive(Debug, Clone, Copy)]
pub(super) struct Day {
    pub date: Date,
    pub numbers: Numbers,
    pub tallies: Tallies,
}

/// Sends `request`, noting the UTC dates before and after.
pub(super) async fn send_dated(
    finding: &mut Finding,
    client: &Client,
    request: Request,
) -> Result<Option<(Answer, Today)>, Error> {
    let sent = Date::today();
    let answer = finding.send(client, request).await?;
    let answered = Date::today();
    Ok(answer.map(|answer| (answer, Today { sent, answered })))
}

/// A `200` days body for `name`, valid against `days.json`: its entries, when every
/// date in it is a real one.
pub(super) fn expect_days(
    finding: &mut Finding,
    answer: &Answer,
    contract: &Contract,
    name: &str,
) -> Option<Vec<Day>> {
    let body = expect_json(finding, answer, StatusCode::OK, &contract.days)?;
    if !expect_name(finding, answer, &body, name) {
        return None;
    }
    entries(finding, answer, &body)
}

/// A `200` body of the whole site's days, valid against `totals-days.json`: its
/// entries, when every date in it is a real one.
pub(super) fn expect_totals_days(
    finding: &mut Finding,
    answer: &Answer,
    contract: &Contract,
) -> Option<Vec<Day>> {
    let body = expect_json(finding, answer, StatusCode::OK, &contract.totals_days)?;
    entries(finding, answer, &body)
}

/// The entries of a valid days body.
fn entries(finding: &mut Finding, answer: &Answer, body: &Value) -> Option<Vec<Day>> {
    let entries = body.get("days").and_then(Value::as_array)?;
    let mut days = Vec::with_capacity(entries.len());
    for entry in entries {
        let text = entry.get("date").and_then(Value::as_str).unwrap_or("");
        let Ok(date) = text.parse::<Date>() else {
            finding.fail(format!(
                "{}: {text:?} is not a real YYYY-MM-DD date",
                answer.label
            ));
            return None;
        };
        let tally = |member: &str| entry.get(member).and_then(Value::as_u64);
        days.push(Day {
            date,
            numbers: Numbers::of(entry)?,
            tallies: Tallies {
                bots: tally("bots")?,
                limited: tally("limited")?,
            },
        });
    }
    Some(days)
}

/// What a range must be: its first date, if known; the dates its last may be; and how
/// many dates it holds, if known.
pub(super) struct Expected {
    pub first: Option<Date>,
    pub last: (Date, Date),
    pub len: Option<i64>,
}

/// The entries are consecutive dates, oldest first, from `expected.first` to a date
/// within `expected.last`, `expected.len` of them. Says the first break of each kind.
pub(super) fn expect_range(
    finding: &mut Finding,
    answer: &Answer,
    days: &[Day],
    expected: &Expected,
) {
    let label = &answer.label;
    let (Some(oldest), Some(newest)) = (days.first(), days.last()) else {
        finding.fail(format!("{label}: no dates at all"));
        return;
    };
    if let Some(pair) = days.windows(2).find(|pair| pair[1].date <= pair[0].date) {
        finding.fail(format!(
            "{label}: not oldest first: {} comes after {}",
            pair[1].date, pair[0].date
        ));
    } else if let Some(pair) = days
        .windows(2)
        .find(|pair| pair[0].date.days_until(pair[1].date) != 1)
    {
        finding.fail(format!(
            "{label}: dates missing between {} and {}: every date of the range must be \
             there, zeros included",
            pair[0].date, pair[1].date
        ));
    }
    if let Some(first) = expected.first
        && oldest.date != first
    {
        finding.fail(format!(
            "{label}: starts at {}, expected {first}",
            oldest.date
        ));
    }
    let (earliest, latest) = expected.last;
    if newest.date < earliest || newest.date > latest {
        let wanted = if earliest == latest {
            earliest.to_string()
        } else {
            format!("{earliest} or {latest}")
        };
        finding.fail(format!(
            "{label}: ends at {}, expected {wanted}",
            newest.date
        ));
    }
    if let Some(len) = expected.len
        && i64::try_from(days.len()) != Ok(len)
    {
        finding.fail(format!(
            "{label}: holds {} dates, expected {len}",
            days.len()
        ));
    }
}

/// `GET /counters/site/days` with no parameters: the 30 dates ending today (UTC),
/// oldest first, every one there.
pub(super) async fn days_default_range(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(DAYS_DEFAULT_RANGE);
    if let Some((answer, today)) =
        send_dated(&mut finding, client, get(days_path(SITE, ""), origin)).await?
        && let Some(days) = expect_days(&mut finding, &answer, contract, SITE)
    {
        let expected = Expected {
            first: None,
            last: (today.sent, today.answered),
            len: Some(DEFAULT_DATES),
        };
        expect_range(&mut finding, &answer, &days, &expected);
    }
    Ok(finding.finish())
}

/// Ranges on `site` answer every date asked for: only `from` ends today; only `to`
/// starts 29 days before it; `from` and `to` give exactly those dates, up to 366 of
/// them, one when they are the same; an unknown parameter is ignored.
pub(super) async fn days_range(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(DAYS_RANGE);
    // Ranges that end before today are the same on both sides of midnight.
    let today = Date::today();
    let mut cases = range_cases(today, format!("from={}", today.add_days(-6)));
    cases.push((
        format!(
            "e2e-unknown=1&from={}&to={}",
            today.add_days(-3),
            today.add_days(-2)
        ),
        Some(exact(today.add_days(-3), today.add_days(-2))),
    ));
    for (query, expected) in cases {
        let Some((answer, answered_on)) =
            send_dated(&mut finding, client, get(days_path(SITE, &query), origin)).await?
        else {
            continue;
        };
        let Some(days) = expect_days(&mut finding, &answer, contract, SITE) else {
            continue;
        };
        let expected = expected.unwrap_or(Expected {
            first: Some(today.add_days(-6)),
            last: (answered_on.sent, answered_on.answered),
            len: None,
        });
        expect_range(&mut finding, &answer, &days, &expected);
    }
    Ok(finding.finish())
}

/// The range `first` to `last`, both given.
fn exact(first: Date, last: Date) -> Expected {
    Expected {
        first: Some(first),
        last: (last, last),
        len: Some(first.days_until(last) + 1),
    }
}

/// The ranges every `days` answers by the same rules (a counter's and the whole
/// site's): `ends_today`, a query whose range ends today, whichever date that is when
/// it is answered (its expectation is the caller's); only `to`, the 30 dates ending on
/// it; `from` and `to`, exactly those dates, 366 of them, and one when they are the same.
pub(super) fn range_cases(today: Date, ends_today: String) -> Vec<(String, Option<Expected>)> {
    let only_to = today.add_days(-10);
    vec![
        (ends_today, None),
        (
            format!("to={only_to}"),
            Some(Expected {
                first: Some(only_to.add_days(1 - DEFAULT_DATES)),
                last: (only_to, only_to),
                len: Some(DEFAULT_DATES),
            }),
        ),
        (
            format!(
                "from={}&to={}",
                today.add_days(-MAX_DATES),
                today.add_days(-1)
            ),
            Some(exact(today.add_days(-MAX_DATES), today.add_days(-1))),
        ),
        (
            format!("from={0}&to={0}", today.add_days(-3)),
            Some(exact(today.add_days(-3), today.add_days(-3))),
        ),
    ]
}

/// Each bad range on `site` is a 400 problem of the contract's invalid-query type:
/// `from` after `to`, 367 dates, `to` after today, dates that are not real
/// `YYYY-MM-DD` ones (`2026-02-30`, `2026-1-5`, empty), a parameter given twice.
pub(super) async fn days_invalid_range(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(DAYS_INVALID_RANGE);
    for query in invalid_ranges() {
        if let Some(answer) = finding
            .send(client, get(days_path(SITE, &query), origin))
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
    }
    Ok(finding.finish())
}

/// The queries of a range a `days` route must refuse: `from` after `to`, 367 dates,
/// `to` after today, dates that are not real `YYYY-MM-DD` ones, a parameter twice.
pub(super) fn invalid_ranges() -> Vec<String> {
    let today = Date::today();
    vec![
        format!("from={}&to={}", today.add_days(-1), today.add_days(-2)),
        format!(
            "from={}&to={}",
            today.add_days(-MAX_DATES - 1),
            today.add_days(-1)
        ),
        // Two days ahead: after today on both sides of midnight.
        format!("to={}", today.add_days(2)),
        "from=2026-02-30".to_owned(),
        "to=2026-1-5".to_owned(),
        "from=".to_owned(),
        format!("from={0}&from={0}", today.add_days(-3)),
    ]
}

/// [`POSTS`] `POST /counters/{counter}` move its days by exactly that many views, all on
/// today (UTC), and by as many visitors as its totals moved (`visitors` is per day,
/// summed over days). Compares the default ranges read before and after, date by date,
/// so that a run across midnight, whose range has moved on by a day, compares too.
pub(super) async fn counter_days_today(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTER_DAYS_TODAY);
    let total_before = read_counter(&mut finding, client, contract, origin, counter).await?;
    let before = read_days(&mut finding, client, contract, origin, counter).await?;
    let mut posted = 0;
    for _ in 0..POSTS {
        if let Some(answer) = finding
            .send(client, post(counter_path(counter), origin))
            .await?
            && expect_counter(&mut finding, &answer, contract, counter).is_some()
        {
            posted += 1;
        }
    }
    let after = read_days(&mut finding, client, contract, origin, counter).await?;
    let total_after = read_counter(&mut finding, client, contract, origin, counter).await?;
    let (Some((before, started)), Some((after, ended))) = (before, after) else {
        return Ok(finding.finish());
    };

    // The POSTs fell on a date between the first read's start and the last one's end.
    let posted_on = Today {
        sent: started.sent,
        answered: ended.answered,
    };
    let moved = moved(&before, &after, posted_on);
    for (date, was, now) in &moved.elsewhere {
        finding.fail(format!(
            "/{} moved from {was} to {now} on {date}, which is not today (UTC, {posted_on})",
            days_path(counter, ""),
        ));
    }
    let (views, visitors) = (moved.views, moved.visitors);
    if views != i128::from(posted) {
        finding.fail(format!(
            "{posted} POST /counters/{counter} answered 200 moved its days by {views} views; \
             expected {posted}"
        ));
    }
    if let (Some(total_before), Some(total_after)) = (total_before, total_after) {
        let total = i128::from(total_after.visitors) - i128::from(total_before.visitors);
        if visitors != total {
            finding.fail(format!(
                "the counter's visitors moved by {total} but its days' by {visitors}: \
                 visitors are per day, summed over days"
            ));
        }
    }
    Ok(finding.finish())
}

/// How two reads of a range differ, date by date (a date missing from the first read
/// counts as zeros: the range moves on by a day at midnight).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Moved {
    pub views: i128,
    pub visitors: i128,
    pub bots: i128,
    pub limited: i128,
    /// The dates outside `posted_on` whose numbers moved: what they were, what they are.
    pub elsewhere: Vec<(Date, Numbers, Numbers)>,
}

pub(super) fn moved(before: &[Day], after: &[Day], posted_on: Today) -> Moved {
    let by_date: BTreeMap<Date, (Numbers, Tallies)> = before
        .iter()
        .map(|day| (day.date, (day.numbers, day.tallies)))
        .collect();
    let mut moved = Moved {
        views: 0,
        visitors: 0,
        bots: 0,
        limited: 0,
        elsewhere: Vec::new(),
    };
    let zeros = Numbers {
        views: 0,
        visitors: 0,
    };
    for day in after {
        let (was, tallied) = by_date
            .get(&day.date)
            .copied()
            .unwrap_or((zeros, Tallies::default()));
        if was != day.numbers && !posted_on.contains(day.date) {
            moved.elsewhere.push((day.date, was, day.numbers));
        }
        moved.views += i128::from(day.numbers.views) - i128::from(was.views);
        moved.visitors += i128::from(day.numbers.visitors) - i128::from(was.visitors);
        moved.bots += i128::from(day.tallies.bots) - i128::from(tallied.bots);
        moved.limited += i128::from(day.tallies.limited) - i128::from(tallied.limited);
    }
    moved
}

/// `GET /counters/{counter}/days`, the default range: its days and when it was read.
pub(super) async fn read_days(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Option<(Vec<Day>, Today)>, Error> {
    let Some((answer, today)) =
        send_dated(finding, client, get(days_path(counter, ""), origin)).await?
    else {
        return Ok(None);
    };
    Ok(expect_days(finding, &answer, contract, counter).map(|days| (days, today)))
}

#[cfg(test)]
mod tests {

    use std::collections::BTreeMap;

    use reqwest::header::HeaderMap;

    use super::*;
    use crate::report::Exchange;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    /// The default range ending on `last`, with `numbers` on the dates given.
    fn range(last: &str, numbers: &[(&str, u64, u64)]) -> Vec<Day> {
        let last = date(last);
        (0..DEFAULT_DATES)
            .map(|back| last.add_days(back - DEFAULT_DATES + 1))
            .map(|date| {
                let (views, visitors) = numbers
                    .iter()
                    .find(|(on, ..)| *on == date.to_string())
                    .map_or((0, 0), |(_, views, visitors)| (*views, *visitors));
                Day {
                    date,
                    numbers: Numbers { views, visitors },
                    tallies: Tallies::default(),
                }
            })
            .collect()
    }

    fn answer() -> Answer {
        Answer {
            label: "GET /counters/site/days".to_owned(),
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Vec::new(),
            exchange: Exchange {
                method: "GET".to_owned(),
                url: String::new(),
                request_headers: BTreeMap::new(),
                request_body_bytes: None,
                status: Some(200),
                headers: BTreeMap::new(),
                body: String::new(),
                error: None,
            },
            throttled: Vec::new(),
        }
    }

    fn problems(days: &[Day], expected: &Expected) -> Vec<String> {
        let mut finding = Finding::new(DAYS_RANGE);
        expect_range(&mut finding, &answer(), days, expected);
        finding.problems
    }

    #[test]
    fn a_range_across_midnight_may_end_on_either_date() {
        let days = range("2026-12-02", &[]);
        for (sent, answered, ok) in [
            ("2026-12-02", "2026-12-02", true),
            ("2026-12-01", "2026-12-02", true),
            ("2026-12-02", "2026-12-03", true),
            ("2026-12-01", "2026-12-01", false),
            ("2026-12-03", "2026-12-03", false),
        ] {
            let expected = Expected {
                first: None,
                last: (date(sent), date(answered)),
                len: Some(DEFAULT_DATES),
            };
            assert_eq!(
                problems(&days, &expected).is_empty(),
                ok,
                "{sent} {answered}"
            );
        }
    }

    #[test]
    fn a_range_says_how_it_is_broken() {
        let expected = Expected {
            first: Some(date("2026-11-03")),
            last: (date("2026-12-02"), date("2026-12-02")),
            len: Some(DEFAULT_DATES),
        };
        assert_eq!(
            problems(&range("2026-12-02", &[]), &expected),
            Vec::<String>::new()
        );
        let mut gap = range("2026-12-02", &[]);
        gap.remove(10);
        assert_eq!(
            problems(&gap, &expected),
            [
                "GET /counters/site/days: dates missing between 2026-11-12 and 2026-11-14: \
                 every date of the range must be there, zeros included",
                "GET /counters/site/days: holds 29 dates, expected 30"
            ]
        );
        let mut reversed = range("2026-12-02", &[]);
        reversed.reverse();
        let found = problems(&reversed, &expected);
        assert!(found[0].contains("not oldest first"), "{found:?}");
    }

    #[test]
    fn posts_across_midnight_are_found_on_the_new_date() {
        let before = range("2026-12-01", &[("2026-12-01", 5, 2)]);
        // Read again after midnight: the range has moved on by a day, and one POST fell
        // on each side of it.
        let after = range("2026-12-02", &[("2026-12-01", 6, 2), ("2026-12-02", 1, 1)]);
        let posted_on = Today {
            sent: date("2026-12-01"),
            answered: date("2026-12-02"),
        };
        assert_eq!(
            moved(&before, &after, posted_on),
            Moved {
                views: 2,
                visitors: 1,
                bots: 0,
                limited: 0,
                elsewhere: Vec::new()
            }
        );
        // Outside the dates the POSTs were made on, any change is reported.
        let same_day = Today {
            sent: date("2026-12-02"),
            answered: date("2026-12-02"),
        };
        let moved = moved(&before, &after, same_day);
        assert_eq!(moved.elsewhere.len(), 1);
        assert_eq!(moved.elsewhere[0].0, date("2026-12-01"));
    }
}
