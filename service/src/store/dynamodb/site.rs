//! Reads that cost what they return: days and site days by key, the list from the
//! index, and the whole site's totals from a few items.

#[allow(unused_imports)]
use super::*;

/// The site's numbers over every day up to today (see [`DynamoDbStore::site_rollup`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Rollup {
    pub(super) views: u64,
    pub(super) visitors: u64,
    /// What every counter's views hold beyond the site's days (see
    /// [`DynamoDbStore::recount_site_views`]); `None` before its first count.
    pub(super) offset: Option<i64>,
}

/// How long a finished day's item read is used again.
pub const PAST_DAY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);
/// The most finished days' items kept at once (about 200 bytes each: 10 MB at most).
pub const PAST_DAYS: usize = 50_000;

impl DynamoDbStore {
    /// The day items of `ids` (days or site days) that exist, by id, read now:
    /// `BatchGetItem`s of 100 keys, all in parallel.
    pub(super) async fn day_items(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, DayTotals>, StoreError> {
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

    /// The day items of a range's `(id, day)`s, for a range that ends on `last`: those
    /// of days two or more before `last` (which the range rules keep at or before
    /// today) are finished, so they are read once and kept for [`PAST_DAY_LIFETIME`],
    /// at most [`PAST_DAYS`] of them. A client asking for a year again and again then
    /// reads the last two days' items, not 366 (or 1,464 of the site's). What an
    /// operator command changes in a finished day shows here at once, and in other
    /// processes within the lifetime.
    pub(super) async fn day_items_of_range(
        &self,
        ids: &[(String, Day)],
        last: Day,
    ) -> Result<HashMap<String, DayTotals>, StoreError> {
        let finished = |day: Day| day < last.plus(-1);
        // Wall-clock time: a Lambda environment's monotonic clock may stand still
        // while it is frozen between invocations.
        let now = std::time::SystemTime::now();
        let fresh = |at: &std::time::SystemTime| {
            now.duration_since(*at)
                .is_ok_and(|age| age < PAST_DAY_LIFETIME)
        };
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let kept = self.past_days();
            for (id, day) in ids {
                match kept.get(id) {
                    Some((at, totals)) if finished(*day) && fresh(at) => {
                        found.insert(id.clone(), *totals);
                    }
                    _ => missing.push(id.clone()),
                }
            }
        }
        let read = self.day_items(&missing).await?;
        let mut kept = self.past_days();
        if kept.len().saturating_add(missing.len()) > PAST_DAYS {
            kept.clear();
        }
        for (id, day) in ids {
            if finished(*day) && !found.contains_key(id) {
                let totals = read.get(id).copied().unwrap_or_default();
                kept.insert(id.clone(), (now, totals));
            }
        }
        drop(kept);
        found.extend(read);
        Ok(found)
    }

    /// Forgets the finished days kept: an operator command changes some.
    pub(super) fn forget_past_days(&self) {
        self.past_days().clear();
    }

    /// The finished days kept (a panic elsewhere while holding them leaves a map
    /// that is still whole: each change is one insert or a clear).
    fn past_days(&self) -> std::sync::MutexGuard<'_, PastDays> {
        self.past_days
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Up to `count` names of the index after `after`, in name order: `Query` pages of
    /// the keys-only index, each read costing what it returns.
    pub(super) async fn index_page(
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
                .set_exclusive_start_key(start.take());
            request = match after {
                Some(after) => request
                    .key_condition_expression("#list = :list AND #name > :after")
                    .expression_attribute_names("#name", NAME_ATTRIBUTE)
                    .expression_attribute_values(":after", AttributeValue::S(after.to_string())),
                None => request.key_condition_expression("#list = :list"),
            };
            let output = Box::pin(request.send())
                .await
                .map_err(|e| classify(e, false))?;
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
    pub(super) async fn all_views(&self) -> Result<u64, StoreError> {
        let mut views = 0u64;
        let mut after: Option<CounterName> = None;
        loop {
            let page = self.list(after.as_ref(), crate::store::PAGE_SIZE).await?;
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
    pub(super) async fn site_rollup(&self, today: Day) -> Result<Rollup, StoreError> {
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
}
