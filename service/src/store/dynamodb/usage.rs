//! What the store has asked of DynamoDB: calls and capacity units, which the tests
//! read to hold each operation to its budget.

#[allow(unused_imports)]
use super::*;

/// What the store has asked of DynamoDB since it was made: calls per operation and
/// the capacity units DynamoDB reported (`ReturnConsumedCapacity = TOTAL`).
#[derive(Debug, Default)]
pub struct Usage {
    pub(super) calls: [AtomicU64; 5],
    /// Thousandths of a capacity unit.
    pub(super) read_units: AtomicU64,
    pub(super) write_units: AtomicU64,
    pub(super) transact_items: AtomicU64,
}

/// A copy of [`Usage`] at one moment; subtract two to get an operation's cost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UsageSnapshot {
    /// Calls of each of [`OPERATIONS`], in that order.
    pub calls: [u64; 5],
    pub read_units: f64,
    /// As DynamoDB reported them. DynamoDB Local reports 4 for any `TransactWriteItems`;
    /// DynamoDB bills 2 per item of up to 1 KB: see [`transact_items`](Self::transact_items).
    pub write_units: f64,
    /// Items written by `TransactWriteItems` calls that succeeded.
    pub transact_items: u64,
}

impl UsageSnapshot {
    /// Calls of every operation.
    pub fn total_calls(&self) -> u64 {
        self.calls.iter().sum()
    }

    /// The usage from `earlier` to `self`.
    pub fn since(&self, earlier: &UsageSnapshot) -> UsageSnapshot {
        let mut calls = [0; 5];
        for (i, slot) in calls.iter_mut().enumerate() {
            *slot = self.calls[i] - earlier.calls[i];
        }
        UsageSnapshot {
            calls,
            read_units: self.read_units - earlier.read_units,
            write_units: self.write_units - earlier.write_units,
            transact_items: self.transact_items - earlier.transact_items,
        }
    }

    /// Calls of one of [`OPERATIONS`].
    pub fn calls_of(&self, operation: &str) -> u64 {
        OPERATIONS
            .iter()
            .position(|op| *op == operation)
            .map_or(0, |i| self.calls[i])
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    BatchGetItem = 0,
    GetItem = 1,
    Query = 2,
    TransactWriteItems = 3,
    UpdateItem = 4,
}

impl Usage {
    pub(super) fn call(&self, op: Op) {
        self.calls[op as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn consumed<'a>(
        &self,
        op: Op,
        capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        let units: f64 = capacity
            .into_iter()
            .map(|capacity| capacity.capacity_units().unwrap_or_default())
            .sum();
        let milli = (units * 1000.0).round() as u64;
        match op {
            Op::UpdateItem | Op::TransactWriteItems => {
                self.write_units.fetch_add(milli, Ordering::Relaxed)
            }
            Op::BatchGetItem | Op::GetItem | Op::Query => {
                self.read_units.fetch_add(milli, Ordering::Relaxed)
            }
        };
    }

    pub fn snapshot(&self) -> UsageSnapshot {
        let mut calls = [0; 5];
        for (slot, count) in calls.iter_mut().zip(&self.calls) {
            *slot = count.load(Ordering::Relaxed);
        }
        UsageSnapshot {
            calls,
            read_units: self.read_units.load(Ordering::Relaxed) as f64 / 1000.0,
            write_units: self.write_units.load(Ordering::Relaxed) as f64 / 1000.0,
            transact_items: self.transact_items.load(Ordering::Relaxed),
        }
    }
}
