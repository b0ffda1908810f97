//! What browsers load without CORS: `/`, the badges, the embed script and the
//! dashboard.

use super::*;

/// `/`: where things are, for whoever opens the API's address.
pub(super) async fn index(method: Method) -> Response {
    if method != Method::GET {
        return Problem::MethodNotAllowed(PAGE_METHODS).into_response();
    }
    json(&serde_json::json!({
        "service": "visitor-counter",
        "links": {
            "dashboard": crate::dashboard::PATH,
            "script": embed::PATH,
            "totals": TOTALS_PATH,
            "counters": "/counters",
            "contract": CONTRACT_URL,
        }
    }))
}

/// Where the API's contract and documentation are published.
pub const CONTRACT_URL: &str =
    "https://github.com/visitor-counter/visitor-counter/blob/main/contracts/openapi.json";

/// `/dashboard/` is `/dashboard`, as the contract's `Location` pattern has it: the
/// stage `$default` serves the API at its root, so no stage prefix is lost.
pub(super) async fn dashboard_slash(method: Method) -> Response {
    if method != Method::GET {
        return Problem::MethodNotAllowed(PAGE_METHODS).into_response();
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/dashboard"));
    response
}

/// `badge.svg` and `shields.json`: the badge asked for and the counter's totals, or
/// the response to give instead.
pub(super) async fn badge_of<S: CounterStore>(
    state: &AppState<S>,
    name: Result<Path<String>, PathRejection>,
    method: &Method,
    uri: &Uri,
) -> Result<(Badge, Totals), Response> {
    if *method == Method::OPTIONS {
        return Err(cors::preflight(PREFLIGHT_READING));
    }
    let counter = state.resolve(name).map_err(IntoResponse::into_response)?;
    if *method != Method::GET {
        return Err(Problem::MethodNotAllowed(READING_METHODS).into_response());
    }
    let query = Query::parse(uri);
    let badge =
        Badge::parse(|parameter| Ok::<_, Problem>(query.one(parameter)?.map(str::to_owned)))
            .map_err(IntoResponse::into_response)?;
    let totals = within_deadline(state.store.get(&counter))
        .await
        .map_err(|error| store_failure(method, &error))?;
    Ok((badge, totals))
}

pub(super) async fn badge_svg<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
) -> Response {
    match badge_of(&state, name, &method, &uri).await {
        Ok((badge, totals)) => with_headers(
            badge.svg(totals),
            &[
                (header::CONTENT_TYPE, "image/svg+xml"),
                // Image proxies (GitHub's among them) revalidate instead of keeping a number.
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, crate::badge::SVG_POLICY),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (CROSS_ORIGIN_RESOURCE_POLICY, "cross-origin"),
            ],
        ),
        Err(response) => response,
    }
}

pub(super) async fn shields_json<S: CounterStore>(
    State(state): Shared<S>,
    name: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
) -> Response {
    match badge_of(&state, name, &method, &uri).await {
        Ok((badge, totals)) => json(&badge.shields(totals)),
        Err(response) => response,
    }
}

pub(super) async fn embed_script(method: Method) -> Response {
    match method {
        Method::GET => embed::script(),
        _ => Problem::MethodNotAllowed(PAGE_METHODS).into_response(),
    }
}

pub(super) async fn dashboard<S: CounterStore>(
    State(state): Shared<S>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    use crate::dashboard::Format;
    if !state.dashboard {
        return Problem::NotFound.into_response();
    }
    if method != Method::GET {
        return Problem::MethodNotAllowed(PAGE_METHODS).into_response();
    }
    if let Err(problem) = state.owner(&headers) {
        return problem.into_response();
    }
    let today = state.clock.today();
    let (period, format) = match dashboard_query(&Query::parse(&uri), today) {
        Ok(asked) => asked,
        Err(problem) => return problem.into_response(),
    };
    let render = async {
        Dashboard::read(state.store.as_ref(), &state.counters, today, period)
            .await
            .map(|dashboard| match format {
                Format::Html => dashboard.html(),
                Format::Csv => dashboard.csv(),
            })
    };
    match within_deadline(state.pages.get_or_render(period, format, render)).await {
        Ok(page) => match format {
            Format::Html => with_headers(
                page,
                &[
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, crate::dashboard::POLICY),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::REFERRER_POLICY, "no-referrer"),
                ],
            ),
            Format::Csv => {
                let mut response = with_headers(
                    page,
                    &[
                        (
                            header::CONTENT_TYPE,
                            "text/csv; charset=utf-8; header=present",
                        ),
                        // The page's policy too, as the contract has it for every
                        // dashboard answer: a CSV opened in a tab runs nothing.
                        (header::CONTENT_SECURITY_POLICY, crate::dashboard::POLICY),
                        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    ],
                );
                // Dates and fixed words only: always a valid header value.
                if let Ok(value) = HeaderValue::from_str(&format!(
                    "attachment; filename=\"visitor-counter-{}-{}.csv\"",
                    period.from, period.to
                )) {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_DISPOSITION, value);
                }
                response
            }
        },
        Err(error) => store_failure(&method, &error),
    }
}

/// The dashboard's period and format: `period` (1 to 366 days ending today), or `from`
/// and `to` by the range rules of `days`, 30 days when neither; `format` is `html` (the
/// default) or `csv`.
pub(super) fn dashboard_query(
    query: &Query,
    today: Day,
) -> Result<(crate::dashboard::Period, crate::dashboard::Format), Problem> {
    use crate::dashboard::{DEFAULT_PERIOD, Format, MAX_PERIOD, Period};
    let format = match query.one("format")? {
        None | Some("html") => Format::Html,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(invalid_query(format!(
                "format: {other:?} is not html or csv"
            )));
        }
    };
    let period = match query.one("period")? {
        Some(text) => {
            if query.one("from")?.is_some() || query.one("to")?.is_some() {
                return Err(invalid_query(
                    "period: give either period or from and to, not both".to_owned(),
                ));
            }
            let days = text
                .parse::<i32>()
                .ok()
                .filter(|days| {
                    (1..=MAX_PERIOD).contains(days) && text.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| {
                    invalid_query(format!(
                        "period: {text:?} is not a number of days from 1 to {MAX_PERIOD}"
                    ))
                })?;
            Period::last(days, today)
        }
        None if query.one("from")?.is_none() && query.one("to")?.is_none() => {
            Period::last(DEFAULT_PERIOD, today)
        }
        None => {
            let (from, to) = range(query, today)?;
            Period { from, to }
        }
    };
    Ok((period, format))
}
