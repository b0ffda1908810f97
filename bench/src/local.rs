//! Local mode: the release binary as a local server, loaded by the e2e load generator,
//! on DynamoDB Local (with the floor's calls next to it at concurrency 1) and on the
//! embedded store.

use std::path::Path;
use std::process::Stdio;

use aws_sdk_dynamodb::Client;
use e2e::Latency;
use e2e::load::{LoadOptions, LoadReport, Mix};
use serde::{Serialize, Serializer};
use testkit::server::{LocalServer, local_command};

use crate::Result;
use crate::floor::{FloorCall, FloorWorker};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    DynamoDb,
    Embedded,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::DynamoDb => "DynamoDB Local",
            Store::Embedded => "embedded (redb)",
        }
    }
}

impl Serialize for Store {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One run's set-up.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub store: Store,
    pub concurrency: usize,
    pub mix: Mix,
    pub requests: u64,
}

/// What one local-mode run measured.
#[derive(Debug, Serialize)]
pub struct LocalRun {
    pub store: Store,
    /// `GET` or `POST`.
    pub request: &'static str,
    pub concurrency: usize,
    /// How much the count moved as the store holds it (DynamoDB only: read behind the
    /// service's back).
    pub stored_count_moved: Option<u64>,
    /// On DynamoDB at concurrency 1: the same call from the floor's store, half just
    /// before the run and half just after, on the same table.
    pub floor: Option<Latency>,
    pub load: LoadReport,
}

impl LocalRun {
    pub fn is_post(&self) -> bool {
        self.request == "POST"
    }

    /// The run held its integrity: the load generator's check, and on DynamoDB the
    /// stored count moved by exactly the POSTs answered 200.
    pub fn integrity_holds(&self) -> bool {
        self.load.passed
            && self.load.integrity_holds
            && self
                .stored_count_moved
                .is_none_or(|moved| moved == self.load.posts_answered_200)
    }

    /// One line for the console.
    pub fn summary(&self) -> String {
        format!(
            "{} c{} {}: {:.0}/s, p50 {:.3} ms, {}",
            self.store.name(),
            self.concurrency,
            self.request,
            self.load.throughput_per_sec,
            self.load.latency.map_or(f64::NAN, |l| l.p50_ms),
            if self.load.passed { "passed" } else { "FAILED" }
        )
    }
}

pub async fn measure(
    admin: &Client,
    floor: &FloorWorker,
    binary: &Path,
    endpoint: &str,
    setup: Setup,
) -> Result<LocalRun> {
    let Setup {
        store,
        concurrency,
        mix,
        requests,
    } = setup;
    let dir = tempfile::tempdir()?;
    let (env, table) = match store {
        Store::DynamoDb => {
            let table = testkit::dynamodb::fresh_table(admin, "bench").await?;
            (testkit::dynamodb::local_env(endpoint, &table), Some(table))
        }
        Store::Embedded => {
            let db = dir.path().join("count.redb");
            (
                vec![("COUNTER_DB".to_owned(), db.display().to_string())],
                None,
            )
        }
    };
    let server = LocalServer::start(local_command(binary, &env).stderr(Stdio::null()))?;
    // Prime the counter so GET-only runs read an item that exists, as in production.
    let prime = LoadOptions {
        requests: 1,
        concurrency: 1,
        mix: Mix::POST_ONLY,
        ..LoadOptions::default()
    };
    e2e::load::run(&server.base_url, &prime).await?;

    let floor_call = if mix.post() == 0 {
        FloorCall::GetItem
    } else {
        FloorCall::UpdateItem
    };
    let floor_store = match &table {
        Some(table) if concurrency == 1 => Some(testkit::dynamodb::store(endpoint, table).await?),
        _ => None,
    };
    let mut floor_samples = Vec::new();
    if let Some(store) = &floor_store {
        for _ in 0..requests / 2 {
            floor_samples.push(floor.call(floor_call, store).await?);
        }
    }
    let stored_before = match &table {
        Some(table) => Some(testkit::dynamodb::stored_count(admin, table).await?),
        None => None,
    };
    let options = LoadOptions {
        requests,
        concurrency,
        mix,
        ..LoadOptions::default()
    };
    let load = e2e::load::run(&server.base_url, &options).await?;
    let stored_count_moved = match (&table, stored_before) {
        (Some(table), Some(before)) => {
            Some(testkit::dynamodb::stored_count(admin, table).await? - before)
        }
        _ => None,
    };
    if let Some(store) = &floor_store {
        for _ in 0..requests / 2 {
            floor_samples.push(floor.call(floor_call, store).await?);
        }
    }
    drop(server);
    Ok(LocalRun {
        store,
        request: if mix.post() == 0 { "GET" } else { "POST" },
        concurrency,
        stored_count_moved,
        floor: floor_store.and_then(|_| Latency::of(floor_samples)),
        load,
    })
}
