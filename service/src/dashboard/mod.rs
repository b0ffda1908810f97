//! `GET /dashboard`: the page a site owner opens every day. It answers "how many people
//! came this period, against the period before, and what did they read", rendered here as
//! HTML with inline SVG charts, no script and nothing loaded: its
//! `Content-Security-Policy` allows only its own inline style and its own period form.
//!
//! What it shows, for a period (the last 7, 30, 90 or 365 UTC days, or a `from`/`to` of
//! at most 366 dates; 30 days unless asked, the period always in the URL):
//! - **The whole site**: its views and visitors in the period (from the site's own days,
//!   so one person reading four pages is one visitor), each against the previous period
//!   of the same length, what was not counted (bots, views past the daily limit), and a
//!   chart of the days with a labelled axis and dates, the same numbers as a table.
//! - **The pages**: the [`CHARTS`] counters with the most views of all time, sorted by
//!   their views in the period, each with its period's views and visitors and a small
//!   chart of its days, every chart on one shared scale (its top labelled). Counters
//!   past those are listed with their all-time numbers only (at most [`MAX_LISTED`]).
//! - A CSV of all of it (`?format=csv`, see [`Dashboard::csv`]).
//!
//! # What a load costs
//!
//! The page reads, whatever the store holds:
//! - the list of counters, page by page, at most [`MAX_LIST_PAGES`] pages of
//!   [`PAGE_SIZE`] (every counter's all-time totals, to pick the most viewed);
//! - the site's days of the period and of the previous period: at most 2 × 366 dates;
//! - the days of the period of at most [`CHARTS`] counters: at most 50 × 366 dates.
//!
//! On DynamoDB, counting a read unit per item asked for (day items and counter items are
//! far under 4 KB, so a strongly consistent read of one is one unit, and an item asked
//! for that does not exist is billed as read too), the worst case of one load is, for a
//! 366-date period on a table holding 10,000 counters or more:
//! - the list: 10 pages × (1,000 index entries + 1,000 counter items) = 20,000 (the
//!   index's keys-only entries really cost far less: a `Query` is billed per 4 KB read);
//! - the site's days: 2 × 366 dates × 4 site day items
//!   ([`crate::store::dynamodb::SITE_SHARDS`]) = 2,928;
//! - the counters' days: 50 × 366 = 18,300;
//!
//! so at most **41,228 read units** per load, and
//! 21,740 for the default 30 days on such a table (20,000 + 240 + 1,500). A site of 100
//! counters reads at most 200 + 240 + 1,500 = 1,940 for its default page. Nothing is
//! written. `site::a_dashboard_load_on_dynamodb_*` counts the calls of one load on
//! DynamoDB Local (which bills only the items it finds) and that a reload makes none.
//!
//! # The cache
//!
//! A rendered page (or CSV) is served again from memory for [`PAGE_LIFETIME`]: a reload,
//! or a crowd of them, reads nothing more within it. At most [`CACHED_PAGES`] periods
//! (and formats) are kept, the oldest dropped first, so a client walking through
//! arbitrary `from`/`to` pairs costs memory in a fixed bound; it still costs a load's
//! reads per new period, at most one load at a time per process: loads wait for the one
//! rendering (the store sees one dashboard's reads at once).
//!
//! Everything on it is public anyway (`GET /counters`, `GET /totals/days`,
//! `GET /counters/{name}/days`); the page only puts it in front of people.
//! `DASHBOARD=off` answers `404` instead.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::day::Day;
use crate::markup::{escape, grouped, how_many};
use crate::names::{AllowedCounters, CounterName};
use crate::store::{CounterStore, DayTotals, PAGE_SIZE, StoreError, Totals};

