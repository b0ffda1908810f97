//! `GET /counters/{name}/badge.svg` and `GET /counters/{name}/shields.json`: a badge
//! shows the number `GET /counters/{name}` reads, grouped by thousands; its label is
//! only ever text; a bad parameter is a 400 problem; reading a badge counts nothing.

use reqwest::StatusCode;
use serde_json::Value;

use super::expect::{
    Numbers, expect_cache_control, expect_json, expect_media_type, expect_no_script_policy,
    expect_no_store, expect_problem, expect_status, grouped, read_counter, shown,
};
use super::{Finding, counter_path, get};
use crate::contract::Contract;
use crate::error::Error;
use crate::http::{Answer, Client};
use crate::report::Check;

pub(super) const BADGE_SVG: &str = "badge-svg";
pub(super) const BADGE_SHIELDS: &str = "badge-shields";
pub(super) const BADGE_LABEL_ESCAPED: &str = "badge-label-escaped";
pub(super) const BADGE_INVALID_QUERY: &str = "badge-invalid-query";

/// The label `badge-label-escaped` sends, percent-encoded: `<b>&"x`.
const HOSTILE_LABEL: &str = "%3Cb%3E%26%22x";
/// The same label as sent, decoded.
const HOSTILE_LABEL_TEXT: &str = "<b>&\"x";
/// The same label as XML text.
const HOSTILE_LABEL_ESCAPED: &str = "&lt;b&gt;&amp;&quot;x";

/// The longest label the contract allows, in characters.
const MAX_LABEL: usize = 32;

/// `counters/{name}/badge.svg`, with `?query` when there is one.
fn badge_path(name: &str, query: &str) -> String {
    with_query(format!("{}/badge.svg", counter_path(name)), query)
}

/// `counters/{name}/shields.json`, with `?query` when there is one.
fn shields_path(name: &str, query: &str) -> String {
    with_query(format!("{}/shields.json", counter_path(name)), query)
}

fn with_query(path: String, query: &str) -> String {
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// Which of a counter's numbers a badge shows.
#[derive(Debug, Clone, Copy)]
enum Metric {
    Views,
    Visitors,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Views => "views",
            Metric::Visitors => "visitors",
        }
    }

    fn of(self, numbers: Numbers) -> u64 {
        match self {
            Metric::Views => numbers.views,
            Metric::Visitors => numbers.visitors,
        }
    }
}

/// The counter read just before and just after a check's badges.
struct Bracket {
    before: Option<Numbers>,
    after: Option<Numbers>,
}

impl Bracket {
    /// The badge's number `shown` (as text) is the `metric` of a read between
    /// `before` and `after`, written as the contract writes numbers.
    fn expect(&self, finding: &mut Finding, what: &str, shown_text: &str, metric: Metric) {
        let Some(number) = parse_grouped(shown_text) else {
            finding.fail(format!(
                "{what} shows the number {}, not digits grouped by thousands with commas \
                 (such as 1,234)",
                shown(shown_text)
            ));
            return;
        };
        let (Some(before), Some(after)) = (self.before, self.after) else {
            return;
        };
        let (low, high) = (metric.of(before), metric.of(after));
        if !(low..=high).contains(&number) {
            let read = if low == high {
                grouped(low)
            } else {
                format!("between {} and {}", grouped(low), grouped(high))
            };
            finding.fail(format!(
                "{what} shows {} {shown_text}, but GET /counters/{{name}} read {read}",
                metric.name()
            ));
        }
    }

    /// The two reads agree: in full mode nobody else counts on the checker's counter,
    /// so a difference is the badges counting.
    fn expect_unmoved(&self, finding: &mut Finding, counter: &str) {
        if let (Some(before), Some(after)) = (self.before, self.after)
            && before != after
        {
            finding.fail(format!(
                "GET /counters/{counter} read {before} before the badges and {after} after \
                 them: a read (of a badge, or of the counter) counted"
            ));
        }
    }
}

/// `1,234` as 1234; `None` unless it is digits grouped by threes with commas, with no
/// leading zero.
fn parse_grouped(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|c| *c != ',').collect();
    let number: u64 = digits.parse().ok()?;
    (grouped(number) == text).then_some(number)
}

/// The text of the SVG's first `<title>`, if it has one.
fn svg_title(body: &str) -> Option<&str> {
    let start = body.find("<title>")? + "<title>".len();
    let length = body[start..].find("</title>")?;
    Some(&body[start..start + length])
}

