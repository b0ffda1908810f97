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

    /// The page.
    pub fn html(&self) -> String {
        let days = self.period.length();
        let mut page = String::with_capacity(
            16_384 + self.pages.len() * (400 + days as usize * 24) + self.others.len() * 120,
        );
        let (from, to) = (self.period.from, self.period.to);
        let _ = write!(
            page,
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Visitor counter: {from} to {to}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Visitor counter</h1>
"#
        );
        self.picker(&mut page);
        page.push_str("</header>\n<main>\n");
        self.site_section(&mut page);
        self.pages_section(&mut page);
        let _ = write!(
            page,
            "<p class=\"download\"><a id=\"csv\" href=\"?{query}&amp;format=csv\" download=\"visitor-counter-{from}-{to}.csv\">Download these numbers (CSV)</a></p>\n</main>\n<footer><p>Dates are UTC days. Visitors are distinct visitors per day, summed over the days. Numbers as of this page's loading (kept {lifetime} s); reload for newer ones. The same numbers as JSON: <code>GET /totals/days</code>, <code>GET /counters/{{name}}/days</code> and <code>GET /counters</code>.</p></footer>\n</body>\n</html>\n",
            query = escape(&self.period.query(self.today)),
            lifetime = PAGE_LIFETIME.as_secs(),
        );
        page
    }

    /// The period picker: a link per preset, and a form for any dates.
    fn picker(&self, page: &mut String) {
        page.push_str("<nav class=\"periods\" aria-label=\"Period\">\n<ul>");
        let current = self.period.preset(self.today);
        for days in PERIODS {
            let here = if current == Some(days) {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(
                page,
                "<li><a href=\"?period={days}\"{here}>{days} days</a></li>"
            );
        }
        let _ = write!(
            page,
            "</ul>\n<form method=\"get\" action=\"\" class=\"range\"><label>From <input type=\"date\" id=\"from\" name=\"from\" value=\"{from}\" max=\"{today}\" required></label> <label>to <input type=\"date\" id=\"to\" name=\"to\" value=\"{to}\" max=\"{today}\" required></label> <button type=\"submit\">Show</button></form>\n</nav>\n",
            from = self.period.from,
            to = self.period.to,
            today = self.today,
        );
    }

    fn site_section(&self, page: &mut String) {
        let period = self.period;
        let previous = period.previous();
        let now = sum(&self.site);
        let before = sum(&self.previous);
        let days = period.length();
        let _ = write!(
            page,
            "<section class=\"site\" aria-labelledby=\"site-title\">\n<h2 id=\"site-title\">The whole site: <span id=\"period\">{from} to {to}</span>, {n}</h2>\n<dl class=\"figures\">\n",
            from = period.from,
            to = period.to,
            n = how_many(days as u64, "day", "days"),
        );
        for (id, word, plural, a, b) in [
            ("views", "view", "views", now.views, before.views),
            (
                "visitors",
                "visitor",
                "visitors",
                now.visitors,
                before.visitors,
            ),
        ] {
            let _ = writeln!(
                page,
                "<div><dt>{Label}</dt><dd><span class=\"figure\" id=\"site-{id}\">{n}</span> <span class=\"change {direction}\" id=\"{id}-change\">{change}</span> <span class=\"before\">against <span id=\"{id}-before\">{before}</span> from {pfrom} to {pto}</span></dd></div>",
                Label = capitalised(plural),
                n = grouped(a),
                direction = direction(a, b),
                change = change(a, b),
                before = how_many(b, word, plural),
                pfrom = previous.from,
                pto = previous.to,
            );
        }
        let _ = write!(
            page,
            "<div><dt>Not counted</dt><dd><span id=\"site-bots\">{bots}</span> from bots, <span id=\"site-limited\">{limited}</span> past the daily limit per visitor</dd></div>\n</dl>\n",
            bots = how_many(now.bots, "view", "views"),
            limited = how_many(now.limited, "view", "views"),
        );
        self.site_chart(page);
        page.push_str("</section>\n");
    }

    /// The site's chart: a bar of views and one of visitors per date, an axis of views
    /// per day on the left, dates under it; the same numbers as a table.
    fn site_chart(&self, page: &mut String) {
        let period = self.period;
        let peak = self.site.iter().map(|d| d.views).max().unwrap_or(0);
        let top = nice_top(peak);
        let length = self.site.len().max(1);
        let _ = write!(
            page,
            "<figure class=\"site-chart\">\n<div class=\"plot\"><div class=\"y-axis\" aria-hidden=\"true\"><span class=\"tick top\">{top}</span>{mid}<span class=\"tick zero\">0</span></div>\
<svg viewBox=\"0 0 {length} 100\" preserveAspectRatio=\"none\" role=\"img\" aria-labelledby=\"site-chart-title\"><title id=\"site-chart-title\">{description}</title>\
<line class=\"grid\" x1=\"0\" y1=\"0\" x2=\"{length}\" y2=\"0\"/><line class=\"grid\" x1=\"0\" y1=\"50\" x2=\"{length}\" y2=\"50\"/>",
            top = grouped(top),
            mid = if top >= 2 && top.is_multiple_of(2) {
                format!("<span class=\"tick mid\">{}</span>", grouped(top / 2))
            } else {
                String::new()
            },
            description = escape(&self.description("The whole site", &self.site, top)),
        );
        for (i, day) in self.site.iter().enumerate() {
            let date = period.from.plus(i as i32);
            let (v, u) = (
                height(day.views, top),
                height(day.visitors.min(day.views), top),
            );
            let _ = write!(
                page,
                "<g><title>{date}: {views}, {visitors}</title><rect class=\"day\" x=\"{i}\" y=\"0\" width=\"1\" height=\"100\"/><rect class=\"views\" x=\"{i}.1\" y=\"{vy:.1}\" width=\".8\" height=\"{v:.1}\"/><rect class=\"visitors\" x=\"{i}.3\" y=\"{uy:.1}\" width=\".4\" height=\"{u:.1}\"/></g>",
                views = how_many(day.views, "view", "views"),
                visitors = how_many(day.visitors, "visitor", "visitors"),
                vy = 100.0 - v,
                uy = 100.0 - u,
            );
        }
        let middle = period.from.plus(period.length() / 2);
        let _ = write!(
            page,
            "<line class=\"base\" x1=\"0\" y1=\"100\" x2=\"{length}\" y2=\"100\"/></svg>\n<div class=\"x-axis\" aria-hidden=\"true\"><span>{from}</span>{middle}<span>{to}</span></div></div>\n<figcaption><span class=\"key views\"></span> views and <span class=\"key visitors\"></span> visitors per day; the axis is views per day.\n<details><summary>The {n} as a table</summary><table class=\"days\"><thead><tr><th scope=\"col\">Date</th><th scope=\"col\" class=\"number\">Views</th><th scope=\"col\" class=\"number\">Visitors</th><th scope=\"col\" class=\"number\">Bots</th><th scope=\"col\" class=\"number\">Limited</th></tr></thead><tbody>",
            from = period.from,
            to = period.to,
            middle = if period.length() >= 3 {
                format!("<span>{middle}</span>")
            } else {
                String::new()
            },
            n = how_many(self.site.len() as u64, "day", "days"),
        );
        for (i, day) in self.site.iter().enumerate() {
            let _ = write!(
                page,
                "<tr><td>{date}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td></tr>",
                grouped(day.views),
                grouped(day.visitors),
                grouped(day.bots),
                grouped(day.limited),
                date = period.from.plus(i as i32),
            );
        }
        page.push_str("</tbody></table></details></figcaption>\n</figure>\n");
    }

    /// A chart's text for readers who cannot see it.
    fn description(&self, what: &str, days: &[DayTotals], top: u64) -> String {
        let total = sum(days);
        let peak = days.iter().map(|d| d.views).max().unwrap_or(0);
        let (from, to) = (self.period.from, self.period.to);
        match days.iter().position(|d| d.views == peak) {
            Some(i) if peak > 0 => format!(
                "{what}, {from} to {to}: {views} and {visitors}; the most in a day, {most}, on {day}. Scale: 0 to {top} views a day.",
                views = how_many(total.views, "view", "views"),
                visitors = how_many(total.visitors, "visitor", "visitors"),
                most = how_many(peak, "view", "views"),
                day = from.plus(i as i32),
                top = grouped(top),
            ),
            _ => format!("{what}, {from} to {to}: no views."),
        }
    }

    fn pages_section(&self, page: &mut String) {
        let _ = write!(
            page,
            "<section class=\"pages\" aria-labelledby=\"pages-title\">\n<h2 id=\"pages-title\">Pages, the most viewed in the period first</h2>\n"
        );
        if self.counters() == 0 {
            page.push_str(
                "<p class=\"empty\">Nothing has been counted yet. A page counts its visits with the embed line (README, \"On a web page\"), or with <code>POST /counters/{name}</code>.</p>\n</section>\n",
            );
            return;
        }
        let peak = self
            .pages
            .iter()
            .flat_map(|p| p.days.iter().map(|d| d.views))
            .max()
            .unwrap_or(0);
        let top = nice_top(peak);
        let length = self.period.length().max(1);
        let _ = write!(
            page,
            "<p class=\"scale\">Each chart: <span class=\"key views\"></span> views and <span class=\"key visitors\"></span> visitors per day, {from} to {to}, on one scale for every page: from 0 to <strong id=\"pages-top\">{top}</strong> a day.</p>\n<table class=\"pages\">\n<thead><tr><th scope=\"col\">Page</th><th scope=\"col\" class=\"number\">Views</th><th scope=\"col\" class=\"number\">Visitors</th></tr></thead>\n",
            from = self.period.from,
            to = self.period.to,
            top = how_many(top, "view", "views"),
        );
        for (i, p) in self.pages.iter().enumerate() {
            let total = p.sum();
            let name = escape(p.name.as_str());
            let _ = write!(
                page,
                "<tbody class=\"page\"><tr><th scope=\"row\"><code>{name}</code></th><td class=\"number\">{views}</td><td class=\"number\">{visitors}</td></tr>\n<tr class=\"chart\"><td colspan=\"3\"><svg class=\"spark\" viewBox=\"0 0 {length} 100\" preserveAspectRatio=\"none\" role=\"img\" aria-labelledby=\"page-{i}\"><title id=\"page-{i}\">{description}</title><line class=\"grid\" x1=\"0\" y1=\"0\" x2=\"{length}\" y2=\"0\"/>",
                views = grouped(total.views),
                visitors = grouped(total.visitors),
                description = escape(&self.description(p.name.as_str(), &p.days, top)),
            );
            let path = |of: fn(&DayTotals) -> u64| -> String {
                let mut d = String::new();
                for (x, day) in p.days.iter().enumerate() {
                    let h = height(of(day), top);
                    if h > 0.0 {
                        let _ = write!(d, "M{x}.5 100V{:.1}", 100.0 - h);
                    }
                }
                d
            };
            let _ = writeln!(
                page,
                "<path class=\"views\" d=\"{}\"/><path class=\"visitors\" d=\"{}\"/><line class=\"base\" x1=\"0\" y1=\"100\" x2=\"{length}\" y2=\"100\"/></svg></td></tr></tbody>",
                path(|d| d.views),
                path(|d| d.visitors.min(d.views)),
            );
        }
        page.push_str("</table>\n");
        if !self.others.is_empty() {
            let _ = write!(
                page,
                "<details class=\"others\"><summary>{n} more, with fewer views of all time: their numbers of all time</summary>\n<p class=\"note\">The page reads the days of the {CHARTS} pages with the most views of all time; these are listed with their numbers of all time only.</p>\n<table class=\"others\"><thead><tr><th scope=\"col\">Page</th><th scope=\"col\" class=\"number\">Views</th><th scope=\"col\" class=\"number\">Visitors</th></tr></thead><tbody>\n",
                n = how_many(self.others.len() as u64, "page", "pages"),
            );
            for (name, totals) in &self.others {
                let _ = writeln!(
                    page,
                    "<tr><th scope=\"row\"><code>{}</code></th><td class=\"number\">{}</td><td class=\"number\">{}</td></tr>",
                    escape(name.as_str()),
                    grouped(totals.views),
                    grouped(totals.visitors),
                );
            }
            page.push_str("</tbody></table></details>\n");
        }
        if self.more {
            let _ = writeln!(
                page,
                "<p class=\"note\">Only the first {} counters by name are listed here; <code>GET /counters</code> lists them all.</p>",
                grouped(MAX_LISTED as u64)
            );
        }
        page.push_str("</section>\n");
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

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The top of an axis for a peak of `peak`: the smallest of 1, 2, 4, 6, 8 times a power of
/// ten at or above it (1 for none), so that its half is a whole number too.
pub fn nice_top(peak: u64) -> u64 {
    let mut power = 1u64;
    loop {
        for step in [1u64, 2, 4, 6, 8] {
            let top = step.saturating_mul(power);
            if top >= peak {
                return top;
            }
        }
        match power.checked_mul(10) {
            Some(next) => power = next,
            None => return u64::MAX,
        }
    }
}

/// A bar's height out of 100 for `n` on a scale to `top`: at least 2 for any day with
/// something, so that it shows.
fn height(n: u64, top: u64) -> f64 {
    if n == 0 || top == 0 {
        return 0.0;
    }
    (n as f64 / top as f64 * 100.0).clamp(2.0, 100.0)
}

/// `+25%`, `-3%`, `no change`, `new`: `now` against `before`.
pub fn change(now: u64, before: u64) -> String {
    if now == before {
        return "no change".to_owned();
    }
    if before == 0 {
        return "new".to_owned();
    }
    let percent = (i128::from(now) - i128::from(before)) * 100 / i128::from(before);
    match percent {
        0 if now > before => "+<1%".to_owned(),
        0 => "\u{2212}<1%".to_owned(),
        p if p > 0 => format!("+{}%", grouped(p.unsigned_abs())),
        p => format!("\u{2212}{}%", grouped(p.unsigned_abs())),
    }
}

fn direction(now: u64, before: u64) -> &'static str {
    match now.cmp(&before) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => "same",
    }
}

