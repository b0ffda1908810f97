//! The service's top-level modules import each other without a cycle: what a module
//! uses sits below it (names and days, then the store, then HTTP, then the runners and
//! start-up; see `service/src/lib.rs`). Read from the source, outside its unit tests: a
//! `crate::` or `super::` path names the module it reaches, and a folder's files are
//! its module (so a cycle through a parent and its children is one). Comments count:
//! a lower layer's docs link only to what is below it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `service/src`, as `a::b`, with its source before its unit tests.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(stem);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut name = prefix.to_vec();
                if !["mod", "lib", "main"].contains(&stem.as_str()) {
                    name.push(stem);
                }
                let source = std::fs::read_to_string(&path).unwrap();
                let source = match source.find("#[cfg(test)]\nmod tests") {
                    Some(end) => source[..end].to_owned(),
                    None => source,
                };
                out.insert(name.join("::"), source);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The longest known module that `path` (`a::b::Item`) starts with.
fn module_of<'a>(path: &str, known: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find_map(|prefix| known.get_key_value(&prefix).map(|(key, _)| key.as_str()))
}

/// The modules `module`'s source reaches through `crate::` and `super::` paths (and
/// their `{...}` groups).
fn imports<'a>(module: &str, known: &'a BTreeMap<String, String>) -> BTreeSet<&'a str> {
    let source = &known[module];
    let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
    let mut paths = Vec::new();
    for (root, base) in [
        ("crate::", String::new()),
        ("super::", format!("{parent}::")),
    ] {
        for (at, _) in source.match_indices(root) {
            let rest = &source[at + root.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                paths.extend(
                    group
                        .split(',')
                        .map(|item| format!("{base}{}", item.trim())),
                );
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                paths.push(format!("{base}{}", rest[..end].trim_end_matches(':')));
            }
        }
    }
    paths
        .iter()
        .filter_map(|path| module_of(path, known))
        // A module using itself or one of its parents (whose `mod` declares it).
        .filter(|target| {
            *target != module && !module.starts_with(&format!("{target}::")) && !target.is_empty()
        })
        .collect()
}

/// A cycle of imports, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<&str, BTreeSet<&str>>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|n| n.to_string()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// The top-level module of `a::b::c`: `a`.
fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn the_service_imports_without_a_cycle() {
    let known = modules();
    assert!(known.contains_key("store::dynamodb::schema"), "{known:?}");
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    // The crate root (lib.rs, and main.rs, which reaches the library by its name)
    // declares every module: it is no layer.
    for module in known.keys().filter(|module| !module.is_empty()) {
        let edges = graph.entry(top(module)).or_default();
        for target in imports(module, &known) {
            if top(target) != top(module) {
                edges.insert(top(target));
            }
        }
    }
    // The graph is really read: the router reaches the store and its problems.
    assert!(graph["app"].contains("store"), "{:?}", graph["app"]);
    assert!(graph["app"].contains("problem"), "{:?}", graph["app"]);
    assert_eq!(find_cycle(&graph), None, "an import cycle");
}

#[test]
fn a_cycle_is_found_where_there_is_one() {
    let graph: BTreeMap<&str, BTreeSet<&str>> = [
        ("a", BTreeSet::from(["b"])),
        ("b", BTreeSet::from(["c"])),
        ("c", BTreeSet::from(["a"])),
        ("d", BTreeSet::from(["a"])),
    ]
    .into();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
