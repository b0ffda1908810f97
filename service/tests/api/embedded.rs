//! The embedded store: atomic, durable, and crash-safe.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pretty_assertions::assert_eq;
use visitor_counter::store::{CounterStore, EmbeddedStore};

use crate::helpers::*;

/// Opens the store, waiting for a previous handle's writer thread to let go of the file.
fn reopen(path: &Path) -> EmbeddedStore {
    for _ in 0..100 {
        if let Ok(store) = EmbeddedStore::open(path) {
            return store;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    EmbeddedStore::open(path).unwrap()
}

#[tokio::test]
async fn the_count_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/count.redb");
    {
        let store = EmbeddedStore::open(&path).unwrap();
        assert_eq!(store.get(&site()).await.unwrap().views, 0);
        for expected in 1..=3 {
            assert_eq!(
                store
                    .record(&view(&site()))
                    .await
                    .unwrap()
                    .totals()
                    .unwrap()
                    .views,
                expected
            );
        }
    }
    let store = reopen(&path);
    assert_eq!(store.get(&site()).await.unwrap().views, 3);
    assert_eq!(
        store
            .record(&view(&site()))
            .await
            .unwrap()
            .totals()
            .unwrap()
            .views,
        4
    );
}

#[tokio::test]
async fn concurrent_increments_from_many_tasks_are_distinct_and_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("c.redb")).unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..50 {
                    seen.push(
                        store
                            .record(&view(&site()))
                            .await
                            .unwrap()
                            .totals()
                            .unwrap()
                            .views,
                    );
                }
                seen
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    assert_consecutive(all, 1);
    assert_eq!(store.get(&site()).await.unwrap().views, 400);
}

#[tokio::test]
async fn kill_9_under_post_load_loses_no_answered_increment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    let db = db.to_str().unwrap();
    let server = spawn_server(&[("COUNTER_DB", db)]);
    let client = http_client();
    let stop = Arc::new(AtomicBool::new(false));

    let workers: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            let url = server.url("/count");
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut answered = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match client.post(&url).send().await {
                        Ok(response) if response.status() == 200 => {
                            if let Ok(body) = response.json::<serde_json::Value>().await
                                && let Some(count) = body["count"].as_u64()
                            {
                                answered.push(count);
                            }
                        }
                        // The kill cuts requests off mid-way; those were never answered.
                        _ => break,
                    }
                }
                answered
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);

    let mut answered = Vec::new();
    for worker in workers {
        answered.extend(worker.await.unwrap());
    }
    assert!(
        answered.len() > 50,
        "only {} POSTs answered before the kill",
        answered.len()
    );
    let highest = *answered.iter().max().unwrap();
    let mut distinct = answered.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        answered.len(),
        "two visits got the same count"
    );

    let restarted = spawn_server(&[("COUNTER_DB", db)]);
    let count = restarted.get_count().await;
    assert!(
        count >= highest,
        "after kill -9 the count is {count}, but {highest} had been answered"
    );
}
