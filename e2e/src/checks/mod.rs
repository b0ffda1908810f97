//! The checks, a file per clause of the contract (`contracts/openapi.json`, and docs/api.md):
//!
//! | clause | file |
//! | --- | --- |
//! | `GET /count`, `POST /count` | [`count`] |
//! | a `POST` from a foreign `Origin`: 403, nothing counted | [`origin`] |
//! | `OPTIONS /count`, CORS | [`cors`] |
//! | any other method, any other path; errors count nothing | [`errors`] |
//! | a body over 1 KiB | [`limits`] |
//! | `Cache-Control: no-store` on every answer but a badge's and the script's | [`caching`] |
//! | `GET`, `POST /counters/{name}`: views, a GET never writes | [`counter`] |
//! | visitors: one a day per visitor (IP, User-Agent) | [`visitors`] |
//! | `Idempotency-Key`: a retried visit counted once, its answer replayed; a reused, malformed or concurrent key | [`idempotency`] |
//! | `/count` is the counter `site` | [`site`] |
//! | `GET /counters`: sorted, paged | [`list`] |
//! | `GET /counters/{name}/days`: ranges, today's entry | [`days`] |
//! | a name that is not valid: 404 unknown-counter | [`names`] |
//! | 405 on the named counters' routes | [`errors`] |
//! | CORS on the named counters' routes | [`cors`] |
//! | `badge.svg`, `shields.json`: the number read, the label escaped, bad parameters | [`badges`] |
//! | `GET /counter.js`: the embed script, cached an hour | [`embed`] |
//! | `GET /dashboard`: the page, private (401), or a 404 when turned off | [`dashboard`] |
//! | a bot's `POST` is not counted, says so, and is tallied | [`filtered`] |
//! | `GET /totals`, `GET /totals/days`, the days' tallies; one visitor of two counters is one of the site | [`totals`] |
//! | `HEAD` wherever `GET` | [`head`] |
//! | `GET /`: the links; `/dashboard/`: a redirect | [`root`] |
//! | a foreign `POST` to a path without `POST`: its 405 | [`errors`] |
//!
//! [`expect`] holds what every answer of a kind must look like; this module runs the
//! checks in order and keeps each one's findings.

mod badges;
mod caching;
mod cors;
mod count;
mod counter;
mod dashboard;
mod days;
mod embed;
mod errors;
mod expect;
mod filtered;
mod head;
mod idempotency;
mod limits;
mod list;
mod names;
mod origin;
mod root;
mod site;
mod totals;
mod visitors;

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode};

use crate::agent::{Browsers, random_u64};

use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Answer, Client, MAX_RETRY_WAIT, NoAnswer, Request};
use crate::options::{self, Options};
use crate::pace::Pacer;
use crate::report::{Check, Exchange, Outcome, Report};

/// Every check's name, in the order [`verify`] runs them.
///
/// Names are stable: scripts and tests may match on them.
pub const CHECK_NAMES: &[&str] = &[
    count::GET_COUNT,
    count::POST_INCREMENTS,
    count::GET_SEES_POST,
    count::POST_BURST_DISTINCT,
    origin::POST_FOREIGN_ORIGIN,
    counter::COUNTER_GET,
    counter::COUNTER_POST_VIEWS,
    visitors::COUNTER_VISITORS,
    counter::COUNTER_GET_NO_WRITE,
    days::COUNTER_DAYS_TODAY,
    filtered::BOT_NOT_COUNTED,
    totals::TOTALS_VISITORS,
    idempotency::IDEMPOTENCY_REPLAY,
    idempotency::IDEMPOTENCY_COUNT_IS_SITE,
    idempotency::IDEMPOTENCY_KEY_REUSED,
    idempotency::IDEMPOTENCY_KEY_INVALID,
    idempotency::IDEMPOTENCY_KEY_CONCURRENT,
    site::COUNT_IS_SITE,
    list::COUNTERS_LIST,
    cors::CORS_ALLOWED_ORIGIN,
    cors::CORS_ALLOWED_ORIGIN_ERRORS,
    cors::CORS_FOREIGN_ORIGIN,
    cors::CORS_PREFLIGHT,
    cors::CORS_FOREIGN_PREFLIGHT,
    errors::NOT_FOUND,
    errors::METHOD_NOT_ALLOWED,
    limits::PAYLOAD_TOO_LARGE,
    days::DAYS_DEFAULT_RANGE,
    days::DAYS_RANGE,
    days::DAYS_INVALID_RANGE,
    names::UNKNOWN_COUNTER,
    errors::COUNTERS_METHOD_NOT_ALLOWED,
    cors::COUNTERS_CORS,
    totals::TOTALS_CHECK,
    totals::TOTALS_DAYS_CHECK,
    totals::DAY_TALLIES,
    badges::BADGE_SVG,
    badges::BADGE_SHIELDS,
    badges::BADGE_LABEL_ESCAPED,
    badges::BADGE_INVALID_QUERY,
    embed::EMBED_SCRIPT,
    dashboard::DASHBOARD,
    root::ROOT_LINKS,
    head::HEAD_LIKE_GET,
    errors::FOREIGN_POST_405,
    errors::ERRORS_NOT_COUNTED,
    caching::CACHE_CONTROL_NO_STORE,
];

