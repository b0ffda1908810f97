//! Badges: `GET /counters/{name}/badge.svg` draws one of a counter's numbers as a
//! badge in shields.io's flat styles; `GET /counters/{name}/shields.json` gives the
//! same badge as shields.io's endpoint-badge JSON
//! (`https://img.shields.io/endpoint?url=...`), for a site that wants shields.io to draw it.
//!
//! Both take the same query: `metric` (`views`, the default, or `visitors`), `label`
//! (the left-hand text, at most [`MAX_LABEL`] characters; empty leaves only the number;
//! default the metric's name), `style` (`flat`, the default, or `flat-square`) and
//! `color` (a shields.io colour name or 3 or 6 hex digits; default `blue`). Anything
//! else in the query is ignored; a bad value is a `400` problem naming the parameter.
//!
//! The label is the only text a visitor's URL puts into the SVG: it is XML-escaped, and
//! control characters (which XML cannot hold) are refused, so a label can only ever be
//! text. The answer also carries a `Content-Security-Policy` that forbids scripts, so
//! even the SVG opened on its own as a document could run none.

use std::fmt::Write as _;

use crate::markup::{escape, grouped};
use crate::store::Totals;

/// The longest label, in characters.
pub const MAX_LABEL: usize = 32;
/// What the badge's SVG may do when opened as a document: draw itself, nothing else.
pub const SVG_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// Which number a badge shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Views,
    Visitors,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Views => "views",
            Metric::Visitors => "visitors",
        }
    }

    fn of(self, totals: Totals) -> u64 {
        match self {
            Metric::Views => totals.views,
            Metric::Visitors => totals.visitors,
        }
    }
}

/// shields.io's two flat styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Rounded corners and a light gradient.
    Flat,
    /// Square corners, no gradient.
    FlatSquare,
}

impl Style {
    fn name(self) -> &'static str {
        match self {
            Style::Flat => "flat",
            Style::FlatSquare => "flat-square",
        }
    }
}

/// shields.io's colour names, and the colours they draw. The contract's `color`
/// parameter and docs/pages.md list the same names (a test compares them).
pub const NAMED_COLORS: &[(&str, &str)] = &[
    ("brightgreen", "#4c1"),
    ("green", "#97ca00"),
    ("yellowgreen", "#a4a61d"),
    ("yellow", "#dfb317"),
    ("orange", "#fe7d37"),
    ("red", "#e05d44"),
    ("blue", "#007ec6"),
    ("lightgrey", "#9f9f9f"),
    ("lightgray", "#9f9f9f"),
    ("grey", "#555"),
    ("gray", "#555"),
    ("success", "#4c1"),
    ("important", "#fe7d37"),
    ("critical", "#e05d44"),
    ("informational", "#007ec6"),
    ("inactive", "#9f9f9f"),
];

/// The number's background: a shields.io colour name or hex digits, lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Color {
    /// As shields.io's JSON takes it: the name, or the hex digits without `#`.
    given: String,
    /// As SVG takes it: `#` and hex digits.
    fill: String,
}

impl Color {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.to_ascii_lowercase();
        if let Some((name, fill)) = NAMED_COLORS.iter().find(|(name, _)| *name == text) {
            return Some(Self {
                given: (*name).to_owned(),
                fill: (*fill).to_owned(),
            });
        }
        let hex = text.strip_prefix('#').unwrap_or(&text);
        let valid = matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Self {
            given: hex.to_owned(),
            fill: format!("#{hex}"),
        })
    }
}

impl Default for Color {
    fn default() -> Self {
        Self {
            given: "blue".to_owned(),
            fill: "#007ec6".to_owned(),
        }
    }
}

/// shields.io's endpoint-badge JSON (<https://shields.io/badges/endpoint-badge>).
#[derive(Debug, serde::Serialize)]
pub struct Shields<'a> {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u8,
    pub label: &'a str,
    pub message: String,
    pub color: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<&'static str>,
}

/// A badge's query, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub metric: Metric,
    /// `None`: the metric's name.
    pub label: Option<String>,
    pub style: Style,
    pub color: Color,
}

/// Why a badge's query cannot be drawn: the detail of a `400`, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBadge(pub String);

fn invalid<E: From<InvalidBadge>>(detail: String) -> E {
    InvalidBadge(detail).into()
}

