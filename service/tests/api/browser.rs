//! In a real browser: headless Chromium (Playwright, `tests/browser/drive.cjs`) against
//! the real binary, with the pages served from other loopback origins.
//!
//! - Who may count: a page on a foreign origin tries every way a page can send a POST
//!   without the API's consent, and the count does not move; on an allowed origin it
//!   moves by exactly those.
//! - The README's embed line, pasted into a plain page: it shows the numbers, formatted
//!   for the reader's locale; each reload adds a view and no visitor; a first POST
//!   answered 503 or cut off is sent again with the same key and counted once; on an
//!   origin that is not allowed nothing is counted and nothing thrown; without
//!   `data-counter` the name is docs/pages.md's rule's; a prerendered page counts when shown.
//! - Who is not counted: a browser under automation (`navigator.webdriver`) and one its
//!   owner switched off (`#visitor-counter=ignore`, undone by `#visitor-counter=count`)
//!   send no POST and show the numbers they read; a switch the storage cannot keep holds
//!   for its load alone; a page on a refused origin is told, in the console, its origin
//!   and `ALLOWED_ORIGINS`.
//! - A badge in an `<img>` shows the number; a hostile label stays text; after counting,
//!   the page's badges of its counter show the counted number.
//!
//! Every other page is driven as a person's browser: `navigator.webdriver` false and a
//! desktop Chrome User-Agent (`drive.cjs` says how and why).
//! - The dashboard: for each period of its picker (its links and its form, clicked as a
//!   person would), the site's numbers, their change against the previous period, its
//!   chart and the pages' numbers are what `/totals/days` and the counters' `days` say;
//!   the CSV it downloads holds what it shows; it asks nothing of any other origin, logs
//!   no error, reads the same without JavaScript, and at 390 px and 1280 px nothing
//!   overflows and every number and chart is legible (screenshots in
//!   `target/tmp/browser/dashboard-390.png` and `-1280.png`, copied to `docs/`).
//!
//! `scripts/test` installs Chromium (Debian's package) and Playwright
//! (`scripts/node-tools`); without them these tests fail, saying how to get them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use testkit::proxy::{Fault, Options, Proxy, Spoil, Which};

use crate::helpers::*;

/// Every way a page can POST to `api`, each recorded in `window.results`.
fn posting_page(api: &str) -> String {
    format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>a page that counts</title>
<form id="form" method="POST" action="{api}" target="sink" enctype="text/plain">
  <input name="visit" value="1">
</form>
<iframe name="sink"></iframe>
<script>
  window.results = {{}};
  const api = "{api}";
  const attempt = async (name, send) => {{
    try {{ window.results[name] = await send(); }}
    catch (error) {{ window.results[name] = "rejected: " + error.name; }}
  }};
  (async () => {{
    await attempt("fetch", async () => (await fetch(api, {{ method: "POST" }})).status);
    await attempt("no-cors", async () => (await fetch(api, {{
      method: "POST", mode: "no-cors", body: "visit", headers: {{ "content-type": "text/plain" }},
    }})).type);
    await attempt("beacon", async () => navigator.sendBeacon(api, "visit"));
    await attempt("form", () => new Promise((resolve) => {{
      document.querySelector("iframe").onload = () => resolve("submitted");
      document.getElementById("form").submit();
    }}));
    window.done = true;
  }})();
</script>
"#
    )
}

/// A listener for a page of its own, and its origin (`http://127.0.0.1:PORT`).
async fn page_origin() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    (listener, origin)
}

/// Serves `html` to every request on `listener`, whatever its path.
fn serve_page(listener: TcpListener, html: String) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
}

/// `html` on an origin of its own.
async fn page_at(html: String) -> String {
    let (listener, origin) = page_origin().await;
    serve_page(listener, html);
    origin
}

fn tool(variable: &str, default: &Path, what: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| default.to_owned(), PathBuf::from);
    assert!(
        path.exists(),
        "{what} is not at {} (run scripts/test, which installs it, or set {variable})",
        path.display()
    );
    path
}

/// What one load of a page did (see `drive.cjs`).
#[derive(Debug)]
struct Load {
    result: Value,
    /// `(method, url, headers)` of every request the page made.
    requests: Vec<(String, String, Value)>,
    console: Vec<(String, String)>,
    errors: Vec<String>,
    dialogs: Vec<String>,
    /// `(url, body)` of the answers the plan's `bodies` asked to keep.
    bodies: Vec<(String, String)>,
    /// The file the plan's `download` downloaded, as text.
    download: Option<String>,
}

impl Load {
    fn requests_to(&self, base: &str) -> Vec<(String, String)> {
        self.requests
            .iter()
            .filter(|(_, url, _)| url.starts_with(base))
            .map(|(method, url, _)| (method.clone(), url[base.len()..].to_owned()))
            .collect()
    }

    fn posts(&self) -> Vec<&(String, String, Value)> {
        self.requests
            .iter()
            .filter(|(m, _, _)| m == "POST")
            .collect()
    }

    fn console_errors(&self) -> Vec<&str> {
        self.console_of("error")
    }

    /// The console messages of one kind (`"warning"`, `"info"`, ...).
    fn console_of(&self, kind: &str) -> Vec<&str> {
        self.console
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, text)| text.as_str())
            .collect()
    }
}

/// Runs `plan` in Chromium (on a blocking thread) and returns each load's report.
async fn drive(plan: Value) -> Vec<Load> {
    tokio::task::spawn_blocking(move || drive_blocking(&plan))
        .await
        .unwrap()
}

