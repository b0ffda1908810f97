//! The stub's named counters, as the contract has them: `/counters`,
//! `/counters/{name}`, `/counters/{name}/days`, with views, visitors (one a day per
//! User-Agent: the checker's IP is always the same) and days behind them. `site` is
//! `/count`'s counter: its views are the stub's count. Only people count: a bot's
//! `POST` (a User-Agent missing, empty or a tool's) and one past [`VIEWS_PER_VISITOR`]
//! are answered the numbers as they are, marked `Visit-Filtered`, and tallied. The
//! whole site (`/totals`, `/totals/days`) has its own visitors, one a day per
//! User-Agent across every counter.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;

use e2e::date::Date;
use serde_json::{Value, json};
use wiremock::http::Method;
use wiremock::{Request, ResponseTemplate};

use super::idempotency::Target;
use super::web::Badge;
use super::{Fault, Stub};

/// Counters a page of the list holds, as the contract has it.
pub const PAGE_SIZE: usize = 1000;
/// The counter behind `/count`.
pub const SITE: &str = "site";
const DEFAULT_DATES: i64 = 30;
const MAX_DATES: i64 = 366;
/// The service's default limit of views of one counter by one visitor in a UTC day.
pub const VIEWS_PER_VISITOR: u64 = 50;
/// What a bot's User-Agent holds, as far as the stub knows bots.
const BOT_WORDS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "curl",
    "wget",
    "python-requests",
    "headless",
    "reqwest",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Numbers {
    pub views: u64,
    pub visitors: u64,
}

/// A day: its numbers, and the `POST`s it did not count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Day {
    numbers: Numbers,
    bots: u64,
    limited: u64,
}

#[derive(Debug, Default)]
struct Counter {
    /// Unused for `site` unless `/count` is another counter (`Fault::SiteSeparate`).
    views: u64,
    visitors: u64,
    days: BTreeMap<Date, Day>,
}

/// Every counter counted so far, who visited which one on which day and how often,
/// and the whole site's days and visitors.
#[derive(Debug, Default)]
pub struct Store {
    counters: BTreeMap<String, Counter>,
    seen: HashSet<(String, Date, String)>,
    /// Views counted per (counter, date, User-Agent).
    views: HashMap<(String, Date, String), u64>,
    /// The whole site's visitors: (date, User-Agent).
    site_seen: HashSet<(Date, String)>,
    site_days: BTreeMap<Date, Day>,
}

impl Store {
    /// `site` is there from the start: `/count` has counted it.
    pub fn new() -> Self {
        let mut store = Self::default();
        store.counters.insert(SITE.to_owned(), Counter::default());
        store
    }

    /// A counter's views (not `site`'s: those are the stub's count) and visitors.
    pub fn numbers(&self, name: &str) -> Option<(u64, u64)> {
        let counter = self.counters.get(name)?;
        Some((counter.views, counter.visitors))
    }

    pub fn names(&self) -> Vec<String> {
        self.counters.keys().cloned().collect()
    }

    /// One more view of `name` (not `site`), and nothing else.
    pub fn add_view(&mut self, name: &str) {
        self.counters.entry(name.to_owned()).or_default().views += 1;
    }
}

/// A route of the named counters, its name segment decoded.
pub enum Route {
    List,
    /// The decoded name, and whether it is a valid one.
    Counter(String, bool),
    Days(String, bool),
    Badge(String, bool, Badge),
}

/// The spec's rule: 1 to 64 of `a-z 0-9 . _ -`, first and last a letter or digit.
fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let inner = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(b);
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (1..=64).contains(&bytes.len())
        && bytes.iter().all(inner)
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
}

