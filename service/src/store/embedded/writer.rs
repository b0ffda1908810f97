//! The writer thread: every change to the file, committed in groups; the visit's
//! counting (markers, the limit, the tallies, the key records) and the purges.

use super::*;

/// Runs until every `EmbeddedStore` handle is gone.
pub(super) fn write_loop(db: &Database, jobs: &mpsc::Receiver<Job>, clock: &dyn Clock) {
    let mut purged = (clock.today(), epoch_seconds(clock.now()));
    loop {
        // Between batches too, so a store never idle still deletes what expired.
        let (today, now) = (clock.today(), epoch_seconds(clock.now()));
        let new_day = today != purged.0;
        if new_day || now >= purged.1.saturating_add(KEY_PURGE.as_secs()) {
            // Markers and salts expire by the day; key records by the hour.
            let done = if new_day {
                commit(db, |txn| purge(txn, today, now))
            } else {
                commit(db, |txn| purge_keys(txn, now))
            };
            match done {
                Ok(()) => purged = (today, now),
                Err(error) => tracing::error!(
                    error = %crate::chain::error_chain(&error),
                    "deleting expired markers, salts and key records failed; trying again later"
                ),
            }
        }
        let first = match jobs.recv_timeout(PURGE_CHECK) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut answers = Vec::with_capacity(batch.len());
        let committed = commit(db, |txn| {
            for job in &batch {
                let answer = match &job.work {
                    Work::Visit(visit) => apply_visit(txn, visit).map(Answer::Once),
                    Work::Filter {
                        counter,
                        day,
                        filter,
                    } => tally(txn, counter, *day, *filter).map(Answer::Totals),
                    Work::Delete(counter) => delete(txn, counter).map(Answer::Deleted),
                    Work::Rename { from, to } => rename(txn, from, to).map(Answer::Renamed),
                    Work::VisitOnce { visit, key, now } => {
                        apply_visit_once(txn, visit, key, *now).map(Answer::Once)
                    }
                    Work::Salt(day) => day_salt(txn, *day).map(Answer::Salt),
                    Work::Set {
                        counter,
                        expected,
                        totals,
                    } => set_totals(txn, counter, *expected, *totals).map(Answer::Set),
                    Work::Restore(records) => restore(txn, records).map(|()| Answer::Restored),
                };
                // A counter at its maximum is that visit's answer (it wrote nothing);
                // a storage failure may have written part of a visit: none commits.
                if let Err(StoreError::Failed(error)) = answer {
                    return Err(StoreError::Failed(error));
                }
                answers.push(answer);
            }
            Ok(())
        });
        match committed {
            Ok(()) => {
                for (job, answer) in batch.into_iter().zip(answers) {
                    // A caller that went away still had its visit counted; nothing to undo.
                    let _ = job.reply.send(answer);
                }
            }
            Err(error) => {
                let message = crate::chain::error_chain(&error);
                tracing::error!(error = %message, "embedded store commit failed; nothing was counted");
                for job in batch {
                    let _ = job.reply.send(Err(failed(message.clone())));
                }
            }
        }
    }
}

/// Runs `work` in one durable write transaction. An error from `work` for one job is
/// that job's answer (it wrote nothing); an error of the transaction fails them all.
pub(super) fn commit(
    db: &Database,
    work: impl FnOnce(&WriteTransaction) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(failed)?;
    work(&txn)?;
    txn.commit().map_err(failed)
}

/// A counter's totals as the `counters` and `visitors` tables hold them (0 where unset).
pub(super) fn stored_totals(
    views: &impl ReadableTable<&'static str, u64>,
    visitors: &impl ReadableTable<&'static str, u64>,
    counter_key: &str,
) -> Result<Totals, StoreError> {
    let number = |value: Option<redb::AccessGuard<'_, u64>>| value.map_or(0, |v| v.value());
    Ok(Totals {
        views: number(views.get(counter_key).map_err(failed)?),
        visitors: number(visitors.get(counter_key).map_err(failed)?),
    })
}

/// Adds to one of the site's totals (`site`) inside `txn`; `0` writes nothing.
pub(super) fn add_to_site(
    txn: &WriteTransaction,
    row: &str,
    delta: i128,
) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    let mut site = txn.open_table(SITE).map_err(failed)?;
    let current = site.get(row).map_err(failed)?.map_or(0, |v| v.value());
    let next = u64::try_from(i128::from(current) + delta).unwrap_or(0);
    site.insert(row, next).map_err(failed)?;
    Ok(())
}

/// A day's filter tally of one kind plus one.
pub(super) fn plus_one(filter: Filter, (bots, limited): (u64, u64)) -> (u64, u64) {
    match filter {
        Filter::Bot => (bots.saturating_add(1), limited),
        Filter::Limited => (bots, limited.saturating_add(1)),
    }
}

