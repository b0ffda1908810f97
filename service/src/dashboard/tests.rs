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
        html.contains("<span class=\"tick top\">2,000</span><span class=\"tick mid\">1,000</span>"),
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
