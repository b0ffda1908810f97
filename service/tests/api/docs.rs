//! The docs against what the code and the contract say, so that neither drifts
//! silently: the README's configuration table lists exactly the variables the service
//! reads (what `Config` really asks its lookup for, recorded, not a second hand-kept
//! list); the page snippets survive any page encoding, and the README's embed line is
//! the one docs/pages.md explains; docs/api.md names every route of the contract and
//! exactly its problem types; docs/storage.md and docs/deploy.md name exactly the
//! store's key patterns, and docs/deploy.md counts the alarm metrics monitoring.tf
//! makes; the cost of a visit is stated once, and its table adds up.
//! (Every relative link resolving is `docs_links`.)

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::Value;
use visitor_counter::Config;
use visitor_counter::store::dynamodb::KEY_PATTERNS;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A document of the repository, by its path from the root.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path))
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
}

/// The text of `document` under the heading line `heading` (e.g. "## Configuration"),
/// up to the next heading of the same or a higher level.
fn section(document: &str, heading: &str) -> String {
    let level = heading.split(' ').next().unwrap_or_default();
    let mut lines = document.lines().skip_while(|line| *line != heading);
    assert!(lines.next().is_some(), "no heading {heading:?}");
    lines
        .take_while(|line| {
            let hashes = line.split(' ').next().unwrap_or_default();
            !(line.starts_with('#')
                && hashes.chars().all(|c| c == '#')
                && hashes.len() <= level.len())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bodies of the fenced blocks of `language` in `text`.
fn fenced<'a>(text: &'a str, language: &str) -> Vec<&'a str> {
    text.split(&format!("```{language}\n"))
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect()
}

/// The first column of a Markdown table's rows: the text of its first `code span`.
fn first_column_codes(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(code, _)| code.to_owned())
        .collect()
}

/// Every variable name `Config::from_lookup` asks for, given these variables set.
fn names_read(set: &[(&str, &str)]) -> BTreeSet<String> {
    let values: HashMap<&str, OsString> = set
        .iter()
        .map(|(name, value)| (*name, OsString::from(value)))
        .collect();
    let asked = RefCell::new(BTreeSet::new());
    let result = Config::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        values.get(name).cloned()
    });
    assert!(result.is_ok(), "{set:?}: {result:?}");
    asked.into_inner()
}

#[test]
fn the_readme_lists_exactly_the_variables_the_service_reads() {
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("COUNTER_TABLE", "visitor-count"),
    ];
    let mut asked = BTreeSet::new();
    for set in [
        &[][..],
        &[("COUNTER_TABLE", "visitor-count")],
        &[("COUNTER_DB", "elsewhere.redb"), ("RUST_LOG", "debug")],
        &lambda,
        &[
            lambda[0],
            lambda[1],
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("ALLOWED_ORIGINS", "https://example.com"),
        ],
    ] {
        asked.extend(names_read(set));
    }
    // The recording sees something: the local defaults alone ask for the listen address.
    assert!(names_read(&[]).contains("LISTEN_ADDR"));
    let documented = first_column_codes(&section(&read("README.md"), "## Configuration"));
    assert_eq!(documented, asked);
}

/// A page that does not declare UTF-8 shows any other byte as mojibake, so the
/// snippets people paste into their pages are ASCII (entities and `\u` escapes): the
/// embed line first, then the one that counts by hand. The README shows the embed line
/// docs/pages.md explains, character for character.
#[test]
fn the_page_snippets_are_plain_ascii_and_the_readme_shows_the_same_embed_line() {
    let pages = read("docs/pages.md");
    let snippets = fenced(&pages, "html");
    assert_eq!(snippets.len(), 2, "{pages}");
    assert!(snippets[0].contains("/counter.js\""), "{}", snippets[0]);
    assert!(snippets[1].contains("fetch("), "{}", snippets[1]);
    let readme = section(&read("README.md"), "## On a web page");
    let readme_snippets = fenced(&readme, "html");
    assert_eq!(readme_snippets, [snippets[0]], "{readme}");
    for snippet in snippets {
        let outside: Vec<char> = snippet.chars().filter(|c| !c.is_ascii()).collect();
        assert!(outside.is_empty(), "not ASCII: {outside:?} in\n{snippet}");
    }
}

fn openapi() -> Value {
    serde_json::from_str(&read("contracts/openapi.json")).unwrap()
}

