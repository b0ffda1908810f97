// Opens a page in headless Chromium (Playwright), as many times as asked, and reports
// what happened on each load: the value of an expression, every request the page made,
// every console message, uncaught error and dialog.
//
// Usage: node drive.cjs PLAN_JSON      (CHROMIUM: the browser's path)
//   PLAN_JSON: {"url": "...", "loads": 1, "ready": "JS expression", "result": "JS expression",
//               "locale": "en-US", "javascript": true, "screenshot": "PATH.png",
//               "settle_ms": 0, "timeout_ms": 20000, "init_script": "JS run before each page's own"}
//   "ready" is awaited (truthy) after each load, then "result" is evaluated, then the
//   page is left alone for settle_ms. The first load navigates to url; later loads reload.
// Prints one JSON line: {"loads": [{"result", "requests", "failed", "console", "errors",
// "dialogs"}, ...]}.
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const plan = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // Headless as root on a machine without a network: no sandbox, no GPU, and none of
    // the background traffic (updates, sync, QUIC probes) that would hammer it.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const context = await browser.newContext({
      locale: plan.locale || "en-US",
      javaScriptEnabled: plan.javascript !== false,
      viewport: { width: 1100, height: 800 },
    });
    if (plan.init_script) await context.addInitScript(plan.init_script);
    const page = await context.newPage();
    let load = null;
    const fresh = () => ({ requests: [], failed: [], console: [], errors: [], dialogs: [] });
    page.on("request", (request) =>
      load.requests.push({
        method: request.method(),
        url: request.url(),
        headers: request.headers(),
      })
    );
    page.on("requestfailed", (request) =>
      load.failed.push({ url: request.url(), error: String(request.failure() && request.failure().errorText) })
    );
    page.on("console", (message) => load.console.push({ type: message.type(), text: message.text() }));
    page.on("pageerror", (error) => load.errors.push(String(error)));
    page.on("dialog", (dialog) => {
      load.dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    const timeout = plan.timeout_ms || 20000;
    const loads = [];
    for (let i = 0; i < (plan.loads || 1); i++) {
      load = fresh();
      if (i === 0) {
        await page.goto(plan.url, { timeout });
      } else {
        await page.reload({ timeout });
      }
      if (plan.ready) await page.waitForFunction(plan.ready, null, { timeout });
      load.result = plan.result ? await page.evaluate(plan.result) : null;
      if (plan.settle_ms) await page.waitForTimeout(plan.settle_ms);
      loads.push(load);
    }
    if (plan.screenshot) await page.screenshot({ path: plan.screenshot, fullPage: true });
    console.log(JSON.stringify({ loads }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