fn drive_blocking(plan: &Value) -> Vec<Load> {
    let root = contracts_dir().join("..");
    let modules = tool(
        "NODE_TOOLS",
        &root.join(".tools/node/node_modules"),
        "Playwright (scripts/node-tools)",
    );
    let chromium = tool("CHROMIUM", Path::new("/usr/bin/chromium"), "Chromium");
    let output = Command::new("node")
        .arg(root.join("service/tests/browser/drive.cjs"))
        .arg(plan.to_string())
        .env("NODE_PATH", modules)
        .env("CHROMIUM", chromium)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the browser run failed ({plan}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not a report ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    report["loads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|load| Load {
            result: load["result"].clone(),
            requests: load["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["method"].as_str().unwrap().to_owned(),
                        r["url"].as_str().unwrap().to_owned(),
                        r["headers"].clone(),
                    )
                })
                .collect(),
            console: load["console"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["type"].as_str().unwrap().to_owned(),
                        c["text"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
            errors: strings(&load["errors"]),
            dialogs: strings(&load["dialogs"]),
            download: load["download"].as_str().map(str::to_owned),
            bodies: load["bodies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["url"].as_str().unwrap().to_owned(),
                        b["body"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        })
        .collect()
}

#[tokio::test]
async fn a_page_on_a_foreign_origin_cannot_count_in_chromium_and_an_allowed_one_can() {
    // Two pages, one origin each; the API allows only the first.
    let (allowed_listener, allowed_origin) = page_origin().await;
    let (foreign_listener, foreign_origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", allowed_origin.as_str())]);
    let api = server.url("/count");
    serve_page(allowed_listener, posting_page(&api));
    serve_page(foreign_listener, posting_page(&api));
    let plan = |url: &str| {
        json!({
            "url": url, "ready": "window.done === true", "result": "window.results",
            // sendBeacon only queues its request: give it time to leave.
            "settle_ms": 500,
        })
    };

    let foreign = &drive(plan(&foreign_origin)).await[0];
    assert!(foreign.errors.is_empty(), "{foreign:?}");
    let results = &foreign.result;
    // The CORS fetch sees no CORS headers on the 403 and rejects; the rest cannot
    // read the answer at all.
    assert_eq!(results["fetch"], "rejected: TypeError", "{results}");
    assert_eq!(results["no-cors"], "opaque", "{results}");
    assert_eq!(results["beacon"], true, "{results}");
    assert_eq!(results["form"], "submitted", "{results}");
    assert_eq!(
        server.get_count().await,
        0,
        "a foreign page counted: {results}"
    );

    // The same page on the allowed origin: all four arrive and count.
    let allowed = &drive(plan(&allowed_origin)).await[0];
    assert!(allowed.errors.is_empty(), "{allowed:?}");
    let results = &allowed.result;
    assert_eq!(results["fetch"], 200, "{results}");
    assert_eq!(results["no-cors"], "opaque", "{results}");
    assert_eq!(results["beacon"], true, "{results}");
    assert_eq!(server.get_count().await, 4, "{results}");
}

// ---- The embed script ----------------------------------------------------------

/// The API address the README's snippets use.
const README_API: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com";

/// The README's "On a web page" section.
fn readme_section() -> String {
    let readme = std::fs::read_to_string(contracts_dir().join("../README.md")).unwrap();
    readme
        .split("\n## On a web page\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has an \"On a web page\" section")
        .to_owned()
}

/// The README's embed line, as a site owner pastes it into a plain page, with the API
/// at `api` (and, if `counter` is `None`, without `data-counter`).
fn embed_page(api: &str, counter: Option<&str>) -> String {
    let section = readme_section();
    let snippet = section
        .split("```html\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section starts with the embed snippet");
    assert!(
        snippet.contains(&format!("{README_API}/counter.js\" data-counter=\"home\"")),
        "{snippet}"
    );
    let snippet = snippet.replace(README_API, api);
    let snippet = match counter {
        Some(name) => snippet.replace("data-counter=\"home\"", &format!("data-counter=\"{name}\"")),
        None => snippet.replace(" data-counter=\"home\"", ""),
    };
    format!("<!doctype html>\n<title>A page with a counter</title>\n<h1>Hello</h1>\n{snippet}")
}

/// Waits for the embed script to be done: counted, read (not counted) or failed.
const EMBED_DONE: &str = r#"(() => {
  const script = document.querySelector('script[src$="/counter.js"]');
  return script && ["counted", "read", "failed"].includes(script.dataset.counterState);
})()"#;

/// What the embed script left on the page.
const EMBED_RESULT: &str = r#"({
  state: document.querySelector('script[src$="/counter.js"]').dataset.counterState,
  views: [...document.querySelectorAll("[data-counter-views]")].map((e) => e.textContent),
  visitors: [...document.querySelectorAll("[data-counter-visitors]")].map((e) => e.textContent),
  states: [...document.querySelectorAll("[data-counter-views], [data-counter-visitors]")]
    .map((e) => e.dataset.counterState || null),
})"#;

fn embed_plan(url: &str, loads: usize, locale: &str) -> Value {
    json!({"url": url, "loads": loads, "ready": EMBED_DONE, "result": EMBED_RESULT, "locale": locale})
}