impl Badge {
    /// Reads the query through `one`, which gives a parameter's one value (or the
    /// error of a parameter given twice).
    pub fn parse<E: From<InvalidBadge>>(
        one: impl Fn(&'static str) -> Result<Option<String>, E>,
    ) -> Result<Self, E> {
        let metric = match one("metric")?.as_deref() {
            None | Some("views") => Metric::Views,
            Some("visitors") => Metric::Visitors,
            Some(other) => {
                return Err(invalid(format!(
                    "metric: {other:?} is not a metric (views or visitors)"
                )));
            }
        };
        let style = match one("style")?.as_deref() {
            None | Some("flat") => Style::Flat,
            Some("flat-square") => Style::FlatSquare,
            Some(other) => {
                return Err(invalid(format!(
                    "style: {other:?} is not a style (flat or flat-square)"
                )));
            }
        };
        let color = match one("color")? {
            None => Color::default(),
            Some(text) => Color::parse(&text).ok_or_else(|| {
                invalid::<E>(format!(
                    "color: {text:?} is not a colour (a name such as blue, green or red, or 3 or 6 hex digits such as 4c1)"
                ))
            })?,
        };
        let label = match one("label")? {
            None => None,
            Some(label) => {
                let length = label.chars().count();
                if length > MAX_LABEL {
                    return Err(invalid(format!(
                        "label: {length} characters; a label has at most {MAX_LABEL}"
                    )));
                }
                if label.chars().any(|c| !drawable(c)) {
                    return Err(invalid(
                        "label: control characters (line breaks, tabs, ...) and U+FFFE, U+FFFF cannot be drawn"
                            .to_owned(),
                    ));
                }
                Some(label)
            }
        };
        Ok(Self {
            metric,
            label,
            style,
            color,
        })
    }

    fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(self.metric.name())
    }

