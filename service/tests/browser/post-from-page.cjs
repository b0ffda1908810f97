// Opens one page in headless Chromium and reports what its attempts to POST gave.
// Usage: node post-from-page.cjs PAGE_URL   (CHROMIUM: the browser's path)
// Prints one JSON line: the page's window.results, once window.done is set.
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const page_url = process.argv[2];
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
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(page_url);
    await page.waitForFunction(() => window.done === true, null, { timeout: 15000 });
    const results = await page.evaluate(() => window.results);
    // sendBeacon only queues its request: give it time to leave before the browser closes.
    await page.waitForTimeout(500);
    console.log(JSON.stringify({ results, errors }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
