//! `GET /dashboard`: one HTML page, rendered here, with every counter, its views and
//! visitors, and a chart of its last 30 days (UTC) drawn in inline SVG, each chart with
//! its numbers as a table beside it for readers who cannot see it. The page holds no
//! script and loads nothing: its `Content-Security-Policy` allows only its own inline
//! style, so it makes no request to any origin, and reads the same without JavaScript.
//!
//! Counters are listed with the most views first. The [`CHARTS`] counters with the most
//! views get a chart: each chart is one `days` read, and a site with thousands of
//! counters would otherwise wait for thousands of reads. The page lists at most the
//! [`MAX_COUNTERS`] most viewed counters, and says how many more there are; the totals
//! are every counter's. It reads every counter once (on DynamoDB the one `Scan` a page
//! of `GET /counters` costs). `DASHBOARD=off` answers `404` instead.
//!
//! Everything on it is public anyway (`GET /counters`, `GET /counters/{name}/days`);
//! the page only puts it in front of people.

use std::fmt::Write as _;

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::day::Day;
use crate::markup::{escape, grouped};
use crate::names::{AllowedCounters, CounterName};
use crate::store::{CounterStore, DayTotals, PAGE_SIZE, StoreError, Totals};

/// Its path.
pub const PATH: &str = "/dashboard";
/// How many dates each chart shows, ending today.
pub const CHART_DAYS: i32 = 30;
/// How many counters get a chart, the most viewed first.
pub const CHARTS: usize = 50;
/// The most counters the page lists.
pub const MAX_COUNTERS: usize = 10 * PAGE_SIZE;
/// How many charts' days are read at once.
const PARALLEL_READS: usize = 8;
/// What the page may do: draw itself with its own inline style, nothing else.
pub const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How long a rendered page is served again from memory: a reload, or a crowd of them,
/// reads nothing more within it.
pub const PAGE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);

/// The last page rendered, for [`PAGE_LIFETIME`].
#[derive(Debug, Default)]
pub struct PageCache(tokio::sync::Mutex<Option<(std::time::Instant, Day, String)>>);

impl PageCache {
    /// The page of `today` from memory if it is fresh, else from `render` (then kept).
    /// One render at a time: loads that arrive while one renders wait for its page.
    pub async fn get_or_render<F>(&self, today: Day, render: F) -> Result<String, StoreError>
    where
        F: Future<Output = Result<String, StoreError>>,
    {
        let mut cached = self.0.lock().await;
        if let Some((made, day, page)) = cached.as_ref()
            && *day == today
            && made.elapsed() < PAGE_LIFETIME
        {
            return Ok(page.clone());
        }
        let page = render.await?;
        *cached = Some((std::time::Instant::now(), today, page.clone()));
        Ok(page)
    }
}

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// The most viewed first, then by name; at most [`MAX_COUNTERS`].
    pub counters: Vec<(CounterName, Totals)>,
    /// The charts of the first counters, in the same order: one entry per date.
    pub charts: Vec<Vec<Totals>>,
    /// How many counters there are, listed or not.
    pub all: usize,
    /// The totals of all of them.
    pub total: Totals,
    /// The first and last date of the charts.
    pub from: Day,
    pub to: Day,
}

