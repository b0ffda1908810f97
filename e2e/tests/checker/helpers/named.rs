//! The stub's named counters, as `notes/v2-spec.md` has them: `/counters`,
//! `/counters/{name}`, `/counters/{name}/days`, with views, visitors (one a day per
//! User-Agent: the checker's IP is always the same) and days behind them. `site` is
//! `/count`'s counter: its views are the stub's count.

use std::collections::{BTreeMap, HashSet};
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Numbers {
    pub views: u64,
    pub visitors: u64,
}

#[derive(Debug, Default)]
struct Counter {
    /// Unused for `site` unless `/count` is another counter (`Fault::SiteSeparate`).
    views: u64,
    visitors: u64,
    days: BTreeMap<Date, Numbers>,
}

/// Every counter counted so far, and who visited which one on which day.
#[derive(Debug, Default)]
pub struct Store {
    counters: BTreeMap<String, Counter>,
    seen: HashSet<(String, Date, String)>,
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
        let new = store
            .seen
            .insert((name.to_owned(), today, user_agent(request)));
        let counter = store.counters.entry(name.to_owned()).or_default();
        counter.views += views;
        let day = counter.days.entry(today).or_default();
        day.views += 1;
        if new || self.has(Fault::VisitorEveryPost) {
            counter.visitors += 1;
            day.visitors += 1;
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
                counter.days.entry(today).or_default().visitors += 1;
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

    fn days(&self, request: &Request, name: &str) -> (ResponseTemplate, u16, bool) {
        let today = Date::today();
        let date = |key: &str| -> Result<Option<Date>, ()> {
            match Self::parameter(request, key)? {
                None => Ok(None),
                Some(text) => text.parse().map(Some).map_err(|_| ()),
            }
        };
        let (Ok(from), Ok(to)) = (date("from"), date("to")) else {
            return self.invalid_query();
        };
        let default_dates = if self.has(Fault::DaysDefault31) && from.is_none() && to.is_none() {
            DEFAULT_DATES + 1
        } else {
            DEFAULT_DATES
        };
        let to = to.unwrap_or(today);
        let mut from = from.unwrap_or(to.add_days(1 - default_dates));
        let lenient = self.has(Fault::BadRangeAs200);
        if to > today {
            return self.invalid_query();
        }
        if from > to {
            if !lenient {
                return self.invalid_query();
            }
            from = to;
        }
        if from.days_until(to) + 1 > MAX_DATES && !lenient {
            return self.invalid_query();
        }

        let store = self.store.lock().unwrap();
        let counter = store.counters.get(name);
        let mut days: Vec<Value> = (0..=from.days_until(to))
            .map(|offset| from.add_days(offset))
            .filter_map(|date| {
                let numbers = counter
                    .and_then(|counter| counter.days.get(&date).copied())
                    .unwrap_or_default();
                if numbers == Numbers::default() && self.has(Fault::DaysMissingZeros) {
                    return None;
                }
                Some(json!({
                    "date": date.to_string(),
                    "views": numbers.views,
                    "visitors": numbers.visitors,
                }))
            })
            .collect();
        if self.has(Fault::DaysNewestFirst) {
            days.reverse();
        }
        (Self::json(&json!({"name": name, "days": days})), 200, false)
    }

    fn list_route(&self, request: &Request) -> (ResponseTemplate, u16, bool) {
        match request.method {
            Method::GET => self.list(request),
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
