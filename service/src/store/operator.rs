//! What the operator commands (`visitor-counter counters ...`)
//! ask of a store, beyond what the service does.
//!
//! A trait of its own: the service (local server and Lambda function) only ever holds a
//! [`CounterStore`], so nothing it runs can reach these writes. On DynamoDB they use
//! operations the function's IAM role is not granted (`BatchWriteItem`; see
//! `OPERATOR_OPERATIONS` in the DynamoDB store): they run with the operator's own credentials.

use std::future::Future;

use super::{CounterStore, StoreError, Totals};
use crate::day::Day;
use crate::names::CounterName;

/// One counter as stored: its totals and every day it has numbers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRecord {
    pub name: CounterName,
    pub totals: Totals,
    /// Oldest first, each day once.
    pub days: Vec<(Day, Totals)>,
}

/// Gathers an export's counters and days in whatever order a store reads them.
#[derive(Debug, Default)]
pub(crate) struct Records(std::collections::BTreeMap<CounterName, CounterRecord>);

impl Records {
    fn entry(&mut self, name: CounterName) -> &mut CounterRecord {
        self.0.entry(name.clone()).or_insert_with(|| CounterRecord {
            name,
            totals: Totals::default(),
            days: Vec::new(),
        })
    }

    pub(crate) fn totals(&mut self, name: CounterName, totals: Totals) {
        self.entry(name).totals = totals;
    }

    pub(crate) fn day(&mut self, name: CounterName, day: Day, totals: Totals) {
        self.entry(name).days.push((day, totals));
    }

    /// The counters by name, each one's days oldest first.
    pub(crate) fn into_sorted(self) -> Vec<CounterRecord> {
        let mut records: Vec<CounterRecord> = self.0.into_values().collect();
        for record in &mut records {
            record.days.sort_by_key(|(day, _)| *day);
        }
        records
    }
}

/// What a conditional [`OperatorStore::set_totals`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// The counter now holds the totals asked for.
    Set,
    /// The counter no longer held the expected totals (a visit came in between): it
    /// holds `current` and nothing was written.
    Moved { current: Totals },
}

/// What [`OperatorStore::rename`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameOutcome {
    Renamed,
    /// There is no counter of the old name.
    NoSuchCounter,
    /// A counter of the new name exists: nothing was changed.
    Taken,
}

pub trait OperatorStore: CounterStore {
    /// Deletes a counter and its days; whether it existed. The site's numbers keep
    /// the visits it had (they happened).
    fn delete(
        &self,
        counter: &CounterName,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a counter, its totals and its days, a new name that no counter has.
    fn rename(
        &self,
        from: &CounterName,
        to: &CounterName,
    ) -> impl Future<Output = Result<RenameOutcome, StoreError>> + Send;

    /// Puts every counter in the list's index and recounts them (for the cap); the
    /// number of counters. Needed once on a table a version before the index wrote;
    /// running it again changes nothing.
    fn reindex(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every counter the store holds (whether or not `COUNTERS` allows it), sorted by
    /// name, each with its days. A counter that has days but no totals (its first visit's
    /// counter write failed) reads as zero totals.
    fn export(&self) -> impl Future<Output = Result<Vec<CounterRecord>, StoreError>> + Send;

    /// Sets a counter's views and visitors, leaving its days alone. With `expected`, only
    /// if the counter still holds exactly those totals (a counter never counted holds
    /// zeros); without, whatever it holds.
    fn set_totals(
        &self,
        counter: &CounterName,
        expected: Option<Totals>,
        totals: Totals,
    ) -> impl Future<Output = Result<SetOutcome, StoreError>> + Send;

    /// Writes each record's totals and each of its days, replacing what the store holds
    /// for that counter and those days; counters and days not in `records` are left as
    /// they are. Every value written is absolute, so running it again with the same
    /// records writes the same store (nothing is added up).
    fn restore(
        &self,
        records: &[CounterRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
