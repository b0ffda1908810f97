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
//! the async workers ([`super::blocking`]).

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

/// Runs until every `EmbeddedStore` handle is gone.
fn write_loop(db: &Database, jobs: &mpsc::Receiver<Job>, clock: &dyn Clock) {
    let mut purged = (clock.today(), epoch_seconds(clock.now()));
    loop {
        // Between batches too, so a store never idle still deletes what expired.
        let (today, now) = (clock.today(), epoch_seconds(clock.now()));
        let new_day = today != purged.0;
        if new_day || now >= purged.1.saturating_add(KEY_PURGE.as_secs()) {
            // Markers and salts expire by the day; key records by the hour.
            let done = if new_day {
                commit(db, |txn| purge(txn, today, now))
            } else {
                commit(db, |txn| purge_keys(txn, now))
            };
            match done {
                Ok(()) => purged = (today, now),
                Err(error) => tracing::error!(
                    error = %crate::chain::error_chain(&error),
                    "deleting expired markers, salts and key records failed; trying again later"
                ),
            }
        }
        let first = match jobs.recv_timeout(PURGE_CHECK) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut answers = Vec::with_capacity(batch.len());
        let committed = commit(db, |txn| {
            for job in &batch {
                let answer = match &job.work {
                    Work::Visit(visit) => apply_visit(txn, visit).map(Answer::Once),
                    Work::Filter {
                        counter,
                        day,
                        filter,
                    } => tally(txn, counter, *day, *filter).map(Answer::Totals),
                    Work::Delete(counter) => delete(txn, counter).map(Answer::Deleted),
                    Work::Rename { from, to } => rename(txn, from, to).map(Answer::Renamed),
                    Work::VisitOnce { visit, key, now } => {
                        apply_visit_once(txn, visit, key, *now).map(Answer::Once)
                    }
                    Work::Salt(day) => day_salt(txn, *day).map(Answer::Salt),
                    Work::Set {
                        counter,
                        expected,
                        totals,
                    } => set_totals(txn, counter, *expected, *totals).map(Answer::Set),
                    Work::Restore(records) => restore(txn, records).map(|()| Answer::Restored),
                };
                // A counter at its maximum is that visit's answer (it wrote nothing);
                // a storage failure may have written part of a visit: none commits.
                if let Err(StoreError::Failed(error)) = answer {
                    return Err(StoreError::Failed(error));
                }
                answers.push(answer);
            }
            Ok(())
        });
        match committed {
            Ok(()) => {
                for (job, answer) in batch.into_iter().zip(answers) {
                    // A caller that went away still had its visit counted; nothing to undo.
                    let _ = job.reply.send(answer);
                }
            }
            Err(error) => {
                let message = crate::chain::error_chain(&error);
                tracing::error!(error = %message, "embedded store commit failed; nothing was counted");
                for job in batch {
                    let _ = job.reply.send(Err(failed(message.clone())));
                }
            }
        }
    }
}

/// Runs `work` in one durable write transaction. An error from `work` for one job is
/// that job's answer (it wrote nothing); an error of the transaction fails them all.
fn commit(
    db: &Database,
    work: impl FnOnce(&WriteTransaction) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(failed)?;
    work(&txn)?;
    txn.commit().map_err(failed)
}

/// A counter's totals as the `counters` and `visitors` tables hold them (0 where unset).
fn stored_totals(
    views: &impl ReadableTable<&'static str, u64>,
    visitors: &impl ReadableTable<&'static str, u64>,
    counter_key: &str,
) -> Result<Totals, StoreError> {
    let number = |value: Option<redb::AccessGuard<'_, u64>>| value.map_or(0, |v| v.value());
    Ok(Totals {
        views: number(views.get(counter_key).map_err(failed)?),
        visitors: number(visitors.get(counter_key).map_err(failed)?),
    })
}

/// Adds to one of the site's totals (`site`) inside `txn`; `0` writes nothing.
fn add_to_site(txn: &WriteTransaction, row: &str, delta: i128) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    let mut site = txn.open_table(SITE).map_err(failed)?;
    let current = site.get(row).map_err(failed)?.map_or(0, |v| v.value());
    let next = u64::try_from(i128::from(current) + delta).unwrap_or(0);
    site.insert(row, next).map_err(failed)?;
    Ok(())
}