/// The binary on an embedded store where `operator` commands have run first.
fn server_after(operator: &[&[&str]], env: &[(&str, &str)]) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    for args in operator {
        let output = service_command()
            .env("COUNTER_DB", &db)
            .args(*args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut all = vec![("COUNTER_DB", db.to_str().unwrap())];
    all.extend_from_slice(env);
    (spawn_server(&all), dir)
}

async fn totals(server: &TestServer, name: &str) -> (u64, u64) {
    totals_over_http(&server.base_url, name).await
}

async fn counter_names(server: &TestServer) -> Vec<String> {
    let body: Value = http_client()
        .get(server.url("/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_readme_embed_line_shows_the_numbers_and_a_reload_adds_a_view_not_a_visitor() {
    // Two pages, both on allowed origins: one counts "home", one "big".
    let (home_listener, home_origin) = page_origin().await;
    let (big_listener, big_origin) = page_origin().await;
    let allowed = format!("{home_origin},{big_origin}");
    let (server, _dir) = server_after(
        &[&[
            "counters",
            "set",
            "big",
            "--views",
            "1234566",
            "--visitors",
            "99",
        ]],
        &[("ALLOWED_ORIGINS", &allowed)],
    );
    serve_page(home_listener, embed_page(&server.base_url, Some("home")));
    serve_page(big_listener, embed_page(&server.base_url, Some("big")));

    let loads = drive(embed_plan(&home_origin, 3, "en-US")).await;
    for (i, load) in loads.iter().enumerate() {
        let views = (i + 1).to_string();
        assert_eq!(
            load.result,
            json!({"state": "counted", "views": [views], "visitors": ["1"], "states": ["counted", "counted"]}),
            "load {i}: {load:?}"
        );
        assert!(load.errors.is_empty(), "load {i}: {load:?}");
        assert!(load.console.is_empty(), "load {i}: {load:?}");
        // Nothing but the one POST (and the script, unless the browser kept it).
        let api: Vec<_> = load
            .requests_to(&server.base_url)
            .into_iter()
            .filter(|(method, path)| !(method == "GET" && path == "/counter.js"))
            .collect();
        assert_eq!(
            api,
            [("POST".to_owned(), "/counters/home".to_owned())],
            "load {i}"
        );
        // And nothing to any other origin: the page and the API alone.
        assert_eq!(
            load.requests.len(),
            load.requests_to(&home_origin).len() + load.requests_to(&server.base_url).len(),
            "load {i}: {load:?}"
        );
    }
    // Sent as a person's browser would (drive.cjs says why): no "HeadlessChrome".
    for load in &loads {
        let agent = load.posts()[0].2["user-agent"].as_str().unwrap_or_default();
        assert!(
            agent.contains(" Chrome/") && !agent.contains("Headless"),
            "{agent}"
        );
    }
    // Each load its own key.
    let keys: std::collections::BTreeSet<String> = loads
        .iter()
        .map(|load| {
            load.posts()[0].2["idempotency-key"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.iter().all(|key| key.len() == 32), "{keys:?}");
    assert_eq!(totals(&server, "home").await, (3, 1));

    // Formatted for the reader's locale.
    for (locale, views) in [("en-US", "1,234,567"), ("de-DE", "1.234.568")] {
        let load = &drive(embed_plan(&big_origin, 1, locale)).await[0];
        assert_eq!(load.result["views"], json!([views]), "{locale}: {load:?}");
    }
    assert_eq!(totals(&server, "big").await, (1234568, 100));
}

/// A proxy in front of the binary at `api` that may spoil the first `POST` it passes,
/// and keeps every request; one request per connection, as a simple front does.
async fn front(api: &str, fault: Option<Fault>) -> Proxy {
    let options = Options {
        spoil: fault.map(|fault| Spoil::first(1, fault, Which::Method(http::Method::POST))),
        close_each_connection: true,
    };
    Proxy::start_with(api, options).await.unwrap()
}

/// Each POST's arrival and `Idempotency-Key`.
fn posts(front: &Proxy) -> Vec<(Instant, Option<String>)> {
    front
        .seen()
        .iter()
        .filter(|seen| seen.method == http::Method::POST)
        .map(|seen| (seen.at, seen.header("idempotency-key").map(str::to_owned)))
        .collect()
}

/// How many requests of `method` arrived.
fn count(front: &Proxy, method: &str) -> usize {
    front
        .seen()
        .iter()
        .filter(|seen| seen.method.as_str() == method)
        .count()
}

/// The embed script behind a proxy that spoils its first POST's answer: the page still
/// shows the number, the visit counted once, and both attempts carried one key.
async fn a_spoiled_first_post_is_sent_again_and_counted_once(fault: Fault) {
    let (page, page_origin_url) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", page_origin_url.as_str())]);
    let front = front(&server.base_url, Some(fault)).await;
    serve_page(page, embed_page(&front.endpoint(), Some("home")));

    let load = &drive(embed_plan(&page_origin_url, 1, "en-US")).await[0];
    assert_eq!(
        load.result,
        json!({"state": "counted", "views": ["1"], "visitors": ["1"], "states": ["counted", "counted"]}),
        "{fault:?}: {load:?}"
    );
    assert!(load.errors.is_empty(), "{fault:?}: {load:?}");
    assert_eq!(totals(&server, "home").await, (1, 1), "{fault:?}");
    let posts = posts(&front);
    assert_eq!(posts.len(), 2, "{fault:?}: {posts:?}");
    let key = posts[0].1.clone().expect("the first POST has a key");
    assert_eq!(posts[1].1.as_deref(), Some(key.as_str()), "{fault:?}");
    let waited = posts[1].0 - posts[0].0;
    // Retry-After: 1 after a 503; the script's own first back-off (1 s) after a drop;
    // the attempt's 10 s and that back-off after a stall.
    let least = match fault {
        Fault::Stall | Fault::HoldTheBody => Duration::from_millis(10_900),
        _ => Duration::from_millis(900),
    };
    assert!(waited >= least, "{fault:?}: {waited:?}");
}

#[tokio::test]
async fn a_first_post_answered_503_is_sent_again_with_its_key_after_retry_after() {
    a_spoiled_first_post_is_sent_again_and_counted_once(Fault::Unavailable).await;
}

#[tokio::test]
async fn a_first_post_whose_connection_drops_is_sent_again_with_its_key() {
    a_spoiled_first_post_is_sent_again_and_counted_once(Fault::DropTheConnection).await;
}

#[tokio::test]
async fn a_first_post_that_hangs_is_given_up_after_10_s_and_sent_again_with_its_key() {
    a_spoiled_first_post_is_sent_again_and_counted_once(Fault::Stall).await;
}

#[tokio::test]
async fn a_first_answer_whose_body_hangs_is_given_up_after_10_s_and_asked_again() {
    a_spoiled_first_post_is_sent_again_and_counted_once(Fault::HoldTheBody).await;
}

#[tokio::test]
async fn the_browser_keeps_the_preflight_so_a_repeat_view_costs_one_request() {
    let (page, origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", origin.as_str())]);
    let front = front(&server.base_url, None).await;
    serve_page(page, embed_page(&front.endpoint(), Some("home")));

    let loads = drive(embed_plan(&origin, 3, "en-US")).await;
    assert_eq!(loads[2].result["views"], json!(["3"]), "{loads:?}");
    assert_eq!(count(&front, "POST"), 3);
    // Access-Control-Max-Age: 600, and nothing in the script that skips the cache.
    assert_eq!(count(&front, "OPTIONS"), 1);
}

#[tokio::test]
async fn a_name_counters_refuses_is_a_warning_not_a_retry() {
    let (page, origin) = page_origin().await;
    let (server, _dir) =
        embedded_server_with(&[("ALLOWED_ORIGINS", origin.as_str()), ("COUNTERS", "home")]);
    let front = front(&server.base_url, None).await;
    serve_page(page, embed_page(&front.endpoint(), Some("contact")));

    let load = &drive(embed_plan(&origin, 1, "en-US")).await[0];
    assert_eq!(load.result["state"], "failed", "{load:?}");
    assert!(load.errors.is_empty(), "{load:?}");
    // The page could read the 404: one POST, and the warning says what happened.
    assert_eq!(count(&front, "POST"), 1);
    let warnings: Vec<&str> = load
        .console
        .iter()
        .filter(|(kind, _)| kind == "warning")
        .map(|(_, text)| text.as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|text| text.contains("/counters/contact answered 404")),
        "{load:?}"
    );
    assert_eq!(counter_names(&server).await, Vec::<String>::new());
}

#[tokio::test]
async fn several_embeds_on_a_page_classic_module_and_pasted_twice_each_count_once() {
    let (page, origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", origin.as_str())]);
    let api = &server.base_url;
    // The script that fails is the last to finish: its first answer is a 503, then its
    // 404 a second later.
    let slow = front(api, Some(Fault::Unavailable)).await;
    let slow = &slow.endpoint();
    serve_page(
        page,
        format!(
            r#"<!doctype html>
<title>several counters</title>
<style>[data-counter-state=failed] {{ visibility: hidden }}</style>
<p><span id="shared" data-counter-views>&hellip;</span></p>
<p><span id="one" data-counter-views="moda">&hellip;</span> <span id="two" data-counter-views="modb">&hellip;</span></p>
<script type="module" src="{api}/counter.js" data-counter="moda"></script>
<script type="module" src="{api}/counter.js" data-counter="modb"></script>
<script async src="{api}/counter.js" data-counter="home"></script>
<script async src="{api}/counter.js" data-counter="home"></script>
<script async src="{slow}/counter.js" data-counter="Not_A_Name"></script>
"#
        ),
    );
    let done = r#"[...document.querySelectorAll("script")].every((s) =>
        ["counted", "failed", "skipped"].includes(s.dataset.counterState))"#;
    let result = r#"({
        scripts: [...document.querySelectorAll("script")].map((s) => [s.dataset.counter, s.dataset.counterState]),
        one: document.getElementById("one").textContent,
        two: document.getElementById("two").textContent,
        shared: [document.getElementById("shared").textContent, document.getElementById("shared").dataset.counterState],
    })"#;
    let load = &drive(json!({"url": origin, "ready": done, "result": result})).await[0];
    assert!(load.errors.is_empty(), "{load:?}");
    let result = &load.result;
    assert_eq!(result["one"], "1", "{result}");
    assert_eq!(result["two"], "1", "{result}");
    // The line pasted twice counts once; the one that failed leaves the number that
    // another script filled as it is.
    assert_eq!(result["shared"], json!(["1", "counted"]), "{result}");
    let states: Vec<&str> = result["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[1].as_str().unwrap())
        .collect();
    assert_eq!(states[..2], ["counted", "counted"], "{result}");
    // Whichever of the two pasted lines runs first counts; the other is skipped.
    let mut pasted = states[2..4].to_vec();
    pasted.sort_unstable();
    assert_eq!(pasted, ["counted", "skipped"], "{result}");
    assert_eq!(states[4], "failed", "{result}");
    assert_eq!(load.posts().len(), 5, "{load:?}");
    for name in ["moda", "modb", "home"] {
        assert_eq!(totals(&server, name).await, (1, 1), "{name}");
    }
}

#[tokio::test]
async fn the_embed_line_on_an_origin_not_allowed_counts_nothing_and_throws_nothing() {
    // Another origin is allowed; the page's is not.
    let (_allowed, allowed_origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", allowed_origin.as_str())]);
    let foreign = page_at(embed_page(&server.base_url, Some("home"))).await;

    let load = &drive(embed_plan(&foreign, 1, "en-US")).await[0];
    // The placeholders stay; the page sees no error.
    assert_eq!(
        load.result,
        json!({"state": "failed", "views": ["\u{2026}"], "visitors": ["\u{2026}"], "states": ["failed", "failed"]}),
        "{load:?}"
    );
    assert!(load.errors.is_empty(), "{load:?}");
    assert!(load.dialogs.is_empty(), "{load:?}");
    // The browser gives the script no reason, but the console names the page's origin
    // and where to allow it: once, after the last attempt.
    let why = format!(
        "visitor-counter: POST {}/counters/home failed 3 times; nothing was shown. The API is unreachable, or this page's origin, {foreign}, is not in its ALLOWED_ORIGINS.",
        server.base_url
    );
    assert_eq!(load.console_of("warning"), [why.as_str()], "{load:?}");

    // Only reading (a browser under automation): the same words for the GET.
    let mut plan = embed_plan(&foreign, 1, "en-US");
    plan["automation"] = json!(true);
    let load = &drive(plan).await[0];
    assert_eq!(load.result["state"], "failed", "{load:?}");
    assert!(load.errors.is_empty(), "{load:?}");
    let why = why.replace("POST", "GET");
    assert_eq!(load.console_of("warning"), [why.as_str()], "{load:?}");
    assert_eq!(totals(&server, "home").await, (0, 0));
    assert_eq!(counter_names(&server).await, Vec::<String>::new());
}

// ---- Who is not counted -----------------------------------------------------------

/// What the embed script left on a page, with whether it ran under automation, the
/// owner's switch as stored, and the address's fragment.
const EMBED_RESULT_AND_SWITCH: &str = r#"Object.assign(EMBED_RESULT, {
  webdriver: navigator.webdriver,
  stored: localStorage.getItem("visitor-counter:ignore"),
  hash: location.hash,
})"#;

fn embed_result_and_switch() -> String {
    EMBED_RESULT_AND_SWITCH.replace("EMBED_RESULT", EMBED_RESULT)
}

/// The requests a load made to the API, but for the script itself.
fn api_requests(load: &Load, api: &str) -> Vec<(String, String)> {
    load.requests_to(api)
        .into_iter()
        .filter(|(method, path)| !(method == "GET" && path == "/counter.js"))
        .collect()
}

fn request(method: &str, path: &str) -> (String, String) {
    (method.to_owned(), path.to_owned())
}

#[tokio::test]
async fn a_browser_under_automation_counts_nothing_and_shows_the_numbers() {
    let (listener, origin) = page_origin().await;
    let (server, _dir) = server_after(
        &[&[
            "counters",
            "set",
            "home",
            "--views",
            "41",
            "--visitors",
            "7",
        ]],
        &[("ALLOWED_ORIGINS", origin.as_str())],
    );
    serve_page(listener, embed_page(&server.base_url, Some("home")));
    let plan = |automation: bool| {
        json!({"url": origin, "loads": 2, "ready": EMBED_DONE,
               "result": embed_result_and_switch(), "automation": automation})
    };

    // Chromium as Playwright drives it: navigator.webdriver is true.
    let loads = drive(plan(true)).await;
    for (i, load) in loads.iter().enumerate() {
        assert_eq!(load.result["webdriver"], true, "load {i}: {load:?}");
        assert_eq!(load.result["state"], "read", "load {i}: {load:?}");
        assert_eq!(load.result["views"], json!(["41"]), "load {i}: {load:?}");
        assert_eq!(load.result["visitors"], json!(["7"]), "load {i}: {load:?}");
        assert_eq!(load.result["states"], json!(["read", "read"]), "load {i}");
        assert_eq!(
            api_requests(load, &server.base_url),
            [request("GET", "/counters/home")],
            "load {i}: {load:?}"
        );
        assert_eq!(
            load.console_of("info"),
            [
                "visitor-counter: navigator.webdriver is true: a browser under automation is not counted"
            ],
            "load {i}: {load:?}"
        );
        assert!(load.console_of("warning").is_empty(), "load {i}: {load:?}");
        assert!(load.errors.is_empty(), "load {i}: {load:?}");
    }
    assert_eq!(totals(&server, "home").await, (41, 7));

    // The same page and browser with the flag off counts: the flag alone made the
    // difference.
    let loads = drive(plan(false)).await;
    assert_eq!(loads[0].result["webdriver"], false, "{loads:?}");
    assert_eq!(loads[1].result["state"], "counted", "{loads:?}");
    assert_eq!(loads[1].result["views"], json!(["43"]), "{loads:?}");
    assert_eq!(totals(&server, "home").await, (43, 8));
}

#[tokio::test]
async fn the_owners_switch_turns_counting_off_in_one_browser_and_on_again() {
    let (listener, origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", origin.as_str())]);
    let api = &server.base_url;
    // Two counters on the page: the console line is said once per page, not per script.
    let page = embed_page(api, Some("home")).replace(
        "<h1>Hello</h1>",
        &format!(
            "<h1>Hello</h1>\n<p><span data-counter-views=\"about\">&hellip;</span></p>\n<script async src=\"{api}/counter.js\" data-counter=\"about\"></script>"
        ),
    );
    serve_page(listener, page);
    let done = r#"[...document.querySelectorAll('script[src$="/counter.js"]')].every((s) =>
        ["counted", "read", "failed"].includes(s.dataset.counterState))"#;
    // The last page switches by its fragment alone, after it has loaded.
    let result = format!(
        r#"(async () => {{
            const before = {};
            if (location.pathname === "/later/") {{
                location.hash = "visitor-counter=ignore";
                await new Promise((resolve) => setTimeout(resolve, 200));
                before.after_hashchange = localStorage.getItem("visitor-counter:ignore");
            }}
            return before;
        }})()"#,
        embed_result_and_switch()
    );
    let urls = [
        format!("{origin}/#visitor-counter=ignore"),
        format!("{origin}/"),
        format!("{origin}/another/page.html"),
        format!("{origin}/#visitor-counter=count"),
        format!("{origin}/later/"),
        format!("{origin}/"),
    ];
    let loads = drive(json!({"urls": urls, "ready": done, "result": result})).await;
    let off = format!(
        "visitor-counter: this browser is not counted (#visitor-counter=count on any page undoes it) on {origin}"
    );
    let on = format!("visitor-counter: this browser is counted on {origin}");
    let both_read = [
        request("GET", "/counters/home"),
        request("GET", "/counters/about"),
    ];
    let both_counted = [
        request("POST", "/counters/home"),
        request("POST", "/counters/about"),
    ];
    // Each load's state, whether the switch was stored when it was done, and what it
    // said in the console (the fifth switches off after counting, by its fragment).
    let expected: [(&str, bool, &[&str]); 6] = [
        ("read", true, &[&off]),
        ("read", true, &[&off]),
        ("read", true, &[&off]),
        ("counted", false, &[&on]),
        ("counted", false, &[&off]),
        ("read", true, &[&off]),
    ];
    for (i, (load, (state, stored, said))) in loads.iter().zip(expected).enumerate() {
        let result = &load.result;
        assert_eq!(result["webdriver"], false, "load {i}: {load:?}");
        assert_eq!(result["state"], state, "load {i}: {load:?}");
        // The switch is out of the address at once (a reload or a shared address
        // does not switch again), and kept in the site's storage.
        assert_eq!(result["hash"], "", "load {i}: {load:?}");
        let stored = if stored { json!("1") } else { Value::Null };
        assert_eq!(result["stored"], stored, "load {i}: {load:?}");
        let mut api = api_requests(load, &server.base_url);
        api.sort();
        let mut wanted = if state == "read" {
            both_read.to_vec()
        } else {
            both_counted.to_vec()
        };
        wanted.sort();
        assert_eq!(api, wanted, "load {i}: {load:?}");
        assert_eq!(load.console_of("info"), said, "load {i}: {load:?}");
        assert!(load.console_of("warning").is_empty(), "load {i}: {load:?}");
        assert!(load.errors.is_empty(), "load {i}: {load:?}");
    }
    // Loads 0 to 2 showed the numbers without counting; 3 and 4 counted.
    assert_eq!(loads[2].result["views"], json!(["0", "0"]), "{loads:?}");
    assert_eq!(loads[4].result["views"], json!(["2", "2"]), "{loads:?}");
    assert_eq!(loads[5].result["views"], json!(["2", "2"]), "{loads:?}");
    assert_eq!(loads[4].result["after_hashchange"], "1", "{loads:?}");
    assert_eq!(totals(&server, "home").await, (2, 1));
    assert_eq!(totals(&server, "about").await, (2, 1));
}

