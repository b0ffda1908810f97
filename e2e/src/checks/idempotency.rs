//! `Idempotency-Key` on the counting POSTs: a visit retried with one key is counted
//! once and its first answer replayed (`Idempotent-Replayed: true`), in the shape of
//! the route asked (`/count` is the counter `site`); the key on another counter is a
//! 422 and a malformed key a 400, neither counting anything; concurrent requests with
//! one key count one visit between them, each answered that visit or a 409 in flight.
//!
//! Every key is made up for the run ([`new_key`]), so that runs against one deployment
//! never meet each other's keys (a key is kept 24 hours).

use reqwest::StatusCode;
use reqwest::header::{HeaderName, RETRY_AFTER};
use serde_json::Value;

use super::expect::{
    Numbers, expect_counter, expect_json, expect_name, expect_problem, read_count, shown,
};
use super::{COUNT, Finding, SITE, counter_path, get, post, random_hex};
use crate::contract::{Contract, count_of};
use crate::error::Error;
use crate::http::{Answer, Client, Request, single};
use crate::report::Check;

pub(super) const IDEMPOTENCY_REPLAY: &str = "idempotency-replay";
pub(super) const IDEMPOTENCY_COUNT_IS_SITE: &str = "idempotency-count-is-site";
pub(super) const IDEMPOTENCY_KEY_REUSED: &str = "idempotency-key-reused";
pub(super) const IDEMPOTENCY_KEY_INVALID: &str = "idempotency-key-invalid";
pub(super) const IDEMPOTENCY_KEY_CONCURRENT: &str = "idempotency-key-concurrent";

/// The request header.
const KEY_HEADER: &str = "idempotency-key";
/// The header that marks a replayed answer.
pub(super) const REPLAYED_HEADER: &str = "idempotent-replayed";
/// The longest key the contract allows, in characters.
const MAX_KEY_LENGTH: usize = 255;
/// Concurrent POSTs with one key in `idempotency-key-concurrent`.
const CONCURRENT: usize = 10;

/// A key nobody has sent before: `e2e-` and 32 hex digits.
fn new_key() -> String {
    format!("e2e-{}{}", random_hex(), random_hex())
}

/// `POST path` with `Idempotency-Key: key`.
fn keyed(path: &str, origin: &str, key: &str) -> Request {
    post(path, origin).header(HeaderName::from_static(KEY_HEADER), key)
}

/// A `200` counter named `name` (see [`expect_counter`]): its body.
fn counter_body(
    finding: &mut Finding,
    answer: &Answer,
    contract: &Contract,
    name: &str,
) -> Option<Value> {
    let body = expect_json(finding, answer, StatusCode::OK, &contract.counter)?;
    expect_name(finding, answer, &body, name).then_some(body)
}

/// `GET /counters/{name}`: its numbers.
async fn read(
    finding: &mut Finding,
    client: &Client,
    contract: &Contract,
    origin: &str,
    name: &str,
) -> Result<Option<Numbers>, Error> {
    Ok(finding
        .send(client, get(counter_path(name), origin))
        .await?
        .and_then(|answer| expect_counter(finding, &answer, contract, name)))
}

/// Whether the answer is marked replayed: `None` when its `Idempotent-Replayed` is
/// neither absent nor the contract's one value (a problem, then).
fn marked(finding: &mut Finding, answer: &Answer, contract: &Contract) -> Option<bool> {
    match single(&answer.headers, REPLAYED_HEADER) {
        Ok(None) => Some(false),
        Ok(Some(value)) if value == contract.replayed => Some(true),
        Ok(Some(value)) => {
            finding.fail(format!(
                "{}: Idempotent-Replayed is {}; its one value is {}",
                answer.label,
                shown(value),
                contract.replayed
            ));
            None
        }
        Err(problem) => {
            finding.fail(format!("{}: {problem}", answer.label));
            None
        }
    }
}

/// The first answer to a key, which counted the visit: not marked replayed.
fn expect_first(finding: &mut Finding, answer: &Answer, contract: &Contract) {
    if marked(finding, answer, contract) == Some(true) {
        finding.fail(format!(
            "{} is the first request with its key, which counts the visit, yet its answer \
             is marked Idempotent-Replayed: {}",
            answer.label, contract.replayed
        ));
    }
}

/// A replay: marked `Idempotent-Replayed: true`.
fn expect_replayed(finding: &mut Finding, answer: &Answer, contract: &Contract, sent: &str) {
    if marked(finding, answer, contract) == Some(false) {
        finding.fail(format!(
            "{} with {sent} is not marked Idempotent-Replayed: {}: a replay must say so",
            answer.label, contract.replayed
        ));
    }
}

