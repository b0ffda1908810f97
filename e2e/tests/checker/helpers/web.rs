//! The stub's badges (`/counters/{name}/badge.svg`, `/shields.json`), embed script
//! (`/counter.js`), dashboard (`/dashboard`, and `/dashboard/` redirecting to it) and
//! links (`/`), as the contract has them.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use wiremock::http::Method;
use wiremock::{Request, ResponseTemplate};

use super::{Fault, Stub};

/// Which badge a route draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    Svg,
    Shields,
}

/// The policy of the badge and the page: their own inline style, nothing else.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";
const NAMED_COLORS: &[&str] = &[
    "brightgreen",
    "green",
    "yellowgreen",
    "yellow",
    "orange",
    "red",
    "blue",
    "lightgrey",
    "lightgray",
    "grey",
    "gray",
    "success",
    "important",
    "critical",
    "informational",
    "inactive",
];

fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A badge's query, checked as the contract has it.
struct Query {
    visitors: bool,
    label: Option<String>,
    flat_square: bool,
    color: String,
}

impl Stub {
    /// The answer on the script's or the dashboard's path, if it is one of them.
    pub(super) fn web_route(&self, request: &Request) -> Option<(ResponseTemplate, u16, bool)> {
        let path = request.url.path().strip_prefix(&self.stage)?;
        let get_only = || {
            let answer = self
                .problem(&self.examples.method_not_allowed_get_only)
                .insert_header("Allow", self.examples.allow_get.as_str());
            (answer, 405, false)
        };
        match path {
            "/counter.js" if request.method == Method::GET => {
                let media_type = if self.has(Fault::ScriptAsPlainText) {
                    "text/plain"
                } else {
                    "text/javascript; charset=utf-8"
                };
                let script = "/* the stub's embed script */ (function () {})();\n";
                Some((
                    ResponseTemplate::new(200).set_body_raw(script, media_type),
                    200,
                    false,
                ))
            }
            "/counter.js" => Some(get_only()),
            "/dashboard" if !self.dashboard => {
                Some((self.problem(&self.examples.not_found), 404, false))
            }
            "/dashboard" if request.method == Method::GET => Some(
                self.unauthorized(request)
                    .unwrap_or_else(|| (self.page(), 200, false)),
            ),
            "/dashboard" => Some(get_only()),
            "/" if self.has(Fault::RootNotFound) => None,
            "/dashboard/" if self.has(Fault::DashboardSlashNotFound) => None,
            "/" if request.method == Method::GET => Some((self.index(), 200, false)),
            "/dashboard/" if request.method == Method::GET => {
                let location = format!("{}/dashboard", self.stage);
                let answer = ResponseTemplate::new(308).insert_header("Location", location);
                Some((answer, 308, false))
            }
            "/" | "/dashboard/" => Some(get_only()),
            _ => None,
        }
    }

    /// `/`: the contract's example, its links under the stage.
    fn index(&self) -> ResponseTemplate {
        let mut body = self.examples.index.clone();
        if let Some(links) = body.get_mut("links").and_then(Value::as_object_mut) {
            for (name, link) in links.iter_mut() {
                if name == "contract" || self.has(Fault::RootLinksWithoutStage) {
                    continue;
                }
                if let Some(path) = link.as_str() {
                    *link = Value::from(format!("{}{path}", self.stage));
                }
            }
        }
        ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
    }

    /// The `Cache-Control` of a 200 on the badge or the script, which are not
    /// `no-store`.
    pub(super) fn own_cache_control(&self, request: &Request, status: u16) -> Option<String> {
        if status != 200 {
            return None;
        }
        let path = request.url.path().strip_prefix(&self.stage)?;
        if path == "/counter.js" {
            return Some(if self.has(Fault::ScriptNoStore) {
                "no-store".to_owned()
            } else {
                self.examples.script_cache_control.clone()
            });
        }
        if path.starts_with("/counters/") && path.ends_with("/badge.svg") {
            return Some(if self.has(Fault::BadgeNoStore) {
                "no-store".to_owned()
            } else {
                self.examples.badge_cache_control.clone()
            });
        }
        None
    }