impl Dashboard {
    /// Reads every counter `allowed` lets be shown, and the charts' days, from `store`.
    pub async fn read<S: CounterStore>(
        store: &S,
        allowed: &AllowedCounters,
        today: Day,
    ) -> Result<Self, StoreError> {
        // The counters page after page of the list (the most viewed may sort anywhere
        // by name), at most MAX_COUNTERS of them: the page's reads are bounded whatever
        // the store holds. The whole site's numbers come from the site's own totals, so
        // its visitors are distinct people, not a sum of each page's.
        let (site, counters) = tokio::join!(store.site_totals(today), async {
            let mut counters: Vec<(CounterName, Totals)> = Vec::new();
            let mut after: Option<CounterName> = None;
            while counters.len() <= MAX_COUNTERS {
                let page = store.list(after.as_ref(), PAGE_SIZE).await?;
                after = page.counters.last().map(|(name, _)| name.clone());
                counters.extend(
                    page.counters
                        .into_iter()
                        .filter(|(name, _)| allowed.allows(name)),
                );
                if !page.more || after.is_none() {
                    break;
                }
            }
            Ok::<_, StoreError>(counters)
        });
        let site = site?;
        let mut counters = counters?;
        let all = usize::try_from(site.counters)
            .unwrap_or(usize::MAX)
            .max(counters.len());
        let total = Totals {
            views: site.views,
            visitors: site.visitors,
        };
        counters.sort_by(|(a, x), (b, y)| y.views.cmp(&x.views).then_with(|| a.cmp(b)));
        counters.truncate(MAX_COUNTERS);

        let from = today.plus(1 - CHART_DAYS);
        let charted: Vec<CounterName> = counters
            .iter()
            .take(CHARTS)
            .map(|(name, _)| name.clone())
            .collect();
        let charts = stream::iter(charted)
            .map(|name| async move {
                let days = store.days(&name, from, today).await?;
                Ok::<_, StoreError>(days.iter().map(DayTotals::counted).collect())
            })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        Ok(Self {
            counters,
            charts,
            all,
            total,
            from,
            to: today,
        })
    }

    /// The page.
    pub fn html(&self) -> String {
        let mut page = String::with_capacity(4096 + self.counters.len() * 600);
        let n = self.all;
        // Writing to a String cannot fail.
        let _ = write!(
            page,
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Visitor counter: dashboard</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Visitor counter</h1>
<p class="summary"><strong>{counters}</strong> {counter_word}, <strong>{views}</strong> views, <strong>{visitors}</strong> visitors. Charts: the {days} days from {from} to {to} (UTC).</p>
</header>
<main>
"#,
            counters = grouped(n as u64),
            counter_word = if n == 1 { "counter" } else { "counters" },
            views = grouped(self.total.views),
            visitors = grouped(self.total.visitors),
            days = CHART_DAYS,
            from = self.from,
            to = self.to,
        );
        if self.counters.is_empty() {
            page.push_str(
                "<p class=\"empty\">Nothing has been counted yet. A page counts its visits with the embed line (README, \"On a web page\"), or with <code>POST /counters/{name}</code>.</p>\n",
            );
        } else {
            page.push_str(
                "<table class=\"counters\">\n<caption>Every counter, the most viewed first. Visitors are distinct visitors per day (UTC), summed over the days. In the charts: <span class=\"key views\"></span> views and <span class=\"key visitors\"></span> visitors per day.</caption>\n<thead><tr><th scope=\"col\">Counter</th><th scope=\"col\" class=\"number\">Views</th><th scope=\"col\" class=\"number\">Visitors</th><th scope=\"col\">Last 30 days</th></tr></thead>\n<tbody>\n",
            );
            for (i, (name, totals)) in self.counters.iter().enumerate() {
                let _ = write!(
                    page,
                    "<tr><th scope=\"row\"><code>{name}</code></th><td class=\"number\">{views}</td><td class=\"number\">{visitors}</td><td>",
                    name = escape(name.as_str()),
                    views = grouped(totals.views),
                    visitors = grouped(totals.visitors),
                );
                match self.charts.get(i) {
                    Some(days) => self.chart(&mut page, i, name, days),
                    None => {
                        let _ = write!(
                            page,
                            "<span class=\"note\">no chart: only the {CHARTS} most viewed counters get one</span>"
                        );
                    }
                }
                page.push_str("</td></tr>\n");
            }
            page.push_str("</tbody>\n</table>\n");
        }
        if self.all > self.counters.len() {
            let _ = writeln!(
                page,
                "<p class=\"note\">The {} most viewed counters are listed; {} more with fewer views are in the totals above (<code>GET /counters</code> lists them all).</p>",
                grouped(self.counters.len() as u64),
                grouped((self.all - self.counters.len()) as u64)
            );
        }
        page.push_str(
            "</main>\n<footer><p>Numbers as of this page's loading; reload for newer ones. The same numbers as JSON: <code>GET /counters</code> and <code>GET /counters/{name}/days</code>.</p></footer>\n</body>\n</html>\n",
        );
        page
    }