/// The views read `after` are the views read `before` and `added`; `across` says what
/// was sent between, for the message.
fn expect_added(
    finding: &mut Finding,
    path: &str,
    before: Option<Numbers>,
    after: Option<Numbers>,
    added: u64,
    across: &str,
) {
    if let (Some(before), Some(after)) = (before, after)
        && Some(after.views) != before.views.checked_add(added)
    {
        finding.fail(format!(
            "GET /{path} read {} views after {} before {across}; expected {}",
            after.views,
            before.views,
            u128::from(before.views) + u128::from(added)
        ));
    }
}

/// On `counter`: a `POST` with a new key is the visit (not marked replayed); after a
/// `POST` without a key, the same key again, bare and then as the quoted string
/// `"KEY"`, is answered the first answer again (the same body, not the counter as it is
/// now), marked `Idempotent-Replayed: true`; and the views moved by exactly two, the
/// keyed visit and the one without a key.
pub(super) async fn replay(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(IDEMPOTENCY_REPLAY);
    let path = counter_path(counter);
    let key = new_key();
    let before = read(&mut finding, client, contract, origin, counter).await?;
    let first = match finding.send(client, keyed(&path, origin, &key)).await? {
        Some(answer) => {
            expect_first(&mut finding, &answer, contract);
            counter_body(&mut finding, &answer, contract, counter)
        }
        None => None,
    };
    // A visit between: a replay is the first answer, whatever the counter reads now.
    if let Some(answer) = finding.send(client, post(path.clone(), origin)).await? {
        counter_body(&mut finding, &answer, contract, counter);
    }
    let quoted = format!("\"{key}\"");
    for (sent, form) in [(&key, "the same key"), (&quoted, "the same key quoted")] {
        let Some(answer) = finding.send(client, keyed(&path, origin, sent)).await? else {
            continue;
        };
        expect_replayed(&mut finding, &answer, contract, form);
        let Some(body) = counter_body(&mut finding, &answer, contract, counter) else {
            continue;
        };
        if let Some(first) = &first
            && body != *first
        {
            finding.fail(format!(
                "{} with {form} answered {body}, but the first answer to the key was \
                 {first}: a replay is that answer again",
                answer.label
            ));
        }
    }
    let after = read(&mut finding, client, contract, origin, counter).await?;
    expect_added(
        &mut finding,
        &path,
        before,
        after,
        2,
        "a POST with a new key, one without a key, and the key twice more (a replay \
         counts nothing)",
    );
    Ok(finding.finish())
}

/// `/count` and `/counters/site` are one counter for keys too: a key first sent to
/// `POST /counters/site` and then to `POST /count` is replayed there, in `/count`'s
/// shape (`{"count": N}`, N the first answer's views), marked `Idempotent-Replayed:
/// true`; and the count moved by exactly one.
pub(super) async fn count_is_site(
    client: &Client,
    contract: &Contract,
    origin: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(IDEMPOTENCY_COUNT_IS_SITE);
    let site = counter_path(SITE);
    let key = new_key();
    let before = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count before the POSTs"));
    let first = match finding.send(client, keyed(&site, origin, &key)).await? {
        Some(answer) => {
            expect_first(&mut finding, &answer, contract);
            counter_body(&mut finding, &answer, contract, SITE).and_then(|body| Numbers::of(&body))
        }
        None => None,
    };
    if let Some(answer) = finding.send(client, keyed(COUNT, origin, &key)).await? {
        expect_replayed(
            &mut finding,
            &answer,
            contract,
            &format!("the key of POST /{site}"),
        );
        let replayed = expect_json(&mut finding, &answer, StatusCode::OK, &contract.post_count)
            .and_then(|body| count_of(&body));
        if let (Some(first), Some(replayed)) = (first, replayed)
            && replayed != first.views
        {
            finding.fail(format!(
                "POST /count with the key of POST /{site} answered {replayed}, but that POST \
                 answered {} views: /count is the counter site, and a replay is its first \
                 answer",
                first.views
            ));
        }
    }
    let after = finding
        .send(client, get(COUNT, origin))
        .await?
        .and_then(|answer| read_count(&mut finding, &answer, "the count after the POSTs"));
    if let (Some(before), Some(after)) = (before, after)
        && Some(after) != before.checked_add(1)
    {
        finding.fail(format!(
            "GET /count read {after} after {before} before one POST /{site} with a new key \
             and POST /count with the same key; expected {} (a replay counts nothing)",
            u128::from(before) + 1
        ));
    }
    Ok(finding.finish())
}