#[tokio::test]
async fn the_owners_switch_with_storage_blocked_holds_for_its_load_and_throws_nothing() {
    let (listener, origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", origin.as_str())]);
    serve_page(listener, embed_page(&server.base_url, Some("home")));
    // As Chromium does with site data blocked: reading localStorage throws.
    let blocked = r#"Object.defineProperty(window, "localStorage", { configurable: true,
        get() { throw new DOMException("Access is denied for this document.", "SecurityError"); } });"#;
    let urls = [
        format!("{origin}/#visitor-counter=ignore"),
        format!("{origin}/"),
    ];
    let loads = drive(
        json!({"urls": urls, "ready": EMBED_DONE, "result": EMBED_RESULT,
                             "init_script": blocked}),
    )
    .await;
    // The load that asked is not counted, and says the switch cannot be kept ...
    assert_eq!(loads[0].result["state"], "read", "{loads:?}");
    assert_eq!(
        loads[0].console_of("warning"),
        ["visitor-counter: this browser cannot keep the switch: SecurityError"],
        "{loads:?}"
    );
    // ... and it was not kept: the next load counts.
    assert_eq!(loads[1].result["state"], "counted", "{loads:?}");
    assert_eq!(loads[1].result["views"], json!(["1"]), "{loads:?}");
    for load in &loads {
        assert!(load.errors.is_empty(), "{load:?}");
    }
    assert_eq!(totals(&server, "home").await, (1, 1));
}