/// The counter's path, relative to the base URL.
const COUNT: &str = "count";
/// The list of named counters, relative to the base URL.
const COUNTERS: &str = "counters";
/// The whole site's numbers, relative to the base URL.
const TOTALS: &str = "totals";
/// The whole site's days, relative to the base URL.
const TOTALS_DAYS: &str = "totals/days";
/// The counter behind `/count`, always allowed.
const SITE: &str = "site";
/// A path that cannot exist under any base URL of the service.
const UNKNOWN_PATH: &str = "e2e-no-such-path";
const READ_ONLY: &str = "read-only mode sends no POST";

/// Checks the counter at `base_url` against the contract.
///
/// `base_url` is the service's base URL, with its stage path if it has one:
/// `http://127.0.0.1:3000`, `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`
/// (a trailing slash makes no difference). The counter is expected at
/// `<base_url>/count`.
///
/// Returns `Ok` with a report whenever the service answered its first request, even if
/// every check then failed: look at [`Report::all_passed`]. Returns `Err` only when the
/// checker could not start: a malformed base URL or origin, invalid options, or a base
/// URL that does not answer at all ([`Error::Unreachable`]).
///
/// In full mode the count (the counter `site`) grows by `6 + burst` (the increment
/// check, the burst, the two POSTs that must be served in `post-foreign-origin`, the
/// keyed visit of `idempotency-count-is-site`, and the two of `count-is-site`), and the
/// counter [`Options::counter`] by 12 views (8 in the named counter's checks, 4 in the
/// idempotency checks) and 3 visitors; bots' `POST`s count nothing but are tallied, and
/// `totals-visitors` leaves two new counters, `{counter}-{16 hex digits}`, with a view
/// each. Every request says it is a desktop browser ([`crate::agent`]), the run's own
/// visitors. The checks that compare counts (`post-increments`,
/// `post-burst-distinct`, `post-foreign-origin`, `errors-not-counted`, those of the
/// named counter, of bots, of the site's totals and of `Idempotency-Key`)
/// assume nobody else is counting visits on those counters at the same time; under real
/// traffic they can fail spuriously, which is why production is checked in read-only
/// mode.
pub async fn verify(base_url: &str, options: &Options) -> Result<Report, Error> {
    let base = options::base_url(base_url)?;
    options.check()?;
    let contract = Contract::load()?;
    if !contract.is_counter_name(&options.counter) {
        return Err(Error::InvalidOptions(format!(
            "the counter {:?} is not a counter name (1 to 64 characters of a-z, 0-9, '.', \
             '_' and '-', first and last a letter or digit)",
            options.counter
        )));
    }
    let pacer = options.rate.map(|rate| Pacer::new(rate, options.burst));
    let names = RunNames::new(&options.counter);
    let client = Client::new(
        base,
        options.timeout,
        options.burst,
        pacer,
        &names.visitor(),
    )?
    .with_authorization(
        options
            .dashboard_password
            .as_ref()
            .map(|password| basic_authorization(password.reveal())),
    );
    let checks = run(&client, &contract, options, &names).await?;
    Ok(Report::new(
        client.base().to_string(),
        options.origin.clone(),
        options.read_only,
        checks,
    ))
}

