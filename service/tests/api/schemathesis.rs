//! The contract as a tool nobody here wrote reads it: schemathesis generates requests
//! from `contracts/openapi.json` (examples, boundary values, then random ones) and runs
//! all of its checks on every answer of the real binary, on both stores: statuses and
//! headers that the document does not list, bodies that do not match their schemas,
//! 5xx answers, and more.
//!
//! `scripts/test` installs schemathesis (`scripts/requirements-tools.txt`) and sets
//! `SCHEMATHESIS`; without it these tests fail, saying how to get it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::*;

fn schemathesis() -> PathBuf {
    let path = std::env::var_os("SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| contracts_dir().join("../.tools/venv/bin/st"));
    assert!(
        path.is_file(),
        "schemathesis is not at {} (run scripts/test, which installs it, or set SCHEMATHESIS)",
        path.display()
    );
    path
}

/// Runs every check schemathesis has against `server`, and fails with its report.
fn assert_schemathesis_passes(server: &TestServer, store: &str) {
    let output = Command::new(schemathesis())
        .arg("--config-file")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/schemathesis.toml"))
        .args(["--no-color", "run"])
        .arg(contracts_dir().join("openapi.json"))
        .args(["--url", &server.base_url, "--checks", "all"])
        .args(["--max-examples", "50", "--request-timeout", "10"])
        // It keeps a cache of what it found in the working directory.
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found contract failures on the {store}:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It really tested every operation; a document it could not read would select
    // none and still exit 0.
    let operations = load_json(&contracts_dir().join("openapi.json"))["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().keys())
        .filter(|key| ["get", "head", "post", "options"].contains(&key.as_str()))
        .count();
    assert!(
        report.contains(&format!("Tested: {operations}\n")),
        "{operations} operations: {report}"
    );
    println!("{store}:\n{report}");
}

#[tokio::test]
async fn the_binary_on_the_embedded_store_passes_schemathesis() {
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", ORIGIN)]);
    tokio::task::spawn_blocking(move || assert_schemathesis_passes(&server, "embedded store"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_binary_on_dynamodb_local_passes_schemathesis() {
    let endpoint = dynamodb_endpoint();
    let table = fresh_table(&admin_client().await).await;
    let mut env = dynamodb_env(&endpoint, &table);
    env.push(("ALLOWED_ORIGINS".to_owned(), ORIGIN.to_owned()));
    let server = spawn_server(&env);
    tokio::task::spawn_blocking(move || assert_schemathesis_passes(&server, "DynamoDB store"))
        .await
        .unwrap();
}
