//! The floor: what a visit costs with nothing but the store, the service's own
//! `DynamoDbStore` sending its own `GetItem` and `UpdateItem` (HTTP client, timeouts
//! and retries included), with no HTTP server and no Lambda runtime in front of it.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use visitor_counter::day::{Clock, SystemClock};
use visitor_counter::names::CounterName;
use visitor_counter::store::{CounterStore, DynamoDbStore, Visit};

use crate::{BoxError, Result};

/// Which of the store's two calls.
#[derive(Debug, Clone, Copy)]
pub enum FloorCall {
    /// [`CounterStore::get`]: `GetItem`, consistent.
    GetItem,
    /// [`CounterStore::record`] of a visit without a visitor: the counter's and the
    /// day's `UpdateItem` `ADD`, in parallel.
    UpdateItem,
}

type Job = (FloorCall, DynamoDbStore, oneshot::Sender<Result<Duration>>);

/// Makes the floor's calls on a thread of its own with a single-threaded runtime, as
/// the function makes them, so the benchmark's own work never delays them.
pub struct FloorWorker {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl FloorWorker {
    pub fn start() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::spawn(move || {
            while let Ok((call, store, reply)) = queue.recv() {
                let _ = reply.send(runtime.block_on(timed(call, &store)));
            }
        });
        Ok(Self { jobs })
    }

    /// How long one call on `store` took.
    pub async fn call(&self, call: FloorCall, store: &DynamoDbStore) -> Result<Duration> {
        let stopped = || BoxError::from("the floor's thread has stopped");
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((call, store.clone(), reply))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn timed(call: FloorCall, store: &DynamoDbStore) -> Result<Duration> {
    let started = Instant::now();
    match call {
        FloorCall::GetItem => {
            store.get(&CounterName::site()).await?;
        }
        FloorCall::UpdateItem => {
            store
                .record(&Visit {
                    counter: CounterName::site(),
                    day: SystemClock.today(),
                    marker: None,
                    site_marker: None,
                    limits: Default::default(),
                })
                .await?;
        }
    };
    Ok(started.elapsed())
}