    /// One counter's chart: a bar per date, views and visitors, and the same numbers
    /// as a table.
    fn chart(&self, page: &mut String, index: usize, name: &CounterName, days: &[Totals]) {
        const WIDTH: usize = 10;
        const HEIGHT: u64 = 48;
        let name = escape(name.as_str());
        let views = days.iter().fold(0u64, |sum, d| sum.saturating_add(d.views));
        let visitors = days
            .iter()
            .fold(0u64, |sum, d| sum.saturating_add(d.visitors));
        let peak = days.iter().map(|d| d.views).max().unwrap_or(0);
        let peak_day = days
            .iter()
            .position(|d| d.views == peak)
            .map(|i| self.from.plus(i as i32));
        let description = match peak_day {
            Some(day) if peak > 0 => format!(
                "{name}, {from} to {to}: {views} views and {visitors} visitors; the most views in a day, {peak}, on {day}.",
                from = self.from,
                to = self.to,
                views = grouped(views),
                visitors = grouped(visitors),
                peak = grouped(peak),
            ),
            _ => format!(
                "{name}, {from} to {to}: no views.",
                from = self.from,
                to = self.to
            ),
        };
        let width = days.len() * WIDTH;
        let _ = write!(
            page,
            "<figure class=\"chart\"><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"chart-{index}\"><title id=\"chart-{index}\">{description}</title>",
            height = HEIGHT + 2,
        );
        let scale = |n: u64| -> u64 {
            // At least a pixel for any day with a visit.
            n.saturating_mul(HEIGHT)
                .checked_div(peak)
                .map_or(0, |height| height.max(u64::from(n > 0)))
        };
        for (i, day) in days.iter().enumerate() {
            let x = i * WIDTH;
            let date = self.from.plus(i as i32);
            let (v, u) = (scale(day.views), scale(day.visitors.min(day.views)));
            let _ = write!(
                page,
                "<g><title>{date}: {views} views, {visitors} visitors</title><rect class=\"day\" x=\"{x}\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\"/><rect class=\"views\" x=\"{bx}\" y=\"{vy}\" width=\"8\" height=\"{v}\"/><rect class=\"visitors\" x=\"{ux}\" y=\"{uy}\" width=\"4\" height=\"{u}\"/></g>",
                views = grouped(day.views),
                visitors = grouped(day.visitors),
                bx = x + 1,
                ux = x + 3,
                vy = HEIGHT - v,
                uy = HEIGHT - u,
            );
        }
        let _ = write!(
            page,
            "<line x1=\"0\" y1=\"{y}\" x2=\"{width}\" y2=\"{y}\"/></svg><figcaption><details><summary>The {n} days as a table</summary><table class=\"days\"><thead><tr><th scope=\"col\">Date</th><th scope=\"col\" class=\"number\">Views</th><th scope=\"col\" class=\"number\">Visitors</th></tr></thead><tbody>",
            y = HEIGHT + 1,
            n = days.len(),
        );
        for (i, day) in days.iter().enumerate() {
            let _ = write!(
                page,
                "<tr><td>{date}</td><td class=\"number\">{views}</td><td class=\"number\">{visitors}</td></tr>",
                date = self.from.plus(i as i32),
                views = grouped(day.views),
                visitors = grouped(day.visitors),
            );
        }
        page.push_str("</tbody></table></details></figcaption></figure>");
    }
}