/// Its path.
pub const PATH: &str = "/dashboard";
/// The periods the picker offers, in days ending today.
pub const PERIODS: [i32; 4] = [7, 30, 90, 365];
/// The period shown when none is asked for.
pub const DEFAULT_PERIOD: i32 = 30;
/// The longest period, in dates (as `days`).
pub const MAX_PERIOD: i32 = 366;
/// How many counters' days are read: the most viewed of all time.
pub const CHARTS: usize = 50;
/// The most pages of the list read (of [`PAGE_SIZE`] counters each).
pub const MAX_LIST_PAGES: usize = 10;
/// The most counters the page lists.
pub const MAX_LISTED: usize = MAX_LIST_PAGES * PAGE_SIZE;
/// How many counters' days are read at once.
const PARALLEL_READS: usize = 8;
/// What the page may do: draw itself with its own inline style, and send its period
/// form to itself; nothing else.
pub const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How long a rendered page is served again from memory.
pub const PAGE_LIFETIME: Duration = Duration::from_secs(30);
/// The most rendered pages kept (periods and formats together).
pub const CACHED_PAGES: usize = 8;

/// The dates the page shows, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub from: Day,
    pub to: Day,
}

impl Period {
    /// The last `days` dates up to `today`.
    pub fn last(days: i32, today: Day) -> Self {
        Self {
            from: today.plus(1 - days),
            to: today,
        }
    }

    /// How many dates it holds.
    pub fn length(self) -> i32 {
        i32::try_from(self.from.until(self.to) + 1).unwrap_or(0)
    }

    /// The period of the same length just before.
    pub fn previous(self) -> Self {
        Self {
            from: self.from.plus(-self.length()),
            to: self.from.plus(-1),
        }
    }

    /// Which of [`PERIODS`] it is on `today`, if one.
    fn preset(self, today: Day) -> Option<i32> {
        PERIODS
            .into_iter()
            .find(|&days| self.to == today && self.length() == days)
    }

    /// Its query string on the page's links.
    fn query(self, today: Day) -> String {
        match self.preset(today) {
            Some(days) => format!("period={days}"),
            None => format!("from={}&to={}", self.from, self.to),
        }
    }
}

/// What the answer is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Html,
    Csv,
}

type Key = (Period, Format);

/// The pages rendered lately, for [`PAGE_LIFETIME`], at most [`CACHED_PAGES`] of them.
#[derive(Debug, Default)]
pub struct PageCache(tokio::sync::Mutex<VecDeque<(Instant, Key, String)>>);

impl PageCache {
    /// The page of `period` in `format` from memory if it is fresh, else from `render`
    /// (then kept). One render at a time: loads that arrive while one renders wait.
    pub async fn get_or_render<F>(
        &self,
        period: Period,
        format: Format,
        render: F,
    ) -> Result<String, StoreError>
    where
        F: Future<Output = Result<String, StoreError>>,
    {
        let key = (period, format);
        let mut cached = self.0.lock().await;
        cached.retain(|(made, _, _)| made.elapsed() < PAGE_LIFETIME);
        if let Some((_, _, page)) = cached.iter().find(|(_, k, _)| *k == key) {
            return Ok(page.clone());
        }
        let page = render.await?;
        while cached.len() >= CACHED_PAGES {
            cached.pop_front();
        }
        cached.push_back((Instant::now(), key, page.clone()));
        Ok(page)
    }
}

/// One page (counter) read for the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub name: CounterName,
    /// One entry per date of the period.
    pub days: Vec<DayTotals>,
}

impl Page {
    /// Its numbers over the period.
    pub fn sum(&self) -> DayTotals {
        sum(&self.days)
    }
}

/// The sum of `days` (visitors summed over days, as everywhere).
pub fn sum(days: &[DayTotals]) -> DayTotals {
    days.iter().fold(DayTotals::default(), |s, d| DayTotals {
        views: s.views.saturating_add(d.views),
        visitors: s.visitors.saturating_add(d.visitors),
        bots: s.bots.saturating_add(d.bots),
        limited: s.limited.saturating_add(d.limited),
    })
}

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub today: Day,
    pub period: Period,
    /// The whole site's days of the period, and of the previous period.
    pub site: Vec<DayTotals>,
    pub previous: Vec<DayTotals>,
    /// The pages whose days were read, the most viewed in the period first.
    pub pages: Vec<Page>,
    /// The counters listed past those, with their all-time totals, the most viewed first.
    pub others: Vec<(CounterName, Totals)>,
    /// Whether the list held more counters than [`MAX_LISTED`].
    pub more: bool,
}