/// Runs every check, in the order of [`CHECK_NAMES`].
async fn run(
    client: &Client,
    contract: &Contract,
    options: &Options,
    names: &RunNames,
) -> Result<Vec<Check>, Error> {
    let origin = options.origin.as_str();
    let foreign = options.foreign_origin.as_str();
    // The first request doubles as the probe: no answer at all means a wrong or dead URL,
    // which is an error rather than a report.
    let first = match client.send(get(COUNT, origin)).await? {
        Ok(answer) => answer,
        Err(no_answer) => {
            return Err(Error::Unreachable {
                url: no_answer.exchange.url,
                source: no_answer.source,
            });
        }
    };
    let mut checks = vec![count::get_count(contract, first)];

    if options.read_only {
        for name in [
            count::POST_INCREMENTS,
            count::GET_SEES_POST,
            count::POST_BURST_DISTINCT,
            origin::POST_FOREIGN_ORIGIN,
        ] {
            checks.push(skipped(name, READ_ONLY));
        }
        checks.push(counter::counter_get(client, contract, origin, None).await?);
        checks.push(skipped(counter::COUNTER_POST_VIEWS, READ_ONLY));
        checks.push(skipped(visitors::COUNTER_VISITORS, READ_ONLY));
        checks.push(skipped(
            counter::COUNTER_GET_NO_WRITE,
            "read-only mode: real visits move production's counters between two reads, \
             and a server that breaks this clause would create a counter for the \
             never-counted name it reads",
        ));
        checks.push(skipped(days::COUNTER_DAYS_TODAY, READ_ONLY));
        checks.push(skipped(filtered::BOT_NOT_COUNTED, READ_ONLY));
        checks.push(skipped(totals::TOTALS_VISITORS, READ_ONLY));
        for name in [
            idempotency::IDEMPOTENCY_REPLAY,
            idempotency::IDEMPOTENCY_COUNT_IS_SITE,
            idempotency::IDEMPOTENCY_KEY_REUSED,
            idempotency::IDEMPOTENCY_KEY_INVALID,
            idempotency::IDEMPOTENCY_KEY_CONCURRENT,
        ] {
            checks.push(skipped(name, READ_ONLY));
        }
    } else {
        let (increments, after_post) = count::post_increments(client, contract, origin).await?;
        checks.push(increments);
        checks.push(count::get_sees_post(client, origin, after_post).await?);
        // Each POST of the burst is a visitor of its own, so that no burst size is past
        // the service's limit of views per visitor.
        let agents = (0..options.burst).map(|_| names.visitor()).collect();
        checks.push(count::post_burst_distinct(client, contract, origin, agents).await?);
        checks.push(origin::post_foreign_origin(client, contract, origin, foreign).await?);

        let counter = names.counter.as_str();
        checks.push(counter::counter_get(client, contract, origin, Some(counter)).await?);
        checks.push(counter::counter_post_views(client, contract, origin, counter).await?);
        let [first, second] = &names.visitors;
        checks.push(
            visitors::counter_visitors(client, contract, origin, counter, [first, second]).await?,
        );
        checks.push(counter::counter_get_no_write(client, contract, origin, names).await?);
        checks.push(days::counter_days_today(client, contract, origin, counter).await?);
        checks.push(filtered::bot_not_counted(client, contract, origin, names).await?);
        checks.push(totals::totals_visitors(client, contract, origin, names).await?);

        checks.push(idempotency::replay(client, contract, origin, counter).await?);
        checks.push(idempotency::count_is_site(client, contract, origin).await?);
        let other = names.other.as_str();
        checks.push(idempotency::key_reused(client, contract, origin, counter, other).await?);
        checks.push(idempotency::key_invalid(client, contract, origin, counter).await?);
        checks.push(idempotency::key_concurrent(client, contract, origin, counter).await?);
    }
    checks.push(site::count_is_site(client, contract, origin, options.read_only).await?);
    let listed = (!options.read_only).then_some(names.counter.as_str());
    checks.push(list::counters_list(client, contract, origin, listed).await?);

    // From here on nothing may change the count: the read before and after brackets
    // every CORS and error request (full mode only, see `errors::errors_not_counted`).
    let before = if options.read_only {
        None
    } else {
        Some(client.send(get(COUNT, origin)).await?)
    };

    checks.push(cors::allowed_origin(client, origin).await?);
    checks.push(cors::allowed_origin_errors(client, origin).await?);
    checks.push(cors::foreign_origin(client, foreign).await?);
    checks.push(cors::preflight(client, origin).await?);
    checks.push(cors::foreign_preflight(client, foreign).await?);
    checks.push(errors::not_found(client, contract, origin, options.read_only).await?);
    checks.push(errors::method_not_allowed(client, contract, origin).await?);
    if options.read_only {
        checks.push(skipped(
            limits::PAYLOAD_TOO_LARGE,
            "read-only mode sends no POST, and an oversized POST would count a visit \
             on a server that breaks this clause",
        ));
    } else {
        checks.push(limits::payload_too_large(client, contract, origin).await?);
    }
    checks.push(days::days_default_range(client, contract, origin).await?);
    checks.push(days::days_range(client, contract, origin).await?);
    checks.push(days::days_invalid_range(client, contract, origin).await?);
    checks.push(names::unknown_counter(client, contract, origin, options.read_only).await?);
    checks.push(
        errors::counters_method_not_allowed(client, contract, origin, options.read_only).await?,
    );
    checks.push(cors::counters_cors(client, origin, foreign).await?);
    checks.push(totals::totals(client, contract, origin).await?);
    checks.push(totals::totals_days(client, contract, origin).await?);
    checks.push(totals::day_tallies(client, contract, origin).await?);

    // The badges of the counter the run counted on, and of `site`, whose number is in
    // the thousands on any real stage, so that its grouping shows. In read-only mode
    // only `site`'s, whose numbers real visits move: a badge's number must lie between
    // two reads.
    let exact = !options.read_only;
    let badged = if exact {
        vec![names.counter.as_str(), SITE]
    } else {
        vec![SITE]
    };
    checks.push(badges::badge_svg(client, contract, origin, &badged, exact).await?);
    checks.push(badges::badge_shields(client, contract, origin, &badged, exact).await?);
    checks.push(badges::badge_label_escaped(client, contract, origin, badged[0]).await?);
    checks.push(badges::badge_invalid_query(client, contract, origin, SITE).await?);
    checks.push(embed::embed_script(client, contract, origin, options.read_only).await?);
    let listed: Vec<&str> = if options.read_only {
        Vec::new()
    } else {
        vec![SITE, names.counter.as_str()]
    };
    checks.push(dashboard::dashboard(client, contract, origin, options.read_only, &listed).await?);
    checks.push(root::root_links(client, contract, origin).await?);
    checks.push(head::head_like_get(client, origin).await?);
    if options.read_only {
        checks.push(skipped(
            errors::FOREIGN_POST_405,
            "read-only mode sends no POST, and a server that breaks this clause might \
             count it",
        ));
    } else {
        checks.push(errors::foreign_post_405(client, contract, foreign).await?);
    }

    match before {
        None => checks.push(skipped(
            errors::ERRORS_NOT_COUNTED,
            "read-only mode: real visits move the count, so a before/after comparison \
             proves nothing",
        )),
        Some(before) => checks.push(errors::errors_not_counted(client, origin, before).await?),
    }

    checks.push(caching::cache_control_no_store(client, contract));
    Ok(checks)
}