/// A day's filter tally of one kind plus one.
fn plus_one(filter: Filter, (bots, limited): (u64, u64)) -> (u64, u64) {
    match filter {
        Filter::Bot => (bots.saturating_add(1), limited),
        Filter::Limited => (bots, limited.saturating_add(1)),
    }
}

/// Tallies a POST that is not counted inside `txn`: on the counter's day if the counter
/// exists, and on the site's day. Answers the counter's totals.
fn tally(
    txn: &WriteTransaction,
    counter: &CounterName,
    day: Day,
    filter: Filter,
) -> Result<Totals, StoreError> {
    let views = txn.open_table(COUNTERS).map_err(failed)?;
    let visitors = txn.open_table(VISITORS).map_err(failed)?;
    let exists = views.get(key(counter)).map_err(failed)?.is_some();
    let totals = stored_totals(&views, &visitors, key(counter))?;
    let day = day.days_since_epoch();
    if exists {
        let mut filtered = txn.open_table(FILTERED).map_err(failed)?;
        let day_key = (counter.as_str(), day);
        let current = filtered
            .get(day_key)
            .map_err(failed)?
            .map_or((0, 0), |v| v.value());
        filtered
            .insert(day_key, plus_one(filter, current))
            .map_err(failed)?;
    }
    let mut site_days = txn.open_table(SITE_DAYS).map_err(failed)?;
    let (views, visitors, bots, limited) = site_days
        .get(day)
        .map_err(failed)?
        .map_or((0, 0, 0, 0), |v| v.value());
    let (bots, limited) = plus_one(filter, (bots, limited));
    site_days
        .insert(day, (views, visitors, bots, limited))
        .map_err(failed)?;
    Ok(totals)
}