impl Dashboard {
    /// Reads what the page of `period` shows from `store`: see the module's costs.
    pub async fn read<S: CounterStore>(
        store: &S,
        allowed: &AllowedCounters,
        today: Day,
        period: Period,
    ) -> Result<Self, StoreError> {
        let previous = period.previous();
        let (site, listed) = tokio::join!(store.site_days(previous.from, period.to), async {
            let mut counters: Vec<(CounterName, Totals)> = Vec::new();
            let mut after: Option<CounterName> = None;
            let mut more = false;
            for _ in 0..MAX_LIST_PAGES {
                let page = store.list(after.as_ref(), PAGE_SIZE).await?;
                after = page.counters.last().map(|(name, _)| name.clone());
                more = page.more && after.is_some();
                counters.extend(
                    page.counters
                        .into_iter()
                        .filter(|(name, _)| allowed.allows(name)),
                );
                if !more {
                    break;
                }
            }
            Ok::<_, StoreError>((counters, more))
        });
        let mut site = site?;
        let (mut counters, more) = listed?;
        let split = usize::try_from(previous.length())
            .unwrap_or(0)
            .min(site.len());
        let previous_days: Vec<DayTotals> = site.drain(..split).collect();

        // The most viewed of all time get their days read; the list may sort them anywhere.
        counters.sort_by(|(a, x), (b, y)| y.views.cmp(&x.views).then_with(|| a.cmp(b)));
        let others = counters.split_off(counters.len().min(CHARTS));
        let mut pages: Vec<(Page, Totals)> = stream::iter(counters)
            .map(|(name, all_time)| async move {
                let days = store.days(&name, period.from, period.to).await?;
                Ok::<_, StoreError>((Page { name, days }, all_time))
            })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        pages.sort_by(|(a, x), (b, y)| {
            b.sum()
                .views
                .cmp(&a.sum().views)
                .then_with(|| y.views.cmp(&x.views))
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(Self {
            today,
            period,
            site,
            previous: previous_days,
            pages: pages.into_iter().map(|(page, _)| page).collect(),
            others,
            more,
        })
    }

    /// How many counters the page knows of.
    fn counters(&self) -> usize {
        self.pages.len() + self.others.len()
    }

    /// The CSV of what the page shows, one row per line, a header first:
    /// `row,name,from,to,views,visitors,bots,limited`, where `row` is
    /// - `site`: the whole site over the period; `site-previous`: over the previous
    ///   period; `site-day`: one day of the site (`from` = `to` = its date);
    /// - `page`: a page over the period (`name` is the counter); `page-day`: one of its
    ///   days;
    /// - `other`: a counter whose days were not read, with its all-time `views` and
    ///   `visitors` (`from`, `to`, `bots`, `limited` empty).
    pub fn csv(&self) -> String {
        let mut out = String::from("row,name,from,to,views,visitors,bots,limited\r\n");
        let row = |out: &mut String, kind: &str, name: &str, period: Period, n: DayTotals| {
            let _ = write!(
                out,
                "{kind},{name},{},{},{},{},{},{}\r\n",
                period.from,
                period.to,
                n.views,
                n.visitors,
                n.bots,
                n.limited,
                name = csv_field(name),
            );
        };
        let period = self.period;
        row(&mut out, "site", "", period, sum(&self.site));
        row(
            &mut out,
            "site-previous",
            "",
            period.previous(),
            sum(&self.previous),
        );
        for (i, day) in self.site.iter().enumerate() {
            let date = period.from.plus(i as i32);
            row(
                &mut out,
                "site-day",
                "",
                Period {
                    from: date,
                    to: date,
                },
                *day,
            );
        }
        for page in &self.pages {
            row(&mut out, "page", page.name.as_str(), period, page.sum());
            for (i, day) in page.days.iter().enumerate() {
                let date = period.from.plus(i as i32);
                let one = Period {
                    from: date,
                    to: date,
                };
                row(&mut out, "page-day", page.name.as_str(), one, *day);
            }
        }
        for (name, totals) in &self.others {
            let _ = write!(
                out,
                "other,{},,,{},{},,\r\n",
                csv_field(name.as_str()),
                totals.views,
                totals.visitors
            );
        }
        out
    }
}

/// A CSV field: counter names need no quoting, but a field is quoted if it would.
fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\r', '\n']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

mod html;
pub use html::{change, nice_top};

#[cfg(test)]
mod tests;
