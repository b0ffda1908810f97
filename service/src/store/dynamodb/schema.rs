//! The table's shape: its keys, attributes and items, and the IAM lists that follow
//! from them (the function's policy and the Terraform are tested against these).

#[allow(unused_imports)]
use super::*;

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

/// Every counting write: one view, and one visitor or none.
pub(super) const ADD_VISIT: &str = "ADD #count :one, #visitors :visitors";

/// The names and values of [`ADD_VISIT`] and [`COUNT_CONDITION`], for an `UpdateItem`
/// and for a transaction's `Update` alike.
pub(super) fn add_visit_attributes(
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
pub(super) const COUNT_CONDITION: &str =
    "attribute_not_exists(#count) OR (attribute_type(#count, :number) AND #count >= :zero)";

/// One of the site's day items.
pub fn site_day_id(day: Day, shard: u32) -> String {
    format!("site#{day}#{shard}")
}

/// A day item's four numbers; missing ones are 0.
pub(super) fn day_totals_of(
    item: &HashMap<String, AttributeValue>,
) -> Result<DayTotals, StoreError> {
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

pub(super) fn number(n: u64) -> AttributeValue {
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

/// The item of a visitor's marker.
pub fn marker_id(day: Day, marker: &Marker) -> String {
    format!("{VISITOR_PREFIX}{day}#{}", marker.hex())
}

/// The counter an item holds, if it is a counter item.
pub(super) fn counter_of(id: &str) -> Option<CounterName> {
    if id == COUNTER_ID {
        return Some(CounterName::site());
    }
    let name = id.strip_prefix(COUNTER_PREFIX)?;
    // `counter#site` is not written by this service; `site` is `visitorCount`.
    CounterName::parse(name).ok().filter(|name| !name.is_site())
}

pub(super) fn salt_of(item: &HashMap<String, AttributeValue>, day: Day) -> Option<Salt> {
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
pub(super) fn totals_of(item: &HashMap<String, AttributeValue>) -> Result<Totals, StoreError> {
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

/// The counter and day a day item holds (`day#NAME#YYYY-MM-DD`).
pub(super) fn day_of(id: &str) -> Option<(CounterName, Day)> {
    let (name, date) = id.strip_prefix(DAY_PREFIX)?.rsplit_once('#')?;
    Some((CounterName::parse(name).ok()?, Day::parse(date)?))
}

/// A DynamoDB table name, checked against DynamoDB's own rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName(String);

impl TableName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if !(3..=255).contains(&name.len()) {
            return Err(format!(
                "{name:?} is not a DynamoDB table name (3 to 255 characters)"
            ));
        }
        if let Some(bad) = name.chars().find(|&c| !valid_char(c)) {
            return Err(format!(
                "{name:?} is not a DynamoDB table name ({bad:?} is not one of a-z, A-Z, 0-9, '_', '-', '.')"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
