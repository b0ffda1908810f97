// Opens a page in headless Chromium (Playwright), as many times as asked, and reports
// what happened on each load: the value of an expression, every request the page made,
// every console message, uncaught error and dialog.
//
// Usage: node drive.cjs PLAN_JSON      (CHROMIUM: the browser's path)
//   PLAN_JSON: {"url": "...", "loads": 1, "urls": ["...", ...], "ready": "JS expression",
//               "result": "JS expression", "locale": "en-US", "javascript": true,
//               "screenshot": "PATH.png", "settle_ms": 0, "timeout_ms": 20000,
//               "init_script": "JS run before each page's own", "automation": false,
//               "bodies": "part of a URL", "viewport": {"width": 390, "height": 844},
//               "steps": [{"fill": {"SELECTOR": "value"}, "click": "SELECTOR"}, ...],
//               "download": "SELECTOR"}
//   "ready" is awaited (truthy) after each load, then "result" is evaluated, then the
//   page is left alone for settle_ms. The first load navigates to url; later loads reload.
//   With "urls", each load is a fresh navigation to the next of them instead (by way of
//   about:blank, so that an address differing only in its fragment loads the page anew).
//   "automation": true leaves navigator.webdriver true, as Playwright has it (see below).
//   "bodies": the answers to requests whose URL contains it are kept, as text.
//   "steps": each load after the first is a step on the page as it is: its fields filled,
//   then its element clicked, as a person would, and the navigation that follows awaited.
//   "download": after each load's result, this element is clicked and the file it
//   downloads is kept, as text, in the load's "download".
// Prints one JSON line: {"loads": [{"result", "requests", "failed", "console", "errors",
// "dialogs", "bodies", "download"}, ...]}.
"use strict";
const fs = require("fs");
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
      // Under Playwright navigator.webdriver is true, and the embed script does not
      // count a browser under automation. A page is driven here as a person's browser,
      // unless the plan asks for automation: this Blink feature is what sets the flag.
      ...(plan.automation ? [] : ["--disable-blink-features=AutomationControlled"]),
    ],
  });
  try {
    // A desktop Chrome's User-Agent (this Chromium's version, in the reduced form Chrome
    // sends) instead of headless Chromium's "HeadlessChrome/...": the service does not
    // count a User-Agent that names automation, and these pages stand for people.
    const major = browser.version().split(".")[0];
    const context = await browser.newContext({
      userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`,
      locale: plan.locale || "en-US",
      javaScriptEnabled: plan.javascript !== false,
      viewport: plan.viewport || { width: 1100, height: 800 },
      acceptDownloads: true,
    });
    if (plan.init_script) await context.addInitScript(plan.init_script);
    const page = await context.newPage();
    let load = null;
    const fresh = () => ({
      requests: [],
      failed: [],
      console: [],
      errors: [],
      dialogs: [],
      bodies: [],
      reading: [],
    });
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
    page.on("response", (response) => {
      // (A late answer, after its load's report was made, is left out.)
      if (!plan.bodies || !load.reading || !response.url().includes(plan.bodies)) return;
      const kept = load.bodies;
      load.reading.push(
        response.text().then(
          (body) => kept.push({ url: response.url(), status: response.status(), body }),
          (error) => kept.push({ url: response.url(), status: response.status(), body: null, error: String(error) })
        )
      );
    });
    page.on("console", (message) => load.console.push({ type: message.type(), text: message.text() }));
    page.on("pageerror", (error) => load.errors.push(String(error)));
    page.on("dialog", (dialog) => {
      load.dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    const timeout = plan.timeout_ms || 20000;
    const loads = [];
    const count = plan.urls ? plan.urls.length : plan.steps ? plan.steps.length + 1 : plan.loads || 1;
    for (let i = 0; i < count; i++) {
      if (plan.urls) {
        await page.goto("about:blank", { timeout });
        load = fresh();
        await page.goto(plan.urls[i], { timeout });
      } else if (plan.steps && i > 0) {
        const step = plan.steps[i - 1];
        load = fresh();
        for (const [selector, value] of Object.entries(step.fill || {})) await page.fill(selector, value);
        await Promise.all([page.waitForNavigation({ timeout }), page.click(step.click, { timeout })]);
      } else if (i === 0) {
        load = fresh();
        await page.goto(plan.url, { timeout });
      } else {
        load = fresh();
        await page.reload({ timeout });
      }
      if (plan.ready) await page.waitForFunction(plan.ready, null, { timeout });
      load.result = plan.result ? await page.evaluate(plan.result) : null;
      if (plan.download) {
        const [download] = await Promise.all([
          page.waitForEvent("download", { timeout }),
          page.click(plan.download, { timeout }),
        ]);
        load.download = fs.readFileSync(await download.path(), "utf8");
      }
      if (plan.settle_ms) await page.waitForTimeout(plan.settle_ms);
      await Promise.all(load.reading);
      delete load.reading;
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
