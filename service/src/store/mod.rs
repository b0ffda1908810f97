//! Where the counts live. Handlers see only [`CounterStore`]; the adapters are
//! DynamoDB (production) and an embedded single-file store (local use).
//!
//! Both keep, per counter, its views and visitors; per counter and UTC day, the
//! same two numbers and what was filtered (bots, views past the limit); per visitor,
//! counter and day, a marker (a keyed hash, see [`crate::visitor`]) holding that
//! visitor's views, and per visitor and day one for the whole site, both expiring two
//! days after their day; the site's numbers per day; how many counters exist (the cap,
//! [`Limits::max_counters`]); and the day's salt.

pub mod dynamodb;
pub mod embedded;
pub mod operator;

use std::future::Future;
use std::time::SystemTime;

pub use dynamodb::DynamoDbStore;
pub use embedded::EmbeddedStore;
pub use operator::{CounterRecord, OperatorStore, RenameOutcome, SetOutcome};

use crate::day::Day;
use crate::idempotency::IdempotencyKey;
use crate::names::CounterName;
use crate::visitor::{Marker, Salt};

/// The error type the adapters wrap their causes in.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every request's store work (the day's salt and the visit, or a read) ends within
/// this, success or not: the contract promises an answer within 3 s.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_millis(2500);

/// The most counters one page of [`CounterStore::list`] holds.
pub const PAGE_SIZE: usize = 1000;

/// A counter's numbers (or one day's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Views: every counted POST.
    pub views: u64,
    /// Visitors: distinct visitors per UTC day, summed over days.
    pub visitors: u64,
}

/// A day's numbers: what was counted and what was filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayTotals {
    pub views: u64,
    pub visitors: u64,
    /// POSTs not counted because their client is a bot (`crate::bots`).
    pub bots: u64,
    /// POSTs not counted because their visitor had reached [`Limits::views_per_visitor`].
    pub limited: u64,
}

/// The whole site's numbers (`GET /totals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SiteTotals {
    /// Every counter's counted views.
    pub views: u64,
    /// Distinct visitors across all counters per UTC day, summed over days.
    pub visitors: u64,
    /// How many counters exist.
    pub counters: u64,
}

/// The limits a visit is counted under (`VIEWS_PER_VISITOR`, `MAX_COUNTERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most views one visitor counts on one counter in one UTC day.
    pub views_per_visitor: u64,
    /// The most counters the store holds: a visit that would make one more is refused.
    pub max_counters: u64,
}

impl Limits {
    pub const DEFAULT_VIEWS_PER_VISITOR: u64 = 50;
    pub const DEFAULT_MAX_COUNTERS: u64 = 10_000;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            views_per_visitor: Self::DEFAULT_VIEWS_PER_VISITOR,
            max_counters: Self::DEFAULT_MAX_COUNTERS,
        }
    }
}

/// Why a POST was answered without being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Its client is a bot or automation (`crate::bots`).
    Bot,
    /// Its visitor had already counted [`Limits::views_per_visitor`] views of the
    /// counter that day.
    Limited,
}

impl Filter {
    /// As the `Visit-Filtered` header and the day's member name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Bot => "bot",
            Filter::Limited => "limited",
        }
    }
}

/// One POST to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub counter: CounterName,
    /// The UTC day it is counted on.
    pub day: Day,
    /// The visitor's marker for this counter and day; `None` when the visitor is
    /// unknown (no client address), which counts the view and no visitor (and no limit
    /// applies: there is no one to limit).
    pub marker: Option<Marker>,
    /// The visitor's marker for the whole site and day (`None` as above).
    pub site_marker: Option<Marker>,
    pub limits: Limits,
}

/// What a visit came to; with an `Idempotency-Key` (see [`crate::idempotency`]) any of
/// these, without one `Counted`, `Filtered` or `TooManyCounters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    /// The visit is counted (with a key: the key was new, or its record had expired,
    /// and these totals are kept as its answer).
    Counted(Totals),
    /// Not counted, for this reason, and tallied as such: the counter's current totals.
    /// No key's record is kept (nothing was counted, so a retry may be asked again).
    Filtered(Filter, Totals),
    /// The counter does not exist and the store holds [`Limits::max_counters`]:
    /// nothing counted, nothing created.
    TooManyCounters,
    /// The key's visit was counted before, on this counter: its answer, nothing counted.
    Replayed(Totals),
    /// The key's visit was counted on another counter: nothing counted.
    OtherCounter,
    /// Another request with the key is being written at this moment: nothing counted.
    InFlight,
}

impl Once {
    /// The totals answered, if the answer has any.
    pub fn totals(&self) -> Option<Totals> {
        match self {
            Once::Counted(totals) | Once::Replayed(totals) | Once::Filtered(_, totals) => {
                Some(*totals)
            }
            Once::OtherCounter | Once::InFlight | Once::TooManyCounters => None,
        }
    }
}

/// A key's record: the counter its visit was counted on and the answer it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub counter: CounterName,
    pub totals: Totals,
}

