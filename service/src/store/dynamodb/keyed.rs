//! The keyed visit's transaction (see [`crate::idempotency`] for why it counts once).

#[allow(unused_imports)]
use super::*;

/// A key's record, if it is still live at `now` (TTL deletes expired items only
/// within a day or two, so an item may outlive its `ttl`).
pub(super) fn live_record(
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
pub(super) fn writer_id() -> Result<String, StoreError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| failed("the system's random generator failed".into()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// What a keyed visit's read decided: who is new, and the answer to keep.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decided {
    pub(super) new_visitor: bool,
    pub(super) site_new: bool,
    pub(super) answer: Totals,
}

/// Why DynamoDB cancelled a keyed visit's transaction (its reasons are in the order
/// of [`DynamoDbStore::visit_once_items`]: record, counter, day, then the markers and
/// the site's day).
pub(super) enum Cancelled {
    /// The key has a live record: it was counted before (the record, if DynamoDB
    /// returned it; else the read that follows finds it).
    Recorded(Option<HashMap<String, AttributeValue>>),
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
    pub(super) fn of(reasons: &[CancellationReason]) -> Self {
        let code = |i: usize| reasons.get(i).and_then(CancellationReason::code);
        match code(0) {
            Some("ConditionalCheckFailed") => {
                return Cancelled::Recorded(
                    reasons
                        .first()
                        .and_then(|reason| reason.item().cloned())
                        .filter(|item| !item.is_empty()),
                );
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

impl DynamoDbStore {
    /// The transaction that counts a keyed visit: the key's record (only if it has none
    /// that is live at `now`), the counter, the day, the visitor's marker (only if it is
    /// still new, or still under the limit), one of the site's day items and, for a
    /// new site visitor, the site marker (only if still new). The order is the one
    /// [`Cancelled::of`] reads the reasons in.
    pub(super) fn visit_once_items(
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
}
