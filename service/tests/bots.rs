#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The bot classifier (`visitor_counter::bots`) measured against corpora nobody here
//! wrote, read from pinned npm packages that the test command installs into
//! `.tools/node` (`scripts/node-tools`; `scripts/test` exports their folder as
//! `NODE_TOOLS`). A missing corpus fails these tests, it does not skip them.
//!
//! - crawler-user-agents, the same version as the vendored list: every example
//!   User-Agent (`instances`) its entries carry is a bot;
//! - user-agents (Intoli's daily snapshot of real browsers' traffic): at least 99.5% of
//!   its distinct User-Agents are people, and the classifier's index answers as the
//!   plain list would, read as one expression;
//! - docs/bots.md states the versions and the figures these tests compute.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use visitor_counter::bots::is_bot;

const SOURCE: &str = include_str!("../data/bots/SOURCE");
const LIST: &str = include_str!("../data/bots/crawler-user-agents.txt");
const EXTRA: &str = include_str!("../data/bots/extra.txt");
/// The share of real browsers' User-Agents that must be taken for people.
const PEOPLE_AT_LEAST: f64 = 0.995;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An installed corpus package: its folder and version.
fn package(name: &str) -> (PathBuf, String) {
    let modules = std::env::var_os("NODE_TOOLS")
        .map_or_else(|| repo().join(".tools/node/node_modules"), PathBuf::from);
    let dir = modules.join(name);
    let manifest = std::fs::read_to_string(dir.join("package.json")).unwrap_or_else(|error| {
        panic!(
            "the corpus package {name} is not installed in {} ({error}): run scripts/test, \
             which installs scripts/node-tools, or point NODE_TOOLS at its node_modules",
            modules.display()
        )
    });
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    (dir, manifest["version"].as_str().unwrap().to_owned())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn recorded(key: &str) -> &'static str {
    SOURCE
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("service/data/bots/SOURCE records no {key}"))
}

fn docs() -> String {
    std::fs::read_to_string(repo().join("docs/bots.md")).unwrap()
}

#[test]
fn every_example_of_the_vendored_list_is_a_bot() {
    let (dir, version) = package("crawler-user-agents");
    assert_eq!(
        version,
        recorded("version"),
        "the tests read crawler-user-agents {version}, the service vendors {}: \
         scripts/refresh-bot-list pins both",
        recorded("version")
    );
    let entries = read_json(&dir.join("crawler-user-agents.json"));
    let entries = entries.as_array().unwrap();
    // The vendored patterns are this package's, all of them, in its order.
    let vendored: Vec<&str> = LIST.lines().collect();
    let upstream: Vec<&str> = entries
        .iter()
        .map(|entry| entry["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(
        vendored, upstream,
        "service/data/bots differs from the package"
    );

    let mut examples = 0;
    let mut missed = Vec::new();
    for entry in entries {
        for instance in entry["instances"].as_array().unwrap() {
            let user_agent = instance.as_str().unwrap();
            examples += 1;
            if !is_bot(Some(user_agent.as_bytes())) {
                missed.push((entry["pattern"].as_str().unwrap(), user_agent));
            }
        }
    }
    // The corpus is what it claims to be, not an empty folder.
    assert!(examples > 1000, "only {examples} examples");
    let caught = examples - missed.len();
    println!(
        "crawler-user-agents {version}: {caught} of {examples} example User-Agents \
         of {} entries are bots",
        entries.len()
    );
    assert!(missed.is_empty(), "taken for people: {missed:#?}");
    let figure = format!("{caught} of {examples}");
    let docs = docs();
    assert!(
        docs.contains(&figure) && docs.contains(&format!("crawler-user-agents {version}")),
        "docs/bots.md does not state `{figure}` for crawler-user-agents {version}"
    );
}

/// Intoli's `user-agents` corpus, as distinct User-Agents with their summed weight.
fn browsers() -> (String, Vec<(String, f64)>) {
    let (dir, version) = package("user-agents");
    let profiles = read_json(&dir.join("dist/user-agents.json"));
    let mut weights = std::collections::BTreeMap::<String, f64>::new();
    for profile in profiles.as_array().unwrap() {
        let user_agent = profile["userAgent"].as_str().unwrap().to_owned();
        *weights.entry(user_agent).or_default() += profile["weight"].as_f64().unwrap();
    }
    (version, weights.into_iter().collect())
}

#[test]
fn real_browsers_are_people() {
    let (version, browsers) = browsers();
    assert!(browsers.len() > 500, "only {} browsers", browsers.len());
    let caught: Vec<&(String, f64)> = browsers
        .iter()
        .filter(|(user_agent, _)| is_bot(Some(user_agent.as_bytes())))
        .collect();
    let people = browsers.len() - caught.len();
    let share = people as f64 / browsers.len() as f64;
    let total_weight: f64 = browsers.iter().map(|(_, weight)| weight).sum();
    let caught_weight: f64 = caught.iter().map(|(_, weight)| weight).sum();
    println!(
        "user-agents {version}: {people} of {} distinct browser User-Agents are people \
         ({:.2}%; {:.3}% of the traffic they stand for); taken for bots: {caught:#?}",
        browsers.len(),
        share * 100.0,
        (1.0 - caught_weight / total_weight) * 100.0,
    );
    assert!(
        share >= PEOPLE_AT_LEAST,
        "only {:.2}% of real browsers are people; taken for bots: {caught:#?}",
        share * 100.0
    );
    let figure = format!("{people} of {}", browsers.len());
    let docs = docs();
    assert!(
        docs.contains(&figure) && docs.contains(&format!("user-agents {version}")),
        "docs/bots.md does not state `{figure}` for user-agents {version}"
    );
}

#[test]
fn the_index_answers_as_the_plain_list_on_real_browsers() {
    // The list and the extras read as one regex-lite expression: slow (milliseconds a
    // call), but with nothing of the classifier's own index, guards or anchors.
    let mut patterns: Vec<String> = LIST.lines().map(str::to_owned).collect();
    patterns.extend(
        EXTRA
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned),
    );
    let plain = regex_lite::Regex::new(
        &patterns
            .iter()
            .map(|pattern| format!("(?:{pattern})"))
            .collect::<Vec<_>>()
            .join("|"),
    )
    .unwrap();
    let (_, browsers) = browsers();
    // Some of them must be bots to the plain list for the comparison to show anything:
    // the corpus alone has (almost) none, so add the list's own examples of the ones
    // that hide in a browser's User-Agent.
    let (dir, _) = package("crawler-user-agents");
    let entries = read_json(&dir.join("crawler-user-agents.json"));
    let disguised: Vec<String> = entries
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|entry| entry["instances"].as_array().unwrap())
        .map(|instance| instance.as_str().unwrap().to_owned())
        .filter(|instance| instance.starts_with("Mozilla/5.0 ("))
        .collect();
    assert!(disguised.len() > 100, "only {} disguised", disguised.len());
    let differ: BTreeSet<&str> = browsers
        .iter()
        .map(|(user_agent, _)| user_agent.as_str())
        .chain(disguised.iter().map(String::as_str))
        .filter(|user_agent| is_bot(Some(user_agent.as_bytes())) != plain.is_match(user_agent))
        .collect();
    assert!(
        differ.is_empty(),
        "the classifier and the plain list disagree on {differ:#?}"
    );
}