    /// shields.io's endpoint-badge JSON for these totals.
    pub fn shields(&self, totals: Totals) -> Shields<'_> {
        Shields {
            schema_version: 1,
            label: self.label(),
            message: grouped(self.metric.of(totals)),
            color: &self.color.given,
            style: (self.style != Style::Flat).then(|| self.style.name()),
        }
    }

    /// The SVG badge for these totals.
    pub fn svg(&self, totals: Totals) -> String {
        let label = self.label();
        let message = grouped(self.metric.of(totals));
        // Each part: its text's width and 5 px either side.
        let label_width = if label.is_empty() {
            0.0
        } else {
            text_width(label).round() + 10.0
        };
        let message_width = text_width(&message).round() + 10.0;
        let width = label_width + message_width;
        let title = if label.is_empty() {
            message.clone()
        } else {
            format!("{label}: {message}")
        };
        let title = escape(&title);
        let fill = &self.color.fill;
        let flat = self.style == Style::Flat;

        let mut svg = String::with_capacity(1024);
        // Writing to a String cannot fail.
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}"><title>{title}</title>"#
        );
        if flat {
            let _ = write!(
                svg,
                r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)">"##
            );
        } else {
            svg.push_str(r#"<g shape-rendering="crispEdges">"#);
        }
        let _ = write!(
            svg,
            r##"<rect width="{label_width}" height="20" fill="#555"/><rect x="{label_width}" width="{message_width}" height="20" fill="{fill}"/>"##
        );
        if flat {
            let _ = write!(svg, r#"<rect width="{width}" height="20" fill="url(#s)"/>"#);
        }
        svg.push_str(r##"</g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="11">"##);
        let mut text = |x: f64, part: &str, part_width: f64| {
            let part = escape(part);
            let length = part_width - 10.0;
            if flat {
                let _ = write!(
                    svg,
                    r##"<text x="{x}" y="15" fill="#010101" fill-opacity=".3" textLength="{length}" aria-hidden="true">{part}</text>"##
                );
            }
            let _ = write!(
                svg,
                r#"<text x="{x}" y="14" textLength="{length}">{part}</text>"#
            );
        };
        if !label.is_empty() {
            text(label_width / 2.0, label, label_width);
        }
        text(label_width + message_width / 2.0, &message, message_width);
        svg.push_str("</g></svg>");
        svg
    }
}

/// Whether XML can hold `c` as text (XML 1.0's `Char`, less the C0 and C1 controls
/// that it allows but nobody can see).
fn drawable(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// Verdana's advance widths at 11 px, in hundredths of a pixel, for `' '..='~'`.
const VERDANA_11: [u16; 95] = [
    387, 433, 505, 900, 699, 1184, 799, 295, 499, 499, 699, 900, 400, 499, 400,
    499, // ' '..'/'
    699, 699, 699, 699, 699, 699, 699, 699, 699, 699, // '0'..'9'
    499, 499, 900, 900, 900, 599, 1100, // ':'..'@'
    752, 754, 768, 848, 696, 632, 853, 827, 463, 500, 762, 612, 927, 823, 866, 663, 866, 765, 752,
    678, 805, 752, 1088, 754, 677, 754, // 'A'..'Z'
    499, 499, 499, 900, 699, 699, // '['..'`'
    661, 685, 573, 685, 655, 387, 685, 696, 302, 379, 651, 302, 1070, 696, 668, 685, 685, 469, 573,
    433, 696, 651, 900, 651, 651, 578, // 'a'..'z'
    698, 499, 698, 900, // '{'..'~'
];

/// The width of `text` in Verdana at 11 px, near enough to lay a badge out (the SVG's
/// `textLength` makes whatever font the viewer has fill exactly this width).
fn text_width(text: &str) -> f64 {
    let hundredths: u32 = text
        .chars()
        .map(|c| match c {
            ' '..='~' => u32::from(VERDANA_11[c as usize - ' ' as usize]),
            // Combining marks, zero-width spaces and joiners, variation selectors.
            '\u{300}'..='\u{36f}' | '\u{200b}'..='\u{200f}' | '\u{fe00}'..='\u{fe0f}' => 0,
            // Wide scripts (CJK and the like) and everything else.
            '\u{2e80}'.. => 1100,
            _ => 700,
        })
        .sum();
    f64::from(hundredths) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(query: &[(&'static str, &str)]) -> Result<Badge, crate::problem::Problem> {
        Badge::parse(|name| {
            Ok(query
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned()))
        })
    }

    const TOTALS: Totals = Totals {
        views: 1234567,
        visitors: 89,
    };

    #[test]
    fn the_defaults_are_views_flat_and_blue() {
        let badge = badge(&[]).unwrap();
        assert_eq!(
            serde_json::to_value(badge.shields(TOTALS)).unwrap(),
            serde_json::json!({"schemaVersion": 1, "label": "views", "message": "1,234,567", "color": "blue"})
        );
        let svg = badge.svg(TOTALS);
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.contains("<title>views: 1,234,567</title>"), "{svg}");
        assert!(svg.contains("rx=\"3\""), "{svg}");
        assert!(svg.contains("fill=\"#007ec6\""), "{svg}");
    }

    #[test]
    fn every_parameter_changes_the_badge() {
        let badge = badge(&[
            ("metric", "visitors"),
            ("label", "people"),
            ("style", "flat-square"),
            ("color", "4C1"),
        ])
        .unwrap();
        assert_eq!(
            serde_json::to_value(badge.shields(TOTALS)).unwrap(),
            serde_json::json!({"schemaVersion": 1, "label": "people", "message": "89", "color": "4c1", "style": "flat-square"})
        );
        let svg = badge.svg(TOTALS);
        assert!(svg.contains("<title>people: 89</title>"), "{svg}");
        assert!(!svg.contains("rx="), "{svg}");
        assert!(!svg.contains("linearGradient"), "{svg}");
        assert!(svg.contains("fill=\"#4c1\""), "{svg}");
        let named = self::badge(&[("color", "brightgreen")]).unwrap();
        assert!(named.svg(TOTALS).contains("fill=\"#4c1\""));
        let hash = self::badge(&[("color", "#abcdef")]).unwrap();
        assert_eq!(hash.shields(TOTALS).color, "abcdef");
    }

    #[test]
    fn an_empty_label_leaves_the_number_alone() {
        let svg = badge(&[("label", "")]).unwrap().svg(TOTALS);
        assert!(svg.contains("<title>1,234,567</title>"), "{svg}");
        assert_eq!(svg.matches("<text ").count(), 2, "{svg}");
    }

    #[test]
    fn a_hostile_label_is_only_text() {
        let hostile = r#"</text><script>alert(1)</script>"#;
        let svg = badge(&[("label", hostile)]).unwrap().svg(TOTALS);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        let quote = badge(&[("label", r#"" onload="alert(1)"#)])
            .unwrap()
            .svg(TOTALS);
        assert!(!quote.contains(r#"" onload"#), "{quote}");
        assert!(quote.contains("&quot; onload=&quot;alert(1)"), "{quote}");
    }

    #[test]
    fn bad_values_are_400_naming_the_parameter() {
        let long = "x".repeat(MAX_LABEL + 1);
        let longest = "é".repeat(MAX_LABEL);
        assert!(badge(&[("label", &longest)]).is_ok());
        for (parameter, value) in [
            ("metric", "hits"),
            ("metric", "Views"),
            ("style", "plastic"),
            ("color", "#12"),
            ("color", "nothex"),
            ("color", "url(#x)"),
            ("label", long.as_str()),
            ("label", "two\nlines"),
            ("label", "nul\0"),
            ("label", "\u{fffe}"),
            ("label", "\u{ffff}x"),
            ("color", " blue"),
        ] {
            let problem = badge(&[(parameter, value)]).unwrap_err();
            assert_eq!(problem.status(), http::StatusCode::BAD_REQUEST);
            assert!(
                problem.detail().starts_with(&format!("{parameter}: ")),
                "{value:?}: {}",
                problem.detail()
            );
        }
    }

    #[test]
    fn wider_text_makes_a_wider_badge() {
        let width = |label: &str| {
            let svg = badge(&[("label", label)]).unwrap().svg(TOTALS);
            let start = svg.find("width=\"").unwrap() + 7;
            let end = start + svg[start..].find('"').unwrap();
            svg[start..end].parse::<f64>().unwrap()
        };
        assert!(width("iiii") < width("WWWW"));
        assert!(width("ab") < width("abcdefgh"));
        assert!(width("漢字") > width("ab"));
        assert_eq!(width("a\u{200b}\u{200b}\u{301}"), width("a"));
    }
}
