//! The embedded store: one redb file, no server.
//!
//! redb (pure Rust, ACID, copy-on-write B-tree, fsync on every commit) over SQLite:
//! no C to compile for the Lambda cross-build, one small dependency, and typed
//! values that cannot hold anything but counts.
//!
//! Writes go through one writer thread that commits them in groups: every visit
//! waiting when a commit starts is counted in that one durable commit, in order,
//! and each gets its own consecutive views. A value is answered only after its
//! commit has reached the disk, so an answered visit survives `kill -9` and power
//! loss. One writer also makes "is this marker new?" and "count the visitor" one
//! step: concurrent first visits of one visitor count one visitor.
//!
//! Tables (v1's `counters` table keeps its key for `site`, so a v1 file keeps its number):
//! - `counters`: counter key -> views (`site` is `visitorCount`, others their name)
//! - `visitors`: counter key -> visitors
//! - `days`: (name, day) -> (views, visitors)
//! - `filtered`: (name, day) -> (bots, limited): what was not counted on a counter's day
//! - `marks`: (day, marker) -> views: a visitor's views of one counter that day (or,
//!   for a site marker, of the site); deleted two days after their day. `markers`, the
//!   version before's (day, marker) -> (), is still read for the day of an upgrade
//! - `site_days`: day -> (views, visitors, bots, limited): the whole site's days
//! - `site`: `counters`, `views`, `visitors` -> the site's totals, kept in the commit
//!   of every change (so `/totals` and the cap read one row each); made from the other
//!   tables when a file without them is opened
//! - `salts`: day -> 32 bytes; deleted when a newer day's is made, and after their day
//! - `keys`: an `Idempotency-Key`'s SHA-256 -> (counter name, views, visitors, expiry in
//!   epoch seconds): the key's record, written in the commit that counts its visit (see
//!   [`crate::idempotency`]); ignored once expired and deleted within the hour after
//!
//! The list of counters is a range read of `counters` from the page's `after`: a page
//! costs what it holds, whatever else the file holds. Reads that walk a range run off
//! the async workers (`store::blocking`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableError,
    WriteTransaction,
};
use tokio::sync::oneshot;

use super::operator::Records;
use super::{
    BoxError, CounterPage, CounterRecord, CounterStore, DayTotals, Filter, Once, OperatorStore,
    RenameOutcome, SetOutcome, SiteTotals, StoreError, Totals, Visit, blocking, epoch_seconds,
};
use crate::day::{Clock, Day, SystemClock};
use crate::idempotency::{IdempotencyKey, RETENTION};
use crate::names::CounterName;
use crate::visitor::{MARKER_DAYS, Salt};

const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
const VISITORS: TableDefinition<&str, u64> = TableDefinition::new("visitors");
const DAYS: TableDefinition<(&str, i32), (u64, u64)> = TableDefinition::new("days");
const MARKERS: TableDefinition<(i32, &[u8]), ()> = TableDefinition::new("markers");
const MARKS: TableDefinition<(i32, &[u8]), u64> = TableDefinition::new("marks");
const FILTERED: TableDefinition<(&str, i32), (u64, u64)> = TableDefinition::new("filtered");
const SITE_DAYS: TableDefinition<i32, (u64, u64, u64, u64)> = TableDefinition::new("site_days");
const SITE: TableDefinition<&str, u64> = TableDefinition::new("site");
/// The rows of `site`.
const SITE_COUNTERS: &str = "counters";
const SITE_VIEWS: &str = "views";
const SITE_VISITORS: &str = "visitors";
const SALTS: TableDefinition<i32, &[u8]> = TableDefinition::new("salts");
const KEYS: TableDefinition<&[u8], (&str, u64, u64, u64)> = TableDefinition::new("keys");
/// v1's key for its one counter, which is `site`.
const SITE_KEY: &str = "visitorCount";
/// The most writes one commit takes; bounds the time a batch holds its callers.
const MAX_BATCH: usize = 4096;
/// How often an idle writer checks whether a day has passed and expired entries
/// (markers, salts) are due for deletion.
const PURGE_CHECK: Duration = Duration::from_secs(60);
/// How often expired key records are deleted: a record lives its 24 hours and at most
/// this much longer.
const KEY_PURGE: Duration = Duration::from_secs(3600);