#[tokio::test]
async fn a_badge_of_the_counter_on_the_page_shows_the_counted_number() {
    let (listener, origin) = page_origin().await;
    let (server, _dir) = server_after(
        &[
            &[
                "counters",
                "set",
                "home",
                "--views",
                "41",
                "--visitors",
                "7",
            ],
            &["counters", "set", "other", "--views", "5"],
        ],
        &[("ALLOWED_ORIGINS", origin.as_str())],
    );
    let api = &server.base_url;
    // Ahead of the script, so the images are asked for before the view is counted.
    let images = format!(
        r#"<img id="views" src="{api}/counters/home/badge.svg">
<img id="visitors" src="{api}/counters/home/badge.svg?metric=visitors&amp;v=2">
<img id="other" src="{api}/counters/other/badge.svg">"#
    );
    serve_page(
        listener,
        embed_page(api, Some("home")).replace("<h1>Hello</h1>", &images),
    );
    let ready = format!(
        "{EMBED_DONE} && [...document.images].every((img) => img.complete && img.naturalWidth > 0)"
    );
    let result =
        r#"Object.fromEntries([...document.images].map((img) => [img.id, img.currentSrc]))"#;
    let load = &drive(json!({"url": origin, "ready": ready, "result": result,
                             "bodies": "/badge.svg"}))
    .await[0];
    assert!(load.errors.is_empty(), "{load:?}");
    let badge = |query: &str| format!("{api}/counters/home/badge.svg{query}");
    // Each image now shows the answer to an address asked for after the count.
    assert_eq!(
        load.result,
        json!({
            "views": badge("?v=42"),
            "visitors": badge("?metric=visitors&v=42"),
            "other": format!("{api}/counters/other/badge.svg"),
        }),
        "{load:?}"
    );
    let body = |url: &str| -> &str {
        let found: Vec<&str> = load
            .bodies
            .iter()
            .filter(|(u, _)| u == url)
            .map(|(_, b)| b.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{url}: {load:?}");
        found[0]
    };
    assert!(
        body(&badge("")).contains("<title>views: 41</title>"),
        "{load:?}"
    );
    assert!(
        body(&badge("?v=42")).contains("<title>views: 42</title>"),
        "{load:?}"
    );
    assert!(
        body(&badge("?metric=visitors&v=42")).contains("<title>visitors: 8</title>"),
        "{load:?}"
    );
    // The refreshed badges were asked for after the POST; the other counter's badge once.
    let order: Vec<(String, String)> = api_requests(load, api);
    let post = order
        .iter()
        .position(|r| *r == request("POST", "/counters/home"))
        .expect("a POST");
    for refreshed in [
        "/counters/home/badge.svg?v=42",
        "/counters/home/badge.svg?metric=visitors&v=42",
    ] {
        let at = order.iter().position(|r| *r == request("GET", refreshed));
        assert!(at.is_some_and(|at| at > post), "{refreshed}: {order:?}");
    }
    assert_eq!(
        order
            .iter()
            .filter(|(_, path)| path.starts_with("/counters/other/"))
            .count(),
        1,
        "{order:?}"
    );
    assert_eq!(totals(&server, "home").await, (42, 8));
}

#[tokio::test]
async fn a_prerendered_page_counts_when_it_is_shown_and_not_before() {
    let (listener, origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", origin.as_str())]);
    serve_page(listener, embed_page(&server.base_url, Some("home")));
    // Chromium's own `document.prerendering`, held true until the page "is shown".
    let prerendering = r#"Object.defineProperty(Document.prototype, "prerendering", {
        configurable: true, get() { return window.shown !== true; } });"#;
    let shown = r#"(async () => {
        const script = document.querySelector('script[src$="/counter.js"]');
        const posts = () => performance.getEntriesByType("resource")
            .filter((entry) => entry.name.includes("/counters/")).length;
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const before = { state: script.dataset.counterState, posts: posts() };
        window.shown = true;
        document.dispatchEvent(new Event("prerenderingchange"));
        await new Promise((resolve) => {
            const poll = setInterval(() => {
                if (["counted", "failed"].includes(script.dataset.counterState)) {
                    clearInterval(poll);
                    resolve();
                }
            }, 50);
        });
        return { before, after: { state: script.dataset.counterState, posts: posts() } };
    })()"#;
    let load =
        &drive(json!({"url": origin, "init_script": prerendering, "result": shown})).await[0];
    assert_eq!(
        load.result,
        json!({"before": {"state": "counting", "posts": 0}, "after": {"state": "counted", "posts": 1}}),
        "{load:?}"
    );
    assert_eq!(load.posts().len(), 1, "{load:?}");
    assert_eq!(totals(&server, "home").await, (1, 1));
}

/// docs/pages.md's rule for a counter's name from a page's path, written again here
/// from its words (the script has its own).
fn derived_name(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    let mut valid = true;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match path
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(byte) => {
                    decoded.push(byte);
                    i += 3;
                    continue;
                }
                None => valid = false,
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let path = match String::from_utf8(decoded) {
        Ok(text) if valid => text,
        _ => path.to_owned(),
    };
    let mut path = path.to_lowercase();
    for index in ["/index.html", "/index.htm"] {
        if let Some(stem) = path.strip_suffix(index) {
            path = format!("{stem}/");
        }
    }
    for extension in [".html", ".htm"] {
        if let Some(stem) = path.strip_suffix(extension) {
            path = stem.to_owned();
            break;
        }
    }
    let is_name = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c);
    let mut runs = String::new();
    for c in path.chars() {
        if is_name(c) {
            runs.push(c);
        } else if !runs.ends_with('\u{0}') {
            runs.push('\u{0}');
        }
    }
    let replaced = runs.replace('\u{0}', "-");
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let trimmed = replaced.trim_matches(|c: char| !alnum(c)).to_owned();
    if trimmed.is_empty() {
        return "home".to_owned();
    }
    if trimmed.len() <= 64 {
        return trimmed;
    }
    let mut hash: u32 = 0x811c_9dc5;
    for byte in trimmed.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let head = trimmed[..55].trim_end_matches(|c: char| !alnum(c));
    format!("{head}-{hash:08x}")
}

