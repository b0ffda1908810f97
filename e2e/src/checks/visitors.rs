//! Visitors: a visitor (client IP and User-Agent) is counted once a day on a counter.
//! The checker's IP is the same for all its requests, so a User-Agent of its own, made
//! up for the run, is a visitor nobody has been before.

use reqwest::header::USER_AGENT;

use super::expect::{Numbers, expect_counter};
use super::{Finding, counter_path, get, post};
use crate::contract::Contract;
use crate::date::Date;
use crate::error::Error;
use crate::http::Client;
use crate::report::Check;

pub(super) const COUNTER_VISITORS: &str = "counter-visitors";

/// On `counter`: the first `POST` from the new visitor `first` adds exactly one visitor,
/// a second from `first` adds none, and one from the new visitor `second` adds one.
///
/// If the run straddles midnight UTC, `first`'s second POST falls on a new day, where
/// it is a new visitor again: then it may add one.
pub(super) async fn counter_visitors(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
    [first, second]: [&str; 2],
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTER_VISITORS);
    let path = counter_path(counter);
    let started = Date::today();
    let mut last = finding
        .send(client, get(path.clone(), origin))
        .await?
        .and_then(|answer| expect_counter(&mut finding, &answer, contract, counter));
    let steps = [
        (first, "a new visitor", 1),
        (first, "the same visitor again", 0),
        (second, "another new visitor", 1),
    ];
    for (agent, who, adds) in steps {
        let request = post(path.clone(), origin).header(USER_AGENT, agent);
        let Some(answer) = finding.send(client, request).await? else {
            last = None;
            continue;
        };
        let posted = expect_counter(&mut finding, &answer, contract, counter);
        if let (Some(before), Some(after)) = (last, posted) {
            let added = i128::from(after.visitors) - i128::from(before.visitors);
            let new_day = Date::today() != started;
            let allowed = if adds == 0 && new_day {
                0..=1
            } else {
                adds..=adds
            };
            if !allowed.contains(&added) {
                finding.fail(format!(
                    "POST /{path} from {who} (User-Agent {agent}) took visitors from {} to \
                     {}; expected {}",
                    before.visitors,
                    after.visitors,
                    expected(before, adds)
                ));
            }
        }
        last = posted;
    }
    Ok(finding.finish())
}

fn expected(before: Numbers, adds: i128) -> i128 {
    i128::from(before.visitors) + adds
}