/// The findings of one check while it runs.
struct Finding {
    name: &'static str,
    problems: Vec<String>,
    evidence: Vec<Exchange>,
    /// `429 Too Many Requests` answers met on the way.
    throttled: usize,
    /// What it saw, when the contract allows more than one answer.
    note: Option<String>,
}

impl Finding {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            problems: Vec::new(),
            evidence: Vec::new(),
            throttled: 0,
            note: None,
        }
    }

    fn fail(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// Sends a request and keeps the exchange as evidence; no answer is a problem.
    async fn send(&mut self, client: &Client, request: Request) -> Result<Option<Answer>, Error> {
        Ok(self.keep(client.send(request).await?))
    }

    /// Keeps an answer's exchanges as evidence. No answer is a problem, and so is a 429
    /// that was still a 429 after every retry: the clause could not be checked, which
    /// is never a pass.
    fn keep(&mut self, result: Result<Answer, NoAnswer>) -> Option<Answer> {
        let throttled = match &result {
            Ok(answer) => &answer.throttled,
            Err(no_answer) => &no_answer.throttled,
        };
        self.throttled += throttled.len();
        self.evidence.extend_from_slice(throttled);
        match result {
            Ok(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                self.throttled += 1;
                self.fail(format!(
                    "{} was throttled: answered 429 Too Many Requests {} times in a row, \
                     sent again after each Retry-After (at most {} s); the clause could not \
                     be checked (is the stage's throttle below the checker's --rate?)",
                    answer.label,
                    answer.throttled.len() + 1,
                    MAX_RETRY_WAIT.as_secs()
                ));
                self.evidence.push(answer.exchange);
                None
            }
            Ok(answer) => {
                self.evidence.push(answer.exchange.clone());
                Some(answer)
            }
            Err(no_answer) => {
                let why = no_answer.exchange.error.clone().unwrap_or_default();
                self.fail(format!("{} got no answer: {why}", no_answer.label));
                self.evidence.push(no_answer.exchange);
                None
            }
        }
    }

    fn finish(self) -> Check {
        let outcome = if self.problems.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed {
                reason: self.problems.join("; "),
            }
        };
        Check {
            name: self.name,
            outcome,
            note: self.note,
            evidence: self.evidence,
            throttled: self.throttled,
        }
    }
}