/// `%XX` decoded; `None` when a `%` is not followed by two hex digits or the result is
/// not UTF-8.
fn percent_decoded(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether the request is a bot's, as the contract has it: a User-Agent missing, empty
/// or a tool's.
fn is_bot(request: &Request) -> bool {
    let agent = user_agent(request).to_ascii_lowercase();
    agent.trim().is_empty() || BOT_WORDS.iter().any(|word| agent.contains(word))
}

fn user_agent(request: &Request) -> String {
    request
        .headers
        .get("user-agent")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

impl Stub {
    /// The named counters' route `path` is, if it is one.
    pub(super) fn named_route(&self, path: &str) -> Option<Route> {
        let rest = path.strip_prefix(&self.stage)?.strip_prefix("/counters")?;
        if rest.is_empty() {
            return Some(Route::List);
        }
        let mut segments = rest.strip_prefix('/')?.split('/');
        let segment = segments.next()?;
        let name = percent_decoded(segment).unwrap_or_default();
        let valid = is_name(&name);
        match (segments.next(), segments.next()) {
            (None, _) => Some(Route::Counter(name, valid)),
            (Some("days"), None) => Some(Route::Days(name, valid)),
            (Some("badge.svg"), None) => Some(Route::Badge(name, valid, Badge::Svg)),
            (Some("shields.json"), None) => Some(Route::Badge(name, valid, Badge::Shields)),
            _ => None,
        }
    }

    /// The answer on a named counters' route, its status, and whether it is a preflight.
    pub(super) fn named(&self, request: &Request, route: &Route) -> (ResponseTemplate, u16, bool) {
        let (name, valid) = match route {
            Route::List => return self.list_route(request),
            Route::Counter(name, valid)
            | Route::Days(name, valid)
            | Route::Badge(name, valid, _) => (name.as_str(), *valid),
        };
        // A preflight is answered whatever the name, as the contract has it.
        if !valid
            && request.method == Method::OPTIONS
            && !self.has(Fault::UnknownCounterPreflightRefused)
        {
            return (ResponseTemplate::new(204), 204, true);
        }
        if !valid && !self.has(Fault::UnknownCounterAs200) {
            if self.has(Fault::UnknownCounterNotFound) {
                return (self.problem(&self.examples.not_found), 404, false);
            }
            return (self.problem(&self.examples.unknown_counter), 404, false);
        }
        let badge = match route {
            Route::Badge(_, _, badge) => Some(*badge),
            _ => None,
        };
        // The routes that only read.
        let days = matches!(route, Route::Days(..)) || badge.is_some();
        if let (&Method::GET, Some(badge)) = (&request.method, badge) {
            return self.badge(request, name, badge);
        }
        match request.method {
            Method::OPTIONS => (ResponseTemplate::new(204), 204, true),
            Method::GET if days => self.days(request, name),
            Method::GET => (
                self.counter_body(name, self.read(request, name)),
                200,
                false,
            ),
            Method::POST if !days => {
                if self.refuses(request) {
                    return (self.problem(&self.examples.origin_not_allowed), 403, false);
                }
                if request.body.len() > e2e::contract::BODY_LIMIT {
                    return (self.problem(&self.examples.payload_too_large), 413, false);
                }
                if let Some(why) = self.filtered(request, name) {
                    let numbers = self.tally(name, why);
                    let answer = self.marked(self.counter_body(name, numbers), why);
                    return (answer, 200, false);
                }
                if let Some(answer) = self.keyed(request, Target::Named(name)) {
                    return answer;
                }
                (
                    self.counter_body(name, self.count(request, name)),
                    200,
                    false,
                )
            }
            _ if days => (self.method_not_allowed_read_only(), 405, false),
            _ => (self.method_not_allowed(), 405, false),
        }
    }

    fn method_not_allowed_read_only(&self) -> ResponseTemplate {
        let allow = if self.has(Fault::CountersAllowWrong) {
            self.examples.allow.as_str()
        } else {
            self.examples.allow_read_only.as_str()
        };
        self.problem(&self.examples.method_not_allowed_read_only)
            .insert_header("Allow", allow)
    }

    fn json(body: &Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
    }

    pub(super) fn counter_body(&self, name: &str, numbers: Numbers) -> ResponseTemplate {
        Self::json(&json!({"name": name, "views": numbers.views, "visitors": numbers.visitors}))
    }

    /// `site`'s views are `/count`'s, unless the fault makes them two counters.
    fn is_count(&self, name: &str) -> bool {
        name == SITE && !self.has(Fault::SiteSeparate)
    }

    pub(super) fn numbers(&self, store: &Store, name: &str) -> Numbers {
        let counter = store.counters.get(name);
        Numbers {
            views: if self.is_count(name) {
                self.count.load(Ordering::SeqCst)
            } else {
                counter.map_or(0, |counter| counter.views)
            },
            visitors: counter.map_or(0, |counter| counter.visitors),
        }
    }

    /// A visit of `name` today from the request's visitor: one more view (unless `/count`
    /// already counted it), and one more visitor if this one was not seen today.
    fn visit(&self, store: &mut Store, request: &Request, name: &str, views: u64) {
        let today = Date::today();
        let agent = user_agent(request);
        *store
            .views
            .entry((name.to_owned(), today, agent.clone()))
            .or_default() += 1;
        let new = store.seen.insert((name.to_owned(), today, agent.clone()));
        let counter = store.counters.entry(name.to_owned()).or_default();
        counter.views += views;
        let day = counter.days.entry(today).or_default();
        day.numbers.views += 1;
        if new || self.has(Fault::VisitorEveryPost) {
            counter.visitors += 1;
            day.numbers.visitors += 1;
        }
        let new_to_site = if self.has(Fault::SiteVisitorPerCounter) {
            new
        } else {
            store.site_seen.insert((today, agent))
        };
        let site_day = store.site_days.entry(today).or_default();
        site_day.numbers.views += 1;
        if new_to_site {
            site_day.numbers.visitors += 1;
        }
    }

    /// Why a `POST` on `name` from this request counts nothing, if it does not: `bot`
    /// or `limited`.
    pub(super) fn filtered(&self, request: &Request, name: &str) -> Option<&'static str> {
        if is_bot(request) && !self.has(Fault::BotCounted) {
            return Some("bot");
        }
        let store = self.store.lock().unwrap();
        let seen = store
            .views
            .get(&(name.to_owned(), Date::today(), user_agent(request)))
            .copied()
            .unwrap_or(0);
        (seen >= VIEWS_PER_VISITOR).then_some("limited")
    }

    /// A `POST` on `name` that counts nothing, for `why`: tallied on the counter's day
    /// (when it exists) and the site's. Returns the numbers as they are.
    pub(super) fn tally(&self, name: &str, why: &str) -> Numbers {
        let mut store = self.store.lock().unwrap();
        let today = Date::today();
        let add = |day: &mut Day| {
            if why == "bot" {
                day.bots += 1;
            } else {
                day.limited += 1;
            }
        };
        if !self.has(Fault::BotNotTallied)
            && let Some(counter) = store.counters.get_mut(name)
        {
            add(counter.days.entry(today).or_default());
        }
        if !self.has(Fault::SiteTalliesMissing) {
            add(store.site_days.entry(today).or_default());
        }
        if self.has(Fault::BotCreates) {
            store.counters.entry(name.to_owned()).or_default();
        }
        self.numbers(&store, name)
    }

    /// `Visit-Filtered: why` on `answer`, unless the fault leaves it out.
    pub(super) fn marked(&self, answer: ResponseTemplate, why: &str) -> ResponseTemplate {
        if self.has(Fault::FilteredNotMarked) {
            answer
        } else {
            answer.insert_header("Visit-Filtered", why)
        }
    }

    /// `POST /count` counted a view of `site`: its visitor and day too.
    pub(super) fn site_visit(&self, request: &Request) {
        if self.has(Fault::SiteSeparate) {
            return;
        }
        let mut store = self.store.lock().unwrap();
        self.visit(&mut store, request, SITE, 0);
    }

    pub(super) fn count(&self, request: &Request, name: &str) -> Numbers {
        let mut store = self.store.lock().unwrap();
        if self.is_count(name) {
            self.count.fetch_add(1, Ordering::SeqCst);
            self.visit(&mut store, request, name, 0);
        } else {
            let views = if self.has(Fault::ViewsSkip) { 2 } else { 1 };
            self.visit(&mut store, request, name, views);
        }
        self.numbers(&store, name)
    }

    fn read(&self, request: &Request, name: &str) -> Numbers {
        let mut store = self.store.lock().unwrap();
        if self.has(Fault::GetCreates) {
            store.counters.entry(name.to_owned()).or_default();
        }
        if self.has(Fault::GetCountsVisitor) {
            let today = Date::today();
            if store
                .seen
                .insert((name.to_owned(), today, user_agent(request)))
            {
                let counter = store.counters.entry(name.to_owned()).or_default();
                counter.visitors += 1;
                counter.days.entry(today).or_default().numbers.visitors += 1;
            }
        }
        let numbers = self.numbers(&store, name);
        if self.has(Fault::GetCountsView) {
            if self.is_count(name) {
                self.count.fetch_add(1, Ordering::SeqCst);
            } else {
                store.counters.entry(name.to_owned()).or_default().views += 1;
            }
        }
        numbers
    }

    fn invalid_query(&self) -> (ResponseTemplate, u16, bool) {
        (self.problem(&self.examples.invalid_query), 400, false)
    }

    /// The query's parameter `name`: `Err` when it is given twice.
    fn parameter(request: &Request, name: &str) -> Result<Option<String>, ()> {
        let mut values = request
            .url
            .query_pairs()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned());
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            (Some(_), Some(_)) | (None, Some(_)) => Err(()),
        }
    }

    /// The range of a `days` query, as the contract has it; `Err` for a 400.
    fn range(&self, request: &Request) -> Result<(Date, Date), ()> {
        let today = Date::today();
        let date = |key: &str| -> Result<Option<Date>, ()> {
            match Self::parameter(request, key)? {
                None => Ok(None),
                Some(text) => text.parse().map(Some).map_err(|_| ()),
            }
        };
        let (from, to) = (date("from")?, date("to")?);
        let default_dates = if self.has(Fault::DaysDefault31) && from.is_none() && to.is_none() {
            DEFAULT_DATES + 1
        } else {
            DEFAULT_DATES
        };
        let to = to.unwrap_or(today);
        let mut from = from.unwrap_or(to.add_days(1 - default_dates));
        let lenient = self.has(Fault::BadRangeAs200);
        if to > today {
            return Err(());
        }
        if from > to {
            if !lenient {
                return Err(());
            }
            from = to;
        }
        if from.days_until(to) + 1 > MAX_DATES && !lenient {
            return Err(());
        }
        Ok((from, to))
    }

    /// The entries of a range, each date's from `days`.
    fn entries(&self, (from, to): (Date, Date), days: Option<&BTreeMap<Date, Day>>) -> Vec<Value> {
        let mut entries: Vec<Value> = (0..=from.days_until(to))
            .map(|offset| from.add_days(offset))
            .filter_map(|date| {
                let day = days
                    .and_then(|days| days.get(&date).copied())
                    .unwrap_or_default();
                if day == Day::default() && self.has(Fault::DaysMissingZeros) {
                    return None;
                }
                let mut entry = json!({
                    "date": date.to_string(),
                    "views": day.numbers.views,
                    "visitors": day.numbers.visitors,
                });
                if !self.has(Fault::DaysWithoutTallies) {
                    entry["bots"] = Value::from(day.bots);
                    entry["limited"] = Value::from(day.limited);
                }
                Some(entry)
            })
            .collect();
        if self.has(Fault::DaysNewestFirst) {
            entries.reverse();
        }
        entries
    }

    fn days(&self, request: &Request, name: &str) -> (ResponseTemplate, u16, bool) {
        let Ok(range) = self.range(request) else {
            return self.invalid_query();
        };
        let store = self.store.lock().unwrap();
        let days = self.entries(range, store.counters.get(name).map(|c| &c.days));
        (Self::json(&json!({"name": name, "days": days})), 200, false)
    }

    /// `/totals` and `/totals/days`.
    pub(super) fn totals_route(
        &self,
        request: &Request,
        days: bool,
    ) -> (ResponseTemplate, u16, bool) {
        match request.method {
            Method::OPTIONS => return (ResponseTemplate::new(204), 204, true),
            Method::GET => {}
            _ => return (self.method_not_allowed_read_only(), 405, false),
        }
        let store = self.store.lock().unwrap();
        if days {
            let Ok(range) = self.range(request) else {
                drop(store);
                return self.invalid_query();
            };
            let days = self.entries(range, Some(&store.site_days));
            return (Self::json(&json!({ "days": days })), 200, false);
        }
        let views: u64 = store
            .counters
            .keys()
            .map(|name| self.numbers(&store, name).views)
            .sum();
        let visitors: u64 = store
            .site_days
            .values()
            .map(|day| day.numbers.visitors)
            .sum();
        let mut body = json!({
            "views": views,
            "visitors": visitors,
            "counters": store.counters.len(),
        });
        if self.has(Fault::TotalsExtraMember) {
            body["pages"] = Value::from(store.counters.len());
        }
        (Self::json(&body), 200, false)
    }

    fn list_route(&self, request: &Request) -> (ResponseTemplate, u16, bool) {
        match request.method {
            Method::GET => self
                .unauthorized(request)
                .unwrap_or_else(|| self.list(request)),
            Method::OPTIONS => (ResponseTemplate::new(204), 204, true),
            _ => (self.method_not_allowed_read_only(), 405, false),
        }
    }

    fn list(&self, request: &Request) -> (ResponseTemplate, u16, bool) {
        let after = match Self::parameter(request, "after") {
            Ok(Some(after)) if !is_name(&after) => return self.invalid_query(),
            Ok(after) => after,
            Err(()) => return self.invalid_query(),
        };
        let store = self.store.lock().unwrap();
        let mut names = store
            .counters
            .keys()
            .filter(|name| after.as_deref().is_none_or(|after| name.as_str() > after));
        let mut page: Vec<&String> = names.by_ref().take(self.page_size).collect();
        let more = names.next().is_some();
        let next = if more || (self.has(Fault::ListNextAlways) && !page.is_empty()) {
            page.last().map(|name| (*name).clone())
        } else {
            None
        };
        if self.has(Fault::ListUnsorted) {
            page.reverse();
        }
        let counters: Vec<Value> = page
            .into_iter()
            .map(|name| {
                let numbers = self.numbers(&store, name);
                json!({"name": name, "views": numbers.views, "visitors": numbers.visitors})
            })
            .collect();
        let mut body = json!({ "counters": counters });
        if let Some(next) = next {
            body["next"] = Value::from(next);
        }
        (Self::json(&body), 200, false)
    }
}