    fn page(&self) -> ResponseTemplate {
        let store = self.store.lock().unwrap();
        let mut rows = String::new();
        for name in store.names() {
            let numbers = self.numbers(&store, &name);
            rows.push_str(&format!(
                "<tr><th>{name}</th><td>{}</td><td>{}</td></tr>",
                grouped(numbers.views),
                grouped(numbers.visitors)
            ));
        }
        let script = if self.has(Fault::DashboardScript) {
            "<script>document.title = 'counted';</script>"
        } else {
            ""
        };
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><title>Dashboard</title>{script}</head>\
             <body><table class=\"counters\">{rows}</table></body></html>"
        );
        ResponseTemplate::new(200)
            .set_body_raw(page, "text/html; charset=utf-8")
            .insert_header("Content-Security-Policy", POLICY)
    }

    fn badge_query(&self, request: &Request) -> Result<Query, ()> {
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let one = |name: &str| -> Result<Option<String>, ()> {
            let mut values = pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
            match (values.next(), values.next()) {
                (_, Some(_)) => Err(()),
                (value, None) => Ok(value.cloned()),
            }
        };
        let visitors = match one("metric")?.as_deref() {
            None | Some("views") => false,
            Some("visitors") => true,
            Some(_) if self.has(Fault::BadMetricAs200) => false,
            Some(_) => return Err(()),
        };
        let flat_square = match one("style")?.as_deref() {
            None | Some("flat") => false,
            Some("flat-square") => true,
            Some(_) => return Err(()),
        };
        let color = match one("color")? {
            None => "blue".to_owned(),
            Some(color) => {
                let color = color.to_ascii_lowercase();
                let hex = color.strip_prefix('#').unwrap_or(&color);
                if NAMED_COLORS.contains(&hex)
                    || (matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    hex.to_owned()
                } else {
                    return Err(());
                }
            }
        };
        let label = one("label")?;
        if let Some(label) = &label
            && (label.chars().count() > 32 || label.chars().any(char::is_control))
        {
            return Err(());
        }
        Ok(Query {
            visitors,
            label,
            flat_square,
            color,
        })
    }

    /// `GET` of a badge of the valid name `name`.
    pub(super) fn badge(
        &self,
        request: &Request,
        name: &str,
        kind: Badge,
    ) -> (ResponseTemplate, u16, bool) {
        let Ok(query) = self.badge_query(request) else {
            return (self.problem(&self.examples.invalid_query), 400, false);
        };
        let numbers = {
            let mut store = self.store.lock().unwrap();
            let numbers = self.numbers(&store, name);
            if self.has(Fault::BadgeCounts) {
                if name == super::named::SITE {
                    self.count.fetch_add(1, Ordering::SeqCst);
                } else {
                    store.add_view(name);
                }
            }
            numbers
        };
        let mut number = if query.visitors {
            numbers.visitors
        } else {
            numbers.views
        };
        if kind == Badge::Shields && self.has(Fault::ShieldsMessageOff) {
            number += 1;
        }
        let metric = if query.visitors { "visitors" } else { "views" };
        let label = query.label.unwrap_or_else(|| metric.to_owned());
        let message = if kind == Badge::Svg && self.has(Fault::BadgeUngrouped) {
            number.to_string()
        } else {
            grouped(number)
        };
        match kind {
            Badge::Shields => {
                let mut body = json!({
                    "schemaVersion": 1,
                    "label": label,
                    "message": message,
                    "color": query.color,
                });
                if query.flat_square {
                    body["style"] = Value::from("flat-square");
                }
                (
                    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json"),
                    200,
                    false,
                )
            }
            Badge::Svg => {
                let label = if self.has(Fault::BadgeLabelUnescaped) {
                    label
                } else {
                    escaped(&label)
                };
                let svg = format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"80\" height=\"20\" \
                     role=\"img\"><title>{label}: {message}</title><text>{label}</text>\
                     <text>{message}</text></svg>"
                );
                (
                    ResponseTemplate::new(200)
                        .set_body_raw(svg, "image/svg+xml")
                        .insert_header("Content-Security-Policy", POLICY),
                    200,
                    false,
                )
            }
        }
    }
}
