//! The app on either store, for the tests that run on both: a [`Harness`] with the
//! app at a fixed day, what it needs to look inside its store, and
//! [`on_both_stores`], which runs a test once per store.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use testkit::proxy::{Calls, Proxy};
use visitor_counter::app::{Settings, app};
use visitor_counter::config::TableName;
use visitor_counter::day::ManualClock;
use visitor_counter::names::AllowedCounters;
use visitor_counter::store::{DynamoDbStore, EmbeddedStore};

use super::*;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Embedded,
    DynamoDb,
}

/// The app on one store, and what the test needs to look inside that store.
pub(crate) struct Harness {
    pub(crate) app: Router,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) dynamodb: Option<(aws_sdk_dynamodb::Client, TableName, Arc<DynamoDbStore>)>,
    /// The proxy a metered harness's store reaches DynamoDB through.
    meter: Option<Proxy>,
    pub(crate) embedded: Option<Arc<EmbeddedStore>>,
    _dir: Option<tempfile::TempDir>,
}

/// 2026-12-02, 10:00 UTC.
pub(crate) const TODAY: &str = "2026-12-02";

pub(crate) async fn harness(kind: Kind) -> Harness {
    harness_with(kind, AllowedCounters::Any, None).await
}

pub(crate) async fn harness_with(
    kind: Kind,
    counters: AllowedCounters,
    table: Option<TableName>,
) -> Harness {
    harness_configured(kind, table, |settings| settings.counters = counters).await
}

/// A harness whose app has the settings `configure` makes (on a fresh table, or on
/// `table`).
pub(crate) async fn harness_configured(
    kind: Kind,
    table: Option<TableName>,
    configure: impl FnOnce(&mut Settings),
) -> Harness {
    build(kind, table, configure, false).await
}

/// A harness on DynamoDB (a fresh table, or `table`), any counter allowed, as
/// [`harness`]'s, whose store reaches it through
/// the proxy that meters its calls ([`Harness::calls`]). Only the cost tests take
/// one: the proxy asks each call for its consumed capacity, so the bytes DynamoDB
/// gets are no longer exactly the service's.
pub(crate) async fn metered_harness(table: Option<TableName>) -> Harness {
    let any = |settings: &mut Settings| settings.counters = AllowedCounters::Any;
    build(Kind::DynamoDb, table, any, true).await
}

async fn build(
    kind: Kind,
    table: Option<TableName>,
    configure: impl FnOnce(&mut Settings),
    metered: bool,
) -> Harness {
    let clock = Arc::new(ManualClock::on(TODAY, 10).unwrap());
    let mut settings = Settings {
        allowed_origins: origins(),
        clock: clock.clone(),
        ..Settings::default()
    };
    configure(&mut settings);
    match kind {
        Kind::Embedded => {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(
                EmbeddedStore::open_with_clock(&dir.path().join("c.redb"), clock.clone()).unwrap(),
            );
            Harness {
                app: app(Arc::clone(&store), settings),
                clock,
                dynamodb: None,
                meter: None,
                embedded: Some(store),
                _dir: Some(dir),
            }
        }
        Kind::DynamoDb => {
            let admin = admin_client().await;
            let table = match table {
                Some(table) => table,
                None => fresh_table(&admin).await,
            };
            let meter = match metered {
                true => Some(Proxy::start(&dynamodb_endpoint()).await.unwrap()),
                false => None,
            };
            let endpoint = meter
                .as_ref()
                .map_or_else(dynamodb_endpoint, Proxy::endpoint);
            let store = Arc::new(dynamodb_store(&endpoint, &table).await);
            Harness {
                app: app(Arc::clone(&store), settings),
                clock,
                dynamodb: Some((admin, table, store)),
                meter,
                embedded: None,
                _dir: None,
            }
        }
    }
}

impl Harness {
    /// What the store asked of DynamoDB since the last call ([`metered_harness`] only).
    pub(crate) fn calls(&self) -> Calls {
        self.meter.as_ref().map(Proxy::take).unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        get_path(&self.app, path).await
    }

    pub(crate) async fn counter(&self, name: &str) -> (u64, u64) {
        self.get(&format!("/counters/{name}")).await.totals(name)
    }

    pub(crate) async fn days(&self, name: &str, query: &str) -> Vec<(String, u64, u64)> {
        let body = self
            .get(&format!("/counters/{name}/days{query}"))
            .await
            .body(&schemas().days);
        assert_eq!(body["name"], name);
        body["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|day| {
                (
                    day["date"].as_str().unwrap().to_owned(),
                    day["views"].as_u64().unwrap(),
                    day["visitors"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    pub(crate) async fn list(&self, query: &str) -> Value {
        self.get(&format!("/counters{query}"))
            .await
            .body(&schemas().counters)
    }

    /// Everything the store holds, to prove a request wrote nothing.
    pub(crate) async fn everything(&self) -> Vec<String> {
        if let Some((admin, table, _)) = &self.dynamodb {
            let mut items: Vec<String> = scan_all(admin, table)
                .await
                .into_iter()
                .map(|item| {
                    let mut pairs: Vec<String> =
                        item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                    pairs.sort();
                    pairs.join(",")
                })
                .collect();
            items.sort();
            return items;
        }
        let store = self.embedded.as_ref().unwrap();
        let page = store.list(None, usize::MAX).await.unwrap();
        let mut all = vec![format!("{page:?}")];
        for (name, _) in &page.counters {
            let today = self.clock.today();
            all.push(format!(
                "{name}: {:?}",
                store.days(name, today.plus(-400), today).await.unwrap()
            ));
        }
        all.push(format!(
            "{:?}",
            std::fs::metadata(store.path()).unwrap().len()
        ));
        all
    }
}

pub(crate) async fn scan_all(
    admin: &aws_sdk_dynamodb::Client,
    table: &TableName,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = admin
            .scan()
            .table_name(table.as_str())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(output.items().iter().cloned());
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return items,
        }
    }
}

/// Runs each named `async fn(Kind)` once per store, as `NAME::embedded` and `NAME::dynamodb`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn embedded() {
                    super::$name(super::Kind::Embedded).await
                }
                #[tokio::test]
                async fn dynamodb() {
                    super::$name(super::Kind::DynamoDb).await
                }
            }
        )*
    };
}

pub(crate) use on_both_stores;
