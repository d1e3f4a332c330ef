// The chromium half of `cargo bench -p vigil --bench dashboard`: how long a person waits for
// every panel of a dashboard to be drawn, first visit and refresh. The Rust benchmark starts
// the servers and runs this script; it is not a test.
//
// Input (environment): BENCH_ORIGINS (space-separated servers, one fresh server per first
// visit; the last one also serves the refreshes), BENCH_EMAIL, BENCH_PASSWORD,
// BENCH_DASHBOARD_FILE (a dashboard model, saved on the first server), BENCH_PANELS (how many
// panels to wait for), BENCH_RUNS (refreshes), CHROMIUM_PATH.
// Output: one line per measurement, `first <ms>` (each followed by `phase <part> <ms>`: when
// that part of the page was in hand) or `refresh <ms> <ms until the batch was answered>`,
// then `done`.
import { chromium } from '@playwright/test';
import { readFileSync } from 'node:fs';

const origins = process.env.BENCH_ORIGINS.split(' ').filter(Boolean);
const email = process.env.BENCH_EMAIL;
const password = process.env.BENCH_PASSWORD;
const model = JSON.parse(readFileSync(process.env.BENCH_DASHBOARD_FILE, 'utf8'));
const panels = Number(process.env.BENCH_PANELS);
const runs = Number(process.env.BENCH_RUNS ?? 10);

/** True once every panel is on the page, none is fetching, and every chart has drawn. */
function allDrawn(count) {
  const articles = [...document.querySelectorAll('article.panel')];
  if (articles.length < count) return false;
  const refresh = [...document.querySelectorAll('.dashboard-controls button')].find((b) => b.textContent.trim() === 'Refresh');
  if (!refresh || refresh.getAttribute('aria-busy') !== 'false') return false;
  return articles.every(
    (a) => a.querySelector('.panel-plot[data-drawn="true"]') || a.querySelector('.stat-value') || a.querySelector('.panel-empty'),
  );
}

/** When the first visit's parts were in hand (ms from the navigation), from resource timing. */
function phases() {
  const parts = [
    ['app WebAssembly loaded', /vigil-web-[0-9a-f]+\.wasm/],
    ['dashboards chunk loaded', /split_dashboards-[0-9a-f]+\.wasm/],
    ['dashboard model loaded', /\/api\/v1\/dashboards\/[^/?]+$/],
    ['plotly.js loaded', /plotly-[0-9a-f]+\.js/],
    ['first batch answered', /\/api\/v1\/query\/batch/],
  ];
  const entries = performance.getEntriesByType('resource');
  return parts.flatMap(([phase, pattern]) => {
    const entry = entries.find((e) => pattern.test(new URL(e.name).pathname));
    return entry ? [[phase.replaceAll(' ', '_'), entry.responseEnd]] : [];
  });
}

/** Clicks Refresh; resolves with the milliseconds until every panel is drawn again. */
async function refreshOnce(count) {
  const button = [...document.querySelectorAll('.dashboard-controls button')].find((b) => b.textContent.trim() === 'Refresh');
  let fetched = false;
  let answered = null;
  const watcher = new MutationObserver(() => {
    if (button.getAttribute('aria-busy') === 'true') fetched = true;
    else if (fetched && answered === null) answered = performance.now();
  });
  watcher.observe(button, { attributes: true, attributeFilter: ['aria-busy'] });
  const started = performance.now();
  button.click();
  await new Promise((resolve) => {
    const tick = () => (fetched && window.benchAllDrawn(count) ? resolve() : requestAnimationFrame(tick));
    requestAnimationFrame(tick);
  });
  watcher.disconnect();
  const done = performance.now();
  return [done - started, (answered ?? done) - started];
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  let uid;
  let page;
  for (const origin of origins) {
    // A new browser profile each time: nothing cached, as on a person's first visit.
    const context = await browser.newContext({ baseURL: origin, viewport: { width: 1600, height: 1400 } });
    await context.addInitScript({ content: `window.benchAllDrawn = ${allDrawn.toString()};` });
    const login = await context.request.post('/api/v1/auth/login', { data: { email, password } });
    if (!login.ok()) throw new Error(`login failed: ${login.status()} ${await login.text()}`);
    if (uid === undefined) {
      const saved = await context.request.post('/api/v1/dashboards', {
        headers: { Origin: origin },
        data: { model, message: 'benchmark' },
      });
      if (!saved.ok()) throw new Error(`saving the dashboard failed: ${saved.status()} ${await saved.text()}`);
      uid = (await saved.json()).uid;
    }
    if (page) await page.context().close();
    page = await context.newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(`/dashboards/${uid}`);
    await page.waitForFunction((count) => window.benchAllDrawn(count), panels, { polling: 'raf', timeout: 60_000 });
    // From the start of the navigation, as the browser counts it.
    const ms = await page.evaluate(() => performance.now());
    console.log(`first ${ms.toFixed(1)}`);
    for (const [phase, at] of await page.evaluate(phases)) console.log(`phase ${phase} ${at.toFixed(1)}`);
  }
  for (let run = 0; run < runs; run++) {
    await page.waitForTimeout(1_000);
    const [ms, answered] = await page.evaluate(refreshOnce, panels);
    console.log(`refresh ${ms.toFixed(1)} ${answered.toFixed(1)}`);
  }
  console.log('done');
} finally {
  await browser.close();
}