impl KeyRecord {
    /// What a request with the key, on `counter`, comes to.
    pub fn replay(&self, counter: &CounterName) -> Once {
        if &self.counter == counter {
            Once::Replayed(self.totals)
        } else {
            Once::OtherCounter
        }
    }
}

/// Seconds since the epoch (0 before it), the stores' expiry times.
pub fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// When a key's record made at `now` expires, in seconds since the epoch.
pub fn key_expiry(now: SystemTime) -> u64 {
    epoch_seconds(now).saturating_add(crate::idempotency::RETENTION.as_secs())
}

/// One page of the list of counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CounterPage {
    /// Sorted by name.
    pub counters: Vec<(CounterName, Totals)>,
    /// Whether more counters follow the last one.
    pub more: bool,
}

impl CounterPage {
    /// The first `limit` of `counters` (all after the page's `after`), sorted by name.
    pub fn first(mut counters: Vec<(CounterName, Totals)>, limit: usize) -> Self {
        counters.sort_by(|a, b| a.0.cmp(&b.0));
        let more = counters.len() > limit;
        counters.truncate(limit);
        Self { counters, more }
    }
}

/// How many dates `from..=to` holds (0 when `to` is earlier).
pub fn range_length(from: Day, to: Day) -> usize {
    usize::try_from(from.until(to) + 1).unwrap_or(0)
}

pub trait CounterStore: Send + Sync + 'static {
    /// A counter's totals; a counter never counted reads as zeros (and stays unwritten).
    fn get(&self, counter: &CounterName)
    -> impl Future<Output = Result<Totals, StoreError>> + Send;

    /// Counts one view, and one visitor if the visit's marker is new on this counter
    /// today, atomically per counter: concurrent visits get distinct, consecutive
    /// views, and a marker counts one visitor however many of its visits race. A marker
    /// that has counted [`Limits::views_per_visitor`] views today counts no more
    /// (`Filtered(Limited)`, tallied); a counter that does not exist is created only
    /// while fewer than [`Limits::max_counters`] do. The whole site's day counts the
    /// view too, and its visitor once a day. Answers `Counted` with the counter's totals
    /// after this visit, `Filtered` or `TooManyCounters`.
    fn record(&self, visit: &Visit) -> impl Future<Output = Result<Once, StoreError>> + Send;

    /// Tallies a POST that is not counted (`filter`) on the counter's day, if the
    /// counter exists (a name never counted is not created), and on the site's day;
    /// answers the counter's current totals.
    fn filtered(
        &self,
        counter: &CounterName,
        day: Day,
        filter: Filter,
    ) -> impl Future<Output = Result<Totals, StoreError>> + Send;

    /// The whole site's totals on `today` (UTC).
    fn site_totals(
        &self,
        today: Day,
    ) -> impl Future<Output = Result<SiteTotals, StoreError>> + Send;

    /// The whole site's numbers on each day from `from` to `to` (oldest first).
    fn site_days(
        &self,
        from: Day,
        to: Day,
    ) -> impl Future<Output = Result<Vec<DayTotals>, StoreError>> + Send;

    /// Counts the visit at most once per key: as [`record`](Self::record) if the key has
    /// no live record at `now`, writing the record (the counter and these totals) in the
    /// same atomic write as the count; otherwise counts nothing and says why. The
    /// record lives for [`RETENTION`](crate::idempotency::RETENTION) from `now`.
    fn record_once(
        &self,
        visit: &Visit,
        key: &IdempotencyKey,
        now: SystemTime,
    ) -> impl Future<Output = Result<Once, StoreError>> + Send;

    /// The counter's numbers on each day from `from` to `to` (both included, oldest
    /// first), zeros for days without visits.
    fn days(
        &self,
        counter: &CounterName,
        from: Day,
        to: Day,
    ) -> impl Future<Output = Result<Vec<DayTotals>, StoreError>> + Send;

    /// Up to `limit` counters that have been counted, sorted by name, after `after`:
    /// read from an index in name order, so a page costs what it holds.
    fn list(
        &self,
        after: Option<&CounterName>,
        limit: usize,
    ) -> impl Future<Output = Result<CounterPage, StoreError>> + Send;

    /// The salt of `day`, made (random) if it does not exist yet. Making it destroys
    /// every older day's salt.
    fn salt(&self, day: Day) -> impl Future<Output = Result<Salt, StoreError>> + Send;
}

/// Why the store could not answer. The cause is kept for the log; the client
/// only ever sees the status and a generic message (the HTTP edge's problem).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Down, throttled or too slow: worth retrying later (503).
    #[error("storage is unavailable")]
    Unavailable(#[source] BoxError),
    /// The stored value is not a count; it has been left as it is (500).
    #[error("the stored value is not a count: {0}")]
    NotACount(String),
    /// Anything else (500).
    #[error("storage failed")]
    Failed(#[source] BoxError),
}

/// Runs synchronous store work (a redb read of a page, a day range) off the async
/// workers, so a long read never holds them; the request's deadline still answers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::Failed(Box::new(error)))?
}