/// One write for the writer thread, and where its answer goes.
struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Answer, StoreError>>,
}

enum Work {
    Visit(Visit),
    /// A visit with an `Idempotency-Key`, at `now` (epoch seconds).
    VisitOnce {
        visit: Visit,
        key: IdempotencyKey,
        now: u64,
    },
    Salt(Day),
    /// A POST that is not counted, to tally.
    Filter {
        counter: CounterName,
        day: Day,
        filter: Filter,
    },
    /// The operator's `counters delete`.
    Delete(CounterName),
    /// The operator's `counters rename`.
    Rename {
        from: CounterName,
        to: CounterName,
    },
    /// The operator's `counters set` ([`OperatorStore::set_totals`]).
    Set {
        counter: CounterName,
        expected: Option<Totals>,
        totals: Totals,
    },
    /// The operator's `counters import` ([`OperatorStore::restore`]), in one commit.
    Restore(Vec<CounterRecord>),
}

enum Answer {
    Totals(Totals),
    Once(Once),
    Salt(Salt),
    Set(SetOutcome),
    Deleted(bool),
    Renamed(RenameOutcome),
    Restored,
}

#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    // After `db`: fields drop in order, and the writer's drop is what closes the file.
    writer: Arc<Writer>,
    path: PathBuf,
}

/// The writer thread and its queue. Dropping the last handle ends the thread and waits
/// for it, so once a store is gone its file is closed and unlocked: another process (an
/// operator command after a test's own writes, a server after a command) can open it
/// at once.
#[derive(Debug)]
struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Without a sender the thread's `recv` ends and it returns, after any commit
        // it was making.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn key(counter: &CounterName) -> &str {
    if counter.is_site() {
        SITE_KEY
    } else {
        counter.as_str()
    }
}

fn failed(error: impl Into<BoxError>) -> StoreError {
    StoreError::Failed(error.into())
}

impl EmbeddedStore {
    /// Opens (or creates) the store file and starts its writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    /// As [`open`](Self::open), with the clock that decides when entries expire.
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let db = Arc::new(Database::create(path).map_err(failed)?);
        // Whatever expired while the store was closed goes before the first request; a
        // file from before the site's totals gets them.
        commit(&db, |txn| {
            purge(txn, clock.today(), epoch_seconds(clock.now()))?;
            site_totals_from_tables(txn, false)
        })?;
        let (sender, jobs) = mpsc::channel();
        let writer_db = Arc::clone(&db);
        let thread = std::thread::Builder::new()
            .name("counter-writer".into())
            .spawn(move || write_loop(&writer_db, &jobs, clock.as_ref()))
            .map_err(failed)?;
        Ok(Self {
            db,
            writer: Arc::new(Writer {
                jobs: Some(sender),
                thread: Some(thread),
            }),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn submit(&self, work: Work) -> Result<Answer, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .jobs
            .as_ref()
            .ok_or_else(|| failed("the embedded store's writer has stopped"))?
            .send(Job { work, reply })
            .map_err(|_| failed("the embedded store's writer has stopped"))?;
        answer
            .await
            .map_err(|_| failed("the embedded store's writer dropped a request"))?
    }
}

fn mixed_up() -> StoreError {
    failed("the embedded store answered a write with another write's answer")
}

/// Opens a table for reading; `None` when it was never written.
macro_rules! read_table {
    ($txn:expr, $definition:expr) => {
        match $txn.open_table($definition) {
            Ok(table) => Some(table),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(error) => return Err(failed(error)),
        }
    };
}

impl CounterStore for EmbeddedStore {
    async fn get(&self, counter: &CounterName) -> Result<Totals, StoreError> {
        // A read transaction is a snapshot of the last commit; it never waits for the writer.
        let txn = self.db.begin_read().map_err(failed)?;
        let mut totals = Totals::default();
        if let Some(table) = read_table!(txn, COUNTERS) {
            totals.views = table
                .get(key(counter))
                .map_err(failed)?
                .map_or(0, |v| v.value());
        }
        if let Some(table) = read_table!(txn, VISITORS) {
            totals.visitors = table
                .get(key(counter))
                .map_err(failed)?
                .map_or(0, |v| v.value());
        }
        Ok(totals)
    }

