//! The reads benchmark's table: a DynamoDB table filled, by `BatchWriteItem`s in
//! parallel, with the items a busy site's table holds, shaped as the service writes
//! them (see the module doc of `visitor_counter::store::dynamodb`):
//!
//! - counters `counter#NAME` (`count`, `visitors`, and the index's keys `list` =
//!   `counter`, `name` = NAME, so they are in the `counters` index), the registry
//!   counting them (for the cap and `/totals`);
//! - each counter's days `day#NAME#YYYY-MM-DD`, spread over the last year;
//! - the site's days `site#YYYY-MM-DD#S` for the last year;
//! - visitor markers `visitor#YYYY-MM-DD#HEX` (`ttl`, `views`) and key records
//!   `idem#HEX` (`counter`, `count`, `visitors`, `ttl`, `writer`): the items no read of
//!   the list, `/totals` or the dashboard should touch.
//!
//! Items are made one at a time from their number, so a million of them never sit in
//! memory at once.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::{StreamExt, stream};
use serde::Serialize;
use visitor_counter::config::TableName;
use visitor_counter::day::Day;
use visitor_counter::store::dynamodb::{
    BOTS_ATTRIBUTE, COUNT_ATTRIBUTE, COUNTER_PREFIX, DAY_PREFIX, HASH_KEY, KEY_COUNTER_ATTRIBUTE,
    KEY_PREFIX, KEY_WRITER_ATTRIBUTE, LIMITED_ATTRIBUTE, LIST_ATTRIBUTE, LIST_VALUE,
    MARKER_VIEWS_ATTRIBUTE, NAME_ATTRIBUTE, REGISTRY_COUNTERS, REGISTRY_ID, SITE_SHARDS,
    TTL_ATTRIBUTE, VISITOR_PREFIX, VISITORS_ATTRIBUTE, site_day_id,
};

use crate::Result;

/// The most items one `BatchWriteItem` takes.
const BATCH: usize = 25;
/// The days of the site's own day items, ending today.
const SITE_DAYS: usize = 366;

/// What a table holds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Shape {
    pub counters: usize,
    /// Day items per counter, spread evenly over the last 365 days (at most 365).
    pub days_per_counter: usize,
    pub markers: usize,
    pub keys: usize,
}

impl Shape {
    /// Counters only (with the registry and the site's days): the small tables.
    pub fn counters_only(counters: usize) -> Self {
        Self {
            counters,
            days_per_counter: 0,
            markers: 0,
            keys: 0,
        }
    }

    /// About `items` items with `counters` counters: 60% counters' days (at most a
    /// year of them each), 20% visitor markers, the rest key records.
    pub fn busy(items: usize, counters: usize) -> Self {
        let days_per_counter = (items * 3 / 5 / counters.max(1)).min(365);
        let markers = items / 5;
        let keys = items
            .saturating_sub(counters)
            .saturating_sub(counters * days_per_counter)
            .saturating_sub(markers)
            .saturating_sub(1 + SITE_DAYS * SITE_SHARDS as usize);
        Self {
            counters,
            days_per_counter,
            markers,
            keys,
        }
    }

    /// Every item the table gets.
    pub fn items(&self) -> usize {
        1 + self.counters
            + SITE_DAYS * SITE_SHARDS as usize
            + self.counters * self.days_per_counter
            + self.markers
            + self.keys
    }
}

/// The name of the counter numbered `n`: `page-000042`, so names sort as numbers do.
pub fn counter_name(n: usize) -> String {
    format!("page-{n:06}")
}

/// A counter's views: the first counters are the most viewed, so the dashboard's
/// charts are theirs.
pub fn views_of(n: usize, counters: usize) -> u64 {
    (counters.saturating_sub(n) as u64) * 10 + 7
}

/// How one load went.
#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    pub shape: Shape,
    pub items: usize,
    pub seconds: f64,
    pub items_per_second: f64,
    pub parallel: usize,
}