fn skipped(name: &'static str, reason: &str) -> Check {
    Check {
        name,
        outcome: Outcome::Skipped {
            reason: reason.to_owned(),
        },
        note: None,
        evidence: Vec::new(),
        throttled: 0,
    }
}

fn get(path: impl Into<String>, origin: &str) -> Request {
    Request::new(Method::GET, path).header(ORIGIN, origin)
}

fn post(path: impl Into<String>, origin: &str) -> Request {
    Request::new(Method::POST, path).header(ORIGIN, origin)
}

/// A `GET` of a page the operator may make private (the list, the dashboard): with the
/// password when the checker was given one.
fn get_private(client: &Client, path: impl Into<String>, origin: &str) -> Request {
    client.authorize(get(path, origin))
}

/// `Authorization: Basic ...` for any user name (`e2e`) and `password` (RFC 7617).
fn basic_authorization(password: &str) -> String {
    format!("Basic {}", base64(format!("e2e:{password}").as_bytes()))
}

/// Standard base64 with padding (RFC 4648): all that Basic authentication needs, and
/// too little to take a dependency for.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `counters/{segment}`: `segment` is sent as it is, percent-encoded or not.
fn counter_path(segment: &str) -> String {
    format!("{COUNTERS}/{segment}")
}

/// `counters/{segment}/days`, with `?query` when there is one.
fn days_path(segment: &str, query: &str) -> String {
    if query.is_empty() {
        format!("{COUNTERS}/{segment}/days")
    } else {
        format!("{COUNTERS}/{segment}/days?{query}")
    }
}

/// The page of the list where `name` is, if it is listed: the names after `name`
/// without its last character (and any `.`, `_` or `-` before it, since `after` must be a
/// name too). Between those two names there are only names that start with the shorter
/// one, a handful at most, far from a page of 1,000.
fn list_after(name: &str) -> String {
    let prefix =
        name[..name.len().saturating_sub(1)].trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if prefix.is_empty() {
        COUNTERS.to_owned()
    } else {
        format!("{COUNTERS}?after={prefix}")
    }
}

