//! Who may count, in a real browser: headless Chromium opens a page on a foreign
//! origin that tries every way a page can send a POST without the API's consent (a
//! CORS fetch, a `no-cors` fetch with `text/plain`, `sendBeacon`, a form post), and the
//! count does not move; the same page on an allowed origin moves it by exactly those
//! four, which proves the browser really sent them.
//!
//! `scripts/test` installs Chromium (Debian's package) and Playwright
//! (`scripts/node-tools`); without them this test fails, saying how to get them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::*;

/// Every way a page can POST to `api`, each recorded in `window.results`.
fn page(api: &str) -> String {
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

/// Serves `html` to every request on `listener`.
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

fn tool(variable: &str, default: &Path, what: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| default.to_owned(), PathBuf::from);
    assert!(
        path.exists(),
        "{what} is not at {} (run scripts/test, which installs it, or set {variable})",
        path.display()
    );
    path
}

/// Opens `url` in Chromium and returns the page's results.
fn open_in_chromium(url: &str) -> Value {
    let root = contracts_dir().join("..");
    let modules = tool(
        "NODE_TOOLS",
        &root.join(".tools/node/node_modules"),
        "Playwright (scripts/node-tools)",
    );
    let chromium = tool("CHROMIUM", Path::new("/usr/bin/chromium"), "Chromium");
    let output = Command::new("node")
        .arg(root.join("service/tests/browser/post-from-page.cjs"))
        .arg(url)
        .env("NODE_PATH", modules)
        .env("CHROMIUM", chromium)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the browser run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not a report ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    report["results"].clone()
}

#[tokio::test]
async fn a_page_on_a_foreign_origin_cannot_count_in_chromium_and_an_allowed_one_can() {
    // Two pages, one origin each; the API allows only the first.
    let (allowed_listener, allowed_origin) = page_origin().await;
    let (foreign_listener, foreign_origin) = page_origin().await;
    let (server, _dir) = embedded_server_with(&[("ALLOWED_ORIGINS", allowed_origin.as_str())]);
    let api = server.url("/count");
    serve_page(allowed_listener, page(&api));
    serve_page(foreign_listener, page(&api));

    let foreign = tokio::task::spawn_blocking(move || open_in_chromium(&foreign_origin))
        .await
        .unwrap();
    // The CORS fetch sees no CORS headers on the 403 and rejects; the rest cannot
    // read the answer at all.
    assert_eq!(foreign["fetch"], "rejected: TypeError", "{foreign}");
    assert_eq!(foreign["no-cors"], "opaque", "{foreign}");
    assert_eq!(foreign["beacon"], true, "{foreign}");
    assert_eq!(foreign["form"], "submitted", "{foreign}");
    assert_eq!(
        server.get_count().await,
        0,
        "a foreign page counted: {foreign}"
    );

    // The same page on the allowed origin: all four arrive and count.
    let allowed = tokio::task::spawn_blocking(move || open_in_chromium(&allowed_origin))
        .await
        .unwrap();
    assert_eq!(allowed["fetch"], 200, "{allowed}");
    assert_eq!(allowed["no-cors"], "opaque", "{allowed}");
    assert_eq!(allowed["beacon"], true, "{allowed}");
    assert_eq!(server.get_count().await, 4, "{allowed}");
}
