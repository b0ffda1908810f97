//! The DynamoDB adapter.
//!
//! One table, hash key `id` (String), TTL on `ttl`. Its items:
//! - `visitorCount`: the counter `site` (v1's item, so a v1 table keeps its number);
//!   `count` (views) and `visitors`
//! - `counter#NAME`: every other counter; `count` and `visitors`
//!   (and, once in the list's index, `list` = `counter` and `name`: see [`COUNTER_INDEX`])
//! - `day#NAME#YYYY-MM-DD`: a counter's day; `count` and `visitors`, and what was not
//!   counted: `bots` and `limited`
//! - `visitor#YYYY-MM-DD#MARKER`: a visitor marker (a keyed hash, never an address);
//!   `ttl` at the start of the day two days later, and `views`: the visitor's views of
//!   the counter that day (the limit, [`crate::store::Limits::views_per_visitor`]). A
//!   site marker (the visitor on the whole site) has the same shape and no `views`
//! - `site#YYYY-MM-DD#S` (S from 0 to [`SITE_SHARDS`] - 1): the whole site's day, spread
//!   over a few items so that no item takes a write for every view of the site; each
//!   counted view adds to one of them; read by summing them. `count`, `visitors`,
//!   `bots`, `limited`
//! - `site#total`: the site's views (`count`) and visitors summed over every day up to
//!   `through` (two days ago or earlier), rolled forward by the reads of `/totals` (see
//!   [`DynamoDbStore::site_rollup`]), and `offset`: what every counter's views hold
//!   beyond the site's days (see [`DynamoDbStore::recount_site_views`])
//! - `registry`: `counters`, how many counters are in the index (the cap,
//!   [`crate::store::Limits::max_counters`])
//! - `salt`: the current day's salt; `day`, `salt` (32 random bytes), `ttl`
//! - `idem#SHA256`: an `Idempotency-Key`'s record (the SHA-256 of the key, in hex):
//!   `counter` (the name), `count` and `visitors` (the answer), `ttl` 24 hours on,
//!   `writer` (a random name of the request that wrote it);
//!   written in the transaction that counts its visit (see [`crate::idempotency`])
//!
//! What each operation costs, in round trips one after another (measured on DynamoDB
//! Local by `service/tests/api/dynamodb.rs`, which counts the calls and sums the
//! `ConsumedCapacity` DynamoDB reports):
//! - `POST`: 2 round trips. First the visitor's marker on the counter (`UpdateItem`
//!   `SET ttl ADD views`, only while `views` is under the limit, `UPDATED_OLD`: the
//!   visitor is new iff no old `ttl` came back; refused: the view is `limited`) and on
//!   the site (`SET ttl`, skipped when this process wrote it today: see `Marked`), in
//!   parallel; then the counter, its day and one of the site's day items together
//!   (three `UpdateItem` `ADD`s in parallel). The counter's own update must know whether
//!   the visitor is new, and answers this visit's views, so it cannot be done in one: a
//!   transaction could, but returns no values and costs twice the write units. Write
//!   units: 5 for a new visitor (markers 2, counter, day, site day), 4 for a repeat
//!   view (the counter's marker counts every view, for the limit).
//!   The first visit a process sees of a counter also reads whether the counter is in
//!   the index (a `GetItem` in the first round trip); a counter not yet in it is put
//!   there, and counted against the cap, by one `TransactWriteItems` (the registry's
//!   conditional `ADD` and the counter's index keys): a third round trip, once per
//!   counter, 4 write units.
//! - a `POST` not counted: a bot, 2 round trips (`GetItem` of the counter's totals with
//!   the site day's tally, then the counter day's tally if the counter exists): 2 write
//!   units, 1 for a name never counted; a `limited` view, 2 round trips (the marker's
//!   refused update, then both tallies and the counter's totals): 3 write units.
//! - `POST` with an `Idempotency-Key`: 1 `BatchGetItem` (the key's record, the counter,
//!   the marker), then, unless the record exists (a replay: 1 round trip, 0 write
//!   units), 1 `TransactWriteItems`: 2 round trips, 6 write units (8 for a new visitor).
//!   The costs and the argument are in [`crate::idempotency`].
//! - once per process and UTC day, the salt: 1 `GetItem`; and once per day for the
//!   whole table, 1 conditional `UpdateItem` that makes it (and so destroys the last).
//! - `GET` a counter: 1 `GetItem`, 0 write units.
//! - `days`: 1 `BatchGetItem` per 100 days, all in parallel: 1 round trip, 0 write units.
//! - the list: a `Query` of the index ([`COUNTER_INDEX`], keys only) from the page's
//!   `after`, then the page's totals by `BatchGetItem` (100 keys each, in parallel): 2
//!   round trips, read units in proportion to the page, whatever else the table holds.
//! - `/totals/days`: `BatchGetItem`s of the site's day items, [`SITE_SHARDS`] per day.
//! - `/totals`: the registry, `site#total` and the site's days since its `through` (two
//!   or three days, [`SITE_SHARDS`] items each): about 15 read units, strongly
//!   consistent, whatever the table holds. Once a day a read also rolls the roll-up
//!   forward (a day's items, one conditional write).

/// The table's hash key (String).
pub const HASH_KEY: &str = "id";
/// The `site` counter's item: v1's one counter, which keeps its key so an existing
/// table keeps its number (`/count` is the counter `site`).
pub const COUNTER_ID: &str = "visitorCount";
/// Every other counter's item: `counter#NAME`.
pub const COUNTER_PREFIX: &str = "counter#";
/// A counter's day: `day#NAME#YYYY-MM-DD`.
pub const DAY_PREFIX: &str = "day#";
/// A visitor marker: `visitor#YYYY-MM-DD#HASH` (a keyed hash, never an address).
pub const VISITOR_PREFIX: &str = "visitor#";
/// The day's salt.
pub const SALT_ID: &str = "salt";
/// An `Idempotency-Key`'s record: `idem#` and the key's SHA-256 in hex.
pub const KEY_PREFIX: &str = "idem#";
/// The String attribute of a key's record naming the counter its visit was counted on.
pub const KEY_COUNTER_ATTRIBUTE: &str = "counter";
/// The String attribute of a key's record naming the request that wrote it (random),
/// so that a request sending its transaction again knows its own record.
pub const KEY_WRITER_ATTRIBUTE: &str = "writer";
/// The Number attribute holding a counter's (or a day's) views.
pub const COUNT_ATTRIBUTE: &str = "count";
/// The Number attribute holding a counter's (or a day's) visitors.
pub const VISITORS_ATTRIBUTE: &str = "visitors";
/// The table's TTL attribute (epoch seconds): markers, salts and key records expire by it.
pub const TTL_ATTRIBUTE: &str = "ttl";
/// Every hash key the service reads or writes, as `dynamodb:LeadingKeys` patterns.
pub const KEY_PATTERNS: &[&str] = &[
    "visitorCount",
    "counter#*",
    "day#*",
    "visitor#*",
    "salt",
    "idem#*",
    "registry",
    "site#*",
];
/// The sparse global secondary index that lists the counters: only counter items carry
/// its keys ([`LIST_ATTRIBUTE`] = [`LIST_VALUE`], [`NAME_ATTRIBUTE`] = the name), and it
/// projects keys only, so a page of the list reads the page and nothing else.
pub const COUNTER_INDEX: &str = "counters";
/// The index's hash key (String): [`LIST_VALUE`] on every counter item, absent elsewhere.
pub const LIST_ATTRIBUTE: &str = "list";
/// The one value of [`LIST_ATTRIBUTE`].
pub const LIST_VALUE: &str = "counter";
/// The index's range key (String): the counter's name, so the index is sorted by name.
pub const NAME_ATTRIBUTE: &str = "name";
/// Every DynamoDB operation the service calls (its throttling alarms watch these).
/// No `Scan`: every request reads what it answers and nothing else.
pub const OPERATIONS: &[&str] = &[
    "BatchGetItem",
    "GetItem",
    "Query",
    "TransactWriteItems",
    "UpdateItem",
];
/// How many items the site's day is spread over: each holds the writes of a quarter
/// of the site's counted views, so the site takes up to 4,000 counted views a second
/// (DynamoDB's 1,000 write units a second per item, four times) before its day items
/// throttle; a counter's own item still takes 1,000 a second.
pub const SITE_SHARDS: u32 = 4;
/// The item of the site's rolled-up visitors.
pub const SITE_TOTAL_ID: &str = "site#total";
/// The item that counts the counters in the index.
pub const REGISTRY_ID: &str = "registry";
/// The registry's Number attribute.
pub const REGISTRY_COUNTERS: &str = "counters";
/// The most days one read of `/totals` adds to the site's rolled-up visitors.
pub const ROLL_DAYS: i32 = 92;
/// How far back the roll-up of a table that has none starts.
pub const MAX_DAYS_BACK: i32 = 366;
/// The Number attribute of `site#total` that brings the site's views to every
/// counter's views: what the site's days do not hold (views from before them, and the
/// operator's changes).
pub const OFFSET_ATTRIBUTE: &str = "offset";
/// The day items' tallies of POSTs not counted.
pub const BOTS_ATTRIBUTE: &str = "bots";
pub const LIMITED_ATTRIBUTE: &str = "limited";
/// A marker's views that day (for the limit).
pub const MARKER_VIEWS_ATTRIBUTE: &str = "views";
/// The IAM actions those operations need: the function's policy grants exactly these.
/// `TransactWriteItems` has no action of its own: IAM authorises each of its items as
/// the `UpdateItem` it is (every item the service puts in one is an `Update`).
pub const ACTIONS: &[&str] = &["BatchGetItem", "GetItem", "Query", "UpdateItem"];
/// The actions that name their keys (limited to [`KEY_PATTERNS`]). `Query` reads the
/// list's index ([`COUNTER_INDEX`]), whose hash key is not an item's `id`, so it is
/// granted on that index alone, without a key condition.
pub const KEYED_ACTIONS: &[&str] = &["BatchGetItem", "GetItem", "UpdateItem"];
/// What the operator commands (`visitor-counter counters ...`) call, with the operator's
/// own credentials: `Query` (list), `Scan` (export, reindex, the days of a counter to
/// delete or rename), `GetItem` and a conditional `UpdateItem` (set), `BatchWriteItem`
/// (import, delete, rename), `TransactWriteItems` (delete, rename: the counter and the
/// registry together). Only [`OperatorStore`]'s methods call
/// `BatchWriteItem`, and the function never holds one (it serves a [`CounterStore`]),
/// so its role is not granted it.
pub const OPERATOR_OPERATIONS: &[&str] = &[
    "BatchWriteItem",
    "GetItem",
    "Query",
    "Scan",
    "TransactWriteItems",
    "UpdateItem",
];

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::ProvideCredentials;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConsumedCapacity, KeysAndAttributes, PutRequest,
    ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update, WriteRequest,
};