/// A 200 SVG badge: `image/svg+xml`, the badge's `Cache-Control`, a policy without
/// scripts. Its body as text when it is all of that.
fn expect_svg(finding: &mut Finding, answer: &Answer, contract: &Contract) -> Option<String> {
    let status_ok = expect_status(finding, answer, StatusCode::OK);
    let type_ok = expect_media_type(finding, answer, "image/svg+xml");
    expect_cache_control(finding, answer, &contract.badge_cache_control);
    expect_no_script_policy(finding, answer);
    (status_ok && type_ok).then(|| String::from_utf8_lossy(&answer.body).into_owned())
}

/// The badge's title is `LABEL: NUMBER`; the number when it is.
fn titled<'a>(
    finding: &mut Finding,
    answer: &Answer,
    body: &'a str,
    label: &str,
) -> Option<&'a str> {
    let Some(title) = svg_title(body) else {
        finding.fail(format!("{}: the SVG has no <title>", answer.label));
        return None;
    };
    match title
        .strip_prefix(label)
        .and_then(|rest| rest.strip_prefix(": "))
    {
        Some(number) => Some(number),
        None => {
            finding.fail(format!(
                "{}: the SVG's title is {}, expected \"{label}: \" and the number",
                answer.label,
                shown(title)
            ));
            None
        }
    }
}

/// For each of `counters`: `GET /counters/{counter}/badge.svg` and `?metric=visitors`
/// are 200 `image/svg+xml`
/// with `Cache-Control: no-cache` (the contract's), a `Content-Security-Policy` that
/// forbids scripts, and a `<title>` of `views: N` and `visitors: N`, N what
/// `GET /counters/{counter}` reads just before and after, grouped by thousands. In full
/// mode (`exact`) the two reads must agree: reading the badges counted nothing.
pub(super) async fn badge_svg(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counters: &[&str],
    exact: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(BADGE_SVG);
    for counter in counters {
        let before = read_counter(&mut finding, client, contract, origin, counter).await?;
        let mut shown_numbers = Vec::new();
        for (query, metric) in [("", Metric::Views), ("metric=visitors", Metric::Visitors)] {
            let Some(answer) = finding
                .send(client, get(badge_path(counter, query), origin))
                .await?
            else {
                continue;
            };
            let Some(body) = expect_svg(&mut finding, &answer, contract) else {
                continue;
            };
            if let Some(number) = titled(&mut finding, &answer, &body, metric.name()) {
                shown_numbers.push((answer.label.clone(), number.to_owned(), metric));
            }
        }
        let after = read_counter(&mut finding, client, contract, origin, counter).await?;
        let bracket = Bracket { before, after };
        for (label, number, metric) in shown_numbers {
            bracket.expect(&mut finding, &label, &number, metric);
        }
        if exact {
            bracket.expect_unmoved(&mut finding, counter);
        }
    }
    Ok(finding.finish())
}

/// For each of `counters`: `GET /counters/{counter}/shields.json` is 200
/// `application/json`, `no-store`, valid
/// against `schemas/shields.json`: label `views`, colour `blue`, no `style`, and the
/// message the views read just before and after. With
/// `?metric=visitors&label=people&style=flat-square&color=4C1` it is label `people`,
/// colour `4c1`, style `flat-square`, and the visitors. In full mode (`exact`) the two
/// reads agree.
pub(super) async fn badge_shields(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counters: &[&str],
    exact: bool,
) -> Result<Check, Error> {
    let mut finding = Finding::new(BADGE_SHIELDS);
    for counter in counters {
        let before = read_counter(&mut finding, client, contract, origin, counter).await?;
        let asks = [
            ("", Metric::Views, "views", "blue", None),
            (
                "metric=visitors&label=people&style=flat-square&color=4C1",
                Metric::Visitors,
                "people",
                "4c1",
                Some("flat-square"),
            ),
        ];
        let mut messages = Vec::new();
        for (query, metric, label, color, style) in asks {
            let Some(answer) = finding
                .send(client, get(shields_path(counter, query), origin))
                .await?
            else {
                continue;
            };
            expect_no_store(&mut finding, &answer);
            let Some(body) = expect_json(&mut finding, &answer, StatusCode::OK, &contract.shields)
            else {
                continue;
            };
            let member = |name: &str| body.get(name).and_then(Value::as_str);
            for (name, expected) in [
                ("label", Some(label)),
                ("color", Some(color)),
                ("style", style),
            ] {
                let got = member(name);
                if got != expected {
                    finding.fail(format!(
                        "{}: {name} is {}, expected {}",
                        answer.label,
                        got.map_or("absent".to_owned(), |got| format!("{got:?}")),
                        expected.map_or("none".to_owned(), |expected| format!("{expected:?}"))
                    ));
                }
            }
            if let Some(message) = member("message") {
                messages.push((answer.label.clone(), message.to_owned(), metric));
            }
        }
        let after = read_counter(&mut finding, client, contract, origin, counter).await?;
        let bracket = Bracket { before, after };
        for (label, message, metric) in messages {
            bracket.expect(
                &mut finding,
                &format!("{label}'s message"),
                &message,
                metric,
            );
        }
        if exact {
            bracket.expect_unmoved(&mut finding, counter);
        }
    }
    Ok(finding.finish())
}

