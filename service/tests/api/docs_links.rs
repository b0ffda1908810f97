//! Every relative link in README.md and docs/*.md resolves: to a file or folder of the
//! repository and, with a `#fragment`, to a heading of that Markdown file (by GitHub's
//! rule for a heading's anchor). Links in fenced code blocks are examples, not links.

use std::collections::BTreeSet;
use std::path::Path;

use crate::docs::{read, repo_root};

/// The documents whose links are checked, by path from the repository's root.
fn documents() -> Vec<String> {
    let mut documents = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    documents.extend(docs);
    documents
}

/// The lines of `text` outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The targets of the inline links and images in `text`: what is between `](` and `)`.
fn targets(text: &str) -> Vec<String> {
    prose(text)
        .iter()
        .flat_map(|line| line.split("](").skip(1))
        .filter_map(|rest| rest.split(')').next())
        .map(|target| {
            target
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// GitHub's anchor of a heading: lower case, letters, digits, `-` and `_` kept, spaces
/// to `-`, the rest dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown document's headings; a repeated one gets `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in prose(text) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = anchor(&line[hashes..]);
        let mut name = base.clone();
        let mut n = 0;
        while found.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        found.insert(name);
    }
    found
}

#[test]
fn the_anchor_rule_is_githubs() {
    assert_eq!(anchor(" The table's items"), "the-tables-items");
    assert_eq!(anchor(" At rest (no traffic)"), "at-rest-no-traffic");
    assert_eq!(anchor(" On merge to `main`"), "on-merge-to-main");
    assert_eq!(
        anchors("# A\n## A\n```sh\n# not a heading\n```\n## b_c 1.2\n"),
        ["a", "a-1", "b_c-12"].map(String::from).into()
    );
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let root = repo_root();
    let mut checked = 0;
    let mut broken = Vec::new();
    for document in documents() {
        let text = read(&document);
        let dir = Path::new(&document).parent().unwrap_or(Path::new(""));
        for target in targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, fragment) = match target.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                Path::new(&document).to_path_buf()
            } else {
                dir.join(path)
            };
            if !root.join(&file).exists() {
                broken.push(format!("{document}: {target}: no {}", file.display()));
                continue;
            }
            if let Some(fragment) = fragment {
                let is_markdown = file.extension().is_some_and(|e| e == "md");
                let known = is_markdown
                    && anchors(&std::fs::read_to_string(root.join(&file)).unwrap())
                        .contains(fragment);
                if !known {
                    broken.push(format!(
                        "{document}: {target}: no heading #{fragment} in {}",
                        file.display()
                    ));
                }
            }
        }
    }
    // The walk saw links: the README alone links every page of docs/.
    assert!(checked > 50, "{checked} links checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