use super::operator::Records;
use super::{
    BoxError, CounterPage, CounterRecord, CounterStore, DayTotals, Filter, KeyRecord, Once,
    OperatorStore, RenameOutcome, SetOutcome, SiteTotals, StoreError, Totals, Visit, epoch_seconds,
    key_expiry,
};
use crate::config::TableName;
use crate::day::Day;
use crate::idempotency::IdempotencyKey;
use crate::names::CounterName;
use crate::visitor::{MARKER_DAYS, Marker, Salt};

/// Every store call answers within this, success or not (the contract promises 3 s).
pub const OPERATION_TIMEOUT: Duration = super::DEADLINE;
/// One read attempt; a read is retried (it changes nothing) until the operation times out.
pub const READ_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1000);
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts per call, for reads, and for writes that DynamoDB refused outright.
const MAX_ATTEMPTS: u32 = 3;
const INITIAL_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(250);

/// Every counting write: one view, and one visitor or none.
const ADD_VISIT: &str = "ADD #count :one, #visitors :visitors";

/// The names and values of [`ADD_VISIT`] and [`COUNT_CONDITION`], for an `UpdateItem`
/// and for a transaction's `Update` alike.
fn add_visit_attributes(
    new_visitor: bool,
) -> (HashMap<String, String>, HashMap<String, AttributeValue>) {
    let names = HashMap::from([
        ("#count".to_owned(), COUNT_ATTRIBUTE.to_owned()),
        ("#visitors".to_owned(), VISITORS_ATTRIBUTE.to_owned()),
    ]);
    let values = HashMap::from([
        (":one".to_owned(), number(1)),
        (":visitors".to_owned(), number(u64::from(new_visitor))),
        (":zero".to_owned(), number(0)),
        (":number".to_owned(), AttributeValue::S("N".to_owned())),
    ]);
    (names, values)
}

/// The condition of every counting `ADD`: the stored count, if any, is a non-negative
/// Number (anything else is left as it is for the operator).
const COUNT_CONDITION: &str =
    "attribute_not_exists(#count) OR (attribute_type(#count, :number) AND #count >= :zero)";

/// Error codes with which DynamoDB refuses a request without applying it (with
/// `TransactionConflictException` when the item is in a keyed visit's transaction at
/// that moment).
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
];

/// Why the DynamoDB store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The SDK's configuration chain found no region.
    #[error(
        "AWS_REGION: not set; the DynamoDB store needs a region (AWS_REGION, AWS_DEFAULT_REGION or a profile's region)"
    )]
    NoRegion,
}

/// The counters as DynamoDB items.
///
/// Reads go through a client with the SDK's standard retries. Counting writes go
/// through a client that never retries on its own: an `ADD` that timed out may have
/// landed, and retrying it would count one visit twice. [`DynamoDbStore::update`]
/// retries only the failures that prove the write was not applied (throttling,
/// connection refused). A keyed visit's transaction is sent again after a broken
/// connection too: its key's record makes a second one harmless (see
/// [`crate::idempotency`]).
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    reads: Client,
    writes: Client,
    table: String,
    usage: Arc<Usage>,
    marked: Arc<Mutex<Marked>>,
    /// Counters this process has seen in the index (at most [`MARKED_LIMIT`]): their
    /// visits skip the read that asks.
    indexed: Arc<Mutex<HashSet<CounterName>>>,
    /// Which of the site's day items the next counted view adds to.
    shard: Arc<AtomicU64>,
}

/// The site markers this process has written today, so that a repeat view it has
/// already marked skips the site marker's `UpdateItem` (1 write unit). (A counter's
/// marker is written on every view: it counts them, for the limit.) Only a marker
/// DynamoDB has confirmed is kept, and a marker lives until two
/// days after its day, so one kept for `day` exists in the table for every visit of
/// `day`: the visitor is not new, as the `UpdateItem` would have said. Keyed hashes
/// only, never an address; forgotten at the next day's first visit.
#[derive(Debug, Default)]
struct Marked {
    day: Option<Day>,
    markers: HashSet<Marker>,
}

/// At most this many markers are kept (16 bytes each, a few hundred KB at most);
/// visitors past it are marked in DynamoDB every time, as without the set.
const MARKED_LIMIT: usize = 8192;

impl Marked {
    fn contains(&self, day: Day, marker: &Marker) -> bool {
        self.day == Some(day) && self.markers.contains(marker)
    }

    fn insert(&mut self, day: Day, marker: Marker) {
        if self.day != Some(day) {
            self.day = Some(day);
            self.markers.clear();
        }
        if self.markers.len() < MARKED_LIMIT {
            self.markers.insert(marker);
        }
    }
}

/// What the store has asked of DynamoDB since it was made: calls per operation and
/// the capacity units DynamoDB reported (`ReturnConsumedCapacity = TOTAL`).
#[derive(Debug, Default)]
pub struct Usage {
    calls: [AtomicU64; 5],
    /// Thousandths of a capacity unit.
    read_units: AtomicU64,
    write_units: AtomicU64,
    transact_items: AtomicU64,
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
enum Op {
    BatchGetItem = 0,
    GetItem = 1,
    Query = 2,
    TransactWriteItems = 3,
    UpdateItem = 4,
}

impl Usage {
    fn call(&self, op: Op) {
        self.calls[op as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn consumed<'a>(&self, op: Op, capacity: impl IntoIterator<Item = &'a ConsumedCapacity>) {
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

impl DynamoDbStore {
    /// Loads the SDK's standard configuration (region, credentials,
    /// `AWS_ENDPOINT_URL_DYNAMODB`, ...) with this store's timeouts and retries.
    pub async fn connect(table: &TableName) -> Result<Self, ConnectError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        // Lambda puts the function's credentials in the environment, where the default
        // chain looks first. Naming that provider when it has credentials gives the
        // same credentials without building the rest of the chain (profile files, an
        // STS client for web identity, ECS, IMDS), which is most of `load`'s init time.
        let environment = EnvironmentVariableCredentialsProvider::new();
        if environment.provide_credentials().await.is_ok() {
            loader = loader.credentials_provider(environment);
        }
        // The region from the environment (Lambda sets AWS_REGION) or a profile, not
        // from EC2's metadata endpoint: the default chain's last resort, which off EC2
        // logs its failures (or stalls) before the one line saying the region is missing.
        let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(ProfileFileRegionProvider::new())
            .region()
            .await
            .ok_or(ConnectError::NoRegion)?;
        loader = loader.region(region);
        Self::connect_with(loader, table).await
    }

    /// As [`connect`](Self::connect), from a loader the caller has set up
    /// (tests point it at DynamoDB Local).
    pub async fn connect_with(
        loader: aws_config::ConfigLoader,
        table: &TableName,
    ) -> Result<Self, ConnectError> {
        let sdk = loader
            .http_client(http_client())
            // Stalled-stream protection fails a body that moves no bytes for 5 s; every
            // call here is over, answered or not, within OPERATION_TIMEOUT (3 s), so it
            // could never act, and its interceptors and body wrappers cost every call.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(READ_ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            )
            .load()
            .await;
        if sdk.region().is_none() {
            return Err(ConnectError::NoRegion);
        }
        Ok(Self::from_sdk_config(&sdk, table))
    }

    pub fn from_sdk_config(sdk: &SdkConfig, table: &TableName) -> Self {
        let writes = aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    // One attempt may use the whole budget: cutting a slow write short
                    // would not undo it, only hide whether it landed.
                    .operation_attempt_timeout(OPERATION_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        Self {
            reads: Client::new(sdk),
            writes: Client::from_conf(writes),
            table: table.as_str().to_owned(),
            usage: Arc::default(),
            marked: Arc::default(),
            indexed: Arc::default(),
            shard: Arc::default(),
        }
    }

    /// Opens the connection (TLS included) before the first visit needs it.
    /// A failure here is logged, not fatal: the next request tries again.
    pub async fn warm_up(&self) {
        if let Err(error) = self.get(&CounterName::site()).await {
            tracing::warn!(error = %crate::error::error_chain(&error), "DynamoDB warm-up read failed");
        }
    }

    /// What the store has asked of DynamoDB so far.
    pub fn usage(&self) -> UsageSnapshot {
        self.usage.snapshot()
    }

    /// One counting `UpdateItem`, retried only when the failure proves it was not
    /// applied, within [`OPERATION_TIMEOUT`].
    #[allow(
        clippy::result_large_err,
        reason = "the SDK's own error type, classified by the caller"
    )]
    async fn update(
        &self,
        request: UpdateItemFluentBuilder,
    ) -> Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>> {
        let request = request
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let attempts = async {
            let mut attempt = 1;
            loop {
                self.usage.call(Op::UpdateItem);
                // Every SDK call is boxed: its future holds the SDK's whole orchestrator
                // and is kilobytes large. Held inline, it would make each future around
                // it (the store's, the app's, the runtime's) as large, copied whole each
                // time one is moved: 5% of a warm invocation's instructions, measured.
                match Box::pin(request.clone().send()).await {
                    Ok(output) => {
                        self.usage
                            .consumed(Op::UpdateItem, output.consumed_capacity());
                        return Ok(output);
                    }
                    Err(error) if attempt < MAX_ATTEMPTS && never_applied(&error) => {
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        tokio::time::timeout(OPERATION_TIMEOUT, attempts)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(SdkError::timeout_error(
                    "UpdateItem did not finish within the operation timeout",
                ))
            })
    }

    /// `ADD count :one, visitors :visitors` on a counter or a day item. A stored
    /// value that is not a count (a string, a negative number) is left as it is: the
    /// condition fails and nothing is written.
    fn add_visit(
        &self,
        id: String,
        new_visitor: bool,
        returns: ReturnValue,
    ) -> UpdateItemFluentBuilder {
        let (names, values) = add_visit_attributes(new_visitor);
        self.writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(id))
            .update_expression(ADD_VISIT)
            .condition_expression(COUNT_CONDITION)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(returns)
    }

    /// Whether this process has written `marker` for `day` (see [`Marked`]).
    fn marked_today(&self, day: Day, marker: &Marker) -> bool {
        self.marked
            .lock()
            .is_ok_and(|marked| marked.contains(day, marker))
    }

    /// Marks the visitor on the whole site on `day`; whether the mark is new.
    async fn mark_site(&self, day: Day, marker: Option<&Marker>) -> Result<bool, StoreError> {
        let Some(marker) = marker else {
            return Ok(false);
        };
        if self.marked_today(day, marker) {
            return Ok(false);
        }
        let expires = day.plus(MARKER_DAYS).start_epoch_seconds();
        let request = self
            .writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(marker_id(day, marker)))
            .update_expression("SET #ttl = :ttl")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
            .return_values(ReturnValue::UpdatedOld);
        let output = self.update(request).await.map_err(|e| classify(e, false))?;
        if let Ok(mut marked) = self.marked.lock() {
            marked.insert(day, *marker);
        }
        Ok(output
            .attributes()
            .is_none_or(|old| !old.contains_key(TTL_ATTRIBUTE)))
    }

    /// Counts the visitor's view of the counter on its marker, unless the marker has
    /// counted `limit` views that day.
    async fn mark_counter(&self, visit: &Visit) -> Result<Mark, StoreError> {
        let Some(marker) = &visit.marker else {
            return Ok(Mark::Unknown);
        };
        let expires = visit.day.plus(MARKER_DAYS).start_epoch_seconds();
        let request = self
            .writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(marker_id(visit.day, marker)))
            .update_expression("SET #ttl = :ttl ADD #views :one")
            .condition_expression("attribute_not_exists(#views) OR #views < :limit")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#views", MARKER_VIEWS_ATTRIBUTE)
            .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":limit", number(visit.limits.views_per_visitor))
            .return_values(ReturnValue::UpdatedOld);
        match self.update(request).await {
            Ok(output) => Ok(
                if output
                    .attributes()
                    .is_none_or(|old| !old.contains_key(TTL_ATTRIBUTE))
                {
                    Mark::New
                } else {
                    Mark::Repeat
                },
            ),
            Err(SdkError::ServiceError(service))
                if service.err().code() == Some("ConditionalCheckFailedException") =>
            {
                Ok(Mark::Limited)
            }
            Err(error) => Err(classify(error, false)),
        }
    }