const STYLE: &str = "
:root { color-scheme: light dark; --ink: #1b1f24; --muted: #5b6470; --line: #d5d9de; --bar: #2f6fde; --bar2: #0d3b8c; --day: #f1f3f5; }
@media (prefers-color-scheme: dark) { :root { --ink: #e6e8eb; --muted: #a0a8b3; --line: #3a4049; --bar: #5b93f0; --bar2: #b9d0fa; --day: #22262c; } }
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--ink); margin: 0 auto; max-width: 64rem; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
.summary, .note, footer, caption { color: var(--muted); }
table.counters { border-collapse: collapse; width: 100%; margin-top: 1rem; }
caption { text-align: left; padding-bottom: .5rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.number { text-align: right; font-variant-numeric: tabular-nums; }
figure.chart { margin: 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
rect.day { fill: var(--day); }
rect.views { fill: var(--bar); }
rect.visitors { fill: var(--bar2); }
line { stroke: var(--line); }
.key { display: inline-block; width: .8em; height: .8em; vertical-align: -.05em; }
.key.views { background: var(--bar); }
.key.visitors { background: var(--bar2); }
details { font-size: .85rem; color: var(--muted); margin-top: .25rem; }
table.days td, table.days th { padding: .1rem .5rem; border: 0; }
footer { margin-top: 2rem; font-size: .85rem; }
";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn name(text: &str) -> CounterName {
        CounterName::parse(text).unwrap()
    }

    fn dashboard() -> Dashboard {
        let to = Day::parse("2026-12-04").unwrap();
        let from = to.plus(1 - CHART_DAYS);
        let mut days = vec![Totals::default(); 30];
        days[29] = Totals {
            views: 12,
            visitors: 5,
        };
        days[10] = Totals {
            views: 1500,
            visitors: 700,
        };
        Dashboard {
            counters: vec![
                (
                    name("home"),
                    Totals {
                        views: 1512,
                        visitors: 705,
                    },
                ),
                (
                    name("about"),
                    Totals {
                        views: 0,
                        visitors: 0,
                    },
                ),
            ],
            charts: vec![days, vec![Totals::default(); 30]],
            all: 2,
            total: Totals {
                views: 1512,
                visitors: 705,
            },
            from,
            to,
        }
    }

    #[test]
    fn the_page_holds_every_counter_its_numbers_and_its_days() {
        let html = dashboard().html();
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(
            html.contains(
                "<code>home</code></th><td class=\"number\">1,512</td><td class=\"number\">705</td>"
            ),
            "{html}"
        );
        assert!(html.contains("<code>about</code>"), "{html}");
        assert!(
            html.contains("<strong>2</strong> counters, <strong>1,512</strong> views"),
            "{html}"
        );
        assert!(html.contains("2026-11-05 to 2026-12-04"), "{html}");
        // One bar per day per chart, and a table row per day.
        assert_eq!(html.matches("<rect class=\"views\"").count(), 60);
        assert!(
            html.contains("<title>2026-11-15: 1,500 views, 700 visitors</title>"),
            "{html}"
        );
        assert!(html.contains("<tr><td>2026-12-04</td><td class=\"number\">12</td><td class=\"number\">5</td></tr>"), "{html}");
        assert!(
            html.contains("the most views in a day, 1,500, on 2026-11-15."),
            "{html}"
        );
        assert!(
            html.contains("about, 2026-11-05 to 2026-12-04: no views."),
            "{html}"
        );
        // The tallest bar fills the chart; a small day still shows.
        assert!(html.contains("y=\"0\" width=\"8\" height=\"48\""), "{html}");
        assert!(html.contains("y=\"47\" width=\"8\" height=\"1\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn counters_past_the_charted_ones_are_listed_without_a_chart() {
        let mut dashboard = dashboard();
        dashboard.charts.truncate(1);
        dashboard.all = 12_002;
        let html = dashboard.html();
        assert!(html.contains("no chart: only the 50 most viewed counters get one"));
        assert!(
            html.contains("The 2 most viewed counters are listed; 12,000 more"),
            "{html}"
        );
        assert!(html.contains("<strong>12,002</strong> counters"), "{html}");
    }

    #[test]
    fn the_largest_numbers_do_not_overflow() {
        let mut dashboard = dashboard();
        let most = Totals {
            views: u64::MAX,
            visitors: u64::MAX,
        };
        dashboard.charts[0] = vec![most; 30];
        let html = dashboard.html();
        assert!(
            html.contains("18,446,744,073,709,551,615 views and"),
            "{html}"
        );
    }

    #[test]
    fn an_empty_store_says_how_to_start() {
        let mut dashboard = dashboard();
        dashboard.counters.clear();
        dashboard.charts.clear();
        dashboard.all = 0;
        dashboard.total = Totals::default();
        let html = dashboard.html();
        assert!(html.contains("Nothing has been counted yet"), "{html}");
        assert!(html.contains("<strong>0</strong> counters"), "{html}");
    }
}