#[test]
fn the_readme_examples_follow_the_naming_rule() {
    // The naming rule's table lives in docs/pages.md, which the README links.
    let pages = std::fs::read_to_string(contracts_dir().join("../docs/pages.md")).unwrap();
    let table = pages
        .split("| page path | counter |")
        .nth(1)
        .expect("docs/pages.md has the naming table");
    let mut checked = 0;
    for row in table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let paths: Vec<&str> = cells[1].split(", ").map(|p| p.trim_matches('`')).collect();
        let Some(name) = cells[2].split('`').nth(1) else {
            continue; // the over-long row says it in words
        };
        for path in paths.into_iter().filter(|p| p.starts_with('/')) {
            assert_eq!(derived_name(path), name, "{path}");
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked}");
}

#[tokio::test]
async fn without_data_counter_the_name_comes_from_the_path_by_the_readme_rule() {
    let (listener, origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", origin.as_str())]);
    serve_page(listener, embed_page(&server.base_url, None));

    let long = format!("/{}/The%20End.html", "chapter-".repeat(12));
    let paths = [
        "/",
        "/About/",
        "/blog/2026/Hello%20World/",
        "/docs/v1.2/setup.html?utm_source=x#top",
        "/caf%C3%A9/",
        "/--odd__/..path../",
        "/%E2%82%AC/",
        "/bad%zzescape",
        long.as_str(),
    ];
    let mut expected = std::collections::BTreeMap::new();
    for path in paths {
        let bare = path.split(['?', '#']).next().unwrap();
        let name = derived_name(bare);
        assert!(
            visitor_counter::names::CounterName::parse(&name).is_ok(),
            "{path}: {name}"
        );
        *expected.entry(name).or_insert(0u64) += 1;
        let load = &drive(embed_plan(&format!("{origin}{path}"), 1, "en-US")).await[0];
        assert_eq!(load.result["state"], "counted", "{path}: {load:?}");
        assert!(load.errors.is_empty(), "{path}: {load:?}");
    }
    assert!(
        expected.contains_key("blog-2026-hello-world"),
        "{expected:?}"
    );
    assert!(expected.keys().any(|name| name.len() == 64), "{expected:?}");
    let names = counter_names(&server).await;
    assert_eq!(
        names,
        expected.keys().cloned().collect::<Vec<_>>(),
        "{expected:?}"
    );
    for (name, views) in &expected {
        assert_eq!(totals(&server, name).await.0, *views, "{name}");
    }
}

// ---- Badges ----------------------------------------------------------------------

#[tokio::test]
async fn a_badge_shows_the_number_in_an_img_and_a_hostile_label_stays_text() {
    let (server, _dir) = server_after(&[&["counters", "set", "home", "--views", "1234"]], &[]);
    // Each at most 32 characters, as a label may be.
    let hostile = [
        "</text><script>alert(1)</script>",
        r#""/><svg onload="alert(2)"><text>"#,
    ];
    let plain = server.url("/counters/home/badge.svg");
    let spoiled: Vec<String> = hostile
        .iter()
        .map(|label| {
            let encoded: String = form_urlencoded::byte_serialize(label.as_bytes()).collect();
            server.url(&format!("/counters/home/badge.svg?label={encoded}"))
        })
        .collect();
    let page = page_at(format!(
        "<!doctype html>\n<title>badges</title>\n<img src=\"{plain}\">\n<img src=\"{}\">\n<img src=\"{}\">\n",
        spoiled[0], spoiled[1]
    ))
    .await;
    let images = r#"[...document.images].map((img) => ({
        src: img.src, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight }))"#;
    let load = &drive(json!({
        "url": page,
        "ready": "[...document.images].every((img) => img.complete)",
        "result": images,
    }))
    .await[0];
    let result = load.result.as_array().unwrap();
    assert_eq!(result.len(), 3, "{result:?}");
    for image in result {
        assert!(image["width"].as_u64().unwrap() > 40, "{image}");
        assert_eq!(image["height"], 20, "{image}");
    }
    assert!(
        load.errors.is_empty() && load.dialogs.is_empty(),
        "{load:?}"
    );

    // Opened on their own, as documents: the number is there, the label is only text.
    let document = r#"({
        texts: [...document.querySelectorAll("text")].map((t) => t.textContent),
        title: document.querySelector("title").textContent,
        scripts: document.getElementsByTagName("script").length,
        handlers: [...document.querySelectorAll("*")].filter((e) => e.hasAttribute("onload")).length,
    })"#;
    for (url, label) in [
        (&plain, "views"),
        (&spoiled[0], hostile[0]),
        (&spoiled[1], hostile[1]),
    ] {
        let load = &drive(json!({"url": url, "ready": "document.querySelector('text') !== null", "result": document, "settle_ms": 300})).await[0];
        let result = &load.result;
        assert_eq!(result["title"], format!("{label}: 1,234"), "{result}");
        assert!(
            result["texts"]
                .as_array()
                .unwrap()
                .contains(&json!("1,234")),
            "{result}"
        );
        assert!(
            result["texts"].as_array().unwrap().contains(&json!(label)),
            "{result}"
        );
        assert_eq!(result["scripts"], 0, "{result}");
        assert_eq!(result["handlers"], 0, "{result}");
        assert!(load.dialogs.is_empty(), "{load:?}");
        assert!(load.errors.is_empty(), "{load:?}");
    }
    assert_eq!(
        totals(&server, "home").await.0,
        1234,
        "badges count nothing"
    );
}

// ---- The dashboard ---------------------------------------------------------------

/// The pages of the dashboard's tests.
const PAGES: [&str; 3] = ["home", "blog.first-post", "about"];

/// A store at `db` with 130 days of a small site's history, counted on their dates
/// through the store as the service counts: `home` every day by up to five people,
/// `blog.first-post` in the last 100 days, `about` every tenth day; some bots and some
/// views past the limit. The same people read several pages, so the site's visitors are
/// fewer than the pages' summed.
async fn dashboard_history(db: &Path, today: visitor_counter::day::Day) {
    use visitor_counter::names::CounterName;
    use visitor_counter::store::{CounterStore, EmbeddedStore, Filter, Limits, Visit};
    let store = EmbeddedStore::open(db).unwrap();
    let salt = visitor_counter::visitor::Salt::random().unwrap();
    let mut visits = Vec::new();
    let mut filtered = Vec::new();
    for back in 0..130i32 {
        let day = today.plus(-back);
        let n = back as usize;
        let per_page = [
            2 + (n * 7) % 11,
            if back < 100 { n % 4 } else { 0 },
            usize::from(n % 10 == 3),
        ];
        for (page, count) in PAGES.iter().zip(per_page) {
            let counter = CounterName::parse(page).unwrap();
            for i in 0..count {
                let address = format!("192.0.2.{}", (i + n) % 5);
                visits.push(Visit {
                    marker: Some(salt.marker(&counter, &address, b"a person")),
                    site_marker: Some(salt.site_marker(&address, b"a person")),
                    counter: counter.clone(),
                    day,
                    limits: Limits::default(),
                });
            }
        }
        let home = CounterName::parse("home").unwrap();
        if n.is_multiple_of(6) {
            filtered.push((home.clone(), day, Filter::Bot));
        }
        if n % 8 == 1 {
            filtered.push((home, day, Filter::Limited));
        }
    }
    let store = &store;
    let counted = futures_util::future::join_all(visits.iter().map(|v| store.record(v))).await;
    assert!(counted.iter().all(Result::is_ok), "{counted:?}");
    for (counter, day, filter) in &filtered {
        store.filtered(counter, *day, *filter).await.unwrap();
    }
}