const STYLE: &str = "
:root { color-scheme: light dark; --ink: #1b1f24; --muted: #5b6470; --line: #d5d9de; --bar: #2f6fde; --bar2: #0d3b8c; --day: transparent; --up: #1a7f37; --down: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --ink: #e6e8eb; --muted: #a0a8b3; --line: #3a4049; --bar: #5b93f0; --bar2: #b9d0fa; --up: #57c26f; --down: #ff8a80; } }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--ink); margin: 0 auto; max-width: 64rem; padding: 1rem; overflow-wrap: anywhere; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
.note, footer, .scale, .before, figcaption { color: var(--muted); }
nav.periods { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
nav.periods ul { display: flex; flex-wrap: wrap; gap: .4rem; list-style: none; margin: 0; padding: 0; }
nav.periods a { display: inline-block; padding: .3rem .7rem; border: 1px solid var(--line); border-radius: 1rem; text-decoration: none; color: inherit; white-space: nowrap; }
nav.periods a[aria-current] { background: var(--bar); border-color: var(--bar); color: #fff; }
form.range { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
form.range label { white-space: nowrap; }
form.range input { font: inherit; font-size: .95rem; max-width: 10.5rem; }
form.range button { font: inherit; padding: .2rem .8rem; }
dl.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: .75rem 1.5rem; margin: 0 0 1rem; }
dl.figures dt { color: var(--muted); font-size: .9rem; }
dl.figures dd { margin: 0; }
.figure { font-size: 1.9rem; font-weight: 600; font-variant-numeric: tabular-nums; margin-right: .3rem; }
.change { font-weight: 600; white-space: nowrap; }
.change.up { color: var(--up); }
.change.down { color: var(--down); }
.before { display: block; font-size: .9rem; }
figure { margin: 0; }
.plot { display: grid; grid-template-columns: auto 1fr; gap: .4rem; }
.y-axis { display: flex; flex-direction: column; justify-content: space-between; text-align: right; font-size: .8rem; color: var(--muted); font-variant-numeric: tabular-nums; height: 10rem; }
.y-axis .tick { line-height: 1; }
.plot svg { display: block; width: 100%; height: 10rem; }
.x-axis { grid-column: 2; display: flex; justify-content: space-between; font-size: .8rem; color: var(--muted); gap: .5rem; }
figcaption { font-size: .9rem; margin-top: .4rem; }
rect.day { fill: var(--day); }
rect.views, path.views { fill: var(--bar); stroke: var(--bar); }
rect.visitors, path.visitors { fill: var(--bar2); stroke: var(--bar2); }
rect.views, rect.visitors { stroke: none; }
path.views { stroke-width: .8; }
path.visitors { stroke-width: .4; }
line { stroke: var(--line); vector-effect: non-scaling-stroke; stroke-width: 1; }
line.grid { stroke-dasharray: 3 3; }
.key { display: inline-block; width: .8em; height: .8em; vertical-align: -.05em; }
.key.views { background: var(--bar); }
.key.visitors { background: var(--bar2); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; vertical-align: top; }
table.pages tbody.page { border-bottom: 1px solid var(--line); }
table.pages thead th, table.others thead th { border-bottom: 1px solid var(--line); font-size: .9rem; color: var(--muted); }
table.pages tr.chart td { padding-top: 0; }
svg.spark { display: block; width: 100%; height: 3rem; }
.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
details { margin-top: .5rem; }
table.days td, table.days th { padding: .1rem .4rem; font-size: .85rem; }
.download { margin-top: 1.5rem; }
footer { margin-top: 2rem; font-size: .85rem; }
";

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> CounterName {
        CounterName::parse(text).unwrap()
    }

    fn day(views: u64, visitors: u64) -> DayTotals {
        DayTotals {
            views,
            visitors,
            bots: 0,
            limited: 0,
        }
    }

    fn dashboard() -> Dashboard {
        let today = Day::parse("2026-12-04").unwrap();
        let period = Period::last(7, today);
        let mut site = vec![DayTotals::default(); 7];
        site[6] = DayTotals {
            views: 12,
            visitors: 5,
            bots: 3,
            limited: 1,
        };
        site[2] = day(1500, 700);
        let mut home = vec![DayTotals::default(); 7];
        home[6] = day(12, 5);
        home[2] = day(1500, 700);
        Dashboard {
            today,
            period,
            site,
            previous: vec![day(100, 1); 7],
            pages: vec![
                Page {
                    name: name("home"),
                    days: home,
                },
                Page {
                    name: name("about"),
                    days: vec![DayTotals::default(); 7],
                },
            ],
            others: vec![(
                name("old"),
                Totals {
                    views: 1,
                    visitors: 1,
                },
            )],
            more: false,
        }
    }

    #[test]
    fn the_page_shows_the_site_its_change_and_every_page() {
        let html = dashboard().html();
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(
            html.contains("2026-11-28 to 2026-12-04</span>, 7 days"),
            "{html}"
        );
        assert!(html.contains("id=\"site-views\">1,512</span>"), "{html}");
        assert!(html.contains("id=\"views-change\">+116%</span>"), "{html}");
        assert!(
            html.contains("id=\"visitors-before\">7 visitors</span> from 2026-11-21 to 2026-11-27"),
            "{html}"
        );
        assert!(html.contains("id=\"site-bots\">3 views</span>"), "{html}");
        assert!(html.contains("id=\"site-limited\">1 view</span>"), "{html}");
        assert!(
            html.contains(
                "<code>home</code></th><td class=\"number\">1,512</td><td class=\"number\">705</td>"
            ),
            "{html}"
        );
        // One axis: 1,500 is under 2,000, its half labelled too.
        assert!(
            html.contains(
                "<span class=\"tick top\">2,000</span><span class=\"tick mid\">1,000</span>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<title>2026-11-30: 1,500 views, 700 visitors</title>"),
            "{html}"
        );
        assert!(
            html.contains("<title>2026-12-03: 0 views, 0 visitors</title>"),
            "{html}"
        );
        assert_eq!(html.matches("<rect class=\"views\"").count(), 7);
        assert_eq!(html.matches("<svg class=\"spark\"").count(), 2);
        assert!(
            html.contains("about, 2026-11-28 to 2026-12-04: no views."),
            "{html}"
        );
        assert!(
            html.contains("1 page more, with fewer views of all time"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"?period=7\" aria-current=\"page\">"),
            "{html}"
        );
        assert!(html.contains("href=\"?period=7&amp;format=csv\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(
            !html.contains(" 1 views") && !html.contains(" 1 visitors"),
            "{html}"
        );
    }

    #[test]
    fn the_csv_holds_the_site_its_days_and_the_pages() {
        let csv = dashboard().csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "row,name,from,to,views,visitors,bots,limited");
        assert_eq!(lines[1], "site,,2026-11-28,2026-12-04,1512,705,3,1");
        assert_eq!(lines[2], "site-previous,,2026-11-21,2026-11-27,700,7,0,0");
        assert_eq!(lines[5], "site-day,,2026-11-30,2026-11-30,1500,700,0,0");
        assert!(lines.contains(&"page,home,2026-11-28,2026-12-04,1512,705,0,0"));
        assert!(lines.contains(&"page-day,about,2026-12-04,2026-12-04,0,0,0,0"));
        assert_eq!(lines.last(), Some(&"other,old,,,1,1,,"));
        assert_eq!(lines.len(), 1 + 2 + 7 + 2 * 8 + 1);
    }

    #[test]
    fn a_period_not_preset_is_linked_by_its_dates() {
        let mut dashboard = dashboard();
        dashboard.period = Period {
            from: Day::parse("2026-11-01").unwrap(),
            to: Day::parse("2026-11-02").unwrap(),
        };
        dashboard.site.truncate(2);
        dashboard.previous.truncate(2);
        let html = dashboard.html();
        assert!(
            html.contains("href=\"?from=2026-11-01&amp;to=2026-11-02&amp;format=csv\""),
            "{html}"
        );
        assert!(!html.contains(" aria-current="), "{html}");
        assert_eq!(
            dashboard.period.previous(),
            Period {
                from: Day::parse("2026-10-30").unwrap(),
                to: Day::parse("2026-10-31").unwrap(),
            }
        );
    }

    #[test]
    fn changes_and_axes_read_as_people_say_them() {
        assert_eq!(change(150, 120), "+25%");
        assert_eq!(change(90, 120), "\u{2212}25%");
        assert_eq!(change(5, 0), "new");
        assert_eq!(change(0, 0), "no change");
        assert_eq!(change(1001, 1000), "+<1%");
        assert_eq!(change(u64::MAX, 1), "+1,844,674,407,370,955,161,400%");
        for (peak, top) in [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 4),
            (5, 6),
            (9, 10),
            (11, 20),
            (1500, 2000),
            (u64::MAX, u64::MAX),
        ] {
            assert_eq!(nice_top(peak), top, "{peak}");
        }
    }

    #[test]
    fn an_empty_store_says_how_to_start() {
        let mut dashboard = dashboard();
        dashboard.pages.clear();
        dashboard.others.clear();
        dashboard.site = vec![DayTotals::default(); 7];
        let html = dashboard.html();
        assert!(html.contains("Nothing has been counted yet"), "{html}");
        assert!(html.contains("id=\"views-change\">\u{2212}100%"), "{html}");
    }
}