/// Every operation of the contract is in docs/api.md: a `GET` or `POST` as a row
/// starting with "`METHOD /path" (then a space, a `?` or the closing backtick), a
/// `HEAD` by the page's rule that every `GET` route answers it (each has its `GET`), an
/// `OPTIONS` as the preflight row.
#[test]
fn the_api_page_names_every_route_of_the_contract() {
    let api = read("docs/api.md");
    let contract = openapi();
    let paths = contract["paths"].as_object().unwrap();
    let mut seen = 0;
    for (path, operations) in paths {
        let methods: BTreeSet<&str> = operations
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|key| {
                ["get", "head", "post", "options", "put", "delete", "patch"].contains(key)
            })
            .collect();
        for method in &methods {
            seen += 1;
            match *method {
                "get" | "post" => {
                    let row = format!("`{} {path}", method.to_uppercase());
                    let named = api.match_indices(&row).any(|(at, _)| {
                        matches!(api[at + row.len()..].chars().next(), Some('`' | '?' | ' '))
                    });
                    assert!(named, "docs/api.md has no {row}` row");
                }
                "head" => {
                    assert!(methods.contains("get"), "HEAD {path} without GET");
                    assert!(api.contains("Every `GET` route answers `HEAD` too"));
                }
                "options" => assert!(api.contains("| `OPTIONS` on any of these paths")),
                other => panic!("the contract has {other} {path}; docs/api.md does not say"),
            }
        }
    }
    // The walk saw the contract: v3's routes are in it.
    assert!(paths.contains_key("/totals/days") && paths.contains_key("/dashboard/"));
    assert!(seen > 30, "{seen} operations");
}

