// What a first visit to /login costs in Chromium (Debian's, via Playwright): bytes on the wire
// (every response's encoded length, headers included, from the DevTools protocol) and the time
// from navigation start until the login form is hydrated (its button enabled: it stays
// disabled until the WASM has taken over the page). Each run uses a fresh browser context (an
// empty cache). Prints figures; asserts nothing.
//
// usage: node bench/browser.mjs URL [RUNS]
import { createRequire } from 'node:module';

const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const url = process.argv[2];
const runs = Number(process.argv[3] ?? 10);
if (!url) {
  console.error('usage: node bench/browser.mjs URL [RUNS]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ],
});
const hydration = [];
let bytes;
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  // Note the moment the button becomes enabled, from inside the page.
  await context.addInitScript(() => {
    const check = () => {
      const button = document.querySelector('button[type=submit]');
      if (button && !button.disabled && window.__hydratedAt === undefined) {
        window.__hydratedAt = performance.now();
      }
    };
    new MutationObserver(check).observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
    });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const files = new Map();
  const urls = new Map();
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => files.set(e.requestId, e.encodedDataLength));
  await page.goto(`${url}/login`);
  await page.waitForSelector('button[type=submit]:not([disabled])');
  const ms = await page.evaluate(() => window.__hydratedAt ?? performance.now());
  hydration.push(ms);
  // Let the last responses finish reporting before counting.
  await page.waitForLoadState('networkidle');
  if (i === 0) {
    bytes = [...files].map(([id, n]) => [new URL(urls.get(id) ?? 'about:blank').pathname, n]);
  }
  await context.close();
}
await browser.close();
hydration.sort((a, b) => a - b);
const median = hydration[Math.floor(hydration.length / 2)];
const total = bytes.reduce((sum, [, n]) => sum + n, 0);
console.log(JSON.stringify({
  bytes_total: total,
  bytes: Object.fromEntries(bytes),
  hydration_ms_median: Math.round(median),
  hydration_ms_max: Math.round(hydration[hydration.length - 1]),
  hydration_ms_all: hydration.map(Math.round),
}));