    async fn record(&self, visit: &Visit) -> Result<Once, StoreError> {
        match self.submit(Work::Visit(visit.clone())).await? {
            Answer::Once(once) => Ok(once),
            _ => Err(mixed_up()),
        }
    }

    async fn filtered(
        &self,
        counter: &CounterName,
        day: Day,
        filter: Filter,
    ) -> Result<Totals, StoreError> {
        let work = Work::Filter {
            counter: counter.clone(),
            day,
            filter,
        };
        match self.submit(work).await? {
            Answer::Totals(totals) => Ok(totals),
            _ => Err(mixed_up()),
        }
    }

    async fn site_totals(&self, _today: Day) -> Result<SiteTotals, StoreError> {
        let txn = self.db.begin_read().map_err(failed)?;
        let Some(site) = read_table!(txn, SITE) else {
            return Ok(SiteTotals::default());
        };
        let row = |name: &str| -> Result<u64, StoreError> {
            Ok(site.get(name).map_err(failed)?.map_or(0, |v| v.value()))
        };
        Ok(SiteTotals {
            views: row(SITE_VIEWS)?,
            visitors: row(SITE_VISITORS)?,
            counters: row(SITE_COUNTERS)?,
        })
    }

    async fn site_days(&self, from: Day, to: Day) -> Result<Vec<DayTotals>, StoreError> {
        let db = Arc::clone(&self.db);
        blocking(move || {
            let length = super::range_length(from, to);
            let mut days = vec![DayTotals::default(); length];
            let txn = db.begin_read().map_err(failed)?;
            let Some(table) = read_table!(txn, SITE_DAYS) else {
                return Ok(days);
            };
            let range = table
                .range(from.days_since_epoch()..=to.days_since_epoch())
                .map_err(failed)?;
            for entry in range {
                let (day, numbers) = entry.map_err(failed)?;
                let (views, visitors, bots, limited) = numbers.value();
                if let Some(slot) = slot(&mut days, from, day.value()) {
                    *slot = DayTotals {
                        views,
                        visitors,
                        bots,
                        limited,
                    };
                }
            }
            Ok(days)
        })
        .await
    }

    async fn record_once(
        &self,
        visit: &Visit,
        key: &IdempotencyKey,
        now: std::time::SystemTime,
    ) -> Result<Once, StoreError> {
        let now = epoch_seconds(now);
        // A known key is answered from a read transaction, without waiting for the
        // writer or committing anything; the writer checks again before it counts.
        let txn = self.db.begin_read().map_err(failed)?;
        if let Some(table) = read_table!(txn, KEYS)
            && let Some(stored) = table.get(key.digest().as_slice()).map_err(failed)?
            && let Some(once) = replay(stored.value(), &visit.counter, now)
        {
            return Ok(once);
        }
        drop(txn);
        let work = Work::VisitOnce {
            visit: visit.clone(),
            key: key.clone(),
            now,
        };
        match self.submit(work).await? {
            Answer::Once(once) => Ok(once),
            _ => Err(mixed_up()),
        }
    }

