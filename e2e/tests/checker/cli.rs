//! The `e2e` binary: report, exit status, one-line errors.

use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::helpers::{Fault, ORIGIN, PASSWORD, broken_stub, good_stub, private_stub};

/// Runs the real binary off the async runtime, so the stub keeps answering.
pub(crate) async fn e2e(args: &[&str]) -> Output {
    e2e_with_password(args, None).await
}

/// [`e2e`], with the dashboard's password in the environment or not.
async fn e2e_with_password(args: &[&str], password: Option<&str>) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let password = password.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_e2e"));
        command
            .args(&args)
            .env_remove("RUST_BACKTRACE")
            .env_remove(e2e::cli::PASSWORD_VARIABLE);
        if let Some(password) = password {
            command.env(e2e::cli::PASSWORD_VARIABLE, password);
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_dashboard_s_password_is_read_from_the_environment() {
    let stub = private_stub(None).await;
    let args = [
        "--base-url",
        &stub.base_url,
        "--origin",
        ORIGIN,
        "--read-only",
    ];

    let with = e2e_with_password(&args, Some(PASSWORD)).await;
    let without = e2e_with_password(&args, None).await;
    let wrong = e2e_with_password(&args, Some("wrong")).await;

    let with = stdout(&with);
    assert!(
        with.contains("\nPASS dashboard (served: 200 text/html)\n"),
        "{with}"
    );
    assert!(!with.contains(PASSWORD), "{with}");
    let without = stdout(&without);
    assert!(
        without.contains("\nPASS dashboard (private: 401 unauthorized (DASHBOARD_PASSWORD;"),
        "{without}"
    );
    assert_eq!(wrong.status.code(), Some(1));
    let wrong = stdout(&wrong);
    assert!(
        wrong.contains(
            "answered 401 with the password the checker was given (E2E_DASHBOARD_PASSWORD)"
        ),
        "{wrong}"
    );
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Exit 2 and exactly one `error: ...` line, no panic.
pub(crate) fn assert_one_line_error(output: &Output) -> String {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(stdout(output).is_empty());
    stderr
}

#[tokio::test]
async fn all_passed_exits_0_with_the_closing_line() {
    let stub = good_stub().await;

    let output = e2e(&["--base-url", &stub.base_url, "--origin", ORIGIN]).await;

    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", stderr(&output));
    assert_eq!(stdout.lines().last(), Some("47 passed, 0 failed"));
    assert!(stdout.contains("\nPASS get-count\n"), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|line| line.starts_with("PASS "))
            .count(),
        47
    );
}

#[tokio::test]
async fn verify_is_also_a_subcommand() {
    let stub = good_stub().await;

    let output = e2e(&[
        "verify",
        "--base-url",
        &stub.base_url,
        "--origin",
        ORIGIN,
        "--read-only",
        "--burst",
        "2",
        "--timeout-secs",
        "3",
    ])
    .await;

    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", stderr(&output));
    assert_eq!(stdout.lines().last(), Some("29 passed, 0 failed"));
    assert_eq!(
        stdout
            .lines()
            .filter(|line| line.starts_with("SKIP "))
            .count(),
        18
    );
    assert_eq!(stub.received(wiremock::http::Method::POST).await, 0);
}

#[tokio::test]
async fn a_failed_check_exits_1_naming_it_with_evidence() {
    let stub = broken_stub(Fault::HtmlNotFound).await;

    let output = e2e(&[
        "--base-url",
        &stub.base_url,
        "--origin",
        ORIGIN,
        "--read-only",
    ])
    .await;

    let stdout = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("\nFAIL not-found: "), "{stdout}");
    assert!(
        stdout.contains("    < content-type: text/html\n"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("28 passed, 1 failed"));
}

#[tokio::test]
async fn json_report_parses() {
    let stub = broken_stub(Fault::NoVary).await;

    let output = e2e(&["--base-url", &stub.base_url, "--origin", ORIGIN, "--json"]).await;

    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["passed"], 44);
    assert_eq!(report["failed"], 3);
    assert_eq!(report["skipped"], 0);
    assert_eq!(report["read_only"], false);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 47);
    let dashboard = checks.iter().find(|check| check["name"] == "dashboard");
    assert_eq!(
        dashboard.map(|check| &check["note"]),
        Some(&Value::from("served: 200 text/html"))
    );
    let failed: Vec<&str> = checks
        .iter()
        .filter(|check| check["status"] == "failed")
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "cors-allowed-origin",
            "cors-allowed-origin-errors",
            "counters-cors"
        ]
    );
    let first = &checks[0];
    assert_eq!(first["name"], "get-count");
    assert_eq!(first["status"], "passed");
    assert_eq!(first["evidence"][0]["method"], "GET");
    assert_eq!(first["evidence"][0]["status"], 200);
    let cors = checks
        .iter()
        .find(|check| check["name"] == "cors-allowed-origin")
        .unwrap();
    assert!(cors["reason"].as_str().unwrap().contains("Vary is (none)"));
}

#[tokio::test]
async fn an_unreachable_url_exits_2_with_one_line() {
    let output = e2e(&["--base-url", "http://127.0.0.1:1", "--origin", ORIGIN]).await;

    let error = assert_one_line_error(&output);
    assert!(
        error.contains("cannot reach http://127.0.0.1:1/count"),
        "{error}"
    );
}

#[tokio::test]
async fn a_malformed_url_exits_2_with_one_line() {
    for url in ["not a url", "ftp://example.com/prod", "http://"] {
        let output = e2e(&["--base-url", url, "--origin", ORIGIN]).await;

        let error = assert_one_line_error(&output);
        assert!(error.contains("invalid base URL"), "{error}");
    }
}

#[tokio::test]
async fn a_malformed_origin_exits_2_with_one_line() {
    let output = e2e(&[
        "--base-url",
        "http://127.0.0.1:1",
        "--origin",
        "https://example.com/page",
    ])
    .await;

    let error = assert_one_line_error(&output);
    assert!(error.contains("invalid origin"), "{error}");
}

#[tokio::test]
async fn the_counter_is_chosen_with_counter_and_must_be_a_name() {
    let stub = good_stub().await;

    let output = e2e(&[
        "--base-url",
        &stub.base_url,
        "--origin",
        ORIGIN,
        "--counter",
        "home",
    ])
    .await;

    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(stub.named("home"), Some((12, 3)));

    for name in ["Home", "-home", &"a".repeat(65)] {
        // `=`, or clap would take `-home` for a flag.
        let counter = format!("--counter={name}");
        let output = e2e(&["--base-url", &stub.base_url, "--origin", ORIGIN, &counter]).await;

        let error = assert_one_line_error(&output);
        assert!(error.contains("is not a counter name"), "{name:?}: {error}");
    }
}

#[tokio::test]
async fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["--base-url", "http://127.0.0.1:1"][..],
        &[
            "--base-url",
            "http://127.0.0.1:1",
            "--origin",
            ORIGIN,
            "--burst",
            "many",
        ][..],
        &["--no-such-flag"][..],
        &["no-such-command"][..],
    ] {
        let output = e2e(args).await;
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn help_exits_0() {
    let output = e2e(&["--help"]).await;

    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    assert!(help.contains("--read-only"), "{help}");
    assert!(help.contains("--counter <NAME>"), "{help}");
    assert!(help.contains("verify"), "{help}");
}
