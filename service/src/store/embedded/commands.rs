//! The operator commands on the embedded store.

use super::*;

/// The operator commands. While they run the file is theirs alone (see [`is_in_use`]),
/// so a set's read and its write cannot be separated by a visit here; the check is
/// still made, in the writer's transaction, as on DynamoDB.
impl OperatorStore for EmbeddedStore {
    async fn export(&self) -> Result<Vec<CounterRecord>, StoreError> {
        // One read transaction: the export is a snapshot of one commit.
        let txn = self.db.begin_read().map_err(failed)?;
        let mut records = Records::default();
        if let Some(views) = read_table!(txn, COUNTERS) {
            let visitors = read_table!(txn, VISITORS);
            for entry in views.iter().map_err(failed)? {
                let (stored_key, views) = entry.map_err(failed)?;
                let Some(name) = name_of(stored_key.value()) else {
                    continue;
                };
                let visitors = match &visitors {
                    Some(table) => table
                        .get(stored_key.value())
                        .map_err(failed)?
                        .map_or(0, |v| v.value()),
                    None => 0,
                };
                let views = views.value();
                records.totals(name, Totals { views, visitors });
            }
        }
        if let Some(days) = read_table!(txn, DAYS) {
            for entry in days.iter().map_err(failed)? {
                let (day_key, numbers) = entry.map_err(failed)?;
                let (name, day) = day_key.value();
                let Ok(name) = CounterName::parse(name) else {
                    continue;
                };
                let (views, visitors) = numbers.value();
                let day = Day::from_days_since_epoch(day);
                records.day(name, day, Totals { views, visitors });
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
        let work = Work::Set {
            counter: counter.clone(),
            expected,
            totals,
        };
        match self.submit(work).await? {
            Answer::Set(outcome) => Ok(outcome),
            _ => Err(mixed_up()),
        }
    }

    async fn restore(&self, records: &[CounterRecord]) -> Result<(), StoreError> {
        match self.submit(Work::Restore(records.to_vec())).await? {
            Answer::Restored => Ok(()),
            _ => Err(mixed_up()),
        }
    }

    async fn delete(&self, counter: &CounterName) -> Result<bool, StoreError> {
        match self.submit(Work::Delete(counter.clone())).await? {
            Answer::Deleted(existed) => Ok(existed),
            _ => Err(mixed_up()),
        }
    }

    async fn rename(
        &self,
        from: &CounterName,
        to: &CounterName,
    ) -> Result<RenameOutcome, StoreError> {
        let work = Work::Rename {
            from: from.clone(),
            to: to.clone(),
        };
        match self.submit(work).await? {
            Answer::Renamed(outcome) => Ok(outcome),
            _ => Err(mixed_up()),
        }
    }

    async fn reindex(&self) -> Result<u64, StoreError> {
        // The list is the `counters` table itself; only the count can be behind.
        let db = Arc::clone(&self.db);
        blocking(move || {
            commit(&db, |txn| site_totals_from_tables(txn, true))?;
            let txn = db.begin_read().map_err(failed)?;
            let Some(site) = read_table!(txn, SITE) else {
                return Ok(0);
            };
            Ok(site
                .get(SITE_COUNTERS)
                .map_err(failed)?
                .map_or(0, |v| v.value()))
        })
        .await
    }
}

/// Makes the site's totals (`site`) from the other tables: how many counters, their
/// views, and the site's visitors summed over its days. Only when they are missing (a
/// file from before them), unless `force`.
pub(super) fn site_totals_from_tables(
    txn: &WriteTransaction,
    force: bool,
) -> Result<(), StoreError> {
    let mut site = txn.open_table(SITE).map_err(failed)?;
    if !force && site.get(SITE_COUNTERS).map_err(failed)?.is_some() {
        return Ok(());
    }
    let views = txn.open_table(COUNTERS).map_err(failed)?;
    let (mut counters, mut total) = (0u64, 0u64);
    for entry in views.iter().map_err(failed)? {
        let (stored_key, views) = entry.map_err(failed)?;
        if name_of(stored_key.value()).is_some() {
            counters += 1;
            total = total.saturating_add(views.value());
        }
    }
    let site_days = txn.open_table(SITE_DAYS).map_err(failed)?;
    let mut visitors = 0u64;
    for entry in site_days.iter().map_err(failed)? {
        let (_, numbers) = entry.map_err(failed)?;
        visitors = visitors.saturating_add(numbers.value().1);
    }
    site.insert(SITE_COUNTERS, counters).map_err(failed)?;
    site.insert(SITE_VIEWS, total).map_err(failed)?;
    site.insert(SITE_VISITORS, visitors).map_err(failed)?;
    Ok(())
}

/// Deletes a counter's totals, days and tallies inside `txn`; whether it existed.
pub(super) fn delete(txn: &WriteTransaction, counter: &CounterName) -> Result<bool, StoreError> {
    let counter_key = key(counter);
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let Some(old_views) = views
        .remove(counter_key)
        .map_err(failed)?
        .map(|v| v.value())
    else {
        return Ok(false);
    };
    visitors.remove(counter_key).map_err(failed)?;
    drop((views, visitors));
    for table in [DAYS, FILTERED] {
        take_days(
            &mut txn.open_table(table).map_err(failed)?,
            counter.as_str(),
        )?;
    }
    add_to_site(txn, SITE_COUNTERS, -1)?;
    add_to_site(txn, SITE_VIEWS, -i128::from(old_views))?;
    Ok(true)
}

/// A day of a counter's (days since the epoch) and its two numbers, as `days` and
/// `filtered` hold them.
pub(super) type DayRow = (i32, (u64, u64));

/// Removes every day of the counter `name` from a table of days (`days`, `filtered`),
/// and answers them, oldest first.
pub(super) fn take_days(
    table: &mut redb::Table<'_, (&'static str, i32), (u64, u64)>,
    name: &str,
) -> Result<Vec<DayRow>, StoreError> {
    let range = (name, i32::MIN)..=(name, i32::MAX);
    let days = table
        .range(range.clone())
        .map_err(failed)?
        .map(|entry| entry.map(|(day, numbers)| (day.value().1, numbers.value())))
        .collect::<Result<_, _>>()
        .map_err(failed)?;
    table.retain_in(range, |_, _| false).map_err(failed)?;
    Ok(days)
}

/// Moves a counter's totals, days and tallies to a name no counter has, inside `txn`.
pub(super) fn rename(
    txn: &WriteTransaction,
    from: &CounterName,
    to: &CounterName,
) -> Result<RenameOutcome, StoreError> {
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    if views.get(key(from)).map_err(failed)?.is_none() {
        return Ok(RenameOutcome::NoSuchCounter);
    }
    if views.get(key(to)).map_err(failed)?.is_some() {
        return Ok(RenameOutcome::Taken);
    }
    let Some(old_views) = views.remove(key(from)).map_err(failed)?.map(|v| v.value()) else {
        return Ok(RenameOutcome::NoSuchCounter);
    };
    let old_visitors = visitors
        .remove(key(from))
        .map_err(failed)?
        .map_or(0, |v| v.value());
    views.insert(key(to), old_views).map_err(failed)?;
    visitors.insert(key(to), old_visitors).map_err(failed)?;
    for table in [DAYS, FILTERED] {
        let mut table = txn.open_table(table).map_err(failed)?;
        let moved = take_days(&mut table, from.as_str())?;
        for (day, numbers) in moved {
            table.insert((to.as_str(), day), numbers).map_err(failed)?;
        }
    }
    Ok(RenameOutcome::Renamed)
}

/// The counter a `counters` (or `visitors`) key holds; `None` for keys this version
/// does not write.
pub(super) fn name_of(stored_key: &str) -> Option<CounterName> {
    if stored_key == SITE_KEY {
        Some(CounterName::site())
    } else {
        CounterName::parse(stored_key).ok()
    }
}

/// Sets a counter's totals inside `txn` if it holds `expected` (or always, without).
pub(super) fn set_totals(
    txn: &WriteTransaction,
    counter: &CounterName,
    expected: Option<Totals>,
    totals: Totals,
) -> Result<SetOutcome, StoreError> {
    let counter_key = key(counter);
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let current = stored_totals(&views, &visitors, counter_key)?;
    if expected.is_some_and(|expected| expected != current) {
        return Ok(SetOutcome::Moved { current });
    }
    let existed = views
        .insert(counter_key, totals.views)
        .map_err(failed)?
        .is_some();
    visitors
        .insert(counter_key, totals.visitors)
        .map_err(failed)?;
    drop((views, visitors));
    if !existed {
        add_to_site(txn, SITE_COUNTERS, 1)?;
    }
    add_to_site(
        txn,
        SITE_VIEWS,
        i128::from(totals.views) - i128::from(current.views),
    )?;
    Ok(SetOutcome::Set)
}

/// Writes every record's totals and days inside `txn`: one commit, so an import that
/// fails midway writes nothing. The site's totals are made again from the tables.
pub(super) fn restore(txn: &WriteTransaction, records: &[CounterRecord]) -> Result<(), StoreError> {
    restore_records(txn, records)?;
    site_totals_from_tables(txn, true)
}

pub(super) fn restore_records(
    txn: &WriteTransaction,
    records: &[CounterRecord],
) -> Result<(), StoreError> {
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let mut days = txn.open_table(DAYS).map_err(failed)?;
    for record in records {
        let counter_key = key(&record.name);
        views
            .insert(counter_key, record.totals.views)
            .map_err(failed)?;
        visitors
            .insert(counter_key, record.totals.visitors)
            .map_err(failed)?;
        for (day, totals) in &record.days {
            days.insert(
                (record.name.as_str(), day.days_since_epoch()),
                (totals.views, totals.visitors),
            )
            .map_err(failed)?;
        }
    }
    Ok(())
}