    async fn days(
        &self,
        counter: &CounterName,
        from: Day,
        to: Day,
    ) -> Result<Vec<DayTotals>, StoreError> {
        let db = Arc::clone(&self.db);
        let name = counter.as_str().to_owned();
        blocking(move || {
            let length = super::range_length(from, to);
            let mut days = vec![DayTotals::default(); length];
            let txn = db.begin_read().map_err(failed)?;
            let bounds =
                (name.as_str(), from.days_since_epoch())..=(name.as_str(), to.days_since_epoch());
            if let Some(table) = read_table!(txn, DAYS) {
                for entry in table.range(bounds.clone()).map_err(failed)? {
                    let (day, numbers) = entry.map_err(failed)?;
                    let (views, visitors) = numbers.value();
                    if let Some(slot) = slot(&mut days, from, day.value().1) {
                        slot.views = views;
                        slot.visitors = visitors;
                    }
                }
            }
            if let Some(table) = read_table!(txn, FILTERED) {
                for entry in table.range(bounds).map_err(failed)? {
                    let (day, numbers) = entry.map_err(failed)?;
                    let (bots, limited) = numbers.value();
                    if let Some(slot) = slot(&mut days, from, day.value().1) {
                        slot.bots = bots;
                        slot.limited = limited;
                    }
                }
            }
            Ok(days)
        })
        .await
    }

    async fn list(
        &self,
        after: Option<&CounterName>,
        limit: usize,
    ) -> Result<CounterPage, StoreError> {
        let db = Arc::clone(&self.db);
        let after = after.cloned();
        blocking(move || list_page(&db, after.as_ref(), limit)).await
    }

    async fn salt(&self, day: Day) -> Result<Salt, StoreError> {
        match self.submit(Work::Salt(day)).await? {
            Answer::Salt(salt) => Ok(salt),
            _ => Err(mixed_up()),
        }
    }
}

/// The slot of `day` (days since the epoch) in a range's answer starting at `from`.
fn slot<T>(days: &mut [T], from: Day, day: i32) -> Option<&mut T> {
    usize::try_from(from.until(Day::from_days_since_epoch(day)))
        .ok()
        .and_then(|index| days.get_mut(index))
}

/// One page of the list: a range read of `counters` from `after`, `limit` names and
/// one more (to know whether more follow). `site` is stored as v1's key, which sorts
/// elsewhere, so it is put in its place by name.
fn list_page(
    db: &Database,
    after: Option<&CounterName>,
    limit: usize,
) -> Result<CounterPage, StoreError> {
    use std::ops::Bound;
    let txn = db.begin_read().map_err(failed)?;
    let Some(views) = read_table!(txn, COUNTERS) else {
        return Ok(CounterPage::default());
    };
    let visitors = read_table!(txn, VISITORS);
    let visitors_of = |stored_key: &str| -> Result<u64, StoreError> {
        Ok(match &visitors {
            Some(table) => table
                .get(stored_key)
                .map_err(failed)?
                .map_or(0, |v| v.value()),
            None => 0,
        })
    };
    let start = match after {
        Some(after) => Bound::Excluded(after.as_str()),
        None => Bound::Unbounded,
    };
    let mut counters = Vec::new();
    for entry in views
        .range::<&str>((start, Bound::Unbounded))
        .map_err(failed)?
    {
        if counters.len() > limit {
            break;
        }
        let (stored_key, views) = entry.map_err(failed)?;
        let stored_key = stored_key.value();
        if stored_key == SITE_KEY {
            continue;
        }
        // Not a counter this version wrote: left alone, not listed.
        let Ok(name) = CounterName::parse(stored_key) else {
            continue;
        };
        let totals = Totals {
            views: views.value(),
            visitors: visitors_of(stored_key)?,
        };
        counters.push((name, totals));
    }
    let site = CounterName::site();
    if after.is_none_or(|after| after < &site)
        && let Some(views) = views.get(SITE_KEY).map_err(failed)?
    {
        let totals = Totals {
            views: views.value(),
            visitors: visitors_of(SITE_KEY)?,
        };
        counters.push((site, totals));
    }
    Ok(CounterPage::first(counters, limit))
}

/// Whether [`EmbeddedStore::open`] failed because another process holds the file: redb
/// locks it for as long as a store is open, so a running server keeps every other
/// opener (a second server, an operator command) out.
pub fn is_in_use(error: &StoreError) -> bool {
    match error {
        StoreError::Failed(cause) => matches!(
            cause.downcast_ref::<redb::DatabaseError>(),
            Some(redb::DatabaseError::DatabaseAlreadyOpen)
        ),
        _ => false,
    }
}

// After the macros above, which they use.
mod commands;
mod writer;

use commands::*;
use writer::*;
