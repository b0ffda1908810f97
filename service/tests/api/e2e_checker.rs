//! The contract checker (the `e2e` crate) against the real binary, on both stores, with
//! the dashboard served and turned off.

use e2e::Options;

use crate::helpers::*;

/// What the checker's `dashboard` check notes for each of the contract's two answers.
const SERVED: &str = "served: 200 text/html";
const TURNED_OFF: &str = "turned off: 404 not-found (DASHBOARD=off)";

async fn assert_honours_the_contract(server: &TestServer, dashboard: &str) {
    let full = e2e::verify(&server.base_url, &Options::new(ORIGIN))
        .await
        .unwrap();
    assert!(full.all_passed(), "{full}");
    assert_eq!(full.failed, 0);
    // Every check ran and passed, none was throttled or skipped.
    assert_eq!(full.passed, e2e::CHECK_NAMES.len(), "{full}");
    assert_eq!(full.throttled, 0, "{full}");
    // The dashboard check saw the answer this binary was configured to give.
    let seen = full
        .check("dashboard")
        .and_then(|check| check.note.as_deref());
    assert_eq!(seen, Some(dashboard), "{full}");

    let read_only = Options {
        read_only: true,
        ..Options::new(ORIGIN)
    };
    let before = e2e::verify(&server.base_url, &read_only).await.unwrap();
    assert!(before.all_passed(), "{before}");
    // Read-only mode changes nothing.
    let counted = server.get_count().await;
    let again = e2e::verify(&server.base_url, &read_only).await.unwrap();
    assert!(again.all_passed(), "{again}");
    assert_eq!(server.get_count().await, counted);
}

#[tokio::test]
async fn the_binary_on_the_embedded_store_honours_the_contract() {
    // The default limit per visitor, as a deployed stage has it: the checker stays
    // under it.
    let (server, _dir) =
        embedded_server_with(&[("ALLOWED_ORIGINS", ORIGIN), ("VIEWS_PER_VISITOR", "50")]);
    assert_honours_the_contract(&server, SERVED).await;
}

#[tokio::test]
async fn the_binary_on_dynamodb_local_honours_the_contract() {
    let admin = admin_client().await;
    let table = fresh_table(&admin).await;
    let mut env = dynamodb_env(&dynamodb_endpoint(), &table);
    env.push(("ALLOWED_ORIGINS".into(), ORIGIN.into()));
    env.push(("VIEWS_PER_VISITOR".into(), "50".into()));
    let server = spawn_server(&env);
    assert_honours_the_contract(&server, SERVED).await;
}

#[tokio::test]
async fn the_binary_with_the_dashboard_off_honours_the_contract() {
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", ORIGIN), ("DASHBOARD", "off")]);
    assert_honours_the_contract(&server, TURNED_OFF).await;
}
