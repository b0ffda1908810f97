//! The published OpenAPI document: valid, its examples valid, and in step with the app.

use std::collections::BTreeSet;

use axum::body::Body;
use http::{Method, StatusCode};
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::helpers::*;

fn document() -> Value {
    load_json(&contracts_dir().join("openapi.json"))
}

/// Follows a local `#/...` reference.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) if pointer.starts_with('#') => document
            .pointer(&pointer[1..])
            .unwrap_or_else(|| panic!("dangling reference {pointer}")),
        _ => value,
    }
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let meta = load_json(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/openapi-3.1.schema.json"),
    );
    let validator = jsonschema::validator_for(&meta).unwrap();
    assert_valid(&validator, &document());
}

#[test]
fn every_reference_resolves_and_every_example_matches_its_schema() {
    let document = document();
    let mut checked = 0;
    let mut visit = vec![&document];
    // Every local reference points somewhere.
    while let Some(value) = visit.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref")
                    && reference.starts_with('#')
                {
                    resolve(&document, value);
                }
                visit.extend(map.values());
            }
            Value::Array(items) => visit.extend(items),
            _ => {}
        }
    }
    // Every example of every response body validates against the schema file it names.
    let responses = document["paths"]["/count"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|operation| operation.get("responses").and_then(Value::as_object))
        .flat_map(|responses| responses.values())
        .chain(
            document["components"]["responses"]
                .as_object()
                .unwrap()
                .values(),
        );
    for response in responses {
        let response = resolve(&document, response);
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            continue;
        };
        for media in content.values() {
            let file = media["schema"]["$ref"]
                .as_str()
                .expect("schemas are $refs to files");
            let validator = schema(file.trim_start_matches("schemas/"));
            let examples = media["examples"]
                .as_object()
                .expect("every body has examples");
            for (name, example) in examples {
                let value = &example["value"];
                assert!(
                    validator.is_valid(value),
                    "example {name} does not match {file}: {value}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples found");
}

#[test]
fn the_schemas_reject_what_the_contract_forbids() {
    let s = schemas();
    for bad in [
        serde_json::json!({"count": "1"}),
        serde_json::json!({"count": -1}),
        serde_json::json!({"count": 1.5}),
        serde_json::json!({"count": 1, "extra": true}),
        serde_json::json!({}),
    ] {
        assert!(!s.get_count.is_valid(&bad), "{bad}");
        assert!(!s.post_count.is_valid(&bad), "{bad}");
    }
    // A POST that is not counted answers the count as it is: 0 when nothing was counted.
    assert!(s.post_count.is_valid(&serde_json::json!({"count": 0})));
    assert!(
        !s.problem
            .is_valid(&serde_json::json!({"title": "x", "status": 500, "detail": "y"}))
    );
}

fn documented_operations() -> BTreeSet<(String, String)> {
    document()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| !key.starts_with("x-") && *key != "parameters")
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

/// A documented path with its parameters filled in (`{name}` is a valid counter).
fn concrete(path: &str) -> String {
    path.replace("{name}", "home")
}

/// What the app really serves, found by asking it: every (method, path) whose answer
/// is neither 404 nor 405, over every method HTTP names and every documented path
/// plus some that are not.
async fn served_operations() -> BTreeSet<(String, String)> {
    let t = embedded_app();
    let methods = [
        "GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "HEAD", "TRACE", "CONNECT", "PURGE",
    ];
    let mut paths: BTreeSet<String> = documented_operations()
        .into_iter()
        .map(|(_, path)| path)
        .collect();
    paths.extend(
        [
            "/",
            "/counts",
            "/count/",
            "/count/extra",
            "/COUNT",
            "/prod/count",
            "/counters/",
            "/counters/{name}/",
            "/counters/{name}/extra",
            "/counters/{name}/days/extra",
            "/counter/{name}",
        ]
        .map(String::from),
    );
    let mut served = BTreeSet::new();
    for path in &paths {
        for method in methods {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let concrete = concrete(path);
            let uri = if method == Method::CONNECT {
                "127.0.0.1:3000"
            } else {
                &concrete
            };
            let answer = call(
                &t.app,
                request(method.clone(), uri).body(Body::empty()).unwrap(),
            )
            .await;
            if method == Method::CONNECT {
                assert!(
                    answer.status.is_client_error(),
                    "CONNECT: {}",
                    answer.status
                );
                continue;
            }
            if ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&answer.status) {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    served
}

#[tokio::test]
async fn the_app_serves_exactly_the_documented_operations() {
    let documented = documented_operations();
    assert!(!documented.is_empty());
    assert_eq!(served_operations().await, documented);

    // Each documented operation answers with a status its entry lists, and the
    // methods in `Allow` are the documented ones.
    let t = embedded_app();
    for (method, path) in &documented {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = call(
            &t.app,
            request(method.clone(), &concrete(path))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let documented_statuses =
            document()["paths"][path][method.as_str().to_lowercase()]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>();
        assert!(
            documented_statuses.contains(&answer.status.as_u16().to_string()),
            "{method} {path}: {}",
            answer.status
        );
        let not_allowed = call(
            &t.app,
            request(Method::DELETE, &concrete(path))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let allow: BTreeSet<(String, String)> = not_allowed
            .header("allow")
            .unwrap()
            .split(", ")
            .map(|m| (m.to_owned(), path.clone()))
            .collect();
        let documented_here: BTreeSet<_> = documented
            .iter()
            .filter(|(_, p)| p == path)
            .cloned()
            .collect();
        assert_eq!(allow, documented_here, "Allow on {path}");
    }
}

/// The badge's `color`: the pattern takes exactly what the service draws (every name
/// in any case, hex digits with or without `#`), and the parameter's description and
/// docs/pages.md list the same names.
#[test]
fn the_badge_colour_pattern_description_and_docs_agree_with_the_service() {
    use visitor_counter::badge::{Color, NAMED_COLORS};
    let document = document();
    let parameter = &document["components"]["parameters"]["Color"];
    let pattern = jsonschema::validator_for(&parameter["schema"]).unwrap();
    let description = parameter["description"].as_str().unwrap();
    let docs = std::fs::read_to_string(contracts_dir().join("../docs/pages.md")).unwrap();
    let docs = docs.split_whitespace().collect::<Vec<_>>().join(" ");
    for (name, _) in NAMED_COLORS {
        let shouted = name.to_ascii_uppercase();
        let mixed = format!("{}{}", &shouted[..1], &name[1..]);
        for text in [name.to_string(), shouted, mixed] {
            assert!(Color::parse(&text).is_some(), "{text}");
            assert!(pattern.is_valid(&Value::from(text.as_str())), "{text}");
        }
        assert!(
            description.contains(&format!("`{name}`")),
            "{name}: {description}"
        );
        assert!(
            docs.contains(&format!("`{name}`")),
            "{name} is not in docs/pages.md"
        );
    }
    for text in ["4c1", "#4C1", "007ec6", "#007EC6"] {
        assert!(Color::parse(text).is_some(), "{text}");
        assert!(pattern.is_valid(&Value::from(text)), "{text}");
    }
    for text in [
        "", "purple", "bluee", "4c", "#12345", "1234567", "##4c1", "blue ",
    ] {
        assert!(Color::parse(text).is_none(), "{text}");
        assert!(!pattern.is_valid(&Value::from(text)), "{text}");
    }
}
