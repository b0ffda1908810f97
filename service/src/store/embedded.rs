//! The embedded store: one redb file, no server.
//!
//! redb (pure Rust, ACID, copy-on-write B-tree, fsync on every commit) over SQLite:
//! no C to compile for the Lambda cross-build, one small dependency, and a typed
//! `u64` value that cannot hold anything but a count.
//!
//! Increments go through one writer thread that commits them in groups: every
//! request waiting when a commit starts is counted in that one durable commit, and
//! each gets its own consecutive value. A value is answered only after its commit
//! has reached the disk, so an answered increment survives `kill -9` and power loss.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use tokio::sync::oneshot;

use super::{BoxError, CounterStore, StoreError};

const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
const COUNTER_KEY: &str = "visitorCount";
/// The most increments one commit takes; bounds the time a batch holds its callers.
const MAX_BATCH: usize = 4096;

type Reply = oneshot::Sender<Result<u64, StoreError>>;

#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: mpsc::Sender<Reply>,
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (or creates) the store file and starts its writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| failed(e.into()))?;
        }
        let db = Arc::new(Database::create(path).map_err(|e| failed(e.into()))?);
        let (writer, requests) = mpsc::channel();
        let writer_db = Arc::clone(&db);
        std::thread::Builder::new()
            .name("counter-writer".into())
            .spawn(move || write_loop(&writer_db, &requests))
            .map_err(|e| failed(e.into()))?;
        Ok(Self {
            db,
            writer,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(|e| failed(e.into()))?;
        let table = match txn.open_table(COUNTERS) {
            Ok(table) => table,
            // Never written: reads as 0.
            Err(TableError::TableDoesNotExist(_)) => return Ok(0),
            Err(e) => return Err(failed(e.into())),
        };
        let count = table.get(COUNTER_KEY).map_err(|e| failed(e.into()))?;
        Ok(count.map_or(0, |count| count.value()))
    }
}

fn failed(error: BoxError) -> StoreError {
    StoreError::Failed(error)
}

impl CounterStore for EmbeddedStore {
    async fn get(&self) -> Result<u64, StoreError> {
        // A read transaction is a snapshot of the last commit; it never waits for the writer.
        self.read()
    }

    async fn increment(&self) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(reply)
            .map_err(|_| failed("the embedded store's writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| failed("the embedded store's writer dropped a request".into()))?
    }
}

/// Runs until every `EmbeddedStore` handle is gone.
fn write_loop(db: &Database, requests: &mpsc::Receiver<Reply>) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(reply) => batch.push(reply),
                Err(_) => break,
            }
        }
        match commit_increments(db, batch.len() as u64) {
            Ok(last) => {
                let first = last - (batch.len() as u64 - 1);
                for (value, reply) in (first..=last).zip(batch) {
                    // A caller that went away still had its visit counted; nothing to undo.
                    let _ = reply.send(Ok(value));
                }
            }
            Err(error) => {
                let message = crate::error::error_chain(&error);
                tracing::error!(error = %message, "embedded store commit failed; nothing was counted");
                for reply in batch {
                    let _ = reply.send(Err(failed(message.clone().into())));
                }
            }
        }
    }
}

/// Adds `n` in one durable transaction and returns the new count.
fn commit_increments(db: &Database, n: u64) -> Result<u64, StoreError> {
    let txn = db.begin_write().map_err(|e| failed(e.into()))?;
    let count = {
        let mut table = txn.open_table(COUNTERS).map_err(|e| failed(e.into()))?;
        let current = table
            .get(COUNTER_KEY)
            .map_err(|e| failed(e.into()))?
            .map_or(0, |count| count.value());
        // A u64 holds more visits than any site will see, but an operator can set a
        // counter near the top; the value stays as it is, and is still a count.
        let count = current.checked_add(n).ok_or_else(|| {
            failed(
                format!("the counter is at its maximum ({current}); adding {n} would overflow")
                    .into(),
            )
        })?;
        table
            .insert(COUNTER_KEY, count)
            .map_err(|e| failed(e.into()))?;
        count
    };
    txn.commit().map_err(|e| failed(e.into()))?;
    Ok(count)
}
