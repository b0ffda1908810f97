//! The service's store: [`CounterStore`] on DynamoDB.

#[allow(unused_imports)]
use super::*;

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
                error = %crate::chain::error_chain(&classify(error, true)),
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
        let length = crate::store::range_length(from, to);
        let ids: Vec<(String, Day)> = (0..length)
            .flat_map(|i| {
                let day = from.plus(i as i32);
                (0..SITE_SHARDS).map(move |shard| (site_day_id(day, shard), day))
            })
            .collect();
        let found = self.day_items_of_range(&ids, to).await?;
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
        // Markers a cancelled transaction found made meanwhile: not new on a retry,
        // whatever a read (which may lag) says.
        let (mut marked, mut site_marked) = (false, false);
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
            let new_visitor = marker.is_some() && marker_item.is_none() && !marked;
            let site_new = !site_marked
                && site_marker
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
            let request = self
                .writes
                .transact_write_items()
                .set_transact_items(Some(items));
            let error = match Box::pin(request.send()).await {
                Ok(_) => return Ok(Once::Counted(answer)),
                Err(error) => error,
            };
            let reasons = cancellation_reasons(&error);
            // A cancelled transaction wrote nothing: each reason says what to do.
            let retry = match reasons.as_deref().map(Cancelled::of) {
                // The key's record appeared: the read at the top replays it (or, if it
                // is this request's own, answers it).
                Some(Cancelled::Recorded(Some(item))) => {
                    let own = matches!(
                        item.get(KEY_WRITER_ATTRIBUTE),
                        Some(AttributeValue::S(w)) if *w == writer
                    );
                    match live_record(&item, now) {
                        // This request's own earlier attempt landed: its answer.
                        Some(Ok(record)) if own => return Ok(Once::Counted(record.totals)),
                        Some(record) => return Ok(record?.replay(&visit.counter)),
                        None => {
                            return Err(failed(
                                "a key's record refused the write, yet it has expired".into(),
                            ));
                        }
                    }
                }
                // DynamoDB did not return it: the read at the top finds it.
                Some(Cancelled::Recorded(None)) => true,
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
                Some(Cancelled::Marked) => {
                    let failed_at = |i: usize| {
                        reasons
                            .as_deref()
                            .and_then(|r| r.get(i))
                            .and_then(CancellationReason::code)
                            == Some("ConditionalCheckFailed")
                    };
                    let count = reasons.as_deref().map_or(0, <[CancellationReason]>::len);
                    // The visitor's marker is item 3; the site's, when sent, the last.
                    marked |= visit.marker.is_some() && failed_at(3);
                    site_marked |= count > 5 && failed_at(count - 1);
                    true
                }
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
            if !retry || attempt >= MAX_ATTEMPTS {
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
        let length = crate::store::range_length(from, to);
        let ids: Vec<(String, Day)> = (0..length)
            .map(|i| {
                let day = from.plus(i as i32);
                (day_id(counter, day), day)
            })
            .collect();
        let found = self.day_items_of_range(&ids, to).await?;
        Ok(ids
            .iter()
            .map(|(id, _)| found.get(id).copied().unwrap_or_default())
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
            .return_values(ReturnValue::None);
        match Box::pin(request.send()).await {
            Ok(_) => Ok(salt),
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