    /// Whether the counter is in the list's index (asked of DynamoDB once per process).
    async fn is_indexed(&self, counter: &CounterName) -> Result<bool, StoreError> {
        if self
            .indexed
            .lock()
            .is_ok_and(|indexed| indexed.contains(counter))
        {
            return Ok(true);
        }
        self.is_indexed_now(counter).await
    }

    fn remember_indexed(&self, counter: &CounterName) {
        if let Ok(mut indexed) = self.indexed.lock()
            && indexed.len() < MARKED_LIMIT
        {
            indexed.insert(counter.clone());
        }
    }

    /// Puts a counter in the index, counting it against the cap: first the registry's
    /// conditional `ADD` (refused at the cap: the counter is not created), then the
    /// counter's index keys, only if no other visit put them there first (then the
    /// registry's count is given back). Whether the counter may count (false: the cap
    /// is reached and it was not created).
    ///
    /// Two writes, not one transaction: DynamoDB Local fails a transaction that writes
    /// an index's keys (InternalFailure), and the tests run on it. The cost: a process
    /// stopped between the two writes leaves the registry one too high, until
    /// `visitor-counter counters reindex` counts again. Either write sent again is
    /// harmless: the registry's `ADD` is only sent again when DynamoDB refused it, and
    /// the keys' write is absolute.
    async fn index_counter(&self, counter: &CounterName, max: u64) -> Result<bool, StoreError> {
        let claim = self
            .writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(REGISTRY_ID.to_owned()))
            .update_expression("ADD #counters :one")
            .condition_expression("attribute_not_exists(#counters) OR #counters < :max")
            .expression_attribute_names("#counters", REGISTRY_COUNTERS)
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":max", number(max));
        match self.update(claim).await {
            Ok(_) => {}
            Err(SdkError::ServiceError(service))
                if service.err().code() == Some("ConditionalCheckFailedException") =>
            {
                // At the cap, unless another visit has put this counter in the index
                // meanwhile (then it exists, and counts).
                return self.is_indexed_now(counter).await;
            }
            Err(error) => return Err(classify(error, false)),
        }
        let keys = self
            .writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(counter_id(counter)))
            .update_expression("SET #list = :list, #name = :name")
            .condition_expression("attribute_not_exists(#list)")
            .expression_attribute_names("#list", LIST_ATTRIBUTE)
            .expression_attribute_names("#name", NAME_ATTRIBUTE)
            .expression_attribute_values(":list", AttributeValue::S(LIST_VALUE.to_owned()))
            .expression_attribute_values(":name", AttributeValue::S(counter.to_string()));
        let given_back = match self.update(keys).await {
            Ok(_) => false,
            Err(SdkError::ServiceError(service))
                if service.err().code() == Some("ConditionalCheckFailedException") =>
            {
                true
            }
            Err(error) => {
                self.give_back_claim().await;
                return Err(classify(error, true));
            }
        };
        if given_back {
            // Another visit put it in the index first: its claim counts it.
            self.give_back_claim().await;
        }
        self.remember_indexed(counter);
        Ok(true)
    }

    /// Whether the counter is in the index, asked of DynamoDB.
    async fn is_indexed_now(&self, counter: &CounterName) -> Result<bool, StoreError> {
        let item = self
            .get_item(counter_id(counter), &[LIST_ATTRIBUTE])
            .await?;
        let indexed = item.is_some_and(|item| item.contains_key(LIST_ATTRIBUTE));
        if indexed {
            self.remember_indexed(counter);
        }
        Ok(indexed)
    }

    /// Takes back a registry claim that made no counter (logged if it fails: the
    /// registry is then one too high until `counters reindex`).
    async fn give_back_claim(&self) {
        let request = self
            .writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(REGISTRY_ID.to_owned()))
            .update_expression("ADD #counters :minus")
            .expression_attribute_names("#counters", REGISTRY_COUNTERS)
            .expression_attribute_values(":minus", AttributeValue::N("-1".to_owned()));
        if let Err(error) = self.update(request).await {
            tracing::warn!(
                error = %crate::error::error_chain(&classify(error, true)),
                "a claim on the registry was not given back; `counters reindex` counts again"
            );
        }
    }

    /// One of the site's day items, in turn.
    fn site_day_id(&self, day: Day) -> String {
        let shard = self.shard.fetch_add(1, Ordering::Relaxed) % u64::from(SITE_SHARDS);
        site_day_id(day, shard as u32)
    }

    /// `ADD` to the numbers of one item (a day, a site day); `None` when there is
    /// nothing to add.
    fn add_numbers(&self, id: String, numbers: &[(&str, u64)]) -> Option<UpdateItemFluentBuilder> {
        let numbers: Vec<&(&str, u64)> = numbers.iter().filter(|(_, n)| *n > 0).collect();
        if numbers.is_empty() {
            return None;
        }
        let mut request = self
            .writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(id))
            .return_values(ReturnValue::None);
        let mut parts = Vec::new();
        for (i, (attribute, n)) in numbers.iter().enumerate() {
            parts.push(format!("#n{i} :v{i}"));
            request = request
                .expression_attribute_names(format!("#n{i}"), *attribute)
                .expression_attribute_values(format!(":v{i}"), number(*n));
        }
        Some(request.update_expression(format!("ADD {}", parts.join(", "))))
    }

    /// Sends an `ADD` of tallies or site numbers; a failure is logged, not answered:
    /// the visit itself is counted (or refused) either way, and answering an error
    /// would have it retried.
    async fn add_logged(&self, request: Option<UpdateItemFluentBuilder>, what: &'static str) {
        if let Some(request) = request
            && let Err(error) = self.update(request).await
        {
            tracing::warn!(
                error = %crate::error::error_chain(&classify(error, true)),
                "{what} was not written"
            );
        }
    }

    /// Tallies a POST not counted: on the counter's day when `exists`, and on the site's.
    async fn tally(&self, counter: &CounterName, day: Day, filter: Filter, exists: bool) {
        let attribute = match filter {
            Filter::Bot => BOTS_ATTRIBUTE,
            Filter::Limited => LIMITED_ATTRIBUTE,
        };
        let site = self.add_logged(
            self.add_numbers(self.site_day_id(day), &[(attribute, 1)]),
            "the site day's tally",
        );
        let own = async {
            if exists {
                self.add_logged(
                    self.add_numbers(day_id(counter, day), &[(attribute, 1)]),
                    "the counter day's tally",
                )
                .await;
            }
        };
        tokio::join!(site, own);
    }

    async fn get_item(
        &self,
        id: String,
        attributes: &[&str],
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let mut request = self
            .reads
            .get_item()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(id))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let mut projection = Vec::new();
        for (i, attribute) in attributes.iter().enumerate() {
            projection.push(format!("#a{i}"));
            request = request.expression_attribute_names(format!("#a{i}"), *attribute);
        }
        if !projection.is_empty() {
            request = request.projection_expression(projection.join(", "));
        }
        self.usage.call(Op::GetItem);
        let output = Box::pin(request.send())
            .await
            .map_err(|e| classify(e, false))?;
        self.usage.consumed(Op::GetItem, output.consumed_capacity());
        Ok(output.item)
    }

    /// The `salt` item's salt, if it is `day`'s (or a later day's, when this
    /// process's clock is behind another's).
    async fn stored_salt(&self, day: Day) -> Result<Option<Salt>, StoreError> {
        let item = self.get_item(SALT_ID.to_owned(), &["day", "salt"]).await?;
        Ok(item.and_then(|item| salt_of(&item, day)))
    }

    /// The day items of `ids` (days or site days) that exist, by id: `BatchGetItem`s of
    /// 100 keys, all in parallel.
    async fn day_items(&self, ids: &[String]) -> Result<HashMap<String, DayTotals>, StoreError> {
        let attributes = [
            COUNT_ATTRIBUTE,
            VISITORS_ATTRIBUTE,
            BOTS_ATTRIBUTE,
            LIMITED_ATTRIBUTE,
        ];
        let chunks = ids
            .chunks(100)
            .map(|chunk| self.batch_get(chunk.to_vec(), &attributes));
        let mut found = HashMap::new();
        for chunk in futures_util::future::join_all(chunks).await {
            for (id, item) in chunk? {
                found.insert(id, day_totals_of(&item)?);
            }
        }
        Ok(found)
    }

    /// A view past the visitor's limit: tallied, and answered the counter's totals.
    async fn limited(&self, visit: &Visit) -> Result<Once, StoreError> {
        let (item, ()) = tokio::join!(
            self.get_item(
                counter_id(&visit.counter),
                &[COUNT_ATTRIBUTE, VISITORS_ATTRIBUTE]
            ),
            // The marker has counted views of this counter: it exists.
            self.tally(&visit.counter, visit.day, Filter::Limited, true),
        );
        let totals = item?.as_ref().map_or(Ok(Totals::default()), totals_of)?;
        Ok(Once::Filtered(Filter::Limited, totals))
    }

    /// Up to `count` names of the index after `after`, in name order: `Query` pages of
    /// the keys-only index, each read costing what it returns.
    async fn index_page(
        &self,
        after: Option<&CounterName>,
        count: usize,
    ) -> Result<Vec<CounterName>, StoreError> {
        let mut names = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let wanted = count.saturating_sub(names.len());
            if wanted == 0 {
                return Ok(names);
            }
            let mut request = self
                .reads
                .query()
                .table_name(&self.table)
                .index_name(COUNTER_INDEX)
                .expression_attribute_names("#list", LIST_ATTRIBUTE)
                .expression_attribute_values(":list", AttributeValue::S(LIST_VALUE.to_owned()))
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            request = match after {
                Some(after) => request
                    .key_condition_expression("#list = :list AND #name > :after")
                    .expression_attribute_names("#name", NAME_ATTRIBUTE)
                    .expression_attribute_values(":after", AttributeValue::S(after.to_string())),
                None => request.key_condition_expression("#list = :list"),
            };
            self.usage.call(Op::Query);
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
            self.usage.consumed(Op::Query, output.consumed_capacity());
            for item in output.items() {
                if let Some(AttributeValue::S(name)) = item.get(NAME_ATTRIBUTE)
                    && let Ok(name) = CounterName::parse(name)
                {
                    names.push(name);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(names),
            }
        }
    }

    /// The sum of every counter's views, read from the list page by page: what the
    /// site's `offset` is made from (operator commands and the roll-up's first read).
    async fn all_views(&self) -> Result<u64, StoreError> {
        let mut views = 0u64;
        let mut after: Option<CounterName> = None;
        loop {
            let page = self.list(after.as_ref(), super::PAGE_SIZE).await?;
            views = page
                .counters
                .iter()
                .fold(views, |sum, (_, totals)| sum.saturating_add(totals.views));
            after = page.counters.last().map(|(name, _)| name.clone());
            if !page.more || after.is_none() {
                return Ok(views);
            }
        }
    }

    /// Sets the site's `offset` so that its views equal every counter's views now: what
    /// the site's days do not hold (views counted before this version kept site days,
    /// and what the operator set, imported or deleted). Run by the first read of
    /// `/totals` and after every operator command that changes a counter's views; a
    /// visit counted while it runs may be missed by one.
    pub async fn recount_site_views(&self, today: Day) -> Result<(), StoreError> {
        let (rollup, counters) = tokio::join!(self.site_rollup(today), self.all_views());
        let (rollup, counters) = (rollup?, counters?);
        let offset = i128::from(counters) - i128::from(rollup.views);
        let request = self
            .reads
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(SITE_TOTAL_ID.to_owned()))
            .update_expression("SET #offset = :offset")
            .expression_attribute_names("#offset", OFFSET_ATTRIBUTE)
            .expression_attribute_values(":offset", AttributeValue::N(offset.to_string()));
        self.usage.call(Op::UpdateItem);
        Box::pin(request.send())
            .await
            .map_err(|e| classify(e, false))?;
        Ok(())
    }

    /// The site's numbers summed over every day up to `today`: the rolled-up sums in
    /// `site#total` (every day up to its `through`) and the days since; with its
    /// `offset`, if it has one.
    ///
    /// A day's site items take writes until the day is over (and for the moments a
    /// visit answered at midnight takes to land), so the roll-up only takes days two
    /// days old or older, which no visit writes any more. It moves forward by at most
    /// [`ROLL_DAYS`] days per read, with a condition on its `through`, so two readers
    /// rolling at once add each day once: the loser's write is refused and it reads
    /// again. A table that has none yet starts it from [`MAX_DAYS_BACK`] days ago:
    /// the site's days exist only since this version first counted.
    async fn site_rollup(&self, today: Day) -> Result<Rollup, StoreError> {
        let through_limit = today.plus(-2);
        // Enough rounds to roll the longest start forward, and a few races.
        for _ in 0..(MAX_DAYS_BACK / ROLL_DAYS + 4) {
            let item = self
                .get_item(
                    SITE_TOTAL_ID.to_owned(),
                    &[
                        "through",
                        VISITORS_ATTRIBUTE,
                        COUNT_ATTRIBUTE,
                        OFFSET_ATTRIBUTE,
                    ],
                )
                .await?;
            let (through, rolled, offset) = match &item {
                Some(item) => (
                    match item.get("through") {
                        Some(AttributeValue::S(day)) => Day::parse(day),
                        _ => None,
                    },
                    totals_of(item)?,
                    match item.get(OFFSET_ATTRIBUTE) {
                        Some(AttributeValue::N(n)) => n.parse::<i64>().ok(),
                        _ => None,
                    },
                ),
                None => (None, Totals::default(), None),
            };
            let first = through.map_or(today.plus(-MAX_DAYS_BACK), |day| day.plus(1));
            if first > through_limit {
                // Up to date: add the days since.
                let since = self.site_days(first, today).await?;
                return Ok(since.iter().fold(
                    Rollup {
                        views: rolled.views,
                        visitors: rolled.visitors,
                        offset,
                    },
                    |sum, day| Rollup {
                        views: sum.views.saturating_add(day.views),
                        visitors: sum.visitors.saturating_add(day.visitors),
                        offset,
                    },
                ));
            }
            let last = first.plus(ROLL_DAYS - 1).min(through_limit);
            let added =
                self.site_days(first, last)
                    .await?
                    .iter()
                    .fold(Totals::default(), |sum, day| Totals {
                        views: sum.views.saturating_add(day.views),
                        visitors: sum.visitors.saturating_add(day.visitors),
                    });
            let condition = match through {
                Some(_) => "#through = :old",
                None => "attribute_not_exists(#through)",
            };
            let mut request = self
                .reads
                .update_item()
                .table_name(&self.table)
                .key(HASH_KEY, AttributeValue::S(SITE_TOTAL_ID.to_owned()))
                .update_expression("SET #through = :through ADD #visitors :visitors, #count :views")
                .condition_expression(condition)
                .expression_attribute_names("#through", "through")
                .expression_attribute_names("#visitors", VISITORS_ATTRIBUTE)
                .expression_attribute_names("#count", COUNT_ATTRIBUTE)
                .expression_attribute_values(":through", AttributeValue::S(last.to_string()))
                .expression_attribute_values(":visitors", number(added.visitors))
                .expression_attribute_values(":views", number(added.views));
            if let Some(old) = through {
                request =
                    request.expression_attribute_values(":old", AttributeValue::S(old.to_string()));
            }
            self.usage.call(Op::UpdateItem);
            match Box::pin(request.send()).await {
                // Rolled (or another reader did): read it again.
                Ok(_) => {}
                Err(SdkError::ServiceError(service))
                    if service.err().code() == Some("ConditionalCheckFailedException") => {}
                Err(error) => return Err(classify(error, false)),
            }
        }
        Err(StoreError::Unavailable(
            "the site's numbers are being rolled up; try again".into(),
        ))
    }

    /// The items of `ids` (at most 100, no two alike) that exist, by id, with `attributes`
    /// (and the id): one consistent `BatchGetItem`, asked again for any keys DynamoDB
    /// leaves unprocessed (under load it may).
    async fn batch_get(
        &self,
        ids: Vec<String>,
        attributes: &[&str],
    ) -> Result<HashMap<String, HashMap<String, AttributeValue>>, StoreError> {
        let mut found = HashMap::new();
        let keys: Vec<HashMap<String, AttributeValue>> = ids
            .into_iter()
            .map(|id| HashMap::from([(HASH_KEY.to_owned(), AttributeValue::S(id))]))
            .collect();
        let mut projection = vec!["#id".to_owned()];
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .expression_attribute_names("#id", HASH_KEY);
        for (i, attribute) in attributes.iter().enumerate() {
            projection.push(format!("#a{i}"));
            pending = pending.expression_attribute_names(format!("#a{i}"), *attribute);
        }
        let mut pending = pending
            .projection_expression(projection.join(", "))
            .build()
            .map_err(|e| failed(e.into()))?;
        for attempt in 1..=MAX_ATTEMPTS + 2 {
            self.usage.call(Op::BatchGetItem);
            let request = self
                .reads
                .batch_get_item()
                .request_items(&self.table, pending.clone())
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
            self.usage
                .consumed(Op::BatchGetItem, output.consumed_capacity());
            for item in output
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                if let Some(AttributeValue::S(id)) = item.get(HASH_KEY) {
                    found.insert(id.clone(), item.clone());
                }
            }
            match output.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                Some(unprocessed) if !unprocessed.keys().is_empty() => {
                    pending = unprocessed.clone();
                    tokio::time::sleep(backoff(attempt)).await;
                }
                _ => return Ok(found),
            }
        }
        Err(StoreError::Unavailable(
            "BatchGetItem left keys unprocessed after every attempt".into(),
        ))
    }

    /// The transaction that counts a keyed visit: the key's record (only if it has none
    /// that is live at `now`), the counter, the day, the visitor's marker (only if it is
    /// still new, or still under the limit), one of the site's day items and, for a
    /// new site visitor, the site marker (only if still new). The order is the one
    /// [`Cancelled::of`] reads the reasons in.
    fn visit_once_items(
        &self,
        visit: &Visit,
        key_id: &str,
        writer: &str,
        decided: Decided,
        now: u64,
        expires: u64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let Decided {
            new_visitor,
            site_new,
            answer,
        } = decided;
        let record = Update::builder()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(key_id.to_owned()))
            .update_expression(
                "SET #counter = :counter, #count = :views, #visitors = :visitors, #ttl = :expires, #writer = :writer",
            )
            .condition_expression("attribute_not_exists(#counter) OR #ttl <= :now")
            .expression_attribute_names("#counter", KEY_COUNTER_ATTRIBUTE)
            .expression_attribute_names("#writer", KEY_WRITER_ATTRIBUTE)
            .expression_attribute_values(":writer", AttributeValue::S(writer.to_owned()))
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .expression_attribute_names("#visitors", VISITORS_ATTRIBUTE)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":counter", AttributeValue::S(visit.counter.to_string()))
            .expression_attribute_values(":views", number(answer.views))
            .expression_attribute_values(":visitors", number(answer.visitors))
            .expression_attribute_values(":expires", number(expires))
            .expression_attribute_values(":now", number(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let add = |id: String| {
            let (names, values) = add_visit_attributes(new_visitor);
            Update::builder()
                .table_name(&self.table)
                .key(HASH_KEY, AttributeValue::S(id))
                .update_expression(ADD_VISIT)
                .condition_expression(COUNT_CONDITION)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
        };
        let marker_ttl = AttributeValue::N(
            visit
                .day
                .plus(MARKER_DAYS)
                .start_epoch_seconds()
                .to_string(),
        );
        let mut updates = vec![
            record,
            add(counter_id(&visit.counter)),
            add(day_id(&visit.counter, visit.day)),
        ];
        if let Some(marker) = &visit.marker {
            let condition = if new_visitor {
                "attribute_not_exists(#ttl)"
            } else {
                "attribute_not_exists(#views) OR #views < :limit"
            };
            let mut update = Update::builder()
                .table_name(&self.table)
                .key(HASH_KEY, AttributeValue::S(marker_id(visit.day, marker)))
                .update_expression("SET #ttl = :ttl ADD #views :one")
                .condition_expression(condition)
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_names("#views", MARKER_VIEWS_ATTRIBUTE)
                .expression_attribute_values(":ttl", marker_ttl.clone())
                .expression_attribute_values(":one", number(1));
            if !new_visitor {
                update = update
                    .expression_attribute_values(":limit", number(visit.limits.views_per_visitor));
            }
            updates.push(update);
        }
        updates.push(
            Update::builder()
                .table_name(&self.table)
                .key(HASH_KEY, AttributeValue::S(self.site_day_id(visit.day)))
                .update_expression("ADD #count :one, #visitors :visitors")
                .expression_attribute_names("#count", COUNT_ATTRIBUTE)
                .expression_attribute_names("#visitors", VISITORS_ATTRIBUTE)
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":visitors", number(u64::from(site_new))),
        );
        if let (true, Some(marker)) = (site_new, &visit.site_marker) {
            updates.push(
                Update::builder()
                    .table_name(&self.table)
                    .key(HASH_KEY, AttributeValue::S(marker_id(visit.day, marker)))
                    .update_expression("SET #ttl = :ttl")
                    .condition_expression("attribute_not_exists(#ttl)")
                    .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                    .expression_attribute_values(":ttl", marker_ttl),
            );
        }
        updates
            .into_iter()
            .map(|update| {
                let update = update.build().map_err(|e| failed(e.into()))?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    /// Every counter item (and, with `days`, every day item) of the table, by one Scan
    /// of it page after page: each item's id and numbers. Only the operator commands
    /// call it (export, reindex), with the operator's credentials.
    async fn scan_numbers(&self, days: bool) -> Result<Vec<(String, Totals)>, StoreError> {
        let filter = if days {
            "begins_with(#id, :counter) OR begins_with(#id, :day) OR #id = :site"
        } else {
            "begins_with(#id, :counter) OR #id = :site"
        };
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .reads
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression(filter)
                .projection_expression("#id, #count, #visitors")
                .expression_attribute_names("#id", HASH_KEY)
                .expression_attribute_names("#count", COUNT_ATTRIBUTE)
                .expression_attribute_names("#visitors", VISITORS_ATTRIBUTE)
                .expression_attribute_values(
                    ":counter",
                    AttributeValue::S(COUNTER_PREFIX.to_owned()),
                )
                .expression_attribute_values(":site", AttributeValue::S(COUNTER_ID.to_owned()))
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            if days {
                request = request
                    .expression_attribute_values(":day", AttributeValue::S(DAY_PREFIX.to_owned()));
            }
            // The operator's, never a request's: not among OPERATIONS.
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
            for item in output.items() {
                if let Some(AttributeValue::S(id)) = item.get(HASH_KEY) {
                    found.push((id.clone(), totals_of(item)?));
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}

fn failed(error: BoxError) -> StoreError {
    StoreError::Failed(error)
}

/// What the visitor's marker on the counter says of this view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// No visitor is known (no client address): the view counts, no visitor.
    Unknown,
    /// The visitor's first view of the counter today.
    New,
    Repeat,
    /// The visitor has counted the limit today: this view does not count.
    Limited,
}

/// The reasons DynamoDB gave for cancelling a transaction, if it did.
fn cancellation_reasons(
    error: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> Option<Vec<CancellationReason>> {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                Some(cancelled.cancellation_reasons().to_vec())
            }
            _ => None,
        },
        _ => None,
    }
}

/// One of the site's day items.
pub fn site_day_id(day: Day, shard: u32) -> String {
    format!("site#{day}#{shard}")
}

/// A day item's four numbers; missing ones are 0.
fn day_totals_of(item: &HashMap<String, AttributeValue>) -> Result<DayTotals, StoreError> {
    let totals = totals_of(item)?;
    let read = |attribute: &str| match item.get(attribute) {
        Some(AttributeValue::N(number)) => number.parse().unwrap_or(0),
        _ => 0,
    };
    Ok(DayTotals {
        views: totals.views,
        visitors: totals.visitors,
        bots: read(BOTS_ATTRIBUTE),
        limited: read(LIMITED_ATTRIBUTE),
    })
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// The item of a counter: `site` keeps v1's item.
pub fn counter_id(counter: &CounterName) -> String {
    if counter.is_site() {
        COUNTER_ID.to_owned()
    } else {
        format!("{COUNTER_PREFIX}{counter}")
    }
}

/// The item of a counter's day.
pub fn day_id(counter: &CounterName, day: Day) -> String {
    format!("{DAY_PREFIX}{counter}#{day}")
}

/// The item of an `Idempotency-Key`'s record.
pub fn key_id(key: &IdempotencyKey) -> String {
    format!("{KEY_PREFIX}{}", key.hex())
}

/// A key's record, if it is still live at `now` (TTL deletes expired items only
/// within a day or two, so an item may outlive its `ttl`).
fn live_record(
    item: &HashMap<String, AttributeValue>,
    now: u64,
) -> Option<Result<KeyRecord, StoreError>> {
    let expires = match item.get(TTL_ATTRIBUTE) {
        Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
        _ => None,
    };
    if expires.is_some_and(|expires| expires <= now) {
        return None;
    }
    let counter = match item.get(KEY_COUNTER_ATTRIBUTE) {
        Some(AttributeValue::S(name)) => CounterName::parse(name).ok(),
        _ => None,
    };
    Some(match (counter, expires) {
        (Some(counter), Some(_)) => totals_of(item).map(|totals| KeyRecord { counter, totals }),
        _ => Err(failed(
            format!("a key's record is not one this service writes: {item:?}").into(),
        )),
    })
}

/// A random name for one request's writes of a key's record.
fn writer_id() -> Result<String, StoreError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| failed("the system's random generator failed".into()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The site's numbers over every day up to today (see [`DynamoDbStore::site_rollup`]).
#[derive(Debug, Clone, Copy)]
struct Rollup {
    views: u64,
    visitors: u64,
    /// What every counter's views hold beyond the site's days (see
    /// [`DynamoDbStore::recount_site_views`]); `None` before its first count.
    offset: Option<i64>,
}

/// What a keyed visit's read decided: who is new, and the answer to keep.
#[derive(Debug, Clone, Copy)]
struct Decided {
    new_visitor: bool,
    site_new: bool,
    answer: Totals,
}

/// Why DynamoDB cancelled a keyed visit's transaction (its reasons are in the order
/// of [`DynamoDbStore::visit_once_items`]: record, counter, day, then the markers and
/// the site's day).
enum Cancelled {
    /// The key has a live record: it was counted before (the read that follows
    /// replays it).
    Recorded,
    /// Another transaction is writing the key's record at this moment.
    KeyInUse,
    /// The counter or the day holds something that is not a count.
    NotACount,
    /// The marker appeared since it was read.
    Marked,
    /// Another transaction held an item, or DynamoDB throttled: worth sending again.
    Busy,
    /// Anything else (a validation error, say): a fault of the request, not worth
    /// sending again.
    Refused,
}

impl Cancelled {
    fn of(reasons: &[CancellationReason]) -> Self {
        let code = |i: usize| reasons.get(i).and_then(CancellationReason::code);
        match code(0) {
            Some("ConditionalCheckFailed") => {
                return Cancelled::Recorded;
            }
            Some("TransactionConflict") => return Cancelled::KeyInUse,
            _ => {}
        }
        if matches!(code(1), Some("ConditionalCheckFailed"))
            || matches!(code(2), Some("ConditionalCheckFailed"))
        {
            Cancelled::NotACount
        } else if (3..reasons.len()).any(|i| matches!(code(i), Some("ConditionalCheckFailed"))) {
            Cancelled::Marked
        } else if reasons.iter().all(|reason| {
            matches!(
                reason.code(),
                None | Some(
                    "None"
                        | "TransactionConflict"
                        | "ThrottlingError"
                        | "ProvisionedThroughputExceeded"
                        | "RequestLimitExceeded"
                )
            )
        }) {
            Cancelled::Busy
        } else {
            Cancelled::Refused
        }
    }
}

/// The item of a visitor's marker.
pub fn marker_id(day: Day, marker: &Marker) -> String {
    format!("{VISITOR_PREFIX}{day}#{}", marker.hex())
}

/// The counter an item holds, if it is a counter item.
fn counter_of(id: &str) -> Option<CounterName> {
    if id == COUNTER_ID {
        return Some(CounterName::site());
    }
    let name = id.strip_prefix(COUNTER_PREFIX)?;
    // `counter#site` is not written by this service; `site` is `visitorCount`.
    CounterName::parse(name).ok().filter(|name| !name.is_site())
}

fn salt_of(item: &HashMap<String, AttributeValue>, day: Day) -> Option<Salt> {
    let stored_day = match item.get("day") {
        Some(AttributeValue::S(text)) => Day::parse(text)?,
        _ => return None,
    };
    match item.get("salt") {
        Some(AttributeValue::B(bytes)) if stored_day >= day => Salt::from_slice(bytes.as_ref()),
        _ => None,
    }
}

/// An item's `count` and `visitors`; missing ones are 0.
fn totals_of(item: &HashMap<String, AttributeValue>) -> Result<Totals, StoreError> {
    let read = |attribute: &str| match item.get(attribute) {
        None => Ok(0),
        Some(AttributeValue::N(number)) => number
            .parse()
            .map_err(|_| StoreError::NotACount(format!("the Number {number:?} in {attribute}"))),
        Some(other) => Err(StoreError::NotACount(format!("{other:?} in {attribute}"))),
    };
    Ok(Totals {
        views: read(COUNT_ATTRIBUTE)?,
        visitors: read(VISITORS_ATTRIBUTE)?,
    })
}

impl CounterStore for DynamoDbStore {
    async fn get(&self, counter: &CounterName) -> Result<Totals, StoreError> {
        let item = self
            .get_item(counter_id(counter), &[COUNT_ATTRIBUTE, VISITORS_ATTRIBUTE])
            .await?;
        // Never visited: reads as zeros, and nothing is written.
        item.map_or(Ok(Totals::default()), |item| totals_of(&item))
    }

    async fn record(&self, visit: &Visit) -> Result<Once, StoreError> {
        let (mark, site_new, indexed) = tokio::join!(
            self.mark_counter(visit),
            self.mark_site(visit.day, visit.site_marker.as_ref()),
            self.is_indexed(&visit.counter),
        );
        let mark = mark?;
        if mark == Mark::Limited {
            return self.limited(visit).await;
        }
        let new_visitor = mark == Mark::New;
        let site_new = site_new?;
        if !indexed?
            && !self
                .index_counter(&visit.counter, visit.limits.max_counters)
                .await?
        {
            return Ok(Once::TooManyCounters);
        }
        let counter = self.update(self.add_visit(
            counter_id(&visit.counter),
            new_visitor,
            ReturnValue::UpdatedNew,
        ));
        let day = self.update(self.add_visit(
            day_id(&visit.counter, visit.day),
            new_visitor,
            ReturnValue::None,
        ));
        let site = self.add_logged(
            self.add_numbers(
                self.site_day_id(visit.day),
                &[
                    (COUNT_ATTRIBUTE, 1),
                    (VISITORS_ATTRIBUTE, u64::from(site_new)),
                ],
            ),
            "the site's day",
        );
        let (counter, day, ()) = tokio::join!(counter, day, site);
        if let Err(error) = day {
            // The visit is counted on the counter; only its day missed it. Answering
            // an error would have the client retry and count it twice.
            tracing::warn!(
                counter = %visit.counter,
                error = %crate::error::error_chain(&classify(error, true)),
                "the visit was counted but its day was not"
            );
        }
        let output = counter.map_err(|error| classify(error, true))?;
        match output.attributes() {
            Some(item) if item.contains_key(COUNT_ATTRIBUTE) => totals_of(item).map(Once::Counted),
            other => Err(StoreError::Failed(
                format!("UpdateItem answered {other:?} for the counter").into(),
            )),
        }
    }

    async fn filtered(
        &self,
        counter: &CounterName,
        day: Day,
        filter: Filter,
    ) -> Result<Totals, StoreError> {
        let item = self
            .get_item(counter_id(counter), &[COUNT_ATTRIBUTE, VISITORS_ATTRIBUTE])
            .await?;
        let totals = item.as_ref().map_or(Ok(Totals::default()), totals_of)?;
        self.tally(counter, day, filter, item.is_some()).await;
        Ok(totals)
    }

    async fn site_totals(&self, today: Day) -> Result<SiteTotals, StoreError> {
        let registry = async {
            let item = self
                .get_item(REGISTRY_ID.to_owned(), &[REGISTRY_COUNTERS])
                .await?;
            Ok::<_, StoreError>(match item.as_ref().and_then(|i| i.get(REGISTRY_COUNTERS)) {
                Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
                _ => 0,
            })
        };
        let (counters, rollup) = tokio::join!(registry, self.site_rollup(today));
        let mut rollup = rollup?;
        if rollup.offset.is_none() {
            // The first read of a table's site numbers: what its days do not hold.
            self.recount_site_views(today).await?;
            rollup = self.site_rollup(today).await?;
        }
        let views = i128::from(rollup.views) + i128::from(rollup.offset.unwrap_or(0));
        Ok(SiteTotals {
            views: u64::try_from(views.max(0)).unwrap_or(u64::MAX),
            visitors: rollup.visitors,
            counters: counters?,
        })
    }

    async fn site_days(&self, from: Day, to: Day) -> Result<Vec<DayTotals>, StoreError> {
        let length = super::range_length(from, to);
        let ids: Vec<String> = (0..length)
            .flat_map(|i| {
                let day = from.plus(i as i32);
                (0..SITE_SHARDS).map(move |shard| site_day_id(day, shard))
            })
            .collect();
        let found = self.day_items(&ids).await?;
        Ok((0..length)
            .map(|i| {
                let day = from.plus(i as i32);
                (0..SITE_SHARDS).fold(DayTotals::default(), |sum, shard| {
                    let part = found
                        .get(&site_day_id(day, shard))
                        .copied()
                        .unwrap_or_default();
                    DayTotals {
                        views: sum.views.saturating_add(part.views),
                        visitors: sum.visitors.saturating_add(part.visitors),
                        bots: sum.bots.saturating_add(part.bots),
                        limited: sum.limited.saturating_add(part.limited),
                    }
                })
            })
            .collect())
    }

    async fn record_once(
        &self,
        visit: &Visit,
        key: &IdempotencyKey,
        now: std::time::SystemTime,
    ) -> Result<Once, StoreError> {
        let expires = key_expiry(now);
        let now = epoch_seconds(now);
        let key_id = key_id(key);
        let counter = counter_id(&visit.counter);
        let marker = visit.marker.as_ref().map(|m| marker_id(visit.day, m));
        let site_marker = visit.site_marker.as_ref().map(|m| marker_id(visit.day, m));
        let writer = writer_id()?;
        let mut attempt = 1;
        loop {
            // 1 round trip, 0 write units: all a retry with a known key costs.
            let mut ids = vec![key_id.clone(), counter.clone()];
            ids.extend(marker.clone());
            ids.extend(site_marker.clone().filter(|id| Some(id) != marker.as_ref()));
            let found = self
                .batch_get(
                    ids,
                    &[
                        KEY_COUNTER_ATTRIBUTE,
                        COUNT_ATTRIBUTE,
                        VISITORS_ATTRIBUTE,
                        TTL_ATTRIBUTE,
                        LIST_ATTRIBUTE,
                        MARKER_VIEWS_ATTRIBUTE,
                        KEY_WRITER_ATTRIBUTE,
                    ],
                )
                .await?;
            if let Some(item) = found.get(&key_id)
                && let Some(record) = live_record(item, now)
            {
                let own = matches!(
                    item.get(KEY_WRITER_ATTRIBUTE),
                    Some(AttributeValue::S(w)) if *w == writer
                );
                // This request's own earlier attempt landed: its answer.
                return match record? {
                    record if own => Ok(Once::Counted(record.totals)),
                    record => Ok(record.replay(&visit.counter)),
                };
            }
            let marker_item = marker.as_ref().and_then(|id| found.get(id));
            let seen = marker_item.map_or(0, |item| match item.get(MARKER_VIEWS_ATTRIBUTE) {
                Some(AttributeValue::N(n)) => n.parse().unwrap_or(u64::MAX),
                // A marker of the version before, which kept no views: at least one.
                _ => 1,
            });
            if marker.is_some() && seen >= visit.limits.views_per_visitor {
                return self.limited(visit).await;
            }
            let counter_item = found.get(&counter);
            if !counter_item.is_some_and(|item| item.contains_key(LIST_ATTRIBUTE))
                && !self
                    .index_counter(&visit.counter, visit.limits.max_counters)
                    .await?
            {
                return Ok(Once::TooManyCounters);
            }
            let before = counter_item.map_or(Ok(Totals::default()), totals_of)?;
            let new_visitor = marker.is_some() && marker_item.is_none();
            let site_new = site_marker
                .as_ref()
                .is_some_and(|id| !found.contains_key(id));
            let answer = Totals {
                views: before.views.saturating_add(1),
                visitors: before.visitors.saturating_add(u64::from(new_visitor)),
            };
            let items = self.visit_once_items(
                visit,
                &key_id,
                &writer,
                Decided {
                    new_visitor,
                    site_new,
                    answer,
                },
                now,
                expires,
            )?;
            let written = items.len() as u64;
            self.usage.call(Op::TransactWriteItems);
            let request = self
                .writes
                .transact_write_items()
                .set_transact_items(Some(items))
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            let error = match Box::pin(request.send()).await {
                Ok(output) => {
                    self.usage
                        .consumed(Op::TransactWriteItems, output.consumed_capacity());
                    self.usage
                        .transact_items
                        .fetch_add(written, Ordering::Relaxed);
                    return Ok(Once::Counted(answer));
                }
                Err(error) => error,
            };
            let reasons = cancellation_reasons(&error);
            // A cancelled transaction wrote nothing: each reason says what to do.
            let retry = match reasons.as_deref().map(Cancelled::of) {
                // The key's record appeared: the read at the top replays it (or, if it
                // is this request's own, answers it).
                Some(Cancelled::Recorded) => true,
                // Another request with the key, unless this request has sent its
                // transaction before: then it may be its own, still running.
                Some(Cancelled::KeyInUse) if attempt == 1 => return Ok(Once::InFlight),
                Some(Cancelled::KeyInUse) => true,
                Some(Cancelled::NotACount) => {
                    return Err(StoreError::NotACount(
                        "the stored count is not a non-negative Number".to_owned(),
                    ));
                }
                // Another visit of this visitor marked (or reached the limit) since the
                // read: read again.
                Some(Cancelled::Marked) => true,
                Some(Cancelled::Busy) => true,
                Some(Cancelled::Refused) => {
                    return Err(failed(
                        format!("DynamoDB refused the transaction: {reasons:?}").into(),
                    ));
                }
                // Landed or not, sending it again is safe: had it landed, the key's
                // record refuses the second and says so (above). A timeout has used
                // the time there was.
                None => {
                    matches!(
                        error,
                        SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
                    ) || never_applied(&error)
                }
            };
            if !retry || attempt > MAX_ATTEMPTS {
                return Err(match reasons {
                    // Still conflicting or throttled after every attempt.
                    Some(_) => StoreError::Unavailable(Box::new(error)),
                    None => classify(error, true),
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }

    async fn days(
        &self,
        counter: &CounterName,
        from: Day,
        to: Day,
    ) -> Result<Vec<DayTotals>, StoreError> {
        let length = super::range_length(from, to);
        let ids: Vec<String> = (0..length)
            .map(|i| day_id(counter, from.plus(i as i32)))
            .collect();
        let found = self.day_items(&ids).await?;
        Ok(ids
            .iter()
            .map(|id| found.get(id).copied().unwrap_or_default())
            .collect())
    }

    async fn list(
        &self,
        after: Option<&CounterName>,
        limit: usize,
    ) -> Result<CounterPage, StoreError> {
        let names = self.index_page(after, limit.saturating_add(1)).await?;
        let more = names.len() > limit;
        let names: Vec<CounterName> = names.into_iter().take(limit).collect();
        let ids: Vec<String> = names.iter().map(counter_id).collect();
        let chunks = ids
            .chunks(100)
            .map(|chunk| self.batch_get(chunk.to_vec(), &[COUNT_ATTRIBUTE, VISITORS_ATTRIBUTE]));
        let mut found = HashMap::new();
        for chunk in futures_util::future::join_all(chunks).await {
            found.extend(chunk?);
        }
        let mut counters = Vec::with_capacity(names.len());
        for (name, id) in names.into_iter().zip(&ids) {
            // The index is eventually consistent: a counter deleted a moment ago may
            // still be in it, without its item. It is not listed.
            if let Some(item) = found.get(id) {
                counters.push((name, totals_of(item)?));
            }
        }
        Ok(CounterPage { counters, more })
    }

    async fn salt(&self, day: Day) -> Result<Salt, StoreError> {
        if let Some(salt) = self.stored_salt(day).await? {
            return Ok(salt);
        }
        // The first visit of the day makes its salt, overwriting (destroying) the last
        // one; the condition keeps a later day's salt from being replaced by a process
        // whose clock is behind, and two processes racing from making two salts.
        let salt =
            Salt::random().map_err(|_| failed("the system's random generator failed".into()))?;
        let request = self
            .reads
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(SALT_ID.to_owned()))
            .update_expression("SET #day = :day, #salt = :salt, #ttl = :ttl")
            .condition_expression("attribute_not_exists(#day) OR #day < :day")
            .expression_attribute_names("#day", "day")
            .expression_attribute_names("#salt", "salt")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":day", AttributeValue::S(day.to_string()))
            .expression_attribute_values(":salt", AttributeValue::B(Blob::new(salt.0.to_vec())))
            // Gone (by TTL) at the end of its day at the latest.
            .expression_attribute_values(
                ":ttl",
                AttributeValue::N(day.plus(1).start_epoch_seconds().to_string()),
            )
            .return_values(ReturnValue::None)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        self.usage.call(Op::UpdateItem);
        match Box::pin(request.send()).await {
            Ok(output) => {
                self.usage
                    .consumed(Op::UpdateItem, output.consumed_capacity());
                Ok(salt)
            }
            Err(SdkError::ServiceError(service))
                if service.err().code() == Some("ConditionalCheckFailedException") =>
            {
                // Another process made it first (or the write landed on an earlier attempt).
                self.stored_salt(day).await?.ok_or_else(|| {
                    failed("the stored salt is neither today's nor a later day's".into())
                })
            }
            Err(error) => Err(classify(error, false)),
        }
    }
}

/// Exponential backoff with up to 50% jitter, so throttled callers spread out.
fn backoff(attempt: u32) -> Duration {
    let base = INITIAL_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// Failures that prove the write did not happen, so one more attempt cannot double-count:
/// DynamoDB refused it (throttling), or no connection was ever made to send it on.
fn never_applied<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| THROTTLING_CODES.contains(&code)),
        SdkError::DispatchFailure(_) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
            while let Some(cause) = source {
                if cause
                    .downcast_ref::<hyper_util::client::legacy::Error>()
                    .is_some_and(hyper_util::client::legacy::Error::is_connect)
                {
                    return true;
                }
                source = cause.source();
            }
            false
        }
        _ => false,
    }
}

fn classify<E>(
    error: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    write: bool,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            if write && code == "ConditionalCheckFailedException" {
                return StoreError::NotACount(
                    "the stored count is not a non-negative Number".to_owned(),
                );
            }
            THROTTLING_CODES.contains(&code)
                || matches!(code, "InternalServerError" | "ServiceUnavailable")
                // A 5xx that is not DynamoDB's own error body (a proxy's or a load
                // balancer's page) is as much an outage as its InternalServerError.
                || service.raw().status().is_server_error()
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    let error: BoxError = Box::new(error);
    if unavailable {
        StoreError::Unavailable(error)
    } else {
        StoreError::Failed(error)
    }
}

/// HTTPS with rustls on the `ring` provider: smaller and quicker to start than the
/// SDK's default provider, which matters for a Lambda cold start.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The most requests one `BatchWriteItem` takes.
const BATCH_WRITE_SIZE: usize = 25;
/// How many `BatchWriteItem`s an import has in flight at once.
const BATCH_WRITES_IN_FLIGHT: usize = 8;
/// Attempts at the items a `BatchWriteItem` left unprocessed.
const BATCH_WRITE_ATTEMPTS: u32 = 10;

/// The operator commands, with the operator's credentials (see [`OPERATOR_OPERATIONS`]).
/// They go through the reading client, with the SDK's standard retries: every write here
/// is absolute (`SET`, `PutRequest`), so a retry of one that landed writes the same
/// values again and cannot count anything twice.
impl OperatorStore for DynamoDbStore {
    async fn export(&self) -> Result<Vec<CounterRecord>, StoreError> {
        // One Scan of the whole table: consistent per item, not a snapshot of the table
        // (a visit during the export may be in a counter and not yet in its day).
        let mut records = Records::default();
        for (id, totals) in self.scan_numbers(true).await? {
            if let Some(name) = counter_of(&id) {
                records.totals(name, totals);
            } else if let Some((name, day)) = day_of(&id) {
                records.day(name, day, totals);
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
        let mut request = self
            .reads
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(counter_id(counter)))
            .update_expression("SET #count = :views, #visitors = :visitors")
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .expression_attribute_names("#visitors", VISITORS_ATTRIBUTE)
            .expression_attribute_values(":views", number(totals.views))
            .expression_attribute_values(":visitors", number(totals.visitors))
            .return_values(ReturnValue::None);
        if let Some(expected) = expected {
            // A missing attribute reads as 0, as `get` reads it.
            let holds = |attribute: &str, value: &str, expected: u64| {
                if expected == 0 {
                    format!("(attribute_not_exists({attribute}) OR {attribute} = {value})")
                } else {
                    format!("{attribute} = {value}")
                }
            };
            request = request
                .condition_expression(format!(
                    "{} AND {}",
                    holds("#count", ":old_views", expected.views),
                    holds("#visitors", ":old_visitors", expected.visitors)
                ))
                .expression_attribute_values(":old_views", number(expected.views))
                .expression_attribute_values(":old_visitors", number(expected.visitors));
        }
        match Box::pin(request.send()).await {
            Ok(_) => {
                self.recount_site_views(crate::day::Clock::today(&crate::day::SystemClock))
                    .await?;
                Ok(SetOutcome::Set)
            }
            Err(SdkError::ServiceError(service))
                if service.err().code() == Some("ConditionalCheckFailedException") =>
            {
                // Either a visit came in since `expected` was read, or an earlier attempt
                // of this very write landed and its retry found the new totals: the
                // counter holding what was asked for is the second.
                let current = self.get(counter).await?;
                if current == totals {
                    Ok(SetOutcome::Set)
                } else {
                    Ok(SetOutcome::Moved { current })
                }
            }
            Err(error) => Err(classify(error, false)),
        }
    }

    async fn restore(&self, records: &[CounterRecord]) -> Result<(), StoreError> {
        let item = |id: String, totals: &Totals| {
            let put = PutRequest::builder()
                .item(HASH_KEY, AttributeValue::S(id))
                .item(COUNT_ATTRIBUTE, number(totals.views))
                .item(VISITORS_ATTRIBUTE, number(totals.visitors))
                .build()
                .map_err(|e| failed(e.into()))?;
            Ok::<_, StoreError>(WriteRequest::builder().put_request(put).build())
        };
        let counter_item = |name: &CounterName, totals: &Totals| {
            let put = PutRequest::builder()
                .item(HASH_KEY, AttributeValue::S(counter_id(name)))
                .item(COUNT_ATTRIBUTE, number(totals.views))
                .item(VISITORS_ATTRIBUTE, number(totals.visitors))
                .item(LIST_ATTRIBUTE, AttributeValue::S(LIST_VALUE.to_owned()))
                .item(NAME_ATTRIBUTE, AttributeValue::S(name.to_string()))
                .build()
                .map_err(|e| failed(e.into()))?;
            Ok::<_, StoreError>(WriteRequest::builder().put_request(put).build())
        };
        let mut requests = Vec::new();
        for record in records {
            requests.push(counter_item(&record.name, &record.totals)?);
            for (day, totals) in &record.days {
                requests.push(item(day_id(&record.name, *day), totals)?);
            }
        }
        let batches: Vec<&[WriteRequest]> = requests.chunks(BATCH_WRITE_SIZE).collect();
        for group in batches.chunks(BATCH_WRITES_IN_FLIGHT) {
            let writes = group.iter().map(|batch| self.batch_write(batch.to_vec()));
            for written in futures_util::future::join_all(writes).await {
                written?;
            }
        }
        // The counters restored are in the index; the registry counts them again (and
        // the site's views follow).
        self.reindex().await.map(|_| ())
    }

    async fn delete(&self, counter: &CounterName) -> Result<bool, StoreError> {
        let item = self
            .get_item(counter_id(counter), &[LIST_ATTRIBUTE])
            .await?;
        let Some(item) = item else {
            return Ok(false);
        };
        let mut delete = TransactWriteItem::builder().delete(
            aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .key(HASH_KEY, AttributeValue::S(counter_id(counter)))
                .condition_expression("attribute_exists(#id)")
                .expression_attribute_names("#id", HASH_KEY)
                .build()
                .map_err(|e| failed(e.into()))?,
        );
        let mut request = self.reads.transact_write_items();
        if item.contains_key(LIST_ATTRIBUTE) {
            // Counted in the registry: one fewer, in the same transaction.
            request = request.transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .key(HASH_KEY, AttributeValue::S(REGISTRY_ID.to_owned()))
                            .update_expression("ADD #counters :minus")
                            .expression_attribute_names("#counters", REGISTRY_COUNTERS)
                            .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
                            .build()
                            .map_err(|e| failed(e.into()))?,
                    )
                    .build(),
            );
        }
        delete = delete.clone();
        match Box::pin(request.transact_items(delete.build()).send()).await {
            Ok(_) => {}
            Err(error) if cancellation_reasons(&error).is_some() => return Ok(false),
            Err(error) => return Err(classify(error, true)),
        }
        let days = self.day_ids_of(counter).await?;
        self.delete_ids(days).await?;
        self.recount_site_views(crate::day::Clock::today(&crate::day::SystemClock))
            .await?;
        Ok(true)
    }

    async fn rename(
        &self,
        from: &CounterName,
        to: &CounterName,
    ) -> Result<RenameOutcome, StoreError> {
        let ids = vec![counter_id(from), counter_id(to)];
        let found = self
            .batch_get(ids, &[COUNT_ATTRIBUTE, VISITORS_ATTRIBUTE, LIST_ATTRIBUTE])
            .await?;
        let Some(old) = found.get(&counter_id(from)) else {
            return Ok(RenameOutcome::NoSuchCounter);
        };
        if found.contains_key(&counter_id(to)) {
            return Ok(RenameOutcome::Taken);
        }
        let totals = totals_of(old)?;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .item(HASH_KEY, AttributeValue::S(counter_id(to)))
            .item(COUNT_ATTRIBUTE, number(totals.views))
            .item(VISITORS_ATTRIBUTE, number(totals.visitors))
            .item(LIST_ATTRIBUTE, AttributeValue::S(LIST_VALUE.to_owned()))
            .item(NAME_ATTRIBUTE, AttributeValue::S(to.to_string()))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", HASH_KEY)
            .build()
            .map_err(|e| failed(e.into()))?;
        // The old item only if it still holds what was read: a visit in between would
        // otherwise be lost.
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(counter_id(from)))
            .condition_expression("#count = :views")
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .expression_attribute_values(":views", number(totals.views))
            .build()
            .map_err(|e| failed(e.into()))?;
        let mut request = self
            .reads
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build());
        if !old.contains_key(LIST_ATTRIBUTE) {
            // The old one was not yet counted in the registry; the new one is.
            request = request.transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .key(HASH_KEY, AttributeValue::S(REGISTRY_ID.to_owned()))
                            .update_expression("ADD #counters :one")
                            .expression_attribute_names("#counters", REGISTRY_COUNTERS)
                            .expression_attribute_values(":one", number(1))
                            .build()
                            .map_err(|e| failed(e.into()))?,
                    )
                    .build(),
            );
        }
        match Box::pin(request.send()).await {
            Ok(_) => {}
            Err(error) if cancellation_reasons(&error).is_some() => {
                return Err(StoreError::Unavailable(
                    "the counter changed while it was renamed; nothing was changed, run it again"
                        .into(),
                ));
            }
            Err(error) => return Err(classify(error, true)),
        }
        // Its days: copied under the new name, then deleted under the old.
        let days = self.day_ids_of(from).await?;
        let mut puts = Vec::new();
        if !days.is_empty() {
            let found = self.day_items(&days).await?;
            for (id, totals) in &found {
                let Some((_, day)) = day_of(id) else { continue };
                let mut put = PutRequest::builder()
                    .item(HASH_KEY, AttributeValue::S(day_id(to, day)))
                    .item(COUNT_ATTRIBUTE, number(totals.views))
                    .item(VISITORS_ATTRIBUTE, number(totals.visitors));
                if totals.bots > 0 {
                    put = put.item(BOTS_ATTRIBUTE, number(totals.bots));
                }
                if totals.limited > 0 {
                    put = put.item(LIMITED_ATTRIBUTE, number(totals.limited));
                }
                let put = put.build().map_err(|e| failed(e.into()))?;
                puts.push(WriteRequest::builder().put_request(put).build());
            }
        }
        for batch in puts.chunks(BATCH_WRITE_SIZE) {
            self.batch_write(batch.to_vec()).await?;
        }
        self.delete_ids(days).await?;
        Ok(RenameOutcome::Renamed)
    }

    async fn reindex(&self) -> Result<u64, StoreError> {
        let mut count = 0u64;
        let mut start = None;
        loop {
            let request = self
                .reads
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("begins_with(#id, :counter) OR #id = :site")
                .projection_expression("#id, #list")
                .expression_attribute_names("#id", HASH_KEY)
                .expression_attribute_names("#list", LIST_ATTRIBUTE)
                .expression_attribute_values(
                    ":counter",
                    AttributeValue::S(COUNTER_PREFIX.to_owned()),
                )
                .expression_attribute_values(":site", AttributeValue::S(COUNTER_ID.to_owned()))
                .set_exclusive_start_key(start);
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
            for item in output.items() {
                let Some(AttributeValue::S(id)) = item.get(HASH_KEY) else {
                    continue;
                };
                let Some(name) = counter_of(id) else { continue };
                count += 1;
                if item.contains_key(LIST_ATTRIBUTE) {
                    continue;
                }
                let request = self
                    .reads
                    .update_item()
                    .table_name(&self.table)
                    .key(HASH_KEY, AttributeValue::S(id.clone()))
                    .update_expression("SET #list = :list, #name = :name")
                    .condition_expression("attribute_exists(#id)")
                    .expression_attribute_names("#id", HASH_KEY)
                    .expression_attribute_names("#list", LIST_ATTRIBUTE)
                    .expression_attribute_names("#name", NAME_ATTRIBUTE)
                    .expression_attribute_values(":list", AttributeValue::S(LIST_VALUE.to_owned()))
                    .expression_attribute_values(":name", AttributeValue::S(name.to_string()));
                match Box::pin(request.send()).await {
                    Ok(_) => {}
                    // Deleted since the scan read it.
                    Err(SdkError::ServiceError(service))
                        if service.err().code() == Some("ConditionalCheckFailedException") =>
                    {
                        count -= 1;
                    }
                    Err(error) => return Err(classify(error, false)),
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let request = self
            .reads
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(REGISTRY_ID.to_owned()))
            .update_expression("SET #counters = :count")
            .expression_attribute_names("#counters", REGISTRY_COUNTERS)
            .expression_attribute_values(":count", number(count));
        Box::pin(request.send())
            .await
            .map_err(|e| classify(e, false))?;
        self.recount_site_views(crate::day::Clock::today(&crate::day::SystemClock))
            .await?;
        Ok(count)
    }
}

impl DynamoDbStore {
    /// The ids of a counter's day items: a Scan (the operator's only).
    async fn day_ids_of(&self, counter: &CounterName) -> Result<Vec<String>, StoreError> {
        let prefix = format!("{DAY_PREFIX}{counter}#");
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let request = self
                .reads
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("begins_with(#id, :prefix)")
                .projection_expression("#id")
                .expression_attribute_names("#id", HASH_KEY)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()))
                .set_exclusive_start_key(start);
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
            for item in output.items() {
                if let Some(AttributeValue::S(id)) = item.get(HASH_KEY)
                    && day_of(id).is_some_and(|(name, _)| &name == counter)
                {
                    ids.push(id.clone());
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(ids),
            }
        }
    }

    /// Deletes these items, 25 to a `BatchWriteItem`.
    async fn delete_ids(&self, ids: Vec<String>) -> Result<(), StoreError> {
        let requests: Vec<WriteRequest> = ids
            .into_iter()
            .map(|id| {
                aws_sdk_dynamodb::types::DeleteRequest::builder()
                    .key(HASH_KEY, AttributeValue::S(id))
                    .build()
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                    .map_err(|e| failed(e.into()))
            })
            .collect::<Result<_, _>>()?;
        for batch in requests.chunks(BATCH_WRITE_SIZE) {
            self.batch_write(batch.to_vec()).await?;
        }
        Ok(())
    }

    /// One `BatchWriteItem`, asked again for what DynamoDB leaves unprocessed (under
    /// load it may); only [`OperatorStore::restore`] calls it.
    async fn batch_write(&self, mut pending: Vec<WriteRequest>) -> Result<(), StoreError> {
        for attempt in 1..=BATCH_WRITE_ATTEMPTS {
            let output = self
                .reads
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|e| classify(e, false))?;
            match output.unprocessed_items().and_then(|u| u.get(&self.table)) {
                Some(unprocessed) if !unprocessed.is_empty() => {
                    pending = unprocessed.clone();
                    tokio::time::sleep(backoff(attempt)).await;
                }
                _ => return Ok(()),
            }
        }
        Err(StoreError::Unavailable(
            "BatchWriteItem left items unprocessed after every attempt".into(),
        ))
    }
}