/// Tallies a POST that is not counted inside `txn`: on the counter's day if the counter
/// exists, and on the site's day. Answers the counter's totals.
pub(super) fn tally(
    txn: &WriteTransaction,
    counter: &CounterName,
    day: Day,
    filter: Filter,
) -> Result<Totals, StoreError> {
    let views = txn.open_table(COUNTERS).map_err(failed)?;
    let visitors = txn.open_table(VISITORS).map_err(failed)?;
    let exists = views.get(key(counter)).map_err(failed)?.is_some();
    let totals = stored_totals(&views, &visitors, key(counter))?;
    let day = day.days_since_epoch();
    if exists {
        let mut filtered = txn.open_table(FILTERED).map_err(failed)?;
        let day_key = (counter.as_str(), day);
        let current = filtered
            .get(day_key)
            .map_err(failed)?
            .map_or((0, 0), |v| v.value());
        filtered
            .insert(day_key, plus_one(filter, current))
            .map_err(failed)?;
    }
    let mut site_days = txn.open_table(SITE_DAYS).map_err(failed)?;
    let (views, visitors, bots, limited) = site_days
        .get(day)
        .map_err(failed)?
        .map_or((0, 0, 0, 0), |v| v.value());
    let (bots, limited) = plus_one(filter, (bots, limited));
    site_days
        .insert(day, (views, visitors, bots, limited))
        .map_err(failed)?;
    Ok(totals)
}

