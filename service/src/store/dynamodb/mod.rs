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
//!   `DynamoDbStore::site_rollup`), and `offset`: what every counter's views hold
//!   beyond the site's days (see [`DynamoDbStore::recount_site_views`])
//! - `registry`: `counters`, how many counters are in the index (the cap,
//!   [`crate::store::Limits::max_counters`])
//! - `salt`: the current day's salt; `day`, `salt` (32 random bytes), `ttl`
//! - `idem#SHA256`: an `Idempotency-Key`'s record (the SHA-256 of the key, in hex):
//!   `counter` (the name), `count` and `visitors` (the answer), `ttl` 24 hours on,
//!   `writer` (a random name of the request that wrote it);
//!   written in the transaction that counts its visit (see [`crate::idempotency`])
//!
//! What each operation costs, in round trips one after another. Its calls and write
//! units are measured on DynamoDB Local by `each_operation_costs_what_the_docs_say`
//! (`service/tests/api/counters.rs`), through the tests' recording proxy; the round
//! trips follow from which call waits for which, and `scripts/bench` reports them
//! (`docs/figures/bench.md`):
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
//!   there, and counted against the cap, by two conditional `UpdateItem`s (the
//!   registry's claim, then the counter's index keys; see `visit::index_counter`): a
//!   third and fourth round trip, once per counter, 3 write units (the keys' write also
//!   writes the index).
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

mod counting;
mod keyed;
mod operator;
mod retry;
mod schema;
mod site;
mod visit;

use keyed::*;
use retry::*;
pub use retry::{CONNECT_TIMEOUT, OPERATION_TIMEOUT, READ_ATTEMPT_TIMEOUT, http_client};
pub use schema::*;
pub use site::{PAST_DAY_LIFETIME, PAST_DAYS};
use visit::*;

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
    AttributeValue, CancellationReason, KeysAndAttributes, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update, WriteRequest,
};

use super::operator::Records;
use super::{
    BoxError, CounterPage, CounterRecord, CounterStore, DayTotals, Filter, KeyRecord, Once,
    OperatorStore, RenameOutcome, SetOutcome, SiteTotals, StoreError, Totals, Visit, epoch_seconds,
    key_expiry,
};
use crate::day::Day;
use crate::idempotency::IdempotencyKey;
use crate::names::CounterName;
use crate::visitor::{MARKER_DAYS, Marker, Salt};

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
/// landed, and retrying it would count one visit twice. `DynamoDbStore::update`
/// retries only the failures that prove the write was not applied (throttling,
/// connection refused). A keyed visit's transaction is sent again after a broken
/// connection too: its key's record makes a second one harmless (see
/// [`crate::idempotency`]).
/// Finished days' items by id, with when they were read.
type PastDays = HashMap<String, (std::time::SystemTime, DayTotals)>;

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    reads: Client,
    writes: Client,
    table: String,
    marked: Arc<Mutex<Marked>>,
    /// Counters this process has seen in the index (at most [`MARKED_LIMIT`]): their
    /// visits skip the read that asks.
    indexed: Arc<Mutex<HashSet<CounterName>>>,
    /// Held while a counter is put in the index (see `visit::index_counter`).
    indexing: Arc<tokio::sync::Mutex<()>>,
    /// Which of the site's day items the next counted view adds to.
    shard: Arc<AtomicU64>,
    /// Day items of finished days, read once (see `site::day_items_of_range`).
    past_days: Arc<Mutex<PastDays>>,
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
            marked: Arc::default(),
            indexed: Arc::default(),
            indexing: Arc::default(),
            shard: Arc::default(),
            past_days: Arc::default(),
        }
    }

    /// Opens the connection (TLS included) before the first visit needs it.
    /// A failure here is logged, not fatal: the next request tries again.
    pub async fn warm_up(&self) {
        if let Err(error) = self.get(&CounterName::site()).await {
            tracing::warn!(error = %crate::chain::error_chain(&error), "DynamoDB warm-up read failed");
        }
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
        let request = request.table_name(&self.table);
        let attempts = async {
            let mut attempt = 1;
            loop {
                // Every SDK call is boxed: its future holds the SDK's whole orchestrator
                // and is kilobytes large. Held inline, it would make each future around
                // it (the store's, the app's, the runtime's) as large, copied whole each
                // time one is moved: 5% of a warm invocation's instructions, measured.
                match Box::pin(request.clone().send()).await {
                    Ok(output) => return Ok(output),
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
            .consistent_read(true);
        let mut projection = Vec::new();
        for (i, attribute) in attributes.iter().enumerate() {
            projection.push(format!("#a{i}"));
            request = request.expression_attribute_names(format!("#a{i}"), *attribute);
        }
        if !projection.is_empty() {
            request = request.projection_expression(projection.join(", "));
        }
        let output = Box::pin(request.send())
            .await
            .map_err(|e| classify(e, false))?;
        Ok(output.item)
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
            let request = self
                .reads
                .batch_get_item()
                .request_items(&self.table, pending.clone());
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
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
}

#[cfg(test)]
mod tests {

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