/// The counter and day a day item holds (`day#NAME#YYYY-MM-DD`).
fn day_of(id: &str) -> Option<(CounterName, Day)> {
    let (name, date) = id.strip_prefix(DAY_PREFIX)?.rsplit_once('#')?;
    Some((CounterName::parse(name).ok()?, Day::parse(date)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{MARKED_LIMIT, Marked};
    use crate::day::Day;
    use crate::visitor::Marker;

    fn marker(n: usize) -> Marker {
        let mut bytes = [0; crate::visitor::MARKER_BYTES];
        bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
        Marker(bytes)
    }

    #[test]
    fn the_marked_set_holds_one_day_and_forgets_it_at_the_next() {
        let today = Day::parse("2026-12-04").unwrap();
        let tomorrow = Day::parse("2026-12-05").unwrap();
        let mut marked = Marked::default();
        assert!(!marked.contains(today, &marker(1)));
        marked.insert(today, marker(1));
        assert!(marked.contains(today, &marker(1)));
        assert!(!marked.contains(today, &marker(2)));
        // The same visitor's marker of another day is another marker in the table.
        assert!(!marked.contains(tomorrow, &marker(1)));
        marked.insert(tomorrow, marker(2));
        assert!(!marked.contains(today, &marker(1)));
        assert!(marked.contains(tomorrow, &marker(2)));
    }

    #[test]
    fn the_marked_set_stops_growing_at_its_limit() {
        let today = Day::parse("2026-12-04").unwrap();
        let mut marked = Marked::default();
        for n in 0..MARKED_LIMIT + 10 {
            marked.insert(today, marker(n));
        }
        assert_eq!(marked.markers.len(), MARKED_LIMIT);
        assert!(marked.contains(today, &marker(0)));
        // Past the limit, a visitor is asked of DynamoDB, as without the set.
        assert!(!marked.contains(today, &marker(MARKED_LIMIT)));
    }
}