/// How many views a marker has counted on `day` (a marker of the version before, which
/// kept no views, has counted at least one).
pub(super) fn marked_views(
    marks: &impl ReadableTable<(i32, &'static [u8]), u64>,
    old_markers: Option<&impl ReadableTable<(i32, &'static [u8]), ()>>,
    day: i32,
    marker: &[u8],
) -> Result<u64, StoreError> {
    if let Some(views) = marks.get((day, marker)).map_err(failed)? {
        return Ok(views.value());
    }
    match old_markers {
        Some(old) if old.get((day, marker)).map_err(failed)?.is_some() => Ok(1),
        _ => Ok(0),
    }
}

/// Counts one visit inside `txn`. Checks every value before writing any, so a visit
/// that cannot be counted (a number at its maximum, the cap on counters, the visitor's
/// limit) changes nothing but its tally.
pub(super) fn apply_visit(txn: &WriteTransaction, visit: &Visit) -> Result<Once, StoreError> {
    let counter_key = key(&visit.counter);
    let day = visit.day.days_since_epoch();
    let day_key = (visit.counter.as_str(), day);
    let mut marks = txn.open_table(MARKS).map_err(failed)?;
    let old_markers = match txn.open_table(MARKERS) {
        Ok(table) => Some(table),
        Err(error) => return Err(failed(error)),
    };
    let seen = match &visit.marker {
        Some(marker) => marked_views(&marks, old_markers.as_ref(), day, &marker.0)?,
        None => 0,
    };
    if visit.marker.is_some() && seen >= visit.limits.views_per_visitor {
        drop((marks, old_markers));
        let totals = tally(txn, &visit.counter, visit.day, Filter::Limited)?;
        return Ok(Once::Filtered(Filter::Limited, totals));
    }
    let new_visitor = visit.marker.is_some() && seen == 0;
    let new_site_visitor = match &visit.site_marker {
        Some(marker) => marked_views(&marks, old_markers.as_ref(), day, &marker.0)? == 0,
        None => false,
    };
    let mut views = txn.open_table(COUNTERS).map_err(failed)?;
    let mut visitors = txn.open_table(VISITORS).map_err(failed)?;
    let mut days = txn.open_table(DAYS).map_err(failed)?;
    let mut site = txn.open_table(SITE).map_err(failed)?;
    let mut site_days = txn.open_table(SITE_DAYS).map_err(failed)?;
    let exists = views.get(counter_key).map_err(failed)?.is_some();
    let counters = site
        .get(SITE_COUNTERS)
        .map_err(failed)?
        .map_or(0, |v| v.value());
    if !exists && counters >= visit.limits.max_counters {
        return Ok(Once::TooManyCounters);
    }
    let current = stored_totals(&views, &visitors, counter_key)?;
    let (day_views, day_visitors) = days
        .get(day_key)
        .map_err(failed)?
        .map_or((0, 0), |v| v.value());
    let site_views = site
        .get(SITE_VIEWS)
        .map_err(failed)?
        .map_or(0, |v| v.value());
    let site_visitors = site
        .get(SITE_VISITORS)
        .map_err(failed)?
        .map_or(0, |v| v.value());
    let site_day = site_days
        .get(day)
        .map_err(failed)?
        .map_or((0, 0, 0, 0), |v| v.value());
    let add = u64::from(new_visitor);
    let add_site = u64::from(new_site_visitor);
    let overflow = || {
        StoreError::NotACount(format!(
            "counter {} is at its maximum ({} views, {} visitors); nothing was counted",
            visit.counter, current.views, current.visitors
        ))
    };
    let next = Totals {
        views: current.views.checked_add(1).ok_or_else(overflow)?,
        visitors: current.visitors.checked_add(add).ok_or_else(overflow)?,
    };
    let next_day = (
        day_views.checked_add(1).ok_or_else(overflow)?,
        day_visitors.checked_add(add).ok_or_else(overflow)?,
    );
    views.insert(counter_key, next.views).map_err(failed)?;
    visitors
        .insert(counter_key, next.visitors)
        .map_err(failed)?;
    days.insert(day_key, next_day).map_err(failed)?;
    if let Some(marker) = &visit.marker {
        marks
            .insert((day, marker.0.as_slice()), seen.saturating_add(1))
            .map_err(failed)?;
    }
    if new_site_visitor && let Some(marker) = &visit.site_marker {
        marks
            .insert((day, marker.0.as_slice()), 1)
            .map_err(failed)?;
    }
    let (sv, svis, bots, limited) = site_day;
    site_days
        .insert(
            day,
            (
                sv.saturating_add(1),
                svis.saturating_add(add_site),
                bots,
                limited,
            ),
        )
        .map_err(failed)?;
    site.insert(SITE_VIEWS, site_views.saturating_add(1))
        .map_err(failed)?;
    site.insert(SITE_VISITORS, site_visitors.saturating_add(add_site))
        .map_err(failed)?;
    if !exists {
        site.insert(SITE_COUNTERS, counters.saturating_add(1))
            .map_err(failed)?;
    }
    Ok(Once::Counted(next))
}

/// Counts `visit` inside `txn` unless `key` has a live record at `now`; writes the
/// record in the same transaction, so the count and its record commit together. A
/// visit that is not counted keeps no record.
pub(super) fn apply_visit_once(
    txn: &WriteTransaction,
    visit: &Visit,
    key: &IdempotencyKey,
    now: u64,
) -> Result<Once, StoreError> {
    let mut keys = txn.open_table(KEYS).map_err(failed)?;
    if let Some(stored) = keys.get(key.digest().as_slice()).map_err(failed)?
        && let Some(once) = replay(stored.value(), &visit.counter, now)
    {
        return Ok(once);
    }
    let totals = match apply_visit(txn, visit)? {
        Once::Counted(totals) => totals,
        other => return Ok(other),
    };
    let expires = now.saturating_add(RETENTION.as_secs());
    keys.insert(
        key.digest().as_slice(),
        (
            visit.counter.as_str(),
            totals.views,
            totals.visitors,
            expires,
        ),
    )
    .map_err(failed)?;
    Ok(Once::Counted(totals))
}

/// What a key's stored record means for a visit of `counter` at `now`; `None` once it
/// has expired.
pub(super) fn replay(
    (stored_counter, views, visitors, expires): (&str, u64, u64, u64),
    counter: &CounterName,
    now: u64,
) -> Option<Once> {
    (expires > now).then(|| {
        if stored_counter == counter.as_str() {
            Once::Replayed(Totals { views, visitors })
        } else {
            Once::OtherCounter
        }
    })
}

/// The salt of `day`, made if missing; making it deletes older salts and expired markers.
pub(super) fn day_salt(txn: &WriteTransaction, day: Day) -> Result<Salt, StoreError> {
    let mut salts = txn.open_table(SALTS).map_err(failed)?;
    if let Some(stored) = salts.get(day.days_since_epoch()).map_err(failed)?
        && let Some(salt) = Salt::from_slice(stored.value())
    {
        return Ok(salt);
    }
    let salt = Salt::random().map_err(|_| failed("the system's random generator failed"))?;
    salts
        .insert(day.days_since_epoch(), salt.0.as_slice())
        .map_err(failed)?;
    drop(salts);
    let day_start = u64::try_from(day.start_epoch_seconds()).unwrap_or(0);
    purge(txn, day, day_start)?;
    Ok(salt)
}

/// Deletes the salts of days before `today`, the markers of days before yesterday and
/// the key records expired at `now` (epoch seconds), in the writer thread.
pub(super) fn purge(txn: &WriteTransaction, today: Day, now: u64) -> Result<(), StoreError> {
    let today = today.days_since_epoch();
    let mut salts = txn.open_table(SALTS).map_err(failed)?;
    salts.retain(|day, _| day >= today).map_err(failed)?;
    // Markers are keyed by their day first: the expired ones are one range.
    let expired = (i32::MIN, &[][..])..(today - (MARKER_DAYS - 1), &[][..]);
    let mut markers = txn.open_table(MARKERS).map_err(failed)?;
    markers
        .retain_in(expired.clone(), |_, ()| false)
        .map_err(failed)?;
    let mut marks = txn.open_table(MARKS).map_err(failed)?;
    marks.retain_in(expired, |_, _| false).map_err(failed)?;
    drop((salts, markers, marks));
    purge_keys(txn, now)
}

/// Deletes the key records expired at `now` (epoch seconds): a walk of the records,
/// which are keyed by digest, at most once an hour.
pub(super) fn purge_keys(txn: &WriteTransaction, now: u64) -> Result<(), StoreError> {
    let mut keys = txn.open_table(KEYS).map_err(failed)?;
    if keys.len().map_err(failed)? > 0 {
        keys.retain(|_, (_, _, _, expires)| expires > now)
            .map_err(failed)?;
    }
    Ok(())
}
