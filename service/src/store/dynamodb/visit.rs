//! A visit's writes besides the counter's: the visitor's markers (and the limit), the
//! counter's place in the index (and the cap), the site's day, and the tallies.

#[allow(unused_imports)]
use super::*;

/// What the visitor's marker on the counter says of this view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    /// No visitor is known (no client address): the view counts, no visitor.
    Unknown,
    /// The visitor's first view of the counter today.
    New,
    Repeat,
    /// The visitor has counted the limit today: this view does not count.
    Limited,
}

impl DynamoDbStore {
    /// Whether this process has written `marker` for `day` (see [`Marked`]).
    pub(super) fn marked_today(&self, day: Day, marker: &Marker) -> bool {
        self.marked
            .lock()
            .is_ok_and(|marked| marked.contains(day, marker))
    }

    /// Marks the visitor on the whole site on `day`; whether the mark is new.
    pub(super) async fn mark_site(
        &self,
        day: Day,
        marker: Option<&Marker>,
    ) -> Result<bool, StoreError> {
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
    pub(super) async fn mark_counter(&self, visit: &Visit) -> Result<Mark, StoreError> {
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
    pub(super) async fn is_indexed(&self, counter: &CounterName) -> Result<bool, StoreError> {
        if self
            .indexed
            .lock()
            .is_ok_and(|indexed| indexed.contains(counter))
        {
            return Ok(true);
        }
        self.is_indexed_now(counter).await
    }

    pub(super) fn remember_indexed(&self, counter: &CounterName) {
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
    /// Two conditional writes, not one transaction: 3 write units (the claim, and the
    /// keys with their index's write) where a transaction bills each of its items
    /// twice. The cost: a process stopped between the two writes leaves the registry
    /// one too high, until `visitor-counter counters reindex` counts again. Either
    /// write sent again is harmless: the registry's `ADD` is only sent again when
    /// DynamoDB refused it, and the keys' write is absolute.
    ///
    /// One counter is put in the index at a time in a process: the first visits of a
    /// new counter, arriving together, wait for one claim instead of each making one
    /// (and giving it back), and then find the counter in [`Self::indexed`].
    pub(super) async fn index_counter(
        &self,
        counter: &CounterName,
        max: u64,
    ) -> Result<bool, StoreError> {
        let _one_at_a_time = self.indexing.lock().await;
        if self
            .indexed
            .lock()
            .is_ok_and(|indexed| indexed.contains(counter))
        {
            return Ok(true);
        }
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
    pub(super) async fn is_indexed_now(&self, counter: &CounterName) -> Result<bool, StoreError> {
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
    pub(super) async fn give_back_claim(&self) {
        let request = self
            .writes
            .update_item()
            .key(HASH_KEY, AttributeValue::S(REGISTRY_ID.to_owned()))
            .update_expression("ADD #counters :minus")
            .expression_attribute_names("#counters", REGISTRY_COUNTERS)
            .expression_attribute_values(":minus", AttributeValue::N("-1".to_owned()));
        if let Err(error) = self.update(request).await {
            tracing::warn!(
                error = %crate::chain::error_chain(&classify(error, true)),
                "a claim on the registry was not given back; `counters reindex` counts again"
            );
        }
    }

    /// One of the site's day items, in turn.
    pub(super) fn site_day_id(&self, day: Day) -> String {
        let shard = self.shard.fetch_add(1, Ordering::Relaxed) % u64::from(SITE_SHARDS);
        site_day_id(day, shard as u32)
    }

    /// `ADD` to the numbers of one item (a day, a site day); `None` when there is
    /// nothing to add.
    pub(super) fn add_numbers(
        &self,
        id: String,
        numbers: &[(&str, u64)],
    ) -> Option<UpdateItemFluentBuilder> {
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
    pub(super) async fn add_logged(
        &self,
        request: Option<UpdateItemFluentBuilder>,
        what: &'static str,
    ) {
        if let Some(request) = request
            && let Err(error) = self.update(request).await
        {
            tracing::warn!(
                error = %crate::chain::error_chain(&classify(error, true)),
                "{what} was not written"
            );
        }
    }

    /// Tallies a POST not counted: on the counter's day when `exists`, and on the site's.
    pub(super) async fn tally(
        &self,
        counter: &CounterName,
        day: Day,
        filter: Filter,
        exists: bool,
    ) {
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

    /// A view past the visitor's limit: tallied, and answered the counter's totals.
    pub(super) async fn limited(&self, visit: &Visit) -> Result<Once, StoreError> {
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

    /// The `salt` item's salt, if it is `day`'s (or a later day's, when this
    /// process's clock is behind another's).
    pub(super) async fn stored_salt(&self, day: Day) -> Result<Option<Salt>, StoreError> {
        let item = self.get_item(SALT_ID.to_owned(), &["day", "salt"]).await?;
        Ok(item.and_then(|item| salt_of(&item, day)))
    }
}