/// The names one run counts under: the counter, names nobody has counted, and the
/// run's visitors (desktop browsers made up for it, see [`crate::agent`]), so that each
/// is a visitor nobody has been before.
struct RunNames {
    counter: String,
    /// `{counter}-{random hex}`, never counted.
    unseen: String,
    /// `{counter}-{random hex}` too, another counter for `idempotency-key-reused`'s key
    /// first sent to `counter`: never counted either.
    other: String,
    /// `{counter}-{random hex}`: never counted, and a bot's `POST` must not create it.
    uncreated: String,
    /// Two more, counted for the first time by `totals-visitors`.
    fresh: [String; 2],
    /// The two new visitors of `counter-visitors`.
    visitors: [String; 2],
    /// The two new visitors whose reads `counter-get-no-write` compares.
    readers: [String; 2],
    browsers: Browsers,
    /// The number of the next visitor [`visitor`](Self::visitor) makes up.
    next_visitor: AtomicU64,
}

impl RunNames {
    fn new(counter: &str) -> Self {
        let browsers = Browsers::new();
        // Visitor 0 is the client's own User-Agent, the first `visitor()`; the named
        // ones are numbered from 1000 up, far from the ones made up while it runs.
        let numbered = |n: u64| browsers.visitor(1000 + n);
        // A name is at most 64 characters: room for a '-' and 16 hex digits.
        let stem = counter[..counter.len().min(64 - 17)]
            .trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        let name = || format!("{stem}-{}", random_hex());
        Self {
            counter: counter.to_owned(),
            unseen: name(),
            other: name(),
            uncreated: name(),
            fresh: [name(), name()],
            visitors: [numbered(0), numbered(1)],
            readers: [numbered(2), numbered(3)],
            browsers,
            next_visitor: AtomicU64::new(0),
        }
    }

    /// A visitor nobody has been before: a desktop browser made up for the run.
    fn visitor(&self) -> String {
        self.browsers
            .visitor(self.next_visitor.fetch_add(1, Ordering::Relaxed))
    }
}

/// 16 hex digits that differ from run to run and call to call (see [`random_u64`]).
fn random_hex() -> String {
    format!("{:016x}", random_u64())
}

#[cfg(test)]
mod tests {

    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_run_s_names_are_names_and_its_visitors_new() {
        let contract = Contract::load().unwrap();
        for counter in [
            "e2e-check",
            "a",
            &"b".repeat(64),
            &format!("{}.x", "c".repeat(46)),
        ] {
            let names = RunNames::new(counter);
            let made_up = [
                &names.unseen,
                &names.other,
                &names.uncreated,
                &names.fresh[0],
                &names.fresh[1],
            ];
            for name in made_up {
                assert!(contract.is_counter_name(name), "{name}");
            }
            let distinct: BTreeSet<&String> = made_up.into_iter().collect();
            assert_eq!(distinct.len(), 5);
            let mut agents: BTreeSet<String> = names
                .visitors
                .iter()
                .chain(&names.readers)
                .cloned()
                .collect();
            agents.extend((0..100).map(|_| names.visitor()));
            assert_eq!(agents.len(), 104);
        }
    }

    #[test]
    fn the_page_after_a_prefix_is_where_a_name_would_be() {
        assert_eq!(list_after("e2e-check"), "counters?after=e2e-chec");
        assert_eq!(list_after("ab-c"), "counters?after=ab");
        assert_eq!(list_after("a"), "counters");
        let contract = Contract::load().unwrap();
        for name in ["e2e-check", "ab-c", "x.y_z-1"] {
            let listing = list_after(name);
            let after = listing.strip_prefix("counters?after=").unwrap();
            assert!(contract.is_counter_name(after), "{after}");
            assert!(after < name);
        }
    }

    #[test]
    fn basic_authorization_is_rfc_7617_s() {
        // RFC 7617's own example: Aladdin, open sesame.
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v")] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(basic_authorization("pw"), "Basic ZTJlOnB3");
    }

    #[test]
    fn every_check_has_its_row_in_the_docs() {
        let docs = include_str!("../../../docs/e2e.md");
        for name in CHECK_NAMES {
            assert!(
                docs.lines()
                    .any(|line| line.starts_with(&format!("| `{name}` | "))),
                "docs/e2e.md has no row for {name}"
            );
        }
    }

    #[test]
    fn every_check_name_is_listed_once() {
        let names: BTreeSet<&str> = CHECK_NAMES.iter().copied().collect();
        assert_eq!(names.len(), CHECK_NAMES.len());
        assert!(
            names
                .iter()
                .all(|name| name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
    }
}
