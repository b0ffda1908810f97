//! The reads of the API: a counter, its days, the whole site, and the list.

use super::*;

/// A counter's body, its members in the contract's order.
#[derive(serde::Serialize)]
pub(super) struct CounterBody<'a> {
    name: &'a str,
    views: u64,
    visitors: u64,
}

pub(super) fn counter_json(counter: &CounterName, totals: Totals) -> CounterBody<'_> {
    CounterBody {
        name: counter.as_str(),
        views: totals.views,
        visitors: totals.visitors,
    }
}

#[derive(serde::Serialize)]
pub(super) struct DayBody {
    date: String,
    views: u64,
    visitors: u64,
    bots: u64,
    limited: u64,
}

/// The days of a range, dated from `from`.
pub(super) fn day_bodies(from: Day, days: &[DayTotals]) -> Vec<DayBody> {
    days.iter()
        .enumerate()
        .map(|(i, totals)| DayBody {
            date: from.plus(i as i32).to_string(),
            views: totals.views,
            visitors: totals.visitors,
            bots: totals.bots,
            limited: totals.limited,
        })
        .collect()
}

#[derive(serde::Serialize)]
pub(super) struct SiteDaysBody {
    days: Vec<DayBody>,
}

#[derive(serde::Serialize)]
pub(super) struct DaysBody<'a> {
    name: &'a str,
    days: Vec<DayBody>,
}

#[derive(serde::Serialize)]
pub(super) struct ListBody<'a> {
    counters: Vec<CounterBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

pub(super) async fn days<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
) -> Response {
    if method == Method::OPTIONS {
        return cors::preflight(PREFLIGHT_READING);
    }
    let counter = match state.resolve(name) {
        Ok(counter) => counter,
        Err(problem) => return problem.into_response(),
    };
    if method != Method::GET {
        return Problem::MethodNotAllowed(READING_METHODS).into_response();
    }
    let (from, to) = match range(&Query::parse(&uri), state.clock.today()) {
        Ok(range) => range,
        Err(problem) => return problem.into_response(),
    };
    match within_deadline(state.store.days(&counter, from, to)).await {
        Ok(days) => json(&DaysBody {
            name: counter.as_str(),
            days: day_bodies(from, &days),
        }),
        Err(error) => store_failure(&method, &error),
    }
}

#[derive(serde::Serialize)]
pub(super) struct SiteBody {
    views: u64,
    visitors: u64,
    counters: u64,
}

/// `GET /totals`: the whole site.
pub(super) async fn totals<S: CounterStore>(State(state): Shared<S>, method: Method) -> Response {
    if let Some(answer) = not_a_read(&method) {
        return answer;
    }
    match within_deadline(state.store.site_totals(state.clock.today())).await {
        Ok(site) => json(&SiteBody {
            views: site.views,
            visitors: site.visitors,
            counters: site.counters,
        }),
        Err(error) => store_failure(&method, &error),
    }
}

/// `GET /totals/days`: the whole site's days, with a counter's range rules.
pub(super) async fn totals_days<S: CounterStore>(
    State(state): Shared<S>,
    method: Method,
    uri: Uri,
) -> Response {
    if let Some(answer) = not_a_read(&method) {
        return answer;
    }
    let (from, to) = match range(&Query::parse(&uri), state.clock.today()) {
        Ok(range) => range,
        Err(problem) => return problem.into_response(),
    };
    match within_deadline(state.store.site_days(from, to)).await {
        Ok(days) => json(&SiteDaysBody {
            days: day_bodies(from, &days),
        }),
        Err(error) => store_failure(&method, &error),
    }
}

pub(super) async fn list<S: CounterStore>(
    State(state): Shared<S>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(answer) = not_a_read(&method) {
        return answer;
    }
    if let Err(problem) = state.owner(&headers) {
        return problem.into_response();
    }
    let query = Query::parse(&uri);
    let after = match query.one("after").and_then(|after| {
        after.map_or(Ok(None), |text| {
            CounterName::parse(text).map(Some).map_err(|error| {
                invalid_query(format!("after: {text:?} is not a counter name: {error}"))
            })
        })
    }) {
        Ok(after) => after,
        Err(problem) => return problem.into_response(),
    };
    match within_deadline(state.store.list(after.as_ref(), PAGE_SIZE)).await {
        Ok(page) => {
            let next = page
                .more
                .then(|| page.counters.last().map(|(name, _)| name.to_string()))
                .flatten();
            // Counters counted before `COUNTERS` left them out are not shown.
            let counters = page
                .counters
                .iter()
                .filter(|(name, _)| state.counters.allows(name))
                .map(|(name, totals)| counter_json(name, *totals))
                .collect();
            json(&ListBody { counters, next })
        }
        Err(error) => store_failure(&method, &error),
    }
}
