//! The dashboard's page: the period picker, the site with its chart and change, then
//! the pages, each with a chart on the site's scale.

use super::*;

impl Dashboard {
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
