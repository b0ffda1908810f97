//! The operator commands on DynamoDB, with the operator's own credentials
//! ([`super::OPERATOR_OPERATIONS`]).

#[allow(unused_imports)]
use super::*;

/// The most requests one `BatchWriteItem` takes.
pub(super) const BATCH_WRITE_SIZE: usize = 25;
/// How many `BatchWriteItem`s an import has in flight at once.
pub(super) const BATCH_WRITES_IN_FLIGHT: usize = 8;
/// Attempts at the items a `BatchWriteItem` left unprocessed.
pub(super) const BATCH_WRITE_ATTEMPTS: u32 = 10;

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
        // A counter set by hand is a counter: in the list's index, and counted in the
        // registry (the operator's own counters are not held to MAX_COUNTERS).
        if !self.is_indexed_now(counter).await? {
            self.index_counter(counter, u64::MAX).await?;
        }
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
                self.recount_after_operator().await;
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
        let delete = TransactWriteItem::builder()
            .delete(
                aws_sdk_dynamodb::types::Delete::builder()
                    .table_name(&self.table)
                    .key(HASH_KEY, AttributeValue::S(counter_id(counter)))
                    .condition_expression("attribute_exists(#id)")
                    .expression_attribute_names("#id", HASH_KEY)
                    .build()
                    .map_err(|e| failed(e.into()))?,
            )
            .build();
        let mut request = self.reads.transact_write_items().transact_items(delete);
        if item.contains_key(LIST_ATTRIBUTE) {
            // Counted in the registry: one fewer, in the same transaction.
            request = request.transact_items(self.registry_add(-1)?);
        }
        match Box::pin(request.send()).await {
            Ok(_) => {}
            Err(error) if cancellation_reasons(&error).is_some() => return Ok(false),
            Err(error) => return Err(classify(error, true)),
        }
        let days = self.day_ids_of(counter).await?;
        self.delete_ids(days).await?;
        self.recount_after_operator().await;
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
            request = request.transact_items(self.registry_add(1)?);
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
        let items = self
            .scan_all(
                "begins_with(#id, :counter) OR #id = :site",
                &[("#id", HASH_KEY), ("#list", LIST_ATTRIBUTE)],
                &[(":counter", COUNTER_PREFIX), (":site", COUNTER_ID)],
            )
            .await?;
        for item in &items {
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
        self.recount_after_operator().await;
        Ok(count)
    }
}

impl DynamoDbStore {
    /// The ids of a counter's day items: a Scan (the operator's only).
    pub(super) async fn day_ids_of(
        &self,
        counter: &CounterName,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = format!("{DAY_PREFIX}{counter}#");
        let items = self
            .scan_all(
                "begins_with(#id, :prefix)",
                &[("#id", HASH_KEY)],
                &[(":prefix", &prefix)],
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| match item.get(HASH_KEY) {
                Some(AttributeValue::S(id))
                    if day_of(id).is_some_and(|(name, _)| &name == counter) =>
                {
                    Some(id.clone())
                }
                _ => None,
            })
            .collect())
    }

    /// Deletes these items, 25 to a `BatchWriteItem`.
    pub(super) async fn delete_ids(&self, ids: Vec<String>) -> Result<(), StoreError> {
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
    /// load it may): how the operator commands that change days (`import`, `delete`,
    /// `rename`) write and delete items. Each call, landed or not, forgets the finished
    /// days this process keeps, so none of its reads shows a day as it was.
    pub(super) async fn batch_write(
        &self,
        mut pending: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        for attempt in 1..=BATCH_WRITE_ATTEMPTS {
            let output = self
                .reads
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await;
            self.forget_past_days();
            let output = output.map_err(|e| classify(e, false))?;
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

impl DynamoDbStore {
    /// Every counter item (and, with `days`, every day item) of the table, by one Scan
    /// of it page after page: each item's id and numbers. Only the operator commands
    /// call it (export, reindex), with the operator's credentials.
    pub(super) async fn scan_numbers(
        &self,
        days: bool,
    ) -> Result<Vec<(String, Totals)>, StoreError> {
        let filter = if days {
            "begins_with(#id, :counter) OR begins_with(#id, :day) OR #id = :site"
        } else {
            "begins_with(#id, :counter) OR #id = :site"
        };
        let mut values = vec![(":counter", COUNTER_PREFIX), (":site", COUNTER_ID)];
        if days {
            values.push((":day", DAY_PREFIX));
        }
        let names = [
            ("#id", HASH_KEY),
            ("#count", COUNT_ATTRIBUTE),
            ("#visitors", VISITORS_ATTRIBUTE),
        ];
        let mut found = Vec::new();
        for item in self.scan_all(filter, &names, &values).await? {
            if let Some(AttributeValue::S(id)) = item.get(HASH_KEY) {
                found.push((id.clone(), totals_of(&item)?));
            }
        }
        Ok(found)
    }

    /// Every item that `filter` keeps, with the attributes `names` maps (`#name` to an
    /// attribute, all of them projected), by one consistent Scan page after page.
    /// The operator's only, never a request's: Scan is not among `OPERATIONS`.
    async fn scan_all(
        &self,
        filter: &str,
        names: &[(&str, &str)],
        values: &[(&str, &str)],
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let projection = names
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ");
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .reads
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression(filter)
                .projection_expression(&projection)
                .set_exclusive_start_key(start);
            for (name, attribute) in names {
                request = request.expression_attribute_names(*name, *attribute);
            }
            for (name, value) in values {
                request = request
                    .expression_attribute_values(*name, AttributeValue::S((*value).to_owned()));
            }
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
            items.extend(output.items().iter().cloned());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}

impl DynamoDbStore {
    /// A transaction's item that adds `delta` to the registry's count of counters.
    fn registry_add(&self, delta: i64) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key(HASH_KEY, AttributeValue::S(REGISTRY_ID.to_owned()))
            .update_expression("ADD #counters :delta")
            .expression_attribute_names("#counters", REGISTRY_COUNTERS)
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            .build()
            .map_err(|e| failed(e.into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Counts the site's views again after an operator command changed a counter's
    /// (see [`DynamoDbStore::recount_site_views`]). The command's own write has landed
    /// either way: a failure here is said, not fatal, and the next command (or
    /// `counters reindex`) counts again.
    async fn recount_after_operator(&self) {
        let today = crate::day::Clock::today(&crate::day::SystemClock);
        if let Err(error) = self.recount_site_views(today).await {
            tracing::warn!(
                error = %crate::chain::error_chain(&error),
                "the site's views were not counted again; `counters reindex` does it"
            );
        }
    }
}