/// docs/api.md's problem table lists exactly the `type`s of problem.json.
#[test]
fn the_api_page_lists_exactly_the_problem_types() {
    let schema: Value = serde_json::from_str(&read("contracts/schemas/problem.json")).unwrap();
    let types: BTreeSet<String> = schema["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert!(types.contains("urn:visitor-counter:problem:unauthorized"));
    let documented: BTreeSet<String> =
        first_column_codes(&section(&read("docs/api.md"), "## Problems"))
            .into_iter()
            .filter(|code| code.starts_with("urn:"))
            .collect();
    assert_eq!(documented, types);
}

/// An item's `id` as the IAM key pattern that admits it: up to its first `#`, then `*`.
fn pattern_of(id: &str) -> String {
    match id.split_once('#') {
        Some((prefix, _)) => format!("{prefix}#*"),
        None => id.to_owned(),
    }
}

fn key_patterns() -> BTreeSet<String> {
    KEY_PATTERNS.iter().map(|p| (*p).to_owned()).collect()
}

/// docs/storage.md's table of items admits exactly the store's key patterns: an item
/// kind the code writes and the page leaves out (or the reverse) fails.
#[test]
fn the_storage_page_lists_exactly_the_stores_key_patterns() {
    let storage = section(&read("docs/storage.md"), "## DynamoDB");
    let table = storage
        .split("\n\n")
        .find(|block| block.starts_with("| `id` |"))
        .expect("docs/storage.md has the table of items");
    // Past the header row and its rule.
    let rows: Vec<&str> = table.lines().skip(2).collect();
    let ids = first_column_codes(&rows.join("\n"));
    assert!(ids.contains("site#total"), "{ids:?}");
    let patterns: BTreeSet<String> = ids.iter().map(|id| pattern_of(id)).collect();
    assert_eq!(patterns, key_patterns());
}

/// docs/deploy.md names the policy's key patterns: exactly the store's.
#[test]
fn the_deploy_page_names_exactly_the_policys_key_patterns() {
    let policy = section(&read("docs/deploy.md"), "### The function's policy");
    let listed = policy
        .split("key patterns")
        .nth(1)
        .and_then(|rest| rest.split(", on the table").next())
        .expect("docs/deploy.md lists the key patterns, then \", on the table\"");
    let named: BTreeSet<String> = listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert_eq!(named, key_patterns());
}

/// A `$` amount's low and high ends: "$1.00" is (1.00, 1.00), "$6.25-$7.50" (6.25, 7.50).
fn amounts(cell: &str) -> Option<(f64, f64)> {
    let figures: Vec<f64> = cell
        .split('$')
        .skip(1)
        .filter_map(|rest| {
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            number.trim_end_matches('.').parse().ok()
        })
        .collect();
    match figures.as_slice() {
        [one] => Some((*one, *one)),
        [low, high] => Some((*low, *high)),
        _ => None,
    }
}

/// The cost of a visit is priced in one table, in docs/performance.md, and its columns
/// add up to its totals; no other page states a cost per million visits of its own.
#[test]
fn a_visit_is_priced_once_and_the_table_adds_up() {
    let costs = section(&read("docs/performance.md"), "## What a visit costs");
    let rows: Vec<Vec<&str>> = costs
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| ---"))
        .skip(1)
        .map(|line| line.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let (total, items) = rows.split_last().expect("the cost table has rows");
    assert!(total[0].contains("total"), "{total:?}");
    assert!(items.len() >= 5, "{items:?}");
    for column in [2, 3] {
        let (mut low, mut high) = (0.0, 0.0);
        for item in items {
            let (l, h) = amounts(item[column]).unwrap_or_else(|| panic!("{item:?}"));
            low += l;
            high += h;
        }
        let stated = amounts(total[column]).unwrap();
        assert!(
            (low - stated.0).abs() < 0.015 && (high - stated.1).abs() < 0.015,
            "column {column}: the rows add up to ${low:.3}-${high:.3}, the total says {stated:?}"
        );
    }

    let mut pages = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(repo_root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") && name != "performance.md" {
            pages.push(format!("docs/{name}"));
        }
    }
    assert!(pages.contains(&"docs/deploy.md".to_owned()), "{pages:?}");
    for page in pages {
        for paragraph in read(&page).split("\n\n") {
            let priced = paragraph.to_lowercase().contains("million visits")
                && paragraph
                    .split('$')
                    .skip(1)
                    .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            assert!(
                !priced,
                "{page} prices a visit; link docs/performance.md#what-a-visit-costs instead:\n{paragraph}"
            );
        }
    }
}

/// How many attributes named `metric_name` a block holds, however deeply nested: the
/// metrics an alarm watches (CloudWatch bills an alarm per metric).
fn metrics_in(body: &hcl::Body) -> usize {
    body.attributes()
        .filter(|attribute| attribute.key() == "metric_name")
        .count()
        + body
            .blocks()
            .map(|block| metrics_in(block.body()))
            .sum::<usize>()
}

/// docs/deploy.md's alarm figures are monitoring.tf's: the metrics of the basic alarms
/// and of the basic and detailed ones together (each $0.10 a month), and the throttling
/// alarm watches every operation the function calls.
#[test]
fn the_deploy_page_counts_the_alarms_monitoring_tf_makes() {
    let monitoring = hcl::parse(&read("terraform/monitoring.tf")).unwrap();
    let (mut basic, mut detailed, mut throttled) = (0, 0, 0);
    for block in monitoring.blocks() {
        let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
        if block.identifier() != "resource"
            || labels.first() != Some(&"aws_cloudwatch_metric_alarm")
        {
            continue;
        }
        let count = block
            .body()
            .attributes()
            .find(|attribute| attribute.key() == "count")
            .map(|attribute| attribute.expr().to_string())
            .unwrap_or_default();
        let metrics = metrics_in(block.body());
        match count {
            count if count.contains("local.basic_alarms") => basic += metrics,
            count if count.contains("local.detailed_alarms") => detailed += metrics,
            count => panic!("{labels:?}: an alarm of neither level ({count:?})"),
        }
        if labels.get(1) == Some(&"table_throttles") {
            throttled = metrics;
        }
    }
    assert!(
        basic > 0 && detailed > 0,
        "{basic} basic, {detailed} detailed"
    );
    let all = basic + detailed;
    let dollars = |metrics: usize| format!("${}.{:02}", metrics / 10, metrics % 10 * 10);
    let deploy = read("docs/deploy.md");
    for stated in [
        format!("({basic} alarm metrics, {} a month;", dollars(basic)),
        format!("per operation ({all} metrics, {} a month)", dollars(all)),
        format!("{basic} alarm metrics per environment"),
        format!(
            "= **{}**; `\"detailed\"`: {all} = {};",
            dollars(basic),
            dollars(all)
        ),
    ] {
        assert!(
            deploy.contains(&stated),
            "docs/deploy.md does not say {stated:?}"
        );
    }
    assert_eq!(
        throttled,
        visitor_counter::store::dynamodb::OPERATIONS.len()
    );
    let words = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    ];
    let stated = format!(
        "DynamoDB throttled requests of the {} operations",
        words[throttled]
    );
    assert!(
        deploy.contains(&stated),
        "docs/deploy.md does not say {stated:?}"
    );
}
