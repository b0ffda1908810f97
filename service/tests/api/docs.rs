//! The README against what the code does: its configuration table lists exactly the
//! variables the service reads (what `Config` really asks its lookup for, recorded, not
//! a second hand-kept list), and its page snippets survive any page encoding.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;

use pretty_assertions::assert_eq;
use visitor_counter::Config;

use crate::helpers::contracts_dir;

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

fn readme() -> String {
    std::fs::read_to_string(contracts_dir().join("../README.md")).unwrap()
}

/// The first column of the README's "## Configuration" table.
fn documented() -> BTreeSet<String> {
    let readme = readme();
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("the README has a Configuration section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[test]
fn the_readme_lists_exactly_the_variables_the_service_reads() {
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("COUNTER_TABLE", "visitor-count"),
    ];
    let mut read = BTreeSet::new();
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
        read.extend(names_read(set));
    }
    // The recording sees something: the local defaults alone ask for the listen address.
    assert!(names_read(&[]).contains("LISTEN_ADDR"));
    assert_eq!(documented(), read);
}

/// A page that does not declare UTF-8 shows any other byte as mojibake, so the
/// snippets people paste into their pages are ASCII (entities and `\u` escapes): the
/// embed line first, then the one that counts by hand.
#[test]
fn the_page_snippets_are_plain_ascii() {
    let readme = readme();
    let section = readme
        .split("\n### On a web page\n")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("the README has an \"On a web page\" section");
    let snippets: Vec<&str> = section
        .split("```html\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    assert_eq!(snippets.len(), 2, "{section}");
    assert!(snippets[0].contains("/counter.js\""), "{}", snippets[0]);
    assert!(snippets[1].contains("fetch("), "{}", snippets[1]);
    for snippet in snippets {
        let outside: Vec<char> = snippet.chars().filter(|c| !c.is_ascii()).collect();
        assert!(outside.is_empty(), "not ASCII: {outside:?} in\n{snippet}");
    }
}