/// What the API answers for a range: the site's days, and each page's.
async fn api_days(server: &TestServer, path: &str, from: &str, to: &str) -> Vec<Value> {
    let body: Value = http_client()
        .get(server.url(&format!("{path}?from={from}&to={to}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["days"].as_array().unwrap().clone()
}

fn sum_of(days: &[Value], member: &str) -> u64 {
    days.iter().map(|d| d[member].as_u64().unwrap()).sum()
}

/// `1 view`, `2 views`: the dashboard's words.
fn words(n: u64, one: &str, many: &str) -> String {
    let word = if n == 1 { one } else { many };
    format!("{} {word}", visitor_counter::markup::grouped(n))
}

/// The change of `now` against `before` as the page writes it.
fn expected_change(now: u64, before: u64) -> String {
    if now == before {
        return "no change".to_owned();
    }
    if before == 0 {
        return "new".to_owned();
    }
    let percent = (now as i128 - before as i128) * 100 / before as i128;
    match percent {
        0 if now > before => "+<1%".to_owned(),
        0 => "\u{2212}<1%".to_owned(),
        p if p > 0 => format!("+{p}%"),
        p => format!("\u{2212}{}%", -p),
    }
}

/// What a load of the dashboard shows, read from the page as a person reads it.
const DASHBOARD_READING: &str = r##"(() => {
    const text = (selector) => document.querySelector(selector).textContent;
    const svg = document.querySelector("figure.site-chart svg");
    return {
        search: location.search,
        period: text("#period"),
        current: [...document.querySelectorAll("nav.periods a[aria-current]")].map((a) => a.textContent),
        from: document.getElementById("from").value,
        to: document.getElementById("to").value,
        views: text("#site-views"),
        visitors: text("#site-visitors"),
        viewsChange: text("#views-change"),
        visitorsChange: text("#visitors-change"),
        viewsBefore: text("#views-before"),
        visitorsBefore: text("#visitors-before"),
        bots: text("#site-bots"),
        limited: text("#site-limited"),
        days: [...svg.querySelectorAll("g > title")].map((t) => t.textContent),
        bars: [...svg.querySelectorAll("rect.views")].map((r) => Number(r.getAttribute("height"))),
        drawn: svg.getBoundingClientRect().width > 200 && svg.getBoundingClientRect().height > 100,
        axis: [...document.querySelectorAll(".y-axis .tick")].map((t) => t.textContent),
        dates: [...document.querySelectorAll(".x-axis span")].map((t) => t.textContent),
        pages: [...document.querySelectorAll("table.pages tbody.page")].map((tbody) =>
            [...tbody.querySelector("tr").children].map((cell) => cell.textContent)),
        sparks: [...document.querySelectorAll("svg.spark")].map((s) => s.getBoundingClientRect().width),
        scale: text("#pages-top"),
    };
})()"##;

#[tokio::test]
async fn the_dashboard_shows_each_period_as_totals_days_and_the_counters_days_say() {
    let today = visitor_counter::day::Day::of(std::time::SystemTime::now());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    dashboard_history(&db, today).await;
    let server = spawn_server(&[("COUNTER_DB", db.to_str().unwrap())]);
    let (from, to) = (today.plus(-125).to_string(), today.plus(-101).to_string());
    let plan = json!({
        "url": server.url("/dashboard"),
        "result": DASHBOARD_READING,
        "steps": [
            {"click": "a[href='?period=7']"},
            {"click": "a[href='?period=90']"},
            {"click": "a[href='?period=365']"},
            {"fill": {"#from": from, "#to": to}, "click": "form.range button"},
            {"click": "a[href='?period=30']"},
        ],
        "download": "#csv",
    });
    let loads = drive(plan).await;
    // The default, then each choice, then back to 30 days.
    let periods: Vec<(visitor_counter::day::Day, visitor_counter::day::Day)> = [30, 7, 90, 365]
        .iter()
        .map(|days| (today.plus(1 - days), today))
        .chain([
            (today.plus(-125), today.plus(-101)),
            (today.plus(-29), today),
        ])
        .collect();
    assert_eq!(loads.len(), periods.len());
    let mut views_seen = Vec::new();
    let mut befores = Vec::new();
    for (load, (first, last)) in loads.iter().zip(&periods) {
        let result = &load.result;
        assert!(load.errors.is_empty(), "{load:?}");
        assert!(load.console_errors().is_empty(), "{load:?}");
        // Nothing from any other host: the page and its CSV, from the server alone.
        for (method, url, _) in &load.requests {
            assert!(
                url.starts_with(&server.base_url),
                "{method} {url}: {load:?}"
            );
        }
        let (first, last) = (first.to_string(), last.to_string());
        assert_eq!(result["period"], format!("{first} to {last}"), "{result}");
        assert_eq!(
            (&result["from"], &result["to"]),
            (&json!(first), &json!(last))
        );
        let length = periods_length(&first, &last);
        let previous = (
            day_of(&first).plus(-(length as i32)).to_string(),
            day_of(&first).plus(-1).to_string(),
        );

        // The site: its numbers, against the previous period, and what was filtered.
        let site = api_days(&server, "/totals/days", &first, &last).await;
        let before = api_days(&server, "/totals/days", &previous.0, &previous.1).await;
        let (views, visitors) = (sum_of(&site, "views"), sum_of(&site, "visitors"));
        let (views_before, visitors_before) =
            (sum_of(&before, "views"), sum_of(&before, "visitors"));
        assert!(views > 0, "{result}");
        befores.push(views_before);
        assert_eq!(
            result["views"],
            visitor_counter::markup::grouped(views),
            "{result}"
        );
        assert_eq!(
            result["visitors"],
            visitor_counter::markup::grouped(visitors),
            "{result}"
        );
        assert_eq!(
            result["viewsBefore"],
            words(views_before, "view", "views"),
            "{result}"
        );
        assert_eq!(
            result["visitorsBefore"],
            words(visitors_before, "visitor", "visitors")
        );
        assert_eq!(
            result["viewsChange"],
            expected_change(views, views_before),
            "{result}"
        );
        assert_eq!(
            result["visitorsChange"],
            expected_change(visitors, visitors_before)
        );
        assert_eq!(
            result["bots"],
            words(sum_of(&site, "bots"), "view", "views")
        );
        assert_eq!(
            result["limited"],
            words(sum_of(&site, "limited"), "view", "views")
        );
        views_seen.push(views);

        // The chart: a bar per date, each the API's day, the tallest at the peak, the
        // axis labelled from 0 to at least the peak, dates under it.
        let days: Vec<String> = site
            .iter()
            .map(|d| {
                format!(
                    "{}: {}, {}",
                    d["date"].as_str().unwrap(),
                    words(d["views"].as_u64().unwrap(), "view", "views"),
                    words(d["visitors"].as_u64().unwrap(), "visitor", "visitors"),
                )
            })
            .collect();
        assert_eq!(result["days"], json!(days), "{result}");
        let peak = site
            .iter()
            .map(|d| d["views"].as_u64().unwrap())
            .max()
            .unwrap();
        let axis: Vec<u64> = result["axis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().replace(',', "").parse().unwrap())
            .collect();
        assert_eq!(axis.last(), Some(&0), "{result}");
        assert!(axis[0] >= peak && axis[0] < peak * 2 + 2, "{result}");
        for (bar, day) in result["bars"].as_array().unwrap().iter().zip(&site) {
            let expected = day["views"].as_u64().unwrap() as f64 / axis[0] as f64 * 100.0;
            let bar = bar.as_f64().unwrap();
            assert!(
                (bar - expected).abs() <= 2.05,
                "{bar} for {day} on {axis:?}"
            );
        }
        assert_eq!(result["drawn"], true, "{result}");
        let dates = result["dates"].as_array().unwrap();
        assert_eq!(
            (&dates[0], dates.last().unwrap()),
            (&json!(first), &json!(last))
        );

        // The pages: each with what its days say, the most viewed in the period first.
        let mut expected = Vec::new();
        for name in PAGES {
            let days = api_days(&server, &format!("/counters/{name}/days"), &first, &last).await;
            expected.push((sum_of(&days, "views"), sum_of(&days, "visitors"), name));
        }
        expected.sort_by_key(|e| std::cmp::Reverse(e.0));
        let rows: Vec<Value> = expected
            .iter()
            .map(|(v, u, name)| {
                json!([
                    name,
                    visitor_counter::markup::grouped(*v),
                    visitor_counter::markup::grouped(*u)
                ])
            })
            .collect();
        assert_eq!(result["pages"], json!(rows), "{result}");
        // Counted by the same people, the site's visitors are fewer than the pages'.
        assert!(
            visitors < expected.iter().map(|e| e.1).sum::<u64>(),
            "{result}"
        );

        // The CSV holds what the page shows.
        let csv = load.download.as_deref().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "row,name,from,to,views,visitors,bots,limited");
        assert_eq!(
            lines[1],
            format!(
                "site,,{first},{last},{views},{visitors},{},{}",
                sum_of(&site, "bots"),
                sum_of(&site, "limited")
            )
        );
        assert!(
            lines[2].starts_with(&format!(
                "site-previous,,{},{},{views_before},{visitors_before},",
                previous.0, previous.1
            )),
            "{csv}"
        );
        for day in &site {
            let date = day["date"].as_str().unwrap();
            let row = format!(
                "site-day,,{date},{date},{},{},{},{}",
                day["views"], day["visitors"], day["bots"], day["limited"]
            );
            assert!(lines.contains(&row.as_str()), "{row}: {csv}");
        }
        let page_rows: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("page,"))
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                format!("{},{},{}", cells[1], cells[4], cells[5])
            })
            .collect();
        let shown: Vec<String> = expected
            .iter()
            .map(|(v, u, name)| format!("{name},{v},{u}"))
            .collect();
        assert_eq!(page_rows, shown, "{csv}");
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("page-day,")).count(),
            PAGES.len() * length
        );
    }
    // Each choice changed the numbers.
    let distinct: std::collections::HashSet<_> = views_seen.iter().collect();
    assert_eq!(distinct.len(), views_seen.len() - 1, "{views_seen:?}");
    assert_eq!(views_seen[0], views_seen[5]);
    // The history reaches back before every period but the year: its previous is empty.
    assert_eq!(
        befores.iter().map(|&b| b > 0).collect::<Vec<_>>(),
        [true, true, true, false, true, true]
    );

    // Without JavaScript, the same page, and its links still choose the period.
    let plan = json!({
        "url": server.url("/dashboard"),
        "javascript": false,
        "steps": [{"click": "a[href='?period=7']"}],
        "result": "({text: document.body.innerText, search: location.search})",
    });
    let loads = drive(plan).await;
    assert_eq!(loads[1].result["search"], "?period=7");
    let text = loads[1].result["text"].as_str().unwrap();
    for name in PAGES {
        assert!(text.contains(name), "{name}: {text}");
    }
    assert!(
        text.contains(&format!("{} to {today}", today.plus(-6))),
        "{text}"
    );
}

