// A Grafana user's first hour: Debian's real `prometheus-node-exporter` is started and scraped,
// Grafana's Node Exporter Full export is imported as it is, and its panels draw this
// machine's data — the stats agree with what the operating system says about itself.
import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { logIn, sameOrigin, watchConsole } from './helpers';

const fixture = path.resolve(__dirname, '../../../shared/fixtures/grafana/node-exporter-full.json');
const exporterPort = Number(process.env.VIGIL_E2E_NODE_EXPORTER_PORT ?? 19107);
const exporterAddress = `127.0.0.1:${exporterPort}`;
const job = 'e2e-node';

let exporter: ChildProcess | undefined;

test.beforeAll(async () => {
  exporter = spawn(process.env.NODE_EXPORTER_BIN ?? 'prometheus-node-exporter', [`--web.listen-address=${exporterAddress}`], {
    stdio: 'ignore',
  });
  // Up once it answers its own /metrics.
  await expect
    .poll(
      async () => {
        try {
          return (await fetch(`http://${exporterAddress}/metrics`)).status;
        } catch {
          return 0;
        }
      },
      { timeout: 20_000, message: 'prometheus-node-exporter starts' },
    )
    .toBe(200);
});

test.afterAll(() => {
  exporter?.kill('SIGTERM');
});

test('Grafana\'s Node Exporter Full, imported unchanged, draws a real node exporter\'s data', async ({ page }) => {
  test.setTimeout(120_000);
  const problems = watchConsole(page);
  await logIn(page, 'editor@vigil.local');

  // Scrape the exporter every 2 s, as a Prometheus scrape config would.
  const target = await page.request.post('/api/v1/scrape-targets', {
    headers: sameOrigin,
    data: { job, url: `http://${exporterAddress}/metrics`, interval: '2s', timeout: '1s' },
  });
  expect(target.status(), await target.text()).toBe(201);
  const scrapedSince = Date.now();

  // The export exactly as Grafana wrote it.
  const grafana = JSON.parse(readFileSync(fixture, 'utf8'));
  const imported = await page.request.post('/api/v1/dashboards/import', {
    headers: sameOrigin,
    data: { dashboard: grafana, overwrite: true },
  });
  expect(imported.ok(), await imported.text()).toBe(true);
  const uid: string = (await imported.json()).dashboard.uid;

  // Rates need a few scrapes.
  await expect
    .poll(
      async () => {
        const query = `count(rate(node_cpu_seconds_total{job="${job}",mode="idle"}[1m]))`;
        const answer = await page.request.get(`/prometheus/api/v1/query?query=${encodeURIComponent(query)}`);
        const result = (await answer.json()).data?.result ?? [];
        return result.length > 0 ? Number(result[0].value[1]) : 0;
      },
      { timeout: 30_000, message: 'the exporter is scraped' },
    )
    .toBe(os.cpus().length);

  // The job variable is picked in the address; the chained nodename and instance follow.
  await page.goto(`/dashboards/${uid}?from=now-5m&to=now&var-job=${job}`);
  await expect(page.getByRole('heading', { name: 'Node Exporter Full' })).toBeVisible();
  await expect(page.getByLabel('Instance', { exact: true })).toHaveValue(exporterAddress);
  await expect(page.getByLabel('Nodename', { exact: true })).toHaveValue(os.hostname());

  // The stats say what the operating system says — already, seconds after the first scrape:
  // their instant queries are asked at the moment itself, not at the last whole step.
  const cores = page.getByRole('article', { name: 'CPU Cores', exact: true });
  await expect(cores.locator('.stat-value')).toHaveText(String(os.cpus().length));
  const ram = page.getByRole('article', { name: 'RAM Total', exact: true });
  await expect(ram.locator('.stat-value')).toHaveText(/^\d+(\.\d+)? GiB$/);
  const uptime = page.getByRole('article', { name: 'Uptime', exact: true });
  await expect(uptime.locator('.stat-value')).not.toBeEmpty();
  await expect(uptime.locator('.panel-empty')).toHaveCount(0);

  // Gauges: a percentage drawn, no "No data".
  for (const title of ['CPU Busy', 'RAM Used', 'Root FS Used']) {
    const gauge = page.getByRole('article', { name: title, exact: true });
    await expect(gauge.getByTestId('panel-plot'), title).toHaveAttribute('data-drawn', 'true');
    await expect(gauge.locator('.panel-empty'), title).toHaveCount(0);
    await expect(gauge.locator('.indicatorlayer, .gauge').first(), title).toBeAttached();
  }

  // Time series over rates ($__rate_interval) and plain gauges draw lines. Their points lie
  // on whole 15 s steps, so the newest one needs a scrape before it: refresh once it has one.
  await page.waitForTimeout(Math.max(0, scrapedSince + 20_000 - Date.now()));
  await page.getByRole('button', { name: 'Refresh', exact: true }).click();
  for (const title of ['CPU Basic', 'Memory Basic', 'Network Traffic Basic', 'Disk Space Used Basic']) {
    const chart = page.getByRole('article', { name: title, exact: true });
    await chart.scrollIntoViewIfNeeded();
    await expect(chart.getByTestId('panel-plot'), title).toHaveAttribute('data-drawn', 'true');
    await expect(chart.locator('.panel-empty'), title).toHaveCount(0);
    await expect.poll(async () => chart.locator('.scatterlayer .trace').count(), { message: title }).toBeGreaterThan(0);
  }

  // A collapsed row opens and its panels fetch then.
  await page.getByRole('button', { name: /CPU \/ Memory \/ Net \/ Disk/ }).click();
  const cpu = page.getByRole('article', { name: 'CPU', exact: true });
  await cpu.scrollIntoViewIfNeeded();
  await expect(cpu.getByTestId('panel-plot')).toHaveAttribute('data-drawn', 'true');
  await expect.poll(async () => cpu.locator('.scatterlayer .trace').count()).toBeGreaterThan(1);

  expect(problems, 'no script errors in the console').toEqual([]);
});