/// `?label=<b>&"x` (percent-encoded) draws the label as text: the SVG holds
/// `&lt;b&gt;&amp;&quot;x` and its title starts with it, and it never holds the label
/// as sent; `shields.json` gives the label as sent, as a JSON string.
pub(super) async fn badge_label_escaped(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(BADGE_LABEL_ESCAPED);
    let query = format!("label={HOSTILE_LABEL}");
    if let Some(answer) = finding
        .send(client, get(badge_path(counter, &query), origin))
        .await?
        && let Some(body) = expect_svg(&mut finding, &answer, contract)
    {
        if body.contains(HOSTILE_LABEL_TEXT) || body.contains("<b>") {
            finding.fail(format!(
                "{}: the SVG holds the label as sent ({HOSTILE_LABEL_TEXT:?}), markup \
                 and all: it must be escaped as {HOSTILE_LABEL_ESCAPED:?}",
                answer.label
            ));
        }
        if !body.contains(HOSTILE_LABEL_ESCAPED) {
            finding.fail(format!(
                "{}: the SVG does not hold the label escaped, {HOSTILE_LABEL_ESCAPED:?}",
                answer.label
            ));
        }
        titled(&mut finding, &answer, &body, HOSTILE_LABEL_ESCAPED);
    }
    if let Some(answer) = finding
        .send(client, get(shields_path(counter, &query), origin))
        .await?
        && let Some(body) = expect_json(&mut finding, &answer, StatusCode::OK, &contract.shields)
    {
        let label = body.get("label").and_then(Value::as_str).unwrap_or("");
        if label != HOSTILE_LABEL_TEXT {
            finding.fail(format!(
                "{}: the label is {}, expected the label as sent, {HOSTILE_LABEL_TEXT:?}",
                answer.label,
                shown(label)
            ));
        }
    }
    Ok(finding.finish())
}

/// On both badge routes of `counter`, each is a 400 problem of the contract's
/// invalid-query type: `metric=hits`, `style=plastic`, `color=nothex`, a label of 33
/// characters, a label with a line break, and `metric` given twice.
pub(super) async fn badge_invalid_query(
    client: &Client,
    contract: &Contract,
    origin: &str,
    counter: &str,
) -> Result<Check, Error> {
    let mut finding = Finding::new(BADGE_INVALID_QUERY);
    let long = format!("label={}", "x".repeat(MAX_LABEL + 1));
    let queries = [
        "metric=hits",
        "style=plastic",
        "color=nothex",
        long.as_str(),
        "label=two%0Alines",
        "metric=views&metric=visitors",
    ];
    for query in queries {
        for path in [badge_path(counter, query), shields_path(counter, query)] {
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
    }
    Ok(finding.finish())
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn only_numbers_grouped_as_the_contract_has_them_are_read() {
        assert_eq!(parse_grouped("0"), Some(0));
        assert_eq!(parse_grouped("1,234"), Some(1234));
        assert_eq!(parse_grouped("12,345,678"), Some(12_345_678));
        for text in ["1234", "1,23", "01", "", "1.234", "1 234", ",1", "-1"] {
            assert_eq!(parse_grouped(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_title_is_the_first() {
        let svg = "<svg><title>views: 3</title><g><title>other</title></g></svg>";
        assert_eq!(svg_title(svg), Some("views: 3"));
        assert_eq!(svg_title("<svg></svg>"), None);
    }

    #[test]
    fn the_hostile_label_is_the_one_encoded() {
        let decoded = HOSTILE_LABEL
            .replace("%3C", "<")
            .replace("%3E", ">")
            .replace("%26", "&")
            .replace("%22", "\"");
        assert_eq!(decoded, HOSTILE_LABEL_TEXT);
    }
}