fn day_of(text: &str) -> visitor_counter::day::Day {
    visitor_counter::day::Day::parse(text).unwrap()
}

fn periods_length(first: &str, last: &str) -> usize {
    (day_of(first).until(day_of(last)) + 1) as usize
}

#[tokio::test]
async fn the_dashboard_at_390_and_1280_px_overflows_nothing_and_stays_legible() {
    let today = visitor_counter::day::Day::of(std::time::SystemTime::now());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("count.redb");
    dashboard_history(&db, today).await;
    let server = spawn_server(&[("COUNTER_DB", db.to_str().unwrap())]);
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artefacts).unwrap();
    // Every visible element inside the window; the smallest text; the charts' widths.
    let measure = r#"(() => {
        const width = window.innerWidth;
        const outside = [...document.querySelectorAll("body *")].filter((e) => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && (r.right > width + 0.5 || r.left < -0.5);
        }).map((e) => e.tagName + "." + e.className.baseVal + e.className + ": " + e.getBoundingClientRect().right);
        const texts = [...document.querySelectorAll("body *")].filter((e) =>
            [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) &&
            e.getBoundingClientRect().width > 0);
        return {
            width,
            scroll: document.documentElement.scrollWidth,
            outside,
            smallest: Math.min(...texts.map((e) => parseFloat(getComputedStyle(e).fontSize))),
            chart: document.querySelector("figure.site-chart svg").getBoundingClientRect().width,
            sparks: Math.min(...[...document.querySelectorAll("svg.spark")].map((s) => s.getBoundingClientRect().width)),
            figure: parseFloat(getComputedStyle(document.getElementById("site-views")).fontSize),
            picker: document.querySelector("nav.periods ul").getBoundingClientRect().height,
        };
    })()"#;
    for (width, height, path) in [(390u32, 844, "?period=30"), (1280, 900, "?period=90")] {
        let screenshot = artefacts.join(format!("dashboard-{width}.png"));
        let _ = std::fs::remove_file(&screenshot);
        let plan = json!({
            "url": server.url(&format!("/dashboard{path}")),
            "viewport": {"width": width, "height": height},
            "result": measure,
            "screenshot": screenshot.to_str().unwrap(),
        });
        let load = &drive(plan).await[0];
        let result = &load.result;
        assert!(load.errors.is_empty(), "{load:?}");
        assert_eq!(result["width"], width, "{result}");
        assert!(
            result["scroll"].as_u64().unwrap() <= u64::from(width),
            "{result}"
        );
        assert_eq!(result["outside"], json!([]), "{result}");
        assert!(result["smallest"].as_f64().unwrap() >= 12.0, "{result}");
        assert!(result["figure"].as_f64().unwrap() >= 24.0, "{result}");
        // The charts take the width there is: most of a phone's, most of a desktop's page.
        let room = f64::from(width.min(1024));
        assert!(result["chart"].as_f64().unwrap() >= room * 0.75, "{result}");
        assert!(result["sparks"].as_f64().unwrap() >= room * 0.8, "{result}");
        // The picker's four links on at most two lines.
        assert!(result["picker"].as_f64().unwrap() <= 80.0, "{result}");
        assert!(
            std::fs::metadata(&screenshot).unwrap().len() > 10_000,
            "no screenshot at {}",
            screenshot.display()
        );
    }
}