/// Writes `shape` into `table` with `parallel` `BatchWriteItem`s in flight.
pub async fn load(
    client: &Client,
    table: &TableName,
    shape: Shape,
    parallel: usize,
    progress: impl Fn(usize, f64),
) -> Result<Loaded> {
    let started = Instant::now();
    let today = Day::of(SystemTime::now());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let items = shape.items();
    let batches = items.div_ceil(BATCH);
    let mut written = 0usize;
    let mut next_report = items / 10;
    let mut writes = stream::iter(0..batches)
        .map(|batch| {
            let requests: Result<Vec<WriteRequest>> = (batch * BATCH
                ..((batch + 1) * BATCH).min(items))
                .map(|n| item(&shape, today, now, n))
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, _>>()
                .map_err(crate::BoxError::from);
            async move { write_all(client, table, requests?).await }
        })
        .buffer_unordered(parallel.max(1));
    while let Some(count) = writes.next().await {
        written += count?;
        if written >= next_report {
            progress(written, started.elapsed().as_secs_f64());
            next_report += items / 10;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Loaded {
        shape,
        items: written,
        seconds,
        items_per_second: written as f64 / seconds.max(f64::EPSILON),
        parallel,
    })
}

/// One `BatchWriteItem`, sent again with whatever DynamoDB left unprocessed.
async fn write_all(
    client: &Client,
    table: &TableName,
    mut requests: Vec<WriteRequest>,
) -> Result<usize> {
    let count = requests.len();
    for attempt in 0..20u32 {
        if requests.is_empty() {
            return Ok(count);
        }
        let output = client
            .batch_write_item()
            .request_items(table.as_str(), requests)
            .send()
            .await
            .map_err(|error| format!("BatchWriteItem: {}", error_text(&error)))?;
        requests = output
            .unprocessed_items
            .and_then(|mut unprocessed| unprocessed.remove(table.as_str()))
            .unwrap_or_default();
        if !requests.is_empty() {
            tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
        }
    }
    Err("BatchWriteItem left items unprocessed after 20 attempts".into())
}

fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    visitor_counter::error_chain(error)
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(number: u64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// A reproducible hex string of `chars` characters for item number `n`.
fn hex(n: usize, chars: usize) -> String {
    let mut state = n as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut out = String::with_capacity(chars);
    while out.len() < chars {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out.truncate(chars);
    out
}

/// Item number `n` of `shape`: the registry, the counters, the site's days, the
/// counters' days, the markers, then the key records.
fn item(shape: &Shape, today: Day, now: u64, n: usize) -> testkit::dynamodb::Item {
    let mut rest = n;
    if rest == 0 {
        return [
            (HASH_KEY, s(REGISTRY_ID)),
            (REGISTRY_COUNTERS, self::n(shape.counters as u64)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    }
    rest -= 1;
    if rest < shape.counters {
        let name = counter_name(rest);
        let views = views_of(rest, shape.counters);
        return [
            (HASH_KEY, s(format!("{COUNTER_PREFIX}{name}"))),
            (COUNT_ATTRIBUTE, self::n(views)),
            (VISITORS_ATTRIBUTE, self::n(views / 3)),
            (LIST_ATTRIBUTE, s(LIST_VALUE)),
            (NAME_ATTRIBUTE, s(name)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    }
    rest -= shape.counters;
    let site_items = SITE_DAYS * SITE_SHARDS as usize;
    if rest < site_items {
        let day = today.plus(-((rest / SITE_SHARDS as usize) as i32));
        let shard = (rest % SITE_SHARDS as usize) as u32;
        return [
            (HASH_KEY, s(site_day_id(day, shard))),
            (COUNT_ATTRIBUTE, self::n(900)),
            (VISITORS_ATTRIBUTE, self::n(300)),
            (BOTS_ATTRIBUTE, self::n(40)),
            (LIMITED_ATTRIBUTE, self::n(2)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    }
    rest -= site_items;
    let day_items = shape.counters * shape.days_per_counter;
    if rest < day_items {
        let counter = rest / shape.days_per_counter;
        let k = rest % shape.days_per_counter;
        // Spread over the year, each counter on its own days.
        let stride = (365 / shape.days_per_counter).max(1);
        let back = (k * stride + counter % stride) as i32;
        let day = today.plus(-back);
        return [
            (
                HASH_KEY,
                s(format!("{DAY_PREFIX}{}#{day}", counter_name(counter))),
            ),
            (COUNT_ATTRIBUTE, self::n(12)),
            (VISITORS_ATTRIBUTE, self::n(5)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    }
    rest -= day_items;
    let expires = today.plus(2).start_epoch_seconds().max(0) as u64;
    if rest < shape.markers {
        let day = today.plus(-((rest % 2) as i32));
        return [
            (
                HASH_KEY,
                s(format!("{VISITOR_PREFIX}{day}#{}", hex(rest, 32))),
            ),
            (TTL_ATTRIBUTE, self::n(expires)),
            (MARKER_VIEWS_ATTRIBUTE, self::n(1 + (rest % 5) as u64)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    }
    rest -= shape.markers;
    [
        (HASH_KEY, s(format!("{KEY_PREFIX}{}", hex(rest + n, 64)))),
        (
            KEY_COUNTER_ATTRIBUTE,
            s(counter_name(rest % shape.counters.max(1))),
        ),
        (COUNT_ATTRIBUTE, self::n(100)),
        (VISITORS_ATTRIBUTE, self::n(40)),
        (TTL_ATTRIBUTE, self::n(now + 24 * 3600)),
        (KEY_WRITER_ATTRIBUTE, s(hex(rest, 16))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_busy_shape_holds_about_the_items_asked_for() {
        let shape = Shape::busy(1_000_000, 10_000);
        assert_eq!(shape.days_per_counter, 60);
        assert_eq!(shape.items(), 1_000_000);
        let small = Shape::busy(100_000, 10_000);
        assert_eq!(small.items(), 100_000);
    }

    #[test]
    fn every_item_has_its_own_key_and_the_counters_their_index_keys() {
        let shape = Shape {
            counters: 30,
            days_per_counter: 40,
            markers: 500,
            keys: 500,
        };
        let today = Day::of(SystemTime::now());
        let mut ids = HashSet::new();
        let mut indexed = 0;
        for n in 0..shape.items() {
            let item = item(&shape, today, 0, n);
            let Some(AttributeValue::S(id)) = item.get(HASH_KEY) else {
                panic!("item {n} has no id");
            };
            assert!(ids.insert(id.clone()), "{id} made twice");
            if item.get(LIST_ATTRIBUTE) == Some(&s(LIST_VALUE)) {
                indexed += 1;
                assert_eq!(
                    id,
                    &format!("{COUNTER_PREFIX}{}", counter_name(indexed - 1))
                );
            }
        }
        assert_eq!(indexed, shape.counters);
        for prefix in [
            COUNTER_PREFIX,
            DAY_PREFIX,
            VISITOR_PREFIX,
            KEY_PREFIX,
            "site#",
        ] {
            assert!(
                ids.iter().any(|id| id.starts_with(prefix)),
                "no {prefix} item"
            );
        }
    }
}