/// A key first sent to `counter`, then to `other` (another counter, never counted): a
/// 422 problem of the contract's reused type, and neither counter counted it (`other`
/// reads the same before and after, `counter` moved by the first POST only).
pub(super) async fn key_reused(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
    other: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(IDEMPOTENCY_KEY_REUSED);
    let path = counter_path(counter);
    let other_path = counter_path(other);
    let key = new_key();
    let counter_before = read(&mut finding, client, contract, origin, counter).await?;
    let other_before = match finding
        .send(client, get(other_path.clone(), origin))
        .await?
    {
        Some(answer) => {
            let numbers = expect_counter(&mut finding, &answer, contract, other);
            if numbers.is_none() && answer.status == StatusCode::NOT_FOUND {
                finding.fail(format!(
                    "(full mode sends a key to /{other_path}, a name nobody counted: names \
                     that start with --counter and a '-' must be allowed, as they are when \
                     COUNTERS is unset)"
                ));
            }
            numbers
        }
        None => None,
    };
    if let Some(answer) = finding.send(client, keyed(&path, origin, &key)).await? {
        expect_first(&mut finding, &answer, contract);
        counter_body(&mut finding, &answer, contract, counter);
    }
    if let Some(answer) = finding
        .send(client, keyed(&other_path, origin, &key))
        .await?
    {
        let problems = finding.problems.len();
        expect_problem(
            &mut finding,
            &answer,
            contract,
            StatusCode::UNPROCESSABLE_ENTITY,
            &contract.idempotency_key_reused_type,
        );
        if finding.problems.len() > problems {
            finding.fail(format!(
                "(that was the key of POST /{path}, sent to another counter: it must be \
                 refused)"
            ));
        }
    }
    let other_after = read(&mut finding, client, contract, origin, other).await?;
    let counter_after = read(&mut finding, client, contract, origin, counter).await?;
    expect_added(
        &mut finding,
        &other_path,
        other_before,
        other_after,
        0,
        &format!("a POST with the key of POST /{path}: a reused key counted"),
    );
    expect_added(
        &mut finding,
        &path,
        counter_before,
        counter_after,
        1,
        &format!("a POST with a new key and the same key on /{other_path}"),
    );
    Ok(finding.finish())
}

/// What a malformed key is sent as: what it is, for messages, and the header's values.
fn malformed_keys() -> Vec<(&'static str, Vec<String>)> {
    let hex = random_hex();
    vec![
        // Not an empty value: whether API Gateway passes one on is not the service's to
        // decide, and dropped it would be a POST without a key (the service's own tests
        // refuse the empty key).
        (
            "an Idempotency-Key with a comma",
            vec![format!("e2e-{hex},{}", random_hex())],
        ),
        (
            "an Idempotency-Key with a space",
            vec![format!("e2e-{hex} {}", random_hex())],
        ),
        (
            "an Idempotency-Key of 256 characters",
            vec![format!(
                "{:k<width$}",
                new_key(),
                width = MAX_KEY_LENGTH + 1
            )],
        ),
        (
            "an Idempotency-Key that opens a quoted string and does not close it",
            vec![format!("\"e2e-{hex}")],
        ),
        // Two quoted keys, each valid on its own: API Gateway joins a repeated header's
        // values with commas, and `"a","b"` is a broken quoted string, so the answer is
        // the same 400 whether the service sees two headers or one joined value.
        (
            "Idempotency-Key twice",
            vec![format!("\"{}\"", new_key()), format!("\"{}\"", new_key())],
        ),
    ]
}

/// `POST /counters/{counter}` with each malformed key (a comma, a space, 256 characters,
/// a quoted string left open, the header twice): each a 400 problem of the contract's
/// invalid-idempotency-key type, and the views the same before and after.
pub(super) async fn key_invalid(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(IDEMPOTENCY_KEY_INVALID);
    let path = counter_path(counter);
    let before = read(&mut finding, client, contract, origin, counter).await?;
    let cases = malformed_keys();
    for (what, values) in &cases {
        let request = values
            .iter()
            .fold(post(path.clone(), origin), |request, value| {
                request.header(HeaderName::from_static(KEY_HEADER), value)
            });
        let Some(answer) = finding.send(client, request).await? else {
            continue;
        };
        let problems = finding.problems.len();
        expect_problem(
            &mut finding,
            &answer,
            contract,
            StatusCode::BAD_REQUEST,
            &contract.invalid_idempotency_key_type,
        );
        if finding.problems.len() > problems {
            finding.fail(format!(
                "(that was the POST with {what}, which must be refused)"
            ));
        }
    }
    let after = read(&mut finding, client, contract, origin, counter).await?;
    expect_added(
        &mut finding,
        &path,
        before,
        after,
        0,
        &format!(
            "{} POSTs with malformed keys: a refused key counted",
            cases.len()
        ),
    );
    Ok(finding.finish())
}

