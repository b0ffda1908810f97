//! `GET /counters/{name}` and `POST /counters/{name}`: a counter is read, every POST
//! counts exactly one view and gets its own number, and a GET never writes.

use reqwest::header::USER_AGENT;

use super::expect::{Numbers, expect_counter};
use super::list::{Listed, is_listed};
use super::{Finding, RunNames, SITE, counter_path, get, list_after, post};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::Client;
use crate::report::Check;

pub(super) const COUNTER_GET: &str = "counter-get";
pub(super) const COUNTER_POST_VIEWS: &str = "counter-post-views";
pub(super) const COUNTER_GET_NO_WRITE: &str = "counter-get-no-write";

/// Sequential POSTs in `counter-post-views`.
const POSTS: usize = 3;

/// `site` percent-encoded in part: the path segment is decoded before it is a name.
const SITE_ENCODED: &str = "sit%65";

/// `GET /counters/site` is a counter named `site` (valid against `counter.json`), and so
/// is `GET /counters/sit%65`; in full mode `GET /counters/{counter}` is one named
/// `counter`.
pub(super) async fn counter_get(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: Option<&str>,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTER_GET);
    let mut reads = vec![(SITE, SITE), (SITE_ENCODED, SITE)];
    if let Some(counter) = counter {
        reads.push((counter, counter));
    }
    for (segment, name) in reads {
        if let Some(answer) = finding
            .send(client, get(counter_path(segment), origin))
            .await?
        {
            expect_counter(&mut finding, &answer, contract, name);
        }
    }
    Ok(finding.finish())
}

/// A `GET`, then [`POSTS`] sequential `POST /counters/{counter}`: each a counter named
/// `counter` whose `views` is one more than the one before it (the first, one more than
/// the `GET`), and a `GET` after them reads the last POST's numbers. Like
/// `post-increments`, it assumes nobody else counts on this counter meanwhile.
pub(super) async fn counter_post_views(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTER_POST_VIEWS);
    let path = counter_path(counter);
    let mut last = finding
        .send(client, get(path.clone(), origin))
        .await?
        .and_then(|answer| expect_counter(&mut finding, &answer, contract, counter));
    for nth in 1..=POSTS {
        let Some(answer) = finding.send(client, post(path.clone(), origin)).await? else {
            last = None;
            continue;
        };
        let posted = expect_counter(&mut finding, &answer, contract, counter);
        if let (Some(before), Some(after)) = (last, posted)
            && Some(after.views) != before.views.checked_add(1)
        {
            finding.fail(format!(
                "POST {nth} of {POSTS} to /{path} answered views {} after {}; expected {}",
                after.views,
                before.views,
                u128::from(before.views) + 1
            ));
        }
        last = posted;
    }
    let read = finding
        .send(client, get(path.clone(), origin))
        .await?
        .and_then(|answer| expect_counter(&mut finding, &answer, contract, counter));
    if let (Some(posted), Some(read)) = (last, read)
        && read != posted
    {
        finding.fail(format!(
            "GET /{path} read {read} after the last POST answered {posted}"
        ));
    }
    Ok(finding.finish())
}

/// Two `GET /counters/{counter}` from two visitors never seen before (fresh
/// User-Agents) read the same numbers: a GET counts neither a view nor a visitor. A
/// name nobody has counted reads zeros, and is still not listed after it was read.
pub(super) async fn counter_get_no_write(
    client: &Client,
    contract: &Contract,
    origin: &str,
    names: &RunNames,
) -> Result<Check, Error> {
    let mut finding = Finding::new(COUNTER_GET_NO_WRITE);
    let counter = names.counter.as_str();
    let mut reads: Vec<Option<Numbers>> = Vec::new();
    for agent in &names.readers {
        let request = get(counter_path(counter), origin).header(USER_AGENT, agent);
        let read = finding
            .send(client, request)
            .await?
            .and_then(|answer| expect_counter(&mut finding, &answer, contract, counter));
        reads.push(read);
    }
    if let [Some(first), Some(second)] = reads[..]
        && first != second
    {
        finding.fail(format!(
            "GET /counters/{counter} read {first}, then {second} for another new visitor: \
             a GET counted"
        ));
    }

    let unseen = names.unseen.as_str();
    for _ in 0..2 {
        let Some(answer) = finding
            .send(client, get(counter_path(unseen), origin))
            .await?
        else {
            continue;
        };
        match expect_counter(&mut finding, &answer, contract, unseen) {
            Some(Numbers {
                views: 0,
                visitors: 0,
            }) => {}
            Some(numbers) => finding.fail(format!(
                "GET /counters/{unseen}, a name nobody counted, read {numbers}; expected zeros"
            )),
            None if answer.status.as_u16() == 404 => finding.fail(format!(
                "(full mode reads /counters/{unseen}, a name nobody counted: names that \
                 start with --counter and a '-' must be allowed, as they are when \
                 COUNTERS is unset)"
            )),
            None => {}
        }
    }
    // An absence proves something only from a list that could have shown the name.
    if let Some(Listed::Yes) = is_listed(&mut finding, client, contract, origin, unseen).await? {
        finding.fail(format!(
            "GET /{} lists {unseen} after it was only read: a GET created it",
            list_after(unseen)
        ));
    }
    Ok(finding.finish())
}