/// How many views a marker has counted on `day` (a marker of the version before, which
/// kept no views, has counted at least one).
fn marked_views(
    marks: &impl ReadableTable<(i32, &'static [u8]), u64>,
    old_markers: Option<&impl ReadableTable<(i32, &'static [u8]), ()>>,
    day: i32,
    marker: &[u8],
) -> Result<u64, StoreError> {
    if let Some(views) = marks.get((day, marker)).map_err(failed)? {
        return Ok(views.value());
    }
    match old_markers {
        Some(old) if old.get((day, marker)).map_err(failed)?.is_some() => Ok(1),
        _ => Ok(0),
    }
}

/// Counts one visit inside `txn`. Checks every value before writing any, so a visit
/// that cannot be counted (a number at its maximum, the cap on counters, the visitor's
/// limit) changes nothing but its tally.
fn apply_visit(txn: &WriteTransaction, visit: &Visit) -> Result<Once, StoreError> {
    let counter_key = key(&visit.counter);
    let day = visit.day.days_since_epoch();
    let day_key = (visit.counter.as_str(), day);
    let mut marks = txn.open_table(MARKS).map_err(failed)?;
    let old_markers = match txn.open_table(MARKERS) {
        Ok(table) => Some(table),
        Err(error) => return Err(failed(error)),
    };
    let seen = match &visit.marker {
        Some(marker) => marked_views(&marks, old_markers.as_ref(), day, &marker.0)?,
        None => 0,
    };
    if visit.marker.is_some() && seen >= visit.limits.views_per_visitor {
        drop((marks, old_markers));
        let totals = tally(txn, &visit.counter, visit.day, Filter::Limited)?;
        return Ok(Once::Filtered(Filter::Limited, totals));
    }
    let new_visitor = visit.marker.is_some() && seen == 0;
    let new_site_visitor = match &visit.site_marker {
        Some(marker) => marked_views(&marks, old_markers.as_ref(), day, &marker.0)? == 0,
        None => false,
    };
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let mut days = txn.open_table(DAYS).map_err(failed)?;
    let mut site = txn.open_table(SITE).map_err(failed)?;
    let mut site_days = txn.open_table(SITE_DAYS).map_err(failed)?;
    let exists = views.get(counter_key).map_err(failed)?.is_some();
    let counters = site
        .get(SITE_COUNTERS)
        .map_err(failed)?
        .map_or(0, |v| v.value());
    if !exists && counters >= visit.limits.max_counters {
        return Ok(Once::TooManyCounters);
    }
    let current = stored_totals(&views, &visitors, counter_key)?;
    let (day_views, day_visitors) = days
        .get(day_key)
        .map_err(failed)?
        .map_or((0, 0), |v| v.value());
    let site_views = site
        .get(SITE_VIEWS)
        .map_err(failed)?
        .map_or(0, |v| v.value());
    let site_visitors = site
        .get(SITE_VISITORS)
        .map_err(failed)?
        .map_or(0, |v| v.value());
    let site_day = site_days
        .get(day)
        .map_err(failed)?
        .map_or((0, 0, 0, 0), |v| v.value());
    let add = u64::from(new_visitor);
    let add_site = u64::from(new_site_visitor);
    let overflow = || {
        StoreError::NotACount(format!(
            "counter {} is at its maximum ({} views, {} visitors); nothing was counted",
            visit.counter, current.views, current.visitors
        ))
    };
    let next = Totals {
        views: current.views.checked_add(1).ok_or_else(overflow)?,
        visitors: current.visitors.checked_add(add).ok_or_else(overflow)?,
    };
    let next_day = (
        day_views.checked_add(1).ok_or_else(overflow)?,
        day_visitors.checked_add(add).ok_or_else(overflow)?,
    );
    views.insert(counter_key, next.views).map_err(failed)?;
    visitors
        .insert(counter_key, next.visitors)
        .map_err(failed)?;
    days.insert(day_key, next_day).map_err(failed)?;
    if let Some(marker) = &visit.marker {
        marks
            .insert((day, marker.0.as_slice()), seen.saturating_add(1))
            .map_err(failed)?;
    }
    if new_site_visitor && let Some(marker) = &visit.site_marker {
        marks
            .insert((day, marker.0.as_slice()), 1)
            .map_err(failed)?;
    }
    let (sv, svis, bots, limited) = site_day;
    site_days
        .insert(
            day,
            (
                sv.saturating_add(1),
                svis.saturating_add(add_site),
                bots,
                limited,
            ),
        )
        .map_err(failed)?;
    site.insert(SITE_VIEWS, site_views.saturating_add(1))
        .map_err(failed)?;
    site.insert(SITE_VISITORS, site_visitors.saturating_add(add_site))
        .map_err(failed)?;
    if !exists {
        site.insert(SITE_COUNTERS, counters.saturating_add(1))
            .map_err(failed)?;
    }
    Ok(Once::Counted(next))
}

/// Counts `visit` inside `txn` unless `key` has a live record at `now`; writes the
/// record in the same transaction, so the count and its record commit together. A
/// visit that is not counted keeps no record.
fn apply_visit_once(
    txn: &WriteTransaction,
    visit: &Visit,
    key: &IdempotencyKey,
    now: u64,
) -> Result<Once, StoreError> {
    let mut keys = txn.open_table(KEYS).map_err(failed)?;
    if let Some(stored) = keys.get(key.digest().as_slice()).map_err(failed)?
        && let Some(once) = replay(stored.value(), &visit.counter, now)
    {
        return Ok(once);
    }
    let totals = match apply_visit(txn, visit)? {
        Once::Counted(totals) => totals,
        other => return Ok(other),
    };
    let expires = now.saturating_add(RETENTION.as_secs());
    keys.insert(
        key.digest().as_slice(),
        (
            visit.counter.as_str(),
            totals.views,
            totals.visitors,
            expires,
        ),
    )
    .map_err(failed)?;
    Ok(Once::Counted(totals))
}

/// What a key's stored record means for a visit of `counter` at `now`; `None` once it
/// has expired.
fn replay(
    (stored_counter, views, visitors, expires): (&str, u64, u64, u64),
    counter: &CounterName,
    now: u64,
) -> Option<Once> {
    (expires > now).then(|| {
        if stored_counter == counter.as_str() {
            Once::Replayed(Totals { views, visitors })
        } else {
            Once::OtherCounter
        }
    })
}

/// The salt of `day`, made if missing; making it deletes older salts and expired markers.
fn day_salt(txn: &WriteTransaction, day: Day) -> Result<Salt, StoreError> {
    let mut salts = txn.open_table(SALTS).map_err(failed)?;
    if let Some(stored) = salts.get(day.days_since_epoch()).map_err(failed)?
        && let Some(salt) = Salt::from_slice(stored.value())
    {
        return Ok(salt);
    }
    let salt = Salt::random().map_err(|_| failed("the system's random generator failed"))?;
    salts
        .insert(day.days_since_epoch(), salt.0.as_slice())
        .map_err(failed)?;
    drop(salts);
    let day_start = u64::try_from(day.start_epoch_seconds()).unwrap_or(0);
    purge(txn, day, day_start)?;
    Ok(salt)
}

/// Deletes the salts of days before `today`, the markers of days before yesterday and
/// the key records expired at `now` (epoch seconds), in the writer thread.
fn purge(txn: &WriteTransaction, today: Day, now: u64) -> Result<(), StoreError> {
    let today = today.days_since_epoch();
    let mut salts = txn.open_table(SALTS).map_err(failed)?;
    salts.retain(|day, _| day >= today).map_err(failed)?;
    // Markers are keyed by their day first: the expired ones are one range.
    let expired = (i32::MIN, &[][..])..(today - (MARKER_DAYS - 1), &[][..]);
    let mut markers = txn.open_table(MARKERS).map_err(failed)?;
    markers
        .retain_in(expired.clone(), |_, ()| false)
        .map_err(failed)?;
    let mut marks = txn.open_table(MARKS).map_err(failed)?;
    marks.retain_in(expired, |_, _| false).map_err(failed)?;
    drop((salts, markers, marks));
    purge_keys(txn, now)
}

/// Deletes the key records expired at `now` (epoch seconds): a walk of the records,
/// which are keyed by digest, at most once an hour.
fn purge_keys(txn: &WriteTransaction, now: u64) -> Result<(), StoreError> {
    let mut keys = txn.open_table(KEYS).map_err(failed)?;
    if keys.len().map_err(failed)? > 0 {
        keys.retain(|_, (_, _, _, expires)| expires > now)
            .map_err(failed)?;
    }
    Ok(())
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

/// The operator commands. While they run the file is theirs alone (see [`is_in_use`]),
/// so a set's read and its write cannot be separated by a visit here; the check is
/// still made, in the writer's transaction, as on DynamoDB.
impl OperatorStore for EmbeddedStore {
    async fn export(&self) -> Result<Vec<CounterRecord>, StoreError> {
        // One read transaction: the export is a snapshot of one commit.
        let txn = self.db.begin_read().map_err(failed)?;
        let mut records = Records::default();
        if let Some(views) = read_table!(txn, COUNTERS) {
            let visitors = read_table!(txn, VISITORS);
            for entry in views.iter().map_err(failed)? {
                let (stored_key, views) = entry.map_err(failed)?;
                let Some(name) = name_of(stored_key.value()) else {
                    continue;
                };
                let visitors = match &visitors {
                    Some(table) => table
                        .get(stored_key.value())
                        .map_err(failed)?
                        .map_or(0, |v| v.value()),
                    None => 0,
                };
                let views = views.value();
                records.totals(name, Totals { views, visitors });
            }
        }
        if let Some(days) = read_table!(txn, DAYS) {
            for entry in days.iter().map_err(failed)? {
                let (day_key, numbers) = entry.map_err(failed)?;
                let (name, day) = day_key.value();
                let Ok(name) = CounterName::parse(name) else {
                    continue;
                };
                let (views, visitors) = numbers.value();
                let day = Day::from_days_since_epoch(day);
                records.day(name, day, Totals { views, visitors });
            }
        }
        Ok(records.into_sorted())
    }

    async fn set_totals(
        &self,
        counter: &CounterName,
        expected: Option<Totals>,
        totals: Totals,
    ) -> Result<SetOutcome, StoreError> {
        let work = Work::Set {
            counter: counter.clone(),
            expected,
            totals,
        };
        match self.submit(work).await? {
            Answer::Set(outcome) => Ok(outcome),
            _ => Err(mixed_up()),
        }
    }

    async fn restore(&self, records: &[CounterRecord]) -> Result<(), StoreError> {
        match self.submit(Work::Restore(records.to_vec())).await? {
            Answer::Restored => Ok(()),
            _ => Err(mixed_up()),
        }
    }

    async fn delete(&self, counter: &CounterName) -> Result<bool, StoreError> {
        match self.submit(Work::Delete(counter.clone())).await? {
            Answer::Deleted(existed) => Ok(existed),
            _ => Err(mixed_up()),
        }
    }

    async fn rename(
        &self,
        from: &CounterName,
        to: &CounterName,
    ) -> Result<RenameOutcome, StoreError> {
        let work = Work::Rename {
            from: from.clone(),
            to: to.clone(),
        };
        match self.submit(work).await? {
            Answer::Renamed(outcome) => Ok(outcome),
            _ => Err(mixed_up()),
        }
    }

    async fn reindex(&self) -> Result<u64, StoreError> {
        // The list is the `counters` table itself; only the count can be behind.
        let db = Arc::clone(&self.db);
        blocking(move || {
            commit(&db, |txn| site_totals_from_tables(txn, true))?;
            let txn = db.begin_read().map_err(failed)?;
            let Some(site) = read_table!(txn, SITE) else {
                return Ok(0);
            };
            Ok(site
                .get(SITE_COUNTERS)
                .map_err(failed)?
                .map_or(0, |v| v.value()))
        })
        .await
    }
}

/// Makes the site's totals (`site`) from the other tables: how many counters, their
/// views, and the site's visitors summed over its days. Only when they are missing (a
/// file from before them), unless `force`.
fn site_totals_from_tables(txn: &WriteTransaction, force: bool) -> Result<(), StoreError> {
    let mut site = txn.open_table(SITE).map_err(failed)?;
    if !force && site.get(SITE_COUNTERS).map_err(failed)?.is_some() {
        return Ok(());
    }
    let views = txn.open_table(COUNTERS).map_err(failed)?;
    let (mut counters, mut total) = (0u64, 0u64);
    for entry in views.iter().map_err(failed)? {
        let (stored_key, views) = entry.map_err(failed)?;
        if name_of(stored_key.value()).is_some() {
            counters += 1;
            total = total.saturating_add(views.value());
        }
    }
    let site_days = txn.open_table(SITE_DAYS).map_err(failed)?;
    let mut visitors = 0u64;
    for entry in site_days.iter().map_err(failed)? {
        let (_, numbers) = entry.map_err(failed)?;
        visitors = visitors.saturating_add(numbers.value().1);
    }
    site.insert(SITE_COUNTERS, counters).map_err(failed)?;
    site.insert(SITE_VIEWS, total).map_err(failed)?;
    site.insert(SITE_VISITORS, visitors).map_err(failed)?;
    Ok(())
}

/// Deletes a counter's totals, days and tallies inside `txn`; whether it existed.
fn delete(txn: &WriteTransaction, counter: &CounterName) -> Result<bool, StoreError> {
    let counter_key = key(counter);
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let Some(old_views) = views
        .remove(counter_key)
        .map_err(failed)?
        .map(|v| v.value())
    else {
        return Ok(false);
    };
    visitors.remove(counter_key).map_err(failed)?;
    drop((views, visitors));
    for table in [DAYS, FILTERED] {
        take_days(
            &mut txn.open_table(table).map_err(failed)?,
            counter.as_str(),
        )?;
    }
    add_to_site(txn, SITE_COUNTERS, -1)?;
    add_to_site(txn, SITE_VIEWS, -i128::from(old_views))?;
    Ok(true)
}

/// A day of a counter's (days since the epoch) and its two numbers, as `days` and
/// `filtered` hold them.
type DayRow = (i32, (u64, u64));

/// Removes every day of the counter `name` from a table of days (`days`, `filtered`),
/// and answers them, oldest first.
fn take_days(
    table: &mut redb::Table<'_, (&'static str, i32), (u64, u64)>,
    name: &str,
) -> Result<Vec<DayRow>, StoreError> {
    let range = (name, i32::MIN)..=(name, i32::MAX);
    let days = table
        .range(range.clone())
        .map_err(failed)?
        .map(|entry| entry.map(|(day, numbers)| (day.value().1, numbers.value())))
        .collect::<Result<_, _>>()
        .map_err(failed)?;
    table.retain_in(range, |_, _| false).map_err(failed)?;
    Ok(days)
}

/// Moves a counter's totals, days and tallies to a name no counter has, inside `txn`.
fn rename(
    txn: &WriteTransaction,
    from: &CounterName,
    to: &CounterName,
) -> Result<RenameOutcome, StoreError> {
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    if views.get(key(from)).map_err(failed)?.is_none() {
        return Ok(RenameOutcome::NoSuchCounter);
    }
    if views.get(key(to)).map_err(failed)?.is_some() {
        return Ok(RenameOutcome::Taken);
    }
    let Some(old_views) = views.remove(key(from)).map_err(failed)?.map(|v| v.value()) else {
        return Ok(RenameOutcome::NoSuchCounter);
    };
    let old_visitors = visitors
        .remove(key(from))
        .map_err(failed)?
        .map_or(0, |v| v.value());
    views.insert(key(to), old_views).map_err(failed)?;
    visitors.insert(key(to), old_visitors).map_err(failed)?;
    for table in [DAYS, FILTERED] {
        let mut table = txn.open_table(table).map_err(failed)?;
        let moved = take_days(&mut table, from.as_str())?;
        for (day, numbers) in moved {
            table.insert((to.as_str(), day), numbers).map_err(failed)?;
        }
    }
    Ok(RenameOutcome::Renamed)
}

/// The counter a `counters` (or `visitors`) key holds; `None` for keys this version
/// does not write.
fn name_of(stored_key: &str) -> Option<CounterName> {
    if stored_key == SITE_KEY {
        Some(CounterName::site())
    } else {
        CounterName::parse(stored_key).ok()
    }
}

/// Sets a counter's totals inside `txn` if it holds `expected` (or always, without).
fn set_totals(
    txn: &WriteTransaction,
    counter: &CounterName,
    expected: Option<Totals>,
    totals: Totals,
) -> Result<SetOutcome, StoreError> {
    let counter_key = key(counter);
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let current = stored_totals(&views, &visitors, counter_key)?;
    if expected.is_some_and(|expected| expected != current) {
        return Ok(SetOutcome::Moved { current });
    }
    let existed = views
        .insert(counter_key, totals.views)
        .map_err(failed)?
        .is_some();
    visitors
        .insert(counter_key, totals.visitors)
        .map_err(failed)?;
    drop((views, visitors));
    if !existed {
        add_to_site(txn, SITE_COUNTERS, 1)?;
    }
    add_to_site(
        txn,
        SITE_VIEWS,
        i128::from(totals.views) - i128::from(current.views),
    )?;
    Ok(SetOutcome::Set)
}

/// Writes every record's totals and days inside `txn`: one commit, so an import that
/// fails midway writes nothing. The site's totals are made again from the tables.
fn restore(txn: &WriteTransaction, records: &[CounterRecord]) -> Result<(), StoreError> {
    restore_records(txn, records)?;
    site_totals_from_tables(txn, true)
}

fn restore_records(txn: &WriteTransaction, records: &[CounterRecord]) -> Result<(), StoreError> {
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let mut days = txn.open_table(DAYS).map_err(failed)?;
    for record in records {
        let counter_key = key(&record.name);
        views
            .insert(counter_key, record.totals.views)
            .map_err(failed)?;
        visitors
            .insert(counter_key, record.totals.visitors)
            .map_err(failed)?;
        for (day, totals) in &record.days {
            days.insert(
                (record.name.as_str(), day.days_since_epoch()),
                (totals.views, totals.visitors),
            )
            .map_err(failed)?;
        }
    }
    Ok(())
}