/// [`CONCURRENT`] concurrent `POST /counters/{counter}` with one new key, then one more
/// after they are all answered: each of the concurrent ones is a 200 counter or a 409
/// problem of the contract's in-flight type with `Retry-After` in seconds; the last one
/// is a 200; every 200 has the same body, at most one of them (the visit's) is not
/// marked `Idempotent-Replayed: true`; and the views moved by exactly one.
///
/// Which requests are 409s depends on timing (on a slow network none may be), so that
/// is not checked; what holds whatever the timing is.
pub(super) async fn key_concurrent(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(IDEMPOTENCY_KEY_CONCURRENT);
    let path = counter_path(counter);
    let key = new_key();
    let before = read(&mut finding, client, contract, origin, counter).await?;

    // As in `post-burst-distinct`: the pacer's bucket is let fill first.
    client.wait_for_burst(CONCURRENT).await;
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENT {
        let client = client.clone();
        let request = keyed(&path, origin, &key);
        posts.spawn(async move { client.send(request).await });
    }
    // The 200s' bodies, and whether each was marked replayed.
    let mut answered: Vec<(Value, bool)> = Vec::new();
    while let Some(joined) = posts.join_next().await {
        let sent = match joined {
            Ok(sent) => sent?,
            Err(error) => {
                finding.fail(format!("a concurrent POST did not finish: {error}"));
                continue;
            }
        };
        let Some(answer) = finding.keep(sent) else {
            continue;
        };
        match answer.status {
            StatusCode::OK => {
                let replayed = marked(&mut finding, &answer, contract);
                if let (Some(body), Some(replayed)) = (
                    counter_body(&mut finding, &answer, contract, counter),
                    replayed,
                ) {
                    answered.push((body, replayed));
                }
            }
            StatusCode::CONFLICT => expect_in_flight(&mut finding, &answer, contract),
            status => finding.fail(format!(
                "{} answered {status}; a POST whose key another one is using at the same \
                 time is 200 (the visit, or its replay) or 409 in flight",
                answer.label
            )),
        }
    }
    if let Some(answer) = finding.send(client, keyed(&path, origin, &key)).await? {
        let replayed = marked(&mut finding, &answer, contract);
        if let (Some(body), Some(replayed)) = (
            counter_body(&mut finding, &answer, contract, counter),
            replayed,
        ) {
            answered.push((body, replayed));
        }
    }

    if let Some((first, _)) = answered.first() {
        let bodies: Vec<String> = answered
            .iter()
            .filter(|(body, _)| body != first)
            .map(|(body, _)| body.to_string())
            .collect();
        if !bodies.is_empty() {
            finding.fail(format!(
                "POSTs with one key answered {first} and also {}: every 200 to a key is its \
                 one visit's answer",
                bodies.join(", ")
            ));
        }
    }
    let unmarked = answered.iter().filter(|(_, replayed)| !replayed).count();
    if unmarked > 1 {
        finding.fail(format!(
            "{unmarked} of the 200s to one key are not marked Idempotent-Replayed: {}; only \
             the visit's own answer may be unmarked",
            contract.replayed
        ));
    }
    let after = read(&mut finding, client, contract, origin, counter).await?;
    expect_added(
        &mut finding,
        &path,
        before,
        after,
        1,
        &format!(
            "{CONCURRENT} concurrent POSTs with one new key and one more after them (one \
             visit between them)"
        ),
    );
    Ok(finding.finish())
}

/// A 409 in flight: the contract's problem, with `Retry-After` in seconds.
fn expect_in_flight(finding: &mut Finding, answer: &Answer, contract: &Contract) {
    expect_problem(
        finding,
        answer,
        contract,
        StatusCode::CONFLICT,
        &contract.idempotency_key_in_flight_type,
    );
    match single(&answer.headers, RETRY_AFTER.as_str()) {
        Ok(Some(seconds))
            if !seconds.trim().is_empty() && seconds.trim().bytes().all(|b| b.is_ascii_digit()) => {
        }
        Ok(value) => finding.fail(format!(
            "{}: a 409 in flight has Retry-After {}, expected a number of seconds",
            answer.label,
            shown(value.unwrap_or(""))
        )),
        Err(problem) => finding.fail(format!("{}: {problem}", answer.label)),
    }
}
